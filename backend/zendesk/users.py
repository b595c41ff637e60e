"""`AgentDirectory` over the Zenpy gateway's guarded session: users, roles, memberships.

Each read is one GET through the same transport as the ticket calls (counted, bounded
waits, typed errors). Shapes: Zendesk Users API (`role`, `custom_role_id`,
`ticket_restriction`, `active`, `suspended`), Custom Agent Roles API
(`custom_role.configuration.ticket_access`), Group Memberships API (`group_id`,
offset pages with `next_page`), Tickets API (`group_id`, `assignee_id`).
"""

from __future__ import annotations

from typing import Any

from backend.authz import TicketPlacement, UserProfile
from backend.errors import ZendeskUnavailableError
from backend.zendesk.zenpy_gateway import ZenpyGateway, path_and_query

MAX_MEMBERSHIP_PAGES = 10


class ZenpyDirectory:
    """Reads what authorization needs, one counted GET each."""

    def __init__(self, gateway: ZenpyGateway) -> None:
        self.gateway = gateway

    def _get(self, path_or_url: str, resource: str, what: str) -> dict[str, Any]:
        # Raw JSON like the gateway's ticket read (`request_json`); a page link Zendesk
        # gave is followed by its path and query (its host is the gateway's own).
        path = path_or_url if path_or_url.startswith("/") else path_and_query(path_or_url)
        data = self.gateway.request_json(
            "GET", path, "ticket" if resource == "ticket" else "other", what
        )
        if not isinstance(data, dict):
            raise ZendeskUnavailableError(f"{what}: unexpected answer")
        return data

    def get_user_profile(self, user_id: int) -> UserProfile:
        """Read a user (1 call)."""
        user = self._get(f"/api/v2/users/{int(user_id)}.json", "other", f"user {user_id}")["user"]
        role_id = user.get("custom_role_id")
        return UserProfile(
            id=int(user["id"]),
            role=str(user.get("role") or ""),
            custom_role_id=int(role_id) if role_id is not None else None,
            ticket_restriction=user.get("ticket_restriction"),
            active=bool(user.get("active", True)),
            suspended=bool(user.get("suspended", False)),
        )

    def get_role_ticket_access(self, role_id: int) -> str:
        """Read a custom role's ticket access (1 call)."""
        data = self._get(f"/api/v2/custom_roles/{int(role_id)}.json", "other", f"role {role_id}")
        configuration = data.get("custom_role", {}).get("configuration") or {}
        return str(configuration.get("ticket_access") or "")

    def list_group_ids(self, user_id: int) -> frozenset[int]:
        """The user's groups (1 call per page of 100)."""
        url: str | None = f"/api/v2/users/{int(user_id)}/group_memberships.json?per_page=100"
        groups: set[int] = set()
        for _ in range(MAX_MEMBERSHIP_PAGES):
            if url is None:
                break
            data = self._get(url, "other", f"group memberships of user {user_id}")
            groups.update(int(m["group_id"]) for m in data.get("group_memberships", []))
            url = data.get("next_page")
        return frozenset(groups)

    def get_ticket_placement(self, ticket_id: int) -> TicketPlacement:
        """A ticket's group and assignee, as the gateway's TicketRecord carries them (1 call)."""
        record = self.gateway.get_ticket(ticket_id)
        return TicketPlacement(
            ticket_id=record.id, group_id=record.group_id, assignee_id=record.assignee_id
        )
