"""The refactor proof: every recorded input decides byte-for-byte as in the baseline.

tests/domain/data/decisions_baseline.jsonl was written by `python -m tooling.decision_snapshot
--write` on the code before guide-specific ids and features moved into the guides' YAML
(demo tickets + fixed-seed generated + mutated tickets). This test never rewrites it; a
ruling that changes decisions on purpose re-decides the recorded inputs (`--redecide`), so
the inputs stay those of the first baseline and every change shows in the diff.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from tooling.decision_snapshot import diff_snapshot, read_snapshot

BASELINE = Path(__file__).parent / "data" / "decisions_baseline.jsonl"
MACROS = Path(__file__).resolve().parents[2] / "macros"


def test_baseline_covers_demo_and_generated_tickets() -> None:
    names = Counter(name.split(":")[0] for name, _data, _line in read_snapshot(BASELINE))
    assert names["demo"] >= 30
    assert names["gen"] + names["mut"] >= 500
    branches = {json.loads(line)["decision"]["branch"] for _n, _d, line in read_snapshot(BASELINE)}
    assert len(branches) == 11 + 12 + 1  # both guides' branches and "none"


def test_every_decision_is_unchanged() -> None:
    report = diff_snapshot(BASELINE, MACROS)
    assert not report, "decisions moved:\n" + "\n".join(report)
