"""Request and response schemas of the HTTP API (CONTRACTS.md shapes, additive only)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

import annotated_types
from fastapi import Path
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
)

from backend.api.problems import SEMANTIC_TAG, ZENDESK_TAG
from backend.service import ApplyResult, TicketGuidance

MAX_TICKET_ID = 2**53
RFC3339_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})"
)

TICKET_ID_RE = re.compile(r"[1-9][0-9]{0,15}")


def parse_ticket_id(value: Any) -> Any:
    """Digits only: no sign, spaces, leading zeros or decimals ("0015", " 15", "15.0")."""
    if isinstance(value, str) and TICKET_ID_RE.fullmatch(value) is None:
        raise ValueError("a ticket id is digits only, without leading zeros")
    return value


TicketId = Annotated[
    int,
    BeforeValidator(parse_ticket_id),
    Path(gt=0, le=MAX_TICKET_ID, description="Zendesk ticket id", examples=[1001]),
]


class Health(BaseModel):
    """Liveness answer."""

    status: Literal["ok"] = "ok"


class LabelOut(BaseModel):
    """A Korean/English label pair."""

    ko: str
    en: str


class BranchInfo(BaseModel):
    """One branch a guide's table can choose."""

    id: str
    label: LabelOut


class GuideInfo(BaseModel):
    """One guide: its source article, its branches and the fields it reads."""

    id: str
    title: str
    article_url: str | None
    branches: list[BranchInfo]
    fields: list[str]


class FieldInfo(BaseModel):
    """One semantic field: type, label and (for dropdowns) option labels."""

    type: str
    label: LabelOut
    options: dict[str, LabelOut]
    zendesk: bool = Field(description="false for facts the server computes (never a ticket field)")


class GuidesResponse(BaseModel):
    """Everything the sidebar needs to label a decision."""

    guides: list[GuideInfo]
    fields: dict[str, FieldInfo]
    blocks: dict[str, LabelOut]
    notices: dict[str, LabelOut]
    field_map: dict[str, int]


def accept_whole_number(value: Any) -> Any:
    """Let 3.0 through as 3 (JSON Schema integers); strings and booleans stay invalid."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


WholeNumber = Annotated[int, BeforeValidator(accept_whole_number)]
PriorCount = Annotated[
    int,
    annotated_types.Ge(0),
    annotated_types.Le(1_000_000),
    BeforeValidator(accept_whole_number),
]


class SemanticInput(BaseModel):
    """An `explain` input with semantic field keys (CONTRACTS.md)."""

    # Strict: a number is not a subject, a string is not a count (no silent coercion).
    model_config = ConfigDict(extra="forbid", strict=True)

    fields: dict[str, Any] | None = Field(default=None, description="field key → value")
    subject: str | None = None
    description: str | None = None
    prior_reconnections: PriorCount | None = None


class CustomFieldValue(BaseModel):
    """One `{id, value}` entry of a Zendesk ticket's custom_fields."""

    model_config = ConfigDict(extra="allow", strict=True)

    id: WholeNumber
    value: Any = None


class ZendeskTicketIn(BaseModel):
    """A Zendesk ticket as the API returns it (only these keys are read)."""

    model_config = ConfigDict(extra="allow", strict=True)

    subject: str | None = None
    description: str | None = None
    custom_fields: list[CustomFieldValue] | None = None


class ZendeskInput(BaseModel):
    """An `explain` input carrying a Zendesk ticket, read through the field map."""

    model_config = ConfigDict(extra="forbid", strict=True)

    ticket: ZendeskTicketIn
    prior_reconnections: PriorCount | None = None


def pick_input_kind(value: Any) -> str:
    """Route a preview body to its model: a `ticket` key means a Zendesk ticket."""
    if isinstance(value, dict) and "ticket" in value:
        return ZENDESK_TAG
    return SEMANTIC_TAG


PreviewRequest = Annotated[
    Annotated[SemanticInput, Tag(SEMANTIC_TAG)] | Annotated[ZendeskInput, Tag(ZENDESK_TAG)],
    Discriminator(pick_input_kind),
]


class ApplyRequest(BaseModel):
    """What the agent saw: the branch, the decision's fingerprint, the ticket's `updated_at`."""

    # Strict: `ticket_updated_at` must be an ISO 8601 string, not a Unix timestamp.
    model_config = ConfigDict(strict=True)

    branch: str = Field(min_length=1, max_length=200, examples=["reconnect.verify_identity"])
    ticket_updated_at: str = Field(
        max_length=64,
        examples=["2024-11-20T09:00:01Z"],
        json_schema_extra={"format": "date-time"},
        description="the ticket's updated_at the guidance showed (RFC 3339)",
    )
    fingerprint: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[0-9a-f]+$",
        description="the guidance's `fingerprint`: apply answers 409 decision-changed if it moved",
    )

    @field_validator("ticket_updated_at")
    @classmethod
    def check_timestamp(cls, value: str) -> str:
        """Accept RFC 3339 date-times with an offset, as Zendesk writes them."""
        if RFC3339_RE.fullmatch(value) is None:
            raise ValueError("expected an RFC 3339 date-time such as 2024-11-20T09:00:01Z")
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("not a valid date-time") from None
        return value


@dataclass(frozen=True, kw_only=True)
class GuidanceResponse(TicketGuidance):
    """The decision on a Zendesk ticket, with the ticket's id, `updated_at` and fingerprint."""


class ApplyResponse(ApplyResult):
    """The write-back's outcome; `applied: false` when the same decision was already written."""


class SessionRequest(BaseModel):
    """Zendesk's signed app token (ZAF JWT), as Zendesk posts it to the app's signed URL."""

    model_config = ConfigDict(extra="forbid", strict=True)

    token: str = Field(min_length=1, max_length=8192)


class SessionResponse(BaseModel):
    """A Guidepost session: send `session_token` as `Authorization: Bearer …`."""

    session_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the scheme name, not a secret
    expires_at: int = Field(description="Unix time after which the token is refused")
    expires_in: int
    user_id: int
