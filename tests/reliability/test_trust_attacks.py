"""Trust attacks: who may touch which ticket, and apply writes only what the agent saw.

In-process API over the FakeGateway (Zendesk's ticket semantics) and a FakeDirectory
(Zendesk's users, custom roles and group memberships), so every write is visible.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pydantic import SecretStr
from reliability_helpers import Recorder

from backend.api import deps
from backend.api.app import create_app
from backend.authz import TicketAuthorizer
from backend.domain.fields import FieldCatalog, load_field_catalog
from backend.errors import ZendeskUnavailableError
from backend.settings import REPO_ROOT, Settings
from backend.zendesk.fake_gateway import FakeGateway
from tooling.fake_directory import FakeDirectory
from tooling.harness.proxy import ZendeskSigner
from tooling.testing import TEST_SESSION_SECRET, apply_body, make_token

sys.path.insert(0, str(REPO_ROOT / "tests" / "api"))
from api_helpers import PARKING_OFFER, RECONNECT_ELIGIBLE, TicketFactory

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

ADMIN, GROUP_AGENT, OUTSIDER, ASSIGNED_ONLY, ROLE_AGENT, END_USER = 501, 502, 503, 504, 505, 506
SUPPORT_GROUP, OTHER_GROUP, ROLE_GROUPS = 10, 20, 77
FIGURES: dict[str, int] = {}


@pytest.fixture(scope="module")
def signer() -> ZendeskSigner:
    """Zendesk's app signer (test key pair made now)."""
    return ZendeskSigner("https://acme.zendesk.com")


@pytest.fixture(scope="module")
def catalog_fields() -> FieldCatalog:
    """The repo's field catalog."""
    return load_field_catalog(REPO_ROOT / "macros" / "fields.yaml")


@pytest.fixture(scope="module")
def field_map(catalog_fields: FieldCatalog) -> dict[str, int]:
    """Zendesk ids for every Zendesk field."""
    keys = [key for key in catalog_fields if catalog_fields.get(key).zendesk]
    return {key: 360_000_000 + index for index, key in enumerate(keys)}


@pytest.fixture
def settings(tmp_path: Path, field_map: dict[str, int], signer: ZendeskSigner) -> Settings:
    """Settings with a session secret and the signer's public key."""
    path = tmp_path / "field_map.json"
    path.write_text(json.dumps(field_map), encoding="utf-8")
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        zendesk_url="https://acme.zendesk.com",
        zendesk_token=SecretStr("zendesk-api-token"),
        session_secret=SecretStr(TEST_SESSION_SECRET),
        zaf_public_key=signer.public_pem,
        zaf_installation_id=signer.installation_id,
        field_map=path,
    )


@pytest.fixture
def gateway() -> FakeGateway:
    """An in-memory Zendesk."""
    return FakeGateway()


@pytest.fixture
def directory() -> FakeDirectory:
    """Agents of every kind Zendesk has."""
    fake = FakeDirectory()
    fake.add_user(ADMIN, "admin")
    fake.add_user(GROUP_AGENT, ticket_restriction="groups", groups={SUPPORT_GROUP})
    fake.add_user(OUTSIDER, ticket_restriction="groups", groups={OTHER_GROUP})
    fake.add_user(ASSIGNED_ONLY, ticket_restriction="assigned")
    fake.add_user(ROLE_AGENT, custom_role_id=ROLE_GROUPS, groups={SUPPORT_GROUP})
    fake.role_access[ROLE_GROUPS] = "within-groups"
    fake.add_user(END_USER, "end-user")
    return fake


@pytest.fixture
def app(settings: Settings, gateway: FakeGateway, directory: FakeDirectory) -> FastAPI:
    """The API over the fakes."""
    application = create_app(settings)
    application.dependency_overrides[deps.get_gateway] = lambda: gateway
    application.dependency_overrides[deps.get_directory] = lambda: directory
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client answering 500 for server errors, like production."""
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def tickets(
    gateway: FakeGateway, field_map: dict[str, int], catalog_fields: FieldCatalog
) -> TicketFactory:
    """Tickets from semantic values."""
    return TicketFactory(gateway, field_map, catalog_fields)


def as_agent(settings: Settings, user_id: int) -> dict[str, str]:
    """The Authorization header of a session for this Zendesk user."""
    return {"Authorization": f"Bearer {make_token(settings, sub=str(user_id))}"}


def read_guidance(client: TestClient, headers: dict[str, str], ticket_id: int) -> dict[str, Any]:
    """GET guidance, asserting 200."""
    response = client.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# ---- authorization --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "group", "assignee", "allowed"),
    [
        (ADMIN, OTHER_GROUP, None, True),
        (GROUP_AGENT, SUPPORT_GROUP, None, True),
        (GROUP_AGENT, OTHER_GROUP, GROUP_AGENT, True),
        (OUTSIDER, SUPPORT_GROUP, None, False),
        (OUTSIDER, None, None, False),
        (ASSIGNED_ONLY, SUPPORT_GROUP, ASSIGNED_ONLY, True),
        (ASSIGNED_ONLY, SUPPORT_GROUP, GROUP_AGENT, False),
        (ROLE_AGENT, SUPPORT_GROUP, None, True),
        (ROLE_AGENT, OTHER_GROUP, None, False),
        (END_USER, SUPPORT_GROUP, END_USER, False),
        (999, SUPPORT_GROUP, None, False),
    ],
)
def test_agents_reach_only_tickets_zendesk_shows_them(
    client: TestClient,
    settings: Settings,
    gateway: FakeGateway,
    directory: FakeDirectory,
    tickets: TicketFactory,
    agent: int,
    group: int | None,
    assignee: int | None,
    allowed: bool,
) -> None:
    """Guidance and apply follow Zendesk's role, custom role, groups and assignee; a refusal
    is 403 `forbidden` (an unknown user too: fails closed) and never reads or writes."""
    ticket_id = tickets.add(PARKING_OFFER)
    directory.place_ticket(ticket_id, group, assignee)
    headers = as_agent(settings, agent)
    guidance = client.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers)
    body = {"branch": "parking.offer_coupon", "ticket_updated_at": "x", "fingerprint": "ab"}
    if allowed:
        assert guidance.status_code == 200, guidance.text
        return
    gateway.calls = 0
    applied = client.post(
        f"/v1/tickets/{ticket_id}/apply",
        headers=headers,
        json={**body, "ticket_updated_at": "2024-11-20T09:00:01Z"},
    )
    for response in (guidance, applied):
        assert response.status_code == 403, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "https://guidepost.dev/problems/forbidden"
        FIGURES["refused"] = FIGURES.get("refused", 0) + 1
    assert gateway.calls == 0
    assert gateway.updates == []


def test_admins_pass_with_one_read_then_none(
    client: TestClient, settings: Settings, directory: FakeDirectory, tickets: TicketFactory
) -> None:
    """An admin costs 1 directory read (the profile) on the first request and 0 after;
    a group agent costs profile + memberships + the ticket's placement, then 0 (cached)."""
    first, second = tickets.add(PARKING_OFFER), tickets.add(PARKING_OFFER)
    directory.place_ticket(first, SUPPORT_GROUP)
    counts = []
    for agent in (ADMIN, GROUP_AGENT):
        for ticket_id in (first, first):
            before = directory.calls
            read_guidance(client, as_agent(settings, agent), ticket_id)
            counts.append(directory.calls - before)
    before = directory.calls
    read_guidance(client, as_agent(settings, ADMIN), second)
    counts.append(directory.calls - before)
    assert counts == [1, 0, 3, 0, 0]
    FIGURES["admin_calls_first"], FIGURES["group_agent_calls_first"] = counts[0], counts[2]


def test_cached_permissions_expire(directory: FakeDirectory) -> None:
    """After the cache period the permissions are read again (a removed member loses access)."""
    clock = [0.0]
    authorizer = TicketAuthorizer(directory, ttl=60, clock=lambda: clock[0])
    authorizer.permissions(GROUP_AGENT)
    calls = directory.calls
    clock[0] = 59
    authorizer.permissions(GROUP_AGENT)
    assert directory.calls == calls
    directory.memberships[GROUP_AGENT] = set()
    clock[0] = 61
    assert authorizer.permissions(GROUP_AGENT).group_ids == frozenset()


# ---- identity -------------------------------------------------------------------------


def test_tokens_past_their_bounded_lifetime_are_refused(
    client: TestClient, settings: Settings, gateway: FakeGateway, tickets: TicketFactory
) -> None:
    """Expired sessions → 401 session-expired; a validly signed session whose lifetime is
    longer than the configured bound (a 10-year exp) → 401; neither reaches Zendesk."""
    ticket_id = tickets.add(PARKING_OFFER)
    now = int(time.time())
    expired = make_token(settings, iat=now - 3600, exp=now - 1800)
    too_long = make_token(settings, exp=now + 10 * 365 * 86400)
    gateway.calls = 0
    for token, slug in ((expired, "session-expired"), (too_long, "unauthorized")):
        response = client.get(
            f"/v1/tickets/{ticket_id}/guidance", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401
        assert response.json()["type"].endswith("/" + slug)
    assert gateway.calls == 0


def test_session_is_only_for_the_user_zendesk_signed(
    client: TestClient, settings: Settings, signer: ZendeskSigner
) -> None:
    """The session's subject is the `sub` Zendesk signed; the browser cannot choose it."""
    answer = client.post("/v1/session", json={"token": signer.sign(OUTSIDER)})
    assert answer.json()["user_id"] == OUTSIDER
    tampered = signer.sign(OUTSIDER).split(".")
    tampered[1] = signer.sign(ADMIN).split(".")[1]
    refused = client.post("/v1/session", json={"token": ".".join(tampered)})
    assert refused.status_code == 401


# ---- audit ----------------------------------------------------------------------------


def _logged_group_guidance(
    client: TestClient, settings: Settings, directory: FakeDirectory, tickets: TicketFactory
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """Logging to stdout as in production; a group agent's parking ticket and its guidance."""
    from backend.logs import configure_logging

    configure_logging("INFO")
    ticket_id = tickets.add(PARKING_OFFER)
    directory.place_ticket(ticket_id, SUPPORT_GROUP)
    headers = as_agent(settings, GROUP_AGENT)
    return ticket_id, headers, read_guidance(client, headers, ticket_id)


def _log_events(capsys: pytest.CaptureFixture[str], marker: str) -> list[dict[str, Any]]:
    """The JSON log lines written since the last read that contain `marker`."""
    lines = capsys.readouterr().out.splitlines()
    return [json.loads(line) for line in lines if line.startswith("{") and marker in line]


def test_note_author_is_the_agent_and_each_write_back_is_audited(
    client: TestClient,
    settings: Settings,
    gateway: FakeGateway,
    directory: FakeDirectory,
    tickets: TicketFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The note's author_id is the applying agent; one `write_back` audit line per apply."""
    ticket_id, headers, guidance = _logged_group_guidance(client, settings, directory, tickets)
    capsys.readouterr()
    for _ in range(2):
        response = client.post(
            f"/v1/tickets/{ticket_id}/apply", headers=headers, json=apply_body(guidance)
        )
        assert response.status_code == 200, response.text
    (update,) = gateway.updates
    assert update.note_author_id == GROUP_AGENT
    events = _log_events(capsys, '"write_back"')
    assert [(e["agent_id"], e["ticket_id"], e["applied"]) for e in events] == [
        (GROUP_AGENT, ticket_id, True),
        (GROUP_AGENT, ticket_id, False),
    ]
    assert {e["branch"] for e in events} == {"parking.offer_coupon"}
    assert {e["outcome"] for e in events} == {"eligible"}
    assert {e["fingerprint"] for e in events} == {guidance["fingerprint"]}


def test_an_apply_is_on_record_before_it_writes_and_when_it_fails(
    client: TestClient,
    settings: Settings,
    gateway: FakeGateway,
    directory: FakeDirectory,
    tickets: TicketFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`write_back_requested` precedes the write; a failed write leaves `write_back_failed`
    (a write can land and still fail its check: the trail must not say nothing happened)."""
    ticket_id, headers, guidance = _logged_group_guidance(client, settings, directory, tickets)
    capsys.readouterr()
    gateway.fail_next(ZendeskUnavailableError("Zendesk is down"), "update_ticket")
    path = f"/v1/tickets/{ticket_id}/apply"
    failed = client.post(path, headers=headers, json=apply_body(guidance))
    assert failed.status_code == 502, failed.text
    audit = _log_events(capsys, '"guidepost.audit"')
    assert [e["event"] for e in audit] == ["write_back_requested", "write_back_failed"]
    requested, failure = audit
    assert (requested["agent_id"], requested["ticket_id"]) == (GROUP_AGENT, ticket_id)
    assert requested["fingerprint"] == guidance["fingerprint"]
    assert (failure["error"], failure["status"]) == ("ZendeskUnavailableError", 502)
    assert failure["branch"] == guidance["branch"]


def test_a_refused_apply_is_on_record_with_its_reason(
    client: TestClient,
    settings: Settings,
    gateway: FakeGateway,
    directory: FakeDirectory,
    tickets: TicketFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An agent who may not see the ticket, and one who may see but not edit it: each
    refused apply leaves `write_back_refused` (who, which ticket, why), nothing written."""
    ticket_id, _, guidance = _logged_group_guidance(client, settings, directory, tickets)
    directory.add_role(88, "all", ticket_editing=False)
    directory.add_user(600, custom_role_id=88)
    capsys.readouterr()
    for agent, reason in ((OUTSIDER, "forbidden"), (600, "forbidden-edit")):
        response = client.post(
            f"/v1/tickets/{ticket_id}/apply",
            headers=as_agent(settings, agent),
            json=apply_body(guidance),
        )
        assert response.status_code == 403, response.text
        (event,) = _log_events(capsys, '"write_back_refused"')
        assert (event["agent_id"], event["ticket_id"], event["reason"]) == (
            agent,
            ticket_id,
            reason,
        )
    assert gateway.updates == []


# ---- apply writes only what the agent saw ---------------------------------------------


def test_eligibility_flip_between_guidance_and_apply_is_409(
    client: TestClient,
    settings: Settings,
    gateway: FakeGateway,
    tickets: TicketFactory,
    field_map: dict[str, int],
) -> None:
    """Eligible shown, then the driver goes off duty (same branch, now blocked): apply →
    409 `decision-changed` carrying the new decision; nothing is written."""
    ticket_id = tickets.add(RECONNECT_ELIGIBLE)
    headers = as_agent(settings, ADMIN)
    seen = read_guidance(client, headers, ticket_id)
    assert seen["eligible"] is True
    record = gateway.tickets[ticket_id]
    fields = {**record.custom_fields, field_map["driver_on_duty"]: "gp_driver_on_duty_no"}
    gateway.touch_ticket(ticket_id, custom_fields=fields)
    response = client.post(f"/v1/tickets/{ticket_id}/apply", headers=headers, json=apply_body(seen))
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["type"] == "https://guidepost.dev/problems/decision-changed"
    assert problem["decision"]["branch"] == seen["branch"]
    assert problem["decision"]["eligible"] is False
    assert problem["decision"]["fingerprint"] != seen["fingerprint"]
    assert gateway.updates == []


def test_a_b_a_leaves_exactly_the_current_decision_tags(
    client: TestClient,
    settings: Settings,
    gateway: FakeGateway,
    tickets: TicketFactory,
    field_map: dict[str, int],
) -> None:
    """Apply A (eligible), B (blocked), A again: only A's gp_* decision tags and its
    fingerprint remain; every foreign tag and every field-value tag survives."""
    foreign = ("vip_customer", "gp_custom_by_admin", "fr_manual")
    ticket_id = tickets.add(RECONNECT_ELIGIBLE, tags=foreign)
    headers = as_agent(settings, ADMIN)
    on_duty = field_map["driver_on_duty"]
    for value in ("gp_driver_on_duty_yes", "gp_driver_on_duty_no", "gp_driver_on_duty_yes"):
        record = gateway.tickets[ticket_id]
        gateway.touch_ticket(ticket_id, custom_fields={**record.custom_fields, on_duty: value})
        guidance = read_guidance(client, headers, ticket_id)
        response = client.post(
            f"/v1/tickets/{ticket_id}/apply", headers=headers, json=apply_body(guidance)
        )
        assert response.status_code == 200, response.text
    final = response.json()
    tags = set(gateway.tickets[ticket_id].tags)
    decision_tags = {t for t in tags if t.startswith(("gp_guide_", "gp_branch_", "gp_block_"))}
    decision_tags |= tags & {"gp_eligible", "gp_blocked", "gp_pending"}
    applied = {t for t in tags if t.startswith("gp_applied_")}
    current = {t for t in final["decision"]["tags"] if t.startswith("gp_")}
    assert decision_tags == current
    assert "gp_blocked" not in tags
    assert "gp_block_driver_off_duty" not in tags
    assert applied == {final["fingerprint"]}
    assert set(foreign) <= tags
    assert {"fr_origin_7001", "fr_forced"} <= tags


@given(
    foreign=st.lists(
        st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True).filter(
            lambda t: (
                not t.startswith(("gp_guide_", "gp_branch_", "gp_block_", "gp_applied_"))
                and t not in {"gp_eligible", "gp_blocked", "gp_pending"}
            )
        ),
        max_size=6,
    ),
    sequence=st.lists(st.booleans(), min_size=1, max_size=4),
)
@hsettings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_apply_sequence_keeps_foreign_tags_and_only_current_gp_tags(
    client: TestClient,
    settings: Settings,
    gateway: FakeGateway,
    tickets: TicketFactory,
    field_map: dict[str, int],
    foreign: list[str],
    sequence: list[bool],
) -> None:
    """Property: after any sequence of on/off-duty applies, foreign tags are all there and
    the decision tags are exactly the last decision's."""
    ticket_id = tickets.add(RECONNECT_ELIGIBLE, tags=tuple(foreign))
    headers = as_agent(settings, ADMIN)
    on_duty = field_map["driver_on_duty"]
    last: dict[str, Any] = {}
    for duty in sequence:
        record = gateway.tickets[ticket_id]
        value = "gp_driver_on_duty_yes" if duty else "gp_driver_on_duty_no"
        gateway.touch_ticket(ticket_id, custom_fields={**record.custom_fields, on_duty: value})
        guidance = read_guidance(client, headers, ticket_id)
        last = client.post(
            f"/v1/tickets/{ticket_id}/apply", headers=headers, json=apply_body(guidance)
        ).json()
    tags = set(gateway.tickets[ticket_id].tags)
    assert set(foreign) <= tags
    own = {
        t
        for t in tags
        if t.startswith(("gp_guide_", "gp_branch_", "gp_block_", "gp_applied_"))
        or t in {"gp_eligible", "gp_blocked", "gp_pending"}
    }
    assert own == {t for t in last["decision"]["tags"] if t.startswith("gp_")} | {
        last["fingerprint"]
    }


def test_closed_ticket_is_409_ticket_closed(
    client: TestClient, settings: Settings, gateway: FakeGateway, tickets: TicketFactory
) -> None:
    """Apply on a closed ticket → 409 `ticket-closed` (was a 502), nothing written."""
    ticket_id = tickets.add(PARKING_OFFER)
    headers = as_agent(settings, ADMIN)
    guidance = read_guidance(client, headers, ticket_id)
    gateway.touch_ticket(ticket_id, status="closed")
    response = client.post(
        f"/v1/tickets/{ticket_id}/apply", headers=headers, json=apply_body(guidance)
    )
    assert response.status_code == 409
    assert response.json()["type"] == "https://guidepost.dev/problems/ticket-closed"
    assert gateway.updates == []


@pytest.mark.parametrize("raw", ["0015", "%2015", "15%20", "15.0", "+15", "1e3", "-15", "0"])
def test_ticket_ids_are_digits_only(
    client: TestClient, settings: Settings, gateway: FakeGateway, raw: str
) -> None:
    """Leading zeros, spaces, signs, decimals, exponents: 422 naming ticket_id, no call."""
    response = client.get(f"/v1/tickets/{raw}/guidance", headers=as_agent(settings, ADMIN))
    assert response.status_code == 422, (raw, response.text)
    assert response.json()["field"] == "ticket_id"
    assert gateway.calls == 0


def test_record_trust_figures(figures: Recorder) -> None:
    """Hand the figures above to the reliability report (runs after them in file order)."""
    assert FIGURES, "the authorization tests above recorded nothing"
    figures("trust", dict(FIGURES))


# ---- other tickets named in an answer ---------------------------------------------------


def test_earlier_tickets_are_named_only_where_the_agent_may_see_them(
    client: TestClient,
    settings: Settings,
    directory: FakeDirectory,
    tickets: TicketFactory,
    field_map: dict[str, int],
    catalog_fields: FieldCatalog,
) -> None:
    """The form answer names a 원콜's earlier 강콜 tickets (found with the admin token): a
    group agent gets only those in their groups; the count the rule needs stays whole."""
    ticket_id = tickets.add({k: v for k, v in RECONNECT_ELIGIBLE.items() if k != "origin_call_id"})
    directory.place_ticket(ticket_id, SUPPORT_GROUP)
    earlier = []
    for group, forced in ((SUPPORT_GROUP, "6998"), (OTHER_GROUP, "6999")):
        other = tickets.add(
            {**RECONNECT_ELIGIBLE, "forced_call_id": forced}, tags=("fr_origin_7001", "fr_forced")
        )
        directory.place_ticket(other, group)
        earlier.append(other)
    values = {
        field_map[k]: catalog_fields.zendesk_value(k, v) for k, v in RECONNECT_ELIGIBLE.items()
    }
    body = {
        "custom_fields": [{"id": fid, "value": value} for fid, value in values.items()],
        "tags": [],
        "subject": "문의",
        "description": "문의드립니다",
    }
    seen = {}
    for agent in (ADMIN, GROUP_AGENT):
        response = client.post(
            f"/v1/tickets/{ticket_id}/guidance", headers=as_agent(settings, agent), json=body
        )
        assert response.status_code == 200, response.text
        seen[agent] = response.json()
    assert seen[ADMIN]["prior_reconnection_tickets"] == sorted(earlier)
    assert seen[GROUP_AGENT]["prior_reconnection_tickets"] == [earlier[0]]
    assert seen[GROUP_AGENT]["prior_reconnections"] == seen[ADMIN]["prior_reconnections"] == 2
