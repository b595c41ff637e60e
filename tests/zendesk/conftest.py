"""Fixtures: an emulator on loopback, ZenpyGateways pointed at it, and the contract backends."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from contract_helpers import LIVE_ENV, LIVE_SKIP, Backend
from pydantic import SecretStr

from backend.domain.guides import GuideCatalog, load_catalog
from backend.domain.render import TextRenderer
from backend.emulator.server import EmulatorServer
from backend.settings import REPO_ROOT, Settings
from backend.zendesk.fake_gateway import FakeGateway
from backend.zendesk.gateway import WaitPolicy
from backend.zendesk.zenpy_gateway import RetryPolicy, ZenpyGateway

GatewayFactory = Callable[..., ZenpyGateway]


@pytest.fixture(scope="module")
def catalog() -> GuideCatalog:
    """The repo's guides (test_gateway_contract.py has its own `catalog`: the fields)."""
    return load_catalog(REPO_ROOT / "macros")


@pytest.fixture(scope="module")
def renderer(catalog: GuideCatalog) -> TextRenderer:
    """One renderer of the repo's guides."""
    return TextRenderer(catalog)


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


# ---- the gateway contract: one suite, three Zendesks --------------------------------


def _live_gateway() -> ZenpyGateway:
    values = {name: os.environ.get(name, "") for name in LIVE_ENV}
    if not all(values.values()):
        pytest.skip(LIVE_SKIP)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        zendesk_url=values["GUIDEPOST_LIVE_ZENDESK_URL"],
        zendesk_email=values["GUIDEPOST_LIVE_ZENDESK_EMAIL"],
        zendesk_token=SecretStr(values["GUIDEPOST_LIVE_ZENDESK_TOKEN"]),
    )
    return ZenpyGateway.from_settings(settings, wait_policy="batch")


@pytest.fixture(params=["fake", "emulator", "live"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Backend]:
    """The same contract against the in-process fake, Zenpy + emulator, and a live sandbox."""
    prefix = f"gpt{uuid.uuid4().hex[:8]}"
    server: EmulatorServer | None = None
    if request.param == "fake":
        fake = FakeGateway(lenient_fields=False)
        made = Backend("fake", fake, fake.store, prefix)
    elif request.param == "emulator":
        # Emulator mode must be scoped to the gateway: no Zenpy env override anywhere.
        monkeypatch.delenv("ZENPY_FORCE_SCHEME", raising=False)
        monkeypatch.delenv("ZENPY_FORCE_NETLOC", raising=False)
        server = EmulatorServer(rate_limit_per_minute=700).start()
        gateway = ZenpyGateway(
            subdomain="emulator",
            email="agent@example.com",
            token="test-token",
            timeout=5.0,
            policy=RetryPolicy("batch", 5.0, 2, backoff_base=0.02, backoff_cap=0.1),
            base_url=server.url,
        )
        made = Backend("emulator", gateway, server.store, prefix)
    else:
        made = Backend("live", _live_gateway(), None, prefix)
    try:
        yield made
    finally:
        for action in reversed(made.cleanup):
            try:
                action()
            except Exception as exc:  # cleanup goes on; the leftover is named
                print(f"cleanup in {made.name} failed: {exc!r}")
        made.gateway.close()
        if server is not None:
            server.stop()
