"""A gateway on a scripted or emulated server, and running its loop reads on a fresh loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from backend.zendesk.zenpy_gateway import RetryPolicy, ZenpyGateway

T = TypeVar("T")


def loop_gateway(url: str, timeout: float = 2.0, ca_bundle: str | None = None) -> ZenpyGateway:
    """An emulator-mode gateway with short backoffs (one retry) for loop-read tests."""
    return ZenpyGateway(
        subdomain="emulator",
        email="agent@example.com",
        token="test-token",
        timeout=timeout,
        policy=RetryPolicy("interactive", 2.0, 1, backoff_base=0.01, backoff_cap=0.02),
        base_url=url,
        ca_bundle=ca_bundle,
    )


def on_loop(gateway: ZenpyGateway, work: Callable[[], Awaitable[T]]) -> T:
    """Run `work` on a fresh event loop; the gateway's loop connections closed on it."""

    async def run() -> T:
        try:
            return await work()
        finally:
            gateway.loop_wire.close()

    return asyncio.run(run())
