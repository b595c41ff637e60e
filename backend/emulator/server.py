"""HTTP front of the Zendesk emulator: sockets, keep-alive, the server thread.

A real ``ThreadingHTTPServer`` speaking HTTP/1.1 with keep-alive, so injected
faults behave like network faults: ``drop`` closes the socket without an answer.
Routing lives in ``routes``; all state lives in an :class:`EmulatorStore`.
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from backend.emulator.http_shapes import (
    _Response,
)
from backend.emulator.routes import _App
from backend.emulator.store import EmulatorStore, RateDecision

__all__ = ["EmulatorServer", "serve_forever"]


class _HTTPServer(ThreadingHTTPServer):
    """Threaded server that remembers open connections so stop() can close them."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: _App) -> None:
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _RequestHandler)

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse-DNS lookup of the host name."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that hang up mid-answer; report anything else."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)

    def track(self, connection: socket.socket) -> None:
        """Remember an accepted connection."""
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        """Forget a finished connection."""
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        """Shut down idle keep-alive connections so their threads end."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                continue


class _RequestHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive handler delegating to the shared _App."""

    protocol_version = "HTTP/1.1"
    server_version = "ZendeskEmulator/1.0"
    # Idle keep-alive connections end after this many seconds.
    timeout = 30.0

    def setup(self) -> None:
        """Track the connection for a clean shutdown; disable Nagle."""
        super().setup()
        # Headers and body go out in two writes; without NODELAY the client's delayed
        # ACK stalls every response by ~40 ms.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._get_http_server().track(self.connection)

    def finish(self) -> None:
        """Untrack the connection."""
        try:
            super().finish()
        finally:
            self._get_http_server().untrack(self.connection)

    def version_string(self) -> str:
        """Name the emulator in the Server header (no Python version)."""
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests and the CLI own the console."""

    def do_GET(self) -> None:
        """Serve GET."""
        self._serve()

    def do_POST(self) -> None:
        """Serve POST."""
        self._serve()

    def do_PUT(self) -> None:
        """Serve PUT."""
        self._serve()

    def do_DELETE(self) -> None:
        """Serve DELETE."""
        self._serve()

    def do_PATCH(self) -> None:
        """Serve PATCH (no route uses it, so it answers 405/404)."""
        self._serve()

    def _get_http_server(self) -> _HTTPServer:
        """The owning server, typed."""
        assert isinstance(self.server, _HTTPServer)
        return self.server

    def _serve(self) -> None:
        """Read the body, answer, or drop the connection for a drop fault."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self._send(
                _Response(400, {"error": "BadRequest", "description": "Bad Content-Length"}), None
            )
            return
        raw = self.rfile.read(length) if length else b""
        host = self.headers.get("Host") or "{}:{}".format(
            *self._get_http_server().server_address[:2]
        )
        try:
            response, rate = self._get_http_server().app.handle(
                self.command, self.path, self.headers, raw, f"http://{host}"
            )
        except Exception as exc:  # a bug must surface as a 500, not a hung client
            response, rate = (
                _Response(500, {"error": "InternalError", "description": repr(exc)}),
                None,
            )
        if response is None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(response, rate)

    def _send(self, response: _Response, rate: RateDecision | None) -> None:
        """Write status, headers and body with an exact Content-Length."""
        if response.body is None:
            data, content_type = b"", None
        elif isinstance(response.body, str):
            data, content_type = response.body.encode("utf-8"), "text/plain; charset=utf-8"
        else:
            data = json.dumps(response.body, ensure_ascii=False).encode("utf-8")
            content_type = "application/json; charset=utf-8"
        self.send_response(response.status)
        if content_type:
            self.send_header("Content-Type", content_type)
        if rate is not None:
            self.send_header("X-Rate-Limit", str(rate.limit))
            self.send_header("X-Rate-Limit-Remaining", str(rate.remaining))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status != 204:
            self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if data and response.status != 204:
            self.wfile.write(data)


class EmulatorServer:
    """The emulator on a background thread; use as a context manager or start()/stop()."""

    def __init__(
        self,
        store: EmulatorStore | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit_per_minute: int = 700,
    ) -> None:
        self.store = store if store is not None else EmulatorStore()
        self.host = host
        self.rate_limit_per_minute = rate_limit_per_minute
        self._requested_port = port
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _bind(self) -> _HTTPServer:
        """Create the listening server and point the store's URLs at it."""
        self.store.set_rate_limit(self.rate_limit_per_minute, as_default=True)
        httpd = _HTTPServer((self.host, self._requested_port), _App(self.store))
        self._httpd = httpd
        self.store.base_url = self.url
        if not self.store.is_marked:
            self.store.mark_initial()
        return httpd

    def start(self) -> EmulatorServer:
        """Start serving on a daemon thread (idempotent)."""
        if self._httpd is not None:
            return self
        httpd = self._bind()
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"zendesk-emulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close open connections and join the thread."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    @property
    def port(self) -> int:
        """The bound port (known once started)."""
        if self._httpd is None:
            raise RuntimeError("the emulator is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def __enter__(self) -> EmulatorServer:
        """Start on entering the with block."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop on leaving the with block."""
        self.stop()


def serve_forever(
    host: str = "127.0.0.1",
    port: int = 8090,
    store: EmulatorStore | None = None,
    rate_limit_per_minute: int = 700,
) -> None:
    """Run the emulator in the foreground until interrupted (for the CLI)."""
    server = EmulatorServer(store, host, port, rate_limit_per_minute)
    httpd = server._bind()
    try:
        httpd.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        pass
    finally:
        httpd.close_connections()
        httpd.server_close()
