"""GET /v1/guides/{id}/graph.svg: agents only, the committed picture, the branch highlighted."""

from __future__ import annotations

import time

import pytest
from api_helpers import PARKING_OFFER, RECONNECT_ELIGIBLE, TicketFactory
from fastapi.testclient import TestClient

from backend.settings import REPO_ROOT, Settings
from tooling.harness.proxy import ZendeskSigner
from tooling.testing import TEST_AGENT_ID, make_token

URL = "/v1/guides/force_reconnect/graph.svg"


def test_graph_is_the_committed_picture(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get(URL, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["x-content-type-options"] == "nosniff"
    committed = (REPO_ROOT / "docs" / "guides" / "force_reconnect.svg").read_text("utf-8")
    assert response.text == committed


def test_graph_highlights_the_branch(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get(URL, params={"branch": "reconnect.ask_presence"}, headers=headers)
    assert response.status_code == 200
    assert response.text.count('stroke-width="4"') == 1


def test_graph_needs_an_agent(client: TestClient) -> None:
    response = client.get(URL)
    assert response.status_code == 401
    assert response.json()["type"].endswith("/unauthorized")


def test_unknown_guide_and_branch(client: TestClient, headers: dict[str, str]) -> None:
    missing = client.get("/v1/guides/nope/graph.svg", headers=headers)
    assert (missing.status_code, missing.json()["type"].rsplit("/", 1)[1]) == (404, "not-found")
    bad = client.get(URL, params={"branch": "parking.offer_coupon"}, headers=headers)
    assert (bad.status_code, bad.json()["type"].rsplit("/", 1)[1]) == (422, "invalid-input")


@pytest.mark.parametrize(
    "values", [RECONNECT_ELIGIBLE, PARKING_OFFER], ids=["reconnect", "parking"]
)
def test_the_sidebars_request_for_a_tickets_step(
    client: TestClient, headers: dict[str, str], tickets: TicketFactory, values: dict[str, object]
) -> None:
    """The sidebar asks for the guidance's guide with its branch: that row is highlighted."""
    guidance = client.get(f"/v1/tickets/{tickets.add(values)}/guidance", headers=headers).json()
    url = f"/v1/guides/{guidance['guide']}/graph.svg"
    plain = client.get(url, headers=headers)
    marked = client.get(url, params={"branch": guidance["branch"]}, headers=headers)
    assert marked.status_code == 200, marked.text
    assert marked.headers["cache-control"].startswith("private")
    assert 'stroke-width="4"' not in plain.text
    assert marked.text.count('stroke-width="4"') >= 1
    assert "<script" not in marked.text.lower()


def test_graph_takes_no_credentials_from_the_url(client: TestClient, settings: Settings) -> None:
    """A link or navigation cannot authenticate: a session in the query string is ignored."""
    token = make_token(settings)
    for name in ("token", "access_token", "session", "gp_session"):
        response = client.get(URL, params={name: token})
        assert response.status_code == 401, name
        assert response.json()["type"].endswith("/unauthorized")


def test_graph_refuses_expired_sessions_and_zendesk_tokens(
    client: TestClient, settings: Settings, signer: ZendeskSigner
) -> None:
    """Only a live Guidepost session counts; Zendesk's app token is for POST /v1/session."""
    now = int(time.time())
    expired = make_token(settings, iat=now - 400, exp=now - 100)
    response = client.get(URL, headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert response.json()["type"].endswith("/session-expired")
    zaf = signer.sign(TEST_AGENT_ID)
    response = client.get(URL, headers={"Authorization": f"Bearer {zaf}"})
    assert response.status_code == 401
