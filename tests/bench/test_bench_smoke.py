"""Smoke test of `make bench`: every section runs on tiny sizes and returns sane numbers.

No timing is asserted (this machine's speed is not under test); counts are, exactly:
Zendesk calls per action, macro sync calls = ceil(N/100) (+ writes), naive = N (+ writes).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from tooling.bench.api import run_api
from tooling.bench.cli import run_cli
from tooling.bench.common import describe_environment, percentile
from tooling.bench.connectors import run_connectors
from tooling.bench.engine import run_engine
from tooling.bench.extras import connectors_section, form_latency_section
from tooling.bench.handled import expected_handled_calls
from tooling.bench.macros import run_macros
from tooling.bench.profile import profile_guidance
from tooling.bench.remaining import remaining_section
from tooling.bench.report import Results, write_report
from tooling.bench.scale import run_scale
from tooling.bench.sidebar import CHROMIUM, run_sidebar
from tooling.bench.stack import EmulatorProcess
from tooling.bench.targets import LEDGER_CLAIM, LEDGER_RECHECK

TINY_HTTP = {0: {1: 4, 2: 4}, 150: {1: 2}}


def quiet(message: str) -> None:
    """Swallow progress lines."""


def is_number(value: float) -> bool:
    """A finite, non-negative number."""
    return isinstance(value, int | float) and math.isfinite(value) and value >= 0


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    """One emulator process (demo data) for the HTTP, sidebar and scale smoke tests."""
    with EmulatorProcess(tmp_path_factory.mktemp("bench")) as running:
        yield running


@pytest.fixture(scope="module")
def results() -> Results:
    """The results the report test writes (filled by the section tests)."""
    return Results(environment=describe_environment(quick=True))


def test_percentile_interpolates() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([5.0], 99) == 5.0
    assert math.isnan(percentile([], 50))


def test_engine_section_counts_decisions_and_renders(results: Results) -> None:
    engine = run_engine(seconds=0.05, latency_rounds=1)
    results.engine = engine
    assert engine.guide_tickets == 34  # the demo tickets (one per branch, incl. cancel_paid_ticket)
    assert engine.tickets == 37
    assert engine.decisions > 0
    assert engine.decisions % engine.guide_tickets == 0
    assert engine.renders > engine.decisions
    assert is_number(engine.decisions_per_cpu_second)
    assert {item.guide for item in engine.latency} == {"force_reconnect", "parking_onsite_payment"}
    for item in engine.latency:
        assert item.samples == item.tickets
        assert all(is_number(v) for v in (item.cpu_p50_us, item.cpu_p99_us, item.wall_p50_us))


def test_macro_section_counts_calls_exactly(results: Results) -> None:
    macros = run_macros((150,), progress=quiet)
    results.macros = macros
    unchanged = macros.find(150, "unchanged")
    changed = macros.find(150, "10 % changed")
    assert unchanged is not None
    assert changed is not None
    assert unchanged.guidepost_calls == math.ceil(150 / 100) == unchanged.guidepost_expected
    assert unchanged.naive_calls == 150
    assert unchanged.plan_counts == {"unchanged": 150}
    assert changed.changed == 15
    assert changed.guidepost_calls == 2 + 15
    assert changed.naive_calls == 150 + 15
    assert changed.plan_counts == {"unchanged": 135, "update": 15}
    assert unchanged.ratio == 75.0


def test_http_section_counts_zendesk_calls(emulator: EmulatorProcess, results: Results) -> None:
    api = run_api(emulator, quick=True, progress=quiet, sizes=TINY_HTTP, tls_requests=12)
    results.api = api
    by_action = {(c.action, c.klass): c for c in api.calls}
    for count in api.calls:
        assert count.calls_min == count.calls_max == count.expected, count
    known = "force_reconnect, 원콜 ID known (+search)"
    claims = known + LEDGER_CLAIM
    assert by_action["guidance", "parking_onsite_payment"].calls_min == 1
    # read + ledger list + fallback search (the ledger holds nothing for these 원콜 yet)
    assert by_action["guidance", known].calls_min == 3
    assert by_action["apply", "parking_onsite_payment"].calls_min == 2
    assert by_action["apply", known].calls_min == 4
    # read + list + search, claim (create + list), write
    assert by_action["apply", claims].calls_min == 6
    assert by_action["apply", claims].routes["POST /api/v2/custom_objects/{key}/records"] == 1
    assert by_action["apply again", "parking_onsite_payment"].calls_min == 1
    assert by_action["apply again", claims].calls_min == 2  # the ledger now answers alone
    # Eligible, no 강콜 ID: nothing to claim; the recheck reuses apply's own ledger read.
    rechecks = known + LEDGER_RECHECK
    assert by_action["apply", rechecks].calls_min == 4
    assert by_action["apply again", rechecks].calls_min == 3
    assert api.authz_calls == 0  # the warm-up's cached permissions
    assert sum(c.tickets for c in api.calls if c.action == "guidance") == 37
    assert len(api.runs) == 2 * (2 + 1)  # guidance and apply at (0 ms: c=1, 2) and (150 ms: c=1)
    # Listed by latency, action, concurrency although the guidance rows ran first.
    assert [(r.latency_ms, r.action, r.concurrency) for r in api.runs] == [
        (0, "guidance", 1),
        (0, "guidance", 2),
        (0, "apply", 1),
        (0, "apply", 2),
        (150, "guidance", 1),
        (150, "apply", 1),
    ]
    # The stack's floor: one bare ticket read per request at each latency, c=1.
    assert [(f.latency_ms, f.concurrency, f.requests) for f in api.read_floor] == [
        (0, 1, 4),
        (150, 1, 2),
    ]
    for latency, floor in zip((0, 150), api.read_floor, strict=True):
        # Alternating rounds with guidance at c=1: every request of both lists was sent.
        guidance = api.find("guidance", latency, 1)
        assert guidance is not None
        assert guidance.requests == TINY_HTTP[latency][1] == floor.requests
        assert guidance.header_calls_per_action == pytest.approx(guidance.calls_per_action)
        assert floor.errors == 0
        assert floor.calls_per_action == floor.header_calls_per_action == 1
        assert floor.one_call_share == 1.0
        assert floor.one_call_overhead_p50 == pytest.approx(floor.overhead_p50)
        assert 0.0 <= guidance.one_call_share <= 1.0
        if floor.latency_ms == 150:
            assert floor.mean_zendesk >= 150 * 0.99
    assert api.grown_store is not None
    assert api.grown_store_parallel is None  # TINY_HTTP has no c=16 row to compare with
    assert api.pool_tickets == sum(
        max(2, int(n * 0.6)) for c in TINY_HTTP.values() for n in c.values()
    )
    assert (api.grown_store.action, api.grown_store.latency_ms, api.grown_store.errors) == (
        "guidance",
        0,
        0,
    )
    for run in api.runs:
        assert run.errors == 0
        assert run.requests > 0
        assert is_number(run.rps)
        assert is_number(run.total_p50)
        assert is_number(run.mean_zendesk)
        # The server's call count (headers) and the emulator's agree.
        assert run.header_calls_per_action == pytest.approx(run.calls_per_action)
        if run.action == "apply":
            assert 2 <= run.calls_per_action <= 6
        if run.latency_ms == 150:
            assert run.mean_zendesk >= 150 * run.calls_per_action * 0.99
    # A handled ticket: GET + 3 form loads + apply. The form loads and apply reuse the GET's
    # history (0 calls); apply reuses its ticket record and claims when eligible.
    on, off = api.handled
    assert (on.fallback, off.fallback) == (True, False)
    for run in (on, off):
        assert run.tickets == len(run.calls) > 0
        assert all(n == 1 + 0 + 1 for n in run.by_class["parking_onsite_payment"])
        for klass, calls in run.by_class.items():
            assert set(calls) == {expected_handled_calls(klass, run.fallback)}, klass
    assert set(on.by_class[known]) == {3 + 0 + 1}  # apply: the write alone
    assert set(on.by_class[claims]) == {3 + 0 + 3}  # … + claim (create + list)
    assert set(off.by_class[known]) == {2 + 0 + 1}
    assert set(off.by_class[claims]) == {2 + 0 + 3}
    assert set(on.by_class[rechecks]) == {3 + 0 + 2}  # apply: the ledger again + write
    assert set(off.by_class[rechecks]) == {2 + 0 + 2}
    assert off.mean_calls < on.mean_calls <= 3
    # Over HTTPS: one gateway per process opens no connection after warm-up; one per
    # request (the old way) pays a TLS handshake for every guidance.
    kept, fresh = api.tls
    assert (kept.requests, kept.handshakes) == (12, 0)
    assert fresh.handshakes == fresh.requests == 12
    assert [run.variant for run in api.what_if] == ["timed", "plain", "per_request"]
    # The load-client control: both clients, same backend, alternating rounds, no errors.
    assert [control.client for control in api.clients] == ["lean", "asyncio", "httpx"]
    for control in api.clients:
        assert (control.rounds, control.errors, control.parallel) == (2, 0, 2)
        assert control.healthz_requests == control.guidance_requests == 2 * 4
        assert control.parallel_requests == 2 * 8
        assert len(control.overhead_ms) == len(control.guidance_ms) == 8
        assert all(is_number(v) for v in control.to_json().values() if isinstance(v, float))
    assert math.isnan(api.what_if[1].mean_zendesk)  # `guidepost serve` has no stopwatch
    assert is_number(api.healthz_p50_ms)


def test_profile_attributes_cpu(emulator: EmulatorProcess, results: Results) -> None:
    profile = profile_guidance(emulator, requests=6)
    results.profile = profile
    # A one-call GET guidance reads its ticket on the event loop (wave 6): no hop; a 원콜
    # load still makes one.
    assert 0 <= profile.hops_per_request <= 1
    assert is_number(profile.cpu_ms_per_request)
    total = sum(ms for _, ms in profile.components)
    assert total == pytest.approx(profile.cpu_ms_per_request, rel=0.01)
    assert profile.top_functions


@pytest.mark.browser
def test_sidebar_section_times_loads(emulator: EmulatorProcess, results: Results) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    sidebar = run_sidebar(emulator, loads=2, progress=quiet)
    results.sidebar = sidebar
    assert sidebar.skipped == ""
    assert len(sidebar.loads) == 2
    for load in sidebar.loads:
        assert is_number(load.boot_ms)
        assert load.registered_to_paint_ms >= load.registered_to_dom_ms > 0


def test_scale_section_measures_workers(emulator: EmulatorProcess, results: Results) -> None:
    scale = run_scale(emulator, quick=True, progress=quiet, runs=((0, 2, 8),))
    results.scale = scale
    assert [m.workers for m in scale.memory] == [1, 2]
    assert len(scale.memory[0].idle_mib) == 1
    assert len(scale.memory[1].idle_mib) == 2
    assert all(v > 0 for m in scale.memory for v in m.idle_mib + m.peak_mib)
    (throughput,) = scale.throughput
    assert set(throughput.rps) == {1, 2}
    assert all(is_number(v) for v in throughput.rps.values())


def test_cli_section_times_explain_in_fresh_processes(results: Results) -> None:
    cli = run_cli(runs=2)
    results.cli = cli
    assert len(cli.explain.wall_ms) == len(cli.explain.cpu_ms) == 2
    assert len(cli.bare_python.wall_ms) == 2
    assert all(is_number(v) and v > 0 for v in cli.explain.wall_ms + cli.explain.cpu_ms)
    assert cli.pydantic_floor is not None
    assert len(cli.pydantic_floor.wall_ms) == 2
    assert cli.explain_cold is not None
    assert len(cli.explain_cold.cpu_ms) == 2
    assert cli.explain_no_bytecode is not None
    assert len(cli.explain_no_bytecode.cpu_ms) == 2
    # explain imports the domain, never structlog (nothing is logged).
    assert cli.import_ms["backend.domain.engine"] > 0
    assert "structlog" not in cli.import_ms


def test_connectors_section_times_the_fetch(results: Results) -> None:
    rows = run_connectors(rounds=2, latencies_ms=(0, 50), budgets_s=(1.0,))
    results.connectors = rows
    assert [(row.latency_ms, row.budget_s) for row in rows] == [(0, 1.0), (50, 1.0)]
    for row in rows:
        assert row.rounds == 2
        assert row.facts_per_fetch > 0
        assert row.over_budget_rounds == 0
    assert rows[1].p50_ms >= 50  # the sources are asked for real, at their latency
    text, (verdict,) = connectors_section(rows)
    assert "## 7. Connectors" in text
    assert verdict.met is True


def test_form_latency_section_reports_p95_against_its_target() -> None:
    text, (verdict,) = form_latency_section(
        {"edits": 3, "p50_ms": 90.0, "p95_ms": 400.0, "max_ms": 410.0, "last_source": "form"}
    )
    assert "Unsaved edit" in text
    assert verdict.met is False
    assert "400 ms" in verdict.measured


def test_report_is_written(tmp_path: Path, results: Results) -> None:
    path = write_report(results, tmp_path, remaining_section(results))
    text = path.read_text(encoding="utf-8")
    for heading in ("## Targets vs measured", "## 1. Engine", "## 2. HTTP", "## 3. Macro sync"):
        assert heading in text
    assert "## 5. Scale" in text
    assert "## 6. CLI" in text
    assert "## 7. Connectors" in text
    assert "**The stack's floor for one Zendesk call.**" in text
    assert "zendesk read (floor)" in text
    assert "**The emulator's store.**" in text
    charts = {p.name for p in (tmp_path / "bench").glob("*.png")}
    assert {"engine.png", "http_latency.png", "http_breakdown.png", "macro_sync.png"} <= charts
    assert "scale.png" in charts
