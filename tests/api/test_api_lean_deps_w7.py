"""Ticket routes with fewer dependency nodes: the same agent, overrides, OpenAPI and context."""

from __future__ import annotations

import dataclasses
import json
import os
from urllib.parse import quote

import pytest
from api_helpers import PARKING_OFFER, TicketFactory
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from backend.api import deps
from backend.api.app import (
    DOCUMENTED_ORDER,
    MATCH_ORDER,
    NO_TELEMETRY,
    create_app,
    telemetry_config,
)
from backend.api.auth import verify_session
from backend.api.deps import build_service_context, load_engine, ticket_service_context
from backend.api.problems import install_problem_handlers
from backend.api.routers import form_guidance
from backend.api.routers import tickets as ticket_routes
from backend.api.routers.tickets import router as tickets_router
from backend.api.schemas import TicketId
from backend.authz import Agent
from backend.field_map import FIELD_MAPS
from backend.settings import Settings
from backend.zendesk.fake_gateway import FakeGateway

PROBLEM = "application/problem+json"


@pytest.mark.parametrize("action", ["guidance", "apply"])
def test_the_ticket_routes_solve_three_dependencies(action: str) -> None:
    """The route → authorize_ticket → the session scheme: nothing else to solve."""
    path = f"/v1/tickets/{{ticket_id}}/{action}"
    route = next(r for r in tickets_router.routes if getattr(r, "path", "") == path)

    def calls(dependant: object) -> list[object]:
        subs = getattr(dependant, "dependencies", [])
        return [getattr(dependant, "call", None)] + [c for sub in subs for c in calls(sub)]

    solved = calls(route.dependant)  # type: ignore[attr-defined]
    assert len(solved) == 3
    assert deps.session_bearer in solved


def test_openapi_keeps_the_bearer_scheme_on_ticket_routes(client: TestClient) -> None:
    """Both ticket routes require the one HTTPBearer scheme, as the other agent routes do."""
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    for path, method in (
        ("/v1/tickets/{ticket_id}/guidance", "get"),
        ("/v1/tickets/{ticket_id}/apply", "post"),
        ("/v1/guides", "get"),
    ):
        assert paths[path][method]["security"] == [{"HTTPBearer": []}], path
    scheme = schema["components"]["securitySchemes"]["HTTPBearer"]
    assert scheme == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": deps.bearer_scheme.model.description,
    }


def test_an_override_of_require_agent_is_honoured(
    app: FastAPI,
    client: TestClient,
    headers: dict[str, str],
    settings: Settings,
    tickets: TicketFactory,
) -> None:
    """No token at all: the overriding agent is used (as FastAPI would solve it)."""
    ticket_id = tickets.add(PARKING_OFFER)
    response = client.get(f"/v1/tickets/{ticket_id}/guidance")
    assert response.status_code == 401
    seen: list[str] = []
    agent = verify_session(headers["Authorization"].removeprefix("Bearer "), settings)

    def admin() -> Agent:
        seen.append("called")
        return agent

    app.dependency_overrides[deps.require_agent] = admin
    response = client.get(f"/v1/tickets/{ticket_id}/guidance")
    assert response.status_code == 200, response.text
    assert seen == ["called"]


def test_async_and_sync_gateway_overrides_both_answer(
    app: FastAPI,
    client: TestClient,
    headers: dict[str, str],
    tickets: TicketFactory,
    gateway: FakeGateway,
) -> None:
    """A sync override (threadpool) and an async one give the same answer."""
    ticket_id = tickets.add(PARKING_OFFER)
    sync_answer = client.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers).json()

    async def async_gateway() -> FakeGateway:
        return gateway

    app.dependency_overrides[deps.get_gateway] = async_gateway
    assert client.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers).json() == sync_answer


def test_an_override_with_parameters_is_refused_loudly(
    app: FastAPI, client: TestClient, headers: dict[str, str], tickets: TicketFactory
) -> None:
    """Overrides are called, not solved: one asking for parameters is a 500, never ignored."""
    ticket_id = tickets.add(PARKING_OFFER)

    def needs(settings: Settings) -> None:
        raise AssertionError("never called")

    app.dependency_overrides[deps.get_directory] = needs
    response = client.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers)
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM


def test_auth_still_comes_before_path_validation(client: TestClient) -> None:
    """A malformed ticket id without a token is 401, not 422 (nothing revealed)."""
    assert client.get("/v1/tickets/abc/guidance").status_code == 401


def test_the_shared_context_is_the_plain_one_until_the_map_changes(
    app: FastAPI, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The remembered context equals a freshly built one; a new field map makes a new one."""
    now = [0.0]
    monkeypatch.setattr(FIELD_MAPS, "clock", lambda: now[0])
    engine = load_engine(settings.guides_dir)
    first = ticket_service_context(app.state, settings, engine)
    plain = build_service_context(settings, engine, FIELD_MAPS.read(settings.field_map))
    assert dataclasses.replace(first, fetch_facts=None) == dataclasses.replace(
        plain, fetch_facts=None
    )
    assert ticket_service_context(app.state, settings, engine) is first
    settings.field_map.write_text(json.dumps({"call_type": 42}), encoding="utf-8")
    stat = settings.field_map.stat()
    os.utime(settings.field_map, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000))
    now[0] += FIELD_MAPS.recheck_seconds
    changed = ticket_service_context(app.state, settings, engine)
    assert changed is not first
    assert changed.field_map == {"call_type": 42}


def test_fastapi_telemetry_is_off_unless_the_process_has_an_otel_environment() -> None:
    """No OTEL_ variable: off (no provider look-ups per request); one: FastAPI's defaults."""
    assert telemetry_config({"PATH": "/bin"}) == NO_TELEMETRY
    assert telemetry_config({"OTEL_SERVICE_NAME": "guidepost"}) is None
    assert FastAPI(telemetry=NO_TELEMETRY)._native_telemetry.enabled() is False


def test_the_app_is_made_with_the_telemetry_setting(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """create_app passes telemetry_config() to FastAPI."""
    for name in [name for name in os.environ if name.startswith("OTEL_")]:
        monkeypatch.delenv(name)
    assert create_app(settings)._telemetry["tracing"] is False
    monkeypatch.setenv("OTEL_SERVICE_NAME", "guidepost")
    assert create_app(settings)._telemetry["tracing"] is True


def test_reordering_the_routers_changes_no_match() -> None:
    """Same routers; no (path, method) in two of them; tickets before form_guidance."""
    assert set(MATCH_ORDER) == set(DOCUMENTED_ORDER)
    assert len(MATCH_ORDER) == len(DOCUMENTED_ORDER)
    seen: dict[tuple[str, str], str] = {}
    for module in MATCH_ORDER:
        for route in module.router.routes:
            for method in getattr(route, "methods", None) or ():
                key = (getattr(route, "path", ""), method)
                assert key not in seen, (key, seen.get(key), module.__name__)
                seen[key] = module.__name__
    assert MATCH_ORDER.index(ticket_routes) < MATCH_ORDER.index(form_guidance)
    assert DOCUMENTED_ORDER.index(ticket_routes) < DOCUMENTED_ORDER.index(form_guidance)


def test_the_openapi_paths_keep_the_documented_order(client: TestClient) -> None:
    """/healthz first, as the routers are documented, whatever order requests try them in."""
    paths = list(client.get("/openapi.json").json()["paths"])
    documented = [
        route.path
        for module in DOCUMENTED_ORDER
        for route in module.router.routes
        if getattr(route, "include_in_schema", False)
    ]
    assert paths == list(dict.fromkeys(documented))
    assert paths[0] == "/healthz"


def test_get_and_post_guidance_still_reach_their_routes(
    client: TestClient, headers: dict[str, str], tickets: TicketFactory
) -> None:
    """GET is the ticket guidance, POST the form guidance; a wrong method is 405."""
    ticket_id = tickets.add(PARKING_OFFER)
    assert client.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers).status_code == 200
    posted = client.post(f"/v1/tickets/{ticket_id}/guidance", headers=headers, json={})
    assert posted.status_code not in (404, 405)
    assert client.get(f"/v1/tickets/{ticket_id}/apply", headers=headers).status_code == 405


def _plain_app() -> FastAPI:
    """A route declaring ticket_id as FastAPI validates it (the plain path)."""
    plain = FastAPI()
    install_problem_handlers(plain)

    @plain.get("/t/{ticket_id}")
    async def echo(ticket_id: TicketId) -> dict[str, int]:
        return {"id": ticket_id}

    return plain


PLAIN = TestClient(_plain_app())
SEGMENTS = st.one_of(
    st.integers(-5, 2**54).map(str),
    st.text(alphabet="0123456789 +-.e١٢", min_size=1, max_size=20),
    st.sampled_from(["0015", "15.0", " 15", "9007199254740992", "9007199254740993", "1e3"]),
)


# The fixtures' gateway only counts here: no generated id names a ticket it holds.
@hypothesis_settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(segment=SEGMENTS)
def test_the_ticket_id_is_validated_as_a_plain_route_validates_it(
    segment: str, client: TestClient, headers: dict[str, str], gateway: FakeGateway
) -> None:
    """The ticket routes answer 422 exactly when a plain route does, with its detail, unread."""
    plain = PLAIN.get(f"/t/{quote(segment, safe='')}")
    assume(plain.status_code != 404)  # "." or ".." never reach the route
    before = gateway.calls
    answer = client.get(f"/v1/tickets/{quote(segment, safe='')}/guidance", headers=headers)
    if plain.status_code == 422:
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"] == plain.json()["detail"]
        assert gateway.calls == before
    else:
        assert plain.status_code == 200
        assert answer.status_code == 404, answer.text  # valid, and not a ticket Zendesk holds


def test_an_invalid_ticket_id_is_the_routes_422_and_reads_nothing(
    client: TestClient, headers: dict[str, str], gateway: FakeGateway
) -> None:
    """With a good token: the same problem the plain route gives, and no Zendesk call."""
    for segment in ("0", "abc", "0015", "9007199254740993"):
        expected = PLAIN.get(f"/t/{segment}").json()
        for method, action, body in (("GET", "guidance", None), ("POST", "apply", {})):
            response = client.request(
                method, f"/v1/tickets/{segment}/{action}", headers=headers, json=body
            )
            assert response.status_code == 422, (segment, action, response.text)
            assert response.json()["detail"] == expected["detail"]
    assert gateway.calls == 0
