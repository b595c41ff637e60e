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

from backend.api.problems import build_problem_response
from backend.logs import get_logger

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


class GuardedHttpToolsProtocol(_HeadDeadline, HttpToolsProtocol):
    """uvicorn's httptools (C parser) protocol with the same request-head deadline."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request head."""
        super().connection_made(transport)
        self._arm_header_deadline()

    def on_headers_complete(self) -> None:
        """Stop the clock: the request head is complete."""
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


class EdgeMiddleware:
    """Bound concurrent requests and the time a request body may take to arrive."""

    def __init__(self, app: ASGIApp, max_in_flight: int = 64, body_timeout: float = 10.0) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.body_timeout = body_timeout
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse when full; time out a slow body with 408."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            response = build_problem_response(
                503,
                "overloaded",
                "Too many requests in flight",
                "the service is at its concurrency limit; retry in a second",
                headers={"Retry-After": "1"},
                retry_after=1,
            )
            await response(scope, receive, send)
            return
        self.in_flight += 1
        body_done = False
        started = False

        async def timed_receive() -> Message:
            nonlocal body_done
            if body_done:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.body_timeout)
            except TimeoutError:
                raise _BodyTimeoutError from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, timed_receive, tracked_send)
        except _BodyTimeoutError:
            if not started:
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
