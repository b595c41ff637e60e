"""The bench's stopwatch sees the GET guidance's event-loop reads; the floor route reads once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable

import httpx
from fastapi import FastAPI

from backend.api.deps import get_directory, get_gateway
from backend.zendesk.zenpy_gateway import ZenpyGateway
from tests.zendesk.loop_gateway import loop_gateway
from tests.zendesk.wire_server import Action, ScriptedServer, answer
from tooling.bench.server import (
    _CURRENT,
    NOWAIT_READS,
    READ_FLOOR_PATH,
    Stopwatch,
    add_read_floor,
    install_instruments,
)

TICKET = {"ticket": {"id": 1, "subject": "s", "updated_at": "2026-01-01T00:00:00Z"}}
SERVICE = ["X-Emulator-Service-Ms: 2.5"]


def pages(index: int, request: bytes) -> Iterable[Action]:
    """The ticket; a ledger list and a search of two pages each."""
    line = request.split(b"\r\n", 1)[0]
    body: dict[str, object]
    if b"/tickets/" in line:
        body = TICKET
    elif b"/search" in line:
        more = b"page=2" not in line
        body = {"results": [], "next_page": "https://x/api/v2/search.json?page=2" if more else None}
    else:
        more = b"after" not in line
        body = {
            "custom_object_records": [],
            "meta": {"has_more": more},
            "links": {"next": "https://x/api/v2/custom_objects/k/records?after=1"},
        }
    return [answer(body=json.dumps(body).encode(), headers=SERVICE)]


def test_the_loop_reads_are_timed_and_their_calls_counted() -> None:
    """5 calls (1 + 2 pages + 2 pages), each answer's service time; undone by restore."""
    plain = {name: ZenpyGateway.__dict__[name] for name in NOWAIT_READS}
    restore = install_instruments()
    try:
        assert all(ZenpyGateway.__dict__[name] is not plain[name] for name in NOWAIT_READS)
        with ScriptedServer(pages) as scripted:
            gateway = loop_gateway(scripted.url)
            watch = Stopwatch()

            async def work() -> None:
                _CURRENT.set(watch)
                try:
                    await gateway.get_ticket_nowait(1)
                    await gateway.list_reconnections_nowait("7001")
                    await gateway.search_tickets_nowait("tags:x")
                finally:
                    gateway.loop_wire.close()

            with gateway:
                asyncio.run(work())
        assert watch.calls == 5
        assert abs(watch.service_seconds - 5 * 0.0025) < 1e-9
        assert watch.seconds > 0
    finally:
        restore()
    assert all(ZenpyGateway.__dict__[name] is plain[name] for name in NOWAIT_READS)


def user_answer(index: int, request: bytes) -> Iterable[Action]:
    """A user read, with the emulator's stated service time."""
    body = {"user": {"id": 5, "role": "admin", "active": True}}
    return [answer(body=json.dumps(body).encode(), headers=SERVICE)]


def test_a_directory_read_is_timed_as_gateway_time_not_counted_as_a_call() -> None:
    """Its service time reaches the stopwatch (hook), so its duration must too; restore undoes."""
    from backend.zendesk.users import ZenpyDirectory
    from tooling.bench.server import DIRECTORY_READS

    plain = {name: ZenpyDirectory.__dict__[name] for name in DIRECTORY_READS}
    restore = install_instruments()
    try:
        assert all(ZenpyDirectory.__dict__[name] is not plain[name] for name in DIRECTORY_READS)
        with ScriptedServer(user_answer) as scripted:
            gateway = loop_gateway(scripted.url)
            watch = Stopwatch()
            token = _CURRENT.set(watch)
            try:
                with gateway:
                    profile = ZenpyDirectory(gateway).get_user_profile(5)
            finally:
                _CURRENT.reset(token)
        assert profile.role == "admin"
        assert abs(watch.service_seconds - 0.0025) < 1e-9
        # Its duration is gateway time (was 0: "Zendesk client" went negative by its service time).
        assert watch.seconds > 0
        assert watch.calls == 0  # authorization reads are counted apart
    finally:
        restore()
    assert all(ZenpyDirectory.__dict__[name] is plain[name] for name in DIRECTORY_READS)


def floor_app(gateway: object) -> FastAPI:
    """A bare app with the bench's floor route and this gateway (dependency overrides)."""
    app = FastAPI()
    add_read_floor(app)
    app.dependency_overrides[get_gateway] = lambda: gateway
    app.dependency_overrides[get_directory] = lambda: None
    return app


async def get_floor(app: FastAPI) -> httpx.Response:
    """GET the floor route of ticket 1 in process."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get(READ_FLOOR_PATH.format(ticket_id=1))


def test_the_read_floor_route_makes_one_loop_read_and_nothing_else() -> None:
    """The stack's floor: one GET of the ticket on the event loop, answered as id + updated_at."""
    seen: list[bytes] = []

    def ticket(index: int, request: bytes) -> Iterable[Action]:
        seen.append(request.split(b"\r\n", 1)[0])
        return [answer(body=json.dumps(TICKET).encode(), headers=SERVICE)]

    with ScriptedServer(ticket) as scripted:
        gateway = loop_gateway(scripted.url)
        app = floor_app(gateway)

        async def work() -> httpx.Response:
            try:
                return await get_floor(app)
            finally:
                gateway.loop_wire.close()

        with gateway:
            response = asyncio.run(work())
    assert response.status_code == 200
    assert response.json() == {"id": 1, "updated_at": "2026-01-01T00:00:00Z"}
    assert seen == [b"GET /api/v2/tickets/1.json HTTP/1.1"]


def test_the_read_floor_refuses_a_gateway_without_a_loop_read() -> None:
    """A gateway with no event-loop read (a fake) measures nothing: 502, not a floor."""
    response = asyncio.run(get_floor(floor_app(object())))
    assert response.status_code == 502
