"""Section 1: the engine alone — decisions and rendered texts per second on one core."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.demo import DEMO_CASES
from backend.domain.decision import Decision
from backend.domain.engine import EngineOptions, decide
from backend.domain.facts import TicketInput, parse_input
from backend.domain.guides import load_catalog
from backend.domain.render import TextRenderer
from backend.settings import Settings
from tooling.bench.common import fmt, percentile
from tooling.bench.markdown import Verdict, plt, save_chart, table, times_over

TARGET_PER_SECOND = 4000.0
# The idle wait before each decision of the "after an idle wait" probe: one Zendesk call at
# the HTTP section's 150 ms row, during which the backend's core has nothing to do.
IDLE_WAIT_SECONDS = 0.15
PREVIOUS_PER_SECOND = 3080.0  # docs/BENCHMARKS.md of 2026-11-30 14:04 UTC (before wave 5)


@dataclass
class GuideLatency:
    """Per-ticket latency of one guide's demo tickets (microseconds)."""

    guide: str
    tickets: int
    samples: int
    cpu_p50_us: float
    cpu_p99_us: float
    wall_p50_us: float
    wall_p99_us: float
    renders_per_decision: float


@dataclass
class IdleProbe:
    """One way of timing the same decide(): wall and CPU p50 (µs) over its samples."""

    samples: int
    wall_p50_us: float
    cpu_p50_us: float


@dataclass
class EngineResult:
    """What the engine section measured."""

    tickets: int
    guide_tickets: int
    cpu_seconds: float
    wall_seconds: float
    decisions: int
    renders: int
    decisions_per_cpu_second: float
    renders_per_cpu_second: float
    decisions_per_wall_second: float
    latency: list[GuideLatency] = field(default_factory=list)
    samples_us: dict[str, list[float]] = field(default_factory=dict)
    cpu_samples_us: dict[str, list[float]] = field(default_factory=dict)
    target: float = TARGET_PER_SECOND
    # The same decide() back to back, first after an idle wait, and again at once (µs).
    idle: dict[str, IdleProbe] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The result as JSON (without the raw samples)."""
        return {
            "tickets": self.tickets,
            "guide_tickets": self.guide_tickets,
            "cpu_seconds": self.cpu_seconds,
            "wall_seconds": self.wall_seconds,
            "decisions": self.decisions,
            "renders": self.renders,
            "decisions_per_cpu_second": self.decisions_per_cpu_second,
            "renders_per_cpu_second": self.renders_per_cpu_second,
            "decisions_per_wall_second": self.decisions_per_wall_second,
            "latency": [vars(item) for item in self.latency],
            "idle": {name: vars(probe) for name, probe in self.idle.items()},
            "target": self.target,
        }


def count_renders(decision: Decision) -> int:
    """Templates rendered for a decision: its texts plus the internal note."""
    return len(decision.texts) + (1 if decision.note else 0)


def load_demo_tickets() -> tuple[list[TicketInput], Any, TextRenderer, EngineOptions]:
    """Parse every demo ticket as `explain` does; return them with catalog and renderer."""
    settings = Settings(_env_file=None)
    catalog = load_catalog(settings.guides_dir)
    renderer = TextRenderer(catalog)
    tickets = [parse_input(case.ticket, catalog.fields, None) for case in DEMO_CASES]
    return tickets, catalog, renderer, EngineOptions(admin_call_url=settings.admin_call_url)


def _timed_decide(
    ticket: TicketInput, catalog: Any, renderer: TextRenderer, options: Any
) -> tuple[float, float]:
    """Wall and CPU time (µs) of one decide()."""
    cpu_ns, wall_ns = time.thread_time_ns(), time.perf_counter_ns()
    decide(ticket, catalog, renderer, options)
    return (time.perf_counter_ns() - wall_ns) / 1000, (time.thread_time_ns() - cpu_ns) / 1000


def probe_idle(
    tickets: list[TicketInput],
    catalog: Any,
    renderer: TextRenderer,
    options: Any,
    rounds: int,
    idle_seconds: float = IDLE_WAIT_SECONDS,
) -> dict[str, IdleProbe]:
    """Time the same decide() back to back, first after an idle wait, and again at once.

    What the HTTP section's 150 ms row does to Guidepost's work: every load decides right
    after the thread slept through a Zendesk call. The CPU time shows whether the work
    itself got dearer (cold caches) or only its start (a late wake-up).
    """
    found: dict[str, tuple[list[float], list[float]]] = {
        name: ([], []) for name in ("back to back", "first after the idle wait", "again at once")
    }
    for index in range(rounds):
        ticket = tickets[index % len(tickets)]
        for _ in range(3):
            wall, cpu = _timed_decide(ticket, catalog, renderer, options)
        found["back to back"][0].append(wall)
        found["back to back"][1].append(cpu)
        time.sleep(idle_seconds)
        for name in ("first after the idle wait", "again at once"):
            wall, cpu = _timed_decide(ticket, catalog, renderer, options)
            found[name][0].append(wall)
            found[name][1].append(cpu)
    return {
        name: IdleProbe(len(walls), percentile(walls, 50), percentile(cpus, 50))
        for name, (walls, cpus) in found.items()
    }


def run_engine(
    seconds: float = 3.0, latency_rounds: int = 30, idle_rounds: int = 0
) -> EngineResult:
    """Decide every demo ticket of both guides for `seconds` of CPU time on this thread."""
    all_tickets, catalog, renderer, options = load_demo_tickets()
    first = [decide(ticket, catalog, renderer, options) for ticket in all_tickets]
    # The headline counts only tickets a guide decides (no-guide/suggested ones are cheaper).
    pairs = [
        (ticket, decision.guide)
        for ticket, decision in zip(all_tickets, first, strict=True)
        if decision.guide is not None and not decision.suggested
    ]
    tickets = [ticket for ticket, _ in pairs]
    renders_each = [count_renders(d) for d in first if d.guide is not None and not d.suggested]

    decisions = renders = 0
    cpu_start, wall_start = time.thread_time(), time.perf_counter()
    while time.thread_time() - cpu_start < seconds:
        for ticket in tickets:
            decide(ticket, catalog, renderer, options)
        decisions += len(tickets)
        renders += sum(renders_each)
    cpu = time.thread_time() - cpu_start
    wall = time.perf_counter() - wall_start

    samples: dict[str, tuple[list[float], list[float]]] = {}
    for _ in range(latency_rounds):
        for ticket, guide in pairs:
            cpu_ns, wall_ns = time.thread_time_ns(), time.perf_counter_ns()
            decide(ticket, catalog, renderer, options)
            wall_us = (time.perf_counter_ns() - wall_ns) / 1000
            cpu_us = (time.thread_time_ns() - cpu_ns) / 1000
            cpu_list, wall_list = samples.setdefault(str(guide), ([], []))
            cpu_list.append(cpu_us)
            wall_list.append(wall_us)
    latency = []
    for guide, (cpu_list, wall_list) in sorted(samples.items()):
        count = sum(1 for _, g in pairs if g == guide)
        guide_renders = [r for (_, g), r in zip(pairs, renders_each, strict=True) if g == guide]
        latency.append(
            GuideLatency(
                guide=guide,
                tickets=count,
                samples=len(wall_list),
                cpu_p50_us=percentile(cpu_list, 50),
                cpu_p99_us=percentile(cpu_list, 99),
                wall_p50_us=percentile(wall_list, 50),
                wall_p99_us=percentile(wall_list, 99),
                renders_per_decision=sum(guide_renders) / len(guide_renders),
            )
        )
    return EngineResult(
        tickets=len(all_tickets),
        guide_tickets=len(tickets),
        cpu_seconds=cpu,
        wall_seconds=wall,
        decisions=decisions,
        renders=renders,
        decisions_per_cpu_second=decisions / cpu,
        renders_per_cpu_second=renders / cpu,
        decisions_per_wall_second=decisions / wall,
        latency=latency,
        samples_us={guide: wall for guide, (_, wall) in samples.items()},
        cpu_samples_us={guide: cpu for guide, (cpu, _) in samples.items()},
        idle=probe_idle(tickets, catalog, renderer, options, idle_rounds) if idle_rounds else {},
    )


# ---------------------------------------------------------------------------- report

ENGINE_HEADERS = [
    "guide",
    ">tickets",
    ">renders/decision",
    ">CPU p50 ms",
    ">CPU p99 ms",
    ">wall p50 ms",
    ">wall p99 ms",
]


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
    chart = save_chart(fig, out_dir, "engine.png")
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

{_idle_text(result)}
**Target:** ≥ {result.target:,.0f} decisions + renders per second per core.
**Measured:** {result.decisions_per_cpu_second:,.0f} decisions/s (each with
{result.renders / max(result.decisions, 1):.1f} rendered templates on average) —
{times_over(result.decisions_per_cpu_second, result.target)} the target:
**{"met" if met else "missed"}**. Wall-clock p99 is higher than CPU p99 when other
processes share the two cores (preemption), not because the engine is slower. The
previous report (2026-11-30 14:04 UTC, the same guides, before the wave-5 engine changes listed
under "Optimisations made") measured {PREVIOUS_PER_SECOND:,.0f}/s; the profile of a
decision and what is left are under "What is left and why".
"""
    verdict = Verdict(
        "1 Engine",
        f"≥ {result.target:,.0f} decisions+renders/s per core",
        measured,
        met,
    )
    return text, [verdict]


def _idle_text(result: EngineResult) -> str:
    """The idle probe's table and what it says (empty when it did not run)."""
    probes = result.idle
    if not probes:
        return ""
    warm = probes["back to back"]
    cold = probes["first after the idle wait"]
    rows = [
        [name, str(p.samples), fmt(p.wall_p50_us / 1000, 2), fmt(p.cpu_p50_us / 1000, 2)]
        for name, p in probes.items()
    ]
    headers = ["the same decide() of one ticket", ">samples", ">wall p50 ms", ">CPU p50 ms"]
    return f"""**After an idle wait.** The same decisions again, one ticket at a time: three
back to back, then a sleep of {IDLE_WAIT_SECONDS * 1000:.0f} ms (one Zendesk call of
section 2's 150 ms row, during which the backend has nothing to do), then the first
decision after it and one more at once (`probe_idle`).

{table(headers, rows)}

The first decision after the wait takes {times_over(cold.wall_p50_us, warm.wall_p50_us)}
the wall time of a warm one and {times_over(cold.cpu_p50_us, warm.cpu_p50_us)} its CPU
time: the same instructions cost more CPU after the wait (caches it left cold, or a core
clocked down), and the next one at once is cheap again. Section 2's guidance loads at
150 ms run all of Guidepost's work in that state.
"""
