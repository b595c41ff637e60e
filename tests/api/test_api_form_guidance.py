"""POST /v1/tickets/{id}/guidance decides on the open form's values with the saved parsers."""

from __future__ import annotations

from typing import Any

import pytest
from api_helpers import PARKING_OFFER, RECONNECT_ELIGIBLE, TicketFactory
from fastapi.testclient import TestClient

from backend.domain.fields import FieldCatalog
from backend.zendesk.fake_gateway import FakeGateway

# keys whose value differs by design between the saved answer (GET) and the form's (POST)
SOURCE_KEYS = {
    "ticket_updated_at",
    "source",
    "prior_reconnection_tickets",
    "suggested_consult_types",
    "fingerprint",
}


def form_body(
    values: dict[str, Any],
    field_map: dict[str, int],
    fields: FieldCatalog,
    *,
    tags: tuple[str, ...] = (),
    raw: dict[str, Any] | None = None,
    created_at: str | None = None,
) -> dict[str, Any]:
    """The body the sidebar sends: every mapped field as the form holds it."""
    custom = {field_map[k]: fields.zendesk_value(k, v) for k, v in values.items()}
    for key, value in (raw or {}).items():
        custom[field_map[key]] = value
    return {
        "custom_fields": [{"id": fid, "value": value} for fid, value in custom.items()],
        "tags": list(tags),
        "subject": "문의",
        "description": "문의드립니다",
        "created_at": created_at,
    }


def test_unsaved_edit_decides_without_reading_the_ticket(
    client: TestClient,
    headers: dict[str, str],
    gateway: FakeGateway,
    tickets: TicketFactory,
    field_map: dict[str, int],
    catalog_fields: FieldCatalog,
) -> None:
    """A parking form change costs no Zendesk call; the answer follows the form, not the save."""
    saved = {k: v for k, v in PARKING_OFFER.items() if k != "identity_verified"}
    ticket_id = tickets.add(saved)
    before = client.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers).json()
    assert before["branch"] != "parking.offer_coupon"
    gateway.calls = 0
    response = client.post(
        f"/v1/tickets/{ticket_id}/guidance",
        headers=headers,
        json=form_body(PARKING_OFFER, field_map, catalog_fields),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert gateway.calls == 0
    assert body["branch"] == "parking.offer_coupon"
    assert body["source"] == "form"
    assert body["ticket_updated_at"] is None
    assert body["ticket_id"] == ticket_id
    # the saved ticket did not change
    again = client.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers).json()
    assert again["branch"] == before["branch"]
    assert again.get("source", "ticket") == "ticket"


def test_form_equal_to_the_saved_ticket_gives_the_same_decision(
    client: TestClient,
    headers: dict[str, str],
    gateway: FakeGateway,
    tickets: TicketFactory,
    field_map: dict[str, int],
    catalog_fields: FieldCatalog,
) -> None:
    """Same values, same tags, same creation time → the same answer as GET, key for key."""
    ticket_id = tickets.add(PARKING_OFFER, tags=("vip",))
    saved = client.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers).json()
    created_at = gateway.get_ticket(ticket_id).created_at
    assert created_at  # the inquiry date is a fact the decision reads
    form = client.post(
        f"/v1/tickets/{ticket_id}/guidance",
        headers=headers,
        json=form_body(
            PARKING_OFFER, field_map, catalog_fields, tags=("vip",), created_at=created_at
        ),
    ).json()
    assert {k: v for k, v in form.items() if k not in SOURCE_KEYS} == {
        k: v for k, v in saved.items() if k not in SOURCE_KEYS
    }


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("car_number", "ABC-123"),
        ("usage_date", "x"),
        ("onsite_amount", "열두 원"),
        ("consult_type", "nope"),
    ],
)
def test_malformed_form_value_is_the_same_422_as_a_saved_one(
    client: TestClient,
    headers: dict[str, str],
    tickets: TicketFactory,
    field_map: dict[str, int],
    catalog_fields: FieldCatalog,
    key: str,
    raw: str,
) -> None:
    """The form's value goes through the saved value's parser: same type, field and detail."""
    saved_id = tickets.add(PARKING_OFFER, raw={key: raw})
    saved = client.get(f"/v1/tickets/{saved_id}/guidance", headers=headers)
    form = client.post(
        f"/v1/tickets/{saved_id}/guidance",
        headers=headers,
        json=form_body(PARKING_OFFER, field_map, catalog_fields, raw={key: raw}),
    )
    assert saved.status_code == form.status_code == 422
    assert form.json()["field"] == key
    assert {k: form.json()[k] for k in ("type", "field", "detail")} == {
        k: saved.json()[k] for k in ("type", "field", "detail")
    }


def test_reconnection_history_is_the_only_zendesk_read(
    client: TestClient,
    headers: dict[str, str],
    gateway: FakeGateway,
    tickets: TicketFactory,
    field_map: dict[str, int],
    catalog_fields: FieldCatalog,
) -> None:
    """A 원콜 ID typed into the form costs the history read only; the earlier 강콜 is named.

    The ledger holds nothing for this 원콜 (history from before the ledger), so the read is
    the ledger list plus the pre-ledger search: 2 calls, and never the ticket.
    """
    ticket_id = tickets.add({k: v for k, v in RECONNECT_ELIGIBLE.items() if k != "origin_call_id"})
    earlier = tickets.add(
        {**RECONNECT_ELIGIBLE, "forced_call_id": "6999"}, tags=("fr_origin_7001", "fr_forced")
    )
    tickets.add(RECONNECT_ELIGIBLE, tags=("fr_origin_7001",))  # no 강콜: does not count
    gateway.calls = 0
    body = client.post(
        f"/v1/tickets/{ticket_id}/guidance",
        headers=headers,
        json=form_body(RECONNECT_ELIGIBLE, field_map, catalog_fields),
    ).json()
    assert gateway.calls == 2
    assert body["reconnection_history"] == "ledger+search"
    assert body["prior_reconnections"] == 1
    assert body["prior_reconnection_tickets"] == [earlier]
    assert "already_reconnected_once" in body["blocks"]
    assert body["eligible"] is False


def test_form_without_origin_call_id_reads_nothing(
    client: TestClient,
    headers: dict[str, str],
    gateway: FakeGateway,
    field_map: dict[str, int],
    catalog_fields: FieldCatalog,
) -> None:
    """No 원콜 ID in the form → no search, no ticket read."""
    values = {k: v for k, v in RECONNECT_ELIGIBLE.items() if k != "origin_call_id"}
    body = client.post(
        "/v1/tickets/77/guidance",
        headers=headers,
        json=form_body(values, field_map, catalog_fields),
    ).json()
    assert gateway.calls == 0
    assert "origin_call_id" in body["missing"]
    assert body["prior_reconnection_tickets"] == []


def test_tags_in_the_form_say_whether_the_decision_is_already_written(
    client: TestClient,
    headers: dict[str, str],
    tickets: TicketFactory,
    field_map: dict[str, int],
    catalog_fields: FieldCatalog,
) -> None:
    """already_applied follows the form's tags (the write-back's fingerprint tag)."""
    ticket_id = tickets.add(PARKING_OFFER)
    saved = client.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers).json()
    seen = {k: saved[k] for k in ("branch", "ticket_updated_at", "fingerprint") if k in saved}
    applied = client.post(f"/v1/tickets/{ticket_id}/apply", headers=headers, json=seen).json()
    url = f"/v1/tickets/{ticket_id}/guidance"
    body = form_body(PARKING_OFFER, field_map, catalog_fields)
    without = client.post(url, headers=headers, json=body).json()
    assert without["already_applied"] is False
    with_tag = client.post(
        url, headers=headers, json={**body, "tags": [applied["fingerprint"]]}
    ).json()
    assert with_tag["already_applied"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"custom_fields": [{"id": 1, "value": "a"}, {"id": 1, "value": "b"}]}, "custom_fields"),
        ({"custom_fields": [{"id": 1, "value": {"x": 1}}]}, "custom_fields.0.value"),
        ({"custom_fields": [{"id": "1", "value": "a"}]}, "custom_fields.0.id"),
        ({"tags": "a b"}, "tags"),
        ({"subject": 5}, "subject"),
        ({"extra": True}, "extra"),
    ],
)
def test_bad_form_body_is_422_naming_the_field(
    client: TestClient,
    headers: dict[str, str],
    gateway: FakeGateway,
    body: dict[str, Any],
    field: str,
) -> None:
    """A malformed body is refused before any Zendesk call, naming what is wrong."""
    response = client.post("/v1/tickets/5/guidance", headers=headers, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert gateway.calls == 0


def test_form_guidance_needs_authentication(client: TestClient) -> None:
    """No token → 401, like every ticket route."""
    response = client.post("/v1/tickets/5/guidance", json={})
    assert response.status_code == 401


def test_suggested_guide_names_the_consultation_types_that_select_it(
    client: TestClient,
    headers: dict[str, str],
    gateway: FakeGateway,
    field_map: dict[str, int],
    catalog_fields: FieldCatalog,
) -> None:
    """No 상담유형, a parking subject → the parking guide's 상담유형 value as Zendesk stores it."""
    body = {"custom_fields": [], "tags": [], "subject": "주차권 현장결제 환불", "description": ""}
    answer = client.post("/v1/tickets/9/guidance", headers=headers, json=body).json()
    assert answer["suggested"] is True
    assert answer["guide"] == "parking_onsite_payment"
    assert answer["suggested_consult_types"] == [
        {
            "code": "parking_integration_onsite_payment",
            "value": catalog_fields.zendesk_value(
                "consult_type", "parking_integration_onsite_payment"
            ),
        }
    ]
    assert gateway.calls == 0
