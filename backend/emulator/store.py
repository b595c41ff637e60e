"""In-memory Zendesk state: tickets, comments, ticket fields, macros, articles, jobs.

Everything is guarded by one re-entrant lock so the threaded HTTP server and
in-process tests can share a store. Records are kept in an internal form and
rendered into Zendesk's JSON shapes on the way out (URLs need a base URL, which
the server passes from the request's Host header). Each part lives in its own
module; `EmulatorStore` puts them together.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable

from backend.emulator.custom_objects import CustomObjectsMixin
from backend.emulator.faults import Fault
from backend.emulator.fields import FieldsMixin
from backend.emulator.forms import FormsMixin
from backend.emulator.helpcenter import HelpCenterMixin
from backend.emulator.limits import EndpointLimitsMixin, LimitsMixin
from backend.emulator.macros import MacrosMixin
from backend.emulator.shapes import (
    AGENT_ID,
    AGENT_NAME,
    CUSTOMER_ID,
    DEFAULT_BASE_URL,
    DEFAULT_RATE_LIMIT,
    JSON,
    ApiError,
    RateDecision,
    make_not_found,
    make_record_invalid,
    normalize_tags,
)
from backend.emulator.state import _State
from backend.emulator.ticket_ops import TicketOpsMixin
from backend.emulator.users import UsersMixin

__all__ = [
    "AGENT_ID",
    "AGENT_NAME",
    "CUSTOMER_ID",
    "JSON",
    "ApiError",
    "EmulatorStore",
    "RateDecision",
    "make_not_found",
    "make_record_invalid",
    "normalize_tags",
]


class EmulatorStore(
    TicketOpsMixin,
    MacrosMixin,
    FieldsMixin,
    FormsMixin,
    HelpCenterMixin,
    UsersMixin,
    CustomObjectsMixin,
    LimitsMixin,
    EndpointLimitsMixin,
):
    """Thread-safe in-memory Zendesk account used by the emulator server and tests."""

    def __init__(
        self,
        *,
        rate_limit_per_minute: int = DEFAULT_RATE_LIMIT,
        search_lag_seconds: float = 0.0,
        unique_external_ids: bool = True,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._clock = clock or time.time
        # A manual clock moves when the store waits; the real one moves by itself.
        self._sleep: Callable[[float], None] = getattr(clock, "sleep", time.sleep)
        self.base_url = DEFAULT_BASE_URL
        self.search_lag_seconds = search_lag_seconds
        self.unique_external_ids = unique_external_ids
        self._state = _State(rate_limit_per_minute=rate_limit_per_minute)
        self._seed_system_fields()
        self._initial = copy.deepcopy(self._state)
        self._marked = False
        self._counters = self._make_zero_counters()
        self._faults: list[Fault] = []
        self._window_start: float | None = None
        self._window_count = 0
        self._endpoint_hits: dict[str, list[float]] = {}

    def mark_initial(self) -> None:
        """Remember the current state as the one reset() returns to."""
        with self._lock:
            self._initial = copy.deepcopy(self._state)
            self._marked = True

    @property
    def is_marked(self) -> bool:
        """Tell whether mark_initial() was called (the server marks on start otherwise)."""
        return self._marked

    def reset(self) -> None:
        """Restore the initial seeded state; clear counters, faults and the rate windows."""
        with self._lock:
            self._state = copy.deepcopy(self._initial)
            self._counters = self._make_zero_counters()
            self._faults = []
            self._window_start = None
            self._window_count = 0
            self._endpoint_hits = {}
