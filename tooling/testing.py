"""Test helpers shared by test areas: a running stack (emulator + backend) and JWT minting."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from backend.api.auth import SESSION_ISSUER, SESSION_TYPE, encode_token
from backend.settings import Settings

if TYPE_CHECKING:
    import uvicorn

    from backend.emulator.server import EmulatorServer

TEST_SHARED_SECRET = "test-shared-secret-0123456789"  # noqa: S105 (tests only)
TEST_ZENDESK_TOKEN = "emulator-api-token"  # noqa: S105 (the emulator accepts any)
TEST_SESSION_SECRET = "test-session-secret-0123456789-abcdefghij"  # noqa: S105 (tests only)
# The emulator's agent (an admin): sessions in tests speak for this Zendesk user.
TEST_AGENT_ID = 1_001_001
TOKEN_LIFETIME_SECONDS = 300
ZENPY_ENV = ("ZENPY_FORCE_SCHEME", "ZENPY_FORCE_NETLOC")


# Debian's Chromium, headless, without the background connections this closed network
# refuses (Playwright never downloads a browser here).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def make_token(settings: Settings, **claims: Any) -> str:
    """Mint a Guidepost session token as POST /v1/session does; a None claim is dropped."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": SESSION_ISSUER,
        "aud": settings.session_audience,
        "sub": str(TEST_AGENT_ID),
        "acct": settings.zaf_issuer,
        "typ": SESSION_TYPE,
        "vouched": now,
        "iat": now,
        "exp": now + min(TOKEN_LIFETIME_SECONDS, settings.session_lifetime_seconds),
    }
    payload.update(claims)
    payload = {key: value for key, value in payload.items() if value is not None}
    return encode_token(payload, settings.session_secret.get_secret_value())


def build_auth_headers(settings: Settings, **claims: Any) -> dict[str, str]:
    """Build the Authorization header carrying a fresh token."""
    return {"Authorization": f"Bearer {make_token(settings, **claims)}"}


@dataclass
class Stack:
    """A running emulator with bootstrapped fields and demo tickets, and the backend."""

    emulator: EmulatorServer
    backend_url: str
    settings: Settings
    field_map: dict[str, int]
    ticket_ids: list[int]
    server: uvicorn.Server
    extra: dict[str, Any] = field(default_factory=dict)

    def make_headers(self, **claims: Any) -> dict[str, str]:
        """Return the Authorization header with a fresh token (claims override defaults)."""
        return build_auth_headers(self.settings, **claims)

    def build_url(self, path: str) -> str:
        """Return the backend URL of a path."""
        return self.backend_url + path


def apply_body(guidance: dict[str, Any]) -> dict[str, Any]:
    """What the sidebar sends back to apply: branch, updated_at, fingerprint of what it showed."""
    return {
        "branch": guidance["branch"],
        "ticket_updated_at": guidance["ticket_updated_at"],
        "fingerprint": guidance["fingerprint"],
    }


def _bind_free_socket(host: str) -> socket.socket:
    """Bind a listening-ready socket on a free loopback port (handed to uvicorn)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


@contextmanager
def serve_config(
    config: uvicorn.Config, host: str = "127.0.0.1"
) -> Iterator[tuple[int, uvicorn.Server]]:
    """Run uvicorn with this config on a background thread and a free port; yield both."""
    import uvicorn

    sock = _bind_free_socket(host)
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn:{port}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield port, server
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def serve_app(app: Any, host: str = "127.0.0.1") -> Iterator[tuple[str, uvicorn.Server]]:
    """Serve an ASGI app with uvicorn on a background thread; yield its base URL."""
    import uvicorn

    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=5
    )
    with serve_config(config, host) as (port, server):
        yield f"http://{host}:{port}", server


@contextmanager
def run_stack(
    tmp_path: Path,
    *,
    settings_overrides: Mapping[str, Any] | None = None,
    rate_limit_per_minute: int = 100_000,
) -> Iterator[Stack]:
    """Run emulator + `fields bootstrap` + demo seed + the backend (uvicorn) on loopback."""
    from backend.emulator.server import EmulatorServer

    # ZenpyGateway.from_settings points Zenpy at the emulator through process-wide env vars.
    saved_env = {name: os.environ.get(name) for name in ZENPY_ENV}
    try:
        with EmulatorServer(rate_limit_per_minute=rate_limit_per_minute) as emulator:
            yield from _run_stack_on(emulator, tmp_path, settings_overrides)
    finally:
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _run_stack_on(
    emulator: EmulatorServer, tmp_path: Path, settings_overrides: Mapping[str, Any] | None
) -> Iterator[Stack]:
    """Bootstrap fields, seed the demo and serve the backend against a running emulator."""
    from backend.api.app import create_app
    from backend.bootstrap import bootstrap_fields
    from backend.demo import seed_demo
    from backend.domain.fields import load_field_catalog
    from backend.zendesk.zenpy_gateway import ZenpyGateway
    from tooling.harness.proxy import ZendeskSigner

    values: dict[str, Any] = {
        "zendesk_url": emulator.url,
        "zendesk_token": SecretStr(TEST_ZENDESK_TOKEN),
        "shared_secret": SecretStr(TEST_SHARED_SECRET),
        "session_secret": SecretStr(TEST_SESSION_SECRET),
        "zaf_public_key": ZendeskSigner.process_public_pem(),
        "zaf_installation_id": ZendeskSigner.DEFAULT_INSTALLATION,
        "field_map": tmp_path / "field_map.json",
        "zendesk_timeout_seconds": 2.0,
        "interactive_max_wait_seconds": 2.0,
        "cors_origins": ["https://acme.zendesk.com"],
    }
    values.update(settings_overrides or {})
    settings = Settings(_env_file=None, **values)
    fields = load_field_catalog(settings.guides_dir / "fields.yaml")
    with ZenpyGateway.from_settings(settings, wait_policy="batch") as gateway:
        field_map = bootstrap_fields(gateway, fields, settings.field_map)
        ticket_ids = seed_demo(gateway, fields, field_map)
    emulator.store.reset_counters()
    with serve_app(create_app(settings)) as (url, server):
        yield Stack(
            emulator=emulator,
            backend_url=url,
            settings=settings,
            field_map=dict(field_map),
            ticket_ids=list(ticket_ids),
            server=server,
        )
