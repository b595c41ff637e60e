"""An in-memory `AgentDirectory` for tests: users, custom roles, groups, ticket placement."""

from __future__ import annotations

from dataclasses import dataclass, field

from backend.authz import RoleConfiguration, TicketPlacement, UserProfile
from backend.errors import NotFoundError, TicketNotFoundError


@dataclass
class FakeDirectory:
    """Zendesk's users/roles/memberships in dicts; `calls` counts the reads a real one sends.

    A role's `configuration.ticket_editing` is `role_editing[id]`; a role put in
    `role_access` alone has it true, as Zendesk's default agent role does.
    """

    users: dict[int, UserProfile] = field(default_factory=dict)
    role_access: dict[int, str] = field(default_factory=dict)
    role_editing: dict[int, bool] = field(default_factory=dict)
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
        role_type: int | None = None,
    ) -> UserProfile:
        """Put a user (and its group memberships) in place."""
        profile = UserProfile(
            user_id, role, custom_role_id, ticket_restriction, role_type=role_type
        )
        self.users[user_id] = profile
        self.memberships[user_id] = set(groups or ())
        return profile

    def add_role(
        self, role_id: int, ticket_access: str = "all", *, ticket_editing: bool = True
    ) -> None:
        """Put a custom role in place (`ticket_editing=False`: a light-agent-like role)."""
        self.role_access[role_id] = ticket_access
        self.role_editing[role_id] = ticket_editing

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

    def get_role_configuration(self, role_id: int) -> RoleConfiguration:
        """GET /custom_roles/{id} → configuration.ticket_access and .ticket_editing."""
        self.calls += 1
        if role_id not in self.role_access:
            raise NotFoundError(f"role {role_id}: not found")
        return RoleConfiguration(self.role_access[role_id], self.role_editing.get(role_id, True))

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
