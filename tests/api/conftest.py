"""Fixtures for the API tests: settings, a FakeGateway-backed app and a TestClient."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import anyio.to_thread
import pytest
from api_helpers import TicketFactory
from fastapi import FastAPI
from hop_counter import HopCounter
from pydantic import SecretStr
from starlette.exceptions import StarletteDeprecationWarning

from backend.api import deps
from backend.api.app import create_app
from backend.domain.fields import FieldCatalog, load_field_catalog
from backend.settings import REPO_ROOT, Settings
from backend.zendesk.fake_gateway import FakeGateway
from tooling.fake_directory import FakeDirectory
from tooling.harness.proxy import ZendeskSigner
from tooling.testing import (
    TEST_AGENT_ID,
    TEST_SESSION_SECRET,
    TEST_SHARED_SECRET,
    build_auth_headers,
)

# Starlette 1.x warns that it prefers httpx2 for its TestClient; httpx is what we have.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

FIELD_ID_BASE = 360_000_000


@pytest.fixture(scope="session")
def catalog_fields() -> FieldCatalog:
    """The field catalog of the repo's guides."""
    return load_field_catalog(REPO_ROOT / "macros" / "fields.yaml")


@pytest.fixture(scope="session")
def field_map(catalog_fields: FieldCatalog) -> dict[str, int]:
    """A field map as `fields bootstrap` would write it (every Zendesk field gets an id)."""
    return {
        key: FIELD_ID_BASE + index
        for index, key in enumerate(catalog_fields.keys())
        if catalog_fields.get(key).zendesk
    }


@pytest.fixture(scope="session")
def signer() -> ZendeskSigner:
    """Zendesk's app signer with a key pair made for this test run."""
    return ZendeskSigner("https://acme.zendesk.com")


@pytest.fixture
def settings(tmp_path: Path, field_map: dict[str, int], signer: ZendeskSigner) -> Settings:
    """Settings with the test secret and a field map file in tmp_path."""
    path = tmp_path / "field_map.json"
    path.write_text(json.dumps(field_map), encoding="utf-8")
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        zendesk_url="https://acme.zendesk.com",
        zendesk_token=SecretStr("zendesk-api-token"),
        shared_secret=SecretStr(TEST_SHARED_SECRET),
        session_secret=SecretStr(TEST_SESSION_SECRET),
        zaf_public_key=signer.public_pem,
        zaf_installation_id=signer.installation_id,
        field_map=path,
        cors_origins=["https://acme.zendesk.com"],
    )


@pytest.fixture
def gateway() -> FakeGateway:
    """An empty in-memory Zendesk."""
    return FakeGateway()


@pytest.fixture
def directory() -> FakeDirectory:
    """Zendesk's users: the test agent is an admin (sees every ticket)."""
    fake = FakeDirectory()
    fake.add_user(TEST_AGENT_ID, "admin")
    return fake


@pytest.fixture
def app(settings: Settings, gateway: FakeGateway, directory: FakeDirectory) -> FastAPI:
    """The API wired to the FakeGateway and FakeDirectory through dependency overrides."""
    application = create_app(settings)
    application.dependency_overrides[deps.get_gateway] = lambda: gateway
    application.dependency_overrides[deps.get_directory] = lambda: directory
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A TestClient that reports server exceptions as 500 answers (like production)."""
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def headers(settings: Settings) -> dict[str, str]:
    """A valid Authorization header."""
    return build_auth_headers(settings)


@pytest.fixture
def tickets(
    gateway: FakeGateway, field_map: dict[str, int], catalog_fields: FieldCatalog
) -> TicketFactory:
    """A factory of FakeGateway tickets from semantic values."""
    return TicketFactory(gateway, field_map, catalog_fields)


@pytest.fixture
def async_app(app: FastAPI, gateway: FakeGateway, directory: FakeDirectory) -> FastAPI:
    """The API with async overrides (sync ones would add hops of their own)."""

    async def fake_gateway() -> FakeGateway:
        return gateway

    async def fake_directory() -> FakeDirectory:
        return directory

    app.dependency_overrides[deps.get_gateway] = fake_gateway
    app.dependency_overrides[deps.get_directory] = fake_directory
    return app


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> HopCounter:
    """The threadpool hops of the test's requests."""
    counter = HopCounter()
    monkeypatch.setattr(anyio.to_thread, "run_sync", counter.run_sync)
    return counter
