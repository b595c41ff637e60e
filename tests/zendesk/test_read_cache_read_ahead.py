"""The guidance view's history read ahead (on the event loop): served once, cached as of its read.

The cache's rule holds for it as for any read: an entry is stamped with the time its read
*began*, and a read begun before a drop or a clear is never stored.
"""

from __future__ import annotations

from backend.zendesk.fake_gateway import FakeGateway
from backend.zendesk.gateway import ReconnectionRecord
from backend.zendesk.read_cache import HistoryRead, ReadCache

CLAIM = ReconnectionRecord("7", "7001", "8001", 11, "agent", "2026-01-01T00:00:00Z")
QUERY = "type:ticket tags:fr_origin_7001"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _read_ahead(read_at: float) -> dict[tuple[str, str], HistoryRead]:
    return {
        ("list_reconnections", "7001"): HistoryRead([CLAIM], read_at),
        ("search_tickets", QUERY): HistoryRead([], read_at),
    }


def test_a_read_ahead_is_served_once_and_cached_as_of_its_read() -> None:
    """No Zendesk call for it; kept for the form loads until `history_seconds` after its read."""
    clock = Clock()
    cache = ReadCache(30.0, 900.0, clock=clock)
    gateway = FakeGateway()
    gateway.calls = 0
    clock.now = 10.0
    view = cache.guidance_view(gateway, None, _read_ahead(read_at=5.0))
    assert view.list_reconnections("7001") == [CLAIM]
    assert view.search_tickets(QUERY) == []
    assert gateway.calls == 0
    assert cache.ledger.get("7001") == [CLAIM]
    assert cache.search.get(QUERY) == []
    clock.now = 34.9
    assert cache.ledger.get("7001") == [CLAIM]
    clock.now = 35.0  # 30 s after the read began, not after it was served
    assert cache.ledger.get("7001") is None
    assert cache.search.get(QUERY) is None
    # Once: a second list of the same load reads Zendesk.
    assert view.list_reconnections("7001") == []
    assert gateway.calls == 1


def test_a_read_ahead_begun_before_a_drop_is_not_kept() -> None:
    """A claim made while the loop read was under way: the answer serves this load only."""
    clock = Clock()
    cache = ReadCache(30.0, 900.0, clock=clock)
    clock.now = 2.0
    cache.ledger.drop("7001")  # e.g. an apply's claim, after the read began at 1.0
    view = cache.guidance_view(FakeGateway(), None, _read_ahead(read_at=1.0))
    assert view.list_reconnections("7001") == [CLAIM]
    assert cache.ledger.get("7001") is None


def test_a_read_ahead_begun_before_a_clear_is_not_kept() -> None:
    """A ledger record removed (every cache cleared) after the read began: nothing stored."""
    clock = Clock()
    cache = ReadCache(30.0, 900.0, clock=clock)
    clock.now = 2.0
    cache.clear()
    view = cache.guidance_view(FakeGateway(), None, _read_ahead(read_at=1.0))
    assert view.list_reconnections("7001") == [CLAIM]
    assert view.search_tickets(QUERY) == []
    assert (cache.ledger.get("7001"), cache.search.get(QUERY)) == (None, None)


def test_each_view_serves_its_own_copy_of_the_reads() -> None:
    """A run that used a read leaves it for the next run of the load (the replay)."""
    cache = ReadCache(30.0, 900.0)
    ahead = _read_ahead(read_at=cache.ledger.now())
    first = cache.guidance_view(FakeGateway(), None, ahead)
    assert first.list_reconnections("7001") == [CLAIM]
    second = cache.guidance_view(FakeGateway(), None, ahead)
    assert second.list_reconnections("7001") == [CLAIM]
    assert len(ahead) == 2
