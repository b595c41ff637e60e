"""The FastAPI application: routes, problem+json errors, CORS and the access log."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.api.deps import VerifiedSessions, close_gateway, load_engine, open_gateway
from backend.api.edge import EdgeMiddleware
from backend.api.openapi import build_openapi
from backend.api.problems import (
    BODY_TOO_LARGE_FLAG,
    MAX_BODY_BYTES,
    build_body_too_large_response,
    build_internal_error_response,
    install_problem_handlers,
)
from backend.api.routers import form_guidance, guides, health, preview, session, tickets
from backend.api.routers import graph as guide_graph
from backend.connectors import close_connector_client, load_checked_connectors
from backend.domain.fields import FieldCatalog
from backend.errors import GuidepostError
from backend.logs import configure_logging, get_logger, open_request_scope
from backend.settings import Settings
from backend.zendesk.read_cache import ReadCache

API_VERSION = "1.0.0"


class BodyLimitMiddleware:
    """Refuse request bodies over MAX_BODY_BYTES with a 413 problem, before reading them."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check Content-Length, then count streamed bytes (chunked bodies have none)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    # FastAPI turns errors while reading the body into a 400; the flag
                    # lets the problem handler answer 413 instead.
                    scope[BODY_TOO_LARGE_FLAG] = True
                    raise _BodyTooLargeError
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except _BodyTooLargeError:
            if not started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        await build_body_too_large_response(self.limit)(scope, receive, send)


class _BodyTooLargeError(Exception):
    """Raised inside the app when a streamed body passes the limit."""


class AccessLogMiddleware:
    """Write one masked JSON line per request; turn unexpected exceptions into a 500 problem."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = get_logger("guidepost.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request inside a log scope and log it once it is answered."""
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
                await self.app(scope, receive, record)
            except Exception as exc:
                # Handled here (not re-raised) so no server prints an unmasked traceback.
                self.log.error("unhandled_exception", error=type(exc).__name__, exc_info=True)
                if not state["sent"]:
                    await build_internal_error_response()(scope, receive, record)
            finally:
                log_once()

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


@asynccontextmanager
async def run_gateway(app: FastAPI) -> AsyncIterator[None]:
    """One Zendesk gateway (and agent directory) per process, closed on shutdown."""
    settings: Settings = app.state.settings
    if settings.zendesk_token.get_secret_value():
        open_gateway(app.state)
    try:
        yield
    finally:
        close_gateway(app.state)
        close_connector_client()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the Guidepost API for these settings (process settings by default)."""
    settings = settings or Settings()
    if not structlog.is_configured():
        configure_logging(settings.log_level)
    app = FastAPI(
        lifespan=run_gateway,
        title="Guidepost",
        version=API_VERSION,
        description="Guided workflows for Zendesk agents: decisions and exactly-once write-back.",
        docs_url=None,
        redoc_url=None,
    )
    if settings.connectors_file is not None:
        # Fail fast: a misconfigured connector stops the backend, not each request.
        load_checked_connectors(settings, load_engine(settings.guides_dir).catalog.fields)
    app.state.settings = settings
    app.state.gateway = None
    app.state.directory = None
    app.state.gateway_lock = threading.Lock()
    app.state.verified_sessions = VerifiedSessions()
    app.state.read_cache = ReadCache(
        settings.guidance_history_cache_seconds, settings.ticket_record_cache_seconds
    )
    install_problem_handlers(app)
    for module in (health, guides, preview, tickets, form_guidance, session, guide_graph):
        app.include_router(module.router)
    if settings.app_assets_dir.is_dir():
        app.mount("/app/assets", StaticFiles(directory=settings.app_assets_dir), name="app")
    app.add_middleware(
        EdgeMiddleware,
        max_in_flight=settings.http_max_concurrency,
        body_timeout=settings.http_body_timeout_seconds,
    )
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(AccessLogMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )

    def generate_openapi() -> dict[str, Any]:
        """Build (once) the OpenAPI document with the catalog's field value schemas."""
        try:
            fields: FieldCatalog | None = load_engine(settings.guides_dir).catalog.fields
        except GuidepostError:
            fields = None
        return build_openapi(app, fields)

    app.openapi = generate_openapi  # type: ignore[method-assign]
    return app
