"""A scripted loopback HTTP server for the wire tests: it answers what a test tells it to."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable

# What the script does for one request, in order: bytes are sent, a float is slept,
# None closes the connection (nothing more is read from it).
Action = bytes | float | None
Script = Callable[[int, bytes], Iterable[Action]]


def answer(
    status: str = "200 OK", body: bytes = b"{}", headers: Iterable[str] = (), length: bool = True
) -> bytes:
    """A whole HTTP/1.1 answer: status line, headers (+ Content-Length), body."""
    lines = [f"HTTP/1.1 {status}", *headers]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def read_request(connection: socket.socket) -> bytes | None:
    """One whole request (head and its Content-Length body), or None at EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head + b"\r\n\r\n" + body


class ScriptedServer:
    """Accepts connections on 127.0.0.1 and answers each request with `script`'s actions."""

    def __init__(
        self, script: Script, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1"
    ) -> None:
        self.script = script
        self.requests: list[bytes] = []
        self.connections = 0
        self._tls = tls
        self._lock = threading.Lock()
        self._listener = socket.create_server((host, 0))
        self.port = self._listener.getsockname()[1]
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://{host}:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        try:
            if self._tls is not None:
                connection = self._tls.wrap_socket(connection, server_side=True)
            while True:
                request = read_request(connection)
                if request is None:
                    return
                with self._lock:
                    index = len(self.requests)
                    self.requests.append(request)
                for action in self.script(index, request):
                    if action is None:
                        return
                    if isinstance(action, float):
                        time.sleep(action)
                    else:
                        connection.sendall(action)
        except OSError:
            return
        finally:
            connection.close()

    def close(self) -> None:
        """Stop accepting."""
        self._listener.close()

    def __enter__(self) -> ScriptedServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
