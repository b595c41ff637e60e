"""The application service: read a ticket, decide, write the decision back exactly once."""

# Pure orchestration over a `ZendeskGateway`; no HTTP framework types. Zendesk calls:
# guidance = 1 read (+1 ledger read for a force_reconnect ticket with a known 원콜 ID, +1
# search when the ledger holds nothing for it); apply = 1 read + 1 write (+ that history,
# + create and list a ledger claim when eligible); a repeated apply = 1 read (+ history).

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from backend.domain.decision import Decision
from backend.domain.engine import EngineOptions, decide
from backend.domain.facts import (
    PRIOR_RECONNECTIONS,
    TicketInput,
    inquiry_day,
    parse_ticket_record,
)
from backend.domain.fields import option_tag
from backend.domain.guides import GuideCatalog
from backend.domain.render import TextRenderer
from backend.domain.writeback import fingerprint
from backend.errors import (
    BranchChangedError,
    ConflictError,
    DecisionChangedError,
    InputError,
    NotFoundError,
    NothingToApplyError,
    SettingsError,
    TicketClosedError,
    ZendeskRejectedError,
)
from backend.fetched_facts import (
    FactFetcher,
    MergedFacts,
    annotate_decision,
    answer_keys,
    merge_fetched,
    start_fetch,
)
from backend.logs import bind_request
from backend.zendesk.gateway import (
    JSONScalar,
    ReconnectionClaim,
    ReconnectionRecord,
    TicketRecord,
    TicketUpdate,
    ZendeskGateway,
)

MAX_APPLY_ATTEMPTS = 3
ORIGIN_TAG_PREFIX = "fr_origin_"
FORCED_TAG = "fr_forced"
# Guidepost's own decision tags (writeback.build_tags, the gp_applied_ fingerprint): a
# write-back replaces them with the current decision's. Dropdown option tags (also gp_…)
# are field values in Zendesk — removing one would clear its field — so they are kept.
OWN_TAG_PREFIXES = ("gp_guide_", "gp_branch_", "gp_block_", "gp_applied_")
OWN_OUTCOME_TAGS = frozenset({"gp_eligible", "gp_blocked", "gp_pending"})
CLOSED_STATUS = "closed"
Outcome = Literal["eligible", "blocked", "pending"]


class TicketGuidance(Decision):
    """The decision on a Zendesk ticket, with what the sidebar needs to apply it."""

    ticket_id: int
    ticket_updated_at: str | None
    already_applied: bool = Field(description="this decision's write-back is already on the ticket")
    prior_reconnections: int = Field(
        description="other 강콜 recorded for this 원콜 (ledger, then search; 0 without one)"
    )
    fingerprint: str = Field(
        description="hash of guide, branch, outcome, blocks and note: send it back with apply"
    )
    source: Literal["ticket", "form"] = "ticket"
    reconnection_history: Literal["ledger", "ledger+search", "search"] | None = Field(
        default=None,
        description="where prior reconnections were counted; search-based history may lag",
    )
    fact_sources: dict[str, Any] = Field(
        default_factory=dict,
        description="per fact: typed on the ticket / form, or fetched by a connector (and when)",
    )
    connector_failures: list[dict[str, Any]] = Field(
        default_factory=list, description="admin sources that failed; their facts stay unknown"
    )
    connector_disagreements: list[dict[str, Any]] = Field(
        default_factory=list, description="typed values the admin system reports differently"
    )


class ApplyResult(BaseModel):
    """The write-back's outcome; `applied: false` when the same decision was already written."""

    applied: bool
    tags_added: list[str]
    tags_removed: list[str] = []
    note: str
    fields_set: dict[str, Any]
    ticket_id: int
    ticket_updated_at: str
    fingerprint: str = Field(description="the write-back's idempotency tag (gp_applied_…)")
    decision_fingerprint: str
    decision: Decision


def decision_outcome(decision: Decision) -> Outcome:
    """eligible / blocked / pending (contract C1; derived when the engine gives none)."""
    given = getattr(decision, "outcome", None)
    if given in ("eligible", "blocked", "pending"):
        return given  # type: ignore[no-any-return]
    if decision.eligible:
        return "eligible"
    return "blocked" if decision.blocks else "pending"


def decision_fingerprint(decision: Decision) -> str:
    """What the agent saw, hashed (contract C3): guide, branch, outcome, blocks, note."""
    payload = json.dumps(
        {
            "guide": decision.guide,
            "branch": decision.branch,
            "outcome": decision_outcome(decision),
            "blocks": sorted(decision.blocks),
            "note": decision.note,
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:20]


@dataclass(frozen=True)
class ServiceContext:
    """What a decision needs besides the ticket: guides, renderer, options, field map."""

    catalog: GuideCatalog
    renderer: TextRenderer
    options: EngineOptions
    field_map: Mapping[str, int] | None
    # False once the pre-ledger migration window is over: the ledger alone counts.
    search_fallback: bool = True
    # Admin-system connectors (backend/connectors); None = nothing is fetched.
    fetch_facts: FactFetcher | None = None


@dataclass(frozen=True)
class TicketDecision:
    """One ticket read and the decision on it, with the write-back's fingerprint tag."""

    record: TicketRecord
    ticket: TicketInput
    decision: Decision
    fingerprint: str
    # Where prior reconnections were counted from (see ReconnectionHistory); None = not asked.
    history_source: str | None = None
    # Typed and fetched facts merged (None without connectors).
    merged: MergedFacts | None = None

    @property
    def already_applied(self) -> bool:
        """True when this decision's write-back is already on the ticket."""
        return self.fingerprint in self.record.tags


def require_field_map(ctx: ServiceContext) -> Mapping[str, int]:
    """Return the field map; without one no Zendesk ticket can be read."""
    if ctx.field_map is None:
        raise SettingsError(
            "no field map yet: run `guidepost fields bootstrap` (GUIDEPOST_FIELD_MAP)"
        )
    return ctx.field_map


def decide_ticket(ticket: TicketInput, ctx: ServiceContext) -> Decision:
    """Run the engine on parsed facts."""
    return decide(ticket, ctx.catalog, ctx.renderer, ctx.options)


def parse_record(record: TicketRecord, ctx: ServiceContext) -> TicketInput:
    """Parse a ticket's custom fields through the field map (InputError names the field)."""
    return parse_ticket_record(
        record.custom_fields,
        record.subject,
        record.description,
        ctx.catalog.fields,
        require_field_map(ctx),
        inquiry_date=inquiry_day(record.created_at or None),
    )


def find_origin_to_search(
    decision: Decision, ticket: TicketInput, ctx: ServiceContext
) -> str | None:
    """The 원콜 ID to search for when the decision's guide counts prior reconnections."""
    if decision.guide is None or decision.suggested:
        return None
    if PRIOR_RECONNECTIONS not in ctx.catalog.guide(decision.guide).fields:
        return None
    origin = ticket.values.get("origin_call_id")
    return None if origin is None else str(origin)


@dataclass(frozen=True)
class ReconnectionHistory:
    """Prior 강제재연결 of a 원콜, and where the count comes from.

    `source`: "ledger" (consistent reads only), "ledger+search" (the ledger holds nothing
    for this 원콜, so search was asked for history from before the ledger — search lags,
    see `find_reconnection_history`), or "search" (no ledger on this account yet).
    """

    prior: int
    source: str


def _is_own_claim(claim: ReconnectionRecord, ticket_id: int, forced_call_id: object) -> bool:
    """True for a ledger record of this ticket and this 강콜."""
    return claim.ticket_id == ticket_id and claim.forced_call_id == str(forced_call_id)


def count_prior_claims(
    claims: list[ReconnectionRecord], ticket_id: int, forced_call_id: object
) -> int:
    """Count the other 강콜 claimed for a 원콜 before this ticket's own claim.

    The ledger's order is its record ids: the lowest claim wins, so records after this
    ticket's own claim are losers about to remove themselves and never count.
    """
    own = [c.id for c in claims if _is_own_claim(c, ticket_id, forced_call_id)]
    cutoff = min(own) if own else None
    earlier = {
        (c.ticket_id, c.forced_call_id)
        for c in claims
        if (cutoff is None or c.id < cutoff) and not _is_own_claim(c, ticket_id, forced_call_id)
    }
    return len(earlier)


def count_prior_reconnections(
    records: list[TicketRecord],
    ticket_id: int,
    origin_call_id: str,
    forced_call_id: object,
    ctx: ServiceContext,
) -> int:
    """Count 강콜 recorded by search-indexed tags: history from before the ledger only.

    GUIDES.md "Link memo". Search lags, so this never carries the once-only rule on its
    own: use `find_reconnection_history`, which reads the ledger first.
    """
    # Other tickets tagged fr_origin_<id> + fr_forced count; this ticket counts only when
    # the search index holds a different 강콜 ID for it than the ticket read just now.
    origin_tag = ORIGIN_TAG_PREFIX + origin_call_id
    forced_field = require_field_map(ctx).get("forced_call_id")
    count = 0
    for record in records:
        if origin_tag not in record.tags or FORCED_TAG not in record.tags:
            continue
        if record.id != ticket_id:
            count += 1
            continue
        if forced_field is None:
            continue
        recorded = _parse_quietly(ctx, "forced_call_id", record.custom_fields.get(forced_field))
        if recorded is not None and recorded != forced_call_id:
            count += 1
    return count


def find_reconnection_history(
    gateway: ZendeskGateway,
    ticket_id: int,
    origin_call_id: str,
    forced_call_id: object,
    ctx: ServiceContext,
) -> ReconnectionHistory:
    """Count prior 강제재연결 from the ledger (1 call); search only for pre-ledger history.

    The ledger is read with List Custom Object Records (`filter[external_ids]`), a
    database read. Search is not: "It can take up to a few minutes for new tickets ...
    to be indexed for search"
    (https://developer.zendesk.com/api-reference/ticketing/ticket-management/search/),
    so it is asked only when the ledger knows nothing of this 원콜 — for reconnections
    written back before the ledger existed — and the answer says so (`source`).
    """
    try:
        claims: list[ReconnectionRecord] | None = gateway.list_reconnections(origin_call_id)
    except NotFoundError:
        # The ledger object is missing: `fields bootstrap` has not run since the upgrade.
        claims = None
    if claims:
        return ReconnectionHistory(count_prior_claims(claims, ticket_id, forced_call_id), "ledger")
    if not ctx.search_fallback:
        if claims is None:
            # Fail closed: without the ledger (and no search) nothing could be counted.
            raise SettingsError(
                "the reconnection ledger is missing: run `guidepost fields bootstrap`"
            )
        return ReconnectionHistory(0, "ledger")
    found = gateway.search_tickets(f"type:ticket tags:{ORIGIN_TAG_PREFIX}{origin_call_id}")
    prior = count_prior_reconnections(found, ticket_id, origin_call_id, forced_call_id, ctx)
    return ReconnectionHistory(prior, "search" if claims is None else "ledger+search")


def claim_reconnection(
    gateway: ZendeskGateway, found: TicketDecision, branch: str, ctx: ServiceContext
) -> TicketDecision:
    """Claim this ticket's 강제재연결 in the ledger before an eligible write-back.

    Create, then list by external id (the 원콜 ID): the lowest record id wins. This is
    correct whether or not Zendesk enforces unique external ids ("The external_id must
    be unique for each custom object record",
    https://support.zendesk.com/hc/en-us/articles/6687271605786): when it does, the
    second create is refused and the list names the holder; when it does not, both
    records exist for a moment and the list orders them. A loser removes its record and
    its decision becomes `already_reconnected_once`: 409 branch-changed when that moves
    the branch, else the blocked decision is what gets written (never gp_eligible). A
    retry of the winner finds its own claim and goes on. A claim whose write-back then
    fails stays in the ledger for that ticket (its retry reuses it).
    """
    origin = find_origin_to_search(found.decision, found.ticket, ctx)
    forced = found.ticket.values.get("forced_call_id")
    if origin is None or forced is None or not found.decision.eligible:
        return found
    claim = ReconnectionClaim(origin, str(forced), found.record.id)
    mine: ReconnectionRecord | None
    try:
        mine = gateway.create_reconnection(claim)
    except ZendeskRejectedError:
        mine = None  # e.g. the external id is taken: the list below names the holder
    except NotFoundError:
        raise SettingsError(
            "the reconnection ledger is missing: run `guidepost fields bootstrap`"
        ) from None
    claims = gateway.list_reconnections(origin)
    if not claims:
        raise ConflictError(f"the ledger claim for 원콜 {origin} is not visible; try again")
    winner = claims[0]
    if _is_own_claim(winner, found.record.id, forced):
        if mine is not None and mine.id != winner.id:
            gateway.delete_reconnection(mine.id)  # a retry's duplicate of our own claim
        return found
    if mine is not None:
        gateway.delete_reconnection(mine.id)
    prior = max(1, count_prior_claims(claims, found.record.id, forced))
    ticket = found.ticket.model_copy(update={"prior_reconnections": prior})
    decision = decide_ticket(ticket, ctx)
    lost = TicketDecision(
        record=found.record,
        ticket=ticket,
        decision=decision,
        fingerprint=compute_settled_fingerprint(ticket, decision, ctx),
    )
    _check_open_and_branch(lost, branch)
    return lost


def _parse_quietly(ctx: ServiceContext, key: str, raw: object) -> Any:
    """Parse another ticket's value; a malformed one there must not fail this ticket."""
    try:
        return ctx.catalog.fields.parse(key, raw)
    except InputError:
        return None


def compute_settled_fingerprint(
    ticket: TicketInput, decision: Decision, ctx: ServiceContext
) -> str:
    """Fingerprint the decision as it will read once the write-back's fields are set."""
    # A write-back fills empty fields (`fields_set`), which changes the next decision's
    # `fields_set` and note; fingerprinting the settled decision lets a repeated apply
    # recognise its own earlier write instead of writing a second note.
    if not decision.fields_set:
        return fingerprint(decision)
    filled = dict(ticket.values)
    for key, value in decision.fields_set.items():
        parsed = ctx.catalog.fields.parse(key, value)
        if parsed is not None:
            filled[key] = parsed
    settled = decide_ticket(ticket.model_copy(update={"values": filled}), ctx)
    return fingerprint(settled)


def read_decision(
    gateway: ZendeskGateway,
    ticket_id: int,
    ctx: ServiceContext,
    *,
    agent_source: Literal["ticket", "form"] = "ticket",
) -> TicketDecision:
    """Read the ticket, fetch admin facts beside the history reads, merge and decide."""
    record = gateway.get_ticket(ticket_id)
    ticket = parse_record(record, ctx)
    # The connectors run while Zendesk is asked for the reconnection history.
    pending = start_fetch(ctx.fetch_facts, ticket.values)
    decision = decide_ticket(ticket, ctx)
    history = _read_history(gateway, ticket_id, decision, ticket, ctx)
    merged: MergedFacts | None = None
    if pending is not None:
        merged = merge_fetched(ticket.values, pending.result(), agent_source)
        ticket = ticket.model_copy(update={"values": merged.values})
        if history is None:
            # A fetched fact may select the guide that counts prior reconnections.
            history = _read_history(gateway, ticket_id, decide_ticket(ticket, ctx), ticket, ctx)
    if history is not None and history.prior:
        ticket = ticket.model_copy(update={"prior_reconnections": history.prior})
    if merged is not None or (history is not None and history.prior):
        decision = decide_ticket(ticket, ctx)
    if merged is not None:
        decision = annotate_decision(decision, merged, ctx.catalog.fields, ctx.field_map)
    settled = compute_settled_fingerprint(ticket, decision, ctx)
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
    forced = ticket.values.get("forced_call_id")
    history = find_reconnection_history(gateway, ticket_id, origin, forced, ctx)
    bind_request(reconnection_history=history.source)
    return history


def get_guidance(gateway: ZendeskGateway, ticket_id: int, ctx: ServiceContext) -> TicketGuidance:
    """The decision for a Zendesk ticket, plus `ticket_id`, `ticket_updated_at`, fingerprint."""
    return build_guidance(read_decision(gateway, ticket_id, ctx), ctx)


def build_guidance(found: TicketDecision, ctx: ServiceContext | None = None) -> TicketGuidance:
    """The guidance answer for one decided ticket (with ctx: where its facts came from)."""
    provenance = answer_keys(found.merged, ctx.catalog.fields) if ctx is not None else {}
    return TicketGuidance(
        **dict(found.decision),
        ticket_id=found.record.id,
        ticket_updated_at=found.record.updated_at,
        already_applied=found.already_applied,
        prior_reconnections=found.ticket.prior_reconnections,
        fingerprint=decision_fingerprint(found.decision),
        reconnection_history=found.history_source,
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
    options = _field_option_tags(ctx)
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


def _field_option_tags(ctx: ServiceContext) -> frozenset[str]:
    """Every tag a Guidepost dropdown or yes/no field value can be (gp_<key>_<code>)."""
    return frozenset(
        option_tag(field.key, code)
        for field in ctx.catalog.fields.fields()
        for code in (*field.options, "yes", "no")
    )


def _is_stale_own_tag(tag: str, current: list[str], options: frozenset[str]) -> bool:
    """A decision tag of an earlier decision (views keyed on gp_* must see only the current)."""
    own = tag in OWN_OUTCOME_TAGS or tag.startswith(OWN_TAG_PREFIXES)
    return own and tag not in current and tag not in options


def _check_open_and_branch(found: TicketDecision, branch: str) -> None:
    if found.record.status == CLOSED_STATUS:
        raise TicketClosedError(f"ticket {found.record.id} is closed: Zendesk allows no update")
    decision = found.decision
    if decision.branch != branch:
        raise BranchChangedError(
            f"the ticket changed: its branch is now {decision.branch!r}, not {branch!r}; "
            "reload the guidance"
        )


def _check_writable(found: TicketDecision, fingerprint: str | None) -> None:
    decision = found.decision
    if fingerprint is not None and decision_fingerprint(decision) != fingerprint:
        raise DecisionChangedError(
            "the decision changed since the guidance was shown; review the new one",
            decision=build_guidance(found).model_dump(mode="json"),
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
        _check_open_and_branch(found, branch)
        # A changed ticket whose decision still holds is applied on its current data.
        bind_request(stale=not _is_same_instant(found.record.updated_at, ticket_updated_at))
        if found.already_applied:
            # Before the fingerprint check: the write-back's own fields settle the decision.
            bind_request(applied=False, attempts=attempt)
            return _build_result(found, applied=False, updated_at=found.record.updated_at)
        _check_writable(found, fingerprint)
        # A lost ledger claim turns the decision blocked: the agent must see that first.
        found = claim_reconnection(gateway, found, branch, ctx)
        _check_writable(found, fingerprint)
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
