"""`/v1/tickets/{id}/guidance` and `/apply`: read, decide, write back what the agent saw."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends

from backend.api.deps import (
    AgentDep,
    AuthorizerDep,
    CountedGateway,
    GatewayDep,
    GuidanceGatewayDep,
    ReadCacheDep,
    ServiceContextDep,
)
from backend.api.problems import document_problems
from backend.api.schemas import ApplyRequest, ApplyResponse, GuidanceResponse, TicketId
from backend.audit_log import record_write_back
from backend.authz import Agent
from backend.logs import bind_request
from backend.service import apply_decision, decision_outcome, get_guidance

router = APIRouter(tags=["tickets"])


def authorize_ticket(
    ticket_id: TicketId, agent: AgentDep, authorizer: AuthorizerDep, gateway: GatewayDep
) -> Agent:
    """The agent, once Zendesk's permissions say they may see this ticket (403 otherwise)."""
    bind_request(ticket_id=ticket_id)
    if isinstance(gateway, CountedGateway):
        # The directory reads share the gateway's transport: count them in this request.
        gateway.count_during(lambda: authorizer.check(agent, ticket_id))
    else:
        authorizer.check(agent, ticket_id)
    return agent


AuthorizedAgent = Annotated[Agent, Depends(authorize_ticket)]


@router.get(
    "/v1/tickets/{ticket_id}/guidance",
    response_model=GuidanceResponse,
    responses=document_problems(401, 403, 404, 422, 500, 502, 503),
)
def read_guidance(
    ticket_id: TicketId,
    agent: AuthorizedAgent,
    gateway: GuidanceGatewayDep,
    ctx: ServiceContextDep,
) -> GuidanceResponse:
    """Read the ticket from Zendesk and return its decision and fingerprint."""
    guidance = get_guidance(gateway, ticket_id, ctx)
    return GuidanceResponse.model_validate(guidance, from_attributes=True)


@router.post(
    "/v1/tickets/{ticket_id}/apply",
    response_model=ApplyResponse,
    responses=document_problems(401, 403, 404, 409, 413, 422, 500, 502, 503),
)
def apply_guidance(
    ticket_id: TicketId,
    body: Annotated[ApplyRequest, Body()],
    agent: AuthorizedAgent,
    gateway: GatewayDep,
    ctx: ServiceContextDep,
    cache: ReadCacheDep,
) -> ApplyResponse:
    """Write tags, the agent's internal note and fields in one safe update; idempotent."""
    result = apply_decision(
        # The guidance's ticket read if still current (safe_update guards it) and history;
        # an eligible apply's claim lists the ledger fresh (backend/zendesk/read_cache.py).
        cache.apply_view(gateway, body.ticket_updated_at),
        ticket_id,
        body.branch,
        body.ticket_updated_at,
        ctx,
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
    return ApplyResponse.model_validate(result, from_attributes=True)
