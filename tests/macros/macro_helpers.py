"""Shared helpers of the macro sync tests: the live emulator environment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from backend.emulator.server import EmulatorServer
from backend.emulator.store import EmulatorStore
from backend.settings import Settings
from backend.zendesk.zenpy_gateway import RetryPolicy, ZenpyGateway

ARTICLE_IDS = {"parking_onsite_payment": 1001, "force_reconnect": 1002}
TEST_TOKEN = "macro-sync-test-token"  # the emulator accepts any token


@dataclass
class Zendesk:
    """A live emulator holding the bootstrapped fields, the demo tickets and both articles."""

    server: EmulatorServer
    field_map: dict[str, int]
    ticket_ids: list[int]
    settings: Settings
    gateways: list[ZenpyGateway] = field(default_factory=list)

    @property
    def store(self) -> EmulatorStore:
        """The emulator's in-memory account."""
        return self.server.store

    def gateway(self, max_wait: float = 30.0) -> ZenpyGateway:
        """A batch gateway with quick backoff (closed at teardown)."""
        gateway = ZenpyGateway(
            subdomain="emulator",
            email="agent@example.com",
            token=TEST_TOKEN,
            timeout=5.0,
            policy=RetryPolicy("batch", max_wait, 2, backoff_base=0.02, backoff_cap=0.1),
        )
        self.gateways.append(gateway)
        return gateway

    def factory(self) -> Callable[[Settings], ZenpyGateway]:
        """A gateway factory for the commands (one fresh gateway per run)."""
        return lambda settings: self.gateway()

    def write_counts(self) -> dict[str, int]:
        """Count the macro requests the emulator saw, by route, plus all writes."""
        counters = self.store.counters()
        by_route = {k: v for k, v in counters["by_route"].items() if "/macros" in k}
        return {**by_route, "writes": counters["writes"], "total": counters["total"]}
