"""Configuration that cannot point at the wrong account, and a gateway safe to share."""

from __future__ import annotations

import gc
import os
import socket
import threading

import pytest
from pydantic import SecretStr, ValidationError
from structlog.testing import capture_logs

from backend.emulator.server import EmulatorServer
from backend.errors import ZendeskError
from backend.settings import Settings
from backend.zendesk.zenpy_gateway import RetryPolicy, ZenpyGateway

ZENPY_ENV = ("ZENPY_FORCE_SCHEME", "ZENPY_FORCE_NETLOC")


def _settings(url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        zendesk_url=url,
        zendesk_token=SecretStr("test-token"),
    )


@pytest.mark.parametrize(
    ("url", "subdomain"),
    [
        ("https://acme.zendesk.com", "acme"),
        ("https://acme-kr.zendesk.com/", "acme-kr"),
        ("http://127.0.0.1:8765", "emulator"),
        ("http://localhost:9000", "emulator"),
    ],
)
def test_accepted_urls_name_the_account(url: str, subdomain: str) -> None:
    """Only the account's zendesk.com host, or http on loopback, is accepted."""
    assert _settings(url).zendesk_subdomain == subdomain


@pytest.mark.parametrize(
    "url",
    [
        # Host-mapped Help Center: the token would go to support.zendesk.com.
        "https://support.acme.com",
        "http://acme.zendesk.com",  # plain http to Zendesk
        "http://10.1.2.3:8765",  # http off loopback
        "https://acme.zendesk.com/hc/ko",
        "https://acme.zendesk.com.evil.example",
        "ftp://acme.zendesk.com",
    ],
)
def test_wrong_urls_are_a_clear_settings_error(url: str) -> None:
    """A URL that is not https://<subdomain>.zendesk.com is refused, naming the fix.

    Fails on the code before this change: `https://support.acme.com` became subdomain
    `support` (support.zendesk.com got the token) and any http:// URL meant emulator.
    """
    with pytest.raises(ValidationError, match=r"zendesk\.com"):
        _settings(url)


def test_emulator_mode_is_scoped_to_the_gateway(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two gateways to two emulators in one process each reach their own; env untouched.

    Fails on the code before this change: `from_settings` wrote ZENPY_FORCE_* into the
    process environment, so the last gateway made redirected every other one.
    """
    for name in ZENPY_ENV:
        monkeypatch.delenv(name, raising=False)
    with EmulatorServer() as first, EmulatorServer() as second:
        first.store.create_ticket({"subject": "first", "comment": {"body": "a"}})
        second.store.create_ticket({"subject": "second", "comment": {"body": "b"}})
        second.store.create_ticket({"subject": "second again", "comment": {"body": "c"}})
        one = ZenpyGateway.from_settings(_settings(first.url))
        two = ZenpyGateway.from_settings(_settings(second.url))
        with one, two:
            assert [name for name in ZENPY_ENV if name in os.environ] == []
            assert one.get_ticket(1).subject == "first"
            assert two.get_ticket(1).subject == "second"
            assert len(one.search_tickets("type:ticket")) == 1
            assert len(two.search_tickets("type:ticket")) == 2


def test_a_real_account_gateway_never_goes_to_the_emulator() -> None:
    """An https account URL builds requests for <subdomain>.zendesk.com only."""
    gateway = ZenpyGateway.from_settings(_settings("https://acme.zendesk.com"))
    assert gateway.base_url is None
    assert gateway.zendesk_host == "acme.zendesk.com"
    gateway.close()


def test_sessions_ignore_the_environment_unless_a_proxy_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`trust_env` off (no per-call proxy/netrc lookups) unless a proxy is configured."""
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("all_proxy", raising=False)
    with EmulatorServer() as server:
        plain = ZenpyGateway.from_settings(_settings(server.url))
        plain.search_tickets("type:ticket")
        assert [s.trust_env for s in plain._sessions] == [False]
        plain.close()
        monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
        proxied = ZenpyGateway.from_settings(_settings(server.url))
        assert proxied._trust_env is True
        proxied.close()


def test_one_gateway_serves_many_threads_and_close_closes_every_session() -> None:
    """Per-thread clients on kept-alive sessions; close() closes them all, then refuses."""
    with EmulatorServer(rate_limit_per_minute=100_000) as server:
        server.store.create_ticket({"subject": "s", "comment": {"body": "b"}})
        gateway = ZenpyGateway.from_settings(_settings(server.url))
        errors: list[Exception] = []
        read_all = threading.Barrier(5)
        release = threading.Event()

        def read() -> None:
            try:
                for _ in range(3):
                    gateway.get_ticket(1)
            except Exception as exc:
                errors.append(exc)
            read_all.wait()
            release.wait()  # alive: its session stays in its threading.local

        threads = [threading.Thread(target=read) for _ in range(4)]
        for thread in threads:
            thread.start()
        read_all.wait()
        assert errors == []
        sessions = list(gateway._sessions)
        assert len(sessions) == 4
        assert gateway.calls == 12
        gateway.close()
        release.set()
        for thread in threads:
            thread.join()
        assert list(gateway._sessions) == []
        with pytest.raises(ZendeskError, match="closed"):
            gateway.get_ticket(1)


def test_a_thread_that_ends_takes_its_session_and_sockets_along() -> None:
    """Worker threads come and go (anyio retires idle ones): their sockets do not pile up."""
    with EmulatorServer(rate_limit_per_minute=100_000) as server:
        server.store.create_ticket({"subject": "s", "comment": {"body": "b"}})
        gateway = ZenpyGateway.from_settings(_settings(server.url))
        sockets: list[socket.socket] = []

        def read() -> None:
            gateway.get_ticket(1)
            raw_path = gateway._local.raw_path
            sockets.extend(c.sock for c in raw_path.wire._connections.values())

        for _ in range(3):
            thread = threading.Thread(target=read)
            thread.start()
            thread.join()
        gc.collect()
        assert len(sockets) == 3
        assert list(gateway._sessions) == []
        assert list(gateway._raw_paths) == []
        assert all(sock.fileno() == -1 for sock in sockets)  # closed
        gateway.close()


def test_retry_warnings_go_through_structlog() -> None:
    """A retried 503 is logged as a structured event, not a stdlib warning."""
    with EmulatorServer() as server:
        server.store.create_ticket({"subject": "s", "comment": {"body": "b"}})
        server.store.set_faults([{"kind": "status", "status": 503, "times": 1}])
        gateway = ZenpyGateway(
            subdomain="emulator",
            email="agent@example.com",
            token="t",
            policy=RetryPolicy("batch", 5.0, 2, backoff_base=0.01, backoff_cap=0.02),
            base_url=server.url,
        )
        with gateway, capture_logs() as logs:
            assert gateway.get_ticket(1).subject == "s"
        retries = [entry for entry in logs if entry["event"] == "zendesk retry"]
        assert len(retries) == 1
        assert retries[0]["problem"] == "answered 503"
        assert retries[0]["log_level"] == "warning"
