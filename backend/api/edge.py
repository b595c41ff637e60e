"""The HTTP edge: header and body read deadlines, an in-flight limit, quiet accept errors.

Slow clients must not hold the service: a connection that has not sent a full request
head within `header_timeout` is dropped (uvicorn itself only times out idle keep-alive
connections), a body that trickles past `body_timeout` gets 408, more than
`max_in_flight` requests at once get 503 at once, and running out of file descriptors
(EMFILE on accept) is logged as one counted line per interval instead of a traceback
per attempt.
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
from typing import Any, Literal, cast

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from backend.api.problems import (
    BODY_TOO_LARGE_FLAG,
    MAX_BODY_BYTES,
    ProblemResponse,
    build_body_too_large_response,
    build_internal_error_response,
    build_problem_response,
)
from backend.logs import get_logger, open_request_scope

ACCEPT_ERRORS = ("socket.accept() out of system resource", "Error on transport creation")
ACCEPT_LOG_INTERVAL_SECONDS = 10.0


class _HeadDeadline:
    """The request-head clock both guarded protocols share (armed, cancelled, fired)."""

    header_timeout: float = 5.0
    _header_deadline: asyncio.TimerHandle | None = None
    # Provided by uvicorn's protocol classes (both name them alike).
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    cycle: Any

    def _arm_header_deadline(self) -> None:
        self._cancel_header_deadline()
        self._header_deadline = self.loop.call_later(self.header_timeout, self._header_late)

    def _cancel_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _header_late(self) -> None:
        self._header_deadline = None
        idle = self.cycle is None or self.cycle.response_complete
        if idle and not self.transport.is_closing():
            # abort(): free the descriptor now; a client this slow gets no answer.
            self.transport.abort()


class GuardedH11Protocol(_HeadDeadline, H11Protocol):
    """uvicorn's h11 protocol with a deadline for every request head."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request head."""
        super().connection_made(transport)
        self._arm_header_deadline()

    def handle_events(self) -> None:
        """Stop the clock once a request head is complete (a new cycle started)."""
        before = self.cycle
        super().handle_events()
        if self.cycle is not before:
            self._cancel_header_deadline()

    def on_response_complete(self) -> None:
        """Restart the clock for the next request head on this connection."""
        # Armed first: super() may start a pipelined request, which cancels it again.
        if not self.transport.is_closing():
            self._arm_header_deadline()
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        """Drop the clock with the connection."""
        self._cancel_header_deadline()
        super().connection_lost(exc)


# h11 refuses a request head that outgrows 16 KiB (uvicorn answers 400); httptools has no
# bound, and uvicorn grows the URL and header values by copying. Bytes are counted per
# received chunk while a head is incomplete, so a chunk that ends one pipelined body and
# starts the next head counts whole: hence more room than h11's bound.
MAX_HEAD_BYTES = 64 * 1024


class GuardedHttpToolsProtocol(_HeadDeadline, HttpToolsProtocol):
    """uvicorn's httptools (C parser) protocol with h11's guards: a head deadline and size."""

    # Bytes received while the current request head is incomplete; None once it is complete.
    _head_bytes: int | None = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request head."""
        super().connection_made(transport)
        self._head_bytes = 0
        self._arm_header_deadline()

    def data_received(self, data: bytes) -> None:
        """Parse, then answer 400 and close when an incomplete head passes MAX_HEAD_BYTES."""
        super().data_received(data)
        if self._head_bytes is None or self.transport.is_closing():
            return
        self._head_bytes += len(data)
        if self._head_bytes > MAX_HEAD_BYTES:
            self._cancel_header_deadline()
            self.send_400_response("Request head too large.")

    def on_message_begin(self) -> None:
        """A new request head starts: count its bytes."""
        self._head_bytes = 0
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        """Stop the clock and the count: the request head is complete."""
        self._head_bytes = None
        self._cancel_header_deadline()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        """Restart the clock for the next request head on this connection."""
        # A queued pipelined request already has its head: no clock for it.
        if not self.transport.is_closing() and not self.pipeline:
            self._arm_header_deadline()
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        """Drop the clock with the connection."""
        self._cancel_header_deadline()
        super().connection_lost(exc)


HttpParser = Literal["httptools", "h11"]
GUARDED_PROTOCOLS: dict[HttpParser, type[_HeadDeadline]] = {
    "httptools": GuardedHttpToolsProtocol,
    "h11": GuardedH11Protocol,
}
_MADE_NAME = re.compile(r"Guarded_(httptools|h11)_(\d+)ms")


def make_protocol(
    header_timeout: float, parser: HttpParser = "httptools"
) -> type[asyncio.Protocol]:
    """A protocol class with this parser and header deadline (to the millisecond).

    uvicorn instantiates it per connection. The class is found again by its name in this
    module (see `__getattr__`), so it pickles into uvicorn's worker processes.
    """
    return _made_protocol(parser, max(1, round(header_timeout * 1000)))


@functools.cache
def _made_protocol(parser: HttpParser, timeout_ms: int) -> type[asyncio.Protocol]:
    name = f"Guarded_{parser}_{timeout_ms}ms"
    namespace = {"header_timeout": timeout_ms / 1000, "__module__": __name__, "__qualname__": name}
    return type(name, (GUARDED_PROTOCOLS[parser],), namespace)


def __getattr__(name: str) -> Any:
    """The protocol classes `make_protocol` makes, by name (how pickle finds a class)."""
    match = _MADE_NAME.fullmatch(name)
    if match is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return _made_protocol(cast(HttpParser, match[1]), int(match[2]))


class _BodyTimeoutError(Exception):
    """The request body did not arrive in time."""


class _BodyTooLargeError(Exception):
    """A streamed request body passed the limit."""


class EdgeMiddleware:
    """The API's one middleware: access log, body limit (413), in-flight limit (503), body
    deadline (408), and a 500 problem for an unexpected exception.

    One layer instead of three: each ASGI layer wraps every request's receive and send.
    The checks run in the order the three layers had (log, body size, in flight, deadline).
    """

    def __init__(
        self,
        app: ASGIApp,
        max_in_flight: int = 64,
        body_timeout: float = 10.0,
        body_limit: int = MAX_BODY_BYTES,
    ) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.body_timeout = body_timeout
        self.body_limit = body_limit
        self.in_flight = 0
        self.log = get_logger("guidepost.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request inside a log scope; log it once it is answered."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state: dict[str, Any] = {"status": 500, "sent": False, "logged": False}
        with open_request_scope() as context:

            def log_once() -> None:
                """Write the access line the first time only."""
                if not state["logged"]:
                    state["logged"] = True
                    self._write_line(scope, state["status"], started, context)

            async def record(message: Message) -> None:
                if message["type"] == "http.response.start":
                    state["status"] = message["status"]
                    state["sent"] = True
                elif message["type"] == "http.response.body" and not message.get("more_body"):
                    # Log before the last byte leaves: a client that saw the answer sees the line.
                    log_once()
                await send(message)

            try:
                await self._limit(scope, receive, record, state)
            except Exception as exc:
                # Handled here (not re-raised) so no server prints an unmasked traceback.
                self.log.error("unhandled_exception", error=type(exc).__name__, exc_info=True)
                if not state["sent"]:
                    await build_internal_error_response()(scope, receive, record)
            finally:
                log_once()

    async def _limit(
        self, scope: Scope, receive: Receive, send: Send, state: dict[str, Any]
    ) -> None:
        """Refuse a declared body over the limit, then refuse when full, then serve."""
        if not _declared_length_fits(scope, self.body_limit):
            await build_body_too_large_response(self.body_limit)(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            await _overloaded_response()(scope, receive, send)
            return
        self.in_flight += 1
        seen = 0
        body_done = False

        async def limited_receive() -> Message:
            nonlocal seen, body_done
            if body_done:
                return await receive()
            try:
                # asyncio.timeout, not wait_for: no task per message.
                async with asyncio.timeout(self.body_timeout):
                    message = await receive()
            except TimeoutError:
                raise _BodyTimeoutError from None
            if message["type"] == "http.request":
                # Chunked bodies declare no length: count what arrives.
                seen += len(message.get("body", b""))
                if seen > self.body_limit:
                    # FastAPI turns errors while reading the body into a 400; the flag
                    # lets the problem handler answer 413 instead.
                    scope[BODY_TOO_LARGE_FLAG] = True
                    raise _BodyTooLargeError
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLargeError:
            if not state["sent"]:
                await build_body_too_large_response(self.body_limit)(scope, receive, send)
        except _BodyTimeoutError:
            if not state["sent"]:
                response = build_problem_response(
                    408,
                    "request-timeout",
                    "Request timeout",
                    f"the request body did not arrive within {self.body_timeout:g} s",
                    headers={"Connection": "close"},
                )
                await response(scope, receive, send)
        finally:
            self.in_flight -= 1

    def _write_line(
        self, scope: Scope, status: int, started: float, context: dict[str, Any]
    ) -> None:
        gateway = context.pop("gateway", None)
        calls = getattr(gateway, "calls", None) if gateway is not None else None
        line: dict[str, Any] = {
            "method": scope.get("method"),
            "path": scope.get("path"),
            "status": status,
            "ticket_id": context.pop("ticket_id", None),
            "guide": context.pop("guide", None),
            "branch": context.pop("branch", None),
            "zendesk_calls": calls if isinstance(calls, int) else 0,
            "latency_ms": round((time.perf_counter() - started) * 1000, 1),
        }
        line.update(context)
        level = "warning" if status >= 500 else "info"
        getattr(self.log, level)("request", **line)


def _declared_length_fits(scope: Scope, limit: int) -> bool:
    """Whether the Content-Length header (the last one; none means 0) is a number ≤ limit."""
    declared = b"0"
    for name, value in scope.get("headers") or ():
        if name == b"content-length":
            declared = value
    return declared.isdigit() and int(declared) <= limit


def _overloaded_response() -> ProblemResponse:
    return build_problem_response(
        503,
        "overloaded",
        "Too many requests in flight",
        "the service is at its concurrency limit; retry in a second",
        headers={"Retry-After": "1"},
        retry_after=1,
    )


class AcceptErrorLog:
    """An event-loop exception handler that turns accept storms into one line per interval."""

    def __init__(self, interval: float = ACCEPT_LOG_INTERVAL_SECONDS) -> None:
        self.interval = interval
        self.suppressed = 0
        self._last = float("-inf")
        self.log = get_logger("guidepost.edge")

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """Log accept/transport errors sparsely (no traceback); others as loop errors."""
        message = str(context.get("message", ""))
        exception = context.get("exception")
        if message.startswith(ACCEPT_ERRORS) or isinstance(exception, OSError):
            now = time.monotonic()
            if now - self._last < self.interval:
                self.suppressed += 1
                return
            self._last = now
            self.log.warning(
                "accept_failed",
                error=type(exception).__name__ if exception else message[:80],
                errno=getattr(exception, "errno", None),
                suppressed=self.suppressed,
            )
            self.suppressed = 0
            return
        self.log.error(
            "event_loop_error",
            message=message[:200],
            error=type(exception).__name__ if exception else None,
        )
