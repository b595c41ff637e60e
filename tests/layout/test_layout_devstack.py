"""`make run` takes its ports from PORT/…_PORT and stops with one line when a port is busy."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator

import pytest

from tooling.devstack import DEFAULT_PORTS, find_busy_port, main, resolve_ports


@pytest.fixture
def listener() -> Iterator[int]:
    """A port something else already listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def free_port() -> int:
    """A port nothing listens on (bound and released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_defaults_base_and_explicit_ports() -> None:
    nothing = dict.fromkeys(DEFAULT_PORTS)
    assert resolve_ports(None, nothing) == DEFAULT_PORTS
    assert resolve_ports(9000, nothing) == {
        "harness": 9000,
        "app": 9001,
        "backend": 9002,
        "emulator": 9003,
        "admin": 9004,
    }
    assert resolve_ports(9000, {**nothing, "backend": 8100})["backend"] == 8100


def test_a_busy_port_is_named(listener: int) -> None:
    ports = {"harness": free_port(), "app": free_port(), "backend": listener, "emulator": 1}
    line = find_busy_port("127.0.0.1", {k: v for k, v in ports.items() if k != "emulator"})
    assert line is not None
    assert f"port {listener} (backend)" in line
    assert "already in use" in line
    assert "BACKEND_PORT" in line


def test_one_port_for_two_parts_is_refused() -> None:
    port = free_port()
    line = find_busy_port("127.0.0.1", {"harness": port, "app": port})
    assert line == f"make run: app and harness both want port {port}; give each its own"


def test_make_run_stops_with_one_line_and_no_url(listener: int) -> None:
    err = io.StringIO()
    argv = ["--harness-port", str(free_port()), "--app-port", str(free_port())]
    argv += ["--backend-port", str(free_port()), "--emulator-port", str(listener)]
    assert main(argv, err=err) == 1
    text = err.getvalue()
    assert text.count("\n") == 1
    assert f"port {listener} (emulator)" in text
    assert "http" not in text
