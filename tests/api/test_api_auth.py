"""Auth: Zendesk vouches (signed app token), Guidepost's session is the only bearer accepted."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import parse_qs

import jwt
import pytest
from api_helpers import PARKING_OFFER, TicketFactory
from fastapi.testclient import TestClient

from backend.api.auth import MAX_TOKEN_BYTES, encode_token
from backend.settings import Settings
from backend.zendesk.fake_gateway import FakeGateway
from tooling.harness.proxy import ZendeskSigner
from tooling.testing import TEST_AGENT_ID, make_token

FORGED_SECRET = "another-secret-of-thirty-two-bytes!!"


def _encode_b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _build_bad_tokens(settings: Settings) -> dict[str, str | None]:
    now = int(time.time())
    good = {
        "iss": "guidepost",
        "aud": settings.session_audience,
        "sub": str(TEST_AGENT_ID),
        "acct": settings.zaf_issuer,
        "typ": "gp-session",
        "iat": now,
        "exp": now + 300,
    }
    browser_built = {"iss": settings.jwt_issuer, "aud": settings.jwt_audience, "exp": now + 300}
    return {
        "missing": None,
        "empty": "",
        "garbage": "not-a-jwt",
        "forged": encode_token(good, FORGED_SECRET),
        # What Zendesk's proxy signs for the app's `jwt` option: claims the browser chose.
        "browser_built": encode_token(browser_built, settings.shared_secret.get_secret_value()),
        "browser_built_session_shape": encode_token(
            good, settings.shared_secret.get_secret_value()
        ),
        "alg_none": f"{_encode_b64({'alg': 'none', 'typ': 'JWT'})}.{_encode_b64(good)}.",
        "hs512": jwt.encode(good, FORGED_SECRET + FORGED_SECRET, algorithm="HS512"),
        "wrong_aud": make_token(settings, aud="someone-else"),
        "wrong_iss": make_token(settings, iss="someone-else"),
        "wrong_account": make_token(settings, acct="other.zendesk.com"),
        "wrong_type": make_token(settings, typ=None),
        "no_exp": make_token(settings, exp=None),
        "no_iat": make_token(settings, iat=None),
        "no_sub": make_token(settings, sub=None),
        "sub_not_a_user": make_token(settings, sub="admin"),
        "no_aud": make_token(settings, aud=None),
        "no_iss": make_token(settings, iss=None),
        "not_yet_valid": make_token(settings, nbf=now + 600),
        "issued_in_future": make_token(settings, iat=now + 600, exp=now + 700),
        "ten_year_exp": make_token(settings, exp=now + 10 * 365 * 86400),
        "oversized": make_token(settings, pad="x" * MAX_TOKEN_BYTES),
    }


CASES = [
    "missing",
    "empty",
    "garbage",
    "forged",
    "browser_built",
    "browser_built_session_shape",
    "alg_none",
    "hs512",
    "wrong_aud",
    "wrong_iss",
    "wrong_account",
    "wrong_type",
    "no_exp",
    "no_iat",
    "no_sub",
    "sub_not_a_user",
    "no_aud",
    "no_iss",
    "not_yet_valid",
    "issued_in_future",
    "ten_year_exp",
    "oversized",
]
ROUTES = ("guidance", "apply", "guides", "preview")


def _call(client: TestClient, route: str, ticket_id: int, headers: dict[str, str]) -> Any:
    if route == "guidance":
        return client.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers)
    if route == "apply":
        body = {
            "branch": "parking.offer_coupon",
            "ticket_updated_at": "2024-11-20T09:00:01Z",
            "fingerprint": "abc123",
        }
        return client.post(f"/v1/tickets/{ticket_id}/apply", headers=headers, json=body)
    if route == "guides":
        return client.get("/v1/guides", headers=headers)
    return client.post("/v1/preview", headers=headers, json={"fields": {}})


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("case", CASES)
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
    token = _build_bad_tokens(settings)[case]
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    response = _call(client, route, ticket_id, headers)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["type"] == "https://guidepost.dev/problems/unauthorized"
    assert gateway.calls == 0


@pytest.mark.parametrize("route", ROUTES)
def test_expired_session_is_401_session_expired(
    client: TestClient, settings: Settings, gateway: FakeGateway, tickets: TicketFactory, route: str
) -> None:
    """A session past its lifetime (and the leeway) → 401 `session-expired`, no Zendesk call."""
    ticket_id = tickets.add(PARKING_OFFER)
    now = int(time.time())
    token = make_token(settings, iat=now - 400, exp=now - 100)
    response = _call(client, route, ticket_id, {"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["type"] == "https://guidepost.dev/problems/session-expired"
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


def test_leeway_is_accepted(client: TestClient, settings: Settings, tickets: TicketFactory) -> None:
    """exp or nbf within the 30 s leeway still pass."""
    ticket_id = tickets.add(PARKING_OFFER)
    now = int(time.time())
    for token in (
        make_token(settings, iat=now - 300, exp=now - 10),
        make_token(settings, nbf=now + 10),
    ):
        response = client.get(
            f"/v1/tickets/{ticket_id}/guidance", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.text


def test_zendesk_signed_token_buys_a_bounded_session(
    client: TestClient, settings: Settings, signer: ZendeskSigner, tickets: TicketFactory
) -> None:
    """POST /v1/session: a Zendesk-signed token → a session for its user, lifetime as set."""
    answer = client.post("/v1/session", json={"token": signer.sign(TEST_AGENT_ID)})
    assert answer.status_code == 200, answer.text
    session = answer.json()
    assert session["user_id"] == TEST_AGENT_ID
    assert 0 < session["expires_in"] <= settings.session_lifetime_seconds
    claims = jwt.decode(session["session_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == settings.session_lifetime_seconds
    assert claims["aud"] == settings.session_audience
    ticket_id = tickets.add(PARKING_OFFER)
    headers = {"Authorization": f"Bearer {session['session_token']}"}
    assert client.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers).status_code == 200


def _hmac_token(claims: dict[str, Any], key: bytes) -> str:
    """HS256 keyed with the public key (algorithm confusion), built by hand: PyJWT refuses."""
    signing_input = f"{_encode_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_encode_b64(claims)}"
    digest = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"


def _zaf_variants(signer: ZendeskSigner, settings: Settings) -> dict[str, str]:
    other = ZendeskSigner("https://acme.zendesk.com", signer.installation_id, fresh_key=True)
    now = int(time.time())
    return {
        "other_key": other.sign(TEST_AGENT_ID),
        "wrong_issuer": signer.sign(TEST_AGENT_ID, iss="evil.zendesk.com"),
        "other_installation": signer.sign(
            TEST_AGENT_ID, aud="https://acme.zendesk.com/api/v2/apps/installations/1.json"
        ),
        "expired": signer.sign(TEST_AGENT_ID, iat=now - 900, nbf=now - 900, exp=now - 600),
        "long_lived": signer.sign(TEST_AGENT_ID, lifetime=10 * 365 * 86400),
        "user_of_other_account": signer.sign(
            TEST_AGENT_ID, sub="https://evil.zendesk.com/api/v2/users/1001001.json"
        ),
        "no_sub": signer.sign(TEST_AGENT_ID, sub=None),
        "hs256_with_public_key": _hmac_token(
            {"iss": signer.issuer, "aud": signer.audience, "sub": "1", "iat": now, "exp": now + 60},
            settings.zaf_public_key.encode(),
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "other_key",
        "wrong_issuer",
        "other_installation",
        "expired",
        "long_lived",
        "user_of_other_account",
        "no_sub",
        "hs256_with_public_key",
    ],
)
def test_session_exchange_refuses_what_zendesk_did_not_sign(
    client: TestClient, settings: Settings, signer: ZendeskSigner, case: str
) -> None:
    """Only a token Zendesk signed for this account and installation, short-lived, is taken."""
    token = _zaf_variants(signer, settings)[case]
    response = client.post("/v1/session", json={"token": token})
    assert response.status_code == 401, response.text
    assert "session_token" not in response.text


def test_signed_url_entry_redirects_with_the_session_in_the_fragment(
    client: TestClient, settings: Settings, signer: ZendeskSigner
) -> None:
    """POST /app/sidebar (Zendesk's form post) → 303 to the app page, session after `#`."""
    response = client.post(
        "/app/sidebar?origin=https%3A%2F%2Facme.zendesk.com&app_guid=g-1",
        data={"token": signer.sign(TEST_AGENT_ID)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    page, _, fragment = location.partition("#")
    assert page == settings.app_page_url + "?origin=https%3A%2F%2Facme.zendesk.com&app_guid=g-1"
    assert fragment.startswith("gp_session=")
    values = parse_qs(fragment)
    # the lifetime too: the app counts it on its own clock, whatever the PC's time says
    assert int(values["gp_expires_in"][0]) == settings.session_lifetime_seconds
    assert int(values["gp_expires"][0]) - int(time.time()) <= settings.session_lifetime_seconds
    forged = client.post("/app/sidebar", data={"token": "x.y.z"}, follow_redirects=False)
    assert forged.status_code == 401


def test_refresh_renews_a_live_session_but_not_past_its_max_age(
    client: TestClient, settings: Settings
) -> None:
    """A live session is renewed (same agent); one Zendesk vouched for 13 h ago is not."""
    fresh = client.post(
        "/v1/session/refresh", headers={"Authorization": f"Bearer {make_token(settings)}"}
    )
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["user_id"] == TEST_AGENT_ID
    stale = make_token(settings, vouched=int(time.time()) - 13 * 3600)
    old = client.post("/v1/session/refresh", headers={"Authorization": f"Bearer {stale}"})
    assert old.status_code == 401
    assert old.json()["type"].endswith("/session-expired")


def test_healthz_needs_no_token(client: TestClient) -> None:
    """Liveness is public."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
