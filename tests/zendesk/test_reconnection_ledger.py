"""The once-only rule ("강제 연결은 한 번만 가능") on the consistent ledger, not on search.

The issue's "Done when": with a 60 s indexing lag the second 강콜 for one 원콜 is blocked
at once, and two concurrent applies for two tickets of one 원콜 end with exactly one
reconnection recorded and one eligible write-back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.bootstrap import bootstrap_fields
from backend.domain.engine import EngineOptions
from backend.domain.guides import GuideCatalog
from backend.domain.render import TextRenderer
from backend.emulator.server import EmulatorServer
from backend.errors import (
    BranchChangedError,
    ConflictError,
    SettingsError,
    ZendeskRejectedError,
    ZendeskUnavailableError,
)
from backend.service import (
    ServiceContext,
    apply_decision,
    claim_reconnection,
    count_prior_claims,
    get_guidance,
    read_decision,
)
from backend.zendesk.fake_gateway import FakeGateway
from backend.zendesk.gateway import (
    NewTicket,
    ReconnectionClaim,
    ReconnectionRecord,
    TicketRecord,
    TicketUpdate,
    ZendeskGateway,
)
from backend.zendesk.zenpy_gateway import RetryPolicy, ZenpyGateway

# An eligible force_reconnect ticket (together, no fare change, card, all checks ok).
ELIGIBLE: dict[str, Any] = {
    "consult_type": "driver_force_rerun_own_normal",
    "identity_verified": True,
    "customer_presence": "together",
    "fare_adjustment": False,
    "payment_method": "card",
    "admin_status": "completed",
    "customer_consent": "agreed",
    "driver_on_duty": True,
    "customer_recalling": False,
    "origin_call_id": "7001",
    "forced_call_id": "7002",
    "original_fare": 23000,
}
LAG = 60.0


def race_applies(
    tickets: list[int],
    apply: Callable[[int], dict[str, Any] | None],
    gateway: ZendeskGateway,
) -> tuple[dict[int, dict[str, Any] | None], dict[int, tuple[str, ...]], int, int]:
    """Apply two tickets at once: their answers, their tags, the one eligible and the other."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(tickets, pool.map(apply, tickets), strict=True))
    tags = {t: gateway.get_ticket(t).tags for t in tickets}
    eligible = [t for t in tickets if "gp_eligible" in tags[t]]
    assert len(eligible) == 1
    winner = eligible[0]
    return results, tags, winner, next(t for t in tickets if t != winner)


def _guidance(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """The guidance answer as the API sends it (JSON)."""
    return get_guidance(*args, **kwargs).to_json()


def _applied(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """The apply answer as the API sends it (JSON)."""
    return apply_decision(*args, **kwargs).model_dump(mode="json")


def _context(catalog: GuideCatalog, renderer: TextRenderer, field_map: dict[str, int]) -> Any:
    return ServiceContext(
        catalog=catalog,
        renderer=renderer,
        options=EngineOptions(admin_call_url="https://admin.example/calls/{call_id}"),
        field_map=field_map,
    )


def _add(gateway: Any, ctx: ServiceContext, **changes: Any) -> int:
    """Create a force_reconnect ticket from semantic values (through the gateway)."""
    values = {**ELIGIBLE, **changes}
    assert ctx.field_map is not None
    custom = {
        ctx.field_map[key]: ctx.catalog.fields.zendesk_value(key, value)
        for key, value in values.items()
    }
    ticket = gateway.create_ticket(
        NewTicket(
            subject="강제재연결 요청", description="재연결 부탁드립니다", custom_fields=custom
        )
    )
    return int(ticket.id)


def _apply(gateway: Any, ticket_id: int, ctx: ServiceContext) -> dict[str, Any]:
    guidance = _guidance(gateway, ticket_id, ctx)
    return _applied(gateway, ticket_id, guidance["branch"], guidance["ticket_updated_at"], ctx)


@pytest.fixture(params=["fake", "emulator"])
def lagging(
    request: pytest.FixtureRequest, tmp_path: Path, catalog: GuideCatalog, renderer: TextRenderer
) -> Iterator[tuple[Any, ServiceContext]]:
    """A gateway whose Zendesk indexes search with a 60 s lag, and a service context."""
    if request.param == "fake":
        fake = FakeGateway(search_lag_seconds=LAG, lenient_fields=False)
        field_map = bootstrap_fields(fake, catalog.fields, tmp_path / "map.json")
        yield fake, _context(catalog, renderer, field_map)
        return
    with EmulatorServer(rate_limit_per_minute=100_000) as server:
        server.store.search_lag_seconds = LAG
        gateway = ZenpyGateway(
            subdomain="emulator",
            email="agent@example.com",
            token="test-token",
            policy=RetryPolicy("batch", 5.0, 2, backoff_base=0.02, backoff_cap=0.1),
            base_url=server.url,
        )
        with gateway:
            field_map = bootstrap_fields(gateway, catalog.fields, tmp_path / "map.json")
            yield gateway, _context(catalog, renderer, field_map)


def test_second_forced_call_is_blocked_at_once_despite_a_60s_index_lag(
    lagging: tuple[Any, ServiceContext],
) -> None:
    """The first 강콜 is recorded in the ledger; the second is blocked before search knows.

    Fails on the code before this change: prior reconnections came from search alone,
    so the second ticket stayed eligible until the index caught up.
    """
    gateway, ctx = lagging
    first = _add(gateway, ctx)
    assert _apply(gateway, first, ctx)["applied"] is True
    second = _add(gateway, ctx, forced_call_id="7003")
    # The index has not seen the first write-back yet: search alone would find nothing.
    assert gateway.search_tickets("type:ticket tags:fr_origin_7001") == []
    guidance = _guidance(gateway, second, ctx)
    assert guidance["blocks"] == ["already_reconnected_once"]
    assert guidance["eligible"] is False
    assert guidance["prior_reconnections"] == 1
    assert guidance["reconnection_history"] == "ledger"
    # The first ticket itself stays eligible: its own claim never counts against it.
    own = _guidance(gateway, first, ctx)
    assert own["blocks"] == []
    assert own["already_applied"] is True


class RacingGateway:
    """Makes two claims both exist before either lists the ledger (the worst race)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.ready = threading.Barrier(2, timeout=10)
        self.created = threading.Barrier(2, timeout=10)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def create_reconnection(self, claim: ReconnectionClaim) -> ReconnectionRecord:
        self.ready.wait()  # both read an empty ledger and decided "eligible"
        try:
            return self.inner.create_reconnection(claim)
        finally:
            self.created.wait()  # both creates answered before either lists


@contextmanager
def _account(
    kind: str, unique: bool, tmp_path: Path, catalog: GuideCatalog, renderer: TextRenderer
) -> Iterator[tuple[Any, ServiceContext]]:
    """A bootstrapped account: the fake, or Zenpy over HTTP to the emulator."""
    if kind == "fake":
        fake = FakeGateway(unique_external_ids=unique, lenient_fields=False)
        yield (
            fake,
            _context(
                catalog, renderer, bootstrap_fields(fake, catalog.fields, tmp_path / "m.json")
            ),
        )
        return
    with EmulatorServer(rate_limit_per_minute=100_000) as server:
        server.store.unique_external_ids = unique
        gateway = ZenpyGateway(
            subdomain="emulator",
            email="agent@example.com",
            token="test-token",
            policy=RetryPolicy("batch", 5.0, 2, backoff_base=0.02, backoff_cap=0.1),
            base_url=server.url,
        )
        with gateway:
            field_map = bootstrap_fields(gateway, catalog.fields, tmp_path / "m.json")
            yield gateway, _context(catalog, renderer, field_map)


@pytest.mark.parametrize("kind", ["fake", "emulator"])
@pytest.mark.parametrize("unique", [True, False], ids=["unique-external-ids", "duplicates-allowed"])
def test_two_concurrent_applies_for_one_origin_record_one_reconnection(
    kind: str, unique: bool, tmp_path: Path, catalog: GuideCatalog, renderer: TextRenderer
) -> None:
    """Two tickets of one 원콜 applied at once: one claim, one eligible write-back.

    Correct whether or not Zendesk enforces unique external ids: the loser's create is
    refused, or it is created and then removed by its owner; the loser's decision
    becomes `already_reconnected_once` (written as blocked, or refused as changed).
    Fails on the code before this change: both applies passed the search-based count
    and both wrote gp_eligible.
    """
    with _account(kind, unique, tmp_path, catalog, renderer) as (gateway, ctx):
        tickets = [_add(gateway, ctx), _add(gateway, ctx, forced_call_id="7003")]
        guidance = {t: _guidance(gateway, t, ctx) for t in tickets}
        assert all(g["eligible"] for g in guidance.values())
        racing = RacingGateway(gateway)

        def apply(ticket_id: int) -> dict[str, Any] | None:
            seen = guidance[ticket_id]
            try:
                return _applied(racing, ticket_id, seen["branch"], seen["ticket_updated_at"], ctx)
            except BranchChangedError:
                return None

        results, tags, winner, loser = race_applies(tickets, apply, gateway)
        assert results[winner] is not None
        assert results[winner]["decision"]["eligible"] is True
        loser_result = results[loser]
        if loser_result is not None:  # written, but as what it now is: blocked
            assert loser_result["decision"]["blocks"] == ["already_reconnected_once"]
            assert "gp_block_already_reconnected_once" in tags[loser]
        claims = gateway.list_reconnections("7001")
        assert [(c.ticket_id, c.origin_call_id) for c in claims] == [(winner, "7001")]
        after = _guidance(gateway, loser, ctx)
        assert after["blocks"] == ["already_reconnected_once"]


def test_a_winner_whose_write_failed_keeps_its_claim_on_retry(
    tmp_path: Path, catalog: GuideCatalog, renderer: TextRenderer
) -> None:
    """Claim made, write lost: the retry finds its own claim and writes, still one claim."""
    fake = FakeGateway(unique_external_ids=False, lenient_fields=False)
    ctx = _context(catalog, renderer, bootstrap_fields(fake, catalog.fields, tmp_path / "m.json"))
    ticket = _add(fake, ctx)
    fake.fail_next(ZendeskUnavailableError("lost"), method="update_ticket")
    with pytest.raises(ZendeskUnavailableError):
        _apply(fake, ticket, ctx)
    assert len(fake.list_reconnections("7001")) == 1
    assert _apply(fake, ticket, ctx)["applied"] is True
    assert [c.ticket_id for c in fake.list_reconnections("7001")] == [ticket]


def test_claim_is_only_for_an_eligible_reconnection(
    tmp_path: Path, catalog: GuideCatalog, renderer: TextRenderer
) -> None:
    """A blocked decision (customer refused) records no reconnection."""
    fake = FakeGateway(lenient_fields=False)
    ctx = _context(catalog, renderer, bootstrap_fields(fake, catalog.fields, tmp_path / "m.json"))
    ticket = _add(fake, ctx, customer_consent="refused")
    found = read_decision(fake, ticket, ctx)
    assert found.decision.eligible is False
    assert claim_reconnection(fake, found, found.decision.branch, ctx) is found
    assert fake.list_reconnections("7001") == []


def test_history_before_the_ledger_comes_from_search_and_says_so(
    tmp_path: Path, catalog: GuideCatalog, renderer: TextRenderer
) -> None:
    """Empty ledger → search for pre-ledger tags ("ledger+search"); no ledger → "search"."""
    for ledger, source in ((True, "ledger+search"), (False, "search")):
        fake = FakeGateway(ledger=ledger, lenient_fields=False)
        ctx = _context(
            catalog, renderer, bootstrap_fields(fake, catalog.fields, tmp_path / f"{source}.json")
        )
        if not ledger:
            fake = _without_ledger(fake)
        old = _add(fake, ctx, forced_call_id="6999")
        fake.touch_ticket(old, tags=["fr_origin_7001", "fr_forced"])
        ticket = _add(fake, ctx)
        guidance = _guidance(fake, ticket, ctx)
        assert guidance["reconnection_history"] == source
        assert guidance["blocks"] == ["already_reconnected_once"]


def _without_ledger(fake: FakeGateway) -> FakeGateway:
    """The same account after its ledger object was removed (bootstrap not rerun)."""
    fake.store.delete_custom_object("gp_reconnection")
    return fake


def test_apply_without_a_ledger_fails_closed(
    tmp_path: Path, catalog: GuideCatalog, renderer: TextRenderer
) -> None:
    """No ledger object: an eligible apply refuses (run bootstrap) and writes nothing."""
    fake = FakeGateway(lenient_fields=False)
    ctx = _context(catalog, renderer, bootstrap_fields(fake, catalog.fields, tmp_path / "m.json"))
    ticket = _add(fake, ctx)
    guidance = _guidance(fake, ticket, ctx)
    _without_ledger(fake)
    with pytest.raises(SettingsError, match="fields bootstrap"):
        _applied(fake, ticket, guidance["branch"], guidance["ticket_updated_at"], ctx)
    assert fake.updates == []


@given(
    st.lists(st.tuples(st.integers(1, 4), st.sampled_from(["a", "b", "c"])), min_size=1, max_size=8)
)
def test_exactly_the_lowest_claim_counts_no_prior_reconnection(
    claimants: list[tuple[int, str]],
) -> None:
    """Whatever claims exist for one 원콜, only the lowest record's owner sees 0 prior."""
    claims = [
        ReconnectionRecord(str(index + 5), "7001", forced, ticket, "", "")  # "9" < "10"
        for index, (ticket, forced) in enumerate(claimants)
    ]
    owners = {(c.ticket_id, c.forced_call_id) for c in claims}
    free = [o for o in owners if count_prior_claims(claims, o[0], o[1]) == 0]
    assert free == [(claims[0].ticket_id, claims[0].forced_call_id)]
    # Someone with no claim at all sees every distinct earlier claimant.
    assert count_prior_claims(claims, 99, "z") == len(owners)


def test_the_same_ticket_with_another_forced_call_counts_its_earlier_claim(
    tmp_path: Path, catalog: GuideCatalog, renderer: TextRenderer
) -> None:
    """A ticket reconnected once, whose 강콜 ID is then changed, is blocked the 2nd time.

    Fails on the code before this change: this branch read the search index's copy of
    the ticket, which lags, so it could not fire when it mattered.
    """
    fake = FakeGateway(search_lag_seconds=LAG, lenient_fields=False)
    ctx = _context(catalog, renderer, bootstrap_fields(fake, catalog.fields, tmp_path / "m.json"))
    ticket = _add(fake, ctx)
    assert _apply(fake, ticket, ctx)["applied"] is True
    assert ctx.field_map is not None
    fake.touch_ticket(ticket, custom_fields={ctx.field_map["forced_call_id"]: "7009"})
    guidance = _guidance(fake, ticket, ctx)
    assert guidance["blocks"] == ["already_reconnected_once"]
    assert guidance["reconnection_history"] == "ledger"


class SameSecondGateway:
    """Two applies of one ticket both send their write with the stamp they read."""

    def __init__(self, inner: FakeGateway) -> None:
        self.inner = inner
        self.barrier = threading.Barrier(2, timeout=10)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def update_ticket(self, update: TicketUpdate) -> TicketRecord:
        self.barrier.wait()  # both built their update from the same read
        return self.inner.update_ticket(update)


def test_same_second_concurrent_applies_write_one_note(
    tmp_path: Path, catalog: GuideCatalog, renderer: TextRenderer
) -> None:
    """Frozen clock (every write in one second), two applies: one note, one applied.

    `updated_at` has whole seconds, so without the gateway waiting out the stamp's
    second both writes would pass `safe_update`. Fails on the code before this change
    (no wait in the gateway; the fake moved `updated_at` on every write).
    """
    fake = FakeGateway(lenient_fields=False)
    ctx = _context(catalog, renderer, bootstrap_fields(fake, catalog.fields, tmp_path / "m.json"))
    ticket = _add(fake, ctx)
    fake.tick_per_write = False
    seen = _guidance(fake, ticket, ctx)
    racing = SameSecondGateway(fake)

    def apply(_: int) -> bool:
        result = _applied(racing, ticket, seen["branch"], seen["ticket_updated_at"], ctx)
        return bool(result["applied"])

    with ThreadPoolExecutor(max_workers=2) as pool:
        applied = list(pool.map(apply, range(2)))
    assert sorted(applied) == [False, True]
    notes = [c for c in fake.comments[ticket] if not c.public]
    assert len(notes) == 1


def test_the_claim_order_is_creation_time_then_the_string_id() -> None:
    """Record ids are strings (ULIDs or digits): never compared as text alone or as ints."""

    def record(record_id: str, created_at: str) -> ReconnectionRecord:
        return ReconnectionRecord(record_id, "7001", "7002", 1, "", created_at)

    same_second = "2026-12-01T06:00:00Z"
    digits = [record("10", same_second), record("9", same_second)]
    assert [r.id for r in sorted(digits, key=ReconnectionRecord.ledger_order)] == ["9", "10"]
    later_but_lower_id = record("01A", "2026-12-01T06:00:01Z")
    earlier = record("01Z", same_second)
    ordered = sorted([later_but_lower_id, earlier], key=ReconnectionRecord.ledger_order)
    assert ordered == [earlier, later_but_lower_id]


@pytest.mark.parametrize(
    "taken", [ConflictError("taken"), ZendeskRejectedError("taken", 422)], ids=["409", "422"]
)
def test_a_create_refused_as_taken_loses_to_the_holder(
    taken: Exception, tmp_path: Path, catalog: GuideCatalog, renderer: TextRenderer
) -> None:
    """Zendesk documents unique external ids, not the status it refuses a duplicate with.

    A 409 or a 422 on the loser's create both mean "taken": the ledger list names the
    holder and the loser is blocked. Fails on the code before this change for the 409:
    the claim let the ConflictError out.
    """
    fake = FakeGateway(unique_external_ids=True, lenient_fields=False)
    ctx = _context(catalog, renderer, bootstrap_fields(fake, catalog.fields, tmp_path / "m.json"))
    first, second = _add(fake, ctx), _add(fake, ctx, forced_call_id="7003")
    found = read_decision(fake, second, ctx)  # decided on an empty ledger: eligible
    assert found.decision.eligible is True
    assert _apply(fake, first, ctx)["applied"] is True
    fake.fail_next(taken, method="create_reconnection")
    try:
        lost = claim_reconnection(fake, found, found.decision.branch, ctx)
    except BranchChangedError:  # losing moved the branch: the agent is shown the new one
        pass
    else:
        assert lost.decision.blocks == ["already_reconnected_once"]
    assert [c.ticket_id for c in fake.list_reconnections("7001")] == [first]
