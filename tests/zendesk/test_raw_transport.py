"""The raw path on urllib3's pool answers and fails exactly as `HTTPAdapter.send` does."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import urllib3
from requests.adapters import HTTPAdapter

from backend.emulator.server import EmulatorServer
from backend.errors import ZendeskError, ZendeskUnavailableError
from backend.zendesk.transport import NETWORK_ERRORS, _GuardedAdapter, _requests_error
from backend.zendesk.zenpy_gateway import RetryPolicy, ZenpyGateway
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


def test_raw_and_zenpy_requests_share_one_kept_alive_connection(server: EmulatorServer) -> None:
    """The raw path uses the very pool requests picks: one connection for every call."""
    with _gateway(server.url) as gateway:
        for _ in range(5):
            gateway.get_ticket(1)
            gateway.list_ticket_fields()  # Zenpy's own path
        adapter: _GuardedAdapter = gateway._local.adapter
        pools = adapter.poolmanager.pools
        assert len(pools) == 1
        (pool,) = (pools[key] for key in pools.keys())  # noqa: SIM118 (no plain iteration)
        assert list(adapter._raw_pools.values()) == [pool]
        assert pool.num_connections == 1
        assert pool.num_requests == 10


def test_closing_the_gateway_closes_the_pooled_sockets(server: EmulatorServer) -> None:
    """close() closes the raw path's pool (and its kept-alive socket), not only forgets it."""
    gateway = _gateway(server.url)
    gateway.get_ticket(1)
    adapter: _GuardedAdapter = gateway._local.adapter
    (pool,) = adapter._raw_pools.values()
    assert pool.pool is not None
    assert pool.num_connections == 1
    gateway.close()
    assert pool.pool is None
    assert adapter._raw_pools == {}
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


def _adapter_error(exc: Exception) -> type[Exception]:
    """The error requests' own HTTPAdapter.send raises when urlopen raises `exc`."""

    class Failing:
        def urlopen(self, *args: Any, **kwargs: Any) -> Any:
            raise exc

    adapter = HTTPAdapter()
    adapter.get_connection_with_tls_context = lambda *a, **k: Failing()  # type: ignore[method-assign,assignment]
    adapter.cert_verify = lambda *a, **k: None  # type: ignore[method-assign]
    request = requests.Request("GET", "http://127.0.0.1:1/").prepare()
    try:
        adapter.send(request)
    except Exception as raised:  # the type is the answer
        return type(raised)
    raise AssertionError("no error")


POOL = urllib3.HTTPConnectionPool("127.0.0.1", 1)
CONNECTION = urllib3.connection.HTTPConnection("127.0.0.1", 1)


def _raised_by(retry: urllib3.util.Retry, exc: Exception) -> Exception:
    """What urlopen raises for `exc` under `retry` (its Retry.increment decides)."""
    try:
        retry.increment("GET", "/", error=exc, _pool=POOL)
    except Exception as raised:  # the error is the answer
        return raised
    raise AssertionError("retried")


@pytest.mark.parametrize(
    "exc",
    [
        urllib3.exceptions.NewConnectionError(CONNECTION, "refused"),
        urllib3.exceptions.NameResolutionError("h", CONNECTION, socket.gaierror()),
        urllib3.exceptions.ConnectTimeoutError(POOL, "slow connect"),
        urllib3.exceptions.ReadTimeoutError(POOL, "/", "slow read"),
        urllib3.exceptions.SSLError("bad certificate"),
        urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError()),
        urllib3.exceptions.ClosedPoolError(POOL, "closed"),
    ],
)
def test_urllib3_errors_map_as_requests_maps_them(exc: Exception) -> None:
    """Each failure becomes the requests error HTTPAdapter.send raises for it.

    requests' urlopen runs with Retry(0, read=False), the raw path with retries=False:
    the same failure reaches each wrapped (MaxRetryError) or bare, as urllib3 decides.
    """
    request = requests.Request("GET", "http://127.0.0.1:1/").prepare()
    bare = _raised_by(urllib3.util.Retry(False), exc)
    wrapped = _raised_by(urllib3.util.Retry(0, read=False), exc)
    assert type(_requests_error(bare, request)) is _adapter_error(wrapped)


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
            trusting.list_ticket_fields()  # Zenpy's path, on the same connection
            assert handshakes.count - before == 1


def test_an_undecodable_body_is_not_a_network_failure() -> None:
    """Bad gzip is what requests calls ContentDecodingError when it reads the body."""
    request = requests.Request("GET", "http://127.0.0.1:1/").prepare()
    error = _requests_error(urllib3.exceptions.DecodeError("bad gzip"), request)
    assert type(error) is requests.exceptions.ContentDecodingError
    assert not isinstance(error, NETWORK_ERRORS)
