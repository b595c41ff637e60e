"""`guidepost serve` and the bench server run uvicorn with `uvicorn_options` (build_server's)."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from backend.api.server import build_server, uvicorn_options
from backend.settings import Settings

SECRET = "bench-test-secret-0123456789-abcdefghijklmnop"


def settings(**overrides: Any) -> Settings:
    return Settings(
        _env_file=None,
        zendesk_token=SecretStr("token"),
        shared_secret=SecretStr(SECRET),
        session_secret=SecretStr(SECRET),
        **overrides,
    )


def protocol_shape(protocol: Any) -> tuple[Any, ...]:
    """A protocol class by what it runs: its bases and its own settings (e.g. deadlines)."""
    if not isinstance(protocol, type):
        return (protocol,)
    own = {k: v for k, v in vars(protocol).items() if not k.startswith("__")}
    return (protocol.__bases__, sorted(own.items()))


def test_uvicorn_options_are_the_ones_guidepost_serve_passes() -> None:
    chosen = settings(http_header_timeout_seconds=7.5, log_level="WARNING")
    options = uvicorn_options(chosen)
    config = build_server(chosen, "127.0.0.1", 0).config
    assert {"http", "log_level", "access_log", "server_header", "timeout_keep_alive"} <= set(
        options
    )
    for name, value in options.items():
        if name == "http":
            assert protocol_shape(value) == protocol_shape(config.http)
        else:
            assert getattr(config, name) == value, name
