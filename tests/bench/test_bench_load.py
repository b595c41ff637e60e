"""The bench's lean HTTP client reads what uvicorn (the protocol `guidepost serve` runs) sends.

A real uvicorn server on loopback, with the HTTP protocol `guidepost serve` runs
(`backend.api.server.uvicorn_options`), answers by Content-Length, chunked transfer
coding, with no body, or closing the connection; the lean client must read each, keep one
connection alive, reopen after the server's keep-alive timeout, speak TLS, and fill the
same samples as the httpx control.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from backend.api.server import uvicorn_options
from backend.settings import Settings
from tooling.bench.load import (
    BlockingStream,
    Connection,
    ProtocolError,
    RequestSpec,
    parse_head,
    run_load,
)
from tooling.bench.server import APP_MS, GATEWAY_MS, ZENDESK_CALLS, ZENDESK_MS
from tooling.bench.tls import make_local_ca
from tooling.testing import serve_config

BENCH_HEADERS = {APP_MS: "2.500", GATEWAY_MS: "1.250", ZENDESK_MS: "1.000", ZENDESK_CALLS: "2"}
BIG = "가" * 50_000  # 150 kB of UTF-8: several reads, and a multi-byte body


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def echo(request: Request) -> Response:
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "body": json.loads(body) if body else None,
            "length": request.headers.get("content-length"),
            "auth": request.headers.get("authorization"),
        },
        headers=BENCH_HEADERS,
    )


async def chunked(request: Request) -> Response:
    async def parts() -> AsyncIterator[bytes]:
        for part in (b"one,", b"", BIG.encode("utf-8"), b",three"):
            yield part

    return StreamingResponse(parts(), media_type="text/plain")


async def empty(request: Request) -> Response:
    return Response(status_code=204)


async def closing(request: Request) -> Response:
    return JSONResponse({"bye": True}, headers={"Connection": "close"})


async def missing(request: Request) -> Response:
    return JSONResponse({"detail": "nothing here"}, status_code=404)


APP = Starlette(
    routes=[
        Route("/healthz", healthz),
        Route("/echo", echo, methods=["GET", "POST", "PUT", "HEAD"]),
        Route("/chunked", chunked),
        Route("/empty", empty, methods=["POST"]),
        Route("/closing", closing),
        Route("/missing", missing),
    ]
)


@contextmanager
def serve(keep_alive_seconds: float = 5.0, tls: tuple[Path, Path] | None = None) -> Iterator[str]:
    """uvicorn with `guidepost serve`'s HTTP protocol on a free port; yield its base URL."""
    config = uvicorn.Config(
        APP,
        http=uvicorn_options(Settings(_env_file=None))["http"],
        log_level="warning",
        access_log=False,
        server_header=False,
        lifespan="off",
        timeout_keep_alive=keep_alive_seconds,  # type: ignore[arg-type]
        ssl_certfile=str(tls[0]) if tls else None,
        ssl_keyfile=str(tls[1]) if tls else None,
    )
    with serve_config(config) as (port, _server):
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve() as url:
        yield url


@pytest.fixture(params=[False, True], ids=["asyncio", "blocking"])
def blocking(request: pytest.FixtureRequest) -> bool:
    """Each connection test on asyncio streams and on a blocking socket."""
    return bool(request.param)


def exchange(connection: Connection, calls: list[tuple[str, str, Any]]) -> list[Any]:
    """Run requests one after another on one connection; close it; return the answers."""

    async def run() -> list[Any]:
        try:
            return [await connection.request(m, p, b) for m, p, b in calls]
        finally:
            await connection.close()

    return asyncio.run(run())


def test_content_length_answers_on_one_kept_alive_connection(base_url: str, blocking: bool) -> None:
    connection = Connection(base_url, {"Authorization": "Bearer t"}, blocking=blocking)
    body = {"branch": "주차", "n": 1}
    get, post, put, head = exchange(
        connection,
        [
            ("GET", "/echo?x=1", None),
            ("POST", "/echo", body),
            ("PUT", "/echo", None),
            ("HEAD", "/echo", None),
        ],
    )
    assert connection.opened == 1
    assert get.status == 200
    assert json.loads(get.body) == {
        "method": "GET",
        "path": "/echo",
        "query": "x=1",
        "body": None,
        "length": None,
        "auth": "Bearer t",
    }
    assert get.headers["content-length"] == str(len(get.body))
    assert get.headers[ZENDESK_CALLS] == "2"
    echoed = json.loads(post.body)
    assert echoed["body"] == body
    assert echoed["length"] == str(len(json.dumps(body, separators=(",", ":")).encode()))
    assert json.loads(put.body)["length"] == "0"  # a body-less PUT still states its length
    assert head.status == 200
    assert head.body == b""
    assert int(head.headers["content-length"]) > 0  # HEAD: the length of a body not sent


def test_chunked_empty_closing_and_error_answers(base_url: str, blocking: bool) -> None:
    connection = Connection(base_url, {}, blocking=blocking)
    streamed, empty_answer, after, closed, missing_answer = exchange(
        connection,
        [
            ("GET", "/chunked", None),
            ("POST", "/empty", None),
            ("GET", "/healthz", None),
            ("GET", "/closing", None),
            ("GET", "/missing", None),
        ],
    )
    assert streamed.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in streamed.headers
    assert streamed.body.decode("utf-8") == f"one,{BIG},three"
    assert (empty_answer.status, empty_answer.body) == (204, b"")
    assert json.loads(after.body) == {"status": "ok"}  # the connection survived both
    assert closed.headers["connection"] == "close"
    assert json.loads(closed.body) == {"bye": True}
    assert missing_answer.status == 404
    assert json.loads(missing_answer.body) == {"detail": "nothing here"}
    assert connection.opened == 2  # a new connection after the server's `close`


def test_without_keep_alive_every_request_opens_a_connection(base_url: str, blocking: bool) -> None:
    connection = Connection(base_url, {}, keep_alive=False, blocking=blocking)
    answers = exchange(connection, [("GET", "/healthz", None)] * 3)
    assert [a.status for a in answers] == [200, 200, 200]
    assert connection.opened == 3


def test_a_connection_the_server_closed_while_idle_is_reopened(blocking: bool) -> None:
    with serve(keep_alive_seconds=0.2) as url:
        connection = Connection(url, {}, blocking=blocking)

        async def run() -> list[int]:
            first = await connection.request("GET", "/healthz")
            await asyncio.sleep(0.6)  # past uvicorn's keep-alive timeout
            second = await connection.request("GET", "/healthz")
            await connection.close()
            return [first.status, second.status]

        assert asyncio.run(run()) == [200, 200]
        assert connection.opened == 2


def test_tls_with_a_local_ca(tmp_path: Path, blocking: bool) -> None:
    ca, cert, key = make_local_ca(tmp_path)
    trusted = ssl.create_default_context(cafile=str(ca))
    with serve(tls=(cert, key)) as url:
        connection = Connection(url, {}, tls=trusted, blocking=blocking)
        answers = exchange(connection, [("GET", "/healthz", None), ("POST", "/echo", {"a": 1})])
        assert [a.status for a in answers] == [200, 200]
        assert json.loads(answers[1].body)["body"] == {"a": 1}
        assert connection.opened == 1
        untrusted = Connection(url, {}, blocking=blocking)
        with pytest.raises(ssl.SSLCertVerificationError):
            exchange(untrusted, [("GET", "/healthz", None)])


@pytest.mark.parametrize("concurrency", [1, 3])
@pytest.mark.parametrize("client", ["lean", "asyncio", "httpx"])
def test_every_client_fills_the_same_samples(base_url: str, client: Any, concurrency: int) -> None:
    specs = [
        RequestSpec("GET", "/echo"),
        RequestSpec("POST", "/echo", {"k": "v"}),
        RequestSpec("GET", "/missing"),
        RequestSpec("GET", "/healthz"),
    ] * 3
    run = run_load(base_url, specs, concurrency, {"Authorization": "Bearer t"}, client=client)
    assert len(run.samples) == len(specs)
    assert run.errors == 3
    assert sorted(s.status for s in run.samples) == [200] * 9 + [404] * 3
    echoed = [s for s in run.samples if s.calls == 2]
    assert len(echoed) == 6
    for sample in echoed:
        assert (sample.app_ms, sample.gateway_ms, sample.zendesk_ms) == (2.5, 1.25, 1.0)
        assert sample.total_ms > 0
        assert sample.overhead_ms == pytest.approx(sample.total_ms - 1.0)
    plain = [s for s in run.samples if s.calls == -1]
    assert all(s.zendesk_ms != s.zendesk_ms for s in plain)  # NaN: no stopwatch headers
    assert run.wall_seconds > 0
    assert run.client_cpu_seconds >= 0


def test_parse_head_joins_repeated_headers_and_rejects_garbage() -> None:
    status, headers = parse_head(
        b"HTTP/1.1 200 OK\r\nVary: a\r\nvary: b\r\nX-Empty:\r\nContent-Length:  3 "
    )
    assert status == 200
    assert headers == {"vary": "a, b", "x-empty": "", "content-length": "3"}
    assert parse_head(b"HTTP/1.1 204")[0] == 204  # a reason phrase is optional
    for bad in (b"SSH-2.0-OpenSSH", b"HTTP/1.1 OK", b"HTTP/1.1 200 OK\r\nno colon"):
        with pytest.raises(ProtocolError):
            parse_head(bad)
    with pytest.raises(ProtocolError):
        parse_head(b"HTTP/1.1 200 OK\r\n folded: value")


def test_the_blocking_stream_reads_as_asyncio_streams_do() -> None:
    """Across chunks, at the end of the stream and past the limit: asyncio's answers."""
    ours, theirs = socket.socketpair()
    stream = BlockingStream(ours, limit=16)

    async def reads() -> None:
        theirs.sendall(b"HTTP/1.1 200 OK\r")
        theirs.sendall(b"\n\r\nbody")
        assert await stream.readuntil(b"\r\n\r\n") == b"HTTP/1.1 200 OK\r\n\r\n"
        assert await stream.readexactly(2) == b"bo"
        theirs.sendall(b"x" * 40)
        with pytest.raises(asyncio.LimitOverrunError):
            await stream.readuntil(b"\r\n")
        assert len(await stream.readexactly(42)) == 42
        theirs.sendall(b"tail")
        theirs.shutdown(socket.SHUT_WR)
        with pytest.raises(asyncio.IncompleteReadError) as short:
            await stream.readexactly(10)
        assert short.value.partial == b"tail"
        with pytest.raises(asyncio.IncompleteReadError) as ended:
            await stream.readuntil(b"\r\n")
        assert ended.value.partial == b""
        assert await stream.read() == b""

    try:
        asyncio.run(reads())
    finally:
        theirs.close()
    ours3, theirs3 = socket.socketpair()
    late = BlockingStream(ours3, limit=8)

    async def past_the_limit() -> None:
        theirs3.sendall(b"0123456789abcdef\r\n")  # the separator arrives, past the limit
        with pytest.raises(asyncio.LimitOverrunError):
            await late.readuntil(b"\r\n")
        late.deadline = time.monotonic() + 0.05  # nothing more comes: the deadline ends it
        with pytest.raises(TimeoutError):
            await late.readexactly(1000)

    try:
        asyncio.run(past_the_limit())
    finally:
        theirs3.close()
        late.close()
    ours2, theirs2 = socket.socketpair()
    theirs2.close()
    with pytest.raises(ConnectionResetError):  # a peer gone: what the client retries on
        BlockingStream(ours2, limit=16).write(b"x" * 65536)
    ours2.close()
    stream.close()
