"""Short-lived reads shared by the sidebar's loads of one ticket (one cache per gateway).

A handled ticket is 4 guidance loads (1 GET + 3 from the open form) and 1 apply. Two
reads repeat inside it and are cached here, per gateway (one gateway = one account):

- The reconnection history (ledger list, and the pre-ledger search) of a 원콜, for
  `history_seconds`, reused by the **form loads only** (`form_view`). The first load
  (GET, `guidance_view`) and apply (`apply_view`) always read it from Zendesk and
  refresh the cache; the once-only rule is decided at apply, so a claim another ticket
  made between two form loads is seen there.
- The ticket record the GET load read, for apply: used only when its `updated_at` is
  the stamp the agent applies with. The write-back carries `safe_update` +
  `updated_stamp`, so Zendesk answers 409 if the ticket changed since that read
  (shared/notes/ZENDESK.md "Collision protection"); the retry after a 409 reads the
  ticket again, uncached. A cached record can therefore cost a 409, never a lost write.

Never imports `backend.domain`.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

from backend.zendesk.gateway import (
    ReconnectionClaim,
    ReconnectionRecord,
    TicketRecord,
    TicketUpdate,
    ZendeskGateway,
)

__all__ = ["ReadCache", "TtlCache"]

V = TypeVar("V")
MAX_ENTRIES = 1024


class TtlCache(Generic[V]):
    """A thread-safe, bounded map whose entries expire `ttl` seconds after they were stored."""

    def __init__(
        self,
        ttl: float,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        """The live value of `key`, or None (expired entries are dropped)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if self._clock() - entry[0] >= self.ttl:
                del self._entries[key]
                return None
            return entry[1]

    def put(self, key: Hashable, value: V) -> None:
        """Store `value` (no-op when the TTL is 0); the oldest entry goes when full."""
        if self.ttl <= 0:
            return
        with self._lock:
            self._entries[key] = (self._clock(), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def drop(self, key: Hashable) -> None:
        """Forget `key`."""
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


class ReadCache:
    """The cached reads of one gateway: reconnection history (guidance) and ticket records."""

    def __init__(
        self,
        history_seconds: float,
        record_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ledger: TtlCache[list[ReconnectionRecord]] = TtlCache(history_seconds, clock=clock)
        self.search: TtlCache[list[TicketRecord]] = TtlCache(history_seconds, clock=clock)
        self.records: TtlCache[TicketRecord] = TtlCache(record_seconds, clock=clock)

    def clear(self) -> None:
        """Forget every cached read."""
        self.ledger.clear()
        self.search.clear()
        self.records.clear()

    def guidance_view(self, gateway: ZendeskGateway) -> ZendeskGateway:
        """The gateway for the first load (GET): every read fresh, record and history kept."""
        return cast(ZendeskGateway, _GuidanceView(gateway, self, reuse_history=False))

    def form_view(self, gateway: ZendeskGateway) -> ZendeskGateway:
        """The gateway for a load from the open form: a 원콜's history from the cache."""
        return cast(ZendeskGateway, _GuidanceView(gateway, self, reuse_history=True))

    def apply_view(self, gateway: ZendeskGateway, ticket_updated_at: str) -> ZendeskGateway:
        """The gateway for an apply: the GET's record if still current, history uncached."""
        return cast(ZendeskGateway, _ApplyView(gateway, self, ticket_updated_at))


class _View:
    """Passes every call it does not define to the wrapped gateway."""

    def __init__(self, inner: ZendeskGateway, cache: ReadCache) -> None:
        self._inner = inner
        self._cache = cache

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def update_ticket(self, update: TicketUpdate) -> TicketRecord:
        """Write, and forget the record read before the write."""
        self._cache.records.drop(update.ticket_id)
        return self._inner.update_ticket(update)

    def create_reconnection(self, claim: ReconnectionClaim) -> ReconnectionRecord:
        """Claim, and forget this process's cached ledger of the 원콜 (it just changed)."""
        self._cache.ledger.drop(claim.origin_call_id)
        try:
            return self._inner.create_reconnection(claim)
        finally:
            self._cache.ledger.drop(claim.origin_call_id)

    def delete_reconnection(self, record_id: int) -> None:
        """Remove a ledger record; every cached ledger may hold it, so all are forgotten."""
        self._inner.delete_reconnection(record_id)
        self._cache.ledger.clear()


class _GuidanceView(_View):
    """Guidance: ticket reads go to Zendesk and are kept for apply; history maybe reused."""

    def __init__(self, inner: ZendeskGateway, cache: ReadCache, *, reuse_history: bool) -> None:
        super().__init__(inner, cache)
        self._reuse = reuse_history

    def get_ticket(self, ticket_id: int) -> TicketRecord:
        """Read the ticket (always), and keep the record for a following apply."""
        record = self._inner.get_ticket(ticket_id)
        self._cache.records.put(ticket_id, record)
        return record

    def list_reconnections(self, origin_call_id: str) -> list[ReconnectionRecord]:
        """The 원콜's ledger records (form loads: read at most once per `history_seconds`)."""
        cached = self._cache.ledger.get(origin_call_id) if self._reuse else None
        if cached is None:
            cached = self._inner.list_reconnections(origin_call_id)
            self._cache.ledger.put(origin_call_id, cached)
        return list(cached)

    def search_tickets(self, query: str) -> list[TicketRecord]:
        """A search's tickets (form loads: asked at most once per `history_seconds`)."""
        cached = self._cache.search.get(query) if self._reuse else None
        if cached is None:
            cached = self._inner.search_tickets(query)
            self._cache.search.put(query, cached)
        return list(cached)


class _ApplyView(_View):
    """Apply: the first ticket read may be the GET's record; every history read is fresh."""

    def __init__(self, inner: ZendeskGateway, cache: ReadCache, ticket_updated_at: str) -> None:
        super().__init__(inner, cache)
        self._stamp = ticket_updated_at
        self._first_read = True

    def get_ticket(self, ticket_id: int) -> TicketRecord:
        """The record the agent's guidance was read from, once, if it is the one applied."""
        first, self._first_read = self._first_read, False
        if first:
            cached = self._cache.records.get(ticket_id)
            if cached is not None and _same_instant(cached.updated_at, self._stamp):
                return cached
        # A retry after 409, or no usable record: read Zendesk.
        return self._inner.get_ticket(ticket_id)

    def list_reconnections(self, origin_call_id: str) -> list[ReconnectionRecord]:
        """The ledger as Zendesk holds it now: the once-only rule is decided on this read.

        Never from the cache (a claim made by another ticket since the last guidance load
        must be seen); the fresh list then replaces the guidance path's cached one.
        """
        claims = self._inner.list_reconnections(origin_call_id)
        self._cache.ledger.put(origin_call_id, claims)
        return list(claims)

    def search_tickets(self, query: str) -> list[TicketRecord]:
        """Search Zendesk now; the answer replaces the form loads' cached one."""
        found = self._inner.search_tickets(query)
        self._cache.search.put(query, found)
        return list(found)


def _same_instant(left: str, right: str) -> bool:
    """True when two Zendesk timestamps name the same instant (empty never matches)."""
    if not left or not right:
        return False
    try:
        return datetime.fromisoformat(left) == datetime.fromisoformat(right)
    except ValueError:
        return left == right
