"""The once-only rule when apply decides on the read cache's history (issue 16, item 3).

Apply reuses the reconnection history its guidance read (`ReadCache.apply_view`); the
ledger claim (create, then a list read from Zendesk) is the one once-only guard. Each
race the ledger tests cover is run here through the cache views: one cache per backend
process, and "another process" is a second cache that never hears of this one's claims.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_reconnection_ledger import RacingGateway, _account, _add, _context, race_applies

from backend.bootstrap import bootstrap_fields
from backend.domain.guides import GuideCatalog
from backend.domain.render import TextRenderer
from backend.errors import BranchChangedError, DecisionChangedError, ZendeskUnavailableError
from backend.service import ServiceContext, apply_decision, get_guidance
from backend.zendesk.fake_gateway import FakeGateway
from backend.zendesk.gateway import ZendeskGateway
from backend.zendesk.read_cache import ReadCache

HISTORY_SECONDS = 30.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def account(
    tmp_path: Path, catalog: GuideCatalog, renderer: TextRenderer
) -> tuple[FakeGateway, ServiceContext]:
    fake = FakeGateway(lenient_fields=False)
    return fake, _context(
        catalog, renderer, bootstrap_fields(fake, catalog.fields, tmp_path / "m.json")
    )


def _cache(clock: Callable[[], float] | None = None) -> ReadCache:
    if clock is None:
        return ReadCache(HISTORY_SECONDS, 900.0)
    return ReadCache(HISTORY_SECONDS, 900.0, clock=clock)


def _handle_loads(cache: ReadCache, gateway: Any, ticket_id: int, ctx: ServiceContext) -> Any:
    """The sidebar's first load (GET) through the cache: the guidance the agent sees."""
    return get_guidance(cache.guidance_view(gateway), ticket_id, ctx)


def _apply_seen(
    cache: ReadCache, gateway: Any, seen: Any, ctx: ServiceContext, *, fingerprint: bool = True
) -> dict[str, Any]:
    """Apply what the agent saw through the cache's apply view (as the API route does)."""
    view: ZendeskGateway = cache.apply_view(gateway, seen.ticket_updated_at)
    return apply_decision(
        view,
        seen.ticket_id,
        seen.branch,
        seen.ticket_updated_at,
        ctx,
        fingerprint=seen.fingerprint if fingerprint else None,
    ).model_dump(mode="json")


@pytest.mark.parametrize("kind", ["fake", "emulator"])
@pytest.mark.parametrize("unique", [True, False], ids=["unique-external-ids", "duplicates-allowed"])
@pytest.mark.parametrize("processes", [1, 2], ids=["one-process", "two-processes"])
def test_two_concurrent_cached_applies_for_one_origin_record_one_reconnection(
    kind: str,
    unique: bool,
    processes: int,
    tmp_path: Path,
    catalog: GuideCatalog,
    renderer: TextRenderer,
) -> None:
    """Both decided "eligible" on a cached, empty ledger: one claim, one eligible write."""
    with _account(kind, unique, tmp_path, catalog, renderer) as (gateway, ctx):
        tickets = [_add(gateway, ctx), _add(gateway, ctx, forced_call_id="7003")]
        caches = [_cache() for _ in range(processes)]
        cache_of = {t: caches[i % processes] for i, t in enumerate(tickets)}
        seen = {t: _handle_loads(cache_of[t], gateway, t, ctx) for t in tickets}
        assert all(s.eligible for s in seen.values())
        racing = RacingGateway(gateway)

        def apply(ticket_id: int) -> dict[str, Any] | None:
            try:
                return _apply_seen(cache_of[ticket_id], racing, seen[ticket_id], ctx)
            except (BranchChangedError, DecisionChangedError):
                return None

        results, tags, winner, loser = race_applies(tickets, apply, gateway)
        assert results[winner] is not None
        assert results[winner]["applied"] is True
        assert results[loser] is None  # the agent saw eligible: 409, review the new one
        assert "gp_eligible" not in tags[loser]
        assert [c.ticket_id for c in gateway.list_reconnections("7001")] == [winner]
        again = _handle_loads(cache_of[loser], gateway, loser, ctx)
        assert again.blocks == ["already_reconnected_once"]


@pytest.mark.parametrize("fingerprint", [True, False], ids=["sidebar", "no-fingerprint"])
def test_a_claim_made_elsewhere_after_the_guidance_is_seen_at_apply(
    account: tuple[FakeGateway, ServiceContext], fingerprint: bool
) -> None:
    """The cache still says "no prior"; the eligible apply loses its claim at the list.

    With the fingerprint (the sidebar): 409 decision-changed, nothing written. Without
    one: the blocked decision is written, never gp_eligible. Either way one claim.
    """
    gateway, ctx = account
    here, elsewhere = _cache(), _cache()
    mine = _add(gateway, ctx)
    seen = _handle_loads(here, gateway, mine, ctx)
    assert seen.eligible
    other = _add(gateway, ctx, forced_call_id="7003")
    assert _apply_seen(elsewhere, gateway, _handle_loads(elsewhere, gateway, other, ctx), ctx)[
        "applied"
    ]
    assert [c.ticket_id for c in here.ledger.get("7001") or []] == []  # stale, on purpose
    gateway.calls = 0
    if fingerprint:
        with pytest.raises(DecisionChangedError) as refused:
            _apply_seen(here, gateway, seen, ctx)
        assert refused.value.decision["blocks"] == ["already_reconnected_once"]
        assert "gp_eligible" not in gateway.get_ticket(mine).tags
        assert not any(u.ticket_id == mine for u in gateway.updates)
    else:
        written = _apply_seen(here, gateway, seen, ctx, fingerprint=False)
        assert written["applied"] is True
        assert written["decision"]["blocks"] == ["already_reconnected_once"]
        tags = gateway.get_ticket(mine).tags
        assert "gp_block_already_reconnected_once" in tags
        assert "gp_eligible" not in tags
    assert [c.ticket_id for c in gateway.list_reconnections("7001")] == [other]


def test_a_claim_made_through_the_same_process_is_seen_at_once(
    account: tuple[FakeGateway, ServiceContext],
) -> None:
    """One process's claim refreshes its cache: a blocked apply there sees the count."""
    gateway, ctx = account
    cache = _cache()
    mine = _add(gateway, ctx, customer_consent="refused")
    seen = _handle_loads(cache, gateway, mine, ctx)
    assert seen.blocks == ["customer_refused"]
    other = _add(gateway, ctx, forced_call_id="7003")
    assert _apply_seen(cache, gateway, _handle_loads(cache, gateway, other, ctx), ctx)["applied"]
    gateway.calls = 0
    with pytest.raises(DecisionChangedError) as refused:
        _apply_seen(cache, gateway, seen, ctx)
    assert refused.value.decision["blocks"] == [
        "customer_refused",
        "already_reconnected_once",
    ]
    assert gateway.calls == 0  # the record and the ledger the other apply listed


def test_a_non_claiming_apply_may_write_a_count_up_to_the_period_old(
    account: tuple[FakeGateway, ServiceContext],
) -> None:
    """What a cached apply may miss: another process's claim, in a blocked note, ≤ 30 s.

    No reconnection is written either way (the decision is blocked and claims nothing);
    once the period is over apply reads the ledger again and sees the claim.
    """
    gateway, ctx = account
    clock = Clock()
    here, elsewhere = _cache(clock), _cache(clock)
    mine = _add(gateway, ctx, customer_consent="refused")
    seen = _handle_loads(here, gateway, mine, ctx)
    other = _add(gateway, ctx, forced_call_id="7003")
    assert _apply_seen(elsewhere, gateway, _handle_loads(elsewhere, gateway, other, ctx), ctx)[
        "applied"
    ]
    clock.now = HISTORY_SECONDS - 0.1
    gateway.calls = 0
    written = _apply_seen(here, gateway, seen, ctx)
    assert gateway.calls == 1  # the write alone
    assert written["decision"]["blocks"] == ["customer_refused"]
    assert written["decision"]["eligible"] is False
    assert [c.ticket_id for c in gateway.list_reconnections("7001")] == [other]
    # After the period the history is read again: the count is the ledger's.
    clock.now = HISTORY_SECONDS
    later = _handle_loads(here, gateway, mine, ctx)
    assert later.blocks == ["customer_refused", "already_reconnected_once"]
    assert later.prior_reconnections == 1


def test_a_winner_whose_write_failed_keeps_its_claim_on_a_cached_retry(
    tmp_path: Path, catalog: GuideCatalog, renderer: TextRenderer
) -> None:
    """Claim made, write lost: the retry (cached history) finds its own claim; one claim."""
    fake = FakeGateway(unique_external_ids=False, lenient_fields=False)
    ctx = _context(catalog, renderer, bootstrap_fields(fake, catalog.fields, tmp_path / "m.json"))
    cache = _cache()
    ticket = _add(fake, ctx)
    seen = _handle_loads(cache, fake, ticket, ctx)
    fake.fail_next(ZendeskUnavailableError("lost"), method="update_ticket")
    with pytest.raises(ZendeskUnavailableError):
        _apply_seen(cache, fake, seen, ctx)
    assert len(fake.list_reconnections("7001")) == 1
    assert _apply_seen(cache, fake, seen, ctx)["applied"] is True
    assert [c.ticket_id for c in fake.list_reconnections("7001")] == [ticket]
    # A double click after the write: nothing written, no claim. Two reads: the record
    # (the write forgot it) and the ledger (removing the retry's duplicate claim forgot it).
    fake.calls = 0
    updates = len(fake.updates)
    assert _apply_seen(cache, fake, seen, ctx)["applied"] is False
    assert fake.calls == 2
    assert len(fake.updates) == updates
    assert len([c for c in fake.comments[ticket] if not c.public]) == 1


def test_pre_ledger_history_the_guidance_found_blocks_apply_without_a_second_search(
    account: tuple[FakeGateway, ServiceContext],
) -> None:
    """A reconnection from before the ledger (tags only): apply reuses the search."""
    gateway, ctx = account
    cache = _cache()
    old = _add(gateway, ctx, forced_call_id="6999")
    gateway.touch_ticket(old, tags=["fr_origin_7001", "fr_forced"])
    mine = _add(gateway, ctx, customer_consent="refused")
    seen = _handle_loads(cache, gateway, mine, ctx)
    assert seen.reconnection_history == "ledger+search"
    assert seen.blocks == ["customer_refused", "already_reconnected_once"]
    gateway.calls = 0
    assert _apply_seen(cache, gateway, seen, ctx)["applied"] is True
    assert gateway.calls == 1  # the write; the record, ledger and search were the guidance's
    assert gateway.list_reconnections("7001") == []


def _add_without_forced_call(gateway: FakeGateway, ctx: ServiceContext, **changes: Any) -> int:
    """An eligible force_reconnect ticket whose 강콜 ID is not known yet (nothing to claim)."""
    ticket_id = _add(gateway, ctx, **changes)
    assert ctx.field_map is not None
    gateway.touch_ticket(ticket_id, custom_fields={ctx.field_map["forced_call_id"]: None})
    return ticket_id


@pytest.mark.parametrize("fingerprint", [True, False], ids=["sidebar", "no-fingerprint"])
def test_an_eligible_apply_with_no_forced_call_lists_the_ledger_again(
    account: tuple[FakeGateway, ServiceContext], fingerprint: bool
) -> None:
    """No 강콜 ID, so no claim: the ledger is listed again at apply, never from the cache.

    Fails if apply decided such a ticket on the cached history alone: the other
    process's reconnection would be written back as gp_eligible.
    """
    gateway, ctx = account
    here, elsewhere = _cache(), _cache()
    mine = _add_without_forced_call(gateway, ctx)
    seen = _handle_loads(here, gateway, mine, ctx)
    assert seen.eligible
    other = _add(gateway, ctx, forced_call_id="7003")
    assert _apply_seen(elsewhere, gateway, _handle_loads(elsewhere, gateway, other, ctx), ctx)[
        "applied"
    ]
    gateway.calls = 0
    if fingerprint:
        with pytest.raises(DecisionChangedError) as refused:
            _apply_seen(here, gateway, seen, ctx)
        assert refused.value.decision["blocks"] == ["already_reconnected_once"]
        assert gateway.calls == 1  # the ledger list; the record was the guidance's
    else:
        written = _apply_seen(here, gateway, seen, ctx, fingerprint=False)
        assert written["decision"]["blocks"] == ["already_reconnected_once"]
    assert "gp_eligible" not in gateway.get_ticket(mine).tags
    assert [c.ticket_id for c in gateway.list_reconnections("7001")] == [other]


def test_an_eligible_apply_with_no_forced_call_and_no_claim_writes_without_claiming(
    account: tuple[FakeGateway, ServiceContext],
) -> None:
    """The ledger listed again holds nothing: the eligible decision is written, no claim."""
    gateway, ctx = account
    cache = _cache()
    mine = _add_without_forced_call(gateway, ctx)
    seen = _handle_loads(cache, gateway, mine, ctx)
    gateway.calls = 0
    assert _apply_seen(cache, gateway, seen, ctx)["applied"] is True
    assert gateway.calls == 2  # the ledger list + the write
    assert "gp_eligible" in gateway.get_ticket(mine).tags
    assert gateway.list_reconnections("7001") == []
