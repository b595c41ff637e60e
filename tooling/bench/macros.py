"""Section 3: macro sync API calls and wall time, against a naive per-macro GET-then-PUT."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from pydantic import SecretStr

from backend.domain.guides import load_catalog
from backend.emulator.server import EmulatorServer
from backend.macro_sync import DesiredMacro, build_desired, sync_macros
from backend.macro_sync.generator import build_payload, generate_macros
from backend.macro_sync.plan import find_changed_fields
from backend.settings import Settings
from backend.zendesk.gateway import MacroAction, MacroRecord
from backend.zendesk.zenpy_gateway import ZenpyGateway
from tooling.bench.common import fmt
from tooling.bench.markdown import Verdict, plt, save_chart, table

SIZES = (100, 500, 2000)
QUICK_SIZES = (100, 500)
CHANGED_SHARE = 0.10
PAGE_SIZE = 100
RATIO_TARGET = 50.0
RATE_LIMIT_PER_MINUTE = 700
ZENDESK_RTT_SECONDS = 0.150
UNLIMITED_PER_MINUTE = 100_000_000


@dataclass
class SyncRow:
    """One sync scenario: N macros, unchanged or 10 % changed, Guidepost vs naive."""

    macros: int
    scenario: str
    changed: int
    guidepost_calls: int
    guidepost_expected: int
    guidepost_seconds: float
    naive_calls: int
    naive_seconds: float
    plan_counts: dict[str, int]

    @property
    def ratio(self) -> float:
        """How many times fewer calls Guidepost makes than the naive baseline."""
        return self.naive_calls / self.guidepost_calls if self.guidepost_calls else math.inf

    def to_json(self) -> dict[str, Any]:
        """The row as JSON."""
        return {**vars(self), "ratio": self.ratio}


@dataclass
class MacroResult:
    """What the macro sync section measured."""

    rows: list[SyncRow] = field(default_factory=list)
    generated_macros: int = 0

    def to_json(self) -> dict[str, Any]:
        """The result as JSON."""
        return {
            "rows": [row.to_json() for row in self.rows],
            "generated_macros": self.generated_macros,
        }

    def find(self, macros: int, scenario: str) -> SyncRow | None:
        """The row of N macros and a scenario, if measured."""
        for row in self.rows:
            if (row.macros, row.scenario) == (macros, scenario):
                return row
        return None


def real_macros() -> list[DesiredMacro]:
    """The macros the two guides generate today (with a made-up field map)."""
    settings = Settings(_env_file=None)
    catalog = load_catalog(settings.guides_dir)
    field_map = {f.key: 360_000_000 + i for i, f in enumerate(catalog.fields.fields()) if f.zendesk}
    return generate_macros(catalog, field_map, admin_call_url=settings.admin_call_url)


def scaled_macros(templates: Sequence[DesiredMacro], count: int) -> list[DesiredMacro]:
    """`count` managed macros: copies of the real ones under distinct keys and titles."""
    made = []
    for index in range(count):
        base = templates[index % len(templates)]
        guide, rest = base.key.split("/", 1)
        spec = base.spec
        made.append(
            build_desired(
                f"{guide}-{index // len(templates)}/{rest}",
                f"{spec.title} #{index}",
                spec.actions,
                spec.restriction,
                spec.active,
            )
        )
    return made


def change_some(desired: Sequence[DesiredMacro], share: float) -> list[DesiredMacro]:
    """The same macros with every 1/share-th one's text changed (as after a guide edit)."""
    step = round(1 / share)
    changed = []
    for index, macro in enumerate(desired):
        if index % step == 0:
            actions = (*macro.spec.actions, MacroAction("comment_mode_is_public", "false"))
            spec = macro.spec
            macro = build_desired(macro.key, spec.title, actions, spec.restriction, spec.active)
        changed.append(macro)
    return changed


def seed(emulator: EmulatorServer, desired: Sequence[DesiredMacro]) -> dict[str, int]:
    """Put the macros into the emulator's store directly; return key → macro id."""
    ids = {}
    for macro in desired:
        created = emulator.store.create_macro(build_payload(macro.spec))
        ids[macro.key] = int(created["id"])
    emulator.store.reset_counters()
    return ids


def count_actions(plan: Any) -> dict[str, int]:
    """How many plan items each action has (create, update, unchanged, …)."""
    if plan is None:
        return {}
    return dict(Counter(str(item.action) for item in plan.items))


def run_guidepost(emulator: EmulatorServer, desired: Sequence[DesiredMacro]) -> tuple[float, Any]:
    """`macros sync` as the CLI runs it (batch waits); return seconds and the report."""
    settings = Settings(
        _env_file=None, zendesk_url=emulator.url, zendesk_token=SecretStr("bench-token")
    )
    started = time.perf_counter()
    with ZenpyGateway.from_settings(settings, wait_policy="batch") as gateway:
        report = sync_macros(gateway, desired)
    return time.perf_counter() - started, report


def _record(data: dict[str, Any]) -> MacroRecord:
    """A macro as the API returns it → MacroRecord (for the same comparison the plan uses)."""
    return MacroRecord(
        id=int(data["id"]),
        title=str(data["title"]),
        description=str(data.get("description") or ""),
        actions=tuple(MacroAction(str(a["field"]), a.get("value")) for a in data["actions"]),
        active=bool(data["active"]),
        restriction=data.get("restriction"),
        updated_at=str(data.get("updated_at") or ""),
    )


def run_naive(
    emulator: EmulatorServer, desired: Sequence[DesiredMacro], ids: dict[str, int]
) -> float:
    """Terraform-style: refresh every managed macro with a GET, PUT the ones that differ."""
    started = time.perf_counter()
    with requests.Session() as session:
        session.headers["Authorization"] = "Bearer bench-token"
        for macro in desired:
            url = f"{emulator.url}/api/v2/macros/{ids[macro.key]}.json"
            response = session.get(url, timeout=30)
            response.raise_for_status()
            if find_changed_fields(_record(response.json()["macro"]), macro.spec):
                session.put(url, json={"macro": build_payload(macro.spec)}, timeout=30)
    return time.perf_counter() - started


def measure_size(templates: Sequence[DesiredMacro], count: int) -> list[SyncRow]:
    """Both scenarios for N macros, each against a freshly seeded emulator."""
    desired = scaled_macros(templates, count)
    edited = change_some(desired, CHANGED_SHARE)
    changed = sum(1 for a, b in zip(desired, edited, strict=True) if a != b)
    pages = math.ceil(count / PAGE_SIZE)
    rows = []
    for scenario, wanted in (("unchanged", desired), ("10 % changed", edited)):
        with EmulatorServer(rate_limit_per_minute=UNLIMITED_PER_MINUTE) as emulator:
            ids = seed(emulator, desired)
            naive_seconds = run_naive(emulator, wanted, ids)
            naive_calls = int(emulator.store.counters()["total"])
        with EmulatorServer(rate_limit_per_minute=UNLIMITED_PER_MINUTE) as emulator:
            seed(emulator, desired)
            seconds, report = run_guidepost(emulator, wanted)
            calls = int(emulator.store.counters()["total"])
        if not report.ok:
            raise RuntimeError(f"macro sync failed: {report.summary_lines()}")
        writes = 0 if scenario == "unchanged" else changed
        rows.append(
            SyncRow(
                macros=count,
                scenario=scenario,
                changed=writes,
                guidepost_calls=calls,
                guidepost_expected=pages + writes,
                guidepost_seconds=seconds,
                naive_calls=naive_calls,
                naive_seconds=naive_seconds,
                plan_counts=count_actions(report.plan),
            )
        )
    return rows


def run_macros(sizes: Sequence[int] = SIZES, progress: Any = print) -> MacroResult:
    """The whole macro sync section."""
    templates = real_macros()
    result = MacroResult(generated_macros=len(templates))
    for count in sizes:
        for row in measure_size(templates, count):
            progress(
                f"  N={row.macros:<5d} {row.scenario:13s} guidepost {row.guidepost_calls:5d} calls "
                f"{row.guidepost_seconds:6.2f} s | naive {row.naive_calls:5d} calls "
                f"{row.naive_seconds:6.2f} s | {row.ratio:6.1f}x"
            )
            result.rows.append(row)
    return result


# ---------------------------------------------------------------------------- report

SYNC_HEADERS = [
    "N",
    "scenario",
    "Guidepost calls (expected)",
    ">naive calls",
    ">ratio",
    ">Guidepost s",
    ">naive s",
    ">Guidepost s @700rpm",
    ">naive s @700rpm",
    ">Guidepost s @150ms",
    ">naive s @150ms",
]


def _calls_vs_expected(calls: int, expected: int) -> str:
    """'5 (= 5)' or '6 (≠ 5)'."""
    return f"{calls} ({'=' if calls == expected else '≠'} {expected})"


def macros_section(result: MacroResult, out_dir: Path) -> tuple[str, list[Verdict]]:
    """Section 3 text, chart and verdicts."""
    fig, ax = plt.subplots(figsize=(10, 4))
    labels = [f"N={r.macros}\n{r.scenario}" for r in result.rows]
    xs = range(len(result.rows))
    ax.bar(
        [x - 0.2 for x in xs], [r.guidepost_calls for r in result.rows], 0.4, label="Guidepost sync"
    )
    ax.bar(
        [x + 0.2 for x in xs],
        [r.naive_calls for r in result.rows],
        0.4,
        label="naive GET+PUT per macro",
    )
    for x, r in zip(xs, result.rows, strict=True):
        ax.annotate(f"{r.ratio:.0f}×", (x, r.naive_calls), ha="center", va="bottom", fontsize=8)
    ax.set_yscale("log")
    ax.set_xticks(list(xs), labels, fontsize=8)
    ax.set_ylabel("Zendesk API calls (log)")
    ax.set_title("Macro sync: API calls per run")
    ax.legend()
    chart = save_chart(fig, out_dir, "macro_sync.png")
    per_second = RATE_LIMIT_PER_MINUTE / 60
    rows = [
        [
            str(r.macros),
            r.scenario,
            _calls_vs_expected(r.guidepost_calls, r.guidepost_expected),
            str(r.naive_calls),
            f"**{r.ratio:.0f}×**",
            fmt(r.guidepost_seconds, 2),
            fmt(r.naive_seconds, 2),
            fmt(r.guidepost_calls / per_second, 1),
            fmt(r.naive_calls / per_second, 1),
            fmt(r.guidepost_calls * ZENDESK_RTT_SECONDS, 1),
            fmt(r.naive_calls * ZENDESK_RTT_SECONDS, 1),
        ]
        for r in result.rows
    ]
    unchanged = [r for r in result.rows if r.scenario == "unchanged"]
    exact = all(r.guidepost_calls == r.guidepost_expected for r in result.rows)
    at_500 = result.find(500, "unchanged")
    ratio_500 = at_500.ratio if at_500 else math.nan
    pages_ok = all(r.guidepost_calls == r.guidepost_expected for r in unchanged)
    pages_verdict = "met" if pages_ok else "missed"
    ratio_verdict = "met" if ratio_500 >= RATIO_TARGET else "missed"
    unchanged_calls = ", ".join(f"N={r.macros}: {r.guidepost_calls}" for r in unchanged)
    text = f"""## 3. Macro sync

**Method.** N managed macros (copies of the {result.generated_macros} macros the two
guides generate today, under distinct keys and titles, so payload sizes are real) are put
straight into a fresh in-process emulator; then one sync runs and the emulator counts the
API requests. *Guidepost*: `sync_macros` as `guidepost macros sync` runs it (Zenpy,
batch waits): list every macro once with cursor pages of 100, plan by the key in each
description, write only what differs. *Naive baseline* (in the bench, Terraform-style
per-resource refresh): for every managed macro whose id it knows from state, `GET
/api/v2/macros/{{id}}` and, when it differs (same comparison as the plan), `PUT` it;
plain `requests` with keep-alive. "10 % changed" edits every tenth macro's actions. Each
scenario gets a freshly seeded emulator. Wall times are on loopback with 0 ms latency;
the last four columns are what the same call counts cost against real Zendesk
(arithmetic, not measured): the share of a {RATE_LIMIT_PER_MINUTE} requests/min account
limit in seconds, and sequential round trips at {ZENDESK_RTT_SECONDS * 1000:.0f} ms.

{table(SYNC_HEADERS, rows)}

![macro sync]({chart})

**Targets:** an unchanged sync of N macros costs ceil(N/100) calls — **{pages_verdict}**
({unchanged_calls}); ≥ {RATIO_TARGET:.0f}× fewer calls than the naive baseline at
N = 500 — **{ratio_verdict}** ({ratio_500:.0f}×). With 10 % changed, both pay one write
per changed macro, so the ratio falls to about 10×; Guidepost's listing stays at
ceil(N/100) calls{"" if exact else " (some counts differ from the expectation: see the table)"}.
"""
    verdicts = [
        Verdict(
            "3 Macro sync",
            "unchanged sync = ceil(N/100) calls",
            ", ".join(f"N={r.macros}: {r.guidepost_calls}" for r in unchanged),
            all(r.guidepost_calls == r.guidepost_expected for r in unchanged),
        ),
        Verdict(
            "3 Macro sync",
            f"≥ {RATIO_TARGET:.0f}× fewer calls than naive at N = 500",
            f"{ratio_500:.0f}×",
            ratio_500 >= RATIO_TARGET,
        ),
    ]
    return text, verdicts
