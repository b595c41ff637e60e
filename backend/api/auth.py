"""JWT bearer auth: HS256 tokens minted by the Zendesk app proxy with the shared secret."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jwt.algorithms import HMACAlgorithm

from backend.api.deps import get_settings
from backend.errors import AuthError
from backend.logs import bind_request
from backend.settings import Settings

ALGORITHM = "HS256"
MAX_TOKEN_BYTES = 8 * 1024
REQUIRED_CLAIMS = ["exp", "iss", "aud"]

bearer_scheme = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    description="HS256 JWT signed with the app's shared secret (iss, aud, exp required)",
)


class _HS256(HMACAlgorithm):
    """HS256 without PyJWT's short-key warning: Settings already enforces the key length."""

    def __init__(self) -> None:
        super().__init__(HMACAlgorithm.SHA256)

    def check_key_length(self, key: bytes) -> str | None:
        """Accept the key (Settings.require_secrets rejects short or placeholder secrets)."""
        return None


def _make_codec() -> jwt.PyJWT:
    codec = jwt.PyJWT()
    # PyJWT exposes no public hook to swap an algorithm on a PyJWT instance.
    jws = codec._jws
    jws.unregister_algorithm(ALGORITHM)
    jws.register_algorithm(ALGORITHM, _HS256())
    return codec


_CODEC = _make_codec()


def encode_token(claims: Mapping[str, Any], secret: str) -> str:
    """Sign claims as an HS256 JWT (what the Zendesk app proxy produces; used by tests)."""
    return _CODEC.encode(dict(claims), secret, algorithm=ALGORITHM)


def decode_token(token: str, settings: Settings) -> dict[str, Any]:
    """Verify a token's size, signature, algorithm and claims; AuthError on any failure."""
    if len(token.encode("utf-8")) > MAX_TOKEN_BYTES:
        raise AuthError("token too large")
    try:
        claims: dict[str, Any] = _CODEC.decode(
            token,
            settings.shared_secret.get_secret_value(),
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=settings.jwt_leeway_seconds,
            options={"require": REQUIRED_CLAIMS, "verify_signature": True},
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("token expired") from None
    except jwt.ImmatureSignatureError:
        raise AuthError("token not yet valid") from None
    except jwt.InvalidAudienceError:
        raise AuthError("token audience is wrong") from None
    except jwt.InvalidIssuerError:
        raise AuthError("token issuer is wrong") from None
    except jwt.MissingRequiredClaimError as exc:
        raise AuthError(f"token lacks the {exc.claim} claim") from None
    except jwt.InvalidAlgorithmError:
        raise AuthError("token algorithm not allowed (HS256 only)") from None
    except jwt.InvalidSignatureError:
        raise AuthError("token signature is invalid") from None
    except (jwt.InvalidTokenError, ValueError, TypeError):
        raise AuthError("token is malformed") from None
    return claims


def check_ticket_claim(claims: Mapping[str, Any], path_ticket_id: object) -> None:
    """An optional `ticket_id` claim must name the ticket of the path."""
    if "ticket_id" not in claims or path_ticket_id is None:
        return
    claimed = claims["ticket_id"]
    if isinstance(claimed, bool) or not isinstance(claimed, int | str):
        raise AuthError("token ticket_id claim is malformed")
    if str(claimed).strip() != str(path_ticket_id).strip():
        raise AuthError("token is for another ticket")


def require_token(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),  # noqa: B008
    settings: Settings = Depends(get_settings),  # noqa: B008
) -> dict[str, Any]:
    """FastAPI dependency: the verified claims of the request's bearer token (401 otherwise)."""
    raw_header = request.headers.get("authorization", "")
    if len(raw_header.encode("utf-8")) > MAX_TOKEN_BYTES + len("Bearer "):
        raise AuthError("token too large")
    if credentials is None or not credentials.credentials:
        raise AuthError("missing bearer token")
    claims = decode_token(credentials.credentials, settings)
    # Read the raw path parameter so a bad ticket id still answers 401 before 422.
    check_ticket_claim(claims, request.path_params.get("ticket_id"))
    bind_request(auth="ok")
    return claims
