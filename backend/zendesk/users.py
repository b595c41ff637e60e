"""`AgentDirectory` over the Zenpy gateway's guarded session: users, roles, memberships.

Each read is one GET through the same transport as the ticket calls (counted, bounded
waits, typed errors). Shapes: Zendesk Users API (`role`, `role_type`, `custom_role_id`,
`ticket_restriction`, `active`, `suspended`), Custom Agent Roles API
(`custom_role.role_type`, `custom_role.configuration.ticket_access` and
`.ticket_editing`, `.ticket_tag_editing`: https://developer.zendesk.com/api-reference/ticketing/account-configuration/custom_roles/),
Group Memberships API (`group_id`, offset pages with `next_page`), Tickets API
(`group_id`, `assignee_id`).
"""

from __future__ import annotations

from typing import Any

from backend.authz import LIGHT_AGENT_ROLE_TYPE, RoleConfiguration, TicketPlacement, UserProfile
from backend.errors import ZendeskUnavailableError
from backend.zendesk.zenpy_gateway import ZenpyGateway, path_and_query

MAX_MEMBERSHIP_PAGES = 10


def role_type_of(value: Any) -> int | None:
    """Zendesk's `role_type` (an integer, sometimes sent as a string); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def role_configuration(role: Any) -> RoleConfiguration:
    """A `custom_role` document's ticket access and editing right, failing closed.

    `ticket_editing` and `ticket_tag_editing` count only as the JSON boolean true; missing,
    null or any other value is no right to edit, and so is a light-agent role (`role_type` 1 or
    `configuration.light_agent` true): light agents cannot edit ticket properties.
    """
    role = role if isinstance(role, dict) else {}
    configuration = role.get("configuration")
    configuration = configuration if isinstance(configuration, dict) else {}
    light = (
        role_type_of(role.get("role_type")) == LIGHT_AGENT_ROLE_TYPE
        or configuration.get("light_agent") is True
    )
    # Guidepost's write sets fields and replaces tags: both rights, each said in as many words.
    edits = (
        configuration.get("ticket_editing") is True
        and configuration.get("ticket_tag_editing") is True
    )
    return RoleConfiguration(
        ticket_access=str(configuration.get("ticket_access") or ""),
        ticket_editing=edits and not light,
    )


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
            role_type=role_type_of(user.get("role_type")),
        )

    def get_role_configuration(self, role_id: int) -> RoleConfiguration:
        """Read a custom role's ticket access and editing right (1 call for both)."""
        data = self._get(f"/api/v2/custom_roles/{int(role_id)}.json", "other", f"role {role_id}")
        return role_configuration(data.get("custom_role"))

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
        """Where a ticket sits, as the gateway's TicketRecord carries it (1 call)."""
        record = self.gateway.get_ticket(ticket_id)
        return TicketPlacement(
            ticket_id=record.id,
            group_id=record.group_id,
            assignee_id=record.assignee_id,
            requester_id=record.requester_id,
            party_ids=record.party_ids,
        )
