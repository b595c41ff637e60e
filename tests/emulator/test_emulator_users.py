"""Users, custom roles and group memberships as Zendesk's API reference documents them."""

from __future__ import annotations

import pytest
from emulator_helpers import Api

from backend.authz import RoleConfiguration
from backend.emulator.server import EmulatorServer
from backend.emulator.store import AGENT_ID, CUSTOMER_ID
from backend.emulator.users import LIGHT_AGENT_ROLE, NO_EDITING_ROLE
from backend.zendesk.users import ZenpyDirectory
from backend.zendesk.zenpy_gateway import ZenpyGateway


def test_the_seeded_users_are_an_admin_and_an_end_user(api: Api) -> None:
    agent = api.get(f"/users/{AGENT_ID}.json").json()["user"]
    customer = api.get(f"/users/{CUSTOMER_ID}.json").json()["user"]
    assert (agent["role"], agent["custom_role_id"], agent["ticket_restriction"]) == (
        "admin",
        None,
        None,
    )
    assert customer["role"] == "end-user"
    assert api.get("/users/999.json").status_code == 404


def test_agents_roles_and_memberships_round_trip(api: Api) -> None:
    role = api.post(
        "/custom_roles.json",
        json={"custom_role": {"name": "Team", "configuration": {"ticket_access": "within-groups"}}},
    )
    assert role.status_code == 201
    role_id = role.json()["custom_role"]["id"]
    shown = api.get(f"/custom_roles/{role_id}.json").json()["custom_role"]
    assert shown["configuration"]["ticket_access"] == "within-groups"
    # Zendesk's default agent role may edit tickets; a role says so unless told otherwise.
    assert shown["configuration"]["ticket_editing"] is True
    assert shown["configuration"]["ticket_tag_editing"] is True
    user = api.post(
        "/users.json", json={"user": {"name": "Kim", "role": "agent", "custom_role_id": role_id}}
    ).json()["user"]
    for group in (5, 6):
        made = api.post(
            "/group_memberships.json",
            json={"group_membership": {"user_id": user["id"], "group_id": group}},
        )
        assert made.status_code == 201
    listed = api.get(f"/users/{user['id']}/group_memberships.json").json()
    assert [(m["group_id"], m["default"]) for m in listed["group_memberships"]] == [
        (5, True),
        (6, False),
    ]
    assert listed["next_page"] is None


@pytest.mark.parametrize(
    ("path", "body", "attribute"),
    [
        ("/users.json", {"user": {"name": "X", "role": "owner"}}, "role"),
        (
            "/users.json",
            {"user": {"name": "X", "ticket_restriction": "team"}},
            "ticket_restriction",
        ),
        (
            "/users.json",
            {"user": {"name": "X", "role": "agent", "custom_role_id": 9}},
            "custom_role_id",
        ),
        (
            "/custom_roles.json",
            {"custom_role": {"configuration": {"ticket_access": "x"}}},
            "ticket_access",
        ),
        (
            "/custom_roles.json",
            {"custom_role": {"configuration": {"ticket_editing": "no"}}},
            "ticket_editing",
        ),
        (
            "/group_memberships.json",
            {"group_membership": {"user_id": CUSTOMER_ID, "group_id": 5}},
            "user",
        ),
    ],
)
def test_invalid_users_roles_and_memberships_are_422(
    api: Api, path: str, body: dict[str, object], attribute: str
) -> None:
    response = api.post(path, json=body)
    assert response.status_code == 422
    assert attribute in response.json()["details"]


def test_the_directory_reads_the_emulator(emulator: EmulatorServer) -> None:
    store = emulator.store
    role = store.create_custom_role({"configuration": {"ticket_access": "assigned-only"}})
    user = store.create_user({"name": "Lee", "role": "agent", "custom_role_id": role["id"]})
    store.create_group_membership({"user_id": user["id"], "group_id": 8})
    gateway = ZenpyGateway(
        subdomain="emulator", email="agent@example.com", token="t", base_url=emulator.url
    )
    directory = ZenpyDirectory(gateway)
    profile = directory.get_user_profile(user["id"])
    assert (profile.role, profile.custom_role_id) == ("agent", role["id"])
    assert directory.get_role_configuration(role["id"]) == RoleConfiguration(
        ticket_access="assigned-only", ticket_editing=True
    )
    assert directory.list_group_ids(user["id"]) == frozenset({8})


def test_a_role_without_editing_rights_is_served_and_read_as_such(
    api: Api, emulator: EmulatorServer
) -> None:
    """`configuration.ticket_editing: false`: sees all tickets, may not edit them."""
    role = emulator.store.create_custom_role(NO_EDITING_ROLE)
    shown = api.get(f"/custom_roles/{role['id']}.json").json()["custom_role"]
    assert shown["configuration"]["ticket_access"] == "all"
    assert shown["configuration"]["ticket_editing"] is False
    gateway = ZenpyGateway(
        subdomain="emulator", email="agent@example.com", token="t", base_url=emulator.url
    )
    assert ZenpyDirectory(gateway).get_role_configuration(role["id"]) == RoleConfiguration(
        ticket_access="all", ticket_editing=False
    )


def test_users_carry_their_role_type_as_the_users_api_does(
    api: Api, emulator: EmulatorServer
) -> None:
    """Users API `role_type`: 1 light agent, 4 admin, the custom role's type, else null."""
    store = emulator.store
    light = store.create_custom_role(LIGHT_AGENT_ROLE)
    custom = store.create_custom_role({"name": "Agent", "configuration": {}})
    users = {
        "light": store.create_user({"name": "l", "role": "agent", "custom_role_id": light["id"]}),
        "custom": store.create_user({"name": "c", "role": "agent", "custom_role_id": custom["id"]}),
        "admin": store.create_user({"name": "a", "role": "admin"}),
        "plain": store.create_user({"name": "p", "role": "agent"}),
        "customer": store.create_user({"name": "e"}),
    }
    shown = {
        name: api.get(f"/users/{user['id']}.json").json()["user"]["role_type"]
        for name, user in users.items()
    }
    assert shown == {"light": 1, "custom": 0, "admin": 4, "plain": None, "customer": None}
    gateway = ZenpyGateway(
        subdomain="emulator", email="agent@example.com", token="t", base_url=emulator.url
    )
    profile = ZenpyDirectory(gateway).get_user_profile(users["light"]["id"])
    assert profile.role_type == 1
    invalid = api.post("/custom_roles.json", json={"custom_role": {"name": "x", "role_type": 7}})
    assert invalid.status_code == 422
