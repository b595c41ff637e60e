"""Guidance from the agent's open ticket form (contract C2): unsaved values, same parsers."""

# The form's values replace the ticket read: a gateway wrapper answers `get_ticket` with
# the form's record and passes every other call (the reconnection history) to Zendesk,
# so the service's own `read_decision` decides exactly as for a saved ticket.

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from backend.errors import InputError
from backend.service import (
    ServiceContext,
    TicketDecision,
    build_guidance,
    count_prior_claims,
    count_prior_reconnections,
    once_only_of,
    read_decision,
)
from backend.zendesk.gateway import JSONScalar, ReconnectionRecord, TicketRecord, ZendeskGateway

__all__ = ["FormState", "form_guidance", "form_record"]


@dataclass(frozen=True)
class FormState:
    """What the ZAF ticket form holds right now (possibly unsaved)."""

    custom_fields: Mapping[int, JSONScalar]
    tags: tuple[str, ...]
    subject: str | None
    description: str | None
    created_at: str | None = None


class _FormGateway:
    """A gateway whose ticket read is the form; every other call goes to Zendesk."""

    def __init__(self, inner: ZendeskGateway, record: TicketRecord) -> None:
        self._inner = inner
        self._record = record
        self.searched: list[TicketRecord] = []
        self.claims: list[ReconnectionRecord] = []

    def get_ticket(self, ticket_id: int) -> TicketRecord:
        """The form's record, never a Zendesk read."""
        return self._record

    def search_tickets(self, query: str) -> list[TicketRecord]:
        """Search Zendesk and keep what it found (the earlier 강콜 tickets)."""
        found = self._inner.search_tickets(query)
        self.searched.extend(found)
        return found

    def list_reconnections(self, origin_call_id: str) -> list[ReconnectionRecord]:
        """Read the ledger and keep its claims (the earlier 강콜 tickets)."""
        claims = self._inner.list_reconnections(origin_call_id)
        self.claims.extend(claims)
        return claims

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def form_record(ticket_id: int, form: FormState) -> TicketRecord:
    """The form as the TicketRecord a saved ticket would give (no `updated_at`: unsaved)."""
    return TicketRecord(
        id=ticket_id,
        subject=form.subject or "",
        description=form.description or "",
        status="",
        tags=tuple(dict.fromkeys(form.tags)),
        custom_fields=dict(form.custom_fields),
        updated_at="",
        created_at=form.created_at or "",
    )


def read_form(entries: Sequence[Mapping[str, object]]) -> dict[int, JSONScalar]:
    """`[{"id", "value"}]` as ZAF gives them → {field id: value}; a repeated id is an error."""
    values: dict[int, JSONScalar] = {}
    for entry in entries:
        field_id = cast(int, entry["id"])
        if field_id in values:
            raise InputError(
                f"custom_fields: field {field_id} appears twice", field="custom_fields"
            )
        values[field_id] = cast(JSONScalar, entry.get("value"))
    return values


def form_guidance(
    gateway: ZendeskGateway, ticket_id: int, form: FormState, ctx: ServiceContext
) -> dict[str, Any]:
    """The decision on the form's values; Zendesk is read only for the reconnection history."""
    wrapped = _FormGateway(gateway, form_record(ticket_id, form))
    found = read_decision(cast(ZendeskGateway, wrapped), ticket_id, ctx, agent_source="form")
    answer = build_guidance(found, ctx).to_json()
    return {
        **answer,
        "ticket_id": ticket_id,
        "ticket_updated_at": None,
        "prior_reconnection_tickets": _prior_ticket_ids(wrapped, found, ticket_id, ctx),
        "suggested_consult_types": _suggested_consult_types(found, ctx),
        "source": "form",
    }


def _suggested_consult_types(found: TicketDecision, ctx: ServiceContext) -> list[dict[str, Any]]:
    """For a suggested guide: the 상담유형 codes that select it, with their Zendesk values."""
    decision = found.decision
    if decision.guide is None or not decision.suggested:
        return []
    return [
        {"code": code, "value": ctx.catalog.fields.zendesk_value("consult_type", code)}
        for code in ctx.catalog.guide(decision.guide).consult_types
    ]


def _prior_ticket_ids(
    wrapped: _FormGateway, found: TicketDecision, ticket_id: int, ctx: ServiceContext
) -> list[int]:
    """The earlier claims' tickets the count was made of (each judged by the service's rule)."""
    once = once_only_of(found.decision, ctx)
    origin = None if once is None else found.ticket.values.get(once.key)
    if once is None or origin is None:
        return []
    forced = found.ticket.values.get(once.claim)
    from_ledger = {
        claim.ticket_id
        for claim in wrapped.claims
        if claim.ticket_id != ticket_id and count_prior_claims([claim], ticket_id, forced)
    }
    from_search = {
        record.id
        for record in wrapped.searched
        if record.id != ticket_id
        and count_prior_reconnections([record], ticket_id, str(origin), forced, ctx, once)
    }
    return sorted(from_ledger | from_search)
