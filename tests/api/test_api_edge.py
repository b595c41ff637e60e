"""HTTP edge: the in-flight limit answers 503 at once, a trickling body 408, accept errors
are logged once per interval (the request-head deadline: tests/reliability/test_slow_clients.py)."""

from __future__ import annotations

import asyncio
import errno
import json
from typing import Any

import pytest

from backend.api.edge import AcceptErrorLog, EdgeMiddleware


class Recorder:
    """Collects what an ASGI app sends."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def __call__(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int:
        return int(next(m["status"] for m in self.messages if m["type"] == "http.response.start"))

    @property
    def problem(self) -> dict[str, Any]:
        body = b"".join(
            m.get("body", b"") for m in self.messages if m["type"] == "http.response.body"
        )
        data: dict[str, Any] = json.loads(body)
        return data


SCOPE = {"type": "http", "method": "POST", "path": "/v1/preview", "headers": []}


def test_requests_over_the_in_flight_limit_get_503_at_once() -> None:
    """With one request in flight and a limit of 1, the next answers 503 `overloaded`."""

    async def scenario() -> tuple[Recorder, Recorder]:
        release = asyncio.Event()

        async def slow_app(scope: Any, receive: Any, send: Any) -> None:
            await release.wait()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"{}"})

        edge = EdgeMiddleware(slow_app, max_in_flight=1, body_timeout=5)

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        first, second = Recorder(), Recorder()
        running = asyncio.create_task(edge(SCOPE, receive, first))
        await asyncio.sleep(0.01)
        await edge(SCOPE, receive, second)
        release.set()
        await running
        assert edge.in_flight == 0
        return first, second

    first, second = asyncio.run(scenario())
    assert first.status == 200
    assert second.status == 503
    assert second.problem["type"].endswith("/overloaded")


def test_a_body_that_does_not_arrive_in_time_is_408() -> None:
    """A client that sends headers but no body within the deadline gets 408."""

    async def scenario() -> Recorder:
        async def reading_app(scope: Any, receive: Any, send: Any) -> None:
            await receive()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"{}"})

        async def never() -> dict[str, Any]:
            await asyncio.sleep(10)
            return {"type": "http.request", "body": b""}

        sent = Recorder()
        await EdgeMiddleware(reading_app, body_timeout=0.05)(SCOPE, never, sent)
        return sent

    sent = asyncio.run(scenario())
    assert sent.status == 408
    assert sent.problem["type"].endswith("/request-timeout")


def test_accept_errors_are_one_line_per_interval(capsys: pytest.CaptureFixture[str]) -> None:
    """1,000 EMFILE accept errors in a burst → one structured line, no traceback."""
    from backend.logs import configure_logging

    configure_logging("INFO")
    handler = AcceptErrorLog(interval=60)
    loop = asyncio.new_event_loop()
    try:
        for _ in range(1_000):
            handler(
                loop,
                {
                    "message": "socket.accept() out of system resource",
                    "exception": OSError(errno.EMFILE, "Too many open files"),
                },
            )
    finally:
        loop.close()
    out = capsys.readouterr()
    lines = [line for line in out.out.splitlines() if "accept_failed" in line]
    assert len(lines) == 1
    assert json.loads(lines[0])["errno"] == errno.EMFILE
    assert handler.suppressed == 999
    assert "Traceback" not in out.out + out.err
