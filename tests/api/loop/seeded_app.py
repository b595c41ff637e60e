"""The production app on a seeded emulator (real gateway, no override): loop-path test setup."""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hop_counter import HopCounter
from pydantic import SecretStr
from starlette.exceptions import StarletteDeprecationWarning

from backend.api.app import create_app
from backend.bootstrap import bootstrap_fields
from backend.demo import seed_demo
from backend.domain.fields import load_field_catalog
from backend.emulator.server import EmulatorServer
from backend.logs import configure_logging
from backend.settings import Settings
from backend.zendesk.zenpy_gateway import ZenpyGateway
from tooling.harness.proxy import ZendeskSigner
from tooling.testing import (
    TEST_SESSION_SECRET,
    TEST_SHARED_SECRET,
    TEST_ZENDESK_TOKEN,
    ZENPY_ENV,
    build_auth_headers,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

__all__ = [
    "Seeded",
    "TestClient",
    "access_calls",
    "assert_answered_in_a_thread",
    "assert_rate_limited_at_once",
    "emulator_calls",
    "guidance",
    "production_client",
    "seeded_emulator",
]


class Seeded:
    """The emulator with the demo tickets, and the settings pointing at it."""

    def __init__(self, emulator: EmulatorServer, settings: Settings, ticket_ids: list[int]):
        self.emulator = emulator
        self.settings = settings
        self.ticket_ids = ticket_ids


@contextmanager
def seeded_emulator(folder: Path) -> Iterator[Seeded]:
    """An emulator, fields bootstrapped and the demo seeded; the settings pointing at it."""
    saved = {name: os.environ.get(name) for name in ZENPY_ENV}
    try:
        with EmulatorServer(rate_limit_per_minute=100_000) as emulator:
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                zendesk_url=emulator.url,
                zendesk_token=SecretStr(TEST_ZENDESK_TOKEN),
                shared_secret=SecretStr(TEST_SHARED_SECRET),
                session_secret=SecretStr(TEST_SESSION_SECRET),
                zaf_public_key=ZendeskSigner.process_public_pem(),
                zaf_installation_id=ZendeskSigner.DEFAULT_INSTALLATION,
                field_map=folder / "field_map.json",
                zendesk_timeout_seconds=1.0,
                interactive_max_wait_seconds=2.0,
                retries=1,
            )
            fields = load_field_catalog(settings.guides_dir / "fields.yaml")
            with ZenpyGateway.from_settings(settings, wait_policy="batch") as gateway:
                field_map = bootstrap_fields(gateway, fields, settings.field_map)
                ids = list(seed_demo(gateway, fields, field_map))
            yield Seeded(emulator, settings, ids)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def production_client(seeded: Seeded) -> Iterator[TestClient]:
    """The production app on the seeded emulator (its gateway opened and closed by lifespan)."""
    # Access lines to the current stdout (capsys), whatever stream an earlier test chose.
    configure_logging("INFO")
    seeded.emulator.store.set_faults([])
    try:
        with TestClient(create_app(seeded.settings), raise_server_exceptions=False) as client:
            yield client
    finally:
        seeded.emulator.store.set_faults([])


def access_calls(capsys: pytest.CaptureFixture[str]) -> list[int]:
    """The `zendesk_calls` of the access-log lines printed since the last read."""
    calls = []
    for line in capsys.readouterr().out.splitlines():
        if '"guidepost.access"' in line:
            calls.append(json.loads(line).get("zendesk_calls", 0))
    return calls


def guidance(client: TestClient, seeded: Seeded, ticket_id: int) -> Any:
    """GET guidance of a ticket."""
    headers = build_auth_headers(seeded.settings)
    return client.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers)


def emulator_calls(seeded: Seeded) -> int:
    """Requests the emulator answered so far."""
    total: int = seeded.emulator.store.counters()["total"]
    return total


def assert_rate_limited_at_once(
    client: TestClient,
    seeded: Seeded,
    capsys: pytest.CaptureFixture[str],
    ticket_id: int,
    path: str,
    calls: int,
) -> None:
    """A 429 past the wait budget on GETs of `path`: 503 with its Retry-After, no wait, `calls`."""
    seeded.emulator.store.set_faults(
        [{"kind": "rate_limit", "retry_after": 45, "method": "GET", "path": path}]
    )
    before = emulator_calls(seeded)
    started = time.monotonic()
    answer = guidance(client, seeded, ticket_id)
    assert time.monotonic() - started < 1.0
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "45"
    assert emulator_calls(seeded) - before == calls
    assert access_calls(capsys) == [calls]


def assert_answered_in_a_thread(
    client: TestClient,
    seeded: Seeded,
    capsys: pytest.CaptureFixture[str],
    hops: HopCounter,
    ticket_id: int,
    expected: Any,
    *,
    calls: int,
    waited: bool,
) -> None:
    """After one failed loop attempt: the same answer, `calls` counted, one hop (a 429 sat out)."""
    before_calls, before_hops = emulator_calls(seeded), hops.hops
    started = time.monotonic()
    answer = guidance(client, seeded, ticket_id)
    assert (answer.status_code, answer.json()) == (expected.status_code, expected.json())
    assert emulator_calls(seeded) - before_calls == calls
    assert access_calls(capsys) == [calls]
    assert hops.hops - before_hops == 1
    if waited:
        assert time.monotonic() - started >= 1.0  # Retry-After sat out before the retry
