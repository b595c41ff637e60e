"""JWT auth: every bad token is a 401 problem with WWW-Authenticate and no Zendesk call."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from api_helpers import PARKING_OFFER, TicketFactory
from fastapi.testclient import TestClient

from backend.api.auth import MAX_TOKEN_BYTES, encode_token
from backend.settings import Settings
from backend.zendesk.fake_gateway import FakeGateway
from tooling.testing import make_token

FORGED_SECRET = "another-secret-of-thirty-two-bytes!!"


def _encode_b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _build_bad_tokens(settings: Settings, ticket_id: int) -> dict[str, str | None]:
    now = int(time.time())
    good = {"iss": settings.jwt_issuer, "aud": settings.jwt_audience, "exp": now + 300}
    return {
        "missing": None,
        "empty": "",
        "garbage": "not-a-jwt",
        "expired": make_token(settings, iat=now - 600, exp=now - 120),
        "forged": encode_token(good, FORGED_SECRET),
        "alg_none": f"{_encode_b64({'alg': 'none', 'typ': 'JWT'})}.{_encode_b64(good)}.",
        "hs512": jwt.encode(good, FORGED_SECRET + FORGED_SECRET, algorithm="HS512"),
        "wrong_aud": make_token(settings, aud="someone-else"),
        "wrong_iss": make_token(settings, iss="someone-else"),
        "no_exp": make_token(settings, exp=None),
        "no_aud": make_token(settings, aud=None),
        "no_iss": make_token(settings, iss=None),
        "not_yet_valid": make_token(settings, nbf=now + 600),
        "issued_in_future": make_token(settings, iat=now + 600),
        "oversized": make_token(settings, pad="x" * MAX_TOKEN_BYTES),
        "other_ticket": make_token(settings, ticket_id=ticket_id + 1),
        "ticket_claim_malformed": make_token(settings, ticket_id=[ticket_id]),
    }


CASES = [
    "missing",
    "empty",
    "garbage",
    "expired",
    "forged",
    "alg_none",
    "hs512",
    "wrong_aud",
    "wrong_iss",
    "no_exp",
    "no_aud",
    "no_iss",
    "not_yet_valid",
    "issued_in_future",
    "oversized",
    "other_ticket",
    "ticket_claim_malformed",
]


TICKET_ONLY = {"other_ticket", "ticket_claim_malformed"}
ROUTE_CASES = [
    (case, route)
    for route in ("guidance", "apply", "guides", "preview")
    for case in CASES
    # The ticket_id claim is checked on ticket routes only.
    if case not in TICKET_ONLY or route in {"guidance", "apply"}
]


@pytest.mark.parametrize(("case", "route"), ROUTE_CASES)
def test_bad_tokens_answer_401_without_touching_zendesk(
    client: TestClient,
    settings: Settings,
    gateway: FakeGateway,
    tickets: TicketFactory,
    case: str,
    route: str,
) -> None:
    """Every auth failure → 401 problem+json, WWW-Authenticate: Bearer, zero Zendesk calls."""
    ticket_id = tickets.add(PARKING_OFFER)
    token = _build_bad_tokens(settings, ticket_id)[case]
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    if route == "guidance":
        response = client.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers)
    elif route == "apply":
        body = {"branch": "parking.offer_coupon", "ticket_updated_at": "2024-11-20T09:00:01Z"}
        response = client.post(f"/v1/tickets/{ticket_id}/apply", headers=headers, json=body)
    elif route == "guides":
        response = client.get("/v1/guides", headers=headers)
    else:
        response = client.post("/v1/preview", headers=headers, json={"fields": {}})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    problem = response.json()
    assert problem["type"] == "https://guidepost.dev/problems/unauthorized"
    assert problem["status"] == 401
    assert gateway.calls == 0


def test_basic_auth_scheme_is_refused(client: TestClient, gateway: FakeGateway) -> None:
    """Only the Bearer scheme is accepted."""
    raw = base64.b64encode(b"agent@example.com:password").decode()
    response = client.get("/v1/guides", headers={"Authorization": f"Basic {raw}"})
    assert response.status_code == 401
    assert gateway.calls == 0


def test_auth_runs_before_body_and_path_validation(
    client: TestClient, gateway: FakeGateway
) -> None:
    """Without a token a malformed request still answers 401 (nothing is revealed)."""
    response = client.post("/v1/tickets/abc/apply", json={"branch": 5})
    assert response.status_code == 401
    assert gateway.calls == 0


def test_matching_ticket_claim_and_leeway_are_accepted(
    client: TestClient, settings: Settings, tickets: TicketFactory
) -> None:
    """A ticket_id claim equal to the path passes; exp within the leeway still passes."""
    ticket_id = tickets.add(PARKING_OFFER)
    now = int(time.time())
    for token in (
        make_token(settings, ticket_id=ticket_id),
        make_token(settings, ticket_id=str(ticket_id)),
        make_token(settings, exp=now - settings.jwt_leeway_seconds // 2),
        make_token(settings, nbf=now + settings.jwt_leeway_seconds // 2),
    ):
        response = client.get(
            f"/v1/tickets/{ticket_id}/guidance", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.text


def test_healthz_needs_no_token(client: TestClient) -> None:
    """Liveness is public."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
