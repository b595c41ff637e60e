"""Serve the harness: two loopback ports (host page, app iframe), one ASGI app."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from backend.settings import Settings
from tooling.app_package import APP_DIR
from tooling.harness.app import create_harness_app

__all__ = ["RunningHarness", "run_harness", "serve_harness"]


@dataclass(frozen=True)
class RunningHarness:
    """Where a running harness answers."""

    url: str  # the host page ("Zendesk")
    app_origin: str  # the app iframe's origin (a second port, like Zendesk's app domain)


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def _server(
    backend_url: str,
    emulator_url: str,
    settings: Settings,
    host: str,
    port: int,
    app_port: int,
    serve_sdk_locally: bool,
    app_dir: Path,
    locale: str,
) -> tuple[uvicorn.Server, list[socket.socket], RunningHarness]:
    host_sock = _bind(host, port)
    app_sock = _bind(host, app_port)
    running = RunningHarness(
        url=f"http://{host}:{host_sock.getsockname()[1]}",
        app_origin=f"http://{host}:{app_sock.getsockname()[1]}",
    )
    app = create_harness_app(
        backend_url,
        emulator_url,
        settings,
        app_origin=running.app_origin,
        serve_sdk_locally=serve_sdk_locally,
        app_dir=app_dir,
        locale=locale,
    )
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=5
    )
    return uvicorn.Server(config), [host_sock, app_sock], running


@contextmanager
def serve_harness(
    backend_url: str,
    emulator_url: str,
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    app_port: int = 0,
    serve_sdk_locally: bool = True,
    app_dir: Path = APP_DIR,
    locale: str = "ko",
) -> Iterator[RunningHarness]:
    """Run the harness on a background thread (port 0 = any free port); yield its URLs."""
    server, sockets, running = _server(
        backend_url,
        emulator_url,
        settings,
        host,
        port,
        app_port,
        serve_sdk_locally,
        app_dir,
        locale,
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": sockets}, name="guidepost-harness", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    try:
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the harness did not start")
            time.sleep(0.01)
        yield running
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        for sock in sockets:
            sock.close()


def run_harness(
    backend_url: str,
    emulator_url: str,
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8780,
    app_port: int = 8781,
    locale: str = "ko",
) -> None:
    """Serve the harness in the foreground until interrupted (`make run`).

    The host page is http://HOST:PORT/; the app iframe loads from http://HOST:APP_PORT
    (its own origin, as in Zendesk). iframe.html is served with the CDN SDK URL swapped
    for the npm copy on the harness (`serve_sdk_locally=True`).
    """
    server, sockets, running = _server(
        backend_url, emulator_url, settings, host, port, app_port, True, APP_DIR, locale
    )
    sys.stderr.write(
        f"Guidepost harness: open {running.url}/  (app iframe origin "
        f"{running.app_origin}; backend {backend_url}; emulator {emulator_url})\n"
    )
    try:
        server.run(sockets=sockets)
    finally:
        for sock in sockets:
            sock.close()
