"""The once-only feature's history: the ledger of claims, and search for what came before it.

Generic: a guide opts in with `once_only:` in its guide.yaml (which fact is the key, which
is the claim, which receives the count, and the two tags search finds). The Zendesk
adapter keeps its own names (`ReconnectionClaim`, `list_reconnections`): the ledger was
built for 강제재연결, the one guide that declares the feature today.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from backend.domain.decision import Decision
from backend.domain.facts import TicketInput
from backend.domain.guides import OnceOnly
from backend.domain.writeback import render_tag
from backend.errors import (
    ConflictError,
    NotFoundError,
    SettingsError,
    ZendeskRejectedError,
)
from backend.fetched_facts import annotate_decision
from backend.ticket_decision import (
    ServiceContext,
    TicketDecision,
    check_open_and_branch,
    compute_settled_fingerprint,
    decide_ticket,
    parse_quietly,
    require_field_map,
)
from backend.zendesk.gateway import (
    ReconnectionClaim,
    ReconnectionRecord,
    TicketRecord,
    ZendeskGateway,
)


def once_only_of(decision: Decision, ctx: ServiceContext) -> OnceOnly | None:
    """The decision's guide's once-only feature (None: not declared, or no guide chosen)."""
    if decision.guide is None or decision.suggested:
        return None
    return ctx.catalog.guide(decision.guide).once_only


def any_once_only(ctx: ServiceContext) -> OnceOnly | None:
    """The first guide's once-only feature, for callers that judge tickets of no one guide."""
    return next((g.once_only for g in ctx.catalog.guides.values() if g.once_only), None)


def find_origin_to_search(
    decision: Decision, ticket: TicketInput, ctx: ServiceContext
) -> str | None:
    """The once-only key to look up when the decision's guide declares the feature."""
    once = once_only_of(decision, ctx)
    if once is None or once.count not in ctx.catalog.guide(str(decision.guide)).fields:
        return None
    origin = ticket.values.get(once.key)
    return None if origin is None else str(origin)


def claim_of(decision: Decision, ticket: TicketInput, ctx: ServiceContext) -> object:
    """This ticket's own claim value (the 강콜 ID) under its guide's once-only feature."""
    once = once_only_of(decision, ctx)
    return None if once is None else ticket.values.get(once.claim)


def _key_tag(once: OnceOnly, key_value: str) -> str:
    tag = render_tag(once.key_tag, lambda name: key_value if name == once.key else None)
    if tag is None:
        raise SettingsError(f"once_only.key_tag {once.key_tag!r} must read {once.key!r}")
    return tag


@dataclass(frozen=True)
class ReconnectionHistory:
    """Prior 강제재연결 of a 원콜, and where the count comes from.

    `source`: "ledger" (consistent reads only), "ledger+search" (the ledger holds nothing
    for this 원콜, so search was asked for history from before the ledger — search lags,
    see `find_reconnection_history`), or "search" (no ledger on this account yet).
    """

    prior: int
    source: str


def _is_own_claim(claim: ReconnectionRecord, ticket_id: int, claim_value: object) -> bool:
    """True for a ledger record of this ticket and this 강콜."""
    return claim.ticket_id == ticket_id and claim.forced_call_id == str(claim_value)


def count_prior_claims(
    claims: list[ReconnectionRecord], ticket_id: int, claim_value: object
) -> int:
    """Count the other 강콜 claimed for a 원콜 before this ticket's own claim.

    The ledger's order is `ReconnectionRecord.ledger_order`: the first claim wins, so
    records after this ticket's own claim are losers about to remove themselves and
    never count.
    """
    own = [c.ledger_order() for c in claims if _is_own_claim(c, ticket_id, claim_value)]
    cutoff = min(own) if own else None
    earlier = {
        (c.ticket_id, c.forced_call_id)
        for c in claims
        if (cutoff is None or c.ledger_order() < cutoff)
        and not _is_own_claim(c, ticket_id, claim_value)
    }
    return len(earlier)


def count_prior_reconnections(
    records: list[TicketRecord],
    ticket_id: int,
    key_value: str,
    claim_value: object,
    ctx: ServiceContext,
    once: OnceOnly | None = None,
) -> int:
    """Count 강콜 recorded by search-indexed tags: history from before the ledger only.

    GUIDES.md "Link memo". Search lags, so this never carries the once-only rule on its
    own: use `find_reconnection_history`, which reads the ledger first. `once` defaults
    to the first guide declaring the feature.
    """
    once = once or any_once_only(ctx)
    if once is None:
        return 0
    # Other tickets tagged with the key tag + the claim tag count; this ticket counts only
    # when the search index holds a different claim for it than the ticket read just now.
    origin_tag = _key_tag(once, key_value)
    forced_field = require_field_map(ctx).get(once.claim)
    count = 0
    for record in records:
        if origin_tag not in record.tags or once.claim_tag not in record.tags:
            continue
        if record.id != ticket_id:
            count += 1
            continue
        if forced_field is None:
            continue
        recorded = parse_quietly(ctx, once.claim, record.custom_fields.get(forced_field))
        if recorded is not None and recorded != claim_value:
            count += 1
    return count


def find_reconnection_history(
    gateway: ZendeskGateway,
    ticket_id: int,
    key_value: str,
    claim_value: object,
    ctx: ServiceContext,
    once: OnceOnly | None = None,
) -> ReconnectionHistory:
    """Count prior 강제재연결 from the ledger (1 call); search only for pre-ledger history.

    The ledger is read with List Custom Object Records (`filter[external_ids]`), a
    database read. Search is not: "It can take up to a few minutes for new tickets ...
    to be indexed for search"
    (https://developer.zendesk.com/api-reference/ticketing/ticket-management/search/),
    so it is asked only when the ledger knows nothing of this 원콜 — for reconnections
    written back before the ledger existed — and the answer says so (`source`).

    Apply may get both answers from the read cache (≤ its period, 30 s, old). For the
    ledger, an eligible decision reads it again from Zendesk (`claim_reconnection`). For
    search: synced macros add only gp_guide_/gp_branch_ tags
    (macro_sync.generator.list_branch_tags); whatever else adds the two tags now (a
    blocked write-back naming its 강콜, a tag added by hand, a pre-ledger deployment in
    the migration window) is invisible to a fresh search too for "up to a few minutes" —
    the cache adds ≤ 30 s to a lag search has anyway, and the fallback goes off after
    that window.
    """
    try:
        claims: list[ReconnectionRecord] | None = gateway.list_reconnections(key_value)
    except NotFoundError:
        # The ledger object is missing: `fields bootstrap` has not run since the upgrade.
        claims = None
    if claims:
        return ReconnectionHistory(count_prior_claims(claims, ticket_id, claim_value), "ledger")
    if not ctx.search_fallback:
        if claims is None:
            # Fail closed: without the ledger (and no search) nothing could be counted.
            raise _ledger_missing()
        return ReconnectionHistory(0, "ledger")
    once = once or any_once_only(ctx)
    if once is None:
        return ReconnectionHistory(0, "search" if claims is None else "ledger+search")
    found = gateway.search_tickets(f"type:ticket tags:{_key_tag(once, key_value)}")
    prior = count_prior_reconnections(found, ticket_id, key_value, claim_value, ctx, once)
    return ReconnectionHistory(prior, "search" if claims is None else "ledger+search")


def claim_reconnection(
    gateway: ZendeskGateway, found: TicketDecision, branch: str, ctx: ServiceContext
) -> TicketDecision:
    """Claim this ticket's 강제재연결 in the ledger before an eligible write-back.

    Create, then list by external id (the 원콜 ID): the first claim wins
    (`ReconnectionRecord.ledger_order`: creation time, then the record id). This is
    correct whether or not Zendesk enforces unique external ids ("The external_id must
    be unique for each custom object record",
    https://support.zendesk.com/hc/en-us/articles/6687271605786): when it does, the
    second create is refused and the list names the holder; when it does not, both
    records exist for a moment and the list orders them. A loser removes its record and
    its decision becomes `already_reconnected_once`: 409 branch-changed when that moves
    the branch, else the blocked decision is what gets written (never gp_eligible). A
    retry of the winner finds its own claim and goes on. A claim whose write-back then
    fails stays in the ledger for that ticket (its retry reuses it).

    This list is the once-only rule's read: the history `found` was decided on may be
    the guidance's (up to the read cache's period old, backend/zendesk/read_cache.py),
    so a claim made since is seen here, never missed. An eligible decision with no 강콜
    ID yet has nothing to claim: the ledger is listed again instead (`_recheck_ledger`).
    The gateway must read these lists from Zendesk (the cache's apply view does: after
    its claim, and for a 원콜 it has listed once already).
    """
    origin = find_origin_to_search(found.decision, found.ticket, ctx)
    forced = claim_of(found.decision, found.ticket, ctx)
    if origin is None or not found.decision.eligible:
        return found
    if forced is None:
        return _recheck_ledger(gateway, found, origin, branch, ctx)
    claim = ReconnectionClaim(origin, str(forced), found.record.id)
    mine: ReconnectionRecord | None
    try:
        mine = gateway.create_reconnection(claim)
    except (ZendeskRejectedError, ConflictError):
        # The external id is taken (Zendesk documents it unique but not the status it
        # answers: 409 or 422 are both read as taken): the list below names the holder.
        mine = None
    except NotFoundError:
        raise _ledger_missing() from None
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
    return _lose(found, max(1, count_prior_claims(claims, found.record.id, forced)), branch, ctx)


def _recheck_ledger(
    gateway: ZendeskGateway, found: TicketDecision, origin: str, branch: str, ctx: ServiceContext
) -> TicketDecision:
    """An eligible write-back with no 강콜 ID to claim: list the 원콜's ledger again.

    Apply may have decided on a cached history; without a claim, this list (a second
    one, so never the cache's) is what keeps a reconnection recorded since then from
    being written as eligible. The pre-ledger search is not asked again (see
    `find_reconnection_history`).
    """
    try:
        claims = gateway.list_reconnections(origin)
    except NotFoundError:
        if not ctx.search_fallback:
            raise _ledger_missing() from None
        return found  # no ledger on this account: the history was search's
    prior = count_prior_claims(claims, found.record.id, None)
    return found if prior == 0 else _lose(found, prior, branch, ctx)


def _lose(found: TicketDecision, prior: int, branch: str, ctx: ServiceContext) -> TicketDecision:
    """The decision again with `prior` earlier reconnections: already_reconnected_once."""
    ticket = replace(found.ticket, prior_reconnections=prior)
    decision = decide_ticket(ticket, ctx)
    if found.merged is not None:
        # The admin facts the agent saw stay: their field fills and the disagreement notice.
        decision = annotate_decision(decision, found.merged, ctx.catalog.fields, ctx.field_map)
    lost = replace(
        found,
        ticket=ticket,
        decision=decision,
        fingerprint=compute_settled_fingerprint(ticket, decision, ctx),
    )
    check_open_and_branch(lost, branch)
    return lost


def _ledger_missing() -> SettingsError:
    """The fail-closed error when the account has no reconnection ledger object."""
    return SettingsError("the reconnection ledger is missing: run `guidepost fields bootstrap`")
