"""The guidance answer's shortcut (a built TicketGuidance dumped as it is) gives the same
bytes as the plain path through GuidanceResponse, for every shape of ticket."""

from __future__ import annotations

from typing import Any

import pytest
from api_helpers import PARKING_OFFER, RECONNECT_ELIGIBLE, TicketFactory

from backend.api.deps import build_service_context, load_engine
from backend.api.routers.form_guidance import FormGuidanceResponse
from backend.api.routers.tickets import guidance_json, json_response
from backend.api.schemas import GuidanceResponse
from backend.service import TicketGuidance, get_guidance
from backend.settings import Settings
from backend.zendesk.fake_gateway import FakeGateway

CASES: dict[str, dict[str, Any]] = {
    "eligible reconnect": RECONNECT_ELIGIBLE,
    "parking offer": PARKING_OFFER,
    "reconnect, consent missing": {**RECONNECT_ELIGIBLE, "customer_consent": None},
    "no guide": {},
}


def test_the_response_model_adds_nothing_to_ticket_guidance() -> None:
    """The shortcut's premise: same fields, same config (a new field here breaks it)."""
    fields = {name: repr(info) for name, info in GuidanceResponse.model_fields.items()}
    assert fields == {name: repr(info) for name, info in TicketGuidance.model_fields.items()}
    assert GuidanceResponse.model_config == TicketGuidance.model_config
    assert GuidanceResponse.__bases__ == (TicketGuidance,)


@pytest.mark.parametrize("values", list(CASES.values()), ids=list(CASES))
def test_guidance_json_is_the_plain_paths_json(
    values: dict[str, Any],
    tickets: TicketFactory,
    gateway: FakeGateway,
    settings: Settings,
    field_map: dict[str, int],
) -> None:
    """Dumped as built or validated through GuidanceResponse: the same bytes."""
    ticket_id = tickets.add(values)
    context = build_service_context(settings, load_engine(settings.guides_dir), field_map)
    guidance = get_guidance(gateway, ticket_id, context)
    assert type(guidance) is TicketGuidance
    plain = json_response(GuidanceResponse.model_validate(guidance, from_attributes=True))
    assert guidance_json(guidance).body == plain.body
    assert guidance_json(guidance).media_type == plain.media_type


def test_a_subclass_goes_through_the_response_model(
    tickets: TicketFactory, gateway: FakeGateway, settings: Settings, field_map: dict[str, int]
) -> None:
    """A TicketGuidance subclass with more fields is not dumped as is (no extra keys leak)."""
    ticket_id = tickets.add(RECONNECT_ELIGIBLE)
    context = build_service_context(settings, load_engine(settings.guides_dir), field_map)
    guidance = get_guidance(gateway, ticket_id, context)
    wider = FormGuidanceResponse.model_validate(
        {
            **guidance.model_dump(),
            "ticket_updated_at": None,
            "source": "form",
            "prior_reconnection_tickets": [1],
            "suggested_consult_types": [],
        }
    )
    body = guidance_json(wider).body
    assert b"prior_reconnection_tickets" not in body
    assert body == json_response(GuidanceResponse.model_validate(wider, from_attributes=True)).body
