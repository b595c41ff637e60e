"""POST /v1/tickets/{id}/apply over a FakeGateway: one safe update, exactly once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from api_helpers import PARKING_OFFER, RECONNECT_ELIGIBLE, TicketFactory, read_guidance
from fastapi.testclient import TestClient

from backend.errors import ConflictError
from backend.zendesk.fake_gateway import FakeGateway
from tooling.testing import apply_body


def _post_apply(
    client: TestClient, headers: dict[str, str], ticket_id: int, guidance: dict[str, Any]
) -> Any:
    body = apply_body(guidance)
    return client.post(f"/v1/tickets/{ticket_id}/apply", headers=headers, json=body)


def _list_notes(gateway: FakeGateway, ticket_id: int) -> list[str]:
    return [c.body for c in gateway.comments[ticket_id] if not c.public]


def test_apply_writes_once_then_answers_applied_false(
    client: TestClient, headers: dict[str, str], gateway: FakeGateway, tickets: TicketFactory
) -> None:
    """First apply: 1 write (the guidance's read reused); again: 1 read, `applied: false`."""
    ticket_id = tickets.add(PARKING_OFFER, tags=("vip_customer",))
    guidance = read_guidance(client, headers, ticket_id)
    gateway.calls = 0
    first = _post_apply(client, headers, ticket_id, guidance)
    assert first.status_code == 200, first.text
    result = first.json()
    # The guidance's ticket read is reused (same updated_at; safe_update guards the write).
    assert gateway.calls == 1
    assert result["applied"] is True
    assert result["decision"]["branch"] == "parking.offer_coupon"
    assert result["note"] == guidance["note"]
    assert result["fields_set"] == guidance["fields_set"]
    assert result["fingerprint"].startswith("gp_applied_")
    assert result["tags_added"] == [*guidance["tags"], result["fingerprint"]]
    record = gateway.tickets[ticket_id]
    assert result["ticket_updated_at"] == record.updated_at
    # Tags are read ∪ added: the agent's own tag survives the single-ticket update.
    assert "vip_customer" in record.tags
    assert set(guidance["tags"]) <= set(record.tags)
    assert _list_notes(gateway, ticket_id) == [guidance["note"]]
    update = gateway.updates[-1]
    assert update.note_public is False
    assert update.updated_stamp == guidance["ticket_updated_at"]

    gateway.calls = 0
    again = _post_apply(client, headers, ticket_id, guidance)
    assert again.status_code == 200
    assert again.json()["applied"] is False
    assert again.json()["tags_added"] == []
    assert gateway.calls == 1
    assert len(_list_notes(gateway, ticket_id)) == 1
    assert read_guidance(client, headers, ticket_id)["already_applied"] is True


def test_apply_sets_fields_and_stays_idempotent(
    client: TestClient,
    headers: dict[str, str],
    gateway: FakeGateway,
    tickets: TicketFactory,
    field_map: dict[str, int],
) -> None:
    """A write-back that fills a field (call_type) is still recognised the second time."""
    ticket_id = tickets.add(RECONNECT_ELIGIBLE)
    guidance = read_guidance(client, headers, ticket_id)
    assert guidance["fields_set"] == {"call_type": "own_normal"}
    gateway.calls = 0
    first = _post_apply(client, headers, ticket_id, guidance).json()
    assert first["applied"] is True
    # force_reconnect with a 원콜 ID: the claim (create, list) + write; the ticket record and
    # the history (ledger + pre-ledger search) are the guidance's, read a moment ago.
    assert gateway.calls == 3
    stored = gateway.tickets[ticket_id]
    assert stored.custom_fields[field_map["call_type"]] == "gp_call_type_own_normal"
    assert {"fr_origin_7001", "fr_forced", "gp_eligible"} <= set(stored.tags)
    second = _post_apply(client, headers, ticket_id, guidance).json()
    assert second["applied"] is False
    assert len(_list_notes(gateway, ticket_id)) == 1
    # This ticket's own fr_* tags never count as an earlier reconnection.
    assert read_guidance(client, headers, ticket_id)["blocks"] == []


def test_apply_on_changed_ticket_with_same_branch_proceeds(
    client: TestClient, headers: dict[str, str], gateway: FakeGateway, tickets: TicketFactory
) -> None:
    """A stale ticket_updated_at is fine while the branch still holds."""
    ticket_id = tickets.add(PARKING_OFFER)
    guidance = read_guidance(client, headers, ticket_id)
    gateway.touch_ticket(ticket_id, subject="제목 수정")
    response = _post_apply(client, headers, ticket_id, guidance)
    assert response.status_code == 200
    assert response.json()["applied"] is True


def test_apply_branch_changed_is_409_and_writes_nothing(
    client: TestClient,
    headers: dict[str, str],
    gateway: FakeGateway,
    tickets: TicketFactory,
    field_map: dict[str, int],
) -> None:
    """When the decision's branch moved, apply answers 409 branch-changed."""
    ticket_id = tickets.add(PARKING_OFFER)
    guidance = read_guidance(client, headers, ticket_id)
    record = gateway.tickets[ticket_id]
    fields = {**record.custom_fields, field_map["receipt_lot_matches"]: "gp_receipt_lot_matches_no"}
    gateway.touch_ticket(ticket_id, custom_fields=fields)
    response = _post_apply(client, headers, ticket_id, guidance)
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/branch-changed")
    assert "parking.lot_mismatch" in response.json()["detail"]
    assert gateway.updates == []


def test_apply_retries_after_a_zendesk_conflict(
    client: TestClient, headers: dict[str, str], gateway: FakeGateway, tickets: TicketFactory
) -> None:
    """A 409 from Zendesk → re-read, decide again, write once."""
    ticket_id = tickets.add(PARKING_OFFER)
    guidance = read_guidance(client, headers, ticket_id)
    gateway.fail_next(ConflictError("changed"), method="update_ticket")
    gateway.calls = 0
    response = _post_apply(client, headers, ticket_id, guidance)
    assert response.status_code == 200
    assert response.json()["applied"] is True
    # write (409) with the guidance's record, then read again (uncached) + write.
    assert gateway.calls == 3
    assert len(_list_notes(gateway, ticket_id)) == 1


def test_apply_gives_up_after_three_conflicts(
    client: TestClient, headers: dict[str, str], gateway: FakeGateway, tickets: TicketFactory
) -> None:
    """A ticket that keeps changing answers 409 after 3 attempts."""
    ticket_id = tickets.add(PARKING_OFFER)
    guidance = read_guidance(client, headers, ticket_id)
    for _ in range(3):
        gateway.fail_next(ConflictError("changed"), method="update_ticket")
    response = _post_apply(client, headers, ticket_id, guidance)
    assert response.status_code == 409
    assert response.json()["type"].endswith("/conflict")
    assert _list_notes(gateway, ticket_id) == []


def test_parallel_applies_write_one_note(
    client: TestClient, headers: dict[str, str], gateway: FakeGateway, tickets: TicketFactory
) -> None:
    """20 concurrent applies of one decision leave exactly one internal note."""
    ticket_id = tickets.add(PARKING_OFFER)
    guidance = read_guidance(client, headers, ticket_id)
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(
            pool.map(lambda _: _post_apply(client, headers, ticket_id, guidance), range(20))
        )
    assert [r.status_code for r in responses] == [200] * 20
    assert sum(r.json()["applied"] for r in responses) == 1
    assert len(_list_notes(gateway, ticket_id)) == 1


@pytest.mark.parametrize(
    ("values", "subject"),
    [
        ({}, "주차권 현장결제 영수증"),  # suggested guide
        ({}, "안녕하세요"),  # no guide at all
    ],
)
def test_apply_without_a_chosen_guide_is_422(
    client: TestClient,
    headers: dict[str, str],
    gateway: FakeGateway,
    tickets: TicketFactory,
    values: dict[str, Any],
    subject: str,
) -> None:
    """Suggested and no-guide decisions never write: 422 nothing-to-apply."""
    ticket_id = tickets.add(values, subject=subject, description=subject)
    guidance = read_guidance(client, headers, ticket_id)
    assert guidance["branch"] == "none"
    response = _post_apply(client, headers, ticket_id, guidance)
    assert response.status_code == 422
    assert response.json()["type"].endswith("/nothing-to-apply")
    assert response.json()["field"] == "branch"
    assert gateway.updates == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ticket_updated_at": "2024-11-20T09:00:01Z"}, "branch"),
        ({"branch": "", "ticket_updated_at": "2024-11-20T09:00:01Z"}, "branch"),
        ({"branch": "parking.offer_coupon"}, "ticket_updated_at"),
        ({"branch": "parking.offer_coupon", "ticket_updated_at": "yesterday"}, "ticket_updated_at"),
        ({"branch": "parking.offer_coupon", "ticket_updated_at": 1700000000}, "ticket_updated_at"),
        (
            {"branch": "parking.offer_coupon", "ticket_updated_at": "2024-11-20"},
            "ticket_updated_at",
        ),
        ({"branch": 7, "ticket_updated_at": "2024-11-20T09:00:01Z"}, "branch"),
        (
            {"branch": "parking.offer_coupon", "ticket_updated_at": "2024-11-20T09:00:01Z"},
            "fingerprint",
        ),
        (
            {
                "branch": "parking.offer_coupon",
                "ticket_updated_at": "2024-11-20T09:00:01Z",
                "fingerprint": "not hex",
            },
            "fingerprint",
        ),
    ],
)
def test_apply_body_validation_is_422_naming_the_field(
    client: TestClient,
    headers: dict[str, str],
    gateway: FakeGateway,
    body: dict[str, Any],
    field: str,
) -> None:
    """Missing or malformed body fields answer 422 with `field`, before any Zendesk call."""
    response = client.post("/v1/tickets/1001/apply", headers=headers, json=body)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert gateway.calls == 0
