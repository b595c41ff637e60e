"""`may_see`: the one access rule, case by case (Zendesk's documented ticket visibility)."""

from __future__ import annotations

import pytest

from backend.authz import Permissions, TicketPlacement, may_see

AGENT = 7
PLACEMENT = TicketPlacement(ticket_id=1, group_id=10, assignee_id=None)


@pytest.mark.parametrize(
    ("access", "placement", "seen"),
    [
        ("groups", PLACEMENT, False),
        ("groups", TicketPlacement(1, 20, None), True),
        ("groups", TicketPlacement(1, 10, AGENT), True),
        ("groups", TicketPlacement(1, 10, None, requester_id=AGENT), True),
        ("groups", TicketPlacement(1, 10, None, party_ids=frozenset({AGENT, 3})), True),
        ("groups", TicketPlacement(1, 10, None, party_ids=frozenset({3})), False),
        # Assigned-only and unserved roles stay closed: Zendesk's words on CCs are for groups.
        ("assigned", TicketPlacement(1, 10, None, party_ids=frozenset({AGENT})), False),
        ("none", TicketPlacement(1, 10, None, requester_id=AGENT), False),
        ("all", PLACEMENT, True),
    ],
)
def test_who_sees_a_ticket(access: str, placement: TicketPlacement, seen: bool) -> None:
    permissions = Permissions(user_id=AGENT, access=access, group_ids=frozenset({20}))  # type: ignore[arg-type]
    assert may_see(permissions, placement) is seen
