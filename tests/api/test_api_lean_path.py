"""The lean ticket path: one thread hop per request, cached permissions on the event loop,
responses validated once — with authorization deciding exactly as before."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from api_helpers import PARKING_OFFER, TicketFactory
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hop_counter import HopCounter
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from backend.api.deps import VerifiedSessions
from backend.api.schemas import GuidanceResponse
from backend.authz import Agent, Permissions, TicketAuthorizer
from backend.errors import AuthError, ForbiddenError
from backend.settings import Settings
from tooling.fake_directory import FakeDirectory
from tooling.testing import TEST_AGENT_ID

ROLES = ("admin", "agent", "end-user")
RESTRICTIONS = (None, "groups", "assigned", "organization")
ROLE_ACCESS = ("all", "within-groups", "assigned-only", "none-such")


def test_a_guidance_with_cached_permissions_hops_to_a_thread_once(
    async_app: FastAPI,
    headers: dict[str, str],
    tickets: TicketFactory,
    directory: FakeDirectory,
    hops: HopCounter,
) -> None:
    """First request: the permission read + the endpoint (2); then the endpoint only (1)."""
    ticket_id = tickets.add(PARKING_OFFER)
    counter = hops
    with TestClient(async_app) as client:
        hops = []
        for _ in range(3):
            before = counter.hops
            response = client.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers)
            assert response.status_code == 200
            hops.append(counter.hops - before)
    assert hops == [2, 1, 1]
    assert directory.calls == 1


def test_the_answer_is_the_response_model_as_json(
    client: TestClient, headers: dict[str, str], tickets: TicketFactory
) -> None:
    """Returned as pre-serialized JSON: the same document the response model describes."""
    ticket_id = tickets.add(PARKING_OFFER)
    response = client.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    adapter = TypeAdapter(GuidanceResponse)
    assert adapter.dump_python(adapter.validate_python(body), mode="json") == body
    assert body["ticket_id"] == ticket_id


def test_a_refusal_from_the_cache_is_a_403_without_a_zendesk_read(
    client: TestClient,
    headers: dict[str, str],
    tickets: TicketFactory,
    directory: FakeDirectory,
) -> None:
    """An agent whose cached permissions show no access is refused on the event loop."""
    directory.add_user(TEST_AGENT_ID, "agent", ticket_restriction="groups", groups={1})
    ticket_id = tickets.add(PARKING_OFFER)
    directory.place_ticket(ticket_id, group_id=2)
    statuses = [
        client.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers).status_code
        for _ in range(2)
    ]
    assert statuses == [403, 403]
    assert directory.calls == 3  # profile + groups + placement, once: the second is cached


@st.composite
def directories(draw: st.DrawFn) -> tuple[FakeDirectory, list[tuple[int, int, bool]]]:
    """A few users of every kind, tickets in groups, and (agent, ticket) questions."""
    directory = FakeDirectory()
    for user_id in range(1, 5):
        role = draw(st.sampled_from(ROLES))
        custom_role = draw(st.sampled_from((None, 7)))
        directory.add_user(
            user_id,
            role,
            custom_role_id=custom_role if role == "agent" else None,
            ticket_restriction=draw(st.sampled_from(RESTRICTIONS)),
            groups=set(draw(st.lists(st.integers(1, 3), max_size=2))),
        )
    directory.add_role(7, draw(st.sampled_from(ROLE_ACCESS)), ticket_editing=draw(st.booleans()))
    for ticket_id in range(100, 104):
        directory.place_ticket(
            ticket_id,
            group_id=draw(st.sampled_from((None, 1, 2, 3))),
            assignee_id=draw(st.sampled_from((None, 1, 2, 3, 4))),
        )
    questions = draw(
        st.lists(
            st.tuples(st.integers(1, 4), st.integers(100, 103), st.booleans()),
            min_size=1,
            max_size=12,
        )
    )
    return directory, questions


def _answer(
    check: Callable[..., Permissions | None], agent: Agent, ticket_id: int, edit: bool = False
) -> Permissions | str | None:
    try:
        return check(agent, ticket_id, edit=edit)
    except ForbiddenError as refused:
        return f"forbidden: {refused}"


@settings(max_examples=200, deadline=None)
@given(directories())
def test_a_cached_check_agrees_with_the_full_check_and_never_reads(
    case: tuple[FakeDirectory, list[tuple[int, int, bool]]],
) -> None:
    """check_cached answers as check would, or defers (None); it never asks Zendesk.

    The same for a write's check (`edit`): editing is never granted where seeing is not.
    """
    directory, questions = case
    authorizer = TicketAuthorizer(directory, ttl=60)
    for user_id, ticket_id, edit in questions:
        agent = Agent(user_id=user_id, account="acme")
        reads = directory.calls
        cached = _answer(authorizer.check_cached, agent, ticket_id, edit)
        assert directory.calls == reads
        full = _answer(authorizer.check, agent, ticket_id, edit)
        assert cached in (None, full)
        # Once check has run, the cache decides this question alone.
        assert _answer(authorizer.check_cached, agent, ticket_id, edit) == full
        if edit and not isinstance(full, str):
            assert full is not None
            assert full.may_edit
            assert not isinstance(_answer(authorizer.check, agent, ticket_id), str)


class CountingVerify:
    """Stands in for full verification: counts calls, answers a fixed expiry."""

    def __init__(self, expires: float, refuse: bool = False) -> None:
        self.expires = expires
        self.refuse = refuse
        self.calls = 0

    def __call__(self, token: str, settings: Settings) -> tuple[Agent, float]:
        self.calls += 1
        if self.refuse:
            raise AuthError("token signature is invalid")
        return Agent(user_id=int(token), account="acme"), self.expires


def test_a_session_is_verified_once_until_it_expires(settings: Settings) -> None:
    """Cached until `exp`; past it the token is verified in full again, never served stale."""
    clock = [1000.0]
    verify = CountingVerify(expires=1060.0)
    sessions = VerifiedSessions(verify=verify, clock=lambda: clock[0])
    assert sessions.agent("7", settings).user_id == 7
    clock[0] = 1059.9
    assert sessions.agent("7", settings).user_id == 7
    assert verify.calls == 1
    clock[0] = 1060.0
    verify.refuse = True
    with pytest.raises(AuthError):
        sessions.agent("7", settings)
    assert verify.calls == 2


def test_a_refused_token_is_never_cached(settings: Settings) -> None:
    """Every use of a refused token is verified (and refused) again."""
    verify = CountingVerify(expires=float("inf"), refuse=True)
    sessions = VerifiedSessions(verify=verify)
    for _ in range(3):
        with pytest.raises(AuthError):
            sessions.agent("7", settings)
    assert verify.calls == 3


def test_a_cached_session_does_not_vouch_for_a_tampered_token(
    client: TestClient, headers: dict[str, str], tickets: TicketFactory
) -> None:
    """A cached valid token changes nothing for another string: its signature is checked."""
    ticket_id = tickets.add(PARKING_OFFER)
    path = f"/v1/tickets/{ticket_id}/guidance"
    assert client.get(path, headers=headers).status_code == 200
    tampered = headers["Authorization"][:-2] + (
        "AA" if headers["Authorization"][-2:] != "AA" else "BB"
    )
    assert client.get(path, headers={"Authorization": tampered}).status_code == 401
    assert client.get(path, headers=headers).status_code == 200
