"""Connector fetch time on the guidance path at 0/50/500 ms admin latency, budget holding.

`python -m tooling.bench.connectors [--rounds N]` starts the admin emulator on loopback,
points the demo connectors (3 sources: 주차 어드민, 대리 어드민, 요금계산기) at it and times
`fetch_for_ticket` for a ticket that needs all three, cold (fresh cache) and warm (cached).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.connectors import FactCache, fetch_for_ticket
from backend.domain.fields import load_field_catalog
from backend.logs import configure_logging
from backend.settings import REPO_ROOT, Settings
from tooling.admin_emulator import FETCH_ONLY_CALL_ID, FETCH_ONLY_PLATE, AdminEmulator, settings_for
from tooling.bench.common import percentile

LATENCIES_MS = (0, 50, 500)
BUDGETS_S = (1.0, 0.25)
TICKET: dict[str, object] = {
    "origin_call_id": FETCH_ONLY_CALL_ID,
    "car_number": FETCH_ONLY_PLATE[0],
    "usage_date": FETCH_ONLY_PLATE[1],
}


@dataclass(frozen=True)
class FetchRow:
    """One latency × budget cell: fetch times and what came back."""

    latency_ms: int
    budget_s: float
    rounds: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    warm_p50_ms: float
    facts_per_fetch: float
    over_budget_rounds: int

    def to_json(self) -> dict[str, Any]:
        """The row as JSON."""
        return dict(self.__dict__)


def _time_fetches(
    settings: Settings, rounds: int, *, warm: bool
) -> tuple[list[float], list[int], int]:
    """Per-round milliseconds, facts fetched per round, rounds with an over-budget source."""
    fields = load_field_catalog(settings.guides_dir / "fields.yaml")
    cache = FactCache()
    if warm:
        fetch_for_ticket(TICKET, settings=settings, fields=fields, cache=cache)
    millis: list[float] = []
    facts: list[int] = []
    over = 0
    for _ in range(rounds):
        started = time.perf_counter()
        result = fetch_for_ticket(
            TICKET, settings=settings, fields=fields, cache=cache if warm else FactCache()
        )
        millis.append((time.perf_counter() - started) * 1000)
        facts.append(len(result.values))
        over += any(f.kind == "over_budget" for f in result.failures)
    return millis, facts, over


def run_connectors(
    rounds: int = 20,
    latencies_ms: Sequence[int] = LATENCIES_MS,
    budgets_s: Sequence[float] = BUDGETS_S,
) -> list[FetchRow]:
    """Time the guidance-side fetch for each latency and budget against the admin emulator."""
    rows: list[FetchRow] = []
    emulator = AdminEmulator().start()
    try:
        with tempfile.TemporaryDirectory(prefix="guidepost-bench-connectors-") as workdir:
            base = settings_for(emulator, Settings(_env_file=None), Path(workdir))
            base = base.model_copy(update={"guides_dir": REPO_ROOT / "macros"})
            _time_fetches(base, 1, warm=False)  # the shared client and imports, once
            for latency in latencies_ms:
                emulator.latency_seconds = latency / 1000
                for budget in budgets_s:
                    settings = base.model_copy(update={"connector_budget_seconds": budget})
                    cold, facts, over = _time_fetches(settings, rounds, warm=False)
                    warm, _, _ = _time_fetches(settings, rounds, warm=True)
                    rows.append(
                        FetchRow(
                            latency_ms=latency,
                            budget_s=budget,
                            rounds=rounds,
                            p50_ms=percentile(cold, 50),
                            p95_ms=percentile(cold, 95),
                            max_ms=max(cold),
                            warm_p50_ms=percentile(warm, 50),
                            facts_per_fetch=sum(facts) / len(facts),
                            over_budget_rounds=over,
                        )
                    )
    finally:
        emulator.stop()
    return rows


def format_rows(rows: Sequence[FetchRow]) -> str:
    """A plain-text table of the rows."""
    lines = [
        "latency  budget  rounds   p50 ms   p95 ms   max ms  warm p50  facts  over-budget",
    ]
    for row in rows:
        lines.append(
            f"{row.latency_ms:>5} ms {row.budget_s:>5.2f}s {row.rounds:>7} {row.p50_ms:>8.1f} "
            f"{row.p95_ms:>8.1f} {row.max_ms:>8.1f} {row.warm_p50_ms:>9.2f} "
            f"{row.facts_per_fetch:>6.1f} {row.over_budget_rounds:>12}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the connector benchmark and print the table."""
    parser = argparse.ArgumentParser(prog="python -m tooling.bench.connectors", description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)
    configure_logging("WARNING")  # one connector_fetch line per source would drown the table
    rows = run_connectors(args.rounds)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    sys.stdout.write(f"{format_rows(rows)}\n(load average 1/5/15 min: {load})\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
