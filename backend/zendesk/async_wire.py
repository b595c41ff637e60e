"""wire.py's twin on the event loop: kept-alive asyncio connections for one-attempt reads.

Why: a GET guidance whose ticket read blocks pays a threadpool hop (~0.25–0.5 ms CPU and
two thread wake-ups) for it. This pool makes the same request, with the same bytes
(`RawPath.prepare`) and the same answer reader (`wire_answer.AnswerReader`), on the process's
event loop. What it does:

- Per endpoint, up to `max_idle` idle connections kept alive; more concurrent requests
  open more, and the extras are closed when they are done. TCP_NODELAY; TLS with the
  same `wire.tls_context` and server_hostname (SNI and hostname check).
- An idle connection the server closed (or wrote to) is detected before reuse and
  dropped; a connection that fails mid-request is closed.
- Each request's deadline (`timeout`, connecting included) is kept in one dict per loop,
  watched by one timer at the earliest deadline (`_Deadlines`), not a timer per request.
- The pool belongs to one event loop; used from another (a new loop in tests) it forgets
  the old loop's connections.
- Failures are raised as wire.py raises them (requests' errors; TimeoutError for the
  deadline). The caller makes ONE attempt and falls back to the blocking path with its
  full retry rules on any failure.

Never imports `backend.domain`.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import ssl
import time
from typing import cast

import httptools
import requests

from backend.zendesk.wire import Endpoint
from backend.zendesk.wire_answer import (
    MAX_HEAD_BYTES,
    AnswerReader,
    AnswerTooLargeError,
    WireAnswer,
)

MAX_IDLE_PER_ENDPOINT = 32
CLOCK_RESOLUTION = time.get_clock_info("monotonic").resolution


class _AnswerProtocol(asyncio.Protocol):
    """One connection: feeds what arrives to the answer reader of the request in flight."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.lost = False
        self._reader: AnswerReader | None = None
        self._waiter: asyncio.Future[tuple[WireAnswer, bool]] | None = None
        self._head_bytes = 0
        self._poll: select.poll | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._poll = select.poll()
            self._poll.register(sock.fileno(), select.POLLIN)

    def usable(self) -> bool:
        """True when idle and still open: nothing arrived since its last answer."""
        transport = self.transport
        if self.lost or transport is None or transport.is_closing():
            return False
        # Readable while idle: the server closed it (or sent garbage), not yet seen by
        # the loop (the same zero-timeout poll wire.py makes).
        return self._poll is None or not self._poll.poll(0)

    def send(self, data: bytes, head_only: bool) -> asyncio.Future[tuple[WireAnswer, bool]]:
        """Write one request; the future gets (answer, reusable)."""
        self._reader = AnswerReader(head_only)
        self._head_bytes = 0
        waiter = self._waiter = self.loop.create_future()
        assert self.transport is not None
        self.transport.write(data)
        return waiter

    def data_received(self, data: bytes) -> None:
        reader = self._reader
        if reader is None:
            # Bytes nobody asked for: the connection cannot be trusted any more.
            self.close()
            return
        self._head_bytes += len(data)
        try:
            reader.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if reader.done:
                # Stray bytes after a complete answer (wire.py's rule): keep it, drop the
                # connection.
                self._finish(reader, False)
                return
            if reader.too_large is not None:
                self._fail(AnswerTooLargeError(reader.too_large))
            else:
                self._fail(requests.ConnectionError(f"unreadable answer: {exc}"))
            return
        if not reader.head_done and self._head_bytes > MAX_HEAD_BYTES:
            self._fail(requests.ConnectionError(f"answer head over {MAX_HEAD_BYTES} bytes"))
        elif reader.done:
            self._finish(reader, reader.keep_alive and not reader.extra)

    def eof_received(self) -> bool:
        reader = self._reader
        if reader is not None:
            if reader.until_close:
                self._finish(reader, False)
            else:
                problem = "closed mid-answer" if self._head_bytes else "closed without an answer"
                self._fail(requests.ConnectionError(f"the server {problem}"))
        self.lost = True
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self._reader is not None:
            self._fail(requests.ConnectionError(f"connection lost: {exc or 'closed'}"))

    def time_out(self) -> None:
        """The request's deadline passed: it fails with TimeoutError, the connection closes."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            self._fail(TimeoutError("no answer within the timeout"))

    def _finish(self, reader: AnswerReader, reusable: bool) -> None:
        self._reader = None
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        try:
            answer = reader.answer()  # decodes gzip/deflate: ContentDecodingError
        except Exception as exc:  # handed to the waiting request
            self._fail(exc)
            return
        waiter.set_result((answer, reusable))

    def _fail(self, exc: BaseException) -> None:
        self._reader = None
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.close()

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self.lost = True
        if self.transport is not None:
            with contextlib.suppress(RuntimeError):  # its loop may be closed already
                # abort, not close: a TLS close waits (up to 30 s) for the peer's
                # close_notify, past the loop's end; wire.py's sockets send none either.
                self.transport.abort()


class _Deadlines:
    """One loop's requests in flight and their deadlines, watched by ONE timer at the earliest.

    Why: an `asyncio.timeout` per request (a timer made, rescheduled and cancelled) cost
    ~35 µs of CPU per read; here a read costs a dict entry, and the timer is remade only
    when it fires or a nearer deadline comes.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.pending: dict[_AnswerProtocol, float] = {}
        self.timer: asyncio.TimerHandle | None = None
        self.timer_at = 0.0

    def watch(self, connection: _AnswerProtocol, deadline: float) -> None:
        """Time out `connection`'s request at `deadline` unless `forget` comes first."""
        self.pending[connection] = deadline
        if self.timer is None or deadline < self.timer_at:
            if self.timer is not None:
                self.timer.cancel()
            self.timer = self.loop.call_at(deadline, self._expire)
            self.timer_at = deadline

    def forget(self, connection: _AnswerProtocol) -> None:
        """The request ended (answered, failed or cancelled)."""
        self.pending.pop(connection, None)

    def _expire(self) -> None:
        self.timer = None
        # call_at may run a timer up to the clock's resolution early (asyncio's own rule).
        now = self.loop.time() + CLOCK_RESOLUTION
        due = [connection for connection, deadline in self.pending.items() if deadline <= now]
        for connection in due:
            del self.pending[connection]
        if self.pending:
            # Armed before any request is failed: the others keep their deadline whatever
            # failing one does.
            self.timer_at = min(self.pending.values())
            self.timer = self.loop.call_at(self.timer_at, self._expire)
        for connection in due:
            # Its waiter is failed before the close that could raise (a closed loop's
            # transport): nothing of that close may keep the next request from timing out.
            with contextlib.suppress(Exception):
                connection.time_out()


class AsyncWirePool:
    """Kept-alive connections per endpoint on one event loop (bounded idle list)."""

    def __init__(self, max_idle: int = MAX_IDLE_PER_ENDPOINT) -> None:
        self.max_idle = max_idle
        self.opened = 0  # connections opened so far (tests, the bench)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle: dict[Endpoint, list[_AnswerProtocol]] = {}
        self._closed = False
        self._guard: asyncio.Task[None] | None = None
        self._deadlines: _Deadlines | None = None  # the bound loop's

    async def exchange(
        self,
        endpoint: Endpoint,
        data: bytes,
        *,
        timeout: float,
        tls: ssl.SSLContext | None,
        head_only: bool = False,
    ) -> WireAnswer:
        """Send `data` (a whole request) to `endpoint`, read the answer, within `timeout`."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._bind(loop)
        deadlines = self._deadlines
        assert deadlines is not None
        deadline = loop.time() + timeout
        connection = self._take_idle(endpoint)
        if connection is None:
            async with asyncio.timeout_at(deadline):  # opening is rare: a timer of its own
                connection = await self._open(loop, endpoint, tls)
        try:
            # Inside the try: a write that fails (a transport closing under us) closes it.
            waiter = connection.send(data, head_only)
            deadlines.watch(connection, deadline)
            answer, reusable = await waiter
        except BaseException:
            connection.close()
            raise
        finally:
            deadlines.forget(connection)
        if reusable and not self._closed:
            self._give_back(endpoint, connection)
        else:
            connection.close()
        return answer

    def idle(self, endpoint: Endpoint | None = None) -> int:
        """Count the idle connections (of one endpoint, or all)."""
        if endpoint is not None:
            return len(self._idle.get(endpoint, ()))
        return sum(len(kept) for kept in self._idle.values())

    def close(self) -> None:
        """Close every idle connection; later answers close their connection too."""
        self._closed = True
        self._forget_all()

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Serve `loop` from now on: the previous loop's connections are forgotten."""
        self._forget_all()
        self._loop = loop
        self._deadlines = _Deadlines(loop)  # a previous loop's requests keep theirs
        # Closed with the loop: asyncio.run / Runner cancel every task before closing it,
        # and an app served without lifespan never closes its gateway.
        self._guard = loop.create_task(self._close_with(loop), name="zendesk-loop-wire")

    async def _close_with(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wait until cancelled (the loop's end), then close this loop's idle connections."""
        try:
            await loop.create_future()
        finally:
            if self._loop is loop:
                self._forget_all()

    def _take_idle(self, endpoint: Endpoint) -> _AnswerProtocol | None:
        kept = self._idle.get(endpoint)
        while kept:
            connection = kept.pop()  # the most recently used: the least likely stale
            if connection.usable():
                return connection
            connection.close()
        return None

    def _give_back(self, endpoint: Endpoint, connection: _AnswerProtocol) -> None:
        kept = self._idle.setdefault(endpoint, [])
        # Bytes arriving after the answer are seen by data_received, or by the poll in
        # `usable()` when the connection is taken again: no poll here.
        transport = connection.transport
        if (
            len(kept) >= self.max_idle
            or connection.lost
            or transport is None
            or transport.is_closing()
        ):
            connection.close()
        else:
            kept.append(connection)

    async def _open(
        self, loop: asyncio.AbstractEventLoop, endpoint: Endpoint, tls: ssl.SSLContext | None
    ) -> _AnswerProtocol:
        try:
            _, protocol = await loop.create_connection(
                lambda: _AnswerProtocol(loop),
                endpoint.host,
                endpoint.port,
                ssl=tls,
                server_hostname=endpoint.host if tls is not None else None,
            )
        except ssl.SSLError as exc:  # certificate errors included
            raise requests.exceptions.SSLError(f"TLS with {endpoint.host}: {exc}") from None
        except OSError as exc:
            raise requests.ConnectionError(f"connecting to {endpoint.host}: {exc}") from None
        self.opened += 1
        return protocol

    def _forget_all(self) -> None:
        idle, self._idle = self._idle, {}
        loop = self._loop
        connections = [connection for kept in idle.values() for connection in kept]
        if not connections or loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop or loop.is_closed():
            for connection in connections:
                connection.close()
        else:
            # Asyncio transports belong to their loop's thread: closed there.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_close_all, connections)


def _close_all(connections: list[_AnswerProtocol]) -> None:
    """Close connections (on their loop)."""
    for connection in connections:
        connection.close()
