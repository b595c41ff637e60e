"""Committed reports are exactly what their generators write; test and quick runs never touch them.

Drift, for docs/RELIABILITY.md: the document differs from what tooling/reliability_report.py
renders for the committed figures (docs/reliability.json) — a hand edit, or a generator
change (item, method, label) not published — or an item, or a figure a fresh run records,
is missing from the committed figures. The figures' values are run-dependent and are not
compared with a new run.
"""

from __future__ import annotations

import pytest

from backend.settings import REPO_ROOT
from tooling.bench.__main__ import DOCS_DIR, QUICK_DIR
from tooling.bench.__main__ import main as bench_main
from tooling.reliability_report import (
    FIGURES_PATH,
    ITEMS,
    PUBLISHED_FIGURES,
    PUBLISHED_REPORT,
    REPORT_PATH,
    read_figures,
    render_report,
)


def test_the_committed_reliability_report_is_what_the_generator_writes() -> None:
    committed = read_figures(PUBLISHED_FIGURES)
    assert PUBLISHED_REPORT.read_text(encoding="utf-8") == render_report(committed)


def test_every_reliability_item_and_figure_is_published() -> None:
    committed = read_figures(PUBLISHED_FIGURES)
    assert sorted(item.key for item in ITEMS if item.key not in committed) == []
    fresh = read_figures(FIGURES_PATH)  # a previous run of this checkout, when there is one
    for key, entry in fresh.items():
        if key in committed:
            assert set(entry["figures"]) == set(committed[key]["figures"]), key


def test_a_test_run_writes_its_report_outside_the_tracked_docs() -> None:
    assert REPORT_PATH.relative_to(REPO_ROOT).parts[0] == "test-artifacts"
    assert FIGURES_PATH.relative_to(REPO_ROOT).parts[0] == "test-artifacts"


def test_a_quick_bench_never_writes_the_committed_report(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert QUICK_DIR.relative_to(REPO_ROOT).parts[0] == "test-artifacts"
    with pytest.raises(SystemExit) as stopped:
        bench_main(["--quick", "--out", str(DOCS_DIR), "--only", "engine"])
    assert stopped.value.code == 2
    assert "--quick/--only never write to" in capsys.readouterr().err


def test_a_partial_bench_never_writes_the_committed_report(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as stopped:
        bench_main(["--only", "cli", "--out", str(DOCS_DIR)])
    assert stopped.value.code == 2
    assert "never write to" in capsys.readouterr().err
