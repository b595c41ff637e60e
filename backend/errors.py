"""The typed error tree of Guidepost.

Every error the product can answer with lives here; the HTTP edge turns them into
problem+json (`backend.api.problems`) and the CLI into exit codes.
"""

from __future__ import annotations


class GuidepostError(Exception):
    """Base of every error Guidepost raises on purpose."""

    status: int = 500
    title: str = "Internal error"
    slug: str = "internal"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InputError(GuidepostError):
    """Bad input from a caller (CLI file, HTTP body, ticket field value)."""

    status = 422
    title = "Invalid input"
    slug = "invalid-input"

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.field = field


class FieldValueError(InputError):
    """One field's value is malformed (plate, call id, amount, date, option code…)."""

    slug = "invalid-field-value"

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}", field=field)
        self.problem = problem


class UnknownFieldError(InputError):
    """A field key that no guide knows."""

    slug = "unknown-field"

    def __init__(self, field: str) -> None:
        super().__init__(f"{field}: unknown field key", field=field)


class GuideDataError(GuidepostError):
    """The guide data under macros/ is inconsistent (caught by `guides check`)."""

    title = "Guide data error"
    slug = "guide-data"


class AuthError(GuidepostError):
    """Missing, expired, forged or misaddressed credentials."""

    status = 401
    title = "Unauthorized"
    slug = "unauthorized"


class SettingsError(GuidepostError):
    """Settings missing or left at a placeholder value."""

    title = "Configuration error"
    slug = "settings"


class ZendeskError(GuidepostError):
    """Base of every failure talking to Zendesk."""

    status = 502
    title = "Zendesk error"
    slug = "zendesk"


class TicketNotFoundError(ZendeskError):
    """Zendesk says the ticket does not exist."""

    status = 404
    title = "Ticket not found"
    slug = "ticket-not-found"


class NotFoundError(ZendeskError):
    """Zendesk answered 404 for a resource other than a ticket."""

    status = 404
    title = "Not found"
    slug = "not-found"


class ConflictError(ZendeskError):
    """The ticket changed since it was read (safe_update 409)."""

    status = 409
    title = "Ticket changed"
    slug = "conflict"


class BranchChangedError(ConflictError):
    """The ticket changed and the decision no longer holds the requested branch."""

    slug = "branch-changed"


class RateLimitedError(ZendeskError):
    """Zendesk rate-limits longer than the caller may wait."""

    status = 503
    title = "Zendesk rate limit"
    slug = "rate-limited"

    def __init__(self, detail: str, retry_after: float) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class ZendeskUnavailableError(ZendeskError):
    """Zendesk failed (5xx, timeout, dropped connection) after the allowed retries."""

    status = 502
    title = "Zendesk unavailable"
    slug = "zendesk-unavailable"


class ZendeskRejectedError(ZendeskError):
    """Zendesk refused the request (4xx other than 404/409/429)."""

    status = 502
    title = "Zendesk rejected the request"
    slug = "zendesk-rejected"

    def __init__(self, detail: str, upstream_status: int) -> None:
        super().__init__(detail)
        self.upstream_status = upstream_status


class SourceDriftError(GuidepostError):
    """A guide's source Help Center article changed since the guide was written."""

    title = "Source article changed"
    slug = "source-drift"


class WriteNotHeldError(ZendeskRejectedError):
    """Zendesk answered 200 but the ticket it returned does not hold what was sent."""

    title = "Zendesk did not keep the update"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, 200)
