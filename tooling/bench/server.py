"""The backend exactly as `guidepost serve` runs it, with stopwatches around Zendesk calls.

`python -m tooling.bench.server --port P [--workers N]` reads the same GUIDEPOST_*
settings, builds the same app (`create_app`, no dependency overrides: FastAPI re-analyses
every dependency per request once any override exists) and runs the same uvicorn options
as `guidepost serve` (`backend.api.server.uvicorn_options`: protocol, loop, log
level, no access log or Server header, keep-alive timeout). Instruments, all in this
bench process only:

- the `ZendeskGateway` methods of `ZenpyGateway` are wrapped (class level) to add their
  duration and HTTP requests to the current request's `Stopwatch`, and so is its
  event-loop reads (`get_ticket_nowait`, `list_reconnections_nowait`,
  `search_tickets_nowait`: the calls they report);
- a `requests` response hook (on every session this process creates, Zenpy's included)
  adds the service time the emulator states in `X-Emulator-Service-Ms`;
- an outermost ASGI middleware reports, per response:

    x-bench-gateway-ms: 151.203   time blocked in ZendeskGateway methods (Zenpy + HTTP)
    x-bench-zendesk-ms: 150.402   what the emulator says it spent serving those calls
    x-bench-zendesk-calls: 2      HTTP requests the gateway sent
    x-bench-app-ms: 153.911       ASGI app start → response start (uvicorn excluded)

One bench-only route, `GET /__bench/zendesk-read/{ticket_id}`, is the stack's floor for one
Zendesk call: the same uvicorn, middleware and routing, one ticket read on the event loop
through the app's gateway, and nothing of Guidepost's (no session, permission, decision or
rendering).

`BENCH_PER_REQUEST_GATEWAY=1` is the what-if of the old code, not production: the app's
gateway is closed after every request, so the next one builds a new `ZenpyGateway` (a
new Zenpy client, `requests` session and connection — against real Zendesk a new TLS
handshake), as before the process-wide gateway.
"""

from __future__ import annotations

import argparse
import functools
import os
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import requests
import uvicorn
from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.api.app import create_app
from backend.api.deps import gateway_and_directory
from backend.api.server import uvicorn_options
from backend.logs import configure_logging
from backend.settings import Settings

GATEWAY_MS = "x-bench-gateway-ms"
ZENDESK_MS = "x-bench-zendesk-ms"
ZENDESK_CALLS = "x-bench-zendesk-calls"
APP_MS = "x-bench-app-ms"
SERVICE_HEADER = "X-Emulator-Service-Ms"
PER_REQUEST_GATEWAY_ENV = "BENCH_PER_REQUEST_GATEWAY"
READ_FLOOR_PATH = "/__bench/zendesk-read/{ticket_id}"
# The ZendeskGateway protocol's methods.
GATEWAY_METHODS = (
    "get_ticket",
    "update_ticket",
    "create_ticket",
    "list_comments",
    "search_tickets",
    "list_ticket_fields",
    "create_ticket_field",
    "update_ticket_field",
    "create_macro",
    "update_macro",
    "delete_macro",
    "get_article",
    "list_reconnections",
    "create_reconnection",
    "delete_reconnection",
)
# The GET guidance's reads on the event loop (async; not in the protocol): the ticket,
# and a 원콜's ledger list and search.
NOWAIT_READS = ("get_ticket_nowait", "list_reconnections_nowait", "search_tickets_nowait")
# The agent directory's permission reads (authorization, cached): their service time
# reaches the stopwatch through the session hook, so their duration must too.
DIRECTORY_READS = (
    "get_user_profile",
    "get_role_configuration",
    "list_group_ids",
    "get_ticket_placement",
)


@dataclass
class Stopwatch:
    """Time one request spent in gateway calls, Zendesk's share of it, and the calls."""

    seconds: float = 0.0
    service_seconds: float = 0.0
    calls: int = 0


_CURRENT: ContextVar[Stopwatch | None] = ContextVar("bench_stopwatch", default=None)


def record_service_time(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """requests hook: add the emulator's stated service time to the request's stopwatch."""
    watch = _CURRENT.get()
    raw = response.headers.get(SERVICE_HEADER)
    if watch is not None and raw is not None:
        watch.service_seconds += float(raw) / 1000


def _timed(method: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a gateway method: add its duration and HTTP requests to the stopwatch."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        watch = _CURRENT.get()
        if watch is None:
            return method(self, *args, **kwargs)
        before = int(self.thread_calls)
        started = time.perf_counter()
        try:
            return method(self, *args, **kwargs)
        finally:
            watch.seconds += time.perf_counter() - started
            watch.calls += int(self.thread_calls) - before

    return wrapper


def _timed_nowait(method: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap an event-loop read: its duration and the calls it reports."""

    @functools.wraps(method)
    async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        watch = _CURRENT.get()
        if watch is None:
            return await method(self, *args, **kwargs)
        started = time.perf_counter()
        calls = 0
        try:
            read = await method(self, *args, **kwargs)
            calls = int(read.calls)
            return read
        finally:
            watch.seconds += time.perf_counter() - started
            # A loop read is in no thread's count: it reports its own calls (1 per page).
            watch.calls += calls

    return wrapper


def _timed_only(method: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a directory read: its duration only (its calls are counted apart, as authz)."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        watch = _CURRENT.get()
        started = time.perf_counter()
        try:
            return method(self, *args, **kwargs)
        finally:
            if watch is not None:
                watch.seconds += time.perf_counter() - started

    return wrapper


def install_instruments() -> Callable[[], None]:
    """Time ZenpyGateway's calls and hook requests sessions; return a function undoing it."""
    from backend.zendesk.users import ZenpyDirectory
    from backend.zendesk.zenpy_gateway import ZenpyGateway

    plain_hooks = requests.sessions.default_hooks
    saved = {name: ZenpyGateway.__dict__[name] for name in (*GATEWAY_METHODS, *NOWAIT_READS)}
    directory = {name: ZenpyDirectory.__dict__[name] for name in DIRECTORY_READS}

    def hooks() -> dict[str, list[Any]]:
        made: dict[str, list[Any]] = plain_hooks()
        made["response"].append(record_service_time)
        return made

    # Bench-only instruments, applied by patching (in the bench's own processes).
    setattr(requests.sessions, "default_hooks", hooks)  # noqa: B010
    for name, method in saved.items():
        setattr(
            ZenpyGateway, name, _timed_nowait(method) if name in NOWAIT_READS else _timed(method)
        )
    for name, method in directory.items():
        setattr(ZenpyDirectory, name, _timed_only(method))

    def restore() -> None:
        setattr(requests.sessions, "default_hooks", plain_hooks)  # noqa: B010
        for name, method in saved.items():
            setattr(ZenpyGateway, name, method)
        for name, method in directory.items():
            setattr(ZenpyDirectory, name, method)

    return restore


class PerRequestGateway:
    """What-if of the old code: a new gateway for every request (c=1 runs only).

    The agent directory keeps the process's first gateway, so the cached permissions
    stay as in production and only the ticket path pays the new client and connection.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self._first: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve, then swap in a fresh gateway (the used one is closed with its sockets)."""
        from backend.api.deps import open_gateway
        from backend.zendesk.zenpy_gateway import ZenpyGateway

        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http" and scope["path"] != "/healthz":
                state = self.app.state
                if self._first is None:
                    self._first = open_gateway(state)
                fresh = ZenpyGateway.from_settings(state.settings, wait_policy="interactive")
                with state.gateway_lock:
                    used, state.gateway = state.gateway, fresh
                if used is not None and used is not self._first:
                    used.close()


class StopwatchMiddleware:
    """Outermost ASGI middleware: a Stopwatch per request, reported in response headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request with a fresh Stopwatch; add the bench headers to its answer."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        watch = Stopwatch()
        token = _CURRENT.set(watch)
        started = time.perf_counter()

        async def stamp(message: Message) -> None:
            if message["type"] == "http.response.start":
                app_ms = (time.perf_counter() - started) * 1000
                headers = list(message.get("headers", []))
                headers += [
                    (GATEWAY_MS.encode(), f"{watch.seconds * 1000:.3f}".encode()),
                    (ZENDESK_MS.encode(), f"{watch.service_seconds * 1000:.3f}".encode()),
                    (ZENDESK_CALLS.encode(), str(watch.calls).encode()),
                    (APP_MS.encode(), f"{app_ms:.3f}".encode()),
                ]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, stamp)
        finally:
            _CURRENT.reset(token)


async def zendesk_read_floor(ticket_id: int, request: Request) -> Response:
    """Bench only: one ticket read on the event loop, answered as its id and updated_at."""
    gateway, _ = await gateway_and_directory(request)
    # ZenpyGateway's loop read (not in the ZendeskGateway protocol: fakes have none).
    read_nowait = getattr(gateway, "get_ticket_nowait", None)
    read = None if read_nowait is None else await read_nowait(ticket_id)
    if read is None or read.record is None:
        return JSONResponse({"error": "no record on the loop"}, status_code=502)
    return JSONResponse({"id": read.record.id, "updated_at": read.record.updated_at})


def add_read_floor(app: FastAPI) -> None:
    """Mount the floor route (after the app's own routes, outside its OpenAPI)."""
    app.add_api_route(READ_FLOOR_PATH, zendesk_read_floor, methods=["GET"], include_in_schema=False)


def create_bench_app() -> ASGIApp:
    """The production app for the GUIDEPOST_* settings, instrumented (uvicorn factory)."""
    settings = Settings()
    settings.require_secrets("session_secret", "zendesk_token")
    configure_logging(settings.log_level)
    install_instruments()
    app = create_app(settings)
    add_read_floor(app)
    if os.environ.get(PER_REQUEST_GATEWAY_ENV) == "1":
        return StopwatchMiddleware(PerRequestGateway(app))
    return StopwatchMiddleware(app)


def main() -> None:
    """Serve the instrumented app with the options `guidepost serve` uses (plus --workers)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    uvicorn.run(
        "tooling.bench.server:create_bench_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        # A worker on a loaded 2-core machine can take > 5 s (the default) to start.
        timeout_worker_healthcheck=30,
        # Exactly `guidepost serve`'s options (its protocol classes pickle by name).
        **uvicorn_options(Settings()),
    )


if __name__ == "__main__":
    main()
