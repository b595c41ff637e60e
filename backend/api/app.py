"""The FastAPI application: routes, problem+json errors, CORS and the access log."""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from fastapi.telemetry import TelemetryConfig

from backend.api.deps import VerifiedSessions, close_gateway, load_engine, open_gateway
from backend.api.edge import EdgeMiddleware
from backend.api.openapi import build_openapi
from backend.api.problems import install_problem_handlers
from backend.api.routers import form_guidance, guides, health, preview, session, tickets
from backend.api.routers import graph as guide_graph
from backend.app_files import check_served_assets
from backend.connectors import close_connector_client, load_checked_connectors
from backend.domain.fields import FieldCatalog
from backend.errors import GuidepostError
from backend.logs import configure_logging
from backend.settings import Settings
from backend.zendesk.read_cache import ReadCache

API_VERSION = "1.0.0"
# FastAPI's native OpenTelemetry looks up the global providers (and the environment) on
# every request (~9 µs) although Guidepost configures none: off, unless the process runs
# with an OpenTelemetry environment (any OTEL_ variable, e.g. under opentelemetry-instrument).
NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def telemetry_config(environ: Mapping[str, str] | None = None) -> TelemetryConfig | None:
    """FastAPI's telemetry setting: its defaults under an OTEL_ environment, else off."""
    environ = os.environ if environ is None else environ
    return None if any(name.startswith("OTEL_") for name in environ) else NO_TELEMETRY


# The routers in the order the OpenAPI document lists their paths.
DOCUMENTED_ORDER = (health, guides, preview, tickets, form_guidance, session, guide_graph)
# The order requests try them: the ticket routes (the hot ones) first. FastAPI 0.163 tries
# each included router in turn (~6 µs each, even for a miss); no two routers share a path
# and method, and tickets stays before form_guidance (same path, GET before POST).
MATCH_ORDER = (tickets, health, guides, preview, form_guidance, session, guide_graph)


def in_documented_order(document: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with its paths in DOCUMENTED_ORDER (not the matching order)."""
    paths: dict[str, Any] = document.get("paths", {})
    order = [
        path
        for module in DOCUMENTED_ORDER
        for route in module.router.routes
        if (path := getattr(route, "path", None)) in paths
    ]
    ordered = {path: paths[path] for path in dict.fromkeys(order)}
    ordered.update({path: item for path, item in paths.items() if path not in ordered})
    document["paths"] = ordered
    return document


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


class AppAssets(StaticFiles):
    """StaticFiles over the package's file map (backend/app_files.py), not one folder."""

    def __init__(self, files: Mapping[str, Path]) -> None:
        super().__init__(check_dir=False)
        self.files = dict(files)

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        """The mapped file for a path under /app/assets/ (anything else: not found)."""
        source = self.files.get(Path(path).as_posix())
        if source is None:
            return "", None
        try:
            return str(source), os.stat(source)
        except (FileNotFoundError, NotADirectoryError):
            return "", None


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the Guidepost API for these settings (process settings by default)."""
    settings = settings or Settings()
    if not structlog.is_configured():
        configure_logging(settings.log_level)
    app = FastAPI(
        lifespan=run_gateway,
        telemetry=telemetry_config(),
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
    for module in MATCH_ORDER:
        app.include_router(module.router)
    if settings.app_assets_dir is not None:
        # The package's assets (translations and Garden CSS included), checked now: a
        # backend whose sidebar would show raw string keys does not start.
        app.mount(
            "/app/assets", AppAssets(check_served_assets(settings.app_assets_dir)), name="app"
        )
    # One middleware for the access log and every edge limit (backend/api/edge.py).
    app.add_middleware(
        EdgeMiddleware,
        max_in_flight=settings.http_max_concurrency,
        body_timeout=settings.http_body_timeout_seconds,
    )
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
        return in_documented_order(build_openapi(app, fields))

    app.openapi = generate_openapi  # type: ignore[method-assign]
    return app
