"""`guidepost serve`: the API under uvicorn, refusing to start without real secrets."""

from __future__ import annotations

import asyncio

import uvicorn

from backend.api.app import create_app
from backend.api.edge import AcceptErrorLog, make_protocol
from backend.logs import configure_logging
from backend.settings import Settings

KEEP_ALIVE_SECONDS = 5


def build_server(settings: Settings, host: str, port: int) -> uvicorn.Server:
    """A uvicorn server whose connections have a request-head deadline."""
    config = uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        http=make_protocol(settings.http_header_timeout_seconds),
        log_level=settings.log_level.lower(),
        # Our own access line replaces uvicorn's (it carries ticket, guide, calls, latency).
        access_log=False,
        server_header=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
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
    asyncio.run(serve(build_server(settings, host, port)))
