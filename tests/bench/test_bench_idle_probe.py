"""Section 1's idle probe: the same decide() warm, first after an idle wait, and again."""

from __future__ import annotations

import math

from tooling.bench.engine import IdleProbe, _idle_text, load_demo_tickets, probe_idle, run_engine


def test_the_probe_times_each_way_once_per_round() -> None:
    tickets, catalog, renderer, options = load_demo_tickets()
    probes = probe_idle(tickets[:3], catalog, renderer, options, rounds=4, idle_seconds=0.001)
    assert list(probes) == ["back to back", "first after the idle wait", "again at once"]
    for probe in probes.values():
        assert probe.samples == 4
        assert probe.wall_p50_us > 0
        assert not math.isnan(probe.cpu_p50_us)


def test_the_report_states_the_measured_ratio_and_is_silent_without_a_probe() -> None:
    result = run_engine(seconds=0.01, latency_rounds=1)
    assert _idle_text(result) == ""
    result.idle = {
        "back to back": IdleProbe(10, 200.0, 190.0),
        "first after the idle wait": IdleProbe(10, 600.0, 570.0),
        "again at once": IdleProbe(10, 220.0, 210.0),
    }
    text = _idle_text(result)
    assert "| first after the idle wait | 10 | 0.60 | 0.57 |" in text
    assert "takes 3.0×\nthe wall time of a warm one and 3.0× its CPU" in text
