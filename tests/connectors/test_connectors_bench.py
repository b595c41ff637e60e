"""Smoke test of the connector benchmark: tiny sizes, counts asserted, no timing."""

from __future__ import annotations

from tooling.bench.connectors import FetchRow, format_rows, run_connectors


def test_bench_rows_count_facts_and_budget_hits() -> None:
    """Every source answers when it is fast; a source slower than the budget never does."""
    rows = run_connectors(rounds=2, latencies_ms=(0, 400), budgets_s=(3.0, 0.1))
    assert [(row.latency_ms, row.budget_s) for row in rows] == [
        (0, 3.0),
        (0, 0.1),
        (400, 3.0),
        (400, 0.1),
    ]
    by_cell = {(row.latency_ms, row.budget_s): row for row in rows}
    # 8 parking facts + 9 call facts; the 요금계산기 has no estimate for this call.
    assert by_cell[(0, 3.0)].facts_per_fetch == 17
    assert by_cell[(0, 3.0)].over_budget_rounds == 0
    assert by_cell[(400, 3.0)].facts_per_fetch == 17
    assert by_cell[(400, 0.1)].over_budget_rounds == 2
    assert by_cell[(400, 0.1)].facts_per_fetch == 0
    table = format_rows(rows)
    assert len(table.splitlines()) == 5
    assert isinstance(rows[0], FetchRow)
    assert set(rows[0].to_json()) >= {"latency_ms", "budget_s", "p50_ms", "over_budget_rounds"}
