"""Auth attacks on the real backend: every forged, stale, browser-built or misaddressed
token is a 401.

The backend runs under uvicorn in front of the Zendesk emulator; the emulator's request
counter proves that no attack reached Zendesk.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from reliability_helpers import Recorder, demo_ids, start_stack

from backend.api.auth import MAX_TOKEN_BYTES, SESSION_ISSUER, SESSION_TYPE, encode_token
from backend.demo import DEMO_CASES
from tooling.harness.proxy import ZendeskSigner
from tooling.testing import TEST_AGENT_ID, Stack, make_token

WRONG_SECRET = "not-the-shared-secret-but-just-as-long"
# A public key as an RS256 deployment would publish it: the classic HS/RS confusion signs
# an HS256 token with these bytes as the HMAC secret.
PUBLIC_KEY_PEM = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo\n"
    "4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u\n"
    "-----END PUBLIC KEY-----\n"
)
RESULTS: Counter[str] = Counter()


def b64(data: bytes) -> str:
    """base64url without padding (JWS encoding)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64_json(value: dict[str, Any]) -> str:
    """A JWS segment from a JSON object."""
    return b64(json.dumps(value, separators=(",", ":")).encode())


def sign_hmac(header: dict[str, Any], claims: dict[str, Any], key: str, digest: Any) -> str:
    """A JWS signed with HMAC over any header (PyJWT would refuse to build some of these)."""
    signing_input = f"{b64_json(header)}.{b64_json(claims)}"
    signature = hmac.new(key.encode(), signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64(signature)}"


def good_claims(stack: Stack, **extra: Any) -> dict[str, Any]:
    """Session claims the backend would accept (if signed with its session key)."""
    now = int(time.time())
    return {
        "iss": SESSION_ISSUER,
        "aud": stack.settings.session_audience,
        "sub": str(TEST_AGENT_ID),
        "acct": stack.settings.zaf_issuer,
        "typ": SESSION_TYPE,
        "iat": now,
        "exp": now + 300,
        **extra,
    }


def build_attacks(stack: Stack, ticket_id: int, other_ticket: int) -> dict[str, str | None]:
    """Authorization header values, by attack name (None = no header at all)."""
    # The app installation's secret: what Zendesk's proxy signs browser-chosen claims with.
    secret = stack.settings.shared_secret.get_secret_value()
    settings = stack.settings
    now = int(time.time())
    leeway = 30
    claims = good_claims(stack)
    valid = make_token(settings)
    header, payload, signature = valid.split(".")
    tampered_claims = {**claims, "sub": "1", "admin": True}
    browser_claims = {"iss": settings.jwt_issuer, "aud": settings.jwt_audience, "exp": now + 300}
    zendesk = ZendeskSigner(settings.zendesk_url)

    def bearer(token: str) -> str:
        return f"Bearer {token}"

    return {
        "missing": None,
        "scheme_only": "Bearer",
        "basic_scheme": "Basic " + b64(b"agent@example.com:password"),
        "token_without_scheme": valid,
        "garbage": bearer("not-a-jwt"),
        "two_segments": bearer(f"{header}.{payload}"),
        "expired": bearer(make_token(settings, iat=now - 3600, exp=now - leeway - 60)),
        "not_yet_valid_nbf": bearer(make_token(settings, nbf=now + leeway + 600)),
        "issued_in_future": bearer(make_token(settings, iat=now + leeway + 600)),
        "no_exp": bearer(make_token(settings, exp=None)),
        "wrong_key": bearer(encode_token(claims, WRONG_SECRET)),
        "alg_none": bearer(f"{b64_json({'alg': 'none', 'typ': 'JWT'})}.{payload}."),
        "alg_none_capitalised": bearer(f"{b64_json({'alg': 'None', 'typ': 'JWT'})}.{payload}."),
        "alg_none_with_signature": bearer(
            f"{b64_json({'alg': 'none', 'typ': 'JWT'})}.{payload}.{signature}"
        ),
        "signature_stripped": bearer(f"{header}.{payload}."),
        "payload_tampered": bearer(f"{header}.{b64_json(tampered_claims)}.{signature}"),
        "hs512_with_shared_secret": bearer(
            sign_hmac({"alg": "HS512", "typ": "JWT"}, claims, secret, hashlib.sha512)
        ),
        "rs256_header_hmac_signed": bearer(
            sign_hmac({"alg": "RS256", "typ": "JWT"}, claims, secret, hashlib.sha256)
        ),
        "rs256_forged_signature": bearer(
            f"{b64_json({'alg': 'RS256', 'typ': 'JWT'})}.{payload}.{b64(os.urandom(256))}"
        ),
        "hs256_signed_with_public_key": bearer(
            sign_hmac({"alg": "HS256", "typ": "JWT"}, claims, PUBLIC_KEY_PEM, hashlib.sha256)
        ),
        "kid_path_injection": bearer(
            sign_hmac(
                {"alg": "HS256", "typ": "JWT", "kid": "../../../../dev/null"},
                claims,
                "",
                hashlib.sha256,
            )
        ),
        "wrong_aud": bearer(make_token(settings, aud="someone-else")),
        "aud_list_without_ours": bearer(make_token(settings, aud=["a", "b"])),
        "no_aud": bearer(make_token(settings, aud=None)),
        "wrong_iss": bearer(make_token(settings, iss="https://evil.example")),
        "no_iss": bearer(make_token(settings, iss=None)),
        "oversized_token": bearer(make_token(settings, pad="x" * MAX_TOKEN_BYTES)),
        # The superseded design (ERRATA 3): claims the sidebar built, signed by the proxy.
        "browser_built_legacy": bearer(encode_token(browser_claims, secret)),
        "browser_built_session_claims": bearer(encode_token(claims, secret)),
        "ten_year_exp": bearer(make_token(settings, exp=now + 10 * 365 * 86400)),
        "other_account": bearer(make_token(settings, acct="evil.zendesk.com")),
        "not_a_session": bearer(make_token(settings, typ=None)),
        "no_subject": bearer(make_token(settings, sub=None)),
        # Zendesk's signed app token is for the session exchange only, never a bearer.
        "zendesk_app_token_as_bearer": bearer(zendesk.sign(TEST_AGENT_ID)),
    }


# Attacks that only make sense on routes with a ticket id in the path.
TICKET_ONLY: set[str] = set()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The real backend in front of the emulator with the demo tickets."""
    with start_stack(tmp_path_factory.mktemp("auth")) as running:
        yield running


@pytest.fixture(scope="module")
def http(stack: Stack) -> Iterator[httpx.Client]:
    """An HTTP client for the backend."""
    with httpx.Client(base_url=stack.backend_url, timeout=15.0) as client:
        yield client


def offer_ticket(stack: Stack) -> int:
    """The demo ticket at the parking coupon offer (an applicable decision)."""
    return next(
        ident
        for case, ident in zip(DEMO_CASES, stack.ticket_ids, strict=True)
        if case.branch == "parking.offer_coupon"
    )


def routes(stack: Stack) -> list[tuple[str, str, str, dict[str, Any] | None]]:
    """(name, method, path, body) of every authenticated route, on an applicable ticket."""
    ticket = offer_ticket(stack)
    apply_body = {
        "branch": "parking.offer_coupon",
        "ticket_updated_at": "2024-11-20T09:00:01Z",
        "fingerprint": "0123abcd",
    }
    return [
        ("guides", "GET", "/v1/guides", None),
        (
            "preview",
            "POST",
            "/v1/preview",
            {"fields": {"consult_type": "driver_force_rerun_own_normal"}},
        ),
        ("guidance", "GET", f"/v1/tickets/{ticket}/guidance", None),
        ("apply", "POST", f"/v1/tickets/{ticket}/apply", apply_body),
    ]


def send(
    http: httpx.Client, method: str, path: str, body: dict[str, Any] | None, auth: str | None
) -> httpx.Response:
    """One request with exactly this Authorization header (or none)."""
    headers = {} if auth is None else {"Authorization": auth}
    return http.request(method, path, headers=headers, json=body)


def test_every_attack_is_401_and_never_reaches_zendesk(
    stack: Stack, http: httpx.Client, figures: Recorder
) -> None:
    """All attacks × all authenticated routes: 401 problem+json, no Zendesk request."""
    store = stack.emulator.store
    store.reset_counters()
    table = routes(stack)
    attacks = build_attacks(stack, offer_ticket(stack), other_ticket=demo_ids(stack)[0])
    wrong: list[str] = []
    for route, method, path, body in table:
        for name, auth in attacks.items():
            if name in TICKET_ONLY and "/tickets/" not in path:
                continue
            response = send(http, method, path, body, auth)
            RESULTS["attacks"] += 1
            if response.status_code != 401:
                wrong.append(f"{name} on {route}: {response.status_code} {response.text[:200]}")
                continue
            RESULTS["answered_401"] += 1
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.headers.get("www-authenticate") == "Bearer"
            problem = response.json()
            assert problem["status"] == 401
            assert "shared" not in problem["detail"].lower()
    reached = store.counters()["total"]
    figures(
        "auth_attacks",
        {
            "attacks": RESULTS["attacks"],
            "kinds": len(attacks),
            "answered_401": RESULTS["answered_401"],
            "zendesk_requests": reached,
            "not_401": RESULTS["attacks"] - RESULTS["answered_401"],
            "routes": len(table),
        },
    )
    assert wrong == []
    assert reached == 0, store.counters()["by_route"]


def test_valid_token_does_reach_zendesk(stack: Stack, http: httpx.Client) -> None:
    """The control: the same request with a valid token is answered and counted."""
    store = stack.emulator.store
    store.reset_counters()
    _, method, path, body = routes(stack)[2]
    response = send(http, method, path, body, f"Bearer {make_token(stack.settings)}")
    assert response.status_code == 200, response.text
    assert store.counters()["total"] >= 1


def test_unknown_zendesk_user_is_403_before_any_ticket_read(
    stack: Stack, http: httpx.Client
) -> None:
    """A valid session for a user Zendesk does not know: 403, only the user lookup is sent."""
    store = stack.emulator.store
    store.reset_counters()
    _, method, path, body = routes(stack)[2]
    token = f"Bearer {make_token(stack.settings, sub='424242')}"
    response = send(http, method, path, body, token)
    assert response.status_code == 403
    assert response.json()["type"] == "https://guidepost.dev/problems/forbidden"
    assert set(store.counters()["by_route"]) <= {"GET /api/v2/users/{id}"}
    assert store.counters()["writes"] == 0


@pytest.mark.parametrize("size", [16 * 1024, 64 * 1024])
def test_huge_authorization_header_is_refused_without_zendesk(
    stack: Stack, http: httpx.Client, size: int
) -> None:
    """Headers far beyond the token limit: refused (401, or 431 by the HTTP server)."""
    store = stack.emulator.store
    store.reset_counters()
    _, method, path, body = routes(stack)[2]
    response = send(http, method, path, body, "Bearer " + "A" * size)
    assert response.status_code in (401, 431), response.status_code
    assert store.counters()["total"] == 0
