"""Macro sync under faults: killed at random points and under 429 storms, it converges.

1. Kill: the real `python -m backend macros sync` runs against the emulator and is
   killed with SIGKILL after a random number of writes, several times, while creates
   sometimes land only after the client gave up (the lost answer that makes twins).
2. Storm: the sync (in process) of a changed set of macros runs under 429 storms (short
   and over-budget Retry-After), 500/503 and dropped connections, and is interrupted
   (KeyboardInterrupt) at a random write, until a run reports success.
3. Converge: a clean run has nothing left to do; exactly one active macro per key, the
   macros equal the plan, and every unmanaged macro is exactly as it was. A `--prune`
   run then deletes the retired twins: zero duplicates left.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from reliability_helpers import Recorder

from backend.bootstrap import bootstrap_fields
from backend.domain.fields import load_field_catalog
from backend.domain.guides import load_catalog
from backend.emulator.server import EmulatorServer
from backend.emulator.store import EmulatorStore
from backend.macro_sync.generator import DesiredMacro, generate_macros, read_key
from backend.macro_sync.lease import LEASE_MARKER
from backend.macro_sync.sync import fetch_plan, sync_macros
from backend.settings import REPO_ROOT, Settings
from backend.zendesk.gateway import MacroRecord, MacroSpec, ZendeskGateway
from backend.zendesk.zenpy_gateway import RetryPolicy, ZenpyGateway

TOKEN = "sync-faults-token"  # the emulator accepts any token
SEED = 4242
KILLS = 3
MACROS_PATH = "^/api/v2/macros"
GROUP_ID = 360_001
# Somebody else's macros: no Guidepost key (some look close), one with a generated title.
UNMANAGED: list[dict[str, Any]] = [
    {"title": "환불 안내 (공용)", "description": None},
    {"title": "Shared::Greeting", "description": ""},
    {"title": "marker without key", "description": "guidepost:"},
    {"title": "bad key", "description": "guidepost:not a key"},
    {"title": "capital marker", "description": "Guidepost:parking/x/y"},
    {"title": "second line key", "description": "shared macro\nguidepost:a/b/c"},
    {"title": "inactive shared", "description": "old", "active": False},
]


@dataclass
class Account:
    """The emulator, its field map and what the test counts."""

    server: EmulatorServer
    field_map: dict[str, int]
    tmp_path: Path
    faults: Counter[str] = field(default_factory=Counter)
    runs: int = 0
    kills: int = 0
    gateways: list[ZenpyGateway] = field(default_factory=list)

    @property
    def store(self) -> EmulatorStore:
        """The emulator's in-memory account."""
        return self.server.store

    def gateway(self, timeout: float = 1.0) -> ZenpyGateway:
        """A batch gateway with quick backoff (waits out Retry-After up to 10 s)."""
        gateway = ZenpyGateway(
            subdomain="emulator",
            email="agent@example.com",
            token=TOKEN,
            timeout=timeout,
            policy=RetryPolicy("batch", 10.0, 2, backoff_base=0.02, backoff_cap=0.1),
        )
        self.gateways.append(gateway)
        return gateway

    def count_faults(self) -> None:
        """Add the faults injected since the last call to the tally."""
        counters = self.store.counters()
        self.faults["injected"] += counters["faults_injected"]
        self.store.reset_counters()


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Account]:
    """An emulator with the bootstrapped fields and the unmanaged macros."""
    tmp_path = tmp_path_factory.mktemp("sync")
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
        for spec in UNMANAGED:
            server.store.create_macro(
                {
                    **spec,
                    "actions": [{"field": "comment_value_html", "value": "<p>안내</p>"}],
                }
            )
        running = Account(server=server, field_map=dict(field_map), tmp_path=tmp_path)
        try:
            yield running
        finally:
            for gateway in running.gateways:
                gateway.close()


def desired_macros(account: Account, group_ids: list[int]) -> list[DesiredMacro]:
    """The repo's macros for this account (restricted to `group_ids` when given)."""
    catalog = load_catalog(REPO_ROOT / "macros")
    return generate_macros(
        catalog,
        account.field_map,
        admin_call_url=Settings(_env_file=None).admin_call_url,  # type: ignore[call-arg]
        group_ids=group_ids,
    )


def unmanaged_snapshot(store: EmulatorStore) -> dict[int, dict[str, Any]]:
    """Every macro without a Guidepost key, in full (lease markers left out)."""
    return {
        m["id"]: m
        for m in store.macros()
        if read_key(m.get("description")) is None and not is_marker(m)
    }


def is_marker(macro: dict[str, Any]) -> bool:
    """Tell whether a listed macro is a sync lease marker."""
    return (macro.get("description") or "").startswith(LEASE_MARKER)


def managed(store: EmulatorStore, *, active: bool | None = None) -> Counter[str]:
    """Managed macros per key (only active / inactive ones when asked)."""
    return Counter(
        key
        for m in store.macros()
        if (key := read_key(m.get("description"))) is not None
        and (active is None or m["active"] == active)
    )


# ---------------------------------------------------------------- phase 1: SIGKILL


def run_cli_and_kill(account: Account, after_writes: int) -> bool:
    """Run `macros sync` in a process; SIGKILL it after `after_writes` writes.

    Returns True when it was killed, False when it finished first.
    """
    env = {
        **os.environ,
        "GUIDEPOST_ZENDESK_URL": account.server.url,
        "GUIDEPOST_ZENDESK_TOKEN": TOKEN,
        "GUIDEPOST_FIELD_MAP": str(account.tmp_path / "field_map.json"),
        "GUIDEPOST_ZENDESK_TIMEOUT_SECONDS": "1.0",
        "GUIDEPOST_BATCH_MAX_WAIT_SECONDS": "10",
        "GUIDEPOST_RETRIES": "2",
    }
    start = account.store.counters()["writes"]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "backend",
            "macros",
            "sync",
            "--lock-file",
            str(account.tmp_path / "sync.lock"),
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    account.runs += 1
    deadline = time.monotonic() + 120
    try:
        while process.poll() is None:
            if account.store.counters()["writes"] - start >= after_writes:
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=10)
                account.kills += 1
                return True
            if time.monotonic() > deadline:
                raise AssertionError("macros sync did not finish in 120 s")
            time.sleep(0.005)
        return False
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


# ---------------------------------------------------------------- phase 2: storms


class KilledAt:
    """A gateway that raises KeyboardInterrupt (Ctrl-C) before its n-th write."""

    def __init__(self, inner: ZendeskGateway, n: int) -> None:
        self.inner = inner
        self.n = n
        self.writes = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _count(self) -> None:
        self.writes += 1
        if self.writes == self.n:
            raise KeyboardInterrupt

    def create_macro(self, spec: MacroSpec) -> MacroRecord:
        """Create, unless this is the write the run dies on."""
        self._count()
        return self.inner.create_macro(spec)

    def update_macro(self, macro_id: int, spec: MacroSpec) -> MacroRecord:
        """Update, unless this is the write the run dies on."""
        self._count()
        return self.inner.update_macro(macro_id, spec)

    def delete_macro(self, macro_id: int) -> None:
        """Delete, unless this is the write the run dies on."""
        self._count()
        self.inner.delete_macro(macro_id)


def make_twin(account: Account, desired: list[DesiredMacro]) -> None:
    """A create whose answer is lost lands after the next run created the macro again."""
    store = account.store
    # First the plain rerun after the kills: it finishes the work, without duplicates.
    account.runs += 1
    assert sync_macros(account.gateway(), desired).ok
    assert managed(store, active=True) == Counter({macro.key: 1 for macro in desired})
    counts = managed(store)
    victim = next(
        m for m in store.macros() if counts.get(read_key(m.get("description")) or "") == 1
    )
    store.delete_macro(victim["id"])
    store.set_faults(
        [{"kind": "latency", "method": "POST", "path": MACROS_PATH, "ms": 2_500, "times": 1}]
    )
    account.runs += 2
    late = sync_macros(account.gateway(timeout=0.5), desired)
    assert len(late.failed) == 1, late.summary_lines()  # timed out; POST is never replayed
    assert sync_macros(account.gateway(), desired).ok  # lists before the late create lands
    time.sleep(2.5)
    store.clear_faults()
    account.count_faults()
    assert managed(store)[read_key(victim["description"]) or ""] == 2  # twins


def storm(rng: random.Random, run: int) -> list[dict[str, Any]]:
    """429 storms (a burst, then sporadic; one over the wait budget), 5xx, drops."""
    return [
        {"kind": "rate_limit", "path": MACROS_PATH, "retry_after": 1, "times": 3},
        {
            "kind": "rate_limit",
            "path": MACROS_PATH,
            "retry_after": 1,
            "probability": 0.06,
            "times": 4,
        },
        {
            "kind": "rate_limit",
            "path": MACROS_PATH,
            "retry_after": 120,
            "probability": 0.02,
            "times": 1 if run % 2 == 0 else 0,
        },
        {"kind": "status", "path": MACROS_PATH, "status": 500, "probability": 0.04},
        {"kind": "status", "path": MACROS_PATH, "status": 503, "probability": 0.04},
        {"kind": "drop", "path": MACROS_PATH, "probability": 0.04},
        {"kind": "latency", "path": MACROS_PATH, "ms": rng.choice([50, 150]), "probability": 0.1},
    ]


def test_sync_survives_kills_and_storms(account: Account, figures: Recorder) -> None:
    """Killed and stormed, the sync converges: no duplicates, unmanaged macros untouched."""
    started = time.monotonic()
    rng = random.Random(SEED)
    store = account.store
    before = unmanaged_snapshot(store)
    assert len(before) == len(UNMANAGED)
    first = desired_macros(account, [])
    store.reset_counters()

    # 1. SIGKILL after a random number of writes; some creates answer too late (twins).
    store.set_faults(
        [
            {
                "kind": "latency",
                "method": "POST",
                "path": MACROS_PATH,
                "ms": 1_500,
                "probability": 0.05,
            },
            {"kind": "status", "path": MACROS_PATH, "status": 500, "probability": 0.03},
        ],
        seed=SEED,
    )
    for _ in range(KILLS):
        missing = sum(1 for key in {m.key for m in first} if managed(store)[key] == 0)
        run_cli_and_kill(account, rng.randint(1, max(1, missing - 1)))
    time.sleep(1.6)  # let the late creates land
    store.clear_faults()
    account.count_faults()
    assert unmanaged_snapshot(store) == before
    # Killed runs leave their lease markers; the next run on this host clears them at once.
    orphans = sum(1 for m in store.macros() if is_marker(m))
    assert not run_cli_and_kill(account, after_writes=10**6)
    assert [m for m in store.macros() if is_marker(m)] == []
    make_twin(account, first)

    # 2. A changed set (every macro restricted to a group) under storms and a Ctrl-C.
    second = desired_macros(account, [GROUP_ID])
    ok = False
    for run in range(8):
        store.set_faults(storm(rng, run), seed=SEED + run)
        account.runs += 1
        gateway: Any = account.gateway()
        if run < 2:
            gateway = KilledAt(gateway, rng.randint(1, 40))
        try:
            report = sync_macros(gateway, second)
        except KeyboardInterrupt:
            account.kills += 1
            continue
        finally:
            store.clear_faults()
            account.count_faults()
        if report.ok:
            ok = True
            break
    assert ok, "no run under storms got through in 8 attempts"
    assert unmanaged_snapshot(store) == before

    # 3. Converged: nothing left to do, one active macro per key, the plan holds.
    plan = fetch_plan(account.gateway(), second)
    assert plan.writes == [], [item.describe() for item in plan.writes]
    keys = {m.key for m in second}
    active = managed(store, active=True)
    assert set(active) == keys
    active_duplicates = sum(count - 1 for count in active.values())
    retired_twins = sum(managed(store).values()) - len(keys)
    assert active_duplicates == 0
    assert retired_twins >= 1
    assert unmanaged_snapshot(store) == before
    store.reset_counters()
    assert sync_macros(account.gateway(), second).done == []
    assert store.counters()["writes"] == 0

    # Pruning deletes the retired twins: zero duplicates at all, unmanaged still untouched.
    pruned = sync_macros(account.gateway(), second, prune=True)
    assert pruned.ok
    assert managed(store) == Counter({key: 1 for key in keys})
    after = unmanaged_snapshot(store)
    assert after == before
    figures(
        "sync_faults",
        {
            "runs": account.runs,
            "kills": account.kills,
            "faults_injected": account.faults["injected"],
            "managed_macros": len(keys),
            "unmanaged_macros": len(before),
            "duplicates": active_duplicates,
            "retired_twins": retired_twins,
            "unmanaged_touched": sum(1 for i in before if before[i] != after.get(i)),
            "orphan_markers_cleared": orphans,
            "converged": True,
            "seconds": round(time.monotonic() - started, 1),
        },
    )
