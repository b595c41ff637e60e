"""Raw JSON requests skip `Session.request` but keep its auth, hooks, paging and proxies."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from pydantic import SecretStr

from backend.emulator.server import EmulatorServer
from backend.errors import TicketNotFoundError
from backend.settings import Settings
from backend.zendesk.zenpy_gateway import SEARCH_RESULT_LIMIT, ZenpyGateway

PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy")


def _gateway(url: str) -> ZenpyGateway:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        zendesk_url=url,
        zendesk_token=SecretStr("test-token"),
    )
    return ZenpyGateway.from_settings(settings)


def _tagged_tickets(server: EmulatorServer, count: int, tag: str) -> None:
    for index in range(count):
        server.store.create_ticket(
            {"subject": f"t{index}", "comment": {"body": "b"}, "tags": [tag]}
        )


def spy_session_requests(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URLs `requests.Session.request` is called with from now on (it still sends)."""
    calls: list[str] = []
    original = requests.Session.request

    def spy(self: requests.Session, method: str, url: str, **kwargs: Any) -> Any:
        calls.append(url)
        return original(self, method, url, **kwargs)

    monkeypatch.setattr(requests.Session, "request", spy)
    return calls


def test_a_raw_read_sends_the_sessions_auth_and_runs_its_response_hooks() -> None:
    """The direct path carries Basic auth and hands every answer to the session's hooks."""
    seen: list[requests.Response] = []
    with EmulatorServer() as server, _gateway(server.url) as gateway:
        server.store.create_ticket({"subject": "hooked", "comment": {"body": "b"}})
        gateway._session().hooks["response"].append(lambda r, *a, **k: seen.append(r))
        assert gateway.get_ticket(1).subject == "hooked"
        with pytest.raises(TicketNotFoundError):
            gateway.get_ticket(99)
    assert [r.status_code for r in seen] == [200, 404]
    assert str(seen[0].request.headers["Authorization"]).startswith("Basic ")
    # The answer carries the https URL Zenpy would have built (sent to the emulator).
    assert seen[0].url.startswith("https://")
    assert seen[0].url.endswith("/api/v2/tickets/1.json")


def test_search_follows_every_page() -> None:
    """150 results are two pages of 100 (2 calls), all read, none duplicated."""
    with EmulatorServer(rate_limit_per_minute=100_000) as server, _gateway(server.url) as gw:
        _tagged_tickets(server, 150, "paged")
        before = gw.calls
        found = gw.search_tickets("tags:paged")
        assert gw.calls - before == 2
    assert sorted(t.id for t in found) == list(range(1, 151))


def test_search_stops_at_zendesks_result_limit() -> None:
    """Past 1,000 results Zendesk answers 422: the search stops at the limit instead."""
    with EmulatorServer(rate_limit_per_minute=100_000) as server, _gateway(server.url) as gw:
        _tagged_tickets(server, SEARCH_RESULT_LIMIT + 50, "many")
        before = gw.calls
        found = gw.search_tickets("tags:many")
        assert gw.calls - before == SEARCH_RESULT_LIMIT // 100
    assert len(found) == SEARCH_RESULT_LIMIT


def test_with_a_proxy_configured_raw_reads_go_through_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A session that trusts the environment resolves proxies per URL: Session.request."""
    for name in (*PROXY_VARIABLES, "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    calls = spy_session_requests(monkeypatch)
    with EmulatorServer() as server:
        server.store.create_ticket({"subject": "s", "comment": {"body": "b"}})
        with _gateway(server.url) as direct:
            direct.get_ticket(1)
        assert calls == []
        with _gateway(server.url) as proxied:
            proxied._trust_env = True  # as if HTTPS_PROXY had been set when it was made
            assert proxied.get_ticket(1).id == 1
        assert [url.rsplit("/api/", 1)[-1] for url in calls] == ["v2/tickets/1.json"]


def test_the_directory_reads_raw_json(monkeypatch: pytest.MonkeyPatch) -> None:
    """Authorization's reads skip Session.request too: one counted call each."""
    from backend.zendesk.users import ZenpyDirectory

    calls = spy_session_requests(monkeypatch)
    with EmulatorServer(rate_limit_per_minute=100_000) as server, _gateway(server.url) as gw:
        user = server.store.create_user({"name": "Kim", "role": "agent"})
        for group in (3, 4):
            server.store.create_group_membership({"user_id": user["id"], "group_id": group})
        directory = ZenpyDirectory(gw)
        before = gw.calls
        assert directory.get_user_profile(user["id"]).role == "agent"
        assert directory.list_group_ids(user["id"]) == frozenset({3, 4})
        assert gw.calls - before == 2
    assert calls == []


def test_the_directory_follows_a_page_link_by_its_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """`next_page` is an absolute URL: the next read asks for its path and query."""
    from backend.zendesk.users import ZenpyDirectory

    asked: list[str] = []
    pages = {
        "/api/v2/users/5/group_memberships.json?per_page=100": {
            "group_memberships": [{"group_id": 1}],
            "next_page": "https://acme.zendesk.com/api/v2/users/5/group_memberships.json?page=2",
        },
        "/api/v2/users/5/group_memberships.json?page=2": {
            "group_memberships": [{"group_id": 2}],
            "next_page": None,
        },
    }

    def answer(self: ZenpyGateway, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        asked.append(path)
        return pages[path]

    monkeypatch.setattr(ZenpyGateway, "request_json", answer)
    with ZenpyGateway(subdomain="acme", email="a@example.com", token="t") as gateway:
        assert ZenpyDirectory(gateway).list_group_ids(5) == frozenset({1, 2})
    assert asked == list(pages)
