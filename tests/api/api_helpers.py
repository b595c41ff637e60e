"""Shared helpers of the API tests: a ticket factory and ticket data per branch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from backend.domain.fields import FieldCatalog
from backend.zendesk.fake_gateway import FakeGateway

if TYPE_CHECKING:  # starlette's test client warns when imported outside a test's filters
    from fastapi.testclient import TestClient


def read_guidance(client: TestClient, headers: dict[str, str], ticket_id: int) -> dict[str, Any]:
    """GET the ticket's guidance, asserting 200."""
    response = client.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class TicketFactory:
    """Put tickets into the FakeGateway using semantic keys (values as Zendesk stores them)."""

    def __init__(
        self, gateway: FakeGateway, field_map: dict[str, int], fields: FieldCatalog
    ) -> None:
        self.gateway = gateway
        self.field_map = field_map
        self.fields = fields

    def add(
        self,
        values: dict[str, Any],
        subject: str = "문의",
        description: str = "문의드립니다",
        tags: tuple[str, ...] = (),
        raw: dict[str, Any] | None = None,
    ) -> int:
        """Create a ticket; `values` are encoded like Zendesk, `raw` goes in untouched."""
        custom: dict[int, Any] = {
            self.field_map[key]: self.fields.zendesk_value(key, value)
            for key, value in values.items()
        }
        for key, value in (raw or {}).items():
            custom[self.field_map[key]] = value
        record = self.gateway.add_ticket(subject, description, tags=tags, custom_fields=custom)
        return record.id


# An eligible force_reconnect ticket (together, no fare change, card, all checks ok).
RECONNECT_ELIGIBLE: dict[str, Any] = {
    "consult_type": "driver_force_rerun_own_normal",
    "identity_verified": True,
    "customer_presence": "together",
    "fare_adjustment": False,
    "payment_method": "card",
    "admin_status": "completed",
    "customer_consent": "agreed",
    "driver_on_duty": True,
    "customer_recalling": False,
    "origin_call_id": "7001",
    "forced_call_id": "7002",
    "original_fare": 23000,
}

# A parking ticket at the coupon offer (no force_reconnect search involved).
PARKING_OFFER: dict[str, Any] = {
    "consult_type": "parking_integration_onsite_payment",
    "identity_verified": True,
    "usage_date": "2024-11-20",
    "entry_time": "2024-11-20T09:10",
    "exit_time": "2024-11-20T11:00",
    "car_number": "12가3456",
    "receipt_attached": True,
    "receipt_lot_matches": True,
    "ticket_start": "2024-11-20T09:00",
    "ticket_end": "2024-11-20T12:00",
    "reserved_at": "2024-11-20T08:00",
    "onsite_amount": 12000,
    "ticket_price": 5000,
    "ticket_status": "cancelled",
    "parking_lot": "판교역 공영주차장",
}
