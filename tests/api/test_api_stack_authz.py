"""Authorization against the emulator's users, roles and groups (real backend over HTTP).

The agents live in the emulator as Zendesk documents them (Users, Custom Agent Roles,
Group Memberships APIs); the backend reads them through ZenpyDirectory, as in production.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from api_helpers import PARKING_OFFER

from backend.demo import build_new_ticket
from backend.domain.fields import load_field_catalog
from backend.emulator.users import LIGHT_AGENT_ROLE, NO_EDITING_ROLE, NO_TAG_EDITING_ROLE
from backend.zendesk.zenpy_gateway import ZenpyGateway
from tooling.testing import Stack, apply_body, run_stack

TICKET_GROUP = 71
OTHER_GROUP = 72
FORBIDDEN = "https://guidepost.dev/problems/forbidden"
WRITE_METHODS = ("PUT ", "POST ", "DELETE ", "PATCH ")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One running stack: two group-restricted agents, one that may see but not edit."""
    with run_stack(tmp_path_factory.mktemp("authz")) as running:
        store = running.emulator.store
        role = store.create_custom_role(
            {"name": "Group agent", "configuration": {"ticket_access": "within-groups"}}
        )
        for name, group in (("inside", TICKET_GROUP), ("outside", OTHER_GROUP)):
            user = store.create_user({"name": name, "role": "agent", "custom_role_id": role["id"]})
            store.create_group_membership({"user_id": user["id"], "group_id": group})
            running.extra[name] = user["id"]
        # A light agent's rights (all tickets, `ticket_editing: false`), and a role that may
        # edit fields but not tags (`ticket_tag_editing: false`): the write replaces tags.
        # A light agent: the role's configuration grants editing (as a custom role's
        # might), only the user's `role_type` 1 says no. And an organization-scoped role,
        # which Guidepost does not serve (it reads no organizations): refused, closed.
        organization = {"name": "Org", "configuration": {"ticket_access": "within-organization"}}
        specs = (
            ("reader", NO_EDITING_ROLE),
            ("no_tags", NO_TAG_EDITING_ROLE),
            ("light", LIGHT_AGENT_ROLE),
            ("organization", organization),
        )
        for name, spec in specs:
            made = store.create_custom_role(spec)
            user = store.create_user({"name": name, "role": "agent", "custom_role_id": made["id"]})
            running.extra[name] = user["id"]
        yield running


@pytest.fixture(scope="module")
def http(stack: Stack) -> Iterator[httpx.Client]:
    """An HTTP client for the backend."""
    with httpx.Client(base_url=stack.backend_url, timeout=15.0) as client:
        yield client


def _group_ticket(stack: Stack) -> int:
    """A parking ticket in TICKET_GROUP, unassigned; counters zeroed afterwards."""
    catalog = load_field_catalog(stack.settings.guides_dir / "fields.yaml")
    ticket = {"subject": "문의", "description": "문의드립니다", "fields": PARKING_OFFER}
    new = build_new_ticket(ticket, catalog, stack.field_map)
    with ZenpyGateway.from_settings(stack.settings, wait_policy="batch") as gateway:
        ticket_id = gateway.create_ticket(new).id
    stack.emulator.store.update_ticket(ticket_id, {"group_id": TICKET_GROUP})
    stack.emulator.store.reset_counters()
    return ticket_id


def _headers(stack: Stack, agent: str) -> dict[str, str]:
    return stack.make_headers(sub=str(stack.extra[agent]))


def _writes(stack: Stack) -> dict[str, int]:
    routes: dict[str, int] = stack.emulator.store.counters()["by_route"]
    return {route: n for route, n in routes.items() if route.startswith(WRITE_METHODS)}


def test_an_agent_outside_the_tickets_group_is_refused_everywhere(
    http: httpx.Client, stack: Stack
) -> None:
    ticket_id = _group_ticket(stack)
    inside = http.get(f"/v1/tickets/{ticket_id}/guidance", headers=_headers(stack, "inside"))
    assert inside.status_code == 200, inside.text
    stack.emulator.store.reset_counters()
    outside = _headers(stack, "outside")
    form = {"custom_fields": [], "tags": [], "subject": None, "description": None}
    answers = [
        http.get(f"/v1/tickets/{ticket_id}/guidance", headers=outside),
        http.post(f"/v1/tickets/{ticket_id}/guidance", headers=outside, json=form),
        http.post(
            f"/v1/tickets/{ticket_id}/apply", headers=outside, json=apply_body(inside.json())
        ),
    ]
    for answer in answers:
        assert answer.status_code == 403, answer.text
        assert answer.json()["type"] == FORBIDDEN
    assert _writes(stack) == {}
    comments = stack.emulator.store.comments(ticket_id)
    assert len(comments) == 1  # the description only: no note


def test_the_note_of_an_apply_is_authored_by_the_applying_agent(
    http: httpx.Client, stack: Stack
) -> None:
    ticket_id = _group_ticket(stack)
    headers = _headers(stack, "inside")
    guidance = http.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers).json()
    response = http.post(
        f"/v1/tickets/{ticket_id}/apply", headers=headers, json=apply_body(guidance)
    )
    assert response.status_code == 200, response.text
    notes = [c for c in stack.emulator.store.comments(ticket_id) if not c["public"]]
    assert [c["author_id"] for c in notes] == [stack.extra["inside"]]
    # Read back through Zenpy, as Guidepost reads comments.
    with ZenpyGateway.from_settings(stack.settings, wait_policy="batch") as gateway:
        read = [c.author_id for c in gateway.list_comments(ticket_id) if not c.public]
    assert read == [stack.extra["inside"]]


@pytest.mark.parametrize("who", ["reader", "no_tags", "light"])
def test_a_role_without_ticket_editing_reads_but_cannot_apply(
    http: httpx.Client, stack: Stack, who: str
) -> None:
    """Guidance (GET and form POST) answers; apply is 403 and no write reaches Zendesk."""
    ticket_id = _group_ticket(stack)
    reader = _headers(stack, who)
    guidance = http.get(f"/v1/tickets/{ticket_id}/guidance", headers=reader)
    assert guidance.status_code == 200, guidance.text
    form = {"custom_fields": [], "tags": [], "subject": None, "description": None}
    posted = http.post(f"/v1/tickets/{ticket_id}/guidance", headers=reader, json=form)
    assert posted.status_code == 200, posted.text
    before = stack.emulator.store.get_ticket(ticket_id)
    stack.emulator.store.reset_counters()
    response = http.post(
        f"/v1/tickets/{ticket_id}/apply", headers=reader, json=apply_body(guidance.json())
    )
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == FORBIDDEN + "-edit"
    assert "may not edit tickets" in response.json()["detail"]
    assert _writes(stack) == {}
    assert stack.emulator.store.get_ticket(ticket_id) == before
    assert len(stack.emulator.store.comments(ticket_id)) == 1  # the description only


def test_an_organization_scoped_role_is_refused_every_ticket(
    http: httpx.Client, stack: Stack
) -> None:
    """`ticket_access: within-organization` is documented; Guidepost cannot check it."""
    ticket_id = _group_ticket(stack)
    answer = http.get(f"/v1/tickets/{ticket_id}/guidance", headers=_headers(stack, "organization"))
    assert answer.status_code == 403, answer.text
    assert answer.json()["type"] == FORBIDDEN
    assert _writes(stack) == {}


@pytest.mark.parametrize("how", ["cc", "requester"])
def test_a_group_agent_sees_a_ticket_outside_their_groups_they_are_cc_on_or_requested(
    http: httpx.Client, stack: Stack, how: str
) -> None:
    """Zendesk: "only agents who are members of that group can see the contents of the
    ticket, unless the agent is the requester or explicitly added as a CC or follower"
    (https://support.zendesk.com/hc/en-us/articles/4988173561370). Fails on the code
    before this change: only the group and the assignee were read."""
    ticket_id = _group_ticket(stack)
    outside = stack.extra["outside"]
    change = {"collaborator_ids": [outside]} if how == "cc" else {"requester_id": outside}
    stack.emulator.store.update_ticket(ticket_id, change)
    answer = http.get(f"/v1/tickets/{ticket_id}/guidance", headers=_headers(stack, "outside"))
    assert answer.status_code == 200, answer.text
