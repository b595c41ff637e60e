"""The request-head deadline of both guarded protocols (httptools, h11) over real sockets,
and `uvicorn_options`, the one place `guidepost serve`'s uvicorn options are chosen."""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from backend.api import edge
from backend.api.server import build_server, uvicorn_options
from backend.settings import Settings
from tooling.testing import serve_config

HEADER_TIMEOUT = 0.3
# Long enough that the deadline would have fired several times over.
WAIT = HEADER_TIMEOUT * 4
PARSERS = {"httptools": ("uvloop", HttpToolsProtocol), "h11": ("asyncio", H11Protocol)}
REQUEST = b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"


def _settings(parser: str, **values: Any) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        http_parser=parser,
        http_loop=PARSERS[parser][0],
        http_header_timeout_seconds=HEADER_TIMEOUT,
        **values,
    )


async def _app(scope: Any, receive: Any, send: Any) -> None:
    """Answers after a delay longer than the head deadline (`/slow`), else at once."""
    if scope["type"] != "http":
        return
    if scope["path"] == "/slow":
        await asyncio.sleep(WAIT)
    headers = [(b"content-length", b"2")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok"})


@contextmanager
def _serve(parser: str) -> Iterator[int]:
    """`guidepost serve`'s uvicorn options around a tiny app, on a thread; yield the port."""
    options = {**uvicorn_options(_settings(parser)), "log_level": "warning"}
    with serve_config(uvicorn.Config(_app, lifespan="off", **options)) as (port, _server):
        yield port


def _connect(port: int) -> socket.socket:
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return client


def _read_response(client: socket.socket) -> bytes:
    """One small response (headers and the 2-byte body), or b"" when the server closed."""
    data = b""
    while not (b"\r\n\r\n" in data and data.endswith(b"ok")):
        try:
            chunk = client.recv(4096)
        except ConnectionResetError:
            return b""
        if not chunk:
            return b""
        data += chunk
    return data


def _closed_by_server(client: socket.socket, within: float) -> bool:
    """Whether the server closes (or resets) the connection within `within` seconds."""
    client.settimeout(within)
    try:
        return client.recv(4096) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


@pytest.fixture(params=list(PARSERS))
def port(request: pytest.FixtureRequest) -> Iterator[int]:
    """A running server with each guarded protocol."""
    with _serve(request.param) as bound:
        yield bound


def test_a_partial_head_is_dropped_at_the_deadline(port: int) -> None:
    """Half a request head, then silence: the server drops the connection, no answer."""
    with _connect(port) as client:
        started = time.monotonic()
        client.sendall(b"GET /fast HTTP/1.1\r\nHost: x\r\n")
        assert _closed_by_server(client, 5)
        assert time.monotonic() - started >= HEADER_TIMEOUT * 0.9


def test_a_trickled_head_past_the_deadline_is_dropped(port: int) -> None:
    """One header line every tenth of a second (slowloris) does not reset the clock."""
    with _connect(port) as client:
        client.sendall(b"GET /fast HTTP/1.1\r\n")
        dropped = False
        for _ in range(20):
            time.sleep(0.1)
            try:
                client.sendall(b"X-Slow: 1\r\n")
            except OSError:
                dropped = True
                break
        assert dropped or _closed_by_server(client, 1)


def test_a_head_in_pieces_within_the_deadline_is_answered(port: int) -> None:
    """A head split over a few writes, complete in time, gets its answer."""
    with _connect(port) as client:
        for piece in (b"GET /fast HTTP/1.1\r\n", b"Host: x\r\n", b"\r\n"):
            client.sendall(piece)
            time.sleep(HEADER_TIMEOUT / 4)
        assert _read_response(client).startswith(b"HTTP/1.1 200")


def test_the_deadline_stops_while_the_app_works(port: int) -> None:
    """A complete head stops the clock: an answer slower than the deadline still arrives."""
    with _connect(port) as client:
        client.sendall(REQUEST)
        assert _read_response(client).startswith(b"HTTP/1.1 200")


def test_the_deadline_restarts_for_the_next_head(port: int) -> None:
    """After an answer, a kept-alive connection gets a new clock for the next head."""
    with _connect(port) as client:
        client.sendall(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_response(client).startswith(b"HTTP/1.1 200")
        client.sendall(b"GET /fast HTTP/1.1\r\n")
        assert _closed_by_server(client, 5)


def test_pipelined_requests_are_answered_in_order(port: int) -> None:
    """Two requests in one write (the second waits for the slow first): both answered."""
    with _connect(port) as client:
        client.sendall(REQUEST + b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
        first = _read_response(client)
        assert first.startswith(b"HTTP/1.1 200")
        if first.count(b"HTTP/1.1 200") < 2:
            assert _read_response(client).startswith(b"HTTP/1.1 200")


def test_an_idle_connection_is_not_dropped_before_the_deadline(port: int) -> None:
    """The clock is the deadline, not sooner: a quiet new connection lives that long."""
    with _connect(port) as client:
        assert not _closed_by_server(client, HEADER_TIMEOUT * 0.5)


@pytest.mark.parametrize("parser", list(PARSERS))
def test_uvicorn_options_choose_the_guarded_parser_and_loop(parser: str) -> None:
    """The setting picks the parser (guarded) and loop; app/host/port/workers stay out."""
    options = uvicorn_options(_settings(parser))
    loop, base = PARSERS[parser]
    assert issubclass(options["http"], base)
    assert issubclass(options["http"], edge.GUARDED_PROTOCOLS[parser])
    assert options["http"].header_timeout == HEADER_TIMEOUT
    assert options["loop"] == loop
    assert options["access_log"] is False
    assert options["server_header"] is False
    assert not {"app", "host", "port", "workers"} & set(options)


def test_build_server_runs_exactly_the_options() -> None:
    """`guidepost serve`'s server is configured from `uvicorn_options` (nothing else)."""
    settings = _settings("httptools", session_secret="x" * 40)
    config = build_server(settings, "127.0.0.1", 0).config
    for name, value in uvicorn_options(settings).items():
        assert getattr(config, name) == value, name


@pytest.mark.parametrize("parser", list(PARSERS))
def test_made_protocols_pickle_into_worker_processes(parser: str) -> None:
    """uvicorn pickles its config into each worker: the made class is found by name again,
    even in a process that never made it (the class cache emptied here)."""
    made = edge.make_protocol(2.5, parser)  # type: ignore[arg-type]
    assert pickle.loads(pickle.dumps(made)) is made  # noqa: S301 (our own bytes)
    data = pickle.dumps(made)
    edge._made_protocol.cache_clear()
    again = pickle.loads(data)  # noqa: S301 (our own bytes)
    assert again.__name__ == made.__name__
    assert again.header_timeout == 2.5
    assert issubclass(again, edge.GUARDED_PROTOCOLS[parser])
    with pytest.raises(AttributeError):
        edge.__getattr__("Guarded_nope_5ms")


def _answer_and_close(client: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    client.settimeout(5)
    data = b""
    while True:
        try:
            chunk = client.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def test_an_oversized_request_head_is_refused(port: int) -> None:
    """A head far past h11's bound (a 1 MB header): 400 and a closed connection, as h11 does."""
    with _connect(port) as client:
        # The server may close while the rest is still being sent.
        with contextlib.suppress(OSError):
            client.sendall(b"GET /fast HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000)
        answer = _answer_and_close(client)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:80]


def test_a_large_head_under_the_bound_is_served() -> None:
    """httptools: a 12 KB header, then a body of 200 kB sent with its head in one write."""
    body = b"b" * 200_000
    with _serve("httptools") as bound, _connect(bound) as client:
        client.sendall(b"GET /fast HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 12_000 + b"\r\n\r\n")
        assert _read_response(client).startswith(b"HTTP/1.1 200")
        head = b"POST /fast HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body)
        client.sendall(head + body)
        assert _read_response(client).startswith(b"HTTP/1.1 200")
        assert len(body) > edge.MAX_HEAD_BYTES
