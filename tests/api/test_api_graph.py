"""GET /v1/guides/{id}/graph.svg: agents only, the committed picture, the branch highlighted."""

from __future__ import annotations

from fastapi.testclient import TestClient

from backend.settings import REPO_ROOT

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
