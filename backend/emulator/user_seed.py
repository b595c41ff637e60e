"""The users every emulator account starts with (Zendesk Users API shape, stored form)."""

from __future__ import annotations

from typing import Any

from backend.emulator.shapes import (
    AGENT_EMAIL,
    AGENT_ID,
    AGENT_NAME,
    CUSTOMER_EMAIL,
    CUSTOMER_ID,
    CUSTOMER_NAME,
    JSON,
)

STAMP = "2024-01-01T00:00:00Z"


def seed_users() -> dict[int, JSON]:
    """The two users every emulator account starts with."""
    return {
        AGENT_ID: user_record(AGENT_ID, AGENT_NAME, AGENT_EMAIL, "admin"),
        CUSTOMER_ID: user_record(CUSTOMER_ID, CUSTOMER_NAME, CUSTOMER_EMAIL, "end-user"),
    }


def user_record(user_id: int, name: str, email: str, role: str, **extra: Any) -> JSON:
    """A user in the store's form (rendered with url and stamps on the way out)."""
    record: JSON = {
        "id": user_id,
        "name": name,
        "email": email,
        "role": role,
        "custom_role_id": None,
        "role_type": 4 if role == "admin" else None,
        "ticket_restriction": None,
        "active": True,
        "suspended": False,
    }
    record.update(extra)
    return record
