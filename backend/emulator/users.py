"""Users, custom agent roles and group memberships: what authorization reads.

Shapes and values follow Zendesk's API reference:
- Users (https://developer.zendesk.com/api-reference/ticketing/users/users/): `role` is
  "end-user" | "agent" | "admin"; `custom_role_id` (agents on Enterprise plans);
  `ticket_restriction` is "organization" | "groups" | "assigned" | "requested" | null;
  `active`, `suspended`; `role_type` (0 custom agent, 1 light agent, 2 chat agent, 3
  contributor, 4 admin; null otherwise). `POST /api/v2/users` creates one (201).
- Custom Agent Roles (https://developer.zendesk.com/api-reference/ticketing/account-configuration/custom_roles/):
  `GET /api/v2/custom_roles/{id}` → `{"custom_role": {"id", "name", "role_type",
  "configuration": {"ticket_access": "all" | "within-groups" |
  "within-groups-and-public-groups" | "within-organization" | "assigned-only",
  "ticket_editing": true | false,
  "ticket_tag_editing": true | false,
  ...}}}`; `POST /api/v2/custom_roles` creates one. `ticket_editing` ("whether the agent
  can edit ticket properties") defaults to true, as on Zendesk's default agent role;
  false makes a role like a light agent's, which cannot edit ticket properties
  (https://support.zendesk.com/hc/en-us/articles/4408846501402).
- Group Memberships (https://developer.zendesk.com/api-reference/ticketing/groups/group_memberships/):
  `GET /api/v2/users/{user_id}/group_memberships` → `{"group_memberships": [{"id",
  "user_id", "group_id", "default", ...}], "next_page", "previous_page", "count"}`;
  `POST /api/v2/group_memberships` (`{"group_membership": {"user_id", "group_id"}}`, 201).
The seeded account has the API agent (an admin) and the demo customer (an end-user).
"""

from __future__ import annotations

from backend.emulator.shapes import AGENT_ID, JSON, make_not_found, make_record_invalid
from backend.emulator.state import StoreBase
from backend.emulator.user_seed import STAMP, user_record

ROLES = ("end-user", "agent", "admin")
TICKET_RESTRICTIONS = (None, "organization", "groups", "assigned", "requested")
TICKET_ACCESS = (
    "all",
    "within-groups",
    "within-groups-and-public-groups",
    "within-organization",
    "assigned-only",
)
# Custom Agent Roles API `role_type`: "0 stands for a custom agent, 1 for a light agent, 2
# for a chat agent, 3 for a contributor"; Users API `role_type` adds 4 admin, 5 billing admin.
ROLE_TYPES = (0, 1, 2, 3)
ADMIN_ROLE_TYPE = 4
NO_EDITING_ROLE = {"name": "Light-agent-like", "configuration": {"ticket_editing": False}}
NO_TAG_EDITING_ROLE = {"name": "No tags", "configuration": {"ticket_tag_editing": False}}
# The Light Agent role (the add-on's system role); its configuration is left as a custom
# role's would be, so only `role_type` says "light agent" (what the backend must read).
LIGHT_AGENT_ROLE = {"name": "Light Agent", "role_type": 1, "configuration": {}}


class UsersMixin(StoreBase):
    """Users, custom roles and group memberships."""

    def create_user(self, spec: JSON, *, base_url: str | None = None) -> JSON:
        """POST /users: validate role, custom role and ticket restriction (422 otherwise)."""
        role = spec.get("role", "end-user")
        if role not in ROLES:
            raise make_record_invalid("role", f"Role: {role!r} is not valid")
        restriction = spec.get("ticket_restriction")
        if restriction not in TICKET_RESTRICTIONS:
            raise make_record_invalid("ticket_restriction", "Ticket restriction: is invalid")
        name = spec.get("name")
        if not isinstance(name, str) or not name.strip():
            raise make_record_invalid("name", "Name: cannot be blank", "BlankValue")
        with self._lock:
            role_id = spec.get("custom_role_id")
            if role_id is not None and int(role_id) not in self._state.custom_roles:
                raise make_record_invalid("custom_role_id", "Custom role: does not exist")
            user_id = self._state.next_user_id
            self._state.next_user_id += 1
            # Users API `role_type`: the agent's role (its custom role's type), 4 for an
            # admin, null for an end-user or an agent with no custom role.
            role_type = (
                ADMIN_ROLE_TYPE
                if role == "admin"
                else self._state.custom_roles[int(role_id)]["role_type"]
                if role == "agent" and role_id is not None
                else None
            )
            record = user_record(
                user_id,
                name,
                str(spec.get("email") or f"user{user_id}@emulator.invalid"),
                role,
                custom_role_id=int(role_id) if role_id is not None else None,
                role_type=role_type,
                ticket_restriction=restriction,
                active=bool(spec.get("active", True)),
                suspended=bool(spec.get("suspended", False)),
            )
            self._state.users[user_id] = record
            return self._render_user_record(record, self._resolve_base(base_url))

    def get_current_user(self, *, base_url: str | None = None) -> JSON:
        """Return the agent every request authenticates as."""
        return self.get_user(AGENT_ID, base_url=base_url)

    def get_user(self, user_id: int, *, base_url: str | None = None) -> JSON:
        """GET /users/{id} (404 RecordNotFound for an unknown user)."""
        with self._lock:
            record = self._state.users.get(int(user_id))
            if record is None:
                raise make_not_found()
            return self._render_user_record(record, self._resolve_base(base_url))

    def create_custom_role(self, spec: JSON) -> JSON:
        """POST /custom_roles: a role with `configuration.ticket_access` and `ticket_editing`.

        `create_custom_role(NO_EDITING_ROLE)` makes a role that sees all tickets but may
        not edit them (a light agent's rights, for demos and tests).
        """
        configuration = spec.get("configuration") or {}
        access = configuration.get("ticket_access", "all")
        if access not in TICKET_ACCESS:
            raise make_record_invalid("ticket_access", "Ticket access: is invalid")
        editing = configuration.get("ticket_editing", True)
        if not isinstance(editing, bool):
            raise make_record_invalid("ticket_editing", "Ticket editing: is invalid")
        tag_editing = configuration.get("ticket_tag_editing", True)
        if not isinstance(tag_editing, bool):
            raise make_record_invalid("ticket_tag_editing", "Ticket tag editing: is invalid")
        role_type = spec.get("role_type", 0)
        if role_type not in ROLE_TYPES:
            raise make_record_invalid("role_type", "Role type: is invalid")
        with self._lock:
            role_id = self._state.next_custom_role_id
            self._state.next_custom_role_id += 1
            role = {
                "id": role_id,
                "name": str(spec.get("name") or f"Role {role_id}"),
                "description": str(spec.get("description") or ""),
                "role_type": role_type,
                "configuration": {
                    **configuration,
                    "ticket_access": access,
                    "ticket_editing": editing,
                    "ticket_tag_editing": tag_editing,
                },
                "created_at": STAMP,
                "updated_at": STAMP,
            }
            self._state.custom_roles[role_id] = role
            return dict(role)

    def get_custom_role(self, role_id: int) -> JSON:
        """GET /custom_roles/{id} (404 for an unknown role)."""
        with self._lock:
            role = self._state.custom_roles.get(int(role_id))
            if role is None:
                raise make_not_found()
            return dict(role)

    def create_group_membership(self, spec: JSON, *, base_url: str | None = None) -> JSON:
        """POST /group_memberships: the user must be an agent or admin (422 otherwise)."""
        with self._lock:
            user = self._state.users.get(int(spec.get("user_id") or 0))
            if user is None or user["role"] == "end-user":
                raise make_record_invalid("user", "User: must be an agent")
            group_id = spec.get("group_id")
            if not isinstance(group_id, int) or group_id <= 0:
                raise make_record_invalid("group", "Group: cannot be blank", "BlankValue")
            membership_id = self._state.next_membership_id
            self._state.next_membership_id += 1
            membership = {
                "id": membership_id,
                "user_id": user["id"],
                "group_id": group_id,
                "default": not any(
                    m["user_id"] == user["id"] for m in self._state.group_memberships
                ),
            }
            self._state.group_memberships.append(membership)
            return self._render_membership(membership, self._resolve_base(base_url))

    def list_group_memberships(self, user_id: int, *, base_url: str | None = None) -> JSON:
        """GET /users/{id}/group_memberships (one page; 404 for an unknown user)."""
        with self._lock:
            if int(user_id) not in self._state.users:
                raise make_not_found()
            base = self._resolve_base(base_url)
            found = [
                self._render_membership(m, base)
                for m in self._state.group_memberships
                if m["user_id"] == int(user_id)
            ]
        return {
            "group_memberships": found,
            "next_page": None,
            "previous_page": None,
            "count": len(found),
        }

    @staticmethod
    def _render_membership(membership: JSON, base: str) -> JSON:
        return {
            **membership,
            "url": f"{base}/api/v2/group_memberships/{membership['id']}.json",
            "created_at": STAMP,
            "updated_at": STAMP,
        }

    @staticmethod
    def _render_user_record(record: JSON, base: str) -> JSON:
        return {
            **record,
            "url": f"{base}/api/v2/users/{record['id']}.json",
            "verified": True,
            "locale": "ko",
            "time_zone": "Seoul",
            "created_at": STAMP,
            "updated_at": STAMP,
        }
