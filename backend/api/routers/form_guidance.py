"""POST /v1/tickets/{id}/guidance: the decision on the agent's open (unsaved) form (C2)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Body, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.concurrency import run_in_threadpool

from backend.api.problems import document_problems
from backend.api.routers.tickets import (
    AuthorizedTicket,
    NoZendesk,
    ZendeskNeededError,
    answer_adapter,
    json_response,
    visible_ticket_ids,
)
from backend.form_guidance import FormState, form_guidance, read_form
from backend.logs import bind_request
from backend.service import TicketGuidance
from backend.ticket_decision import about
from backend.zendesk.gateway import ZendeskGateway

MAX_FORM_FIELDS = 500
MAX_TAGS = 500

FormScalar = str | int | float | bool | None


class FormField(BaseModel):
    """One custom field as ZAF's `ticket.customField:custom_field_<id>` gives it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: int = Field(gt=0, le=2**53, description="Zendesk ticket field id")
    value: Any = Field(default=None, description="the raw value, as the form holds it")

    @field_validator("value")
    @classmethod
    def check_scalar(cls, value: Any) -> FormScalar:
        """A form value is a string, number, boolean or null (never a list or object)."""
        if value is None or isinstance(value, str | int | float | bool):
            return value
        raise ValueError("expected a string, number, boolean or null")


class FormGuidanceRequest(BaseModel):
    """The open form: custom fields, tags, subject and description (possibly unsaved)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    custom_fields: list[FormField] = Field(default_factory=list, max_length=MAX_FORM_FIELDS)
    tags: list[Annotated[str, Field(max_length=255)]] = Field(
        default_factory=list, max_length=MAX_TAGS
    )
    # no maxLength: the body limit (413) bounds them, as for /v1/preview
    subject: str | None = None
    description: str | None = None
    created_at: str | None = Field(
        default=None,
        max_length=64,
        description="ZAF `ticket.createdAt`: the inquiry date of the parking cancellation SMS",
    )


class ConsultTypeChoice(BaseModel):
    """A 상담유형 option code and the value Zendesk's dropdown stores for it."""

    code: str
    value: str | int | float | bool | None


@dataclass(frozen=True, kw_only=True)
class FormGuidanceResponse(TicketGuidance):
    """The GET guidance answer, decided on the form's values; `source` says so."""

    ticket_updated_at: None = field(metadata=about("always null: the form is not a saved ticket"))
    prior_reconnection_tickets: list[int] = field(
        metadata=about(
            "ids of the earlier 강콜 tickets counted in prior_reconnections that the agent may"
            " see in Zendesk (others are left out; the count stays whole)"
        )
    )
    suggested_consult_types: list[ConsultTypeChoice] = field(
        metadata=about("for a suggested guide: the 상담유형 values that select it")
    )
    source: Literal["form"] = "form"


router = APIRouter(tags=["tickets"])


@router.post(
    "/v1/tickets/{ticket_id}/guidance",
    response_model=FormGuidanceResponse,
    responses=document_problems(401, 403, 413, 422, 500, 502, 503),
)
async def read_form_guidance(
    body: Annotated[FormGuidanceRequest, Body()],
    ticket: AuthorizedTicket,
    request: Request,
) -> Response:
    """Decide on the open form's values; Zendesk is read only for the reconnection history."""
    ticket_id = ticket.ticket_id
    bind_request(ticket_id=ticket_id, source="form")
    form = FormState(
        custom_fields=read_form([entry.model_dump() for entry in body.custom_fields]),
        tags=tuple(body.tags),
        subject=body.subject,
        description=body.description,
        created_at=body.created_at,
    )

    def decide_on(zendesk: ZendeskGateway) -> FormGuidanceResponse:
        # A 원콜's reconnection history reused from an earlier load of this ticket.
        gateway = ticket.cache.form_view(zendesk)
        guidance = form_guidance(gateway, ticket_id, form, ticket.context)
        return cast(
            FormGuidanceResponse, answer_adapter(FormGuidanceResponse).validate_python(guidance)
        )

    answer: FormGuidanceResponse | None = None
    if ticket.context.fetch_facts is None:
        # Most form loads read nothing (no history asked, or the cached one): decided on the
        # event loop, no threadpool hop (~0.4 ms CPU). The first Zendesk read they would
        # make ends the attempt before it starts; the load is then made in a thread.
        with contextlib.suppress(ZendeskNeededError):
            answer = decide_on(cast(ZendeskGateway, NoZendesk()))
    if answer is None:
        answer = await run_in_threadpool(decide_on, ticket.zendesk)
    if answer.prior_reconnection_tickets:
        visible = await visible_ticket_ids(request, ticket, answer.prior_reconnection_tickets)
        answer = replace(answer, prior_reconnection_tickets=visible)
    return json_response(answer)
