"""The audit trail: structured events per write-back (who, ticket, branch, outcome).

Each apply logs `write_back_requested` before anything is written (so a write that lands
and then fails, or a process that dies mid-write, still leaves the agent's request on
record, and a log sink that fails refuses the write), then `write_back` with what was
decided and applied, or `write_back_failed` with the error; an apply the agent's Zendesk
permissions refuse logs `write_back_refused`.
"""

from __future__ import annotations

from backend.errors import GuidepostError
from backend.logs import get_logger

AUDIT_EVENT = "write_back"
REQUESTED_EVENT = "write_back_requested"
FAILED_EVENT = "write_back_failed"
REFUSED_EVENT = "write_back_refused"


def _audit(level: str, event: str, **fields: object) -> None:
    """Write one audit event."""
    getattr(get_logger("guidepost.audit"), level)(event, **fields)


def record_write_back_requested(
    *, agent_id: int, ticket_id: int, branch: str, fingerprint: str | None
) -> None:
    """Log an agent's apply before Guidepost writes anything (the branch and fingerprint seen)."""
    _audit(
        "info",
        REQUESTED_EVENT,
        agent_id=agent_id,
        ticket_id=ticket_id,
        branch=branch,
        fingerprint=fingerprint,
    )


def record_write_back(
    *,
    agent_id: int,
    ticket_id: int,
    guide: str | None,
    branch: str,
    outcome: str,
    fingerprint: str,
    applied: bool,
) -> None:
    """Log one write-back (also when it was already applied: the agent still asked)."""
    _audit(
        "info",
        AUDIT_EVENT,
        agent_id=agent_id,
        ticket_id=ticket_id,
        guide=guide,
        branch=branch,
        outcome=outcome,
        fingerprint=fingerprint,
        applied=applied,
    )


def record_write_back_failed(
    *, agent_id: int, ticket_id: int, branch: str, error: BaseException
) -> None:
    """Log an apply that ended in an error (part of it may have reached Zendesk)."""
    status = error.status if isinstance(error, GuidepostError) else 500
    _audit(
        "warning",
        FAILED_EVENT,
        agent_id=agent_id,
        ticket_id=ticket_id,
        branch=branch,
        error=type(error).__name__,
        status=status,
    )


def record_write_back_refused(*, agent_id: int, ticket_id: int, error: GuidepostError) -> None:
    """Log an apply Zendesk's permissions refused before anything was read or written."""
    _audit("warning", REFUSED_EVENT, agent_id=agent_id, ticket_id=ticket_id, reason=error.slug)
