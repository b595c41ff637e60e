"""An in-memory `AgentDirectory` for tests: users, custom roles, groups, ticket placement."""

from __future__ import annotations

from dataclasses import dataclass, field

from backend.authz import TicketPlacement, UserProfile
from backend.errors import NotFoundError, TicketNotFoundError


@dataclass
class FakeDirectory:
    """Zendesk's users/roles/memberships in dicts; `calls` counts the reads a real one sends."""

    users: dict[int, UserProfile] = field(default_factory=dict)
    role_access: dict[int, str] = field(default_factory=dict)
    memberships: dict[int, set[int]] = field(default_factory=dict)
    placements: dict[int, TicketPlacement] = field(default_factory=dict)
    calls: int = 0

    def add_user(
        self,
        user_id: int,
        role: str = "agent",
        *,
        custom_role_id: int | None = None,
        ticket_restriction: str | None = None,
        groups: set[int] | None = None,
    ) -> UserProfile:
        """Put a user (and its group memberships) in place."""
        profile = UserProfile(user_id, role, custom_role_id, ticket_restriction)
        self.users[user_id] = profile
        self.memberships[user_id] = set(groups or ())
        return profile

    def place_ticket(
        self, ticket_id: int, group_id: int | None = None, assignee_id: int | None = None
    ) -> None:
        """Set a ticket's group and assignee."""
        self.placements[ticket_id] = TicketPlacement(ticket_id, group_id, assignee_id)

    def get_user_profile(self, user_id: int) -> UserProfile:
        """GET /users/{id}."""
        self.calls += 1
        if user_id not in self.users:
            raise NotFoundError(f"user {user_id}: not found")
        return self.users[user_id]

    def get_role_ticket_access(self, role_id: int) -> str:
        """GET /custom_roles/{id} → configuration.ticket_access."""
        self.calls += 1
        if role_id not in self.role_access:
            raise NotFoundError(f"role {role_id}: not found")
        return self.role_access[role_id]

    def list_group_ids(self, user_id: int) -> frozenset[int]:
        """GET /users/{id}/group_memberships."""
        self.calls += 1
        return frozenset(self.memberships.get(user_id, set()))

    def get_ticket_placement(self, ticket_id: int) -> TicketPlacement:
        """GET /tickets/{id} → group_id, assignee_id (unplaced tickets: no group, no assignee)."""
        self.calls += 1
        if ticket_id <= 0:
            raise TicketNotFoundError(f"ticket {ticket_id}: not found")
        return self.placements.get(ticket_id, TicketPlacement(ticket_id, None, None))
