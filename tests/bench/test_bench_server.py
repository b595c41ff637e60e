"""The bench server runs uvicorn with the options `guidepost serve` runs with."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr
from uvicorn.importer import import_from_string

from backend.api.server import build_server
from backend.settings import Settings
from tooling.bench.server import SERVE_PROTOCOL, _found_by_name, serve_options

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


def test_serve_options_are_the_ones_guidepost_serve_passes() -> None:
    chosen = settings(http_header_timeout_seconds=7.5, log_level="WARNING")
    options = serve_options(chosen)
    config = build_server(chosen, "127.0.0.1", 0).config
    assert {"http", "log_level", "access_log", "server_header", "timeout_keep_alive"} <= set(
        options
    )
    for name, value in options.items():
        if name == "http":
            assert protocol_shape(value) == protocol_shape(config.http)
        else:
            assert getattr(config, name) == value, name


def test_workers_import_the_protocol_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUIDEPOST_HTTP_HEADER_TIMEOUT_SECONDS", "6.5")
    from tooling.bench import server

    server._serve_protocol.cache_clear()
    try:
        by_name = import_from_string(SERVE_PROTOCOL)
        expected = serve_options(settings(http_header_timeout_seconds=6.5))["http"]
        assert protocol_shape(by_name) == protocol_shape(expected)
        with pytest.raises(AttributeError):
            server.NoSuchThing  # noqa: B018 (only ServeProtocol is made on demand)
    finally:
        server._serve_protocol.cache_clear()


class Named:
    """A class pickle finds by its module and name."""


def test_only_a_class_pickle_cannot_find_goes_by_the_bench_name() -> None:
    assert _found_by_name(Named)
    assert not _found_by_name(type("Made", (Named,), {}))
