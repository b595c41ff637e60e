"""Tickets over real HTTP: show, update, safe_update, tags semantics, bulk jobs, comments."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from emulator_helpers import Api
from zenpy import Zenpy
from zenpy.lib.api_objects import Comment, CustomField, Ticket
from zenpy.lib.exception import APIException, RecordNotFoundException

from backend.emulator import EmulatorServer, EmulatorStore
from backend.emulator.clock import ManualClock
from backend.emulator.shapes import parse_stamp


def _create_ticket(store: EmulatorStore, **extra: Any) -> dict[str, Any]:
    """Create a ticket through the store."""
    return store.create_ticket({"subject": "Parking coupon", "comment": {"body": "Help"}, **extra})


def _get(store: EmulatorStore, ticket_id: int) -> dict[str, Any]:
    """Read a ticket that must exist."""
    ticket = store.get_ticket(ticket_id)
    assert ticket is not None
    return ticket


def test_show_ticket_has_zendesk_shape(
    api: Api, store: EmulatorStore, dropdown: dict[str, Any]
) -> None:
    created = _create_ticket(store, tags=["VIP  Parking", "vip"])
    response = api.get(f"/tickets/{created['id']}.json")
    assert response.status_code == 200
    assert response.headers["X-Rate-Limit"] == "700"
    ticket = response.json()["ticket"]
    assert ticket["url"] == f"{api.base}/api/v2/tickets/{created['id']}.json"
    assert ticket["subject"] == ticket["raw_subject"] == "Parking coupon"
    assert ticket["description"] == "Help"
    assert ticket["status"] == "new"
    assert ticket["tags"] == ["vip", "parking"]
    assert ticket["custom_fields"] == [{"id": dropdown["id"], "value": None}]
    assert ticket["fields"] == ticket["custom_fields"]
    assert ticket["updated_at"].endswith("Z")
    assert len(ticket["updated_at"]) == 20


def test_unknown_ticket_is_record_not_found(api: Api, zenpy_client: Zenpy) -> None:
    response = api.get("/tickets/999.json")
    assert response.status_code == 404
    assert response.json() == {"error": "RecordNotFound", "description": "Not found"}
    with pytest.raises(RecordNotFoundException):
        zenpy_client.tickets(id=999)


def test_create_ticket_over_http_answers_201_with_audit(api: Api) -> None:
    response = api.post(
        "/tickets.json",
        json={"ticket": {"subject": "New", "comment": {"body": "First words"}, "priority": "high"}},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["ticket"]["description"] == "First words"
    assert body["ticket"]["priority"] == "high"
    assert body["audit"]["ticket_id"] == body["ticket"]["id"]


def test_create_ticket_without_comment_is_record_invalid(api: Api) -> None:
    response = api.post("/tickets.json", json={"ticket": {"subject": "No body"}})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "RecordInvalid"
    assert body["details"]["description"][0]["error"] == "BlankValue"


def test_zenpy_partial_update_sets_field_and_internal_note(
    zenpy_client: Zenpy, store: EmulatorStore, dropdown: dict[str, Any]
) -> None:
    created = _create_ticket(store)
    audit = zenpy_client.tickets.update(
        Ticket(
            id=created["id"],
            custom_fields=[CustomField(id=dropdown["id"], value="kind_partner")],
            comment=Comment(body="Checked the receipt", public=False),
        )
    )
    assert audit.ticket.custom_fields == [{"id": dropdown["id"], "value": "kind_partner"}]
    # A dropdown value is also a ticket tag, as in Zendesk.
    assert "kind_partner" in audit.ticket.tags
    comments = store.comments(created["id"])
    assert [(c["body"], c["public"]) for c in comments] == [
        ("Help", True),
        ("Checked the receipt", False),
    ]
    assert comments[1]["html_body"].startswith('<div class="zd-comment"')
    assert comments[1]["author_id"] == 1_001_001


def test_updated_at_has_one_second_resolution() -> None:
    """Two writes within one second keep one `updated_at`, as Zendesk shows it.

    Fails on the code before this change: the emulator pushed `updated_at` a second
    forward on every write, hiding the same-second gap in `safe_update`.
    """
    clock = ManualClock(datetime(2024, 11, 20, 9, 0, 0, tzinfo=UTC))
    store = EmulatorStore(clock=clock)
    created = _create_ticket(store)
    first, _ = store.update_ticket(created["id"], {"subject": "one"})
    second, _ = store.update_ticket(
        created["id"],
        {"subject": "two", "safe_update": True, "updated_stamp": created["updated_at"]},
    )
    assert created["updated_at"] == first["updated_at"] == second["updated_at"]
    clock.advance(1)
    third, _ = store.update_ticket(created["id"], {"subject": "three"})
    assert third["updated_at"] == "2024-11-20T09:00:01Z"


def test_noop_update_keeps_updated_at(api: Api, store: EmulatorStore) -> None:
    created = _create_ticket(store)
    response = api.put(
        f"/tickets/{created['id']}.json", json={"ticket": {"subject": "Parking coupon"}}
    )
    assert response.json()["ticket"]["updated_at"] == created["updated_at"]


def test_safe_update_conflict_over_http(api: Api, store: EmulatorStore) -> None:
    created = _create_ticket(store)
    stale = created["updated_at"]
    store.touch_ticket(created["id"])
    response = api.put(
        f"/tickets/{created['id']}.json",
        json={"ticket": {"subject": "Mine", "safe_update": True, "updated_stamp": stale}},
    )
    assert response.status_code == 409
    assert response.json() == {
        "error": "UpdateConflict",
        "description": "Safe Update prevented the update due to outdated ticket data. "
        "Please fetch the latest ticket data and try again.",
    }
    assert _get(store, created["id"])["subject"] == "Parking coupon"
    fresh = _get(store, created["id"])["updated_at"]
    ok = api.put(
        f"/tickets/{created['id']}.json",
        json={"ticket": {"subject": "Mine", "safe_update": True, "updated_stamp": fresh}},
    )
    assert ok.status_code == 200
    assert ok.json()["ticket"]["subject"] == "Mine"


@pytest.mark.parametrize(("flag", "status"), [(True, 409), (False, 409), (None, 200)])
def test_safe_update_protects_whatever_its_value_only_omitting_it_does_not(
    api: Api, store: EmulatorStore, flag: bool | None, status: int
) -> None:
    """Tickets API: "A value of false has the same effect as true. Omit the property to
    force the updates to not be safe". Fails on the code before this change: false
    was read as off, more lenient than Zendesk."""
    created = _create_ticket(store)
    stale = created["updated_at"]
    store.touch_ticket(created["id"])
    body: dict[str, object] = {"subject": "Mine", "updated_stamp": stale}
    if flag is not None:
        body["safe_update"] = flag
    response = api.put(f"/tickets/{created['id']}.json", json={"ticket": body})
    assert response.status_code == status


def test_safe_update_conflict_with_zenpy(zenpy_client: Zenpy, store: EmulatorStore) -> None:
    created = _create_ticket(store)
    read = zenpy_client.tickets(id=created["id"])
    store.touch_ticket(created["id"])
    with pytest.raises(APIException) as caught:
        zenpy_client.tickets.update(
            Ticket(
                id=read.id,
                tags=[*read.tags, "late"],
                safe_update=True,
                updated_stamp=read.updated_at,
            )
        )
    assert caught.value.response.status_code == 409
    assert caught.value.response.json()["error"] == "UpdateConflict"


def test_single_update_tags_replace_and_tag_ops_are_ignored(api: Api, store: EmulatorStore) -> None:
    created = _create_ticket(store, tags=["keep", "old"])
    replaced = api.put(f"/tickets/{created['id']}.json", json={"ticket": {"tags": ["New Tag"]}})
    assert replaced.json()["ticket"]["tags"] == ["new", "tag"]
    assert "X-Emulator-Ignored" not in replaced.headers

    ignored = api.put(
        f"/tickets/{created['id']}.json",
        json={"ticket": {"additional_tags": ["added"], "remove_tags": ["new"]}},
    )
    assert ignored.status_code == 200
    assert ignored.headers["X-Emulator-Ignored"] == "additional_tags,remove_tags"
    assert ignored.json()["ticket"]["tags"] == ["new", "tag"]
    assert store.counters()["ignored_tag_ops"] == 1


def test_update_many_honours_additional_and_remove_tags(api: Api, store: EmulatorStore) -> None:
    first, second = _create_ticket(store, tags=["a", "drop"]), _create_ticket(store, tags=["b"])
    response = api.put(
        f"/tickets/update_many.json?ids={first['id']},{second['id']},999",
        json={"ticket": {"additional_tags": ["Bulk"], "remove_tags": ["drop"], "status": "open"}},
    )
    job = response.json()["job_status"]
    assert job["status"] == "queued"
    assert job["url"] == f"{api.base}/api/v2/job_statuses/{job['id']}.json"
    assert _get(store, first["id"])["tags"] == ["a", "bulk"]
    assert _get(store, second["id"])["status"] == "open"
    done = api.get(job["url"]).json()["job_status"]
    assert done["status"] == "completed"
    assert [(r["id"], r["success"]) for r in done["results"]] == [
        (first["id"], True),
        (second["id"], True),
        (999, False),
    ]
    assert store.counters()["ignored_tag_ops"] == 0


def test_zenpy_batch_update_is_a_job(zenpy_client: Zenpy, store: EmulatorStore) -> None:
    created = _create_ticket(store, tags=["x"])
    job = zenpy_client.tickets.update([Ticket(id=created["id"], additional_tags=["y"])])
    assert job.status == "queued"
    assert zenpy_client.job_status(id=job.id).status == "completed"
    assert _get(store, created["id"])["tags"] == ["x", "y"]


def test_unknown_custom_field_is_record_invalid(api: Api, store: EmulatorStore) -> None:
    created = _create_ticket(store)
    response = api.put(
        f"/tickets/{created['id']}.json",
        json={"ticket": {"custom_fields": [{"id": 42, "value": "x"}]}},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "RecordInvalid"
    assert body["details"]["custom_fields"][0]["error"] == "InvalidCustomField"


def test_invalid_dropdown_value_is_dropped_with_200(
    api: Api, store: EmulatorStore, dropdown: dict[str, Any]
) -> None:
    """Zendesk answers 200 and leaves the field as it was for a value that is no option.

    Fails on the code before this change: the emulator answered 422.
    """
    created = _create_ticket(store, custom_fields=[{"id": dropdown["id"], "value": "kind_partner"}])
    response = api.put(
        f"/tickets/{created['id']}.json",
        json={"ticket": {"custom_fields": [{"id": dropdown["id"], "value": "nope"}]}},
    )
    assert response.status_code == 200
    fields = {f["id"]: f["value"] for f in response.json()["ticket"]["custom_fields"]}
    assert fields[dropdown["id"]] == "kind_partner"
    assert "nope" not in response.json()["ticket"]["tags"]


def test_removing_a_dropdown_tag_clears_the_field(
    api: Api, store: EmulatorStore, dropdown: dict[str, Any]
) -> None:
    created = _create_ticket(store, custom_fields=[{"id": dropdown["id"], "value": "kind_company"}])
    assert "kind_company" in created["tags"]
    response = api.put(f"/tickets/{created['id']}.json", json={"ticket": {"tags": ["other"]}})
    assert response.json()["ticket"]["custom_fields"] == [{"id": dropdown["id"], "value": None}]


def test_tags_endpoints_add_set_remove(api: Api, store: EmulatorStore, zenpy_client: Zenpy) -> None:
    created = _create_ticket(store, tags=["a"])
    path = f"/tickets/{created['id']}/tags.json"
    assert api.put(path, json={"tags": ["b"]}).json() == {"tags": ["a", "b"]}
    assert api.get(path).json() == {"tags": ["a", "b"]}
    replaced = api.post(path, json={"tags": ["c"]})
    assert (replaced.status_code, replaced.json()) == (201, {"tags": ["c"]})
    assert api.delete(path, json={"tags": ["c"]}).status_code == 204
    zenpy_client.tickets.add_tags(created["id"], ["z"])
    assert _get(store, created["id"])["tags"] == ["z"]


def test_show_many_and_list_pagination(api: Api, store: EmulatorStore) -> None:
    ids = [_create_ticket(store)["id"] for _ in range(3)]
    many = api.get(f"/tickets/show_many.json?ids={ids[0]},{ids[2]},777").json()["tickets"]
    assert [t["id"] for t in many] == [ids[0], ids[2]]
    page = api.get("/tickets.json?per_page=2").json()
    assert [t["id"] for t in page["tickets"]] == ids[:2]
    assert page["count"] == 3
    rest = api.get(page["next_page"]).json()
    assert [t["id"] for t in rest["tickets"]] == ids[2:]
    assert rest["next_page"] is None


def test_zenpy_lists_all_tickets_with_cursor(zenpy_client: Zenpy, store: EmulatorStore) -> None:
    ids = [_create_ticket(store)["id"] for _ in range(3)]
    assert [t.id for t in zenpy_client.tickets()] == ids


def test_comments_offset_pagination(api: Api, store: EmulatorStore) -> None:
    created = _create_ticket(store)
    for number in range(4):
        api.put(
            f"/tickets/{created['id']}.json", json={"ticket": {"comment": {"body": f"c{number}"}}}
        )
    first = api.get(f"/tickets/{created['id']}/comments.json?per_page=3").json()
    assert [c["body"] for c in first["comments"]] == ["Help", "c0", "c1"]
    assert first["comments"][0]["type"] == "Comment"
    second = api.get(first["next_page"]).json()
    assert [c["body"] for c in second["comments"]] == ["c2", "c3"]
    assert second["previous_page"].startswith(api.base)


def test_html_comment_keeps_markup_and_plain_body(api: Api, store: EmulatorStore) -> None:
    created = _create_ticket(store)
    api.put(
        f"/tickets/{created['id']}.json",
        json={
            "ticket": {
                "comment": {"html_body": "<p>Line <b>one</b></p><p>two</p>", "public": False}
            }
        },
    )
    note = store.comments(created["id"])[-1]
    assert note["html_body"] == "<p>Line <b>one</b></p><p>two</p>"
    assert note["plain_body"] == "Line one\ntwo"
    assert note["public"] is False


def test_closed_ticket_cannot_be_updated(api: Api, store: EmulatorStore) -> None:
    created = _create_ticket(store, status="closed")
    response = api.put(f"/tickets/{created['id']}.json", json={"ticket": {"subject": "late"}})
    assert response.status_code == 422
    assert response.json()["details"]["status"][0]["error"] == "ClosedTicket"


def test_zenpy_single_update_with_additional_tags_is_caught(
    zenpy_client: Zenpy, store: EmulatorStore
) -> None:
    created = _create_ticket(store, tags=["a"])
    audit = zenpy_client.tickets.update(Ticket(id=created["id"], additional_tags=["b"]))
    assert audit.ticket.tags == ["a"]
    assert store.counters()["ignored_tag_ops"] == 1


def test_concurrent_tag_adds_are_not_lost(emulator: EmulatorServer, store: EmulatorStore) -> None:
    created = _create_ticket(store)
    url = f"{emulator.url}/api/v2/tickets/{created['id']}/tags.json"

    def add_tags(worker: int) -> None:
        with requests.Session() as session:
            session.auth = ("agent@example.com/token", "t")
            for number in range(10):
                session.put(url, json={"tags": [f"w{worker}_{number}"]}, timeout=10).close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(add_tags, range(6)))
    assert len(_get(store, created["id"])["tags"]) == 60


def test_concurrent_edits_never_stamp_ahead_of_the_clock() -> None:
    """Back-to-back touches each take the second they happen in: never a future stamp.

    Fails on the code before this change: each touch moved `updated_at` one second past
    the previous one, so three quick edits stamped the ticket two seconds ahead.
    """
    clock = ManualClock(datetime(2024, 11, 20, 9, 0, 0, tzinfo=UTC))
    store = EmulatorStore(clock=clock)
    created = _create_ticket(store)
    stamps = [created["updated_at"]]
    for _ in range(3):
        touched = store.touch_ticket(created["id"])
        assert parse_stamp(touched["updated_at"]) == int(clock())
        stamps.append(touched["updated_at"])
    assert stamps == [
        "2024-11-20T09:00:00Z",
        "2024-11-20T09:00:01Z",
        "2024-11-20T09:00:02Z",
        "2024-11-20T09:00:03Z",
    ]
