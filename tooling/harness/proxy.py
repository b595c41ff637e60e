"""What Zendesk's request proxy does for `client.request({cors: false, ...})`.

The app's iframe never holds the shared secret. It sends its request options (with the
placeholder `{{setting.shared_secret}}` and `{{jwt.token}}`) to Zendesk; Zendesk's proxy
substitutes the installation's secure settings, signs the JWT the `jwt` option asks
for, puts it where `{{jwt.token}}` stands and forwards the request from its servers.
This module plays that part for the local harness.
"""

from __future__ import annotations

import functools
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import jwt

from backend.api.auth import encode_token

__all__ = ["ProxyError", "ProxyOutcome", "ZendeskProxy", "ZendeskSigner"]

_SETTING = re.compile(r"\{\{\s*setting\.([A-Za-z0-9_]+)\s*\}\}")
_JWT_TOKEN = re.compile(r"\{\{\s*jwt\.token\s*\}\}")
_ALGORITHMS = frozenset({"HS256"})  # what the Guidepost app asks for
_DEFAULT_TIMEOUT_SECONDS = 15.0
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "content-encoding"}
)


class ProxyError(Exception):
    """The request options are not something Zendesk's proxy would forward."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class ProxyOutcome:
    """The upstream answer as the host page hands it back to the SDK."""

    status: int
    status_text: str
    headers: dict[str, str]
    body: str
    log: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The envelope /proxy returns to the host page."""
        return {
            "status": self.status,
            "statusText": self.status_text,
            "headers": self.headers,
            "responseText": self.body,
        }


@dataclass
class ZendeskProxy:
    """Substitute settings, sign the JWT and forward, as Zendesk's proxy does.

    `settings` are the app installation's settings by name (secure ones included: they
    live here, server side). `secure_names` are the parameters marked `secure`;
    `domain_whitelist` is the manifest's list — secure settings only go to those hosts.
    `zendesk_url` receives relative `/api/v2/...` requests (the agent's own Zendesk).
    """

    settings: dict[str, str]
    secure_names: frozenset[str]
    domain_whitelist: list[str]
    zendesk_url: str
    zendesk_auth: tuple[str, str] | None = None
    timeout_seconds: float = _DEFAULT_TIMEOUT_SECONDS

    def _substitute(self, value: str, *, secure: bool) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in self.secure_names and not secure:
                return match.group(0)  # Zendesk only fills secure settings in secure requests
            return self.settings.get(name, match.group(0))

        return _SETTING.sub(replace, value)

    def _host_allowed(self, host: str) -> bool:
        host = host.lower()
        for entry in self.domain_whitelist:
            pattern = entry.lower().strip()
            if pattern.startswith("*."):
                if host.endswith(pattern[1:]):
                    return True
            elif host == pattern:
                return True
        return False

    def _token(self, spec: Any, *, secure: bool) -> str:
        if not isinstance(spec, dict):
            raise ProxyError(400, "jwt must be an object")
        algorithm = str(spec.get("algorithm", "HS256"))
        if algorithm not in _ALGORITHMS:
            raise ProxyError(400, f"jwt.algorithm {algorithm} is not supported by the harness")
        secret = self._substitute(str(spec.get("secret_key", "")), secure=secure)
        if not secret or _SETTING.search(secret):
            raise ProxyError(400, "jwt.secret_key did not resolve to a setting value")
        expiry = spec.get("expiry", 60)
        if not isinstance(expiry, int | float) or isinstance(expiry, bool) or expiry <= 0:
            raise ProxyError(400, "jwt.expiry must be a positive number of seconds")
        claims = spec.get("claims", {})
        if claims is None:
            claims = {}
        if not isinstance(claims, dict):
            raise ProxyError(400, "jwt.claims must be an object")
        now = int(time.time())
        payload: dict[str, Any] = {
            key: self._substitute(value, secure=secure) if isinstance(value, str) else value
            for key, value in claims.items()
        }
        payload.setdefault("iat", now)
        payload["exp"] = now + int(expiry)
        return encode_token(payload, secret)

    def prepare(
        self, options: dict[str, Any]
    ) -> tuple[str, str, dict[str, str], bytes | None, dict[str, Any]]:
        """Turn ZAF request options into (method, url, headers, body, log entry)."""
        raw_url = options.get("url")
        if not isinstance(raw_url, str) or not raw_url:
            raise ProxyError(400, "url is required")
        if options.get("cors") is True:
            raise ProxyError(
                400,
                "cors: true requests go straight from the browser; the "
                "harness only plays Zendesk's proxy (cors: false)",
            )
        secure = options.get("secure") is True
        url = self._substitute(raw_url, secure=secure)
        headers: dict[str, str] = {}
        if raw_url.startswith("/"):
            url = self.zendesk_url.rstrip("/") + url
        else:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ProxyError(400, f"url must be absolute http(s) or /api/v2/...: {raw_url}")
            if secure and not self._host_allowed(parts.hostname):
                raise ProxyError(
                    403,
                    f"{parts.hostname} is not in the manifest's "
                    "domainWhitelist; Zendesk refuses secure requests to it",
                )
        token: str | None = None
        if options.get("jwt") is not None:
            token = self._token(options["jwt"], secure=secure)
        raw_headers = options.get("headers") or {}
        if not isinstance(raw_headers, dict):
            raise ProxyError(400, "headers must be an object")
        for name, value in raw_headers.items():
            text = self._substitute(str(value), secure=secure)
            if token is not None:
                text = _JWT_TOKEN.sub(token, text)
            headers[str(name)] = text
        method = str(options.get("type") or options.get("method") or "GET").upper()
        body: bytes | None = None
        data = options.get("data")
        content_type = options.get("contentType")
        if data is not None and method not in ("GET", "HEAD"):
            if isinstance(data, str):
                text = self._substitute(data, secure=secure)
                if token is not None:
                    text = _JWT_TOKEN.sub(token, text)
                body = text.encode("utf-8")
            elif isinstance(data, dict):
                body = urlencode({str(k): str(v) for k, v in data.items()}).encode("utf-8")
                content_type = content_type or "application/x-www-form-urlencoded"
            else:
                raise ProxyError(400, "data must be a string or an object")
            if content_type and content_type is not False:
                headers.setdefault("Content-Type", str(content_type))
        elif data is not None and isinstance(data, dict):
            joiner = "&" if "?" in url else "?"
            url = url + joiner + urlencode({str(k): str(v) for k, v in data.items()})
        if raw_url.startswith("/") and self.zendesk_auth is not None:
            headers.setdefault("Authorization", _basic(*self.zendesk_auth))
        claims: dict[str, Any] = {}
        if token is not None:
            claims = jwt.decode(token, options={"verify_signature": False})
        log = {"method": method, "url": raw_url, "secure": secure, "jwt_claims": claims}
        return method, url, headers, body, log

    async def forward(self, options: dict[str, Any], client: httpx.AsyncClient) -> ProxyOutcome:
        """Forward one request; network failures become a 502 like a proxy answers."""
        method, url, headers, body, log = self.prepare(options)
        timeout = options.get("timeout")
        seconds = (
            float(timeout) / 1000.0
            if isinstance(timeout, int | float) and timeout > 0
            else self.timeout_seconds
        )
        try:
            response = await client.request(
                method, url, headers=headers, content=body, timeout=seconds
            )
        except httpx.TimeoutException:
            log["status"] = 504
            return ProxyOutcome(
                504,
                "Gateway Timeout",
                {"content-type": "application/json"},
                json.dumps({"error": "proxy: upstream timed out"}),
                log,
            )
        except httpx.TransportError as exc:
            log["status"] = 502
            return ProxyOutcome(
                502,
                "Bad Gateway",
                {"content-type": "application/json"},
                json.dumps({"error": f"proxy: upstream unreachable ({exc})"}),
                log,
            )
        log["status"] = response.status_code
        kept = {k.lower(): v for k, v in response.headers.items() if k.lower() not in _HOP_BY_HOP}
        return ProxyOutcome(response.status_code, response.reason_phrase, kept, response.text, log)


def _basic(user: str, password: str) -> str:
    import base64

    raw = f"{user}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


@functools.cache
def _process_key() -> Any:
    """The signer's RSA key for this process (made on first use, never written anywhere)."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class ZendeskSigner:
    """Zendesk's signer for signed URLs: an RS256 key pair made at test time, never stored.

    With `signedUrls` on, Zendesk posts a ZAF JWT (RS256, the app's private key) to the
    app's URL; the backend checks it with the app's public key. Claims follow Zendesk's
    "Authenticating Zendesk in your server-side app": `iss` the account host, `aud` the
    installation URL, `sub` the user, `iat`/`exp` minutes apart. Every signer of a process
    shares one key (so the backend's settings and the harness agree) unless `fresh_key`.
    """

    DEFAULT_INSTALLATION = 4242

    def __init__(
        self,
        zendesk_url: str,
        installation_id: int = DEFAULT_INSTALLATION,
        *,
        fresh_key: bool = False,
    ) -> None:
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.zendesk_url = zendesk_url.rstrip("/")
        self.installation_id = installation_id
        self._private_key = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            if fresh_key
            else _process_key()
        )
        self.public_pem = _public_pem(self._private_key)

    @staticmethod
    def process_public_pem() -> str:
        """The PEM public key of this process's shared signing key (for backend settings)."""
        return _public_pem(_process_key())

    @property
    def issuer(self) -> str:
        """The account host, as Zendesk puts it in `iss`."""
        return urlsplit(self.zendesk_url).netloc

    @property
    def audience(self) -> str:
        """The installation URL, as Zendesk puts it in `aud`."""
        return f"{self.zendesk_url}/api/v2/apps/installations/{self.installation_id}.json"

    def sign(self, user_id: int, lifetime: int = 300, **overrides: Any) -> str:
        """A ZAF JWT for this user (`overrides` replace claims; None drops one)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": f"https://{self.issuer}/api/v2/users/{user_id}.json",
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "context": {"product": "support", "location": "ticket_sidebar"},
        }
        claims.update(overrides)
        claims = {key: value for key, value in claims.items() if value is not None}
        return jwt.encode(claims, self._private_key, algorithm="RS256")


def _public_pem(private_key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    return str(
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
