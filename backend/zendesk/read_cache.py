"""Short-lived reads shared by the sidebar's loads of one ticket (one cache per gateway).

A handled ticket is 4 guidance loads (1 GET + 3 from the open form) and 1 apply. Two
reads repeat inside it and are cached here, per gateway (one gateway = one account):

- The reconnection history (ledger list, and the pre-ledger search) of a 원콜, for
  `history_seconds`. The first load (GET, `guidance_view`) reads it from Zendesk and
  refreshes the cache; the form loads (`form_view`) and apply (`apply_view`) reuse it.
  Apply may: the once-only rule is carried by the ledger claim, not by this read. An
  eligible apply claims (create), then lists the ledger — that list is always read from
  Zendesk, and a claim another ticket made since the cached read loses the eligible
  apply its claim there (backend/reconnections.py `claim_reconnection`); an eligible
  apply with no 강콜 ID to claim lists the ledger again, from Zendesk. A non-eligible
  apply writes no reconnection; what it may miss is a claim made in another process
  less than `history_seconds` ago, in its note's count (docs/ARCHITECTURE.md "The
  once-only ledger"). Claims and removals made through this process forget the cached
  ledger at once, and a read that began before such a change is never stored.
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
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

from backend.zendesk.gateway import (
    ReconnectionClaim,
    ReconnectionRecord,
    TicketRecord,
    TicketUpdate,
    ZendeskGateway,
)

__all__ = ["HistoryKey", "HistoryRead", "Prefetched", "ReadCache", "TtlCache"]

V = TypeVar("V")
MAX_ENTRIES = 1024


class _Forgotten:
    """The mark `drop` leaves: reads begun before it are not stored."""


_FORGOTTEN = _Forgotten()


class TtlCache(Generic[V]):
    """A thread-safe, bounded map whose entries expire `ttl` seconds after they were read.

    An entry is stamped with the time its read *began* (`read_at`), so its age bounds how
    old the data can be. A put never replaces a newer read, nor lands on a key dropped
    (or a cache cleared) after its read began: a slow read cannot bring back what a
    write just made stale.
    """

    def __init__(
        self,
        ttl: float,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, V | _Forgotten]] = OrderedDict()
        self._cleared_at = float("-inf")
        self._lock = threading.Lock()

    def now(self) -> float:
        """The cache's clock: take it before a read, pass it to `put`."""
        return self._clock()

    def get(self, key: Hashable) -> V | None:
        """The live value of `key`, or None (expired entries are dropped)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if self._clock() - entry[0] >= self.ttl:
                del self._entries[key]
                return None
            value = entry[1]
            return None if isinstance(value, _Forgotten) else value

    def put(self, key: Hashable, value: V, read_at: float | None = None) -> None:
        """Store `value`, read at `read_at` (default now); no-op when the TTL is 0.

        Ignored when a newer read or a drop of `key` (or a clear) came after `read_at`.
        The oldest entry goes when full.
        """
        if self.ttl <= 0:
            return
        with self._lock:
            stamp = self._clock() if read_at is None else read_at
            if stamp < self._cleared_at:
                return
            entry = self._entries.get(key)
            if entry is not None and entry[0] > stamp:
                return
            self._store(key, stamp, value)

    def drop(self, key: Hashable) -> None:
        """Forget `key`; a read of it begun before now will not be stored."""
        if self.ttl <= 0:
            return
        with self._lock:
            self._store(key, self._clock(), _FORGOTTEN)

    def clear(self) -> None:
        """Forget everything; no read begun before now will be stored."""
        with self._lock:
            self._entries.clear()
            self._cleared_at = self._clock()

    def _store(self, key: Hashable, stamp: float, value: V | _Forgotten) -> None:
        self._entries[key] = (stamp, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            live = [value for _, value in self._entries.values()]
            return sum(1 for value in live if not isinstance(value, _Forgotten))


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

    def guidance_view(
        self,
        gateway: ZendeskGateway,
        prefetched: Prefetched | None = None,
        history: Mapping[HistoryKey, HistoryRead] | None = None,
    ) -> ZendeskGateway:
        """The gateway for the first load (GET): every read fresh, record and history kept.

        `prefetched`: the ticket was just read (on the event loop); its first `get_ticket`
        gives that record, kept as read when that read began. `history`: reads of the
        ledger list / search made for this load already (on the event loop), keyed by
        method and argument; each serves the first such call, stored in the cache as of
        when *its* read began (so a drop since keeps it out).
        """
        view = _GuidanceView(gateway, self, reuse_history=False)
        view.prefetched = prefetched
        if history:
            view.history = dict(history)
        return cast(ZendeskGateway, view)

    def form_view(self, gateway: ZendeskGateway) -> ZendeskGateway:
        """The gateway for a load from the open form: a 원콜's history from the cache."""
        return cast(ZendeskGateway, _GuidanceView(gateway, self, reuse_history=True))

    def apply_view(self, gateway: ZendeskGateway, ticket_updated_at: str) -> ZendeskGateway:
        """The gateway for an apply: the GET's record if still current, history cached.

        The ledger list after this apply's own claim is always read from Zendesk.
        """
        return cast(ZendeskGateway, _ApplyView(gateway, self, ticket_updated_at))


class _View:
    """Passes every call it does not define to the wrapped gateway."""

    def __init__(self, inner: ZendeskGateway, cache: ReadCache, *, reuse_history: bool) -> None:
        self._inner = inner
        self._cache = cache
        self._reuse = reuse_history

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def list_reconnections(self, origin_call_id: str) -> list[ReconnectionRecord]:
        """The 원콜's ledger records (reused for `history_seconds` when this view may)."""
        cached = self._cache.ledger.get(origin_call_id) if self._reuse else None
        return list(cached) if cached is not None else self._read_ledger(origin_call_id)

    def _read_ledger(self, origin_call_id: str) -> list[ReconnectionRecord]:
        """The 원콜's ledger from Zendesk, kept for the next loads."""
        read_at = self._cache.ledger.now()
        claims = self._inner.list_reconnections(origin_call_id)
        self._cache.ledger.put(origin_call_id, claims, read_at)
        return list(claims)

    def search_tickets(self, query: str) -> list[TicketRecord]:
        """A search's tickets (reused for `history_seconds` when this view may)."""
        cached = self._cache.search.get(query) if self._reuse else None
        if cached is None:
            read_at = self._cache.search.now()
            cached = self._inner.search_tickets(query)
            self._cache.search.put(query, cached, read_at)
        return list(cached)

    def update_ticket(self, update: TicketUpdate) -> TicketRecord:
        """Write, and forget the record read before the write."""
        self._cache.records.drop(update.ticket_id)
        try:
            return self._inner.update_ticket(update)
        finally:
            self._cache.records.drop(update.ticket_id)

    def create_reconnection(self, claim: ReconnectionClaim) -> ReconnectionRecord:
        """Claim, and forget this process's cached ledger of the 원콜 (it just changed)."""
        self._cache.ledger.drop(claim.origin_call_id)
        try:
            return self._inner.create_reconnection(claim)
        finally:
            self._cache.ledger.drop(claim.origin_call_id)

    def delete_reconnection(self, record_id: str) -> None:
        """Remove a ledger record; every cached ledger may hold it, so all are forgotten."""
        try:
            self._inner.delete_reconnection(record_id)
        finally:
            self._cache.ledger.clear()


@dataclass(frozen=True, slots=True)
class Prefetched:
    """A ticket read already made for this load: the record, and when its read began."""

    ticket_id: int
    record: TicketRecord
    read_at: float


# A history read made ahead for one load: ("list_reconnections", 원콜) or ("search_tickets", query).
HistoryKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class HistoryRead:
    """A ledger list or search already read for this load, and when its read began."""

    items: list[Any]
    read_at: float


class _GuidanceView(_View):
    """Guidance: ticket reads go to Zendesk and are kept for apply; history maybe reused."""

    prefetched: Prefetched | None = None
    history: dict[HistoryKey, HistoryRead] | None = None

    def list_reconnections(self, origin_call_id: str) -> list[ReconnectionRecord]:
        """The ledger read ahead for this load (once), else as any view reads it."""
        return self._read_ahead(
            "list_reconnections", origin_call_id, self._cache.ledger, super().list_reconnections
        )

    def search_tickets(self, query: str) -> list[TicketRecord]:
        """The search read ahead for this load (once), else as any view reads it."""
        return self._read_ahead("search_tickets", query, self._cache.search, super().search_tickets)

    def _read_ahead(
        self, name: str, argument: str, kept: TtlCache[Any], read: Callable[[str], list[Any]]
    ) -> list[Any]:
        # Once: a second such call of this load reads Zendesk, as the record's does.
        early = None if self.history is None else self.history.pop((name, argument), None)
        if early is None:
            return read(argument)
        kept.put(argument, early.items, early.read_at)
        return list(early.items)

    def get_ticket(self, ticket_id: int) -> TicketRecord:
        """Read the ticket (always), and keep the record for a following apply."""
        prefetched = self.prefetched
        if prefetched is not None and prefetched.ticket_id == ticket_id:
            self.prefetched = None  # once: a second read of this load goes to Zendesk
            self._cache.records.put(ticket_id, prefetched.record, prefetched.read_at)
            return prefetched.record
        read_at = self._cache.records.now()
        record = self._inner.get_ticket(ticket_id)
        self._cache.records.put(ticket_id, record, read_at)
        return record


class _ApplyView(_View):
    """Apply: the first ticket read may be the GET's record; history from the cache.

    Only the first ledger list of a 원콜 may come from the cache. Once this apply has
    claimed (`create_reconnection`), and for any later list of a 원콜 (the recheck of an
    eligible decision with nothing to claim, a retry after 409), the ledger is Zendesk's:
    read again, or — once — the list this apply itself read from Zendesk a moment ago.
    The once-only rule is decided on those lists, never on a cached one.
    """

    def __init__(self, inner: ZendeskGateway, cache: ReadCache, ticket_updated_at: str) -> None:
        super().__init__(inner, cache, reuse_history=True)
        self._stamp = ticket_updated_at
        self._first_read = True
        self._listed: set[str] = set()
        self._read_here: dict[str, list[ReconnectionRecord]] = {}

    def list_reconnections(self, origin_call_id: str) -> list[ReconnectionRecord]:
        """The cached list the first time a 원콜 is asked for, Zendesk's after that."""
        if not self._reuse:
            return self._read_ledger(origin_call_id)
        if origin_call_id in self._listed:
            here = self._read_here.pop(origin_call_id, None)
            return list(here) if here is not None else self._read_ledger(origin_call_id)
        self._listed.add(origin_call_id)
        cached = self._cache.ledger.get(origin_call_id)
        if cached is not None:
            return list(cached)
        claims = self._read_here[origin_call_id] = self._read_ledger(origin_call_id)
        return list(claims)

    def get_ticket(self, ticket_id: int) -> TicketRecord:
        """The record the agent's guidance was read from, once, if it is the one applied."""
        first, self._first_read = self._first_read, False
        if first:
            cached = self._cache.records.get(ticket_id)
            if cached is not None and _same_instant(cached.updated_at, self._stamp):
                return cached
        # A retry after 409, or no usable record: read Zendesk.
        return self._inner.get_ticket(ticket_id)

    def create_reconnection(self, claim: ReconnectionClaim) -> ReconnectionRecord:
        """Claim; from now on this apply reads the ledger from Zendesk only."""
        self._reuse = False
        self._read_here.clear()
        return super().create_reconnection(claim)


def _same_instant(left: str, right: str) -> bool:
    """True when two Zendesk timestamps name the same instant (empty never matches)."""
    if not left or not right:
        return False
    try:
        return datetime.fromisoformat(left) == datetime.fromisoformat(right)
    except ValueError:
        return left == right
