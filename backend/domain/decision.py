"""The decision: what the engine says about one ticket (the `explain` JSON)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, computed_field

CheckState = Literal["ok", "blocked", "unknown"]
Outcome = Literal["eligible", "blocked", "pending"]
PlaceholderKind = Literal["fact", "setting", "agent"]
OUTCOMES: tuple[Outcome, ...] = ("eligible", "blocked", "pending")


class TextPlaceholder(BaseModel):
    """One unfilled slot of a text body: character offsets, what fills it, its name."""

    model_config = ConfigDict(frozen=True)

    start: int
    end: int
    kind: PlaceholderKind
    name: str


class RenderedText(BaseModel):
    """One rendered text, ready to insert (contract C1)."""

    model_config = ConfigDict(frozen=True)

    key: str
    kind: Literal["reply", "outbound", "sms", "note"]
    title: str
    body: str
    from_seed: bool = True
    placeholders: list[TextPlaceholder] = []
    asks: list[str] = []

    @computed_field  # type: ignore[prop-decorator]
    @property
    def from_article(self) -> bool:
        """True when the words are the Help Center article's (C1 name of `from_seed`)."""
        return self.from_seed


class Check(BaseModel):
    """One line of the eligibility checklist."""

    model_config = ConfigDict(frozen=True)

    id: str
    state: CheckState
    facts: list[str] = []


def read_outcome(eligible: bool, blocks: list[str]) -> Outcome:
    """Eligible, blocked (a known fact forbids the action) or pending (facts missing)."""
    if blocks:
        return "blocked"
    return "eligible" if eligible else "pending"


class Decision(BaseModel):
    """The engine's answer for one ticket (CONTRACTS.md `explain` output, plus additive keys)."""

    model_config = ConfigDict(frozen=True)

    guide: str | None
    suggested: bool = False
    branch: str = "none"
    branch_label: str = ""
    eligible: bool = False
    outcome: Outcome = "pending"
    blocks: list[str] = []
    missing: list[str] = []
    notices: list[str] = []
    tags: list[str] = []
    note: str = ""
    texts: list[RenderedText] = []
    checks: list[Check] = []
    fields_set: dict[str, Any] = {}
    facts: dict[str, Any] = {}

    def to_json(self) -> dict[str, Any]:
        """The JSON object `explain` prints."""
        return self.model_dump(mode="json")
