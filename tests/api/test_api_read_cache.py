"""The reads a handled ticket's loads share: history for guidance and apply, record for apply."""

from __future__ import annotations

from api_helpers import RECONNECT_ELIGIBLE, TicketFactory
from fastapi.testclient import TestClient
from test_api_form_guidance import form_body

from backend.domain.fields import FieldCatalog
from backend.zendesk.fake_gateway import FakeGateway
from backend.zendesk.gateway import ReconnectionClaim
from tooling.testing import apply_body


def test_form_loads_reuse_the_history_and_apply_sees_a_newer_claim(
    client: TestClient,
    headers: dict[str, str],
    gateway: FakeGateway,
    tickets: TicketFactory,
    field_map: dict[str, int],
    catalog_fields: FieldCatalog,
) -> None:
    """A claim made by another ticket between two form loads is seen at apply (once-only)."""
    ticket_id = tickets.add(RECONNECT_ELIGIBLE)
    path = f"/v1/tickets/{ticket_id}/guidance"
    guidance = client.get(path, headers=headers).json()
    assert guidance["eligible"] is True
    form = form_body(RECONNECT_ELIGIBLE, field_map, catalog_fields)
    gateway.calls = 0
    assert client.post(path, headers=headers, json=form).json()["eligible"] is True
    assert gateway.calls == 0  # ledger + search of the GET load reused
    # Another ticket claims the same 원콜 in the ledger.
    other = tickets.add({**RECONNECT_ELIGIBLE, "forced_call_id": "6999"})
    gateway.create_reconnection(ReconnectionClaim("7001", "6999", other))
    gateway.calls = 0
    again = client.post(path, headers=headers, json=form).json()
    assert gateway.calls == 0
    assert again["eligible"] is True  # guidance is advice: up to the cache period behind
    gateway.calls = 0
    applied = client.post(
        f"/v1/tickets/{ticket_id}/apply", headers=headers, json=apply_body(guidance)
    )
    # Apply decided "eligible" on the cached history, claimed, and lost at the ledger list
    # read after its claim: the decision moved to already_reconnected_once.
    assert applied.status_code == 409, applied.text
    assert gateway.calls == 2  # claim refused (external id taken), list; record cached
    assert applied.json()["type"].endswith("/decision-changed")
    assert applied.json()["decision"]["blocks"] == ["already_reconnected_once"]
    assert gateway.updates == []
    assert [c.ticket_id for c in gateway.list_reconnections("7001")] == [other]
    # The list read after the claim is what later guidance loads see.
    gateway.calls = 0
    after = client.post(path, headers=headers, json=form).json()
    assert after["prior_reconnections"] == 1
    assert after["eligible"] is False


def test_apply_reads_the_ticket_when_it_changed_since_guidance(
    client: TestClient, headers: dict[str, str], gateway: FakeGateway, tickets: TicketFactory
) -> None:
    """An apply whose stamp is not the cached record's reads Zendesk (no 409 round)."""
    ticket_id = tickets.add(RECONNECT_ELIGIBLE)
    guidance = client.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers).json()
    touched = gateway.touch_ticket(ticket_id, subject="제목 수정")
    body = {**apply_body(guidance), "ticket_updated_at": touched.updated_at}
    response = client.post(f"/v1/tickets/{ticket_id}/apply", headers=headers, json=body)
    assert response.status_code == 200, response.text
    assert response.json()["applied"] is True
    assert [u.updated_stamp for u in gateway.updates] == [touched.updated_at]
