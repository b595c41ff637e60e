"""`guidepost serve`: the API under uvicorn, refusing to start with placeholder secrets."""

from __future__ import annotations

import uvicorn

from backend.api.app import create_app
from backend.logs import configure_logging
from backend.settings import Settings


def run(settings: Settings, host: str, port: int) -> None:
    """Check secrets, configure logging and serve the API until interrupted."""
    settings.require_secrets("shared_secret", "zendesk_token")
    configure_logging(settings.log_level)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        # Our own access line replaces uvicorn's (it carries ticket, guide, calls, latency).
        access_log=False,
        server_header=False,
    )
