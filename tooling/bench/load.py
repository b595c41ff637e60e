"""A small closed-loop load generator: `concurrency` workers, one connection each.

Three clients send the same requests and fill the same `Sample`s:

- `lean` (default): HTTP/1.1 written and read by hand — a request line, headers, a
  `Content-Length` body; the answer read by `Content-Length`, chunked transfer coding or,
  failing both, until the server closes. At concurrency 1 it waits in the socket's own
  `recv()` (nothing to multiplex: an answer wakes it directly, not through an event loop);
  above that, over asyncio streams. It costs a fraction of httpx's CPU per request, and
  that CPU is taken from the same cores the server runs on.
- `asyncio` (control): the lean client on asyncio streams at every concurrency, the
  client of the wave 5–7 reports.
- `httpx` (control): one `httpx.AsyncClient` per worker, the client of earlier reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from tooling.bench.server import APP_MS, GATEWAY_MS, ZENDESK_CALLS, ZENDESK_MS

Client = Literal["lean", "asyncio", "httpx"]
CLIENTS: tuple[Client, ...] = ("lean", "asyncio", "httpx")
REQUEST_TIMEOUT_SECONDS = 120.0
HEAD_LIMIT = 64 * 1024  # bytes of status line + headers a response may have
# Answers that never have a body (RFC 9112 §6.3: 1xx, 204, 304, and any answer to HEAD).
BODYLESS_STATUSES = frozenset({204, 304})


class ProtocolError(Exception):
    """The server's answer is not HTTP/1.1 the lean client can read."""


class _ClosedBeforeAnswer(ProtocolError):
    """The connection ended before the first byte of an answer."""


@dataclass(frozen=True)
class RequestSpec:
    """One request to send."""

    method: str
    path: str
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class Sample:
    """One answered request: client-side total and the server's stopwatch (ms)."""

    total_ms: float
    app_ms: float
    gateway_ms: float
    zendesk_ms: float
    calls: int
    status: int

    @property
    def overhead_ms(self) -> float:
        """Everything but Zendesk's own service time: Guidepost, Zenpy, HTTP, the client."""
        return self.total_ms - self.zendesk_ms


@dataclass
class LoadRun:
    """The samples of one run, its wall time and the client's own CPU time."""

    samples: list[Sample]
    wall_seconds: float
    client_cpu_seconds: float

    @property
    def ok(self) -> list[Sample]:
        """The samples answered 200."""
        return [s for s in self.samples if s.status == 200]

    @property
    def errors(self) -> int:
        """Requests not answered 200."""
        return sum(1 for s in self.samples if s.status != 200)


@dataclass(frozen=True)
class Answer:
    """A response as the lean client read it (header names lower-cased)."""

    status: int
    headers: dict[str, str]
    body: bytes


def _float_or_nan(raw: str | None) -> float:
    """A float bench header, NaN when missing (e.g. the plain `guidepost serve`)."""
    return float(raw) if raw is not None else float("nan")


def _sample(total_ms: float, status: int, header: Callable[[str], str | None]) -> Sample:
    """A sample from a response's status and bench headers."""
    calls = header(ZENDESK_CALLS)
    return Sample(
        total_ms=total_ms,
        app_ms=_float_or_nan(header(APP_MS)),
        gateway_ms=_float_or_nan(header(GATEWAY_MS)),
        zendesk_ms=_float_or_nan(header(ZENDESK_MS)),
        calls=int(calls) if calls is not None else -1,
        status=status,
    )


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    """Status and headers (names lower-cased, repeats joined by ', ') of a response head."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise ProtocolError(f"not an HTTP/1.x status line: {lines[0]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise ProtocolError(f"malformed header line: {line!r}")
        key = name.lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return int(parts[1]), headers


class BlockingStream:
    """A socket read and written in the calling thread, with the stream calls the client makes.

    Its coroutines never suspend: each read waits on the socket itself, so an answer wakes
    the client directly instead of through an event loop (epoll, callbacks, a future, the
    task), a cost on an idle machine that is the client's, not the server's. One request
    in flight per thread only (concurrency 1). `deadline` (a `time.monotonic()` instant)
    bounds a request's reads and writes together, as `asyncio.timeout` bounds a streamed one.
    """

    def __init__(self, sock: socket.socket, limit: int) -> None:
        self._sock = sock
        self._limit = limit
        self._buffer = bytearray()
        self._eof = False
        self.deadline: float | None = None

    def _time_left(self) -> None:
        """Give the next socket call what is left of the deadline (TimeoutError when none)."""
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer in time")
            self._sock.settimeout(left)

    def _fill(self) -> bool:
        """Read what has arrived (waiting for it); False at the end of the stream."""
        if self._eof:
            return False
        self._time_left()
        try:
            chunk = self._sock.recv(65536)
        except ssl.SSLEOFError:  # a TLS peer gone without close_notify: the end, as asyncio
            chunk = b""
        if not chunk:
            self._eof = True
            return False
        self._buffer += chunk
        return True

    def _take(self, size: int) -> bytes:
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    async def readuntil(self, separator: bytes) -> bytes:
        """Bytes up to and with `separator` (asyncio's errors at the end or past the limit)."""
        start = 0
        while True:
            found = self._buffer.find(separator, start)
            if found > self._limit:
                raise asyncio.LimitOverrunError("separator found past the limit", found)
            if found >= 0:
                return self._take(found + len(separator))
            if len(self._buffer) > self._limit:
                raise asyncio.LimitOverrunError("separator not found in time", len(self._buffer))
            start = max(0, len(self._buffer) - len(separator) + 1)
            if not self._fill():
                raise asyncio.IncompleteReadError(self._take(len(self._buffer)), None)

    async def readexactly(self, size: int) -> bytes:
        """Exactly `size` bytes (IncompleteReadError when the stream ends first)."""
        while len(self._buffer) < size:
            if not self._fill():
                raise asyncio.IncompleteReadError(self._take(len(self._buffer)), size)
        return self._take(size)

    async def read(self) -> bytes:
        """Everything until the end of the stream."""
        while self._fill():
            pass
        return self._take(len(self._buffer))

    def write(self, data: bytes) -> None:
        """Send all of `data` (a peer gone is a reset, as asyncio's read reports it)."""
        self._time_left()
        try:
            self._sock.sendall(data)
        except (BrokenPipeError, ConnectionAbortedError, ssl.SSLEOFError) as exc:
            raise ConnectionResetError("the server closed the connection") from exc

    def close(self) -> None:
        """Close the socket."""
        self._sock.close()

    async def wait_closed(self) -> None:
        """Closed already."""


Reader = asyncio.StreamReader | BlockingStream
Writer = asyncio.StreamWriter | BlockingStream


class Connection:
    """One HTTP/1.1 connection to `base_url` (http or https), reopened when the server closes.

    `blocking`: a `BlockingStream` in the calling thread instead of asyncio streams (one
    request at a time; the socket's timeout bounds each read).
    """

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str],
        *,
        keep_alive: bool = True,
        tls: ssl.SSLContext | None = None,
        blocking: bool = False,
    ) -> None:
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.host = url.hostname
        self.port = url.port or (443 if url.scheme == "https" else 80)
        self.tls = (tls or ssl.create_default_context()) if url.scheme == "https" else None
        self.prefix = url.path.rstrip("/")
        self.keep_alive = keep_alive
        self.blocking = blocking
        authority = url.netloc.rpartition("@")[2]
        fixed = {"Host": authority, **headers}
        if not keep_alive:
            fixed["Connection"] = "close"
        self._fixed = "".join(f"{name}: {value}\r\n" for name, value in fixed.items())
        self._reader: Reader | None = None
        self._writer: Writer | None = None
        self.opened = 0  # connections opened so far
        self._deadline: float | None = None  # the current request's, on a blocking stream

    def encode(self, method: str, path: str, body: dict[str, Any] | None) -> bytes:
        """The request's bytes: request line, headers, and a JSON body with its length."""
        head = f"{method} {self.prefix}{path} HTTP/1.1\r\n{self._fixed}"
        if body is None:
            if method in ("POST", "PUT", "PATCH"):
                head += "Content-Length: 0\r\n"
            return (head + "\r\n").encode("latin-1")
        data = json.dumps(body, separators=(",", ":")).encode("utf-8")
        head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        return head.encode("latin-1") + data

    async def _open(self) -> tuple[Reader, Writer]:
        reader: Reader
        writer: Writer
        if self.blocking:
            sock = socket.create_connection((self.host, self.port), REQUEST_TIMEOUT_SECONDS)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as asyncio does
            if self.tls is not None:
                sock = self.tls.wrap_socket(sock, server_hostname=self.host)
            reader = writer = BlockingStream(sock, HEAD_LIMIT)
        else:
            reader, writer = await asyncio.open_connection(
                self.host,
                self.port,
                ssl=self.tls,
                server_hostname=self.host if self.tls else None,
                limit=HEAD_LIMIT,
            )
        self._reader, self._writer = reader, writer
        self.opened += 1
        return reader, writer

    def start(self, seconds: float) -> None:
        """Bound the next request on a blocking stream (asyncio's streams: the caller's timeout)."""
        self._deadline = time.monotonic() + seconds

    async def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Answer:
        """Send one request and read its whole answer."""
        return await self.send(method, self.encode(method, path, body))

    async def send(self, method: str, data: bytes) -> Answer:
        """Send encoded request bytes and read the whole answer.

        A kept-alive connection the server closed while idle (uvicorn's keep-alive
        timeout) answers nothing: the request is sent once more on a new connection.
        """
        if self._writer is None or self._reader is None:
            reader, writer = await self._open()
            status, headers = await self._exchange(reader, writer, data)
        else:
            reader, writer = self._reader, self._writer
            try:
                status, headers = await self._exchange(reader, writer, data)
            except _ClosedBeforeAnswer:
                await self.close()
                reader, writer = await self._open()
                status, headers = await self._exchange(reader, writer, data)
        while 100 <= status < 200:  # interim answers (100 Continue …) precede the real one
            status, headers = await self._read_head(reader)
        body, until_close = await self._read_body(reader, method, status, headers)
        if until_close or not self.keep_alive or "close" in headers.get("connection", "").lower():
            await self.close()
        return Answer(status, headers, body)

    async def _exchange(
        self, reader: Reader, writer: Writer, data: bytes
    ) -> tuple[int, dict[str, str]]:
        """Write the request; read the answer's head."""
        if isinstance(writer, BlockingStream):
            writer.deadline = self._deadline
        try:
            writer.write(data)
            return await self._read_head(reader)
        except ConnectionResetError as exc:
            raise _ClosedBeforeAnswer("the server reset the connection") from exc

    @staticmethod
    async def _read_head(reader: Reader) -> tuple[int, dict[str, str]]:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                raise _ClosedBeforeAnswer("the server closed the connection") from exc
            raise ProtocolError("the server closed the connection mid-answer") from exc
        except asyncio.LimitOverrunError as exc:
            raise ProtocolError(f"response head longer than {HEAD_LIMIT} bytes") from exc
        return parse_head(head[:-4])

    @staticmethod
    async def _read_body(
        reader: Reader, method: str, status: int, headers: dict[str, str]
    ) -> tuple[bytes, bool]:
        """The body and whether it ended with the connection (RFC 9112 §6.3's order)."""
        if method == "HEAD" or status in BODYLESS_STATUSES:
            return b"", False
        coding = headers.get("transfer-encoding")
        if coding is not None:
            if coding.lower().rsplit(",", 1)[-1].strip() != "chunked":
                return await reader.read(), True
            return await Connection._read_chunked(reader), False
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                raise ProtocolError(f"bad Content-Length: {length!r}")
            return await reader.readexactly(int(length)), False
        return await reader.read(), True

    @staticmethod
    async def _read_chunked(reader: Reader) -> bytes:
        parts: list[bytes] = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size_text = size_line[:-2].split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError as exc:
                raise ProtocolError(f"bad chunk size: {size_line!r}") from exc
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":  # trailer fields, if any
                    pass
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            if await reader.readexactly(2) != b"\r\n":
                raise ProtocolError("chunk not followed by CRLF")

    async def close(self) -> None:
        """Close the connection (the next request opens a new one)."""
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()


async def _run_lean(
    base_url: str,
    specs: Sequence[RequestSpec],
    concurrency: int,
    headers: dict[str, str],
    keep_alive: bool,
    blocking: bool = False,
) -> LoadRun:
    tls = ssl.create_default_context() if base_url.startswith("https:") else None
    connections = [
        Connection(base_url, headers, keep_alive=keep_alive, tls=tls, blocking=blocking)
        for _ in range(concurrency)
    ]
    samples: list[Sample] = []
    pending = iter(specs)

    async def worker(connection: Connection) -> None:
        for spec in pending:
            data = connection.encode(spec.method, spec.path, spec.body)
            started = time.perf_counter()
            # A blocking stream never yields to the loop, so it keeps its own deadline.
            connection.start(REQUEST_TIMEOUT_SECONDS)
            async with asyncio.timeout(REQUEST_TIMEOUT_SECONDS):
                answer = await connection.send(spec.method, data)
            total = (time.perf_counter() - started) * 1000
            samples.append(_sample(total, answer.status, answer.headers.get))

    return await _measured(
        (c.request("GET", "/healthz") for c in connections),
        lambda: (worker(connection) for connection in connections),
        lambda: (connection.close() for connection in connections),
        samples,
    )


async def _run_httpx(
    base_url: str,
    specs: Sequence[RequestSpec],
    concurrency: int,
    headers: dict[str, str],
    keep_alive: bool,
) -> LoadRun:
    # One client (one keep-alive connection) per worker: a shared pool of many connections
    # costs httpx far more CPU per request (it scans the pool), stolen from the server.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1 if keep_alive else 0)
    # One TLS context for all clients: httpx builds (and loads CA files into) one per client.
    tls = ssl.create_default_context()
    clients = [
        httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120.0, verify=tls)
        for _ in range(concurrency)
    ]
    samples: list[Sample] = []
    pending = iter(specs)

    async def worker(client: httpx.AsyncClient) -> None:
        for spec in pending:
            started = time.perf_counter()
            response = await client.request(spec.method, spec.path, json=spec.body, headers=headers)
            total = (time.perf_counter() - started) * 1000
            samples.append(_sample(total, response.status_code, response.headers.get))

    return await _measured(
        (client.get("/healthz") for client in clients),
        lambda: (worker(client) for client in clients),
        lambda: (client.aclose() for client in clients),
        samples,
    )


async def _measured(
    warm_up: Iterable[Awaitable[object]],
    work: Callable[[], Iterable[Awaitable[None]]],
    close: Callable[[], Iterable[Awaitable[object]]],
    samples: list[Sample],
) -> LoadRun:
    """Open every connection first (so the run does not pay for it), then time the work."""
    try:
        await asyncio.gather(*warm_up)
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*work())
        return LoadRun(
            samples=samples,
            wall_seconds=time.perf_counter() - wall,
            client_cpu_seconds=time.process_time() - cpu,
        )
    finally:
        await asyncio.gather(*close())


def run_load(
    base_url: str,
    specs: Sequence[RequestSpec],
    concurrency: int,
    headers: dict[str, str],
    *,
    keep_alive: bool = True,
    client: Client = "lean",
) -> LoadRun:
    """Send every spec with `concurrency` requests in flight; return the samples.

    Without keep-alive every request opens a new connection, so uvicorn workers sharing
    a socket each take a share (kept-alive connections stay with whoever accepted them).
    """
    if client == "httpx":
        return asyncio.run(_run_httpx(base_url, specs, concurrency, headers, keep_alive))
    blocking = client == "lean" and concurrency == 1
    return asyncio.run(_run_lean(base_url, specs, concurrency, headers, keep_alive, blocking))
