"""Per-ticket authorization that follows Zendesk's own: role, ticket access, groups.

An agent may act on a ticket through Guidepost only if Zendesk would show it to them
(Zendesk Users API: `role`, `custom_role_id`, `ticket_restriction`; Custom Agent
Roles API: `configuration.ticket_access`; Group Memberships API). Admins and agents
with access to all tickets pass without reading the ticket; restricted agents need the
ticket's group and assignee. A write (apply) also needs Zendesk's right to edit ticket
properties: admins always, agents without a custom role on tickets they can see, agents
with one only if its `configuration.ticket_editing` and `ticket_tag_editing` are true
(the write sets fields and replaces tags); light agents and chat-only agents never
(https://developer.zendesk.com/api-reference/ticketing/account-configuration/custom_roles/,
https://support.zendesk.com/hc/en-us/articles/4408846501402). Answers are cached for
`ttl` seconds; a failed read of a permission fails closed (ForbiddenError or the Zendesk
error, never access).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from backend.errors import EditForbiddenError, ForbiddenError, NotFoundError

TicketAccess = Literal["all", "groups", "assigned", "none"]

# Zendesk's custom role `configuration.ticket_access` values, mapped to what we enforce.
# "within-groups-and-public-groups" is enforced as groups only: we never read whether a
# group is public, so such an agent may be refused a public-group ticket (fails closed).
# "within-organization" is not mapped (no access): Guidepost reads no organizations, so
# such an agent is refused every ticket rather than shown one Zendesk would hide.
ROLE_TICKET_ACCESS: dict[str, TicketAccess] = {
    "all": "all",
    "within-groups": "groups",
    "within-groups-and-public-groups": "groups",
    "assigned-only": "assigned",
}
# `role_type` 1 is a light agent (Users and Custom Agent Roles APIs): light agents may add
# private comments but never edit ticket properties, whatever the role's configuration says.
LIGHT_AGENT_ROLE_TYPE = 1
# The `role_type`s of an agent who may edit (unsent, or 0: a custom agent role); 1 light,
# 2 and 3 chat-only agents and contributors never edit tickets (an allow-list: fails closed).
AGENT_ROLE_TYPES = frozenset({None, 0})
# The user's `ticket_restriction` (plans without custom roles): null means all tickets;
# "organization" and "requested" are end-user style restrictions Guidepost does not serve.
USER_TICKET_RESTRICTION: dict[str | None, TicketAccess] = {
    None: "all",
    "groups": "groups",
    "assigned": "assigned",
}


@dataclass(frozen=True)
class Agent:
    """The Zendesk user a verified session speaks for."""

    user_id: int
    account: str


@dataclass(frozen=True)
class UserProfile:
    """What Zendesk says about a user's role and ticket restriction."""

    id: int
    role: str
    custom_role_id: int | None
    ticket_restriction: str | None
    active: bool = True
    suspended: bool = False
    # The Users API's `role_type` (1: light agent); None when Zendesk sends none.
    role_type: int | None = None


@dataclass(frozen=True)
class RoleConfiguration:
    """What a custom role's `configuration` grants on tickets (one read of the role).

    `ticket_editing` is True only when Zendesk said so in as many words: a missing or
    unreadable value, or a light-agent role, is no right to edit (fails closed).
    """

    ticket_access: str
    ticket_editing: bool = False


@dataclass(frozen=True)
class TicketPlacement:
    """Where a ticket sits for access purposes: its group, assignee, requester and CCs."""

    ticket_id: int
    group_id: int | None
    assignee_id: int | None
    requester_id: int | None = None
    # Users CC'd on or following the ticket (collaborator, follower and email CC ids).
    party_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Permissions:
    """An agent's ticket access as enforced here, and whether Zendesk lets them edit tickets."""

    user_id: int
    access: TicketAccess
    group_ids: frozenset[int] = frozenset()
    may_edit: bool = False


class AgentDirectory(Protocol):
    """The Zendesk reads authorization needs (one call each)."""

    def get_user_profile(self, user_id: int) -> UserProfile:
        """Read a user (GET /api/v2/users/{id})."""
        ...

    def get_role_configuration(self, role_id: int) -> RoleConfiguration:
        """A custom role's ticket access and editing rights (GET /api/v2/custom_roles/{id})."""
        ...

    def list_group_ids(self, user_id: int) -> frozenset[int]:
        """The groups a user belongs to (GET /api/v2/users/{id}/group_memberships)."""
        ...

    def get_ticket_placement(self, ticket_id: int) -> TicketPlacement:
        """A ticket's group and assignee (GET /api/v2/tickets/{id})."""
        ...


T = TypeVar("T")


class _TTLCache:
    """A small thread-safe cache whose entries expire after `ttl` seconds."""

    def __init__(self, ttl: float, clock: Callable[[], float]) -> None:
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[object, tuple[float, object]] = {}

    def peek(self, key: object) -> tuple[bool, object]:
        """(True, value) when `key` holds a live entry, else (False, None); never loads."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return True, entry[1]
        return False, None

    def get_or_load(self, key: object, load: Callable[[], T]) -> T:
        """Return the cached value for `key`, loading it when absent or expired."""
        now = self._clock()  # the entry's age counts from before the load
        found, cached = self.peek(key)
        if found:
            return cached  # type: ignore[return-value]
        value = load()
        if self.ttl > 0:
            with self._lock:
                if len(self._entries) > 10_000:
                    self._entries.clear()  # bound memory; a refill costs one read per key
                self._entries[key] = (now + self.ttl, value)
        return value


def permissions_from(profile: UserProfile, role_access: str | None) -> TicketAccess:
    """The ticket access a profile grants (custom role first, then ticket_restriction)."""
    if not profile.active or profile.suspended:
        return "none"
    if profile.role == "admin":
        return "all"
    if profile.role != "agent":
        return "none"
    if profile.custom_role_id is not None:
        return ROLE_TICKET_ACCESS.get(role_access or "", "none")
    return USER_TICKET_RESTRICTION.get(profile.ticket_restriction, "none")


def editing_from(profile: UserProfile, role: RoleConfiguration | None) -> bool:
    """Whether Zendesk lets this profile edit ticket properties (on tickets it may see).

    Admins always; light agents never; an agent with a custom role only if the role's
    `configuration.ticket_editing` is true (an unread role: no); an agent without one
    (plans without custom roles) may edit what they can see.
    """
    if not profile.active or profile.suspended:
        return False
    if profile.role == "admin":
        return True
    if profile.role != "agent" or profile.role_type not in AGENT_ROLE_TYPES:
        return False
    if profile.custom_role_id is not None:
        return role is not None and role.ticket_editing is True
    return True


def may_see(permissions: Permissions, placement: TicketPlacement) -> bool:
    """True when an agent with these permissions may see a ticket so placed."""
    if permissions.access == "all":
        return True
    if placement.assignee_id is not None and placement.assignee_id == permissions.user_id:
        return True
    if permissions.access == "groups":
        # "only agents who are members of that group can see the contents of the ticket,
        # unless the agent is the requester or explicitly added as a CC or follower"
        # (https://support.zendesk.com/hc/en-us/articles/4988173561370).
        if permissions.user_id == placement.requester_id:
            return True
        if permissions.user_id in placement.party_ids:
            return True
        return placement.group_id is not None and placement.group_id in permissions.group_ids
    return False


class TicketAuthorizer:
    """Checks agents against tickets through an AgentDirectory, with a short cache."""

    def __init__(
        self,
        directory: AgentDirectory,
        ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory
        self._permissions = _TTLCache(ttl, clock)
        self._roles = _TTLCache(ttl, clock)
        self._placements = _TTLCache(ttl, clock)

    def permissions(self, user_id: int) -> Permissions:
        """The agent's permissions (1 call; +1 for a custom role; +1 for group access)."""
        return self._permissions.get_or_load(user_id, lambda: self._load_permissions(user_id))

    def _load_permissions(self, user_id: int) -> Permissions:
        try:
            profile = self.directory.get_user_profile(user_id)
        except NotFoundError:
            # A user Zendesk does not know (deleted since the session began): no access.
            return Permissions(user_id=user_id, access="none")
        role: RoleConfiguration | None = None
        if profile.role == "agent" and profile.custom_role_id is not None:
            role_id = profile.custom_role_id
            try:
                # One read of the role gives both its ticket access and its editing right.
                role = self._roles.get_or_load(
                    role_id, lambda: self.directory.get_role_configuration(role_id)
                )
            except NotFoundError:
                # A role Zendesk does not know (deleted since): no access, no editing.
                role = RoleConfiguration(ticket_access="", ticket_editing=False)
        access = permissions_from(profile, None if role is None else role.ticket_access)
        groups = self.directory.list_group_ids(user_id) if access == "groups" else frozenset()
        may_edit = access != "none" and editing_from(profile, role)
        return Permissions(user_id=user_id, access=access, group_ids=groups, may_edit=may_edit)

    def check(self, agent: Agent, ticket_id: int, *, edit: bool = False) -> Permissions:
        """Return the agent's permissions if they may see the ticket; ForbiddenError otherwise.

        With `edit`, Zendesk must also let them edit its properties (a write is asked).
        """
        allowed = self._verdict(
            agent,
            ticket_id,
            self.permissions(agent.user_id),
            lambda: self._placements.get_or_load(
                ticket_id, lambda: self.directory.get_ticket_placement(ticket_id)
            ),
            edit,
        )
        if allowed is None:  # never: the placement is always loaded here
            raise _refusal(agent, ticket_id)
        return allowed

    def check_cached(
        self, agent: Agent, ticket_id: int, *, edit: bool = False
    ) -> Permissions | None:
        """`check` from cached answers alone; None when it needs a Zendesk read.

        Lets an async caller skip the thread hop `check` needs for its possible reads.
        """
        found, permissions = self._permissions.peek(agent.user_id)
        if not found or not isinstance(permissions, Permissions):
            return None

        def cached_placement() -> TicketPlacement | None:
            known, placement = self._placements.peek(ticket_id)
            return placement if known and isinstance(placement, TicketPlacement) else None

        return self._verdict(agent, ticket_id, permissions, cached_placement, edit)

    @staticmethod
    def _verdict(
        agent: Agent,
        ticket_id: int,
        permissions: Permissions,
        placement_of: Callable[[], TicketPlacement | None],
        edit: bool,
    ) -> Permissions | None:
        """The one access rule: permissions if allowed, None if the placement is unknown.

        Seeing first (its refusal names the ticket), then, for a write, editing.
        """
        if permissions.access != "all":
            if permissions.access == "none":
                raise _refusal(agent, ticket_id)
            placement = placement_of()
            if placement is None:
                return None
            if not may_see(permissions, placement):
                raise _refusal(agent, ticket_id)
        if edit and not permissions.may_edit:
            raise _edit_refusal(agent, ticket_id)
        return permissions


def _refusal(agent: Agent, ticket_id: int) -> ForbiddenError:
    """The 403 of an agent Zendesk would not show the ticket to."""
    return ForbiddenError(f"agent {agent.user_id} may not see ticket {ticket_id} in Zendesk")


def _edit_refusal(agent: Agent, ticket_id: int) -> EditForbiddenError:
    """The 403 of an agent who may see the ticket but whose Zendesk role may not edit it."""
    return EditForbiddenError(
        f"agent {agent.user_id} may see ticket {ticket_id} but their Zendesk role may not "
        "edit tickets: nothing was written"
    )
