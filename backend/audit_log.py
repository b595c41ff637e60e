"""The audit trail: one structured event per write-back (who, ticket, branch, outcome)."""

from __future__ import annotations

from backend.logs import get_logger

AUDIT_EVENT = "write_back"


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
    get_logger("guidepost.audit").info(
        AUDIT_EVENT,
        agent_id=agent_id,
        ticket_id=ticket_id,
        guide=guide,
        branch=branch,
        outcome=outcome,
        fingerprint=fingerprint,
        applied=applied,
    )
