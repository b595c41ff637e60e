"""The one Settings object: every knob of Guidepost, read from GUIDEPOST_* env vars."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.errors import SettingsError
from backend.logs import register_secrets

REPO_ROOT = Path(__file__).resolve().parent.parent

# One account subdomain (letters, digits, hyphens) under zendesk.com.
_ZENDESK_HOST_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.zendesk\.com")
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

# Values that mean "somebody copied .env.example and did not fill it in".
PLACEHOLDER_SECRETS = frozenset(
    {"", "change-me", "changeme", "secret", "placeholder", "xxx", "todo", "<secret>"}
)


class Settings(BaseSettings):
    """Guidepost settings; secrets are SecretStr and never logged."""

    model_config = SettingsConfigDict(
        env_prefix="GUIDEPOST_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    zendesk_url: str = Field("http://127.0.0.1:8765", description="https://acme.zendesk.com")
    zendesk_email: str = "agent@example.com"
    zendesk_token: SecretStr = SecretStr("")
    # Legacy: the browser-built HS256 token (ERRATA 3) is no longer accepted by the API;
    # only the local harness and the app package still read these three.
    shared_secret: SecretStr = SecretStr("")
    jwt_issuer: str = "guidepost-zendesk-app"
    jwt_audience: str = "guidepost-backend"
    jwt_leeway_seconds: int = 30
    # Identity vouched for by Zendesk (docs/SECURITY.md): the ZAF JWT Zendesk signs (RS256)
    # when `signedUrls` is on, checked with the app's public key
    # (GET /api/v2/apps/{app_id}/public_key.pem).
    zaf_public_key: str = Field("", description="PEM of the Zendesk app's public key")
    zaf_app_id: int = 0
    zaf_installation_id: int = 0
    # Guidepost's own session token, minted after that check (HS256, server-side key).
    session_secret: SecretStr = SecretStr("")
    session_lifetime_seconds: int = Field(900, ge=60, le=3600)
    session_audience: str = "guidepost-api"
    # Where the signed-URL entry (POST /app/sidebar) sends the browser, and what the API
    # serves under /app/assets/ (the sidebar's files, with the translations and Garden CSS
    # the package adds: backend/app_files.py; empty = not served, API only). A folder that
    # lacks them stops the backend at startup.
    app_page_url: str = "/app/assets/iframe.html"
    app_assets_dir: Path | None = REPO_ROOT / "zendesk_app" / "assets"
    # How long an agent's Zendesk permissions are trusted before they are read again.
    authz_cache_seconds: float = Field(60.0, ge=0, le=600)
    # Ask search for 강제재연결 written back before the ledger existed, when the ledger holds
    # nothing for a 원콜 (2 Zendesk calls instead of 1). Turn off once every such 원콜 is past
    # its migration window (docs/BENCHMARKS.md "Zendesk calls per handled ticket").
    reconnection_search_fallback: bool = True
    # How long loads from the open form and apply reuse a 원콜's reconnection history (ledger +
    # search) read by an earlier load; the first load (GET) always reads it again; an
    # eligible apply reads the ledger from Zendesk (backend/zendesk/read_cache.py).
    guidance_history_cache_seconds: float = Field(30.0, ge=0, le=300)
    # How long apply may reuse the ticket record its guidance read (only while the ticket's
    # updated_at is unchanged; the write's safe_update refuses a changed ticket).
    ticket_record_cache_seconds: float = Field(900.0, ge=0, le=3600)
    # HTTP edge (backend/api/server.py).
    http_header_timeout_seconds: float = Field(5.0, gt=0, le=60)
    http_body_timeout_seconds: float = Field(10.0, gt=0, le=120)
    http_max_concurrency: int = Field(64, ge=1, le=10_000)
    # uvicorn's HTTP parser: httptools (C) or h11 (pure Python), both guarded (api/edge.py).
    http_parser: Literal["httptools", "h11"] = "httptools"
    # asyncio by default: under uvloop an accept error libuv cannot absorb closes the
    # listener for good, unlogged; asyncio logs it (edge.AcceptErrorLog) and accepts again.
    http_loop: Literal["asyncio", "uvloop"] = "asyncio"
    field_map: Path = REPO_ROOT / "var" / "field_map.json"
    admin_call_url: str = "https://admin.example/calls/{call_id}"
    guides_dir: Path = REPO_ROOT / "macros"
    # Help Center article id of each guide's source, per deployment (the seeds carry none).
    article_ids: dict[str, int] = {"parking_onsite_payment": 1001, "force_reconnect": 1002}
    help_center_locale: str = "ko"
    macro_group_ids: list[int] = []
    zendesk_timeout_seconds: float = 10.0
    # How long a sidebar request may wait out a 429 before answering 503.
    interactive_max_wait_seconds: float = 3.0
    batch_max_wait_seconds: float = 600.0
    retries: int = 3
    log_level: str = "INFO"
    cors_origins: list[str] = []
    # The backend's public https URL; `make app` puts its host in the app's domainWhitelist.
    backend_url: str = ""
    # Admin-system connectors (backend/connectors): None = no connector (nothing is fetched).
    connectors_file: Path | None = None
    # host or host:port entries a connector may call; anything else is refused.
    connector_hosts: list[str] = []
    # The longest a guidance request waits for every connector together.
    connector_budget_seconds: float = Field(1.0, gt=0, le=10)
    # Secrets a connector's `auth.secret` names, e.g. {"parking_admin": "…"}.
    connector_secrets: dict[str, SecretStr] = {}
    # Ticket forms that must show the fields `fields bootstrap` creates (multi-form accounts).
    ticket_form_ids: list[int] = []

    @field_validator("zendesk_url")
    @classmethod
    def check_zendesk_url(cls, value: str) -> str:
        """Accept `https://<subdomain>.zendesk.com`, or `http://` on loopback (the emulator).

        The API of an account lives at its zendesk.com subdomain even when its Help
        Center or agent UI is host-mapped (e.g. support.acme.com): a host-mapped URL
        here would send the token to the wrong host, so it is refused with the fix.
        """
        parts = urlsplit(value.strip())
        host = (parts.hostname or "").lower()
        if parts.scheme == "https" and _ZENDESK_HOST_RE.fullmatch(host) and not parts.port:
            if parts.path.strip("/") or parts.query or parts.fragment:
                raise ValueError(f"must be the bare account URL https://{host}, not a page")
            return f"https://{host}"
        if parts.scheme == "http" and host in _LOOPBACK_HOSTS:
            return value.strip().rstrip("/")
        raise ValueError(
            "must be https://<subdomain>.zendesk.com (the account's own subdomain, even "
            "when its Help Center is host-mapped to another domain), or http://127.0.0.1:PORT "
            f"for the local emulator; got {value!r}"
        )

    @field_validator("app_assets_dir", mode="before")
    @classmethod
    def check_app_assets_dir(cls, value: Any) -> Any:
        """An empty value means "serve no app files" (not the working directory)."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return value

    @field_validator("admin_call_url")
    @classmethod
    def check_admin_call_url(cls, value: str) -> str:
        """The admin URL pattern must contain the {call_id} slot."""
        if "{call_id}" not in value:
            raise ValueError("must contain {call_id}")
        return value

    def require_secrets(self, *names: str) -> None:
        """Fail fast when a secret the caller needs is empty or a placeholder."""
        for name in names:
            secret = getattr(self, name)
            assert isinstance(secret, SecretStr)
            if secret.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
                raise SettingsError(
                    f"GUIDEPOST_{name.upper()} is empty or a placeholder; "
                    "set a real value (see .env.example)"
                )
        if "shared_secret" in names and len(self.shared_secret.get_secret_value()) < 16:
            raise SettingsError("GUIDEPOST_SHARED_SECRET must be at least 16 characters")
        if "session_secret" in names and len(self.session_secret.get_secret_value()) < 32:
            raise SettingsError("GUIDEPOST_SESSION_SECRET must be at least 32 characters")

    def require_zaf_identity(self) -> None:
        """Fail fast unless the Zendesk app's public key and installation are configured."""
        if "BEGIN PUBLIC KEY" not in self.zaf_public_key:
            raise SettingsError("GUIDEPOST_ZAF_PUBLIC_KEY must hold the app's PEM public key")
        if self.zaf_installation_id <= 0:
            raise SettingsError("GUIDEPOST_ZAF_INSTALLATION_ID must be the app installation's id")

    @property
    def zaf_issuer(self) -> str:
        """The `iss` of Zendesk's app JWT: the account's host, e.g. acme.zendesk.com."""
        return self.zendesk_netloc

    @property
    def zaf_audience(self) -> str:
        """The `aud` of Zendesk's app JWT: the installation's API URL."""
        return f"{self.zendesk_url}/api/v2/apps/installations/{self.zaf_installation_id}.json"

    @property
    def zendesk_is_local(self) -> bool:
        """True when the configured Zendesk is the emulator (http on loopback)."""
        return self.zendesk_url.startswith("http://")

    @property
    def zendesk_netloc(self) -> str:
        """host[:port] of the configured Zendesk."""
        return urlsplit(self.zendesk_url).netloc

    @property
    def zendesk_subdomain(self) -> str:
        """The subdomain zenpy needs (any non-empty string for the emulator)."""
        host = urlsplit(self.zendesk_url).hostname or ""
        if self.zendesk_is_local:
            return "emulator"
        return host.removesuffix(".zendesk.com")

    def model_post_init(self, context: Any, /) -> None:
        """Tell the log masking every secret value, so no log line can show one."""
        register_secrets(
            value.get_secret_value()
            for value in self.__dict__.values()
            if isinstance(value, SecretStr)
        )
        # Secrets held in a mapping (each connector's own) are masked one by one too.
        register_secrets(value.get_secret_value() for value in self.connector_secrets.values())
