"""The event-loop ticket read (async_wire.py, `get_ticket_nowait`): wire.py's twin, one attempt.

Same bytes as the blocking raw path, kept-alive connections reused, a stale one reopened,
TLS verified with one handshake; a 429 / 5xx / timeout / dropped connection gives no
record (the caller reads on the blocking path) and a 404 the blocking path's error.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from backend.emulator.server import EmulatorServer
from backend.errors import RateLimitedError, TicketNotFoundError
from backend.zendesk.async_wire import AsyncWirePool
from backend.zendesk.gateway import NowaitRead
from backend.zendesk.wire import Endpoint
from backend.zendesk.zenpy_gateway import ZenpyGateway
from tests.zendesk.loop_gateway import loop_gateway as _gateway
from tests.zendesk.loop_gateway import on_loop
from tests.zendesk.wire_server import ScriptedServer, answer
from tooling.bench.tls import HandshakeCounter, make_local_ca

TICKET = (
    b'{"ticket": {"id": 1, "subject": "s", "tags": ["a"], "updated_at": "2026-01-01T00:00:00Z"}}'
)


def reads(gateway: ZenpyGateway, ticket_id: int, count: int) -> list[NowaitRead]:
    """`count` loop reads of one ticket, one after the other, on one loop."""

    async def work() -> list[NowaitRead]:
        return [await gateway.get_ticket_nowait(ticket_id) for _ in range(count)]

    return on_loop(gateway, work)


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(rate_limit_per_minute=100_000) as running:
        running.store.create_ticket({"subject": "s", "comment": {"body": "b"}, "tags": ["a"]})
        yield running


def test_the_loop_read_is_the_blocking_read_on_one_connection(server: EmulatorServer) -> None:
    """Five reads: the blocking read's record each time, one connection, five calls."""
    with _gateway(server.url) as gateway:
        expected = gateway.get_ticket(1)
        gateway.calls = 0
        found = reads(gateway, 1, 5)
        assert [read.record for read in found] == [expected] * 5
        assert [read.calls for read in found] == [1] * 5
        assert gateway.calls == 5
        assert gateway.loop_wire.opened == 1


def test_the_bytes_sent_are_the_blocking_paths() -> None:
    """Request line, headers and their order: byte for byte those of `get_ticket`."""
    with ScriptedServer(lambda index, request: [answer(body=TICKET)]) as scripted:
        with _gateway(scripted.url) as gateway:
            gateway.get_ticket(1)
            (read,) = reads(gateway, 1, 1)
        assert read.record is not None
        assert read.record.subject == "s"
        blocking, loop = scripted.requests
    assert loop == blocking
    assert loop.startswith(b"GET /api/v2/tickets/1.json HTTP/1.1\r\nHost: ")


def test_a_stale_connection_is_reopened() -> None:
    """The server closed the idle connection: the next read opens another, no fallback."""
    with ScriptedServer(lambda index, request: [answer(body=TICKET), None]) as scripted:
        with _gateway(scripted.url) as gateway:

            async def work() -> list[NowaitRead]:
                first = await gateway.get_ticket_nowait(1)
                await asyncio.sleep(0.05)  # the close arrives while idle
                return [first, await gateway.get_ticket_nowait(1)]

            found = on_loop(gateway, work)
            assert [read.record is not None for read in found] == [True, True]
            assert gateway.loop_wire.opened == 2
        assert scripted.connections == 2


def test_the_response_hooks_see_the_answer(server: EmulatorServer) -> None:
    """The session's hooks (the bench's stopwatch) see the loop's answer too."""
    seen: list[int] = []
    with _gateway(server.url) as gateway:
        gateway._session().hooks["response"].append(lambda response, **_: seen.append(1))
        reads(gateway, 1, 2)
    assert seen == [1, 1]


def test_tls_is_verified_with_one_handshake(tmp_path: Path) -> None:
    """Over HTTPS with the bench's local CA: one handshake for many reads; refused without."""
    ca, cert, key = make_local_ca(tmp_path)
    with EmulatorServer(rate_limit_per_minute=100_000) as server:
        server.store.create_ticket({"subject": "s", "comment": {"body": "b"}})
        handshakes = HandshakeCounter(server._httpd, cert, key)
        https = server.url.replace("http://", "https://")
        with _gateway(https) as untrusting:
            (refused,) = reads(untrusting, 1, 1)
        assert (refused.record, refused.problem, refused.calls) == (None, "connection failed", 1)
        with _gateway(https, ca_bundle=str(ca)) as trusting:
            before = handshakes.count
            found = reads(trusting, 1, 6)
            assert all(read.record is not None for read in found)
            assert handshakes.count - before == 1


def _one_answer(raw: bytes) -> Callable[[int, bytes], list[bytes | float | None]]:
    return lambda index, request: [raw]


@pytest.mark.parametrize(
    ("script", "retry_after", "problem"),
    [
        (_one_answer(answer("429 Too Many Requests", headers=["Retry-After: 7"])), 7.0, None),
        (_one_answer(answer("503 Service Unavailable")), None, "answered 503"),
        (_one_answer(answer("500 Internal Server Error")), None, "answered 500"),
        (lambda index, request: [None], None, "connection failed"),
        (lambda index, request: [answer(body=TICKET)[:40], None], None, "connection failed"),
        (lambda index, request: [1.0, answer(body=TICKET)], None, "timed out"),
        (_one_answer(answer(body=b'{"ticket": {"id": 1e400}}')), None, None),
    ],
    ids=["429", "503", "500", "dropped", "cut", "timeout", "overflow"],
)
def test_a_failed_attempt_gives_no_record(
    script: Callable[[int, bytes], list[bytes | float | None]],
    retry_after: float | None,
    problem: str | None,
) -> None:
    """No record, one call counted, what to sit out before the blocking read; no retry here."""
    # A short timeout only where the timeout is the failure (a loaded machine is slow).
    timeout = 0.3 if problem == "timed out" else 5.0
    with ScriptedServer(script) as scripted, _gateway(scripted.url, timeout=timeout) as gateway:
        (read,) = reads(gateway, 1, 1)
        assert (read.record, read.error, read.calls) == (None, None, 1)
        assert (read.retry_after, read.problem) == (retry_after, problem)
        assert read.where == "GET /api/v2/tickets/1.json"
        assert gateway.calls == 1
        assert len(scripted.requests) == 1
        assert gateway.loop_wire.idle() == 0  # a failed connection is never reused


def test_a_missing_ticket_is_the_blocking_paths_error(server: EmulatorServer) -> None:
    """A 404 gives the error `get_ticket` raises, with the same words."""
    with _gateway(server.url) as gateway:
        (read,) = reads(gateway, 404, 1)
        with pytest.raises(TicketNotFoundError) as blocking:
            gateway.get_ticket(404)
    assert isinstance(read.error, TicketNotFoundError)
    assert (read.record, read.calls) == (None, 1)
    assert str(read.error) == str(blocking.value)


def test_an_unreadable_answer_is_left_to_the_blocking_path() -> None:
    """A 200 that is not a ticket: no record and no error here (the blocking read names it)."""
    script = _one_answer(answer(body=b"not json"))
    with ScriptedServer(script) as scripted, _gateway(scripted.url) as gateway:
        (read,) = reads(gateway, 1, 1)
    assert (read.record, read.error, read.problem, read.calls) == (None, None, None, 1)


def test_a_proxy_keeps_the_blocking_path(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a proxy configured nothing is sent on the loop (requests resolves the proxy)."""
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    with _gateway(server.url) as gateway:
        (read,) = reads(gateway, 1, 1)
        assert (read.record, read.calls, gateway.calls) == (None, 0, 0)


def test_after_a_429_the_wait_is_sat_out_within_the_budget() -> None:
    """`after_nowait`: Retry-After slept, and the blocking read continues that budget."""
    with _gateway("http://127.0.0.1:9") as gateway:
        slept: list[float] = []
        gateway.wait_for_rate_limit = lambda where, wait: slept.append(wait)  # type: ignore[method-assign]
        gateway.after_nowait("GET /x", 1.0, None)
        assert slept == [1.0]
        assert gateway.state.carry_wait
        with gateway._operation("ticket", "ticket 1"):
            pass
        assert not gateway.state.carry_wait


def test_a_429_past_the_budget_raises_the_blocking_paths_error() -> None:
    """Retry-After over the budget: RateLimitedError at once, as the blocking path raises it."""
    with _gateway("http://127.0.0.1:9") as gateway:
        with pytest.raises(RateLimitedError) as info:
            gateway.after_nowait("GET /api/v2/tickets/1.json", 45.0, None)
        assert info.value.retry_after == 45.0
        assert "retry after 45s" in str(info.value)


def test_the_pool_keeps_at_most_max_idle(server: EmulatorServer) -> None:
    """More concurrent reads open more connections; only `max_idle` stay open after."""
    with _gateway(server.url) as gateway:
        gateway.loop_wire.max_idle = 2

        async def work() -> list[Any]:
            found = await asyncio.gather(*(gateway.get_ticket_nowait(1) for _ in range(5)))
            return [len(found), gateway.loop_wire.opened, gateway.loop_wire.idle()]

        assert on_loop(gateway, work) == [5, 5, 2]


def test_a_new_loop_forgets_the_old_loops_connections(server: EmulatorServer) -> None:
    """asyncio.run twice: the first loop's connections closed with it, new ones opened."""
    with _gateway(server.url) as gateway:
        reads(gateway, 1, 1)
        reads(gateway, 1, 1)
        assert gateway.loop_wire.opened == 2
        endpoint = Endpoint.from_base(server.url)
        assert gateway.loop_wire.idle(endpoint) == 0


@pytest.mark.parametrize(
    "after", [b"\x00junk", answer("503 Service Unavailable", body=b"{}")], ids=["junk", "answer"]
)
def test_bytes_after_a_complete_answer_keep_it_and_drop_the_connection(after: bytes) -> None:
    """wire.py's rule on the loop too: the record stands, the connection is not kept."""
    with ScriptedServer(lambda index, request: [answer(body=TICKET) + after]) as scripted:
        with _gateway(scripted.url) as gateway:
            found = reads(gateway, 1, 2)
            assert [read.record is not None for read in found] == [True, True]
            assert [read.calls for read in found] == [1, 1]
            assert gateway.loop_wire.opened == 2
        assert scripted.connections == 2


def _pool_exchanges(
    url: str, timeouts: list[float], *, first: float | None = None
) -> tuple[list[object], AsyncWirePool]:
    """Concurrent pool exchanges (timeouts in seconds), after an optional warm-up one."""
    pool = AsyncWirePool()
    endpoint = Endpoint.from_base(url)
    request = b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n"

    async def one(timeout: float) -> object:
        try:
            return (await pool.exchange(endpoint, request, timeout=timeout, tls=None)).status
        except TimeoutError:
            return "timeout"

    async def work() -> list[object]:
        try:
            if first is not None:
                await one(first)
            return list(await asyncio.gather(*(one(timeout) for timeout in timeouts)))
        finally:
            pool.close()

    return asyncio.run(work()), pool


def test_a_kept_connection_that_goes_quiet_times_out() -> None:
    """On a reused connection the deadline still holds: TimeoutError, the connection dropped."""
    script = _slow_after_first(0.6)
    with ScriptedServer(script) as scripted:
        started = time.monotonic()
        found, pool = _pool_exchanges(scripted.url, [0.2], first=2.0)
        elapsed = time.monotonic() - started
    assert found == ["timeout"]
    assert (pool.opened, pool.idle(), scripted.connections) == (1, 0, 1)
    assert elapsed < 0.55  # the 0.2 s deadline, not the server's 0.6 s
    assert pool._deadlines is not None
    assert pool._deadlines.pending == {}


def test_each_request_keeps_its_own_deadline() -> None:
    """A shorter deadline after a longer one fires first; the patient request is answered."""
    with ScriptedServer(_slow_after_first(0.5)) as scripted:
        found, pool = _pool_exchanges(scripted.url, [2.0, 0.15, 0.2], first=2.0)
    assert found == [200, "timeout", "timeout"]
    assert pool._deadlines is not None
    assert pool._deadlines.pending == {}


def test_a_cancelled_read_forgets_its_deadline_and_connection() -> None:
    """The caller cancelled (a client gone): the connection closed, nothing left watched."""
    with ScriptedServer(_slow_after_first(1.0)) as scripted:
        pool = AsyncWirePool()
        endpoint = Endpoint.from_base(scripted.url)
        request = b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n"

        async def work() -> list[object]:
            await pool.exchange(endpoint, request, timeout=2.0, tls=None)
            task = asyncio.ensure_future(pool.exchange(endpoint, request, timeout=2.0, tls=None))
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert pool._deadlines is not None
            return [len(pool._deadlines.pending), pool.idle()]

        assert asyncio.run(work()) == [0, 0]


def _slow_after_first(seconds: float) -> Callable[[int, bytes], list[bytes | float | None]]:
    """Answers the first request at once, every later one after `seconds`."""

    def script(index: int, request: bytes) -> list[bytes | float | None]:
        return [answer(body=TICKET)] if index == 0 else [seconds, answer(body=TICKET)]

    return script


class _FailingClose:
    """A connection whose time-out raises after failing its waiter (as a closed loop's close)."""

    def __init__(self) -> None:
        self.timed_out = False

    def time_out(self) -> None:
        self.timed_out = True
        raise RuntimeError("the transport's loop is closed")


def test_a_time_out_that_raises_keeps_the_other_deadlines() -> None:
    """Both due requests are timed out and the later one keeps its timer."""
    from backend.zendesk.async_wire import _Deadlines

    async def work() -> list[bool]:
        loop = asyncio.get_running_loop()
        deadlines = _Deadlines(loop)
        first, second, later = _FailingClose(), _FailingClose(), _FailingClose()
        now = loop.time()
        for connection, at in ((first, now + 0.01), (second, now + 0.01), (later, now + 0.1)):
            deadlines.watch(connection, at)  # type: ignore[arg-type]
        await asyncio.sleep(0.3)
        return [first.timed_out, second.timed_out, later.timed_out, not deadlines.pending]

    assert asyncio.run(work()) == [True, True, True, True]


def test_a_write_that_fails_closes_the_connection(server: EmulatorServer) -> None:
    """A request whose write raises: the error reaches the caller, the connection is closed."""
    pool = AsyncWirePool()
    endpoint = Endpoint.from_base(server.url)
    request = b"GET /api/v2/tickets/1.json HTTP/1.1\r\nHost: t\r\n\r\n"

    async def work() -> tuple[bool, int]:
        await pool.exchange(endpoint, request, timeout=2.0, tls=None)
        (connection,) = pool._idle[endpoint]

        def broken(data: bytes, head_only: bool) -> None:
            raise RuntimeError("write on a closing transport")

        connection.send = broken  # type: ignore[method-assign,assignment]
        with pytest.raises(RuntimeError):
            await pool.exchange(endpoint, request, timeout=2.0, tls=None)
        return connection.lost, pool.idle()

    assert asyncio.run(work()) == (True, 0)
