"""HTTP edge: the in-flight limit answers 503 at once, a trickling body 408, bodies over the
limit 413 (checked before the in-flight limit), an exception a logged 500; accept errors are
logged once per interval (the request-head deadline: test_api_head_deadline.py)."""

from __future__ import annotations

import asyncio
import errno
import io
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


def _run_edge(
    app: Any, scope: dict[str, Any], bodies: list[bytes], **options: Any
) -> tuple[Recorder, list[dict[str, Any]]]:
    """Serve one request through EdgeMiddleware; return what it sent and its log lines."""
    from backend.logs import configure_logging

    stream = io.StringIO()
    configure_logging("INFO", stream)
    chunks = list(bodies)

    async def receive() -> dict[str, Any]:
        body = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": body, "more_body": bool(chunks)}

    sent = Recorder()
    try:
        asyncio.run(EdgeMiddleware(app, **options)(scope, receive, sent))
    finally:
        configure_logging("INFO")
    return sent, [json.loads(line) for line in stream.getvalue().splitlines()]


async def _reading_app(scope: Any, receive: Any, send: Any) -> None:
    """Reads the whole body, then answers 200."""
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def test_a_declared_body_over_the_limit_is_413_before_the_in_flight_check() -> None:
    """A too-large Content-Length gets 413 even when full (body limit runs first), logged."""
    scope = {**SCOPE, "headers": [(b"content-length", b"100")]}
    sent, lines = _run_edge(_reading_app, scope, [], max_in_flight=0, body_limit=10)
    assert sent.status == 413
    access = [line for line in lines if line["event"] == "request"]
    assert [(line["status"], line["problem"]) for line in access] == [(413, "payload-too-large")]


def test_a_streamed_body_over_the_limit_is_413() -> None:
    """A chunked body (no Content-Length) that passes the limit is refused while read."""
    sent, _ = _run_edge(_reading_app, SCOPE, [b"x" * 6, b"x" * 6], body_limit=10)
    assert sent.status == 413
    assert sent.problem["type"].endswith("/payload-too-large")


def test_a_body_within_the_limit_reaches_the_app() -> None:
    """Chunks adding up to the limit pass; in-flight returns to 0."""
    sent, lines = _run_edge(_reading_app, SCOPE, [b"x" * 5, b"x" * 5], body_limit=10)
    assert sent.status == 200
    assert [line["status"] for line in lines if line["event"] == "request"] == [200]


def test_an_overloaded_request_is_logged_with_its_problem() -> None:
    """The 503 refusal writes one access line naming the problem."""
    sent, lines = _run_edge(_reading_app, SCOPE, [], max_in_flight=0)
    assert sent.status == 503
    access = [line for line in lines if line["event"] == "request"]
    assert [(line["status"], line["problem"]) for line in access] == [(503, "overloaded")]


def test_an_unexpected_exception_is_a_logged_500_problem() -> None:
    """The app raising: a 500 problem, one warning access line, one masked error line."""

    async def broken_app(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("boom 010-1234-5678")

    sent, lines = _run_edge(broken_app, SCOPE, [])
    assert sent.status == 500
    assert sent.problem["type"].endswith("/internal")
    errors = [line for line in lines if line["event"] == "unhandled_exception"]
    assert [line["error"] for line in errors] == ["RuntimeError"]
    assert "010-1234-5678" not in json.dumps(lines)
    access = [line for line in lines if line["event"] == "request"]
    assert [(line["status"], line["level"]) for line in access] == [(500, "warning")]
