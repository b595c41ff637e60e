"""Ticket fields: system fields, CRUD with dropdown options, validation errors."""

from __future__ import annotations

from typing import Any

import pytest
from emulator_helpers import Api
from zenpy import Zenpy
from zenpy.lib.api_objects import CustomFieldOption, TicketField

from backend.emulator import EmulatorStore


def test_listing_starts_with_system_fields(api: Api) -> None:
    fields = api.get("/ticket_fields.json").json()["ticket_fields"]
    types = [f["type"] for f in fields]
    assert types[:7] == [
        "subject",
        "description",
        "status",
        "tickettype",
        "priority",
        "group",
        "assignee",
    ]
    status = fields[2]
    assert status["removable"] is False
    assert {o["value"] for o in status["system_field_options"]} >= {"open", "solved"}


def test_zenpy_dropdown_crud(zenpy_client: Zenpy, api: Api) -> None:
    created = zenpy_client.ticket_fields.create(
        TicketField(
            type="tagger",
            title="Refund reason",
            custom_field_options=[
                CustomFieldOption(name="Refunds::Duplicate", value="reason_duplicate"),
                CustomFieldOption(name="Other", value="reason_other"),
            ],
        )
    )
    assert created.id
    option_ids = [o.id for o in created.custom_field_options]
    assert all(option_ids)
    raw = api.get(f"/ticket_fields/{created.id}.json").json()["ticket_field"]
    assert raw["custom_field_options"][0] == {
        "id": option_ids[0],
        "name": "Refunds::Duplicate",
        "raw_name": "Refunds::Duplicate",
        "value": "reason_duplicate",
        "default": False,
    }

    created.title = "Refund cause"
    created.custom_field_options = [
        CustomFieldOption(name="Duplicate charge", value="reason_duplicate"),
        CustomFieldOption(name="Late", value="reason_late"),
    ]
    updated = zenpy_client.ticket_fields.update(created)
    assert updated.title == "Refund cause"
    assert [o.value for o in updated.custom_field_options] == ["reason_duplicate", "reason_late"]
    # An option matched by value keeps its id.
    assert updated.custom_field_options[0].id == option_ids[0]

    listed = [f.id for f in zenpy_client.ticket_fields()]
    assert created.id in listed
    zenpy_client.ticket_fields.delete(updated)
    assert api.get(f"/ticket_fields/{created.id}.json").status_code == 404


def _create(api: Api, field: dict[str, Any]) -> Any:
    """POST a ticket field and return the response."""
    return api.post("/ticket_fields.json", json={"ticket_field": field})


@pytest.mark.parametrize(
    ("field", "attribute"),
    [
        ({"type": "tagger", "title": "No options"}, "custom_field_options"),
        ({"type": "tagger", "title": "", "custom_field_options": []}, "title"),
        ({"type": "wizard", "title": "Bad type"}, "type"),
        (
            {
                "type": "tagger",
                "title": "Twice",
                "custom_field_options": [
                    {"name": "A", "value": "same"},
                    {"name": "B", "value": "same"},
                ],
            },
            "custom_field_options",
        ),
    ],
)
def test_invalid_fields_are_record_invalid(api: Api, field: dict[str, Any], attribute: str) -> None:
    response = _create(api, field)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "RecordInvalid"
    assert attribute in body["details"]


def test_option_values_are_unique_account_wide(api: Api, dropdown: dict[str, Any]) -> None:
    response = _create(
        api,
        {
            "type": "multiselect",
            "title": "Clash",
            "custom_field_options": [{"name": "Company", "value": "kind_company"}],
        },
    )
    assert response.status_code == 422
    assert response.json()["details"]["custom_field_options"][0]["error"] == "DuplicateValue"


def test_system_fields_cannot_be_deleted(api: Api) -> None:
    subject = api.get("/ticket_fields.json").json()["ticket_fields"][0]
    assert api.delete(f"/ticket_fields/{subject['id']}.json").status_code == 403


def test_deleting_a_field_drops_it_from_tickets(
    api: Api, store: EmulatorStore, dropdown: dict[str, Any]
) -> None:
    ticket = store.create_ticket({"subject": "x", "comment": {"body": "y"}})
    assert ticket["custom_fields"] == [{"id": dropdown["id"], "value": None}]
    assert api.delete(f"/ticket_fields/{dropdown['id']}.json").status_code == 204
    assert api.get(f"/tickets/{ticket['id']}.json").json()["ticket"]["custom_fields"] == []


def test_field_types_validate_values(api: Api, store: EmulatorStore) -> None:
    number = store.create_field({"type": "integer", "title": "Amount"})
    day = store.create_field({"type": "date", "title": "Day"})
    ticket = store.create_ticket({"subject": "x", "comment": {"body": "y"}})
    path = f"/tickets/{ticket['id']}.json"
    good = api.put(
        path,
        json={
            "ticket": {
                "custom_fields": [
                    {"id": number["id"], "value": "1200"},
                    {"id": day["id"], "value": "2024-05-01"},
                ]
            }
        },
    )
    assert good.status_code == 200
    bad = api.put(path, json={"ticket": {"custom_fields": [{"id": number["id"], "value": "12a"}]}})
    assert bad.status_code == 422
