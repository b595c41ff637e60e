"""`/v1/tickets/{id}/guidance` and `/apply`: read, decide, write back what the agent saw."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from backend.api.deps import (
    AgentDep,
    DirectoryDep,
    RawGatewayDep,
    TicketRequest,
    open_ticket_request,
    process_authorizer,
)
from backend.api.problems import document_problems
from backend.api.schemas import ApplyRequest, ApplyResponse, GuidanceResponse, TicketId
from backend.audit_log import record_write_back
from backend.logs import bind_request
from backend.service import TicketGuidance, apply_decision, decision_outcome, get_guidance

router = APIRouter(tags=["tickets"])


async def authorize_ticket(
    ticket_id: TicketId,
    agent: AgentDep,
    gateway: RawGatewayDep,
    directory: DirectoryDep,
    request: Request,
) -> TicketRequest:
    """The ticket's request, once Zendesk's permissions say the agent may see it (403 otherwise).

    One dependency instead of one per piece (FastAPI's solving costs per dependency); a
    cached permission is checked on the event loop, a Zendesk read in the threadpool.
    """
    bind_request(ticket_id=ticket_id)
    state = request.app.state
    ticket = open_ticket_request(state, ticket_id, agent, gateway)
    authorizer = process_authorizer(state, state.settings, directory)
    if authorizer.check_cached(agent, ticket_id) is None:
        # The directory reads share the gateway's transport: count them in this request.
        await run_in_threadpool(
            ticket.gateway.count_during, lambda: authorizer.check(agent, ticket_id)
        )
    return ticket


AuthorizedTicket = Annotated[TicketRequest, Depends(authorize_ticket)]


def json_response(model: BaseModel) -> Response:
    """The model as JSON, validated once (a returned model is validated again by FastAPI)."""
    return Response(model.model_dump_json(), media_type="application/json")


def guidance_json(guidance: TicketGuidance) -> Response:
    """The guidance as GuidanceResponse's JSON.

    GuidanceResponse adds nothing to TicketGuidance (tests/api/test_api_response_json.py),
    so a TicketGuidance, validated when it was built, is dumped as it is; anything else
    (a subclass with more fields) goes through the response model.
    """
    if type(guidance) is TicketGuidance:
        return json_response(guidance)
    return json_response(GuidanceResponse.model_validate(guidance, from_attributes=True))


@router.get(
    "/v1/tickets/{ticket_id}/guidance",
    response_model=GuidanceResponse,
    responses=document_problems(401, 403, 404, 422, 500, 502, 503),
)
def read_guidance(ticket_id: TicketId, ticket: AuthorizedTicket) -> Response:
    """Read the ticket from Zendesk and return its decision and fingerprint."""
    # The first load's gateway: reads Zendesk, keeps the record and history for what follows.
    gateway = ticket.cache.guidance_view(ticket.zendesk)
    return guidance_json(get_guidance(gateway, ticket_id, ticket.context))


@router.post(
    "/v1/tickets/{ticket_id}/apply",
    response_model=ApplyResponse,
    responses=document_problems(401, 403, 404, 409, 413, 422, 500, 502, 503),
)
def apply_guidance(
    ticket_id: TicketId,
    body: Annotated[ApplyRequest, Body()],
    ticket: AuthorizedTicket,
) -> Response:
    """Write tags, the agent's internal note and fields in one safe update; idempotent."""
    agent = ticket.agent
    result = apply_decision(
        # The guidance's ticket read if still current (safe_update guards it) and history;
        # an eligible apply reads the ledger from Zendesk (backend/zendesk/read_cache.py).
        ticket.cache.apply_view(ticket.zendesk, body.ticket_updated_at),
        ticket_id,
        body.branch,
        body.ticket_updated_at,
        ticket.context,
        fingerprint=body.fingerprint,
        author_id=agent.user_id,
    )
    record_write_back(
        agent_id=agent.user_id,
        ticket_id=ticket_id,
        guide=result.decision.guide,
        branch=result.decision.branch,
        outcome=decision_outcome(result.decision),
        fingerprint=result.decision_fingerprint,
        applied=result.applied,
    )
    return json_response(ApplyResponse.model_validate(result, from_attributes=True))
