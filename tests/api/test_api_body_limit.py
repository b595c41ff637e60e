"""Request bodies over the limit are refused with a 413 problem, before they are parsed."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from backend.api.app import create_app
from backend.api.problems import MAX_BODY_BYTES
from backend.settings import Settings
from tooling.testing import make_token

with warnings.catch_warnings():
    # Starlette's TestClient warns about its httpx version (filterwarnings = error).
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def client() -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = Settings(
        session_secret=SecretStr("body-limit-session-secret-0123456789-abcdef"),
        zendesk_token=SecretStr("body-limit-token"),
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client, {"Authorization": "Bearer " + make_token(settings)}


def _body(size: int) -> bytes:
    head, tail = b'{"fields": {}, "subject": "', b'"}'
    return head + b"a" * (size - len(head) - len(tail)) + tail


def test_a_body_over_the_limit_is_413(client: tuple[TestClient, dict[str, str]]) -> None:
    test_client, auth = client
    response = test_client.post(
        "/v1/preview",
        content=_body(MAX_BODY_BYTES + 1),
        headers={**auth, "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert str(MAX_BODY_BYTES) in response.json()["detail"]


def test_a_streamed_body_over_the_limit_is_413(client: tuple[TestClient, dict[str, str]]) -> None:
    test_client, auth = client
    body = _body(MAX_BODY_BYTES + 10_000)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    response = test_client.post(
        "/v1/preview", content=chunks(), headers={**auth, "content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["type"].endswith("/payload-too-large")


def test_a_body_at_the_limit_is_read(client: tuple[TestClient, dict[str, str]]) -> None:
    test_client, auth = client
    response = test_client.post(
        "/v1/preview",
        content=_body(MAX_BODY_BYTES),
        headers={**auth, "content-type": "application/json"},
    )
    # Read and parsed: the subject is fine, the answer is a decision (no guide here).
    assert response.status_code == 200
    assert response.json()["branch"] == "none"
