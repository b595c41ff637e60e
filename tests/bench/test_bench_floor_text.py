"""Section 2's floor and store paragraphs: built from the rows they name, nothing else."""

from __future__ import annotations

import math
from typing import Any

from tooling.bench.api import READ_FLOOR, ApiResult, ApiRun, summarize
from tooling.bench.api_report import floor_text, overhead_bars, worst_c1
from tooling.bench.load import LoadRun, Sample


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


def sample(overhead: float, app: float, calls: int, status: int = 200) -> Sample:
    """An answered request: `overhead` ms besides 150 ms of Zendesk, `app` ms of app time."""
    return Sample(
        total_ms=150.0 + overhead,
        app_ms=150.5 + app,
        gateway_ms=150.5,
        zendesk_ms=150.0,
        calls=calls,
        status=status,
    )


def test_summarize_reports_the_one_call_requests_apart() -> None:
    """Share, overhead p50 and app p50 of the requests that made one call; errors left out."""
    samples = [
        sample(3.0, 1.0, 1),
        sample(4.0, 2.0, 1),
        sample(5.0, 3.0, 1),
        sample(9.0, 6.0, 3),
        sample(1.0, 0.1, 1, status=502),
    ]
    row = summarize(
        LoadRun(samples=samples, wall_seconds=1.0, client_cpu_seconds=0.01),
        action="guidance",
        latency_ms=150,
        concurrency=1,
        emulator_calls=6,
    )
    assert row.one_call_share == 0.75
    assert row.one_call_overhead_p50 == 4.0
    assert row.one_call_app_p50 == 2.0
    assert row.overhead_p50 == 4.5  # all answered requests, the 3-call one included


def test_the_one_call_sentence_names_the_loads_that_set_the_p50() -> None:
    """Shown where most loads made one call; its figures are the rows' own."""
    floor150 = run(READ_FLOOR, 150, overhead_p50=2.6, one_call_share=1.0, one_call_app_p50=0.62)
    result = ApiResult(
        runs=[
            run("guidance", 0, one_call_share=0.4, one_call_app_p50=1.2),
            run(
                "guidance",
                150,
                overhead_p50=4.0,
                one_call_share=0.725,
                one_call_overhead_p50=3.9,
                one_call_app_p50=1.94,
            ),
        ],
        read_floor=[run(READ_FLOOR, 0, one_call_app_p50=0.35), floor150],
    )
    text = floor_text(result)
    assert "at 150 ms 72 % of the guidance loads made one Zendesk call" in text
    assert "their overhead p50 is 3.9 ms" in text
    assert "1.94 ms p50 against the floor's 0.62 ms" in text
    assert "at 0 ms 40 %" not in text  # under half: the p50 is not theirs to set
    result.runs[1].one_call_share = math.nan
    assert "made one Zendesk call" not in floor_text(result)
