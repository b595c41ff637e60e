"""Zendesk's rules the emulator now mirrors: search lag, custom objects, forms, limits, HTML."""

from __future__ import annotations

from typing import Any

from emulator_helpers import Api

from backend.demo import SEEDS_DIR
from backend.emulator import EmulatorServer, EmulatorStore, load_seed_articles
from backend.emulator.articles import _split_title
from backend.emulator.clock import ManualClock
from backend.macro_sync.drift import hash_article

SEEDS = SEEDS_DIR  # the seed articles that ship with the emulator


def _ticket(store: EmulatorStore, tags: list[str]) -> dict[str, Any]:
    return store.create_ticket({"subject": "s", "comment": {"body": "b"}, "tags": tags})


def test_search_sees_tickets_only_after_the_indexing_lag() -> None:
    """Which tickets match is the stale index's answer; what is shown is current data.

    Fails on the code before this change: the emulator's search was instant and live.
    """
    clock = ManualClock()
    store = EmulatorStore(search_lag_seconds=60, clock=clock)
    ticket = _ticket(store, ["fr_origin_1"])
    assert store.search("tags:fr_origin_1") == []
    clock.advance(59)
    assert store.search("tags:fr_origin_1") == []
    clock.advance(2)
    assert [t["id"] for t in store.search("tags:fr_origin_1")] == [ticket["id"]]
    store.update_ticket(ticket["id"], {"tags": ["other"]})
    stale = store.search("tags:fr_origin_1")
    assert [t["tags"] for t in stale] == [["other"]]  # matched by the index, shown current
    clock.advance(61)
    assert store.search("tags:fr_origin_1") == []
    assert [t["id"] for t in store.search("tags:other")] == [ticket["id"]]


def test_search_lag_is_set_through_the_control_api(api: Api, store: EmulatorStore) -> None:
    """`POST /__emulator/search_lag` turns the lag on for a running emulator."""
    old = _ticket(store, ["seen"])
    assert api.control("POST", "/search_lag", json={"seconds": 60}).json() == {"seconds": 60.0}
    _ticket(store, ["seen"])
    found = api.get("/search.json", params={"query": "tags:seen"}).json()["results"]
    assert [t["id"] for t in found] == [old["id"]]  # written before the lag: indexed
    assert api.control("POST", "/search_lag", json={"seconds": -1}).status_code == 400


def test_custom_object_records_are_created_listed_by_external_id_and_deleted(api: Api) -> None:
    """Custom objects API shapes: 201 creates, string record ids, filter, 204/404 deletes."""
    created = api.post(
        "/custom_objects.json",
        json={"custom_object": {"key": "gp_reconnection", "title": "R", "title_pluralized": "Rs"}},
    )
    assert created.status_code == 201
    assert created.json()["custom_object"]["key"] == "gp_reconnection"
    again = api.post(
        "/custom_objects.json",
        json={"custom_object": {"key": "gp_reconnection", "title": "R", "title_pluralized": "Rs"}},
    )
    assert again.status_code == 422
    assert again.json()["errors"][0]["code"] == "RecordInvalid"
    field = api.post(
        "/custom_objects/gp_reconnection/fields.json",
        json={"custom_object_field": {"key": "forced_call_id", "type": "text", "title": "F"}},
    )
    assert field.status_code == 201
    record = api.post(
        "/custom_objects/gp_reconnection/records.json",
        json={
            "custom_object_record": {
                "name": "r",
                "external_id": "7001",
                "custom_object_fields": {"forced_call_id": "7002"},
            }
        },
    )
    assert record.status_code == 201
    body = record.json()["custom_object_record"]
    # "id | string | … Automatically assigned upon creation": a string, and here no
    # number either, so a client that reads it as one fails in tests, not in production.
    assert isinstance(body["id"], str)
    assert len(body["id"]) == 26
    assert not body["id"].isdigit()
    assert body["custom_object_fields"] == {"forced_call_id": "7002"}
    duplicate = api.post(
        "/custom_objects/gp_reconnection/records.json",
        json={"custom_object_record": {"name": "r2", "external_id": "7001"}},
    )
    assert duplicate.status_code == 422
    listed = api.get(
        "/custom_objects/gp_reconnection/records.json",
        params={"filter[external_ids]": "7001,9999"},
    ).json()
    assert [r["id"] for r in listed["custom_object_records"]] == [body["id"]]
    assert listed["meta"]["has_more"] is False  # cursor pagination, always
    gone = api.delete(f"/custom_objects/gp_reconnection/records/{body['id']}.json")
    assert gone.status_code == 204
    missing = api.delete(f"/custom_objects/gp_reconnection/records/{body['id']}.json")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "NotFound"
    assert api.get("/custom_objects/nope/records.json").status_code == 404


def test_update_ticket_is_limited_per_ticket_per_user_and_per_account() -> None:
    """Update Ticket: 30 per ticket per user per 10 min, 100 per account per minute.

    Fails on the code before this change: the emulator knew only the account budget.
    """
    import requests

    with EmulatorServer(rate_limit_per_minute=700) as server:
        store = server.store
        tickets = [_ticket(store, []) for _ in range(5)]
        session = requests.Session()
        session.auth = ("agent@example.com/token", "t")
        api = Api(server.url, session)

        def put(ticket_id: int, n: int) -> Any:
            return api.put(f"/tickets/{ticket_id}.json", json={"ticket": {"subject": f"s{n}"}})

        answers = [put(tickets[0]["id"], n) for n in range(31)]
        assert [a.status_code for a in answers[:30]] == [200] * 30
        assert answers[29].headers["ratelimit-remaining"] == "70"
        refused = answers[30]
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) > 60  # the 10-minute window
        assert "total=30; remaining=0" in refused.headers["zendesk-ratelimit-update-ticket"]
        # Other tickets still take updates until the account's 100 per minute are spent.
        statuses = [put(tickets[1 + n % 4]["id"], n).status_code for n in range(71)]
        assert statuses == [200] * 70 + [429]
        assert api.get(f"/tickets/{tickets[1]['id']}.json").status_code == 200
        session.close()


def test_the_high_volume_budget_allows_300_ticket_updates_per_minute() -> None:
    """Rate limits page: "100 requests per min per account / 300 requests per min per
    account with the High Volume add-on" (the 2,500/min budget)."""
    import requests

    with EmulatorServer(rate_limit_per_minute=2_500) as server:
        tickets = [_ticket(server.store, []) for _ in range(11)]
        session = requests.Session()
        session.auth = ("agent@example.com/token", "t")
        api = Api(server.url, session)
        statuses = [
            api.put(
                f"/tickets/{tickets[n % 11]['id']}.json", json={"ticket": {"subject": f"s{n}"}}
            ).status_code
            for n in range(301)
        ]
        assert statuses == [200] * 300 + [429]
        session.close()


def test_test_accounts_above_every_plan_have_no_endpoint_limits(api: Api) -> None:
    """A budget above 2,500/min (no real plan) marks a test account without limits."""
    api.control("POST", "/rate_limit", json={"per_minute": 100_000})
    created = api.post("/tickets.json", json={"ticket": {"comment": {"body": "b"}}}).json()
    path = f"/tickets/{created['ticket']['id']}.json"
    answers = [api.put(path, json={"ticket": {"subject": f"s{n}"}}) for n in range(35)]
    assert {a.status_code for a in answers} == {200}


def test_ticket_forms_list_their_fields(api: Api, store: EmulatorStore) -> None:
    """Ticket forms: 201 create, PUT replaces ticket_field_ids, unknown fields 422."""
    subject = next(f["id"] for f in store.fields() if f["type"] == "subject")
    form = api.post("/ticket_forms.json", json={"ticket_form": {"name": "F"}})
    assert form.status_code == 201
    form_id = form.json()["ticket_form"]["id"]
    updated = api.put(
        f"/ticket_forms/{form_id}.json", json={"ticket_form": {"ticket_field_ids": [subject]}}
    )
    assert updated.json()["ticket_form"]["ticket_field_ids"] == [subject]
    wrong = api.put(
        f"/ticket_forms/{form_id}.json", json={"ticket_form": {"ticket_field_ids": [42]}}
    )
    assert wrong.status_code == 422
    assert api.get(f"/ticket_forms/{form_id}.json").json()["ticket_form"]["ticket_field_ids"] == [
        subject
    ]


def test_help_center_bodies_are_html_and_hash_like_the_seed() -> None:
    """Seeds are served as HTML; the drift hash is the same as the seed's Markdown.

    Fails on the code before this change: the emulator served the Markdown itself, so
    the drift check was never proven on HTML.
    """
    store = EmulatorStore()
    loaded = load_seed_articles(store, SEEDS)
    assert sorted(loaded) == [1001, 1002]
    for path in sorted(SEEDS.glob("*.txt")):
        title, markdown = _split_title(path.read_text(encoding="utf-8"))
        article_id = next(i for i, t in loaded.items() if t == title)
        body = store.get_article(article_id, "ko")["body"]
        assert body.startswith("<")
        assert "<strong>" in body
        assert hash_article(body) == hash_article(markdown)
