"""`POST /v1/preview`: a decision for an `explain`-shaped body, no Zendesk call."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends

from backend.api.deps import ServiceContextDep, require_agent
from backend.api.problems import document_problems
from backend.api.schemas import PreviewRequest
from backend.domain.decision import Decision
from backend.domain.facts import parse_input
from backend.logs import bind_request
from backend.service import decide_ticket

router = APIRouter(tags=["decisions"], dependencies=[Depends(require_agent)])


@router.post(
    "/v1/preview", response_model=Decision, responses=document_problems(401, 413, 422, 500)
)
def preview_decision(body: Annotated[PreviewRequest, Body()], ctx: ServiceContextDep) -> Decision:
    """Decide on an `explain`-shaped body without calling Zendesk."""
    # Only the keys the caller sent: parse_input reads them with its own messages.
    data = body.model_dump(exclude_unset=True)
    ticket = parse_input(data, ctx.catalog.fields, ctx.field_map)
    decision = decide_ticket(ticket, ctx)
    bind_request(guide=decision.guide, branch=decision.branch)
    return decision
