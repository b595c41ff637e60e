"""Apply needs Zendesk's right to edit the ticket, not only to see it (security review).

A light agent, or a custom role with `configuration.ticket_editing: false`, may read
guidance but must not make Guidepost write tags, fields or a note with the admin token
(https://developer.zendesk.com/api-reference/ticketing/account-configuration/custom_roles/,
https://support.zendesk.com/hc/en-us/articles/4408846501402).
"""

from __future__ import annotations

from typing import Any

import pytest
from api_helpers import PARKING_OFFER, RECONNECT_ELIGIBLE, TicketFactory, read_guidance
from fastapi.testclient import TestClient

from backend.authz import Agent, TicketAuthorizer
from backend.errors import ForbiddenError, ZendeskUnavailableError
from backend.settings import Settings
from backend.zendesk.fake_gateway import FakeGateway
from tooling.fake_directory import FakeDirectory
from tooling.testing import TEST_AGENT_ID, apply_body, build_auth_headers

READER = 501  # sees every ticket, may not edit (a light agent's rights)
EDITOR = 502  # a custom role that may edit
PLAIN = 503  # an agent without a custom role (plans without custom roles)
LIGHT = 504  # Zendesk's light agent: role_type 1
CHAT_ONLY = 509  # a chat-only agent without a custom role: role_type 2
LOST_ROLE = 505  # their custom role is gone (404)
BROKEN_ROLE = 506  # their custom role cannot be read (Zendesk down)
NO_EDIT_ROLE, EDIT_ROLE, MISSING_ROLE, BROKEN_ROLE_ID = 31, 32, 33, 34
FORBIDDEN = "https://guidepost.dev/problems/forbidden"
FORBIDDEN_EDIT = FORBIDDEN + "-edit"


class BrokenRoleDirectory(FakeDirectory):
    """A directory whose read of one role fails as an unavailable Zendesk would."""

    def get_role_configuration(self, role_id: int) -> Any:
        if role_id == BROKEN_ROLE_ID:
            self.calls += 1
            raise ZendeskUnavailableError(f"role {role_id}: Zendesk unavailable")
        return super().get_role_configuration(role_id)


@pytest.fixture
def directory() -> FakeDirectory:
    """The admin test agent, and agents of every editing kind."""
    fake = BrokenRoleDirectory()
    fake.add_user(TEST_AGENT_ID, "admin")
    fake.add_role(NO_EDIT_ROLE, "all", ticket_editing=False)
    fake.add_role(EDIT_ROLE, "all", ticket_editing=True)
    fake.add_user(READER, custom_role_id=NO_EDIT_ROLE)
    fake.add_user(EDITOR, custom_role_id=EDIT_ROLE)
    fake.add_user(PLAIN)
    fake.add_user(LIGHT, custom_role_id=EDIT_ROLE, role_type=1)
    fake.add_user(CHAT_ONLY, role_type=2)
    fake.add_user(LOST_ROLE, custom_role_id=MISSING_ROLE)
    fake.add_user(BROKEN_ROLE, custom_role_id=BROKEN_ROLE_ID)
    return fake


def _headers(settings: Settings, user_id: int) -> dict[str, str]:
    return build_auth_headers(settings, sub=str(user_id))


def test_a_role_without_ticket_editing_reads_guidance_but_apply_is_403_and_writes_nothing(
    client: TestClient,
    settings: Settings,
    gateway: FakeGateway,
    tickets: TicketFactory,
) -> None:
    ticket_id = tickets.add(RECONNECT_ELIGIBLE, tags=("vip_customer",))
    reader = _headers(settings, READER)
    guidance = read_guidance(client, reader, ticket_id)  # reading is fine
    form = {"custom_fields": [], "tags": [], "subject": None, "description": None}
    posted = client.post(f"/v1/tickets/{ticket_id}/guidance", headers=reader, json=form)
    assert posted.status_code == 200, posted.text
    before = gateway.tickets[ticket_id]
    gateway.calls = 0

    response = client.post(
        f"/v1/tickets/{ticket_id}/apply", headers=reader, json=apply_body(guidance)
    )

    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == FORBIDDEN_EDIT
    assert problem["status"] == 403
    assert "may not edit tickets" in problem["detail"]
    # Nothing reached Zendesk: no write, no ledger claim, not even a read.
    assert gateway.calls == 0
    assert gateway.updates == []
    assert gateway.tickets[ticket_id] == before
    assert [c for c in gateway.comments[ticket_id] if not c.public] == []
    assert gateway.list_reconnections("7001") == []


def test_the_refusal_to_edit_is_its_own_kind_of_403(
    client: TestClient, settings: Settings, directory: FakeDirectory, tickets: TicketFactory
) -> None:
    """Same status and title as the 403 for a ticket the agent cannot see, its own type:
    the sidebar tells "may not edit" (guidance still shown) from "may not see"."""
    ticket_id = tickets.add(PARKING_OFFER)
    guidance = read_guidance(client, _headers(settings, READER), ticket_id)
    directory.add_user(507, custom_role_id=NO_EDIT_ROLE)
    directory.add_role(35, "assigned-only")
    directory.add_user(508, custom_role_id=35)
    cannot_edit = client.post(
        f"/v1/tickets/{ticket_id}/apply",
        headers=_headers(settings, 507),
        json=apply_body(guidance),
    ).json()
    cannot_see = client.post(
        f"/v1/tickets/{ticket_id}/apply",
        headers=_headers(settings, 508),
        json=apply_body(guidance),
    ).json()
    assert set(cannot_edit) == set(cannot_see)
    for key in ("title", "status"):
        assert cannot_edit[key] == cannot_see[key]
    assert cannot_see["type"] == FORBIDDEN
    assert cannot_edit["type"] == FORBIDDEN_EDIT
    assert "may not see" in cannot_see["detail"]


@pytest.mark.parametrize("user", ["admin", EDITOR, PLAIN])
def test_admins_editing_roles_and_agents_without_a_role_still_apply(
    client: TestClient,
    settings: Settings,
    headers: dict[str, str],
    gateway: FakeGateway,
    tickets: TicketFactory,
    user: int | str,
) -> None:
    ticket_id = tickets.add(PARKING_OFFER)
    agent = headers if user == "admin" else _headers(settings, int(user))
    guidance = read_guidance(client, agent, ticket_id)
    response = client.post(
        f"/v1/tickets/{ticket_id}/apply", headers=agent, json=apply_body(guidance)
    )
    assert response.status_code == 200, response.text
    assert response.json()["applied"] is True
    assert len(gateway.updates) == 1


# A deleted role grants no access at all: refused as a ticket the agent may not see.
@pytest.mark.parametrize(
    ("user", "problem"),
    [(LIGHT, FORBIDDEN_EDIT), (CHAT_ONLY, FORBIDDEN_EDIT), (LOST_ROLE, FORBIDDEN)],
)
def test_light_agents_and_unknown_roles_may_not_apply(
    client: TestClient,
    settings: Settings,
    headers: dict[str, str],
    gateway: FakeGateway,
    tickets: TicketFactory,
    user: int,
    problem: str,
) -> None:
    ticket_id = tickets.add(PARKING_OFFER)
    guidance = read_guidance(client, headers, ticket_id)
    gateway.calls = 0
    response = client.post(
        f"/v1/tickets/{ticket_id}/apply",
        headers=_headers(settings, user),
        json=apply_body(guidance),
    )
    assert response.status_code == 403, response.text
    assert response.json()["type"] == problem
    assert gateway.updates == []
    assert gateway.calls == 0


def test_a_role_whose_read_fails_is_refused_and_nothing_is_written(
    client: TestClient,
    settings: Settings,
    headers: dict[str, str],
    gateway: FakeGateway,
    tickets: TicketFactory,
) -> None:
    ticket_id = tickets.add(PARKING_OFFER)
    guidance = read_guidance(client, headers, ticket_id)
    response = client.post(
        f"/v1/tickets/{ticket_id}/apply",
        headers=_headers(settings, BROKEN_ROLE),
        json=apply_body(guidance),
    )
    assert response.status_code >= 500, response.text  # the Zendesk error, never access
    assert response.headers["content-type"] == "application/problem+json"
    assert gateway.updates == []


def test_the_editing_right_comes_with_the_one_read_of_the_role_and_is_cached(
    directory: FakeDirectory,
) -> None:
    """No Zendesk call of its own: the cached check decides apply as it decides guidance."""
    authorizer = TicketAuthorizer(directory, ttl=60)
    reader, editor = Agent(READER, "acme"), Agent(EDITOR, "acme")
    assert authorizer.check_cached(reader, 9, edit=True) is None  # nothing cached yet
    assert authorizer.check(reader, 9).may_edit is False
    assert directory.calls == 2  # the user and the role, once
    with pytest.raises(ForbiddenError, match="may not edit tickets"):
        authorizer.check_cached(reader, 9, edit=True)
    with pytest.raises(ForbiddenError, match="may not edit tickets"):
        authorizer.check(reader, 9, edit=True)
    assert authorizer.check_cached(reader, 9) is not None  # reading stays allowed
    assert authorizer.check(editor, 9, edit=True).may_edit is True
    assert directory.calls == 4  # the editor's user and role, once each
    assert authorizer.check_cached(editor, 10, edit=True) is not None
    assert authorizer.check(reader, 10).may_edit is False
    assert directory.calls == 4


def test_a_restricted_agent_is_refused_seeing_before_editing(directory: FakeDirectory) -> None:
    """An unseen ticket answers 'may not see', whatever the editing right."""
    directory.add_role(36, "within-groups", ticket_editing=False)
    directory.add_user(509, custom_role_id=36, groups={1})
    directory.place_ticket(40, group_id=2)
    directory.place_ticket(41, group_id=1)
    authorizer = TicketAuthorizer(directory, ttl=60)
    agent = Agent(509, "acme")
    with pytest.raises(ForbiddenError, match="may not see"):
        authorizer.check(agent, 40, edit=True)
    with pytest.raises(ForbiddenError, match="may not edit"):
        authorizer.check(agent, 41, edit=True)
    assert authorizer.check(agent, 41).access == "groups"
