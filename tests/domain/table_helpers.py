"""What a decision-table test compares: the five things a row decides."""

from __future__ import annotations

from typing import Any

from backend.domain.decision import Decision


def read_outcome(decision: Decision, guide: str) -> dict[str, Any]:
    """The branch, eligibility, blocks, missing and notices of a non-suggested decision."""
    assert decision.guide == guide
    assert decision.suggested is False
    return {
        "branch": decision.branch,
        "eligible": decision.eligible,
        "blocks": decision.blocks,
        "missing": decision.missing,
        "notices": decision.notices,
    }


def build_expected(
    branch: str,
    *,
    eligible: bool = False,
    blocks: list[str] | None = None,
    missing: list[str] | None = None,
    notices: list[str] | None = None,
    eligible_notices: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The outcome the spec gives; `eligible_notices` are shown on every eligible decision."""
    if notices is None:
        notices = list(eligible_notices) if eligible else []
    return {
        "branch": branch,
        "eligible": eligible,
        "blocks": blocks or [],
        "missing": missing or [],
        "notices": notices,
    }
