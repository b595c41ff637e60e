"""The directory's reading of a custom role's editing right fails closed.

Zendesk's Custom Agent Roles API: `configuration.ticket_editing` is a boolean, every
configuration property optional; `role_type` 1 is a light agent, who cannot edit ticket
properties (https://developer.zendesk.com/api-reference/ticketing/account-configuration/custom_roles/,
https://support.zendesk.com/hc/en-us/articles/4408846501402).
"""

from __future__ import annotations

from typing import Any

import pytest

from backend.authz import RoleConfiguration
from backend.zendesk.users import role_configuration, role_type_of


@pytest.mark.parametrize(
    ("role", "editing"),
    [
        (
            {
                "role_type": 0,
                "configuration": {
                    "ticket_access": "all",
                    "ticket_editing": True,
                    "ticket_tag_editing": True,
                },
            },
            True,
        ),
        (
            {"role_type": 0, "configuration": {"ticket_access": "all", "ticket_editing": False}},
            False,
        ),
        ({"role_type": 0, "configuration": {"ticket_access": "all"}}, False),  # not said
        # The write replaces tags: editing without tag editing is not enough, nor unsaid.
        (
            {"configuration": {"ticket_editing": True, "ticket_tag_editing": False}},
            False,
        ),
        ({"configuration": {"ticket_editing": True}}, False),
        ({"configuration": {"ticket_access": "all", "ticket_editing": None}}, False),
        ({"configuration": {"ticket_access": "all", "ticket_editing": "true"}}, False),
        ({"configuration": {"ticket_access": "all", "ticket_editing": 1}}, False),
        (
            {
                "role_type": 1,
                "configuration": {
                    "ticket_access": "all",
                    "ticket_editing": True,
                    "ticket_tag_editing": True,
                },
            },
            False,
        ),
        (
            {
                "role_type": "1",
                "configuration": {
                    "ticket_access": "all",
                    "ticket_editing": True,
                    "ticket_tag_editing": True,
                },
            },
            False,
        ),
        (
            {
                "configuration": {
                    "ticket_access": "all",
                    "ticket_editing": True,
                    "ticket_tag_editing": True,
                    "light_agent": True,
                }
            },
            False,
        ),
        ({"configuration": None}, False),
        (None, False),
        ("role", False),
    ],
)
def test_only_an_explicit_true_on_a_non_light_role_may_edit(role: Any, editing: bool) -> None:
    assert role_configuration(role).ticket_editing is editing


def test_the_ticket_access_comes_from_the_same_document() -> None:
    role = {
        "configuration": {
            "ticket_access": "within-groups",
            "ticket_editing": True,
            "ticket_tag_editing": True,
        }
    }
    assert role_configuration(role) == RoleConfiguration("within-groups", True)
    assert role_configuration({}) == RoleConfiguration("", False)


@pytest.mark.parametrize(
    ("value", "parsed"), [(1, 1), ("4", 4), (None, None), (True, None), ("x", None)]
)
def test_role_type_is_an_integer_or_unknown(value: Any, parsed: int | None) -> None:
    assert role_type_of(value) == parsed
