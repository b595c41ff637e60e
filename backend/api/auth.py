"""Identity vouched for by Zendesk, then Guidepost's own short-lived session token.

1. Zendesk signs a ZAF JWT (RS256, the app's key pair) when it loads the app's signed
   URL; we verify it with the app's public key, issuer (the account host), audience
   (the installation URL) and a lifetime Zendesk keeps short, and read the agent's
   Zendesk user id from `sub` (docs/SECURITY.md).
2. We mint a session token (HS256 with GUIDEPOST_SESSION_SECRET, a key no app
   installation and no browser holds), bound to our audience and the account, with a
   bounded lifetime. Every API call carries it; nothing the browser builds is trusted.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from jwt.algorithms import HMACAlgorithm

from backend.authz import Agent
from backend.errors import AuthError, SessionExpiredError, SettingsError
from backend.settings import Settings

MAX_TOKEN_BYTES = 8 * 1024
ZAF_ALGORITHM = "RS256"
SESSION_ALGORITHM = "HS256"
SESSION_ISSUER = "guidepost"
SESSION_TYPE = "gp-session"
# Zendesk's app tokens live minutes; a longer one was not minted by Zendesk for a page load.
ZAF_MAX_LIFETIME_SECONDS = 600
LEEWAY_SECONDS = 30
_USER_URL = re.compile(r"^https://([^/]+)/api/v2/users/([1-9][0-9]{0,18})\.json$")
_USER_ID = re.compile(r"^[1-9][0-9]{0,18}$")


class _HS256(HMACAlgorithm):
    """HS256 without PyJWT's short-key warning: Settings already enforces the key length."""

    def __init__(self) -> None:
        super().__init__(HMACAlgorithm.SHA256)

    def check_key_length(self, key: bytes) -> str | None:
        """Accept the key (Settings.require_secrets rejects short secrets)."""
        return None


def _make_codec() -> jwt.PyJWT:
    codec = jwt.PyJWT()
    # PyJWT exposes no public hook to swap an algorithm on a PyJWT instance.
    jws = codec._jws
    jws.unregister_algorithm(SESSION_ALGORITHM)
    jws.register_algorithm(SESSION_ALGORITHM, _HS256())
    return codec


_CODEC = _make_codec()


# However often a session is refreshed, Zendesk must vouch for the agent again after this.
SESSION_MAX_AGE_SECONDS = 12 * 3600


@dataclass(frozen=True)
class Session:
    """A minted session token and when it stops being accepted."""

    token: str
    expires_at: int
    agent: Agent


def encode_token(claims: Mapping[str, Any], secret: str) -> str:
    """Sign claims as an HS256 JWT (sessions; tests and the harness use it too)."""
    return _CODEC.encode(dict(claims), secret, algorithm=SESSION_ALGORITHM)


def _check_size(token: str) -> None:
    if not token or len(token.encode("utf-8")) > MAX_TOKEN_BYTES:
        raise AuthError("token missing or too large")


def _decode(token: str, key: Any, algorithm: str, audience: str, issuer: str) -> dict[str, Any]:
    """Verify signature, algorithm, audience, issuer and times; AuthError on any failure."""
    try:
        claims: dict[str, Any] = _CODEC.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=audience,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "sub"], "verify_signature": True},
        )
    except jwt.ExpiredSignatureError:
        raise SessionExpiredError("token expired") from None
    except jwt.ImmatureSignatureError:
        raise AuthError("token not yet valid") from None
    except jwt.InvalidAudienceError:
        raise AuthError("token audience is wrong") from None
    except jwt.InvalidIssuerError:
        raise AuthError("token issuer is wrong") from None
    except jwt.MissingRequiredClaimError as exc:
        raise AuthError(f"token lacks the {exc.claim} claim") from None
    except jwt.InvalidAlgorithmError:
        raise AuthError(f"token algorithm not allowed ({algorithm} only)") from None
    except jwt.InvalidSignatureError:
        raise AuthError("token signature is invalid") from None
    except (jwt.InvalidTokenError, ValueError, TypeError):
        raise AuthError("token is malformed") from None
    return claims


def _check_lifetime(claims: Mapping[str, Any], limit: int) -> None:
    issued, expires = claims.get("iat"), claims.get("exp")
    if not isinstance(issued, int | float) or not isinstance(expires, int | float):
        raise AuthError("token times are malformed")
    if expires - issued > limit:
        raise AuthError("token lifetime exceeds the allowed bound")
    if issued > time.time() + LEEWAY_SECONDS:
        raise AuthError("token issued in the future")


def user_id_from_subject(subject: object, issuer: str) -> int:
    """The Zendesk user id in a ZAF `sub`: a user id, or the user's API URL on the issuer."""
    text = str(subject) if isinstance(subject, int | str) and not isinstance(subject, bool) else ""
    if _USER_ID.fullmatch(text):
        return int(text)
    match = _USER_URL.fullmatch(text)
    if match is None or match.group(1).lower() != issuer.lower():
        raise AuthError("token subject is not a Zendesk user of this account")
    return int(match.group(2))


def verify_zendesk_token(token: str, settings: Settings) -> Agent:
    """Verify the ZAF JWT Zendesk signed for the app's page load; return its agent."""
    _check_size(token)
    try:
        settings.require_zaf_identity()
    except SettingsError:
        raise AuthError("Zendesk app identity is not configured on this server") from None
    claims = _decode(
        token, settings.zaf_public_key, ZAF_ALGORITHM, settings.zaf_audience, settings.zaf_issuer
    )
    _check_lifetime(claims, ZAF_MAX_LIFETIME_SECONDS)
    return Agent(
        user_id=user_id_from_subject(claims["sub"], settings.zaf_issuer),
        account=settings.zaf_issuer,
    )


def _session_key(settings: Settings) -> str:
    secret = settings.session_secret.get_secret_value()
    if len(secret) < 32:
        # Fail closed: without a real key no session can be minted or accepted.
        raise AuthError("sessions are not configured on this server")
    return secret


def issue_session(
    agent: Agent, settings: Settings, now: float | None = None, vouched_at: int | None = None
) -> Session:
    """Mint a session token for a verified agent (bounded lifetime, our audience)."""
    issued = int(now if now is not None else time.time())
    expires = issued + settings.session_lifetime_seconds
    claims = {
        # When Zendesk last vouched for the agent: refreshes never reach past the max age.
        "vouched": vouched_at if vouched_at is not None else issued,
        "iss": SESSION_ISSUER,
        "aud": settings.session_audience,
        "sub": str(agent.user_id),
        "acct": agent.account,
        "typ": SESSION_TYPE,
        "iat": issued,
        "exp": expires,
        "jti": secrets.token_urlsafe(12),
    }
    return Session(encode_token(claims, _session_key(settings)), expires, agent)


def verify_session(token: str, settings: Settings) -> Agent:
    """Verify a session token; SessionExpiredError past its lifetime, AuthError otherwise."""
    return _verify_session_claims(token, settings)[0]


def verify_session_until(token: str, settings: Settings) -> tuple[Agent, float]:
    """Verify a session token; its agent and when (epoch seconds) it expires."""
    agent, claims = _verify_session_claims(token, settings)
    return agent, float(claims["exp"])


def refresh_session(token: str, settings: Settings) -> Session:
    """A new session for a still-valid one, until Zendesk must vouch again (max age)."""
    agent, claims = _verify_session_claims(token, settings)
    vouched = claims.get("vouched")
    if not isinstance(vouched, int) or time.time() - vouched > SESSION_MAX_AGE_SECONDS:
        raise SessionExpiredError("session reached its maximum age: reload the app")
    return issue_session(agent, settings, vouched_at=vouched)


def _verify_session_claims(token: str, settings: Settings) -> tuple[Agent, dict[str, Any]]:
    _check_size(token)
    claims = _decode(
        token, _session_key(settings), SESSION_ALGORITHM, settings.session_audience, SESSION_ISSUER
    )
    _check_lifetime(claims, settings.session_lifetime_seconds)
    if claims.get("typ") != SESSION_TYPE:
        raise AuthError("not a Guidepost session token")
    if claims.get("acct") != settings.zaf_issuer:
        raise AuthError("session is for another Zendesk account")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not _USER_ID.fullmatch(subject):
        raise AuthError("session subject is malformed")
    return Agent(user_id=int(subject), account=settings.zaf_issuer), claims
