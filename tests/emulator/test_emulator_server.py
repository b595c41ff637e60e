"""Server concerns: auth, errors, rate limiting, faults, counters, reset, articles, users."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests
from emulator_helpers import Api
from zenpy import Zenpy
from zenpy.lib.api_objects import Ticket
from zenpy.lib.exception import APIException

from backend.emulator import EmulatorServer, EmulatorStore, load_seed_articles

SEEDS_DIR = Path(__file__).resolve().parents[2] / "backend" / "emulator" / "seed_articles"


def _create_ticket_id(store: EmulatorStore) -> int:
    """Create a throwaway ticket."""
    ticket: int = store.create_ticket({"subject": "x", "comment": {"body": "y"}})["id"]
    return ticket


def test_requests_without_credentials_are_401(emulator: EmulatorServer) -> None:
    with requests.Session() as session:
        for headers in ({}, {"Authorization": "Basic !!!"}, {"Authorization": "Token abc"}):
            with session.get(f"{emulator.url}/api/v2/users/me.json", headers=headers) as response:
                assert response.status_code == 401
                assert response.json() == {"error": "Couldn't authenticate you"}
        with session.get(
            f"{emulator.url}/api/v2/users/me.json", headers={"Authorization": "Bearer t0ken"}
        ) as response:
            assert response.status_code == 200


def test_users_me_is_an_agent(api: Api, zenpy_client: Zenpy) -> None:
    user = api.get("/users/me.json").json()["user"]
    assert user["name"] == "Emulator Agent"
    assert user["role"] in ("agent", "admin")
    assert zenpy_client.users.me().id == user["id"]


def test_error_shapes(api: Api) -> None:
    unknown = api.get("/nothing/here.json")
    assert (unknown.status_code, unknown.json()["error"]) == (404, "InvalidEndpoint")
    wrong_method = api.delete("/users/me.json")
    assert wrong_method.status_code == 405
    assert "GET" in wrong_method.headers["Allow"]
    bad_json = api.call(
        "POST",
        "/api/v2/tickets.json",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert bad_json.status_code == 400
    assert bad_json.json()["error"] == "BadRequest"


def test_rate_limit_answers_429_with_retry_after(api: Api, store: EmulatorStore) -> None:
    store.set_rate_limit(3)
    remaining = [api.get("/users/me.json").headers["X-Rate-Limit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    limited = api.get("/users/me.json")
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.headers["X-Rate-Limit"] == "3"
    assert limited.text == "Number of allowed API requests per minute exceeded"
    assert store.counters()["rate_limited"] == 1
    # The control API is neither authenticated nor rate limited.
    assert api.control("GET", "/counters").status_code == 200
    api.control("POST", "/rate_limit", json={"per_minute": 100})
    assert api.get("/users/me.json").status_code == 200


def test_latency_fault_delays_then_answers(api: Api) -> None:
    api.control(
        "POST",
        "/faults",
        json={"faults": [{"kind": "latency", "method": "GET", "path": "/users/me", "ms": 150}]},
    )
    started = time.monotonic()
    response = api.get("/users/me.json")
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.15


def test_status_fault_fires_n_times(api: Api, store: EmulatorStore) -> None:
    store.set_faults([{"kind": "status", "status": 503, "retry_after": 2, "times": 2}])
    first, second, third = (api.get("/users/me.json") for _ in range(3))
    assert (first.status_code, first.headers["Retry-After"]) == (503, "2")
    assert first.json()["error"] == "EmulatedFault"
    assert second.status_code == 503
    assert third.status_code == 200
    assert store.counters()["faults_injected"] == 2


def test_rate_limit_fault_is_retried_by_zenpy(
    zenpy_client: Zenpy, api: Api, store: EmulatorStore
) -> None:
    ticket_id = _create_ticket_id(store)
    api.control(
        "POST",
        "/faults",
        json={
            "faults": [
                {"kind": "rate_limit", "path": r"/tickets/\d+", "retry_after": 1, "times": 1}
            ]
        },
    )
    assert zenpy_client.tickets(id=ticket_id).id == ticket_id
    assert store.counters()["by_route"]["GET /api/v2/tickets/{id}"] == 2


def test_drop_fault_closes_the_connection(api: Api, store: EmulatorStore) -> None:
    store.set_faults([{"kind": "drop", "method": "GET", "path": "/users/me", "times": 1}])
    with pytest.raises(requests.exceptions.ConnectionError):
        api.get("/users/me.json")
    assert api.get("/users/me.json").status_code == 200


def test_conflict_fault_makes_safe_update_fail(zenpy_client: Zenpy, store: EmulatorStore) -> None:
    ticket_id = _create_ticket_id(store)
    read = zenpy_client.tickets(id=ticket_id)
    store.set_faults([{"kind": "conflict", "method": "PUT", "path": r"/tickets/\d+", "times": 1}])
    with pytest.raises(APIException) as caught:
        zenpy_client.tickets.update(
            Ticket(id=ticket_id, subject="new", safe_update=True, updated_stamp=read.updated_at)
        )
    assert caught.value.response.status_code == 409


def test_probability_faults_are_seeded(api: Api) -> None:
    def statuses() -> list[int]:
        api.control(
            "POST",
            "/faults",
            json={"seed": 7, "faults": [{"kind": "status", "status": 500, "probability": 0.5}]},
        )
        return [api.get("/users/me.json").status_code for _ in range(12)]

    first = statuses()
    assert first == statuses()
    assert set(first) == {200, 500}
    assert api.control("DELETE", "/faults").status_code == 204
    assert api.get("/users/me.json").status_code == 200


def test_invalid_fault_specs_are_rejected(api: Api) -> None:
    response = api.control("POST", "/faults", json={"faults": [{"kind": "meteor"}]})
    assert response.status_code == 400


def test_counters_use_route_templates(api: Api, store: EmulatorStore) -> None:
    first, second = _create_ticket_id(store), _create_ticket_id(store)
    api.get(f"/tickets/{first}.json")
    api.get(f"/tickets/{second}")
    api.put(f"/tickets/{first}.json", json={"ticket": {"subject": "z"}})
    counters = api.control("GET", "/counters").json()
    assert counters["total"] == 3
    assert counters["writes"] == 1
    assert counters["by_route"] == {"GET /api/v2/tickets/{id}": 2, "PUT /api/v2/tickets/{id}": 1}
    assert set(counters) == {
        "total",
        "by_route",
        "writes",
        "ignored_tag_ops",
        "rate_limited",
        "faults_injected",
    }
    api.control("POST", "/counters/reset")
    assert store.counters()["total"] == 0


def test_reset_returns_to_the_seeded_state() -> None:
    store = EmulatorStore()
    seeded = store.create_ticket({"subject": "seed", "comment": {"body": "x"}})
    with EmulatorServer(store) as server, requests.Session() as session:
        session.auth = ("a@b.c/token", "t")
        base = f"{server.url}/api/v2"
        session.put(
            f"{base}/tickets/{seeded['id']}.json", json={"ticket": {"subject": "changed"}}
        ).close()
        session.post(f"{base}/tickets.json", json={"ticket": {"comment": {"body": "new"}}}).close()
        store.set_faults([{"kind": "latency", "ms": 1}])
        session.post(f"{server.url}/__emulator/reset").close()
        with session.get(f"{base}/tickets.json") as response:
            tickets = response.json()["tickets"]
        assert [(t["id"], t["subject"]) for t in tickets] == [(seeded["id"], "seed")]
        assert store.list_faults() == []
        assert store.counters()["total"] == 1


def test_touch_control_bumps_updated_at(api: Api, store: EmulatorStore) -> None:
    ticket_id = _create_ticket_id(store)
    before = api.get(f"/tickets/{ticket_id}.json").json()["ticket"]["updated_at"]
    touched = api.control("POST", f"/tickets/{ticket_id}/touch").json()["ticket"]
    assert touched["updated_at"] > before
    assert api.control("POST", "/tickets/999/touch").status_code == 404


def test_help_center_article_and_control_update(api: Api, zenpy_client: Zenpy) -> None:
    assert api.get("/help_center/ko/articles/1001.json").status_code == 404
    created = api.control("PUT", "/articles/ko/1001", json={"title": "T", "body": "<p>B</p>"})
    assert created.status_code == 200
    article = api.get("/help_center/ko/articles/1001.json").json()["article"]
    assert (article["id"], article["title"], article["body"], article["locale"]) == (
        1001,
        "T",
        "<p>B</p>",
        "ko",
    )
    assert article["url"] == f"{api.base}/api/v2/help_center/ko/articles/1001.json"
    assert article["html_url"].endswith("/hc/ko/articles/1001")
    api.control("PUT", "/articles/ko/1001", json={"body": "<p>C</p>"})
    again = api.get("/help_center/ko/articles/1001.json").json()["article"]
    assert again["body"] == "<p>C</p>"
    assert again["updated_at"] > article["updated_at"]
    assert zenpy_client.help_center.articles(id=1001).title == "T"
    assert api.get("/help_center/en-us/articles/1001.json").status_code == 404


def test_load_seed_articles_from_a_directory(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("# [연동] 주차권 미적용\n\n**본문**\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("# [채팅] 강제재연결 요청\n\n내용\n", encoding="utf-8")
    (tmp_path / "c.txt").write_text("# Unrelated\n", encoding="utf-8")
    store = EmulatorStore()
    loaded = load_seed_articles(store, tmp_path)
    assert loaded == {1001: "[연동] 주차권 미적용", 1002: "[채팅] 강제재연결 요청"}
    # Help Center bodies are HTML (the seed's Markdown, rendered).
    assert store.get_article(1001, "ko")["body"] == "<p><strong>본문</strong></p>"
    assert load_seed_articles(EmulatorStore(), tmp_path / "missing") == {}


@pytest.mark.skipif(not SEEDS_DIR.is_dir(), reason="shared seeds are not present")
def test_load_the_shared_seed_articles() -> None:
    store = EmulatorStore()
    loaded = load_seed_articles(store, SEEDS_DIR)
    assert set(loaded) == {1001, 1002}
    assert "주차권" in store.get_article(1001)["title"]
    assert "강제재연결" in store.get_article(1002)["title"]


def test_keep_alive_reuses_one_connection(api: Api) -> None:
    for _ in range(3):
        assert api.get("/users/me.json").status_code == 200
    pools = api.session.get_adapter(api.base).poolmanager.pools
    # urllib3's RecentlyUsedContainer refuses plain iteration; keys() is the API.
    assert sum(pools[key].num_connections for key in pools.keys()) == 1  # noqa: SIM118


def test_server_stop_is_clean_with_open_keep_alive_connection() -> None:
    server = EmulatorServer().start()
    session = requests.Session()
    session.auth = ("a@b.c/token", "t")
    with session.get(f"{server.url}/api/v2/users/me.json") as response:
        assert response.status_code == 200
    server.stop()
    session.close()
    with pytest.raises(RuntimeError):
        _ = server.port


def test_reset_restores_the_configured_rate_limit() -> None:
    with EmulatorServer(rate_limit_per_minute=50) as server:
        server.store.set_rate_limit(1)
        server.store.reset()
        assert server.store.rate_limit_per_minute == 50
