"""`guidepost serve`: the API under uvicorn, refusing to start without real secrets."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn

from backend.api.app import create_app
from backend.api.edge import AcceptErrorLog, make_protocol
from backend.logs import configure_logging
from backend.settings import Settings

KEEP_ALIVE_SECONDS = 5


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for these settings: all but app, host, port and workers.

    The one place they are chosen, so a benchmark can run exactly what `serve` runs
    (`uvicorn.run(app, host=…, port=…, workers=…, **uvicorn_options(settings))`).
    """
    return {
        # A request-head deadline on every connection (backend/api/edge.py).
        "http": make_protocol(settings.http_header_timeout_seconds, settings.http_parser),
        "loop": settings.http_loop,
        "log_level": settings.log_level.lower(),
        # Our own access line replaces uvicorn's (it carries ticket, guide, calls, latency).
        "access_log": False,
        "server_header": False,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
    }


def build_server(settings: Settings, host: str, port: int) -> uvicorn.Server:
    """A uvicorn server whose connections have a request-head deadline."""
    config = uvicorn.Config(create_app(settings), host=host, port=port, **uvicorn_options(settings))
    return uvicorn.Server(config)


async def serve(server: uvicorn.Server) -> None:
    """Serve with accept errors (EMFILE…) logged as sparse structured lines."""
    asyncio.get_running_loop().set_exception_handler(AcceptErrorLog())
    await server.serve()


def run(settings: Settings, host: str, port: int) -> None:
    """Check secrets, configure logging and serve the API until interrupted."""
    settings.require_secrets("session_secret", "zendesk_token")
    settings.require_zaf_identity()
    configure_logging(settings.log_level)
    server = build_server(settings, host, port)
    # The configured loop (asyncio by default), as uvicorn's own `Server.run` makes it.
    with asyncio.Runner(loop_factory=server.config.get_loop_factory()) as runner:
        runner.run(serve(server))
