"""GET guidance reads the ticket on the event loop (issue 16, wave 6): same answers, fewer hops.

Against the real emulator and the real gateway (`create_app`, no gateway override): every
demo ticket answers exactly as the threadpool path does, with the same access-log call
count; no load makes a threadpool hop (wave 7: a 원콜's history is read on the loop too);
a 429 / 5xx / timeout / dropped connection on the loop attempt still gives the right
answer through the blocking path (the failed attempt counted), and a 404 the same
problem+json as before.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Iterator
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

TICKET_PATH = r"^/api/v2/tickets/\d+(\.json)?$"


class Seeded:
    """The emulator with the demo tickets, and the settings pointing at it."""

    def __init__(self, emulator: EmulatorServer, settings: Settings, ticket_ids: list[int]):
        self.emulator = emulator
        self.settings = settings
        self.ticket_ids = ticket_ids


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """One emulator for the module, fields bootstrapped and the demo seeded."""
    saved = {name: os.environ.get(name) for name in ZENPY_ENV}
    folder = tmp_path_factory.mktemp("loop")
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


@pytest.fixture
def client(seeded: Seeded) -> Iterator[TestClient]:
    """The production app on the seeded emulator (its gateway opened and closed by lifespan)."""
    # Access lines to the current stdout (capsys), whatever stream an earlier test chose.
    configure_logging("INFO")
    seeded.emulator.store.set_faults([])
    with TestClient(create_app(seeded.settings), raise_server_exceptions=False) as test_client:
        yield test_client
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


def test_every_demo_answer_is_the_threadpool_answer(
    client: TestClient,
    seeded: Seeded,
    hops: HopCounter,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Same status, body and access-log calls; 0 hops for every load, history or not."""
    guidance(client, seeded, seeded.ticket_ids[0])  # permissions read and cached
    on_loop: dict[int, tuple[int, Any, int, int]] = {}
    access_calls(capsys)
    for ticket_id in seeded.ticket_ids:
        before = hops.hops
        answer = guidance(client, seeded, ticket_id)
        (calls,) = access_calls(capsys)
        on_loop[ticket_id] = (answer.status_code, answer.json(), calls, hops.hops - before)
    # The gateway without its loop read: every load in the threadpool, as before.
    monkeypatch.delattr(ZenpyGateway, "get_ticket_nowait")
    kinds = set()
    for ticket_id in seeded.ticket_ids:
        before = hops.hops
        answer = guidance(client, seeded, ticket_id)
        (calls,) = access_calls(capsys)
        status, body, loop_calls, loop_hops = on_loop[ticket_id]
        assert (status, body, loop_calls) == (answer.status_code, answer.json(), calls)
        assert hops.hops - before == 1
        # Wave 7: a 원콜's history is read on the loop too (test_api_history_loop_w7.py).
        assert loop_hops == 0, (ticket_id, calls)
        kinds.add(calls)
    assert kinds == {1, 3}  # both kinds of load were compared


def test_apply_reuses_the_record_the_loop_read(
    client: TestClient, seeded: Seeded, capsys: pytest.CaptureFixture[str]
) -> None:
    """The read cache holds the loop's record: apply after it reads no ticket again."""
    ticket_id = seeded.ticket_ids[0]
    guidance(client, seeded, ticket_id)
    seen = guidance(client, seeded, ticket_id).json()
    cache = client.app.state.read_cache  # type: ignore[attr-defined]
    record = cache.records.get(ticket_id)
    assert record is not None
    assert record.updated_at == seen["ticket_updated_at"]


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "status", "status": 503},
        {"kind": "status", "status": 500},
        {"kind": "drop"},
        {"kind": "latency", "ms": 1500},
        {"kind": "rate_limit", "retry_after": 1},
    ],
    ids=["503", "500", "dropped", "timeout", "429"],
)
def test_a_failed_loop_read_is_made_again_in_a_thread(
    client: TestClient,
    seeded: Seeded,
    hops: HopCounter,
    capsys: pytest.CaptureFixture[str],
    fault: dict[str, Any],
) -> None:
    """One failed attempt on the loop: the blocking path answers right; both calls counted."""
    ticket_id = seeded.ticket_ids[0]
    expected = guidance(client, seeded, ticket_id)
    access_calls(capsys)
    seeded.emulator.store.set_faults([{**fault, "method": "GET", "path": TICKET_PATH, "times": 1}])
    before_calls, before_hops = emulator_calls(seeded), hops.hops
    started = time.monotonic()
    answer = guidance(client, seeded, ticket_id)
    assert (answer.status_code, answer.json()) == (expected.status_code, expected.json())
    assert emulator_calls(seeded) - before_calls == 2
    assert access_calls(capsys) == [2]
    assert hops.hops - before_hops == 1
    if fault["kind"] == "rate_limit":
        assert time.monotonic() - started >= 1.0  # Retry-After sat out before the retry


def test_a_long_rate_limit_is_503_at_once(
    client: TestClient, seeded: Seeded, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 429 past the wait budget: 503 with its Retry-After, after one call, no wait."""
    ticket_id = seeded.ticket_ids[0]
    guidance(client, seeded, ticket_id)
    access_calls(capsys)
    seeded.emulator.store.set_faults(
        [{"kind": "rate_limit", "retry_after": 45, "method": "GET", "path": TICKET_PATH}]
    )
    before = emulator_calls(seeded)
    started = time.monotonic()
    answer = guidance(client, seeded, ticket_id)
    assert time.monotonic() - started < 1.0
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "45"
    assert emulator_calls(seeded) - before == 1
    assert access_calls(capsys) == [1]


def test_a_missing_ticket_is_the_same_404(
    client: TestClient,
    seeded: Seeded,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The loop read's 404 is the blocking read's problem+json, one call each."""
    guidance(client, seeded, seeded.ticket_ids[0])
    access_calls(capsys)
    missing = max(seeded.ticket_ids) + 10_000
    on_loop = guidance(client, seeded, missing)
    loop_calls = access_calls(capsys)
    monkeypatch.delattr(ZenpyGateway, "get_ticket_nowait")
    in_thread = guidance(client, seeded, missing)
    assert on_loop.status_code == 404
    assert on_loop.headers["content-type"] == in_thread.headers["content-type"]
    assert on_loop.json() == in_thread.json()
    assert loop_calls == access_calls(capsys) == [1]
