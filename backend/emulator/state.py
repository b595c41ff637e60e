"""The store's resettable state and the base every store part builds on."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from backend.emulator.shapes import (
    DEFAULT_RATE_LIMIT,
    JSON,
    Renderers,
)
from backend.emulator.user_seed import seed_users


@dataclass
class _State:
    """All resettable data; deep-copied to snapshot the initial seeded state."""

    tickets: dict[int, JSON] = field(default_factory=dict)
    comments: dict[int, list[JSON]] = field(default_factory=dict)
    fields: dict[int, JSON] = field(default_factory=dict)
    macros: dict[int, JSON] = field(default_factory=dict)
    articles: dict[int, dict[str, JSON]] = field(default_factory=dict)
    jobs: dict[str, JSON] = field(default_factory=dict)
    next_ticket_id: int = 1
    next_comment_id: int = 1_000_001
    next_audit_id: int = 5_000_001
    next_field_id: int = 360_000_000_001
    next_option_id: int = 361_000_000_001
    next_macro_id: int = 10_001
    rate_limit_per_minute: int = DEFAULT_RATE_LIMIT
    forms: dict[int, JSON] = field(default_factory=dict)
    next_form_id: int = 7_001
    custom_objects: dict[str, JSON] = field(default_factory=dict)
    next_custom_object_field_id: int = 8_001
    next_custom_object_record_id: int = 9_000_001
    # Users, custom roles, group memberships (backend/emulator/users.py).
    users: dict[int, JSON] = field(default_factory=seed_users)
    custom_roles: dict[int, JSON] = field(default_factory=dict)
    group_memberships: list[JSON] = field(default_factory=list)
    next_user_id: int = 1_002_001
    next_custom_role_id: int = 400_001
    next_membership_id: int = 500_001
    # Search index: ticket id → (indexed at, the ticket as the index holds it).
    index: dict[int, list[tuple[float, JSON]]] = field(default_factory=dict)


class StoreBase(Renderers):
    """Lock, state, clock and base URL shared by every part of the store."""

    _lock: threading.RLock
    _state: _State
    base_url: str
    _clock: Callable[[], float]
    _sleep: Callable[[float], None]

    def _resolve_base(self, base_url: str | None) -> str:
        """Pick the base URL for rendered links."""
        return (base_url or self.base_url).rstrip("/")

    def _now(self) -> int:
        """Current time in whole epoch seconds, by the store's clock."""
        return int(self._clock())

    def _bump(self, record: JSON) -> None:
        """Advance updated_at; strictly increasing even within one second."""
        record["updated_at"] = max(self._now(), int(record["updated_at"]) + 1)

    def _list_custom_fields(self) -> list[JSON]:
        """Custom (non-system) fields in id order."""
        return [f for _, f in sorted(self._state.fields.items()) if not f["system"]]
