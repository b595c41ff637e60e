"""Shared by the domain tests: the repo's guides, loaded once, and what a row decides."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from backend.domain.decision import Decision
from backend.domain.guides import GuideCatalog, load_catalog
from backend.domain.render import TextRenderer

ROOT = Path(__file__).resolve().parents[2]


@cache
def load_repo_catalog() -> GuideCatalog:
    """The repo's guides (macros/), loaded once per test session."""
    return load_catalog(ROOT / "macros")


@cache
def load_repo_renderer() -> TextRenderer:
    """The text renderer over the repo's templates, built once per test session."""
    return TextRenderer(load_repo_catalog())


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
