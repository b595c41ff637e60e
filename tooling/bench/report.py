"""Turn the measurements into docs/BENCHMARKS.md and docs/bench/*.png (matplotlib, Agg)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from tooling.bench.api import (
    OVERHEAD_P50_TARGET_MS,
    OVERHEAD_P99_TARGET_MS,
    ApiResult,
    ApiRun,
)
from tooling.bench.common import Environment, fmt, percentile
from tooling.bench.engine import EngineResult
from tooling.bench.macros import (
    RATE_LIMIT_PER_MINUTE,
    RATIO_TARGET,
    ZENDESK_RTT_SECONDS,
    MacroResult,
)
from tooling.bench.profile import ProfileResult
from tooling.bench.scale import ScaleResult
from tooling.bench.sidebar import P95_TARGET_MS, SidebarResult

CHART_DIR = "bench"
ENGINE_HEADERS = [
    "guide",
    ">tickets",
    ">renders/decision",
    ">CPU p50 ms",
    ">CPU p99 ms",
    ">wall p50 ms",
    ">wall p99 ms",
]
RUN_HEADERS = [
    "action",
    "Zendesk latency",
    ">concurrency",
    ">requests",
    ">errors",
    ">req/s",
    ">p50 ms",
    ">p99 ms",
    ">overhead p50 ms",
    ">overhead p99 ms",
    ">calls/action",
]
PARTS_HEADERS = [
    "action",
    "latency",
    ">c",
    "server",
    ">total",
    ">Zendesk",
    ">Zenpy+requests",
    ">FastAPI app",
    ">uvicorn+HTTP+client",
    ">backend CPU",
    ">client CPU",
]
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
MEMORY_HEADERS = [">workers", "idle MiB (each worker)", "warm MiB", "peak MiB", "master MiB"]
SCALE_HEADERS = [
    "Zendesk latency",
    ">concurrency",
    ">requests",
    ">1 worker req/s",
    ">2 workers req/s",
    ">speed-up",
    ">p50 ms (1)",
    ">p50 ms (2)",
]
# Assumptions of the rate-limit arithmetic (stated in the document).
TICKETS_PER_AGENT_HOUR = 12
GUIDANCE_LOADS_PER_TICKET = (1, 4)
ACCOUNT_LIMITS = (200, 400, 700)


@dataclass
class Verdict:
    """One target, what was measured, and whether it holds."""

    section: str
    target: str
    measured: str
    met: bool | None
    note: str = ""

    def cell(self) -> str:
        """The verdict column."""
        if self.met is None:
            return "not measured"
        return "**met**" if self.met else "**missed**"


@dataclass
class Results:
    """Everything one bench run measured (a section is None when it did not run)."""

    environment: Environment
    engine: EngineResult | None = None
    api: ApiResult | None = None
    macros: MacroResult | None = None
    sidebar: SidebarResult | None = None
    scale: ScaleResult | None = None
    profile: ProfileResult | None = None
    section_seconds: dict[str, float] = field(default_factory=dict)
    load_after: tuple[float, float, float] = (math.nan, math.nan, math.nan)

    def to_json(self) -> dict[str, Any]:
        """All results as JSON."""
        return {
            "environment": self.environment.to_json(),
            "engine": self.engine.to_json() if self.engine else None,
            "api": self.api.to_json() if self.api else None,
            "macros": self.macros.to_json() if self.macros else None,
            "sidebar": self.sidebar.to_json() if self.sidebar else None,
            "scale": self.scale.to_json() if self.scale else None,
            "profile": self.profile.to_json() if self.profile else None,
            "section_seconds": self.section_seconds,
            "load_after": list(self.load_after),
        }


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table (numbers right-aligned when the header says so with a leading '>')."""
    aligns = ["---:" if h.startswith(">") else "---" for h in headers]
    names = [h.removeprefix(">") for h in headers]
    lines = ["| " + " | ".join(names) + " |", "|" + "|".join(aligns) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def times_over(measured: float, target: float) -> str:
    """'1.2× the target' style ratio."""
    if math.isnan(measured) or target == 0:
        return "–"
    return f"{measured / target:.1f}×"


def _save(fig: Figure, out_dir: Path, name: str) -> str:
    """Save a figure under docs/bench/ and return its Markdown-relative path."""
    path = out_dir / CHART_DIR / name
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return f"{CHART_DIR}/{name}"


# ---------------------------------------------------------------------------- engine


def engine_section(result: EngineResult, out_dir: Path) -> tuple[str, list[Verdict]]:
    """Section 1 text, chart and verdicts."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.bar(
        ["decisions/s", "rendered texts/s"],
        [
            result.decisions_per_cpu_second,
            result.renders_per_cpu_second,
        ],
        color=["#3b7dd8", "#9bbbe8"],
    )
    left.axhline(
        result.target, color="#c0392b", linestyle="--", label=f"target {result.target:,.0f}/s"
    )
    left.set_title("Engine throughput on one core (CPU time)")
    left.legend()
    for guide, samples in sorted(result.cpu_samples_us.items()):
        right.hist([s / 1000 for s in samples], bins=30, alpha=0.6, label=guide)
    right.set_xlabel("CPU time per decide() incl. texts and note (ms)")
    right.set_ylabel("decisions")
    right.set_title("Per-ticket latency, by guide")
    right.legend()
    chart = _save(fig, out_dir, "engine.png")
    rows = [
        [
            item.guide,
            str(item.tickets),
            f"{item.renders_per_decision:.1f}",
            fmt(item.cpu_p50_us / 1000, 2),
            fmt(item.cpu_p99_us / 1000, 2),
            fmt(item.wall_p50_us / 1000, 2),
            fmt(item.wall_p99_us / 1000, 2),
        ]
        for item in result.latency
    ]
    met = result.decisions_per_cpu_second >= result.target
    rounds = result.latency[0].samples // max(result.latency[0].tickets, 1) if result.latency else 0
    measured = (
        f"{result.decisions_per_cpu_second:,.0f} decisions/s "
        f"({result.renders_per_cpu_second:,.0f} renders/s)"
    )
    text = f"""## 1. Engine

**Method.** `decide()` (guide choice, table, checks, notices, every text of the branch
and the internal note rendered with Jinja2) on the {result.guide_tickets} demo tickets of
`backend/demo.py` that a guide decides ({result.tickets - result.guide_tickets} no-guide /
suggested tickets left out: they skip the table and would flatter the figure), parsed once
as `explain` does. One thread loops over them for {result.cpu_seconds:.1f} s of that
thread's CPU time (`time.thread_time`), so the figure is per core and does not depend on
what else the machine runs; wall time is shown alongside. Then {rounds} timed rounds
over every ticket give the per-ticket CPU and wall percentiles.

| measure | value |
|---|---:|
| decisions per CPU second (one core) | **{result.decisions_per_cpu_second:,.0f}** |
| rendered texts per CPU second (texts + note) | {result.renders_per_cpu_second:,.0f} |
| decisions per wall second (this run) | {result.decisions_per_wall_second:,.0f} |
| decisions in the run | {result.decisions:,} |

{table(ENGINE_HEADERS, rows)}

![engine]({chart})

**Target:** ≥ {result.target:,.0f} decisions + renders per second per core.
**Measured:** {result.decisions_per_cpu_second:,.0f} decisions/s (each with
{result.renders / max(result.decisions, 1):.1f} rendered templates on average) —
{times_over(result.decisions_per_cpu_second, result.target)} the target:
**{"met" if met else "missed"}**. Wall-clock p99 is higher than CPU p99 when other
processes share the two cores (preemption), not because the engine is slower.
"""
    verdict = Verdict(
        "1 Engine",
        f"≥ {result.target:,.0f} decisions+renders/s per core",
        measured,
        met,
    )
    return text, [verdict]


# ------------------------------------------------------------------------------ http


def _run_row(run: ApiRun) -> list[str]:
    return [
        run.action,
        f"{run.latency_ms} ms",
        str(run.concurrency),
        str(run.requests),
        str(run.errors),
        fmt(run.rps, 1),
        fmt(run.total_p50, 1),
        fmt(run.total_p99, 1),
        fmt(run.overhead_p50, 1),
        fmt(run.overhead_p99, 1),
        fmt(run.calls_per_action, 2),
    ]


def _http_charts(result: ApiResult, out_dir: Path) -> tuple[str, str]:
    """Latency/throughput grid and the where-the-time-goes stacked bars."""
    fig, axes = plt.subplots(2, 2, figsize=(12, 7.5), sharex=True, layout="constrained")
    for row, action in enumerate(("guidance", "apply")):
        for col, latency in enumerate((0, 150)):
            ax = axes[row][col]
            runs = [r for r in result.runs if r.action == action and r.latency_ms == latency]
            labels = [str(r.concurrency) for r in runs]
            xs = range(len(runs))
            ax.bar([x - 0.2 for x in xs], [r.total_p50 for r in runs], 0.4, label="total p50")
            ax.bar([x + 0.2 for x in xs], [r.total_p99 for r in runs], 0.4, label="total p99")
            ax.plot(xs, [r.overhead_p50 for r in runs], "o-", color="#c0392b", label="overhead p50")
            ax.set_yscale("log")
            ax.set_ylim(bottom=1)
            ax.set_xticks(list(xs), labels)
            ax.set_title(f"{action}, Zendesk latency {latency} ms")
            ax.set_ylabel("ms (log)")
            twin = ax.twinx()
            twin.plot(xs, [r.rps for r in runs], "s--", color="#555555", label="req/s")
            twin.set_ylabel("req/s")
            twin.set_ylim(bottom=0)
            if row == 1:
                ax.set_xlabel("concurrency")
            if row == 0 and col == 0:
                ax.legend(loc="upper left", fontsize=8)
                twin.legend(loc="lower right", fontsize=8)
    latency_chart = _save(fig, out_dir, "http_latency.png")

    fig, ax = plt.subplots(figsize=(11, 4))
    picked = [r for r in result.runs if r.concurrency == 1]
    picked += [r for r in result.what_if if r.variant == "shared"]
    labels = [
        f"{r.action}\n{r.latency_ms} ms" + ("\n(what-if shared)" if r.variant == "shared" else "")
        for r in picked
    ]
    parts = (
        ("Zendesk (emulator service)", "mean_zendesk", "#95a5a6"),
        ("Zenpy + requests + socket", "mean_zenpy", "#e67e22"),
        ("FastAPI app (deps, auth, engine, JSON, log)", "mean_app", "#3b7dd8"),
        ("uvicorn + HTTP + load client", "mean_http", "#8e44ad"),
    )
    bottoms = [0.0] * len(picked)
    for name, attr, color in parts:
        values = [max(getattr(r, attr), 0.0) for r in picked]
        ax.bar(labels, values, bottom=bottoms, label=name, color=color)
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    ax.set_ylabel("mean ms per request (concurrency 1)")
    ax.set_title("Where one request's time goes")
    ax.legend(fontsize=8)
    breakdown_chart = _save(fig, out_dir, "http_breakdown.png")
    return latency_chart, breakdown_chart


def http_section(result: ApiResult, out_dir: Path) -> tuple[str, list[Verdict]]:
    """Section 2 text, charts and verdicts."""
    latency_chart, breakdown_chart = _http_charts(result, out_dir)
    call_rows = [
        [
            c.action,
            c.klass,
            str(c.tickets),
            str(c.calls_min) if c.calls_min == c.calls_max else f"{c.calls_min}–{c.calls_max}",
            str(c.expected),
            ", ".join(f"{route} ×{n}" for route, n in sorted(c.routes.items())),
        ]
        for c in result.calls
    ]
    calls_ok = all(c.calls_min == c.calls_max == c.expected for c in result.calls)
    calls_verdict = (
        "All counts are as expected" if calls_ok else "Some counts differ from the expectation"
    )
    run_rows = [_run_row(run) for run in result.runs]
    comp_rows = [
        [
            r.action,
            f"{r.latency_ms} ms",
            str(r.concurrency),
            r.variant,
            fmt(r.mean_total, 1),
            fmt(r.mean_zendesk, 1),
            fmt(r.mean_zenpy, 1),
            fmt(r.mean_app, 1),
            fmt(r.mean_http, 1),
            fmt(r.backend_cpu_ms, 1),
            fmt(r.client_cpu_ms, 2),
        ]
        for r in [*result.runs, *result.what_if]
        if r.concurrency == 1
    ]
    c1 = [r for r in result.runs if r.concurrency == 1]
    p50 = max((r.overhead_p50 for r in c1), default=math.nan)
    p99 = max((r.overhead_p99 for r in c1), default=math.nan)
    plain = next((r for r in result.what_if if r.variant == "plain"), None)
    shared = next((r for r in result.what_if if r.variant == "shared"), None)
    timed = next((r for r in result.what_if if r.variant == "timed"), None)
    what_if = ""
    if plain and shared and timed:
        what_if = f"""
**Controls.** The same 0 ms, concurrency-1 guidance run against the unmodified
`guidepost serve` gives p50 {plain.total_p50:.1f} ms (instrumented server:
{timed.total_p50:.1f} ms), so the instruments cost no more than the run-to-run noise.
The *what-if* row (`shared`) keeps one `ZenpyGateway` per process instead of one per
request (its Zenpy clients are already per thread): p50 {shared.total_p50:.1f} ms,
Zenpy share {shared.mean_zenpy:.1f} ms instead of {timed.mean_zenpy:.1f} ms.
"""
    text = f"""## 2. HTTP: guidance and apply through uvicorn

**Method.** Three processes on loopback: the Zendesk emulator with the demo data
(`python -m tooling.bench.emulator`, which runs `start_emulator_with_demo` exactly as
`guidepost emulator` does, rate limit lifted), the backend under uvicorn
(`python -m tooling.bench.server`: the same `create_app`, settings from `GUIDEPOST_*`
and uvicorn options as `guidepost serve`, access log written as in production) and the
load generator (this process: one asyncio `httpx.AsyncClient` with one kept-alive
connection per concurrent request, closed loop, a fresh JWT per run). Latency is
injected by the emulator's fault API (`{{"kind": "latency", "ms": 150, "method": "*",
"path": ".*"}}`) on every Zendesk request. Guidance runs cycle over all
{sum(c.tickets for c in result.calls if c.action == "guidance")} demo tickets (the ticket
classes below); apply runs use fresh copies of the demo tickets (unique call ids, so no run's
write-back changes another's search) with the branch the engine gives them.

**How "time waiting for Zendesk" is measured (not assumed).** The emulator stamps every
API answer with `X-Emulator-Service-Ms`, the time its request handler took (routing,
store, injected latency). In the backend process a `requests` response hook adds these
up per request, and wrappers around `ZenpyGateway`'s methods time the gateway calls; an
outermost ASGI middleware returns both, plus the app time, in response headers (all
bench-only, patched in the bench server process; no production code changed and no
dependency override, which would make FastAPI re-analyse every dependency per request).
**Overhead = client-measured total − Zendesk service time**: everything Guidepost adds —
FastAPI, auth, engine, JSON, access log, *and* Zenpy/requests on the client side of each
Zendesk call — plus uvicorn, loopback and the load client. The load client costs
{fmt(result.healthz_client_cpu_ms, 2)} ms of its own CPU per request; a bare
`GET /healthz` (no Zendesk, no engine) answers in {fmt(result.healthz_p50_ms, 2)} ms p50
end to end, the floor of uvicorn + FastAPI + client on this machine.

### Zendesk calls per action (counted by the emulator, one request at a time)

{table(["action", "ticket class", ">tickets", ">calls", ">expected", "routes"], call_rows)}

Expected: guidance 1 (+1 search when a 강제재연결 ticket has an 원콜 ID), apply 2
(read + one safe write, + that search), an apply repeated on an already written ticket 1
(read only: the fingerprint tag is found). **{calls_verdict}.**

### Latency and throughput

{table(RUN_HEADERS, run_rows)}

![latency]({latency_chart})

### Where the time goes (means, concurrency 1)

Zendesk = the emulator's stated service time; Zenpy+requests = gateway time minus that;
FastAPI app = app time minus gateway time; uvicorn+HTTP+client = client total minus app
time. Backend CPU = CPU seconds of the uvicorn process over the run (`/proc`) per
request; client CPU = the load generator's own CPU per request.

{table(PARTS_HEADERS, comp_rows)}

![breakdown]({breakdown_chart})
{what_if}
**Target:** backend overhead at concurrency 1 p50 < {OVERHEAD_P50_TARGET_MS:g} ms and
p99 < {OVERHEAD_P99_TARGET_MS:g} ms. **Measured (worst action/latency at c=1):**
p50 {fmt(p50, 1)} ms ({times_over(p50, OVERHEAD_P50_TARGET_MS)} the target), p99
{fmt(p99, 1)} ms ({times_over(p99, OVERHEAD_P99_TARGET_MS)}):
**{"met" if p50 < OVERHEAD_P50_TARGET_MS and p99 < OVERHEAD_P99_TARGET_MS else "missed"}**.
See "What is left" for the profile and what it would take. At concurrency 16 and 64 the
backend is CPU-bound (one process, one core's worth of Python): latency grows with the
queue, throughput stays flat; with 150 ms of Zendesk latency the threadpool (40 threads)
keeps Zendesk waits overlapping.
"""
    guidance_run = result.find("guidance", 0, 1)
    apply_run = result.find("apply", 0, 1)
    split = (
        f" (guidance {fmt(guidance_run.overhead_p50, 1)}, apply {fmt(apply_run.overhead_p50, 1)}"
        " at 0 ms)"
        if guidance_run and apply_run
        else ""
    )
    verdicts = [
        Verdict(
            "2 HTTP",
            f"overhead c=1 p50 < {OVERHEAD_P50_TARGET_MS:g} ms",
            f"{fmt(p50, 1)} ms worst{split}",
            p50 < OVERHEAD_P50_TARGET_MS,
        ),
        Verdict(
            "2 HTTP",
            f"overhead c=1 p99 < {OVERHEAD_P99_TARGET_MS:g} ms",
            f"{fmt(p99, 1)} ms",
            p99 < OVERHEAD_P99_TARGET_MS,
        ),
    ]
    for action, wanted in (("guidance", "1 (+1 search)"), ("apply", "2 (+1 search)")):
        rows = [c for c in result.calls if c.action == action]
        seen = sorted({f"{c.calls_min}" for c in rows})
        verdicts.append(
            Verdict(
                "2 HTTP",
                f"Zendesk calls per {action}: {wanted}",
                " / ".join(seen) + " (by ticket class)",
                all(c.calls_min == c.calls_max == c.expected for c in rows),
            )
        )
    return text, verdicts


# ---------------------------------------------------------------------------- macros


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
    chart = _save(fig, out_dir, "macro_sync.png")
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


# --------------------------------------------------------------------------- sidebar


def sidebar_section(result: SidebarResult, out_dir: Path) -> tuple[str, list[Verdict]]:
    """Section 4 text, chart and verdicts."""
    if result.skipped or not result.loads:
        text = f"## 4. Sidebar\n\nNot measured: {result.skipped or 'no loads'}.\n"
        return text, [Verdict("4 Sidebar", f"p95 < {P95_TARGET_MS:g} ms", "–", None)]
    paint = [load.registered_to_paint_ms for load in result.loads]
    fig, ax = plt.subplots(figsize=(9, 3.6))
    ax.plot(range(1, len(paint) + 1), paint, "o-", label="app.registered → guidance painted")
    ax.plot(
        range(1, len(paint) + 1),
        [load.boot_ms for load in result.loads],
        "x:",
        color="#888888",
        label="iframe start → app.registered (app boot, not in the target)",
    )
    ax.axhline(
        P95_TARGET_MS, color="#c0392b", linestyle="--", label=f"target p95 {P95_TARGET_MS:g} ms"
    )
    ax.axhline(percentile(paint, 95), color="#27ae60", linestyle=":", label="measured p95")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("load")
    ax.set_ylabel("ms")
    ax.set_title("Sidebar in headless Chromium")
    ax.legend(fontsize=8, loc="lower right")
    chart = _save(fig, out_dir, "sidebar.png")
    rows = [
        [
            name,
            fmt(result.stat(attr, 50), 0),
            fmt(result.stat(attr, 95), 0),
            fmt(max(getattr(load, attr) for load in result.loads), 0),
        ]
        for name, attr in (
            ("app.registered → guidance in the DOM", "registered_to_dom_ms"),
            ("app.registered → next frame painted", "registered_to_paint_ms"),
            ("iframe start → app.registered (boot)", "boot_ms"),
        )
    ]
    p95 = result.stat("registered_to_paint_ms", 95)
    met = p95 < P95_TARGET_MS
    text = f"""## 4. Sidebar

**Method.** Headless Chromium {result.chromium} (Debian's `/usr/bin/chromium`, driven by
Playwright) opens the local harness (`tooling.harness`: the host page plays Zendesk's side
of ZAF v2 around the real `zendesk_app/assets` app and the npm ZAF SDK, its proxy signs
the JWT as Zendesk's proxy does) against the backend process and the emulator of
section 2 (0 ms injected latency). Each of the {len(result.loads)} loads is a fresh page on
the next demo ticket with a guidance view (one warm-up load is dropped). A probe
injected before any app script (`add_init_script`) records, on the iframe's own
`performance.now()` clock, when `zaf.app.registered` arrives, when
`[data-state="guidance"]` is first in the DOM (MutationObserver) and the next animation
frame (painted). In between, the app asks for `ticket.id`, then `GET /v1/guides` and
`GET /v1/tickets/{{id}}/guidance` through the host's proxy in parallel.

{table(["interval", ">p50 ms", ">p95 ms", ">max ms"], rows)}

![sidebar]({chart})

**Target:** guidance visible < {P95_TARGET_MS:g} ms p95 after `app.registered` with the
local backend. **Measured:** p95 {p95:.0f} ms ({times_over(p95, P95_TARGET_MS)} the
target): **{"met" if met else "missed"}**.
"""
    return text, [
        Verdict(
            "4 Sidebar",
            f"guidance p95 < {P95_TARGET_MS:g} ms after app.registered",
            f"{p95:.0f} ms (p50 {result.stat('registered_to_paint_ms', 50):.0f} ms)",
            met,
        )
    ]


# ----------------------------------------------------------------------------- scale


def _agents(limit: int, calls_per_ticket: float) -> float:
    """Agents a per-minute account limit serves at TICKETS_PER_AGENT_HOUR each."""
    return limit * 60 / (calls_per_ticket * TICKETS_PER_AGENT_HOUR)


def scale_section(
    result: ScaleResult, api: ApiResult | None, out_dir: Path
) -> tuple[str, list[Verdict]]:
    """Section 5 text and chart."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for offset, (name, attr) in enumerate(
        (("idle", "idle_mib"), ("warm", "warm_mib"), ("peak (under load)", "peak_mib"))
    ):
        values = [sum(getattr(m, attr)) / max(len(getattr(m, attr)), 1) for m in result.memory]
        left.bar([i + offset * 0.25 for i in range(len(result.memory))], values, 0.25, label=name)
    left.set_xticks(
        [i + 0.25 for i in range(len(result.memory))],
        [f"{m.workers} worker(s)" for m in result.memory],
    )
    left.set_ylabel("RSS per worker (MiB)")
    left.set_title("Memory per backend worker")
    left.legend(fontsize=8, loc="lower center")
    labels = [f"{t.latency_ms} ms, c={t.concurrency}" for t in result.throughput]
    xs = range(len(result.throughput))
    right.bar([x - 0.2 for x in xs], [t.rps[1] for t in result.throughput], 0.4, label="1 worker")
    right.bar([x + 0.2 for x in xs], [t.rps[2] for t in result.throughput], 0.4, label="2 workers")
    right.set_xticks(list(xs), labels)
    right.set_ylabel("guidance req/s")
    right.set_title("Throughput, uvicorn workers 1 → 2 (2 cores)")
    right.legend(fontsize=8)
    chart = _save(fig, out_dir, "scale.png")
    mem_rows = [
        [
            str(m.workers),
            ", ".join(fmt(v, 0) for v in m.idle_mib),
            ", ".join(fmt(v, 0) for v in m.warm_mib),
            ", ".join(fmt(v, 0) for v in m.peak_mib),
            fmt(m.master_mib, 0) if m.master_mib else "–",
        ]
        for m in result.memory
    ]
    tp_rows = [
        [
            f"{t.latency_ms} ms",
            str(t.concurrency),
            str(t.requests),
            fmt(t.rps[1], 1),
            fmt(t.rps[2], 1),
            f"{t.speedup:.2f}×",
            fmt(t.p50_ms[1], 0),
            fmt(t.p50_ms[2], 0),
        ]
        for t in result.throughput
    ]
    guidance_calls = worst_guidance = 2.0
    apply_calls = 3.0
    per_worker_rps = max((t.rps[1] for t in result.throughput), default=math.nan)
    if api is not None:
        mix = api.find("guidance", 0, 1)
        guidance_calls = mix.calls_per_action if mix else guidance_calls
        worst_guidance = max((c.calls_max for c in api.calls if c.action == "guidance"), default=2)
        apply_calls = max((c.calls_max for c in api.calls if c.action == "apply"), default=3)
    limit_rows = []
    for loads in GUIDANCE_LOADS_PER_TICKET:
        for label, g_calls in (
            ("demo mix", guidance_calls),
            ("worst class", float(worst_guidance)),
        ):
            per_ticket = loads * g_calls + apply_calls
            limit_rows.append(
                [
                    f"{loads} guidance load(s) + 1 apply, {label}",
                    fmt(per_ticket, 1),
                    *[fmt(_agents(limit, per_ticket), 0) for limit in ACCOUNT_LIMITS],
                ]
            )
    speedups = [t.speedup for t in result.throughput if not math.isnan(t.speedup)]
    speedup_text = ""
    if speedups:
        low, high = min(speedups), max(speedups)
        speedup_text = f"Measured speed-up from 1 to 2 workers: {low:.2f}–{high:.2f}×. " + (
            "There is no idle core here: one worker already keeps a core busy and the "
            "emulator, the load client and other jobs take the other, so a second worker "
            "only adds contention. On hardware with a free core per worker, throughput "
            "grows with workers (the backend shares nothing) — until Zendesk's rate limit."
            if high < 1.5
            else "The second worker had a core of its own."
        )
    limit_headers = [
        "per ticket handled",
        ">Zendesk calls",
        *[f">agents @ {limit} rpm" for limit in ACCOUNT_LIMITS],
    ]
    zendesk_guidance_per_s = RATE_LIMIT_PER_MINUTE / 60 / guidance_calls
    text = f"""## 5. Scale

**Method.** Resident memory (`VmRSS`, peak `VmHWM` from `/proc`) of each process serving
requests: after start-up (idle), after a warm-up of every demo ticket (warm), and the peak
after the load runs. Throughput: the guidance mix at the listed latency and concurrency
against `--workers 1` and `--workers 2` (uvicorn's own multi-process mode, one shared
socket). Here every request opens a new connection: kept-alive connections stay with the
worker that accepted them, so a handful of long-lived connections would not spread; a
load balancer or Zendesk's proxy opening connections over time behaves like this. The
machine has {self_cpus()} cores shared by the emulator, the load client and the workers,
so 2 workers cannot double throughput here.

{table(MEMORY_HEADERS, mem_rows)}

{table(SCALE_HEADERS, tp_rows)}

{speedup_text}

![scale]({chart})

### Several replicas behind a load balancer

The backend holds no state between requests: every guidance/apply reads the ticket from
Zendesk, the guide files are read once per process, the field map is a file re-read when
it changes, the JWT is verified with the shared secret, and exactly-once write-back rests
on Zendesk itself (`safe_update` + `updated_stamp`, the fingerprint tag), not on a lock or
a session. So any number of replicas (or workers) can sit behind a round-robin load
balancer with no sticky sessions; each needs the same settings, `macros/` and field map.
Memory is about {fmt(max((max(m.peak_mib) for m in result.memory), default=math.nan), 0)} MiB
per worker at peak.

What then limits is **Zendesk's account-wide rate limit**, not Guidepost: one worker here
sustains about {fmt(per_worker_rps, 0)} guidance requests/s, while a
{RATE_LIMIT_PER_MINUTE} requests/min account allows
{RATE_LIMIT_PER_MINUTE} / 60 / {guidance_calls:.2f} calls ≈ {zendesk_guidance_per_s:.1f}
guidance requests/s for the whole account (mean {guidance_calls:.2f} Zendesk calls per
guidance in the demo mix). Replicas buy availability and latency under bursts, not more
Zendesk budget. Agents one account can serve, at {TICKETS_PER_AGENT_HOUR} tickets per
agent-hour (5 minutes each — an assumption), guidance reloaded 1 or 4 times per ticket
(the sidebar reloads it when a ticket field it reads changes) and one apply
({apply_calls:.0f} calls at most), if Guidepost had the whole limit to itself:

{table(limit_headers, limit_rows)}

Other integrations share the same limit; when it is hit, interactive requests wait out a
429 for at most `GUIDEPOST_INTERACTIVE_MAX_WAIT_SECONDS` (3 s) and then answer 503, and the
macro sync (batch) waits longer — its unchanged run costs ceil(N/100) calls, so it hardly
competes with agents.
"""
    return text, []


def self_cpus() -> int:
    """CPU count of this machine."""
    import os

    return os.cpu_count() or 1


# ---------------------------------------------------------------------------- document


def summary_section(verdicts: Sequence[Verdict]) -> str:
    """Targets vs measured, one row per target."""
    rows = [[v.section, v.target, v.measured, v.cell()] for v in verdicts]
    return (
        "## Targets vs measured\n\n"
        + table(["section", "target", "measured", "verdict"], rows)
        + "\n"
    )


def _loads(values: Sequence[float]) -> str:
    """A load average triple."""
    return ", ".join(f"{x:.2f}" for x in values)


def environment_section(results: Results) -> str:
    """Where and when, and how long each section took."""
    env = results.environment
    rows = [
        ["date", env.date],
        ["mode", "quick (`make bench QUICK=1`)" if env.quick else "full (`make bench`)"],
        ["CPU", f"{env.cpu_model} — {env.cpus} cores"],
        ["Python", env.python],
        ["OS", env.platform],
        ["commit", env.git_commit],
        [
            "load average before / after (1, 5, 15 min)",
            f"{_loads(env.load_before)} / {_loads(results.load_after)}",
        ],
        [
            "section wall times",
            ", ".join(f"{name} {secs:.0f} s" for name, secs in results.section_seconds.items()),
        ],
    ]
    return "## Environment\n\n" + table(["", ""], rows) + "\n"


def write_report(results: Results, out_dir: Path, remaining: str) -> Path:
    """Write docs/BENCHMARKS.md and the charts; return the document's path."""
    sections: list[str] = []
    verdicts: list[Verdict] = []
    if results.engine:
        text, found = engine_section(results.engine, out_dir)
        sections.append(text)
        verdicts += found
    if results.api:
        text, found = http_section(results.api, out_dir)
        sections.append(text)
        verdicts += found
    if results.macros:
        text, found = macros_section(results.macros, out_dir)
        sections.append(text)
        verdicts += found
    if results.sidebar:
        text, found = sidebar_section(results.sidebar, out_dir)
        sections.append(text)
        verdicts += found
    if results.scale:
        text, found = scale_section(results.scale, results.api, out_dir)
        sections.append(text)
        verdicts += found
    command = "python -m tooling.bench" + (" --quick" if results.environment.quick else "")
    header = f"""# Guidepost benchmarks

Generated by `make bench` (`{command}`)
on {results.environment.date} — do not edit by hand: change `tooling/bench/` and run it
again. Zendesk's rate limit (200–700 requests/min per account) and its round-trip time
are the real ceilings; these numbers show what Guidepost adds on top and how many API
calls it spends. All processes run on one machine on loopback; numbers from a machine
that is busy with other work (see the load average) are slower than on an idle one.
"""
    document = "\n".join(
        [header, environment_section(results), summary_section(verdicts), *sections, remaining]
    )
    path = out_dir / "BENCHMARKS.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document, encoding="utf-8")
    return path
