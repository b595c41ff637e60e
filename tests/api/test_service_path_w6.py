"""The service decides once per read (issue 16, wave 6) and answers as the plain path did.

The plain path (wave 5) decided the whole ticket first, read the history its guide asks
for, then decided again on the final facts; `read_decision` now chooses the guide alone
first. Both are run here on every demo ticket, with and without fetched facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from backend.connectors.result import ConnectorFacts, FactSource
from backend.demo import DEMO_CASES, seed_demo
from backend.domain.engine import EngineOptions
from backend.domain.fields import FieldCatalog
from backend.domain.guides import GuideCatalog, load_catalog
from backend.domain.render import TextRenderer
from backend.fetched_facts import annotate_decision, merge_fetched, start_fetch
from backend.reconnections import (
    claim_of,
    find_origin_to_search,
    find_reconnection_history,
    once_only_of,
)
from backend.service import ServiceContext, TicketDecision, read_decision
from backend.settings import REPO_ROOT
from backend.ticket_decision import compute_settled_fingerprint, decide_ticket, parse_record
from backend.zendesk.fake_gateway import FakeGateway
from backend.zendesk.gateway import ZendeskGateway

CATALOG: GuideCatalog = load_catalog(REPO_ROOT / "macros")
RENDERER = TextRenderer(CATALOG)


def plain_read(gateway: ZendeskGateway, ticket_id: int, ctx: ServiceContext) -> TicketDecision:
    """Wave 5's read_decision: a whole decision first, another on the final facts."""
    record = gateway.get_ticket(ticket_id)
    ticket = parse_record(record, ctx)
    pending = start_fetch(ctx.fetch_facts, ticket.values)
    decision = decide_ticket(ticket, ctx)

    def history_for(chosen: object) -> object:
        origin = find_origin_to_search(chosen, ticket, ctx)  # type: ignore[arg-type]
        if origin is None:
            return None
        forced = claim_of(chosen, ticket, ctx)  # type: ignore[arg-type]
        once = once_only_of(chosen, ctx)  # type: ignore[arg-type]
        return find_reconnection_history(gateway, ticket_id, origin, forced, ctx, once)

    history = history_for(decision)
    merged = None
    if pending is not None:
        merged = merge_fetched(ticket.values, pending.result(), "ticket")
        ticket = replace(ticket, values=merged.values)
        if history is None:
            history = history_for(decide_ticket(ticket, ctx))
    prior = getattr(history, "prior", 0)
    if prior:
        ticket = replace(ticket, prior_reconnections=prior)
    if merged is not None or prior:
        decision = decide_ticket(ticket, ctx)
    if merged is not None:
        decision = annotate_decision(decision, merged, ctx.catalog.fields, ctx.field_map)
    return TicketDecision(
        record=record,
        ticket=ticket,
        decision=decision,
        fingerprint=compute_settled_fingerprint(ticket, decision, ctx),
        history_source=getattr(history, "source", None),
        merged=merged,
    )


def fetch_consult_type(known: Mapping[str, object]) -> ConnectorFacts:
    """A connector that knows every ticket's 상담유형 (it may select a guide)."""
    source = FactSource(kind="connector", connector="crm", label="CRM", fetched_at=NOW)
    value = "driver_force_rerun_own_normal"
    return ConnectorFacts(values={"consult_type": value}, provenance={"consult_type": source})


NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("fetch", [None, fetch_consult_type], ids=["typed", "fetched"])
def test_every_demo_ticket_reads_as_the_plain_path(
    fetch: object, field_map: dict[str, int], catalog_fields: FieldCatalog
) -> None:
    """Same decision, settled fingerprint, facts and history, with the same Zendesk calls."""
    ctx = ServiceContext(
        catalog=CATALOG,
        renderer=RENDERER,
        options=EngineOptions(),
        field_map=field_map,
        fetch_facts=fetch,  # type: ignore[arg-type]
    )
    fast_gateway, plain_gateway = FakeGateway(), FakeGateway()
    ids = seed_demo(fast_gateway, catalog_fields, field_map)
    assert seed_demo(plain_gateway, catalog_fields, field_map) == ids
    priors = 0
    for ticket_id in ids:
        fast = read_decision(fast_gateway, ticket_id, ctx)
        plain = plain_read(plain_gateway, ticket_id, ctx)
        assert fast == plain
        assert fast_gateway.calls == plain_gateway.calls
        priors += fast.ticket.prior_reconnections > 0
    assert len(ids) == len(DEMO_CASES)
    # The demo's history ticket makes some 원콜 count a prior reconnection: the re-decided case.
    assert priors > 0
