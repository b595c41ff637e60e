"""Macros: cursor and offset pagination, CRUD, update_many, apply previews with Liquid."""

from __future__ import annotations

from typing import Any

import pytest
from emulator_helpers import Api
from zenpy import Zenpy
from zenpy.lib.api_objects import Macro

from backend.emulator import EmulatorStore


def _create_macro(store: EmulatorStore, title: str, **extra: Any) -> dict[str, Any]:
    """Create a simple macro through the store."""
    return store.create_macro(
        {"title": title, "actions": [{"field": "status", "value": "open"}], **extra}
    )


def test_zenpy_macros_generator_yields_all_250(zenpy_client: Zenpy, store: EmulatorStore) -> None:
    for number in range(250):
        _create_macro(store, f"Macro {number:03d}")
    titles = [m.title for m in zenpy_client.macros()]
    assert len(titles) == 250
    assert titles[0] == "Macro 000"
    assert titles[-1] == "Macro 249"
    assert store.counters()["by_route"]["GET /api/v2/macros"] == 3


def test_cursor_pages_have_meta_and_links(api: Api, store: EmulatorStore) -> None:
    for number in range(5):
        _create_macro(store, f"M{number}")
    first = api.get("/macros.json", params={"page[size]": 2}).json()
    assert [m["title"] for m in first["macros"]] == ["M0", "M1"]
    assert first["meta"]["has_more"] is True
    assert first["links"]["prev"] is None
    assert first["links"]["next"].startswith(f"{api.base}/api/v2/macros.json?")
    second = api.get(first["links"]["next"]).json()
    assert [m["title"] for m in second["macros"]] == ["M2", "M3"]
    back = api.get(second["links"]["prev"]).json()
    assert [m["title"] for m in back["macros"]] == ["M0", "M1"]
    last = api.get(second["links"]["next"]).json()
    assert [m["title"] for m in last["macros"]] == ["M4"]
    assert last["meta"]["has_more"] is False
    assert last["links"]["next"] is None


def test_offset_pagination_when_page_is_given(api: Api, store: EmulatorStore) -> None:
    for number in range(3):
        _create_macro(store, f"M{number}")
    page = api.get("/macros.json", params={"page": 1, "per_page": 2}).json()
    assert page["count"] == 3
    assert "meta" not in page
    assert [m["title"] for m in api.get(page["next_page"]).json()["macros"]] == ["M2"]


def test_active_listing_and_update_many(api: Api, store: EmulatorStore) -> None:
    first, second = _create_macro(store, "First"), _create_macro(store, "Second")
    response = api.put(
        "/macros/update_many.json",
        json={
            "macros": [
                {"id": first["id"], "active": False, "title": "ignored"},
                {"id": second["id"], "position": 1},
            ]
        },
    )
    assert response.status_code == 200
    changed = {m["id"]: m for m in response.json()["macros"]}
    assert changed[first["id"]]["active"] is False
    assert changed[first["id"]]["title"] == "First"
    active = api.get("/macros/active.json").json()["macros"]
    assert [m["id"] for m in active] == [second["id"]]


def test_zenpy_macro_crud_replaces_actions(zenpy_client: Zenpy, api: Api) -> None:
    created = zenpy_client.macros.create(
        Macro(
            title="Refund::Duplicate",
            actions=[{"field": "status", "value": "solved"}, {"field": "priority", "value": "low"}],
        )
    )
    assert created.raw_title == "Refund::Duplicate"
    created.actions = [{"field": "comment_value", "value": "Hi"}]
    updated = zenpy_client.macros.update(created)
    assert updated.actions == [{"field": "comment_value", "value": "Hi"}]
    zenpy_client.macros.delete(updated)
    assert api.get(f"/macros/{created.id}.json").status_code == 404


@pytest.mark.parametrize(
    "macro",
    [
        {"title": "", "actions": [{"field": "status", "value": "open"}]},
        {"title": "No actions", "actions": []},
        {"title": "Bad action", "actions": [{"value": "x"}]},
    ],
)
def test_invalid_macros_are_record_invalid(api: Api, macro: dict[str, Any]) -> None:
    response = api.post("/macros.json", json={"macro": macro})
    assert response.status_code == 422
    assert response.json()["error"] == "RecordInvalid"


def test_apply_without_ticket_lists_changes(api: Api, store: EmulatorStore) -> None:
    macro = store.create_macro(
        {
            "title": "Solve",
            "actions": [
                {"field": "status", "value": "solved"},
                {"field": "current_tags", "value": "done  Refund"},
                {"field": "custom_fields_123", "value": "x"},
                {"field": "comment_value", "value": "Ticket {{ticket.id}}"},
            ],
        }
    )
    result = api.get(f"/macros/{macro['id']}/apply.json").json()["result"]
    assert result["ticket"]["status"] == "solved"
    assert result["ticket"]["additional_tags"] == ["done", "refund"]
    assert result["ticket"]["custom_fields"] == [{"id": 123, "value": "x"}]
    assert result["comment"]["body"] == "Ticket {{ticket.id}}"
    assert result["comment"]["public"] is True


def test_apply_to_ticket_renders_placeholders_and_liquid(
    api: Api, zenpy_client: Zenpy, store: EmulatorStore, dropdown: dict[str, Any]
) -> None:
    field = dropdown["id"]
    ticket = store.create_ticket(
        {
            "subject": "Coupon",
            "comment": {"body": "x"},
            "tags": ["before", "gone"],
            "custom_fields": [{"id": field, "value": "kind_company"}],
        }
    )
    f = f"ticket.ticket_field_{field}"
    template = (
        f"<p>#{{{{ticket.id}}}} {{{{ ticket.subject }}}} / {{{{{f}}}}} / "
        f"{{{{ticket.ticket_field_option_title_{field}}}}}</p>"
        f"{{% if {f} == 'kind_partner' %}}<p>partner</p>"
        f"{{% elsif {f} != 'kind_company' %}}<p>other</p>"
        f"{{% else %}}{{% if {f} %}}<p>company</p>{{% endif %}}{{% endif %}}"
        "<p>{{current_user.name}}</p>"
    )
    macro = store.create_macro(
        {
            "title": "Guide",
            "actions": [
                {"field": "comment_value_html", "value": template},
                {"field": "comment_mode_is_public", "value": "false"},
                {"field": "current_tags", "value": "guided"},
                {"field": "remove_tags", "value": "gone"},
                {"field": "priority", "value": "high"},
            ],
        }
    )
    before = store.get_ticket(ticket["id"])
    result = api.get(f"/tickets/{ticket['id']}/macros/{macro['id']}/apply.json").json()["result"]
    assert result["comment"]["public"] is False
    html_body = result["comment"]["html_body"]
    assert f"<p>#{ticket['id']} Coupon / kind_company / Company call</p>" in html_body
    assert "<p>company</p>" in html_body
    assert "partner" not in html_body
    assert "<p>Emulator Agent</p>" in html_body
    assert result["ticket"]["tags"] == ["before", "kind_company", "guided"]
    assert result["ticket"]["priority"] == "high"
    # A preview never changes the ticket.
    assert store.get_ticket(ticket["id"]) == before

    effect = zenpy_client.tickets.show_macro_effect(ticket["id"], macro["id"])
    assert "company" in effect.comment.body
    assert effect.ticket.priority == "high"


def test_apply_unknown_macro_is_not_found(api: Api, store: EmulatorStore) -> None:
    ticket = store.create_ticket({"subject": "x", "comment": {"body": "y"}})
    response = api.get(f"/tickets/{ticket['id']}/macros/999/apply.json")
    assert response.status_code == 404
    assert response.json()["error"] == "RecordNotFound"
