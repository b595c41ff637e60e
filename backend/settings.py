"""The one Settings object: every knob of Guidepost, read from GUIDEPOST_* env vars."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.errors import SettingsError
from backend.logs import register_secrets

REPO_ROOT = Path(__file__).resolve().parent.parent

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
    shared_secret: SecretStr = SecretStr("")
    jwt_issuer: str = "guidepost-zendesk-app"
    jwt_audience: str = "guidepost-backend"
    jwt_leeway_seconds: int = 30
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

    @field_validator("zendesk_url")
    @classmethod
    def check_zendesk_url(cls, value: str) -> str:
        """Accept only http(s) URLs with a host."""
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must look like https://acme.zendesk.com or http://127.0.0.1:8765")
        return value.rstrip("/")

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

    @property
    def zendesk_is_local(self) -> bool:
        """True when the configured Zendesk is plain http (the emulator)."""
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
        return host.split(".")[0]

    def model_post_init(self, context: Any, /) -> None:
        """Tell the log masking every secret value, so no log line can show one."""
        register_secrets(
            value.get_secret_value()
            for value in self.__dict__.values()
            if isinstance(value, SecretStr)
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (FastAPI dependency; tests override it)."""
    return Settings()
