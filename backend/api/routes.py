"""The HTTP routes (CONTRACTS.md) and their pydantic request/response models."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

import annotated_types
from fastapi import APIRouter, Body, Depends, Path
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
)

from backend.api.auth import require_token
from backend.api.deps import (
    get_catalog,
    get_engine_options,
    get_field_map,
    get_renderer,
    get_settings,
    use_gateway,
)
from backend.api.problems import SEMANTIC_TAG, ZENDESK_TAG, document_problems
from backend.domain.decision import Decision
from backend.domain.engine import EngineOptions, decide
from backend.domain.facts import parse_input
from backend.domain.guides import GuideCatalog
from backend.domain.render import TextRenderer
from backend.logs import bind_request
from backend.service import ServiceContext, apply_decision, get_guidance
from backend.settings import Settings
from backend.zendesk.gateway import ZendeskGateway

MAX_TICKET_ID = 2**53
RFC3339_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})"
)

TicketId = Annotated[
    int, Path(gt=0, le=MAX_TICKET_ID, description="Zendesk ticket id", examples=[1001])
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


class GuidanceResponse(Decision):
    """The decision on a Zendesk ticket, with the ticket's id and `updated_at`."""

    ticket_id: int
    ticket_updated_at: str
    already_applied: bool = Field(description="this decision's write-back is already on the ticket")
    prior_reconnections: int = Field(
        description="other 강콜 recorded for this ticket's 원콜 (Zendesk search; 0 without one)"
    )


class ApplyRequest(BaseModel):
    """What the agent saw: the branch and the ticket's `updated_at` at that time."""

    # Strict: `ticket_updated_at` must be an ISO 8601 string, not a Unix timestamp.
    model_config = ConfigDict(strict=True)

    branch: str = Field(min_length=1, max_length=200, examples=["reconnect.verify_identity"])
    ticket_updated_at: str = Field(
        max_length=64,
        examples=["2024-11-20T09:00:01Z"],
        json_schema_extra={"format": "date-time"},
        description="the ticket's updated_at the guidance showed (RFC 3339)",
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


class ApplyResponse(BaseModel):
    """The write-back's outcome; `applied: false` when the same decision was already written."""

    applied: bool
    tags_added: list[str]
    note: str
    fields_set: dict[str, Any]
    ticket_id: int
    ticket_updated_at: str
    fingerprint: str
    decision: Decision


router = APIRouter()
authenticated = [Depends(require_token)]


def get_service_context(
    catalog: GuideCatalog = Depends(get_catalog),  # noqa: B008
    renderer: TextRenderer = Depends(get_renderer),  # noqa: B008
    options: EngineOptions = Depends(get_engine_options),  # noqa: B008
    field_map: dict[str, int] | None = Depends(get_field_map),  # noqa: B008
) -> ServiceContext:
    """Bundle what the service needs to decide."""
    return ServiceContext(catalog=catalog, renderer=renderer, options=options, field_map=field_map)


@router.get("/healthz", response_model=Health, tags=["ops"])
def read_health() -> Health:
    """Answer liveness (no auth, no Zendesk call)."""
    return Health()


@router.get(
    "/v1/guides",
    response_model=GuidesResponse,
    dependencies=authenticated,
    responses=document_problems(401, 500),
    tags=["guides"],
)
def list_guides(
    settings: Settings = Depends(get_settings),  # noqa: B008
    catalog: GuideCatalog = Depends(get_catalog),  # noqa: B008
    field_map: dict[str, int] | None = Depends(get_field_map),  # noqa: B008
) -> GuidesResponse:
    """List guides, branches, field/block/notice labels and the field map."""
    guides = []
    for guide in catalog.guides.values():
        article_id = settings.article_ids.get(guide.id)
        article_url = (
            f"{settings.zendesk_url}/hc/{settings.help_center_locale}/articles/{article_id}"
            if article_id is not None
            else guide.source.article_url
        )
        guides.append(
            GuideInfo(
                id=guide.id,
                title=guide.title,
                article_url=article_url,
                branches=[
                    BranchInfo(
                        id=branch, label=LabelOut(**guide.branches[branch].label.model_dump())
                    )
                    for branch in guide.branch_ids()
                ],
                fields=list(guide.fields),
            )
        )
    fields = {
        field.key: FieldInfo(
            type=field.type,
            label=LabelOut(ko=field.label_ko, en=field.label_en),
            options={code: LabelOut(ko=lab.ko, en=lab.en) for code, lab in field.options.items()},
            zendesk=field.zendesk,
        )
        for field in catalog.fields.fields()
    }
    labels = {
        kind: {
            ident: LabelOut(ko=label.ko, en=label.en)
            for ident, label in catalog.labels.get(kind, {}).items()
        }
        for kind in ("blocks", "notices")
    }
    return GuidesResponse(
        guides=guides,
        fields=fields,
        blocks=labels["blocks"],
        notices=labels["notices"],
        field_map=field_map or {},
    )


@router.post(
    "/v1/preview",
    response_model=Decision,
    dependencies=authenticated,
    responses=document_problems(401, 413, 422, 500),
    tags=["decisions"],
)
def preview_decision(
    body: Annotated[PreviewRequest, Body()],
    ctx: ServiceContext = Depends(get_service_context),  # noqa: B008
) -> Decision:
    """Decide on an `explain`-shaped body without calling Zendesk."""
    # Only the keys the caller sent: parse_input reads them with its own messages.
    data = body.model_dump(exclude_unset=True)
    ticket = parse_input(data, ctx.catalog.fields, ctx.field_map)
    decision = decide(ticket, ctx.catalog, ctx.renderer, ctx.options)
    bind_request(guide=decision.guide, branch=decision.branch)
    return decision


@router.get(
    "/v1/tickets/{ticket_id}/guidance",
    response_model=GuidanceResponse,
    dependencies=authenticated,
    responses=document_problems(401, 404, 422, 500, 502, 503),
    tags=["tickets"],
)
def read_guidance(
    ticket_id: TicketId,
    gateway: ZendeskGateway = Depends(use_gateway),  # noqa: B008
    ctx: ServiceContext = Depends(get_service_context),  # noqa: B008
) -> GuidanceResponse:
    """Read the ticket from Zendesk and return its decision."""
    bind_request(ticket_id=ticket_id)
    return GuidanceResponse.model_validate(get_guidance(gateway, ticket_id, ctx))


@router.post(
    "/v1/tickets/{ticket_id}/apply",
    response_model=ApplyResponse,
    dependencies=authenticated,
    responses=document_problems(401, 404, 409, 413, 422, 500, 502, 503),
    tags=["tickets"],
)
def apply_guidance(
    ticket_id: TicketId,
    body: Annotated[ApplyRequest, Body()],
    gateway: ZendeskGateway = Depends(use_gateway),  # noqa: B008
    ctx: ServiceContext = Depends(get_service_context),  # noqa: B008
) -> ApplyResponse:
    """Write tags, the internal note and fields in one safe update; idempotent."""
    bind_request(ticket_id=ticket_id)
    result = apply_decision(gateway, ticket_id, body.branch, body.ticket_updated_at, ctx)
    return ApplyResponse.model_validate(result)
