"""The typed error tree of Guidepost.

Every error the product can answer with lives here; the HTTP edge turns them into
problem+json (`backend.api.problems`, type `https://guidepost.dev/problems/<slug>`)
and the CLI into exit codes.

    GuidepostError                      500 internal
    ├── InputError                      422 invalid-input
    │   ├── FieldValueError             422 invalid-field-value
    │   ├── UnknownFieldError           422 unknown-field
    │   └── NothingToApplyError         422 nothing-to-apply
    ├── GuideDataError                  500 guide-data
    ├── AuthError                       401 unauthorized
    │   └── SessionExpiredError         401 session-expired
    ├── ForbiddenError                  403 forbidden
    │   └── EditForbiddenError          403 forbidden-edit
    ├── SettingsError                   500 settings
    ├── SourceDriftError                500 source-drift
    ├── DecisionChangedError            409 decision-changed
    ├── TicketClosedError               409 ticket-closed
    └── ZendeskError                    502 zendesk
        ├── TicketNotFoundError         404 ticket-not-found
        ├── NotFoundError               404 not-found
        ├── ConflictError               409 conflict
        │   └── BranchChangedError      409 branch-changed
        ├── RateLimitedError            503 rate-limited
        ├── ZendeskUnavailableError     502 zendesk-unavailable
        └── ZendeskRejectedError        502 zendesk-rejected
"""

from __future__ import annotations

from typing import Any


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


class SessionExpiredError(AuthError):
    """The Guidepost session token is past its bounded lifetime: reload the app."""

    title = "Session expired"
    slug = "session-expired"


class ForbiddenError(GuidepostError):
    """The agent may not see this ticket in Zendesk (or, for a write, may not edit it)."""

    status = 403
    title = "Forbidden"
    slug = "forbidden"


class EditForbiddenError(ForbiddenError):
    """The agent may see the ticket, but their Zendesk role may not edit it: nothing written."""

    slug = "forbidden-edit"


class DecisionChangedError(GuidepostError):
    """The decision re-read at apply time differs from the one the agent saw (C3)."""

    status = 409
    title = "Decision changed"
    slug = "decision-changed"

    def __init__(self, detail: str, decision: dict[str, Any]) -> None:
        super().__init__(detail)
        self.decision = decision


class TicketClosedError(GuidepostError):
    """A closed ticket cannot be updated in Zendesk."""

    status = 409
    title = "Ticket closed"
    slug = "ticket-closed"


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


class NothingToApplyError(InputError):
    """The decision has no guide, or only a suggested one: there is nothing to write back."""

    slug = "nothing-to-apply"
    title = "Nothing to apply"


class WriteNotHeldError(ZendeskRejectedError):
    """Zendesk answered 200 but the ticket it returned does not hold what was sent."""

    title = "Zendesk did not keep the update"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, 200)
