"""Section 2's floor and store paragraphs: built from the rows they name, nothing else."""

from __future__ import annotations

from typing import Any

from tooling.bench.api import READ_FLOOR, ApiResult, ApiRun
from tooling.bench.api_report import floor_text, overhead_bars, worst_c1


def run(action: str, latency: int, concurrency: int = 1, **figures: Any) -> ApiRun:
    """A row with plain figures, overridden by `figures`."""
    values: dict[str, Any] = {
        "action": action,
        "latency_ms": latency,
        "concurrency": concurrency,
        "variant": "timed",
        "workers": 1,
        "requests": 10,
        "errors": 0,
        "rps": 100.0,
        "total_p50": 5.0,
        "total_p99": 9.0,
        "overhead_p50": 2.0,
        "overhead_p99": 4.0,
        "mean_total": 5.0,
        "mean_zendesk": 1.0,
        "mean_zenpy": 1.0,
        "mean_app": 1.0,
        "mean_http": 1.0,
        "calls_per_action": 1.0,
        "header_calls_per_action": 1.0,
        "client_cpu_ms": 0.3,
        "backend_cpu_ms": 2.0,
    }
    values.update(figures)
    return ApiRun(**values)


def test_the_floor_paragraph_sets_each_latency_beside_its_guidance_row() -> None:
    result = ApiResult(
        runs=[
            run("guidance", 0, overhead_p50=2.5, calls_per_action=1.58),
            run("guidance", 150, overhead_p50=4.0, overhead_p99=7.0, calls_per_action=1.55),
            run("apply", 150, overhead_p50=6.5, overhead_p99=12.0),
        ],
        read_floor=[run(READ_FLOOR, 0, overhead_p50=1.5), run(READ_FLOOR, 150, overhead_p50=2.6)],
    )
    text = floor_text(result)
    assert "at 0 ms the floor is 1.5 / 4.0 ms p50 / p99 and guidance 2.5 / 4.0 ms" in text
    assert "(1.58 Zendesk calls per load): the p50s differ by 1.0 ms" in text
    assert "at 150 ms the floor is 2.6 / 4.0 ms p50 / p99 and guidance 4.0 / 7.0 ms" in text
    assert "the p50s differ by 1.4 ms" in text
    assert "**The emulator's store.**" not in text  # no control row measured
    assert worst_c1(result, "guidance") == (4.0, 7.0)
    assert worst_c1(result, "apply") == (6.5, 12.0)


def test_the_store_paragraph_reports_both_controls_and_the_bars_take_the_higher() -> None:
    result = ApiResult(
        runs=[run("guidance", 0), run("guidance", 0, concurrency=16, rps=400.0)],
        grown_store=run("guidance", 0, overhead_p50=3.3),
        grown_store_parallel=run("guidance", 0, concurrency=16, rps=150.0, backend_cpu_ms=2.6),
        pool_tickets=3576,
        healthz_p50_ms=3.5,
        healthz_p99_ms=2.0,
    )
    text = floor_text(result)
    assert "make their\n3576 pool tickets" in text
    assert "overhead p50 / p99 3.3 /" in text
    assert "concurrency 16 and 0 ms served 400.0 requests/s on the demo\nstore and 150.0" in text
    assert overhead_bars(result) == (3.5, 10.0)  # a /healthz floor above 3 ms raises that bar
