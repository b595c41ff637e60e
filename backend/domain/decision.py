"""The decision: what the engine says about one ticket (the `explain` JSON)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

CheckState = Literal["ok", "blocked", "unknown"]


class RenderedText(BaseModel):
    """One rendered text, ready to insert."""

    model_config = ConfigDict(frozen=True)

    key: str
    kind: Literal["reply", "outbound", "sms", "note"]
    title: str
    body: str
    from_seed: bool = True


class Check(BaseModel):
    """One line of the eligibility checklist."""

    model_config = ConfigDict(frozen=True)

    id: str
    state: CheckState
    facts: list[str] = []


class Decision(BaseModel):
    """The engine's answer for one ticket (CONTRACTS.md `explain` output, plus additive keys)."""

    model_config = ConfigDict(frozen=True)

    guide: str | None
    suggested: bool = False
    branch: str = "none"
    eligible: bool = False
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
