"""The application service: read a ticket, decide, write the decision back exactly once."""

# Pure orchestration over a `ZendeskGateway`; no HTTP framework types. Zendesk calls:
# guidance = 1 read (+1 ledger read when the guide declares `once_only` and its key is known,
# +1 search when the ledger holds nothing for it); apply = 1 read + 1 write (+ that history,
# + create and list a ledger claim when eligible); a repeated apply = 1 read (+ history).
# Behind the API's read cache (backend/zendesk/read_cache.py) apply reuses the guidance's
# record and history; every eligible decision then reads the ledger from Zendesk (the list
# after its claim, or a second list when it has no 강콜 ID to claim): the once-only read.

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Literal

from backend.domain.decision import Decision
from backend.domain.facts import (
    TicketInput,
)
from backend.errors import (
    ConflictError,
    DecisionChangedError,
    NothingToApplyError,
    SettingsError,
)
from backend.fetched_facts import (
    MergedFacts,
    annotate_decision,
    answer_keys,
    merge_fetched,
    start_fetch,
)
from backend.logs import bind_request
from backend.reconnections import (
    ReconnectionHistory,
    claim_of,
    claim_reconnection,
    count_prior_claims,
    count_prior_reconnections,
    find_origin_to_search,
    find_reconnection_history,
    once_only_of,
)
from backend.ticket_decision import (
    CLOSED_STATUS,
    ApplyResult,
    Outcome,
    ServiceContext,
    TicketDecision,
    TicketGuidance,
    check_open_and_branch,
    choose_ticket_guide,
    compute_settled_fingerprint,
    decide_ticket,
    decision_fingerprint,
    decision_outcome,
    parse_quietly,
    parse_record,
    read_history_source,
    require_field_map,
)
from backend.zendesk.gateway import (
    JSONScalar,
    TicketRecord,
    TicketUpdate,
    ZendeskGateway,
)

__all__ = [
    "CLOSED_STATUS",
    "MAX_APPLY_ATTEMPTS",
    "OWN_OUTCOME_TAGS",
    "OWN_TAG_PREFIXES",
    "ApplyResult",
    "LoadMemo",
    "Outcome",
    "ReconnectionHistory",
    "ServiceContext",
    "TicketDecision",
    "TicketGuidance",
    "apply_decision",
    "build_guidance",
    "build_update",
    "check_open_and_branch",
    "claim_reconnection",
    "compute_settled_fingerprint",
    "count_prior_claims",
    "count_prior_reconnections",
    "decide_ticket",
    "decision_fingerprint",
    "decision_outcome",
    "find_origin_to_search",
    "find_reconnection_history",
    "get_guidance",
    "once_only_of",
    "parse_quietly",
    "parse_record",
    "read_decision",
    "require_field_map",
]

MAX_APPLY_ATTEMPTS = 3
# Guidepost's own decision tags (writeback.build_tags, the gp_applied_ fingerprint): a
# write-back replaces them with the current decision's. Dropdown option tags (also gp_…)
# are field values in Zendesk — removing one would clear its field — so they are kept.
OWN_TAG_PREFIXES = ("gp_guide_", "gp_branch_", "gp_block_", "gp_applied_")
OWN_OUTCOME_TAGS = frozenset({"gp_eligible", "gp_blocked", "gp_pending"})


class LoadMemo:
    """A load's parsed ticket and chosen guide, for when the same load is run again.

    The GET guidance may run a load several times (backend/api/routers/tickets.py: on the
    event loop until its history is read, maybe then in a thread); each run gets the same
    record object and context, so what was computed from them before the first history
    read is reused instead of parsed and chosen again.
    """

    __slots__ = ("_ctx", "_known", "_record")

    def __init__(self) -> None:
        self._record: TicketRecord | None = None
        self._ctx: ServiceContext | None = None
        self._known: tuple[TicketInput, Decision] | None = None

    def known(
        self, record: TicketRecord, ctx: ServiceContext
    ) -> tuple[TicketInput, Decision] | None:
        """The ticket parsed from this very record and context, and its guide, if kept."""
        return self._known if record is self._record and ctx is self._ctx else None

    def keep(
        self, record: TicketRecord, ctx: ServiceContext, ticket: TicketInput, chosen: Decision
    ) -> None:
        """Remember what a run computed from `record` and `ctx`."""
        self._record, self._ctx, self._known = record, ctx, (ticket, chosen)


def read_decision(
    gateway: ZendeskGateway,
    ticket_id: int,
    ctx: ServiceContext,
    *,
    agent_source: Literal["ticket", "form"] = "ticket",
    memo: LoadMemo | None = None,
) -> TicketDecision:
    """Read the ticket, fetch admin facts beside the history reads, merge and decide."""
    record = gateway.get_ticket(ticket_id)
    known = None if memo is None else memo.known(record, ctx)
    ticket = parse_record(record, ctx) if known is None else known[0]
    # The connectors run while Zendesk is asked for the reconnection history.
    pending = start_fetch(ctx.fetch_facts, ticket.values)
    # Which history to read depends on the guide alone: the decision is made once, on the
    # final facts (a history or fetched facts would change its texts).
    chosen = choose_ticket_guide(ticket, ctx) if known is None else known[1]
    if memo is not None and known is None:
        memo.keep(record, ctx, ticket, chosen)
    history = _read_history(gateway, ticket_id, chosen, ticket, ctx)
    merged: MergedFacts | None = None
    if pending is not None:
        merged = merge_fetched(ticket.values, pending.result(), agent_source)
        ticket = replace(ticket, values=merged.values)
        if history is None:
            # A fetched fact may select the guide that counts prior reconnections.
            chosen = choose_ticket_guide(ticket, ctx)
            history = _read_history(gateway, ticket_id, chosen, ticket, ctx)
    if history is not None and history.prior:
        ticket = replace(ticket, prior_reconnections=history.prior)
    engine_decision = decision = decide_ticket(ticket, ctx)
    if merged is not None:
        decision = annotate_decision(decision, merged, ctx.catalog.fields, ctx.field_map)
    settled = compute_settled_fingerprint(ticket, decision, ctx, engine_decision=engine_decision)
    bind_request(guide=decision.guide, branch=decision.branch)
    return TicketDecision(
        record=record,
        ticket=ticket,
        decision=decision,
        fingerprint=settled,
        history_source=None if history is None else history.source,
        merged=merged,
    )


def _read_history(
    gateway: ZendeskGateway,
    ticket_id: int,
    decision: Decision,
    ticket: TicketInput,
    ctx: ServiceContext,
) -> ReconnectionHistory | None:
    """Prior reconnections when the decision's guide counts them (None: not asked)."""
    origin = find_origin_to_search(decision, ticket, ctx)
    if origin is None:
        return None
    forced = claim_of(decision, ticket, ctx)
    history = find_reconnection_history(
        gateway, ticket_id, origin, forced, ctx, once_only_of(decision, ctx)
    )
    bind_request(reconnection_history=history.source)
    return history


def get_guidance(
    gateway: ZendeskGateway, ticket_id: int, ctx: ServiceContext, memo: LoadMemo | None = None
) -> TicketGuidance:
    """The decision for a Zendesk ticket, plus `ticket_id`, `ticket_updated_at`, fingerprint."""
    return build_guidance(read_decision(gateway, ticket_id, ctx, memo=memo), ctx)


def build_guidance(found: TicketDecision, ctx: ServiceContext | None = None) -> TicketGuidance:
    """The guidance answer for one decided ticket (with ctx: where its facts came from)."""
    provenance = (
        answer_keys(found.merged, ctx.catalog.fields, found.decision, ctx.catalog)
        if ctx is not None
        else {}
    )
    return TicketGuidance(
        **found.decision.field_values(),
        ticket_id=found.record.id,
        ticket_updated_at=found.record.updated_at,
        already_applied=found.already_applied,
        prior_reconnections=found.ticket.prior_reconnections,
        fingerprint=decision_fingerprint(found.decision),
        reconnection_history=read_history_source(found.history_source),
        **provenance,
    )


def build_update(
    found: TicketDecision, ctx: ServiceContext, author_id: int | None = None
) -> TicketUpdate:
    """The one safe update: foreign tags kept, own gp_* tags replaced, note, fields."""
    field_map = require_field_map(ctx)
    custom_fields: dict[int, JSONScalar] = {}
    for key, value in found.decision.fields_set.items():
        field_id = field_map.get(key)
        if field_id is None:
            raise SettingsError(
                f"field map has no Zendesk id for {key}; run `guidepost fields bootstrap`"
            )
        custom_fields[field_id] = ctx.catalog.fields.zendesk_value(key, value)
    current = [*found.decision.tags, found.fingerprint]
    options = ctx.catalog.fields.option_tags
    kept = [tag for tag in found.record.tags if not _is_stale_own_tag(tag, current, options)]
    tags = tuple(dict.fromkeys([*kept, *current]))
    return TicketUpdate(
        ticket_id=found.record.id,
        updated_stamp=found.record.updated_at,
        tags=tags,
        custom_fields=custom_fields,
        # Plain `body` (not html_body): Zendesk escapes it, so user values cannot inject HTML.
        note_body=found.decision.note,
        note_public=False,
        note_author_id=author_id,
    )


def _is_stale_own_tag(tag: str, current: list[str], options: frozenset[str]) -> bool:
    """A decision tag of an earlier decision (views keyed on gp_* must see only the current)."""
    own = tag in OWN_OUTCOME_TAGS or tag.startswith(OWN_TAG_PREFIXES)
    return own and tag not in current and tag not in options


def _check_writable(found: TicketDecision, fingerprint: str | None, ctx: ServiceContext) -> None:
    decision = found.decision
    if fingerprint is not None and decision_fingerprint(decision) != fingerprint:
        raise DecisionChangedError(
            "the decision changed since the guidance was shown; review the new one",
            # The guidance answer's shape (fact_sources…): the sidebar re-renders from it.
            decision=build_guidance(found, ctx).to_json(),
        )
    if decision.guide is None:
        raise NothingToApplyError("the ticket matches no guide: nothing to apply", field="branch")
    if decision.suggested:
        raise NothingToApplyError(
            "the guide is only suggested: set the consultation type (consult_type) first",
            field="branch",
        )


def _is_same_instant(left: str, right: str) -> bool:
    """Compare two Zendesk timestamps as instants (textual forms may differ)."""
    try:
        return datetime.fromisoformat(left) == datetime.fromisoformat(right)
    except (TypeError, ValueError):
        return left == right


def apply_decision(
    gateway: ZendeskGateway,
    ticket_id: int,
    branch: str,
    ticket_updated_at: str,
    ctx: ServiceContext,
    *,
    fingerprint: str | None = None,
    author_id: int | None = None,
) -> ApplyResult:
    """Write the decision back exactly once (ARCHITECTURE.md "Exactly-once write-back")."""
    for attempt in range(1, MAX_APPLY_ATTEMPTS + 1):
        found = read_decision(gateway, ticket_id, ctx)
        check_open_and_branch(found, branch)
        # A changed ticket whose decision still holds is applied on its current data.
        bind_request(stale=not _is_same_instant(found.record.updated_at, ticket_updated_at))
        if found.already_applied:
            # Before the fingerprint check: the write-back's own fields settle the decision.
            bind_request(applied=False, attempts=attempt)
            return _build_result(found, applied=False, updated_at=found.record.updated_at)
        _check_writable(found, fingerprint, ctx)
        # A lost ledger claim turns the decision blocked: the agent must see that first.
        claimed = claim_reconnection(gateway, found, branch, ctx)
        if claimed is not found:
            # (The same object was checked just above: the check is a function of it.)
            found = claimed
            _check_writable(found, fingerprint, ctx)
        update = build_update(found, ctx, author_id)
        try:
            written = gateway.update_ticket(update)
        except ConflictError:
            # Someone wrote in between: read again; the winner's fingerprint stops us.
            continue
        bind_request(applied=True, attempts=attempt)
        new_tags = update.tags or ()
        return _build_result(
            found,
            applied=True,
            updated_at=written.updated_at,
            tags_added=[tag for tag in new_tags if tag not in found.record.tags],
            tags_removed=[tag for tag in found.record.tags if tag not in new_tags],
        )
    raise ConflictError(
        f"ticket {ticket_id} kept changing during the write-back "
        f"({MAX_APPLY_ATTEMPTS} attempts); try again"
    )


def _build_result(
    found: TicketDecision,
    *,
    applied: bool,
    updated_at: str,
    tags_added: list[str] | None = None,
    tags_removed: list[str] | None = None,
) -> ApplyResult:
    decision = found.decision
    return ApplyResult(
        applied=applied,
        tags_added=tags_added or [],
        tags_removed=tags_removed or [],
        note=decision.note if applied else "",
        fields_set=dict(decision.fields_set) if applied else {},
        ticket_id=found.record.id,
        ticket_updated_at=updated_at,
        fingerprint=found.fingerprint,
        decision_fingerprint=decision_fingerprint(decision),
        decision=decision,
    )
