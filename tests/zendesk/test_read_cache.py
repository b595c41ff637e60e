"""The read cache: expiry, bounds, stale reads kept out, what apply reuses and re-reads."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.errors import ZendeskRejectedError
from backend.zendesk.fake_gateway import FakeGateway
from backend.zendesk.gateway import ReconnectionClaim, ReconnectionRecord, TicketUpdate
from backend.zendesk.read_cache import ReadCache, TtlCache


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_after_their_ttl() -> None:
    clock = Clock()
    cache: TtlCache[int] = TtlCache(10.0, clock=clock)
    cache.put("a", 1)
    clock.now = 9.9
    assert cache.get("a") == 1
    clock.now = 10.0
    assert cache.get("a") is None
    assert len(cache) == 0


def test_zero_ttl_stores_nothing() -> None:
    cache: TtlCache[int] = TtlCache(0.0)
    cache.put("a", 1)
    assert cache.get("a") is None


@given(st.lists(st.tuples(st.integers(0, 20), st.floats(0, 5)), max_size=60))
def test_never_over_its_bound_nor_older_than_its_ttl(puts: list[tuple[int, float]]) -> None:
    """Whatever the order of puts and clock moves: ≤ max_entries, no live entry too old."""
    clock = Clock()
    cache: TtlCache[float] = TtlCache(3.0, max_entries=5, clock=clock)
    for key, step in puts:
        clock.now += step
        cache.put(key, clock.now)
        assert len(cache) <= 5
        for probe in range(21):
            stored = cache.get(probe)
            assert stored is None or clock.now - stored < 3.0


def _gateway_with_ticket() -> tuple[FakeGateway, int]:
    gateway = FakeGateway()
    return gateway, gateway.add_ticket("문의", "내용").id


def test_form_loads_read_the_ticket_every_time_and_the_history_once() -> None:
    gateway, ticket_id = _gateway_with_ticket()
    view = ReadCache(30.0, 900.0).form_view(gateway)
    gateway.calls = 0
    view.get_ticket(ticket_id)
    view.get_ticket(ticket_id)
    assert gateway.calls == 2
    view.list_reconnections("7001")
    view.list_reconnections("7001")
    view.search_tickets("type:ticket tags:fr_origin_7001")
    view.search_tickets("type:ticket tags:fr_origin_7001")
    assert gateway.calls == 4


def test_the_first_load_reads_the_history_fresh_and_keeps_it_for_the_form() -> None:
    gateway, _ = _gateway_with_ticket()
    cache = ReadCache(30.0, 900.0)
    assert cache.form_view(gateway).list_reconnections("7001") == []
    gateway.create_reconnection(ReconnectionClaim("7001", "7002", 99))
    gateway.calls = 0
    first_load = cache.guidance_view(gateway)
    assert [c.ticket_id for c in first_load.list_reconnections("7001")] == [99]
    first_load.search_tickets("type:ticket tags:fr_origin_7001")
    assert gateway.calls == 2
    form = cache.form_view(gateway)
    assert [c.ticket_id for c in form.list_reconnections("7001")] == [99]
    form.search_tickets("type:ticket tags:fr_origin_7001")
    assert gateway.calls == 2


def test_form_loads_read_the_ledger_again_after_the_period() -> None:
    clock = Clock()
    gateway, _ = _gateway_with_ticket()
    view = ReadCache(30.0, 900.0, clock=clock).form_view(gateway)
    assert view.list_reconnections("7001") == []
    gateway.create_reconnection(ReconnectionClaim("7001", "7002", 99))
    assert view.list_reconnections("7001") == []  # within the period: the earlier read
    clock.now = 30.0
    assert [c.ticket_id for c in view.list_reconnections("7001")] == [99]


def test_apply_reuses_the_history_until_it_claims_then_reads_the_ledger_fresh() -> None:
    """Apply decides on the cached history; the list after its own claim is Zendesk's."""
    gateway, _ = _gateway_with_ticket()
    cache = ReadCache(30.0, 900.0)
    guidance = cache.guidance_view(gateway)
    assert guidance.list_reconnections("7001") == []
    guidance.search_tickets("type:ticket tags:fr_origin_7001")
    # Another process claims: this process's cache does not know it yet.
    gateway.create_reconnection(ReconnectionClaim("7001", "7002", 99))
    apply = cache.apply_view(gateway, "")
    gateway.calls = 0
    assert apply.list_reconnections("7001") == []
    apply.search_tickets("type:ticket tags:fr_origin_7001")
    assert gateway.calls == 0
    with pytest.raises(ZendeskRejectedError):  # the emulator keeps external ids unique
        apply.create_reconnection(ReconnectionClaim("7001", "7003", 5))
    gateway.calls = 0
    assert [c.ticket_id for c in apply.list_reconnections("7001")] == [99]
    assert [c.ticket_id for c in apply.list_reconnections("7001")] == [99]
    assert gateway.calls == 2  # after the claim: never the cache
    # The fresh list is what the next loads see.
    assert [c.ticket_id for c in cache.form_view(gateway).list_reconnections("7001")] == [99]
    assert gateway.calls == 2


def test_apply_reads_a_ledger_it_listed_once_from_zendesk_the_second_time() -> None:
    """The recheck of an eligible decision with nothing to claim is never the cache's."""
    gateway, _ = _gateway_with_ticket()
    cache = ReadCache(30.0, 900.0)
    assert cache.guidance_view(gateway).list_reconnections("7001") == []
    gateway.create_reconnection(ReconnectionClaim("7001", "7002", 99))
    apply = cache.apply_view(gateway, "")
    gateway.calls = 0
    assert apply.list_reconnections("7001") == []
    assert gateway.calls == 0
    assert [c.ticket_id for c in apply.list_reconnections("7001")] == [99]
    assert gateway.calls == 1
    # Another 원콜 is still the cache's the first time.
    assert cache.guidance_view(gateway).list_reconnections("7009") == []
    gateway.calls = 0
    assert apply.list_reconnections("7009") == []
    assert gateway.calls == 0


def test_apply_reuses_its_own_fresh_ledger_read_once() -> None:
    """Cache off: the recheck reuses this apply's own Zendesk read; a retry reads again."""
    gateway, _ = _gateway_with_ticket()
    apply = ReadCache(0.0, 0.0).apply_view(gateway, "")
    gateway.calls = 0
    assert apply.list_reconnections("7001") == []
    assert apply.list_reconnections("7001") == []
    assert gateway.calls == 1
    gateway.create_reconnection(ReconnectionClaim("7001", "7002", 99))
    gateway.calls = 0
    assert [c.ticket_id for c in apply.list_reconnections("7001")] == [99]
    assert gateway.calls == 1


def test_apply_reads_the_history_when_the_period_is_over() -> None:
    clock = Clock()
    gateway, _ = _gateway_with_ticket()
    cache = ReadCache(30.0, 900.0, clock=clock)
    assert cache.guidance_view(gateway).list_reconnections("7001") == []
    gateway.create_reconnection(ReconnectionClaim("7001", "7002", 99))
    clock.now = 30.0
    gateway.calls = 0
    assert [c.ticket_id for c in cache.apply_view(gateway, "").list_reconnections("7001")] == [99]
    assert gateway.calls == 1


class _SlowLedger(FakeGateway):
    """A ledger read that lets another request claim while it is on the wire."""

    def __init__(self) -> None:
        super().__init__()
        self.during_read: list[Callable[[], object]] = []

    def list_reconnections(self, origin_call_id: str) -> list[ReconnectionRecord]:
        found = super().list_reconnections(origin_call_id)
        while self.during_read:
            self.during_read.pop()()
        return found


def test_a_ledger_read_begun_before_a_claim_is_not_kept() -> None:
    """A form load's slow read must not put back the ledger a claim just made stale."""
    clock = Clock()
    gateway = _SlowLedger()
    cache = ReadCache(30.0, 900.0, clock=clock)

    def claim_elsewhere() -> None:
        clock.now += 1.0
        cache.apply_view(gateway, "").create_reconnection(ReconnectionClaim("7001", "7002", 9))

    gateway.during_read.append(claim_elsewhere)
    clock.now = 5.0
    assert cache.form_view(gateway).list_reconnections("7001") == []  # read before the claim
    assert cache.ledger.get("7001") is None
    assert [c.ticket_id for c in cache.apply_view(gateway, "").list_reconnections("7001")] == [9]


def test_a_put_never_replaces_a_newer_read_nor_outlives_a_clear() -> None:
    clock = Clock()
    cache: TtlCache[str] = TtlCache(10.0, clock=clock)
    clock.now = 2.0
    cache.put("a", "newer", read_at=2.0)
    cache.put("a", "older", read_at=1.0)
    assert cache.get("a") == "newer"
    cache.clear()
    cache.put("b", "begun before the clear", read_at=1.5)
    assert cache.get("b") is None
    cache.put("b", "begun after", read_at=2.0)
    assert cache.get("b") == "begun after"


@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("put"), st.integers(0, 3), st.floats(0, 4)),
            st.tuples(st.just("drop"), st.integers(0, 3), st.just(0.0)),
            st.tuples(st.just("tick"), st.just(0), st.floats(0, 2)),
        ),
        max_size=50,
    )
)
def test_a_value_is_never_older_than_a_drop_or_a_newer_put(
    steps: list[tuple[str, int, float]],
) -> None:
    """get answers the newest read begun after the key's last drop, within its TTL."""
    clock = Clock()
    cache: TtlCache[float] = TtlCache(5.0, clock=clock)
    newest: dict[int, float] = {}
    dropped: dict[int, float] = {}
    for action, key, amount in steps:
        if action == "tick":
            clock.now += amount
        elif action == "drop":
            cache.drop(key)
            dropped[key] = clock.now
        else:
            read_at = max(0.0, clock.now - amount)  # the read began `amount` ago
            cache.put(key, read_at, read_at=read_at)
            if read_at >= dropped.get(key, -1.0):
                newest[key] = max(newest.get(key, -1.0), read_at)
        for probe in range(4):
            got = cache.get(probe)
            if got is not None:
                assert got >= dropped.get(probe, -1.0)
                assert got == newest[probe]
                assert clock.now - got < 5.0


def test_a_claim_through_a_view_forgets_the_cached_ledger() -> None:
    gateway, _ = _gateway_with_ticket()
    cache = ReadCache(30.0, 900.0)
    guidance = cache.form_view(gateway)
    assert guidance.list_reconnections("7001") == []
    record = cache.apply_view(gateway, "").create_reconnection(ReconnectionClaim("7001", "7002", 5))
    assert [c.id for c in guidance.list_reconnections("7001")] == [record.id]
    cache.apply_view(gateway, "").delete_reconnection(record.id)
    assert guidance.list_reconnections("7001") == []


def test_apply_uses_the_guidance_record_once_and_only_at_its_stamp() -> None:
    gateway, ticket_id = _gateway_with_ticket()
    cache = ReadCache(30.0, 900.0)
    seen = cache.guidance_view(gateway).get_ticket(ticket_id)
    gateway.calls = 0
    apply = cache.apply_view(gateway, seen.updated_at)
    assert apply.get_ticket(ticket_id) is seen
    assert gateway.calls == 0
    apply.get_ticket(ticket_id)  # a retry after 409: Zendesk again
    assert gateway.calls == 1
    # Another stamp (the agent saw another version): Zendesk.
    gateway.calls = 0
    cache.apply_view(gateway, "2020-01-01T00:00:00Z").get_ticket(ticket_id)
    assert gateway.calls == 1


def test_a_write_forgets_the_record() -> None:
    gateway, ticket_id = _gateway_with_ticket()
    cache = ReadCache(30.0, 900.0)
    seen = cache.guidance_view(gateway).get_ticket(ticket_id)
    apply = cache.apply_view(gateway, seen.updated_at)
    apply.update_ticket(TicketUpdate(ticket_id, seen.updated_at, tags=("x",)))
    assert cache.records.get(ticket_id) is None


def test_record_expires() -> None:
    clock = Clock()
    gateway, ticket_id = _gateway_with_ticket()
    cache = ReadCache(30.0, 900.0, clock=clock)
    seen = cache.guidance_view(gateway).get_ticket(ticket_id)
    clock.now = 900.0
    gateway.calls = 0
    cache.apply_view(gateway, seen.updated_at).get_ticket(ticket_id)
    assert gateway.calls == 1
