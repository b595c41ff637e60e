"""`/v1/tickets/{id}/guidance` and `/apply`: read, decide, write back what the agent saw."""

from __future__ import annotations

import functools
from typing import Annotated, Any, NoReturn, cast

from fastapi import APIRouter, Body, Depends, Request, Response
from pydantic import BaseModel, TypeAdapter
from starlette.concurrency import run_in_threadpool

from backend.api.deps import (
    SessionAgentDep,
    TicketRequest,
    gateway_and_directory,
    open_ticket_request,
    process_authorizer,
)
from backend.api.problems import document_problems
from backend.api.schemas import ApplyRequest, ApplyResponse, GuidanceResponse, TicketId
from backend.audit_log import (
    record_write_back,
    record_write_back_failed,
    record_write_back_refused,
    record_write_back_requested,
)
from backend.authz import Agent, TicketAuthorizer
from backend.domain.decision import Decision
from backend.errors import ForbiddenError, GuidepostError
from backend.logs import bind_request
from backend.service import LoadMemo, apply_decision, decision_outcome, get_guidance
from backend.zendesk.gateway import NowaitList, ZendeskGateway
from backend.zendesk.read_cache import HistoryKey, HistoryRead, Prefetched

router = APIRouter(tags=["tickets"])


# The Zendesk reads a loop-side load may make on the event loop itself (their `_nowait`
# twins: one attempt per page), then run again; and how many runs a load may take.
LOOP_READS = frozenset({"list_reconnections", "search_tickets"})
MAX_LOOP_RUNS = 4


class ZendeskNeededError(BaseException):
    """A loop-side load reached a Zendesk call it does not hold the answer of."""

    # A BaseException: no `except Exception` on the way may take it for a Zendesk error.

    def __init__(self, name: str, key: HistoryKey | None = None) -> None:
        super().__init__(name)
        self.name = name
        # Set for a read with a loop twin: what to read, then run the load again.
        self.key = key


class NoZendesk:
    """The gateway of a loop-side load: any use of it means Zendesk must be read."""

    def __getattr__(self, name: str) -> Any:
        if name not in LOOP_READS:
            raise ZendeskNeededError(name)

        def needed(*args: Any, **kwargs: Any) -> NoReturn:
            plain = len(args) == 1 and not kwargs and isinstance(args[0], str)
            raise ZendeskNeededError(name, (name, args[0]) if plain else None)

        return needed


async def authorize_ticket(
    ticket_id: TicketId, agent: SessionAgentDep, request: Request
) -> TicketRequest:
    """The ticket's request, once Zendesk's permissions say the agent may see it (403 otherwise).

    Two dependencies instead of one per piece (FastAPI's solving costs per dependency):
    the session's scheme, and this one resolving the gateway and directory (overrides
    honoured); a cached permission is checked on the event loop, a Zendesk read in the
    threadpool. The path's ticket id is declared here, not on the routes: FastAPI validates
    it once, and an invalid one is the route's 422 without this being called (nothing read).
    """
    return await _authorized(ticket_id, agent, request, edit=False)


async def authorize_ticket_edit(
    ticket_id: TicketId, agent: SessionAgentDep, request: Request
) -> TicketRequest:
    """`authorize_ticket` for a write: Zendesk must also let the agent edit tickets.

    A light agent, or a custom role with `configuration.ticket_editing` false or unread,
    gets the 403 here, before the route runs: nothing claimed or written. The refusal of a
    write is on the audit trail too (who tried to write where, and why not).
    """
    try:
        return await _authorized(ticket_id, agent, request, edit=True)
    except ForbiddenError as refusal:
        record_write_back_refused(agent_id=agent.user_id, ticket_id=ticket_id, error=refusal)
        raise


async def _authorized(
    ticket_id: int, agent: Agent, request: Request, *, edit: bool
) -> TicketRequest:
    gateway, directory = await gateway_and_directory(request)
    bind_request(ticket_id=ticket_id)
    state = request.app.state
    ticket = open_ticket_request(state, ticket_id, agent, gateway)
    await _permit(process_authorizer(state, state.settings, directory), ticket, ticket_id, edit)
    return ticket


async def _permit(
    authorizer: TicketAuthorizer, ticket: TicketRequest, ticket_id: int, edit: bool = False
) -> None:
    """Check `ticket_id` for the agent: from cached answers on the loop, else in a thread."""
    if authorizer.check_cached(ticket.agent, ticket_id, edit=edit) is None:
        # The directory reads share the gateway's transport: count them in this request.
        check = functools.partial(authorizer.check, ticket.agent, ticket_id, edit=edit)
        await run_in_threadpool(ticket.gateway.count_during, check)


async def visible_ticket_ids(
    request: Request, ticket: TicketRequest, ticket_ids: list[int]
) -> list[int]:
    """The ids among `ticket_ids` Zendesk lets the agent see; the others are left out.

    Other tickets' ids (e.g. the earlier 강콜 of a 원콜, found with the admin token) are
    shown only where the agent may open them; a refusal or a failed read leaves an id out
    (fails closed). An agent who sees all tickets costs nothing; a restricted one, one cached
    placement read per ticket.
    """
    _, directory = await gateway_and_directory(request)
    state = request.app.state
    authorizer = process_authorizer(state, state.settings, directory)
    visible: list[int] = []
    for other in ticket_ids:
        try:
            await _permit(authorizer, ticket, other)
        except GuidepostError:
            continue
        visible.append(other)
    return visible


AuthorizedTicket = Annotated[TicketRequest, Depends(authorize_ticket)]
# The apply route's: seeing the ticket is not enough to have Guidepost write to it.
EditableTicket = Annotated[TicketRequest, Depends(authorize_ticket_edit)]


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def answer_adapter(kind: type[Any]) -> TypeAdapter[Any]:
    """pydantic's validator and serializer of a dataclass answer (e.g. TicketGuidance)."""
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    return adapter


def json_response(model: BaseModel | Decision) -> Response:
    """The answer as JSON, serialized once (a returned model is validated again by FastAPI).

    A dataclass answer (TicketGuidance) is built from typed values: dumped, not re-validated.
    """
    if isinstance(model, BaseModel):
        return Response(model.model_dump_json(), media_type="application/json")
    return Response(answer_adapter(type(model)).dump_json(model), media_type="application/json")


@router.get(
    "/v1/tickets/{ticket_id}/guidance",
    response_model=GuidanceResponse,
    responses=document_problems(401, 403, 404, 422, 500, 502, 503),
)
async def read_guidance(ticket: AuthorizedTicket) -> Response:
    """Read the ticket from Zendesk and return its decision and fingerprint."""
    ticket_id = ticket.ticket_id
    cache = ticket.cache
    read_at = cache.records.now()
    # The ticket read on the event loop when the gateway can (one attempt; a 404 raises
    # here as it would in a thread); None: read in the threadpool with its retry rules.
    read = await ticket.gateway.get_ticket_nowait(ticket_id)
    record = None if read is None else read.record
    prefetched = None if record is None else Prefetched(ticket_id, record, read_at)
    # The 원콜 history read on the loop for this load, each stamped when its read began.
    history: dict[HistoryKey, HistoryRead] = {}
    failed: NowaitList[Any] | None = None
    memo = LoadMemo()  # each run's parse and guide choice of the prefetched record: once

    def guidance_from(zendesk: ZendeskGateway) -> Response:
        # The first load's gateway: reads Zendesk, keeps the record and history for what follows.
        gateway = cache.guidance_view(zendesk, prefetched, history)
        return json_response(get_guidance(gateway, ticket_id, ticket.context, memo))

    def guidance_in_thread() -> Response:
        if read is not None and record is None:
            # The loop attempt met a 429 or a failure: waited out as before a retry.
            ticket.gateway.after_nowait(read)
        elif failed is not None:
            ticket.gateway.after_nowait(failed)  # the same for a history read
        return guidance_from(ticket.zendesk)

    if prefetched is not None and ticket.context.fetch_facts is None:
        # A load is decided on the event loop: no threadpool hop (~0.25–0.5 ms CPU, two
        # thread wake-ups). It runs on what was read; a 원콜's ledger list or search it
        # reaches is read on the loop too (one attempt per page) and the load run again.
        # Any other Zendesk read, or a failed loop read, ends the attempt: the load is
        # then made in a thread, with what the loop read already.
        for _ in range(MAX_LOOP_RUNS):
            try:
                return guidance_from(cast(ZendeskGateway, NoZendesk()))
            except ZendeskNeededError as needed:
                key = needed.key
            if key is None or key in history:
                break
            name, argument = key
            began = (cache.ledger if name == "list_reconnections" else cache.search).now()
            listed = await ticket.gateway.list_nowait(name, argument)
            if listed is None or listed.items is None:
                failed = listed
                break
            history[key] = HistoryRead(listed.items, began)
    return await run_in_threadpool(guidance_in_thread)


@router.post(
    "/v1/tickets/{ticket_id}/apply",
    response_model=ApplyResponse,
    responses=document_problems(401, 403, 404, 409, 413, 422, 500, 502, 503),
)
def apply_guidance(
    body: Annotated[ApplyRequest, Body()],
    ticket: EditableTicket,
) -> Response:
    """Write tags, the agent's internal note and fields in one safe update; idempotent."""
    ticket_id = ticket.ticket_id
    agent = ticket.agent
    record_write_back_requested(
        agent_id=agent.user_id,
        ticket_id=ticket_id,
        branch=body.branch,
        fingerprint=body.fingerprint,
    )
    try:
        result = apply_decision(
            # The guidance's ticket read if still current (safe_update guards it) and
            # history; an eligible apply reads the ledger (backend/zendesk/read_cache.py).
            ticket.cache.apply_view(ticket.zendesk, body.ticket_updated_at),
            ticket_id,
            body.branch,
            body.ticket_updated_at,
            ticket.context,
            fingerprint=body.fingerprint,
            author_id=agent.user_id,
        )
    except Exception as exc:
        # Answered by the problem handlers; the trail says the apply did not complete.
        record_write_back_failed(
            agent_id=agent.user_id, ticket_id=ticket_id, branch=body.branch, error=exc
        )
        raise
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
