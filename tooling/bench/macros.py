"""Section 3: macro sync API calls and wall time, against a naive per-macro GET-then-PUT."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from pydantic import SecretStr

from backend.domain.guides import load_catalog
from backend.emulator.server import EmulatorServer
from backend.macro_sync import DesiredMacro, build_desired, sync_macros
from backend.macro_sync.generator import generate_macros
from backend.macro_sync.plan import find_changed_fields
from backend.settings import Settings
from backend.zendesk.gateway import MacroAction, MacroRecord, MacroSpec
from backend.zendesk.zenpy_gateway import ZenpyGateway

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


def macro_payload(spec: MacroSpec) -> dict[str, Any]:
    """The JSON body Zendesk's macro endpoints take for a spec."""
    return {
        "title": spec.title,
        "description": spec.description,
        "active": spec.active,
        "actions": [{"field": a.field, "value": a.value} for a in spec.actions],
        "restriction": dict(spec.restriction) if spec.restriction is not None else None,
    }


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
        created = emulator.store.create_macro(macro_payload(macro.spec))
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
                session.put(url, json={"macro": macro_payload(macro.spec)}, timeout=30)
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
