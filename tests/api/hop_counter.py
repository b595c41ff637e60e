"""Counting the calls that leave the event loop for anyio's threadpool (a hop each)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread


class HopCounter:
    """Counts calls that leave the event loop for anyio's threadpool."""

    def __init__(self) -> None:
        self.hops = 0
        self.original = anyio.to_thread.run_sync

    async def run_sync(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Count, then hop as usual."""
        self.hops += 1
        return await self.original(func, *args, **kwargs)
