"""Macro syncs on two hosts at once: exactly one active macro per key, clones left alone.

1. Lease: pairs of real `python -m backend macros sync` processes with separate lock
   files (as on two hosts) start together against the emulator, whose macro endpoints
   answer slowly so the runs overlap: an empty account, a changed macro set (every macro
   restricted to a group), then `--prune` with a human's modified clone in the account.
2. Recheck: the lease defeated (two in-process syncs without it, as when Zendesk shows
   ids out of order or clocks are skewed) — the recheck alone must still converge.
After every pair: exactly one active macro per key, no lease marker left, the clone and
the unmanaged macro exactly as they were.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from reliability_helpers import Recorder

from backend.bootstrap import bootstrap_fields
from backend.demo import SEEDS_DIR
from backend.domain.fields import load_field_catalog
from backend.domain.guides import load_catalog
from backend.emulator.articles import load_seed_articles
from backend.emulator.server import EmulatorServer
from backend.emulator.store import EmulatorStore
from backend.macro_sync.generator import DesiredMacro, generate_macros, read_key
from backend.macro_sync.lease import read_marker
from backend.macro_sync.plan import is_as_generated
from backend.macro_sync.sync import SyncReport, sync_macros
from backend.settings import REPO_ROOT, Settings
from backend.zendesk.gateway import MacroRecord
from backend.zendesk.zenpy_gateway import RetryPolicy, ZenpyGateway

TOKEN = "sync-concurrency-token"  # the emulator accepts any token
GROUP_ID = 360_002
ARTICLE_IDS = {"parking_onsite_payment": 1001, "force_reconnect": 1002}
# Slow macro endpoints: a run of ~80 writes takes seconds, so two runs overlap.
SLOW = [{"kind": "latency", "path": "^/api/v2/macros", "ms": 15}]
RECHECK_PAIRS = 3


@dataclass
class Account:
    """The emulator, its field map and the tallies of the test."""

    server: EmulatorServer
    field_map: dict[str, int]
    tmp_path: Path
    tally: Counter[str] = field(default_factory=Counter)

    @property
    def store(self) -> EmulatorStore:
        """The emulator's in-memory account."""
        return self.server.store


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Account]:
    """An emulator with the fields, both Help Center articles and one unmanaged macro."""
    tmp_path = tmp_path_factory.mktemp("concurrency")
    with (
        pytest.MonkeyPatch.context() as patch,
        EmulatorServer(rate_limit_per_minute=100_000) as server,
    ):
        patch.setenv("ZENPY_FORCE_SCHEME", "http")
        patch.setenv("ZENPY_FORCE_NETLOC", server.url.removeprefix("http://"))
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            zendesk_url=server.url,
            zendesk_token=SecretStr(TOKEN),
            field_map=tmp_path / "field_map.json",
        )
        fields = load_field_catalog(REPO_ROOT / "macros" / "fields.yaml")
        with ZenpyGateway.from_settings(settings, wait_policy="batch") as gateway:
            field_map = bootstrap_fields(gateway, fields, settings.field_map)
        load_seed_articles(server.store, SEEDS_DIR)
        server.store.create_macro(
            {
                "title": "팀 인사말",
                "description": "hand-made",
                "actions": [{"field": "comment_value", "value": "안녕하세요"}],
            }
        )
        yield Account(server=server, field_map=dict(field_map), tmp_path=tmp_path)


def desired_macros(account: Account, group_ids: list[int]) -> list[DesiredMacro]:
    """The repo's macros for this account, as the CLI generates them."""
    return generate_macros(
        load_catalog(REPO_ROOT / "macros"),
        account.field_map,
        admin_call_url=Settings(_env_file=None).admin_call_url,  # type: ignore[call-arg]
        group_ids=group_ids,
    )


def active_per_key(store: EmulatorStore, clones: frozenset[int]) -> Counter[str]:
    """Active managed macros per key (a human's clones left out)."""
    return Counter(
        key
        for m in store.macros()
        if m["active"] and m["id"] not in clones and (key := read_key(m["description"]))
    )


def markers_left(store: EmulatorStore) -> int:
    """Lease markers still in the account."""
    return sum(1 for m in store.macros() if read_marker(_record(m)) is not None)


def _record(macro: dict[str, Any]) -> MacroRecord:
    """Enough of a listed macro to read a marker."""
    return MacroRecord(macro["id"], macro["title"], macro["description"] or "", (), False, None, "")


def run_pair(account: Account, group_ids: list[int], *, prune: bool) -> list[tuple[int, str]]:
    """Start two CLI syncs with separate lock files at once; return (exit code, summary)."""
    env = {
        **os.environ,
        "GUIDEPOST_ZENDESK_URL": account.server.url,
        "GUIDEPOST_ZENDESK_TOKEN": TOKEN,
        "GUIDEPOST_FIELD_MAP": str(account.tmp_path / "field_map.json"),
        "GUIDEPOST_ARTICLE_IDS": json.dumps(ARTICLE_IDS),
        "GUIDEPOST_MACRO_GROUP_IDS": json.dumps(group_ids),
        "GUIDEPOST_ZENDESK_TIMEOUT_SECONDS": "10",
    }
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "backend",
                "macros",
                "sync",
                "--lock-file",
                str(account.tmp_path / f"host-{host}.lock"),
                *(["--prune"] if prune else []),
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for host in ("a", "b")
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=180)
        results.append((process.returncode, out + err))
    account.tally["cli_runs"] += 2
    return results


def check_converged(
    account: Account, desired: list[DesiredMacro], clone: dict[str, Any] | None
) -> int:
    """One active macro per key, no marker left; return the active duplicates (0)."""
    active = active_per_key(account.store, frozenset([clone["id"]] if clone else []))
    assert set(active) == {macro.key for macro in desired}
    assert markers_left(account.store) == 0
    return sum(count - 1 for count in active.values())


def test_two_hosts_syncing_at_once_leave_one_active_macro_per_key(
    account: Account, figures: Recorder
) -> None:
    """Lease first (pairs of CLI runs), then the recheck alone (lease defeated)."""
    started = time.monotonic()
    store = account.store
    unmanaged = {m["id"]: m for m in store.macros() if read_key(m["description"]) is None}
    duplicates = 0
    clone: dict[str, Any] | None = None
    for group_ids, prune in (([], False), ([GROUP_ID], False), ([GROUP_ID], True)):
        desired = desired_macros(account, group_ids)
        if prune:
            # A human's clone of a Guidepost macro, edited: it must survive both prunes.
            original = next(m for m in store.macros() if read_key(m["description"]))
            copy = {k: original[k] for k in ("description", "actions", "restriction")}
            clone = store.create_macro({**copy, "title": "복제해서 고친 안내"})
        store.set_faults(SLOW)
        try:
            results = run_pair(account, group_ids, prune=prune)
        finally:
            store.clear_faults()
        summaries = [text for _, text in results]
        assert any(code == 0 for code, _ in results), summaries
        for code, text in results:
            assert code == 0 or "SKIPPED, nothing written" in text, text
            account.tally["skipped"] += "SKIPPED" in text
        duplicates += check_converged(account, desired, clone)
        if clone is not None:
            assert {m["id"]: m for m in store.macros()}[clone["id"]] == clone
    now_unmanaged = {m["id"]: m for m in store.macros() if read_key(m["description"]) is None}
    assert now_unmanaged == unmanaged

    # The lease defeated: two syncs without it, at once, from a changed set each time.
    twins = recheck_writes = 0
    clone_survived = clone is not None
    clone = None
    for pair in range(RECHECK_PAIRS):
        desired = desired_macros(account, [] if pair % 2 == 0 else [GROUP_ID])
        for macro in store.macros():
            if read_key(macro["description"]):
                store.delete_macro(macro["id"])  # an empty account: both runs create all
        reports = race_without_lease(account, desired)
        assert all(report.ok for report in reports), [r.summary_lines() for r in reports]
        recheck_writes += sum(
            1 for report in reports for recheck in report.rechecks for item in recheck.writes
        )
        twins += sum(1 for m in store.macros() if read_key(m["description"])) - len(desired)
        duplicates += check_converged(account, desired, clone)
    assert twins > 0, "the two runs never overlapped: the race was not exercised"
    assert duplicates == 0
    figures(
        "sync_concurrency",
        {
            "cli_pairs": account.tally["cli_runs"] // 2,
            "skipped_by_lease": account.tally["skipped"],
            "lease_markers_left": markers_left(store),
            "recheck_pairs": RECHECK_PAIRS,
            "race_twins": twins,
            "recheck_writes": recheck_writes,
            "duplicates": duplicates,
            "clone_survived_prune": clone_survived,
            "unmanaged_touched": 0,
            "seconds": round(time.monotonic() - started, 1),
        },
    )


def race_without_lease(account: Account, desired: list[DesiredMacro]) -> list[SyncReport]:
    """Two in-process syncs (verify on, lease off) started together on slow endpoints."""
    reports: list[SyncReport] = []
    gate = threading.Barrier(2)

    def run() -> None:
        gateway = ZenpyGateway(
            subdomain="emulator",
            email="agent@example.com",
            token=TOKEN,
            timeout=10.0,
            policy=RetryPolicy("batch", 10.0, 2, backoff_base=0.02, backoff_cap=0.1),
        )
        try:
            gate.wait()
            reports.append(sync_macros(gateway, desired, verify=True))
        finally:
            gateway.close()

    account.store.set_faults(SLOW)
    try:
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=180)
    finally:
        account.store.clear_faults()
    assert len(reports) == 2
    return reports


def test_a_listed_twin_reads_as_generated(account: Account) -> None:
    """Twins of an older version are told from clones by their hash: true after Zenpy's echo."""
    desired = desired_macros(account, [GROUP_ID])[0]
    with ZenpyGateway.from_settings(
        Settings(
            _env_file=None,  # type: ignore[call-arg]
            zendesk_url=account.server.url,
            zendesk_token=SecretStr(TOKEN),
        ),
        wait_policy="batch",
    ) as gateway:
        created = gateway.create_macro(desired.spec)
        try:
            listed = next(r for r in gateway.list_macros() if r.id == created.id)
            assert is_as_generated(listed)
            assert not is_as_generated(replace(listed, title=f"{listed.title} (고침)"))
        finally:
            gateway.delete_macro(created.id)
