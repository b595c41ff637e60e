"""Section 1: the engine alone — decisions and rendered texts per second on one core."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from backend.demo import DEMO_CASES
from backend.domain.decision import Decision
from backend.domain.engine import EngineOptions, decide
from backend.domain.facts import TicketInput, parse_input
from backend.domain.guides import load_catalog
from backend.domain.render import TextRenderer
from backend.settings import Settings
from tooling.bench.common import percentile

TARGET_PER_SECOND = 2000.0


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


def run_engine(seconds: float = 3.0, latency_rounds: int = 30) -> EngineResult:
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
    )
