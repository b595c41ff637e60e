"""Fixtures: a running emulator, an authenticated requests session, a zenpy client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from emulator_helpers import Api
from zenpy import Zenpy

from backend.emulator import EmulatorServer, EmulatorStore


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """A fresh emulator on a free loopback port."""
    with EmulatorServer(EmulatorStore()) as server:
        yield server


@pytest.fixture
def store(emulator: EmulatorServer) -> EmulatorStore:
    """The running emulator's store."""
    return emulator.store


@pytest.fixture
def api(emulator: EmulatorServer) -> Iterator[Api]:
    """An authenticated requests session against the emulator."""
    session = requests.Session()
    session.auth = ("agent@example.com/token", "secret-token")
    try:
        yield Api(emulator.url, session)
    finally:
        session.close()


@pytest.fixture
def zenpy_client(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Zenpy]:
    """A zenpy client pointed at the emulator through ZENPY_FORCE_* (read per request)."""
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", f"127.0.0.1:{emulator.port}")
    session = requests.Session()
    client = Zenpy(
        subdomain="emulator",
        email="agent@example.com",
        token="secret-token",
        session=session,
        disable_cache=True,
        timeout=10,
    )
    try:
        yield client
    finally:
        session.close()


@pytest.fixture
def dropdown(store: EmulatorStore) -> dict[str, Any]:
    """A dropdown field with two options, the first nested with ``::``."""
    return store.create_field(
        {
            "type": "tagger",
            "title": "Call kind",
            "custom_field_options": [
                {"name": "Calls::Company call", "value": "kind_company"},
                {"name": "Partner call", "value": "kind_partner"},
            ],
        }
    )
