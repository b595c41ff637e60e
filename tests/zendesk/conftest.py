"""Fixtures: a live emulator on loopback and ZenpyGateways pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from backend.emulator.server import EmulatorServer
from backend.zendesk.gateway import WaitPolicy
from backend.zendesk.zenpy_gateway import RetryPolicy, ZenpyGateway

GatewayFactory = Callable[..., ZenpyGateway]


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    """A fresh emulator on a free port, with Zenpy's env overrides pointing at it."""
    with EmulatorServer(rate_limit_per_minute=100_000) as server:
        monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
        monkeypatch.setenv("ZENPY_FORCE_NETLOC", server.url.removeprefix("http://"))
        yield server


@pytest.fixture
def make_gateway(emulator: EmulatorServer) -> Iterator[GatewayFactory]:
    """Build gateways with quick backoff; every one is closed at teardown."""
    made: list[ZenpyGateway] = []

    def build(
        wait_policy: WaitPolicy = "interactive",
        max_wait: float = 3.0,
        retries: int = 2,
        timeout: float = 5.0,
    ) -> ZenpyGateway:
        gateway = ZenpyGateway(
            subdomain="emulator",
            email="agent@example.com",
            token="test-token",
            timeout=timeout,
            policy=RetryPolicy(wait_policy, max_wait, retries, backoff_base=0.02, backoff_cap=0.1),
        )
        made.append(gateway)
        return gateway

    yield build
    for gateway in made:
        gateway.close()


@pytest.fixture
def gateway(make_gateway: GatewayFactory) -> ZenpyGateway:
    """An interactive gateway (3 s wait budget, 2 retries)."""
    return make_gateway()
