"""The bench's emulator stopwatch: from the request line read to the answer built.

Header parsing (slow headers here) is Zendesk's time; the idle wait of a kept-alive
connection before the next request line is nobody's; control routes carry no stamp.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from backend.emulator.server import EmulatorServer
from tooling.bench.emulator import SERVICE_HEADER, install_timer

PAUSE_SECONDS = 0.3
REQUEST = (
    b"GET /api/v2/ticket_fields.json HTTP/1.1\r\n",
    b"Host: emulator\r\nAuthorization: Bearer emulator-bench-token\r\n\r\n",
)


@pytest.fixture
def emulator_port() -> Iterator[int]:
    restore = install_timer()
    try:
        with EmulatorServer() as server:
            yield server.port
    finally:
        restore()


def read_answer(sock: socket.socket) -> dict[str, str]:
    """Read one answer (head + Content-Length body); return its headers, lower-cased."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {
        k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])
    }
    headers[":status"] = lines[0].split()[1]
    while len(body) < int(headers.get("content-length", "0")):
        body += sock.recv(65536)
    return headers


def stated_ms(headers: dict[str, str]) -> float:
    assert headers[":status"] == "200"
    return float(headers[SERVICE_HEADER.lower()])


def test_slow_headers_count_and_the_idle_wait_does_not(emulator_port: int) -> None:
    with socket.create_connection(("127.0.0.1", emulator_port)) as sock:
        sock.sendall(b"".join(REQUEST))
        quick = stated_ms(read_answer(sock))
        # Kept alive and idle, then a request whose headers trail its request line.
        time.sleep(PAUSE_SECONDS)
        sock.sendall(REQUEST[0])
        time.sleep(PAUSE_SECONDS)
        sock.sendall(REQUEST[1])
        slow = stated_ms(read_answer(sock))
    assert quick < PAUSE_SECONDS * 1000 / 2
    # The handler wakes a little after the request line arrives: most of the pause counts.
    assert 0.8 * PAUSE_SECONDS * 1000 <= slow < 2 * PAUSE_SECONDS * 1000


def test_control_routes_are_not_stamped(emulator_port: int) -> None:
    with socket.create_connection(("127.0.0.1", emulator_port)) as sock:
        sock.sendall(b"GET /__emulator/counters HTTP/1.1\r\nHost: emulator\r\n\r\n")
        headers = read_answer(sock)
    assert headers[":status"] == "200"
    assert SERVICE_HEADER.lower() not in headers


def test_restore_removes_the_stamp() -> None:
    install_timer()()
    with EmulatorServer() as server, socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"".join(REQUEST))
        headers = read_answer(sock)
    assert headers[":status"] == "200"
    assert SERVICE_HEADER.lower() not in headers
