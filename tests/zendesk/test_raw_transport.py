"""The raw path (wire.py) answers and fails as `HTTPAdapter.send` does, and sends its bytes."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
import urllib3

from backend.emulator.server import EmulatorServer
from backend.errors import ZendeskError, ZendeskUnavailableError
from backend.zendesk.raw_path import RawPath
from backend.zendesk.wire import Endpoint
from backend.zendesk.zenpy_gateway import RetryPolicy, ZenpyGateway
from tests.zendesk.wire_server import ScriptedServer, answer
from tooling.bench.tls import HandshakeCounter, make_local_ca

# Headers whose value may change between two answers (the clock, the emulator's timer).
VOLATILE = {"date", "x-emulator-service-ms", "x-rate-limit-remaining"}


def _gateway(url: str, timeout: float = 5.0, retries: int = 2) -> ZenpyGateway:
    return ZenpyGateway(
        subdomain="emulator",
        email="agent@example.com",
        token="test-token",
        timeout=timeout,
        policy=RetryPolicy("batch", 5.0, retries, backoff_base=0.01, backoff_cap=0.02),
        base_url=url,
    )


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(rate_limit_per_minute=100_000) as running:
        running.store.create_ticket({"subject": "s", "comment": {"body": "b"}, "tags": ["a"]})
        yield running


def _plain_send(gateway: ZenpyGateway, method: str, path: str, body: Any = None) -> Any:
    """The same request through requests' own adapter path (Session.request → send())."""
    session = gateway._session()
    return session.request(
        method, f"https://{gateway.zendesk_host}{path}", json=body, timeout=gateway.timeout
    )


def _comparable(response: requests.Response) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in response.headers.items() if k.lower() not in VOLATILE}
    return {
        "status": response.status_code,
        "reason": response.reason,
        "encoding": response.encoding,
        "url": response.url,
        "content": response.content,
        "headers": headers,
        "method": response.request.method,
        "body": response.request.body,
    }


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v2/tickets/1.json", None),
        ("GET", "/api/v2/tickets/404.json", None),
        ("GET", "/api/v2/search.json?query=type%3Aticket", None),
        ("PUT", "/api/v2/ticket_forms/1.json", {"ticket_form": {"ticket_field_ids": []}}),
    ],
)
def test_the_raw_answer_is_the_adapters_answer(
    server: EmulatorServer, method: str, path: str, body: Any
) -> None:
    """Status, reason, encoding, URL, headers and body equal those of HTTPAdapter.send."""
    with _gateway(server.url) as gateway:
        session = gateway._session()
        raw = gateway._send_direct(session, method, path, None, body)
        plain = _plain_send(gateway, method, path, body)
    assert _comparable(raw) == _comparable(plain)


def _raw_path(gateway: ZenpyGateway) -> RawPath:
    raw_path: RawPath = gateway._local.raw_path
    return raw_path


def test_raw_requests_share_one_kept_alive_connection(server: EmulatorServer) -> None:
    """Every raw call of a thread rides one connection; Zenpy's calls keep their own pool."""
    with _gateway(server.url) as gateway:
        gateway.get_ticket(1)
        wire = _raw_path(gateway).wire
        (first,) = wire._connections.values()
        for _ in range(5):
            gateway.get_ticket(1)
            gateway.list_ticket_fields()  # Zenpy's own path (requests' pool)
        assert list(wire._connections.values()) == [first]
        # The emulator holds two connections: the raw one and requests' pooled one.
        assert len(server._httpd._connections) == 2


def test_closing_the_gateway_closes_the_raw_sockets(server: EmulatorServer) -> None:
    """close() closes the raw path's kept-alive socket, not only forgets it."""
    gateway = _gateway(server.url)
    gateway.get_ticket(1)
    wire = _raw_path(gateway).wire
    (connection,) = wire._connections.values()
    assert connection.sock.fileno() != -1
    gateway.close()
    assert connection.sock.fileno() == -1
    assert wire.connections() == 0
    with pytest.raises(ZendeskError):
        gateway.get_ticket(1)


class _CutServer:
    """Answers the first `cuts` requests with half a body, then closes; later ones whole."""

    BODY = b'{"ticket": {"id": 7, "subject": "whole", "tags": []}}'

    def __init__(self, cuts: int) -> None:
        self.cuts = cuts
        self.requests = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            with connection:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = connection.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                self.requests += 1
                head = (
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(self.BODY)
                )
                if self.requests <= self.cuts:
                    connection.sendall(head + self.BODY[:10])
                else:
                    connection.sendall(head + self.BODY)

    def close(self) -> None:
        self._listener.close()


def test_a_body_cut_mid_way_is_retried() -> None:
    """A connection dropped mid-body is a network failure: a read is sent again."""
    cut = _CutServer(cuts=1)
    try:
        with _gateway(cut.url) as gateway:
            assert gateway.get_ticket(7).subject == "whole"
            assert gateway.calls == 2
    finally:
        cut.close()
    assert cut.requests == 2


def test_a_body_cut_on_a_create_is_not_retried() -> None:
    """A POST whose answer was cut may have applied: never replayed."""
    cut = _CutServer(cuts=5)
    try:
        with _gateway(cut.url) as gateway, pytest.raises(ZendeskUnavailableError) as info:
            gateway.request_json("POST", "/api/v2/x.json", "other", "creation", body={})
    finally:
        cut.close()
    assert "not retried" in info.value.detail
    assert cut.requests == 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _failure(call: Any) -> str:
    with pytest.raises(ZendeskUnavailableError) as info:
        call()
    return info.value.detail


def test_failures_read_as_on_the_adapter_path(server: EmulatorServer) -> None:
    """Refused and timed-out requests give the same problem and attempts on both paths."""
    refused = f"http://127.0.0.1:{_free_port()}"
    with _gateway(refused, retries=1) as gateway:
        raw = _failure(lambda: gateway.get_ticket(1))
        plain = _failure(gateway.list_ticket_fields)
    assert "connection failed (2 attempt(s))" in raw
    assert raw.split("json ", 1)[1] == plain.split("json ", 1)[1]
    server.store.set_faults([{"kind": "latency", "ms": 600}])
    with _gateway(server.url, timeout=0.2, retries=1) as gateway:
        raw = _failure(lambda: gateway.get_ticket(1))
        plain = _failure(gateway.list_ticket_fields)
    assert "timed out (2 attempt(s))" in raw
    assert raw.split("json ", 1)[1] == plain.split("json ", 1)[1]


def test_the_raw_path_verifies_tls_and_keeps_its_connection(tmp_path: Path) -> None:
    """Over HTTPS: refused without the CA (verification on), one handshake for many calls."""
    ca, cert, key = make_local_ca(tmp_path)
    with EmulatorServer(rate_limit_per_minute=100_000) as server:
        server.store.create_ticket({"subject": "s", "comment": {"body": "b"}})
        handshakes = HandshakeCounter(server._httpd, cert, key)
        https = server.url.replace("http://", "https://")
        untrusting = ZenpyGateway(
            subdomain="emulator", email="a@example.com", token="t", base_url=https,
            policy=RetryPolicy("batch", 1.0, 0),
        )  # fmt: skip
        with untrusting, pytest.raises(ZendeskUnavailableError) as info:
            untrusting.get_ticket(1)
        assert "connection failed" in info.value.detail
        trusting = ZenpyGateway(
            subdomain="emulator", email="a@example.com", token="t", base_url=https,
            ca_bundle=str(ca),
        )  # fmt: skip
        with trusting:
            before = handshakes.count
            for _ in range(10):
                assert trusting.get_ticket(1).subject == "s"
            assert handshakes.count - before == 1
            for _ in range(3):
                trusting.list_ticket_fields()  # Zenpy's path: its own pooled connection
            assert handshakes.count - before == 2


def test_an_undecodable_body_is_not_retried() -> None:
    """Bad gzip is ContentDecodingError (as requests names it): unavailable, sent once."""
    bad = answer(body=b"not gzip", headers=["Content-Encoding: gzip"])
    with ScriptedServer(lambda index, request: [bad]) as scripted:
        with _gateway(scripted.url) as gateway, pytest.raises(ZendeskUnavailableError) as info:
            gateway.get_ticket(1)
        assert "ContentDecodingError" in info.value.detail
        assert len(scripted.requests) == 1


def test_a_stale_connection_costs_no_retry() -> None:
    """The server closed the idle connection: the next read reopens, one call, no retry."""
    body = b'{"ticket": {"id": 1, "subject": "s", "tags": []}}'
    with ScriptedServer(lambda index, request: [answer(body=body), 0.02, None]) as scripted:
        with _gateway(scripted.url) as gateway:
            gateway.get_ticket(1)
            (connection,) = _raw_path(gateway).wire._connections.values()
            for _ in range(200):
                if connection.dropped():
                    break
                time.sleep(0.01)
            gateway.calls = 0
            assert gateway.get_ticket(1).subject == "s"
            assert gateway.calls == 1
            assert not gateway.state.retried
        assert scripted.connections == 2


def _old_urllib3_bytes(url: str, method: str, path: str, body: Any, headers: Any) -> None:
    """Send as the removed urllib3 raw path did (transport.py before wire.py)."""
    target = Endpoint.from_base(url)
    pool = urllib3.HTTPConnectionPool(target.host, target.port)
    sent = headers.copy()
    encoded = None
    if body is not None:
        encoded = json.dumps(body, allow_nan=False).encode("utf-8")
        sent["Content-Type"] = "application/json"
        sent["Content-Length"] = str(len(encoded))
    elif method not in ("GET", "HEAD"):
        sent["Content-Length"] = "0"
    pool.urlopen(
        method, path, body=encoded, headers=sent, redirect=False, assert_same_host=False,
        preload_content=True, decode_content=True, retries=False, chunked=False,
    )  # fmt: skip
    pool.close()


@pytest.mark.parametrize(
    ("method", "path", "params", "body"),
    [
        ("GET", "/api/v2/tickets/1.json", None, None),
        ("GET", "/api/v2/search.json", {"query": "type:ticket 안녕", "page": "2"}, None),
        ("PUT", "/api/v2/tickets/1.json", None, {"ticket": {"tags": ["a"], "x": '노트 "<b>'}}),
        ("POST", "/api/v2/custom_objects/x/records.json", None, {"custom_object_record": {}}),
        ("DELETE", "/api/v2/custom_objects/x/records/5.json", None, None),
    ],
)
def test_the_bytes_sent_are_the_old_paths(
    method: str, path: str, params: dict[str, str] | None, body: Any
) -> None:
    """Request line, headers (names, order, values) and body equal urllib3's, byte for byte."""
    with ScriptedServer(lambda index, request: [answer(body=b"{}")]) as scripted:
        with _gateway(scripted.url) as gateway:
            gateway.request_json(method, path, "other", "x", params=params, body=body)
            query = f"?{urlencode(params)}" if params else ""
            headers = _raw_path(gateway).headers
            _old_urllib3_bytes(scripted.url, method, path + query, body, headers)
        new, old = scripted.requests
    assert new == old
    assert b"Authorization: Basic " in new
