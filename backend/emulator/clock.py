"""A clock that moves only when told to: deterministic time for the store in tests."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

__all__ = ["DEFAULT_START", "ManualClock"]

DEFAULT_START = datetime(2024, 11, 20, 9, 0, 0, tzinfo=UTC)


class ManualClock:
    """Epoch seconds that advance only through `advance()`."""

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        self._now = start.timestamp()
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        with self._lock:
            self._now += seconds

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` on this clock: it moves forward at once."""
        self.advance(seconds)
