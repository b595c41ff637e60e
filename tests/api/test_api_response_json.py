"""The guidance answer, dumped as built (no re-validation), is exactly the documented
response model's JSON, for every shape of ticket."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from api_helpers import PARKING_OFFER, RECONNECT_ELIGIBLE, TicketFactory
from pydantic import TypeAdapter

from backend.api.deps import build_service_context, load_engine
from backend.api.routers.tickets import json_response
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
    """The shortcut's premise: the documented model has TicketGuidance's fields, no more."""
    assert GuidanceResponse.__bases__ == (TicketGuidance,)
    assert [f.name for f in dataclasses.fields(GuidanceResponse)] == [
        f.name for f in dataclasses.fields(TicketGuidance)
    ]


@pytest.mark.parametrize("values", list(CASES.values()), ids=list(CASES))
def test_guidance_json_is_the_response_models_json(
    values: dict[str, Any],
    tickets: TicketFactory,
    gateway: FakeGateway,
    settings: Settings,
    field_map: dict[str, int],
) -> None:
    """Dumped as built, or rebuilt and validated as GuidanceResponse: the same bytes."""
    ticket_id = tickets.add(values)
    context = build_service_context(settings, load_engine(settings.guides_dir), field_map)
    guidance = get_guidance(gateway, ticket_id, context)
    assert type(guidance) is TicketGuidance
    body = json_response(guidance).body
    documented = TypeAdapter(GuidanceResponse)
    rebuilt = documented.validate_python(json.loads(body))
    assert documented.dump_json(rebuilt) == body
    schema = documented.json_schema(mode="serialization")
    assert list(json.loads(body)) == list(schema["properties"])
