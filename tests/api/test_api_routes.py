"""Routes over a FakeGateway: shapes, calls per action, problem+json errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from api_helpers import PARKING_OFFER, RECONNECT_ELIGIBLE, TicketFactory
from fastapi import FastAPI
from fastapi.testclient import TestClient

from backend.api import deps
from backend.errors import (
    RateLimitedError,
    ZendeskRejectedError,
    ZendeskUnavailableError,
)
from backend.field_map import FIELD_MAPS
from backend.settings import Settings
from backend.zendesk.fake_gateway import FakeGateway

PROBLEM = "application/problem+json"


def test_guides_lists_guides_labels_and_field_map(
    client: TestClient, headers: dict[str, str], field_map: dict[str, int]
) -> None:
    """GET /v1/guides carries article URLs, branch labels, field/block/notice labels, map."""
    response = client.get("/v1/guides", headers=headers)
    assert response.status_code == 200
    body = response.json()
    guides = {guide["id"]: guide for guide in body["guides"]}
    assert set(guides) == {"force_reconnect", "parking_onsite_payment"}
    reconnect = guides["force_reconnect"]
    assert reconnect["article_url"] == "https://acme.zendesk.com/hc/ko/articles/1002"
    assert reconnect["branches"][0]["id"] == "reconnect.verify_identity"
    assert set(reconnect["branches"][0]["label"]) == {"ko", "en"}
    assert "origin_call_id" in reconnect["fields"]
    assert body["fields"]["call_type"]["type"] == "dropdown"
    assert body["fields"]["call_type"]["label"] == {"ko": "콜 유형", "en": "Call type"}
    assert body["fields"]["call_type"]["options"]["partner"]["ko"] == "제휴콜"
    assert body["fields"]["prior_reconnections"]["zendesk"] is False
    assert "customer_refused" in body["blocks"]
    assert "reconnect_only_once" in body["notices"]
    assert body["field_map"] == field_map


def test_guides_field_map_is_reread_when_the_file_changes(
    client: TestClient,
    headers: dict[str, str],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A re-run of `fields bootstrap` is picked up without a restart (within the recheck)."""
    now = [0.0]
    monkeypatch.setattr(FIELD_MAPS, "clock", lambda: now[0])
    settings.field_map.write_text(json.dumps({"call_type": 42}), encoding="utf-8")
    stat = settings.field_map.stat()
    os.utime(settings.field_map, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000))
    assert client.get("/v1/guides", headers=headers).json()["field_map"] == {"call_type": 42}
    settings.field_map.unlink()
    now[0] += FIELD_MAPS.recheck_seconds
    assert client.get("/v1/guides", headers=headers).json()["field_map"] == {}


def test_preview_decides_without_zendesk(
    client: TestClient, headers: dict[str, str], gateway: FakeGateway
) -> None:
    """POST /v1/preview answers the `explain` decision and calls nobody."""
    body = {"fields": RECONNECT_ELIGIBLE, "subject": "콜이 취소됐어요", "prior_reconnections": 1}
    response = client.post("/v1/preview", headers=headers, json=body)
    assert response.status_code == 200, response.text
    decision = response.json()
    assert decision["guide"] == "force_reconnect"
    assert decision["branch"] == "reconnect.together.no_fare_change"
    assert decision["blocks"] == ["already_reconnected_once"]
    assert decision["eligible"] is False
    assert {"checks", "fields_set", "facts", "texts", "note", "tags"} <= set(decision)
    assert gateway.calls == 0


def test_preview_reads_a_zendesk_ticket_through_the_field_map(
    client: TestClient, headers: dict[str, str], field_map: dict[str, int]
) -> None:
    """The `{"ticket": {...}}` shape is read by numeric custom field id."""
    ticket = {
        "subject": "주차권",
        "custom_fields": [
            {"id": field_map["consult_type"], "value": "parking_integration_onsite_payment"},
            {"id": field_map["identity_verified"], "value": "gp_identity_verified_no"},
        ],
    }
    response = client.post("/v1/preview", headers=headers, json={"ticket": ticket})
    assert response.status_code == 200, response.text
    assert response.json()["branch"] == "parking.collect_info"
    assert response.json()["blocks"] == ["identity_not_verified"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"fields": {"car_number": "not a plate"}}, "car_number"),
        ({"fields": {"no_such_field": 1}}, "no_such_field"),
        ({"fields": {"call_type": "bus"}}, "call_type"),
        ({"fields": {"onsite_amount": "lots"}}, "onsite_amount"),
        ({"fields": "nope"}, "fields"),
        ({"prior_reconnections": -1}, "prior_reconnections"),
        ({"unexpected": True}, "unexpected"),
        ({"subject": 5}, "subject"),
    ],
)
def test_preview_bad_input_is_422_naming_the_field(
    client: TestClient, headers: dict[str, str], body: dict[str, object], field: str
) -> None:
    """Bad preview bodies answer 422 problem+json with `field`."""
    response = client.post("/v1/preview", headers=headers, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["field"] == field
    assert problem["status"] == 422
    assert field in problem["detail"]


@pytest.mark.parametrize("raw", [b"{not json", b"\xef\xbf\xbdn\xff\x03>", b""])
def test_preview_undecodable_body_is_422(
    client: TestClient, headers: dict[str, str], raw: bytes
) -> None:
    """A body that is not JSON (or not UTF-8, or missing) names the body."""
    response = client.post(
        "/v1/preview", headers={**headers, "Content-Type": "application/json"}, content=raw
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["field"] == "body"


def test_preview_accepts_integral_floats_and_names_ticket_fields(
    client: TestClient, headers: dict[str, str], field_map: dict[str, int]
) -> None:
    """3.0 is a JSON Schema integer; errors inside `ticket` name the nested key."""
    entry = {"id": float(field_map["consult_type"]), "value": "parking_integration_onsite_payment"}
    body = {"ticket": {"custom_fields": [entry]}, "prior_reconnections": 1.0}
    assert client.post("/v1/preview", headers=headers, json=body).status_code == 200
    bad = client.post("/v1/preview", headers=headers, json={"ticket": {"subject": 5}})
    assert (bad.status_code, bad.json()["field"]) == (422, "ticket.subject")
    both = client.post("/v1/preview", headers=headers, json={"ticket": {}, "fields": {}})
    assert (both.status_code, both.json()["field"]) == (422, "fields")


def test_guidance_reads_once_for_a_parking_ticket(
    client: TestClient, headers: dict[str, str], gateway: FakeGateway, tickets: TicketFactory
) -> None:
    """Guidance = 1 Zendesk request and the decision + ticket_id + ticket_updated_at."""
    ticket_id = tickets.add(PARKING_OFFER)
    response = client.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ticket_id"] == ticket_id
    assert body["ticket_updated_at"] == gateway.tickets[ticket_id].updated_at
    assert body["guide"] == "parking_onsite_payment"
    assert body["branch"] == "parking.offer_coupon"
    assert body["already_applied"] is False
    assert gateway.calls == 1


def test_guidance_counts_prior_reconnections_with_one_search(
    client: TestClient, headers: dict[str, str], gateway: FakeGateway, tickets: TicketFactory
) -> None:
    """With an empty ledger a 원콜 ID costs 3 requests (read, ledger, pre-ledger search)."""
    ticket_id = tickets.add(RECONNECT_ELIGIBLE)
    first = client.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers).json()
    assert gateway.calls == 3
    assert first["eligible"] is True
    assert "fr_origin_7001" in first["tags"]
    # Another ticket already recorded a 강콜 for the same 원콜.
    tickets.add(
        {**RECONNECT_ELIGIBLE, "forced_call_id": "6999"}, tags=("fr_origin_7001", "fr_forced")
    )
    # A ticket for another 원콜, and one for this 원콜 without a 강콜, do not count.
    tickets.add(RECONNECT_ELIGIBLE, tags=("fr_origin_1234", "fr_forced"))
    tickets.add(RECONNECT_ELIGIBLE, tags=("fr_origin_7001",))
    gateway.calls = 0
    second = client.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers).json()
    assert gateway.calls == 3
    assert second["blocks"] == ["already_reconnected_once"]
    assert second["prior_reconnections"] == 1
    assert second["eligible"] is False
    assert second["facts"]["origin_call_id"] == "7001"


def test_guidance_without_origin_call_id_does_not_search(
    client: TestClient, headers: dict[str, str], gateway: FakeGateway, tickets: TicketFactory
) -> None:
    """No 원콜 ID → no search (1 request)."""
    values = {k: v for k, v in RECONNECT_ELIGIBLE.items() if k != "origin_call_id"}
    ticket_id = tickets.add(values)
    body = client.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers).json()
    assert "origin_call_id" in body["missing"]
    assert gateway.calls == 1


def test_guidance_unknown_ticket_is_404(client: TestClient, headers: dict[str, str]) -> None:
    """An unknown ticket answers a 404 problem."""
    response = client.get("/v1/tickets/424242/guidance", headers=headers)
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == "https://guidepost.dev/problems/ticket-not-found"


@pytest.mark.parametrize("ticket_id", ["0", "-1", "abc", str(2**53 + 1), "1.5"])
def test_guidance_bad_ticket_id_is_422(
    client: TestClient, headers: dict[str, str], gateway: FakeGateway, ticket_id: str
) -> None:
    """Ticket ids are positive integers up to 2^53."""
    response = client.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers)
    assert response.status_code == 422
    assert response.json()["field"] == "ticket_id"
    assert gateway.calls == 0


def test_guidance_malformed_ticket_field_is_422_naming_it(
    client: TestClient, headers: dict[str, str], tickets: TicketFactory
) -> None:
    """A malformed value stored on the Zendesk ticket names the semantic field."""
    ticket_id = tickets.add(PARKING_OFFER, raw={"car_number": "ABC-123", "usage_date": "x"})
    response = client.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers)
    assert response.status_code == 422
    assert response.json()["field"] in {"car_number", "usage_date"}


def test_guidance_without_field_map_is_a_configuration_problem(
    client: TestClient, headers: dict[str, str], settings: Settings, tickets: TicketFactory
) -> None:
    """Before `fields bootstrap` the ticket cannot be read: 500 problem saying so."""
    ticket_id = tickets.add(PARKING_OFFER)
    settings.field_map.unlink()
    response = client.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers)
    assert response.status_code == 500
    assert "fields bootstrap" in response.json()["detail"]


@pytest.mark.parametrize(
    ("error", "status", "slug"),
    [
        (RateLimitedError("rate limited", retry_after=7.2), 503, "rate-limited"),
        (ZendeskUnavailableError("Zendesk timed out"), 502, "zendesk-unavailable"),
        (ZendeskRejectedError("Zendesk said 400", 400), 502, "zendesk-rejected"),
    ],
)
def test_zendesk_failures_map_to_problems(
    client: TestClient,
    headers: dict[str, str],
    gateway: FakeGateway,
    tickets: TicketFactory,
    error: Exception,
    status: int,
    slug: str,
) -> None:
    """Gateway errors become 502/503 problems; 503 carries Retry-After (rounded up)."""
    ticket_id = tickets.add(PARKING_OFFER)
    gateway.fail_next(error)
    response = client.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("/" + slug)
    if status == 503:
        assert response.headers["retry-after"] == "8"


def test_unexpected_errors_are_500_without_internals(
    app: FastAPI, client: TestClient, headers: dict[str, str]
) -> None:
    """An unknown exception answers a generic 500 problem (no message, no traceback)."""

    def broken() -> FakeGateway:
        """Fail like a bug would."""
        raise RuntimeError("secret internals /etc/passwd")

    app.dependency_overrides[deps.get_gateway] = broken
    response = client.get("/v1/tickets/1/guidance", headers=headers)
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert "internals" not in response.text
    assert response.json()["type"] == "https://guidepost.dev/problems/internal"


def test_unknown_route_is_a_404_problem(client: TestClient) -> None:
    """Even the router's own 404 speaks problem+json."""
    response = client.get("/v1/nope")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


def test_cors_allows_only_configured_origins(client: TestClient) -> None:
    """Preflight from the configured origin passes; any other origin gets no CORS header."""
    request = {
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    allowed = client.options(
        "/v1/guides", headers={"Origin": "https://acme.zendesk.com", **request}
    )
    assert allowed.headers["access-control-allow-origin"] == "https://acme.zendesk.com"
    denied = client.options("/v1/guides", headers={"Origin": "https://evil.example", **request})
    assert "access-control-allow-origin" not in denied.headers


def test_openapi_documents_every_problem(client: TestClient) -> None:
    """/openapi.json declares problem+json for 401/404/409/422/503 and the bearer scheme."""
    schema = client.get("/openapi.json").json()
    apply = schema["paths"]["/v1/tickets/{ticket_id}/apply"]["post"]
    for status in ("401", "404", "409", "422", "502", "503"):
        content = apply["responses"][status]["content"]
        assert set(content) == {PROBLEM}
    assert "Retry-After" in apply["responses"]["503"]["headers"]
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    guidance = schema["paths"]["/v1/tickets/{ticket_id}/guidance"]["get"]
    assert guidance["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/GuidanceResponse"
    }
    assert "security" not in schema["paths"]["/healthz"]["get"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]


def test_server_refuses_placeholder_secrets(tmp_path: Path) -> None:
    """`guidepost serve` with .env.example values stops before binding a port."""
    from pydantic import SecretStr

    from backend.api.server import run
    from backend.errors import SettingsError

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        session_secret=SecretStr("change-me"),
        zendesk_token=SecretStr("real-token"),
    )
    with pytest.raises(SettingsError, match="GUIDEPOST_SESSION_SECRET"):
        run(settings, "127.0.0.1", 0)
