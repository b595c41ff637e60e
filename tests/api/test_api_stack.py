"""The backend over real loopback HTTP: uvicorn + ZenpyGateway + the Zendesk emulator."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import structlog
from api_helpers import PARKING_OFFER

from backend.demo import DEMO_CASES, build_new_ticket
from backend.domain.fields import load_field_catalog
from backend.logs import configure_logging
from backend.zendesk.zenpy_gateway import ZenpyGateway
from tooling.testing import Stack, apply_body, make_token, run_stack

PROBLEM = "application/problem+json"
TICKET_PATH = r"^/api/v2/tickets/\d+(\.json)?$"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One running stack for the module (quick timeouts so fault tests stay fast)."""
    overrides = {"zendesk_timeout_seconds": 1.0, "retries": 1}
    with run_stack(tmp_path_factory.mktemp("stack"), settings_overrides=overrides) as running:
        yield running


@pytest.fixture(scope="module")
def http(stack: Stack) -> Iterator[httpx.Client]:
    """An HTTP client for the backend."""
    with httpx.Client(base_url=stack.backend_url, timeout=15.0) as client:
        yield client


@pytest.fixture(autouse=True)
def clean_emulator(stack: Stack) -> Iterator[None]:
    """Every test starts with zero counters and no faults."""
    stack.emulator.store.clear_faults()
    stack.emulator.store.reset_counters()
    yield
    stack.emulator.store.clear_faults()


def _count_requests(stack: Stack) -> int:
    total: int = stack.emulator.store.counters()["total"]
    return total


def _create_ticket(
    stack: Stack, fields: dict[str, Any], extra: dict[int, Any] | None = None
) -> int:
    """Create a ticket from semantic values (+ raw custom fields), then zero the counters."""
    catalog = load_field_catalog(stack.settings.guides_dir / "fields.yaml")
    ticket = {"subject": "문의", "description": "문의드립니다", "fields": fields}
    new = build_new_ticket(ticket, catalog, stack.field_map)
    if extra:
        new = type(new)(
            subject=new.subject,
            description=new.description,
            tags=new.tags,
            custom_fields={**new.custom_fields, **extra},
        )
    with ZenpyGateway.from_settings(stack.settings, wait_policy="batch") as gateway:
        ticket_id = gateway.create_ticket(new).id
    stack.emulator.store.reset_counters()
    return ticket_id


def _get_guidance(http: httpx.Client, stack: Stack, ticket_id: int) -> dict[str, Any]:
    response = http.get(f"/v1/tickets/{ticket_id}/guidance", headers=stack.make_headers())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _post_apply(
    http: httpx.Client, stack: Stack, ticket_id: int, guidance: dict[str, Any]
) -> httpx.Response:
    body = apply_body(guidance)
    return http.post(f"/v1/tickets/{ticket_id}/apply", headers=stack.make_headers(), json=body)


def _list_internal_notes(stack: Stack, ticket_id: int) -> list[dict[str, Any]]:
    return [c for c in stack.emulator.store.comments(ticket_id) if not c["public"]]


# ---- plain routes ------------------------------------------------------------------------


def test_healthz_openapi_and_guides(http: httpx.Client, stack: Stack) -> None:
    """Public liveness and schema; guides with article URLs on the configured Zendesk."""
    assert http.get("/healthz").json() == {"status": "ok"}
    schema = http.get("/openapi.json").json()
    assert "/v1/tickets/{ticket_id}/apply" in schema["paths"]
    body = http.get("/v1/guides", headers=stack.make_headers()).json()
    urls = {guide["id"]: guide["article_url"] for guide in body["guides"]}
    assert urls["parking_onsite_payment"] == f"{stack.emulator.url}/hc/ko/articles/1001"
    assert body["field_map"] == stack.field_map
    assert _count_requests(stack) == 0


def test_preview_makes_no_zendesk_request(http: httpx.Client, stack: Stack) -> None:
    """Preview decides locally."""
    response = http.post(
        "/v1/preview", headers=stack.make_headers(), json={"fields": PARKING_OFFER}
    )
    assert response.status_code == 200
    assert response.json()["branch"] == "parking.offer_coupon"
    assert _count_requests(stack) == 0


def test_every_demo_ticket_shows_its_branch(http: httpx.Client, stack: Stack) -> None:
    """Guidance of each demo ticket = its documented decision, in 1 request (3 with a 원콜:
    the ledger is empty, so pre-ledger history is searched too).

    The agent's permissions are read first (cached; see the next test), so each request
    here costs only its own reads.
    """
    _get_guidance(http, stack, stack.ticket_ids[0])
    for case, ticket_id in zip(DEMO_CASES, stack.ticket_ids, strict=True):
        stack.emulator.store.reset_counters()
        body = _get_guidance(http, stack, ticket_id)
        assert (body["guide"], body["branch"]) == (case.guide, case.branch), case.name
        if case.blocks:
            assert body["blocks"] == list(case.blocks), case.name
        if case.eligible is not None:
            assert body["eligible"] is case.eligible, case.name
        searches = (
            case.guide == "force_reconnect"
            and case.branch != "none"
            and "origin_call_id" in case.ticket["fields"]
        )
        assert _count_requests(stack) == (3 if searches else 1), case.name


def test_authorization_costs_one_call_per_agent_per_cache_period(
    http: httpx.Client, stack: Stack
) -> None:
    """An admin's permissions: 1 read (GET /users/{id}) on the first request, 0 after."""
    stack.server.config.app.state.authorizer = None  # a cold cache, as after a restart
    ticket_id = stack.ticket_ids[0]
    counts = []
    for _ in range(3):
        stack.emulator.store.reset_counters()
        _get_guidance(http, stack, ticket_id)
        counts.append(_count_requests(stack))
    assert counts == [counts[1] + 1, counts[1], counts[1]]
    assert counts[1] == 1


# ---- auth ----------------------------------------------------------------------------------


def test_auth_failures_are_401_and_never_reach_zendesk(http: httpx.Client, stack: Stack) -> None:
    """Missing, expired, forged, alg none, wrong aud/iss/account, oversized → 401."""
    settings = stack.settings
    ticket_id = stack.ticket_ids[0]
    now = int(time.time())
    forged = make_token(settings).rsplit(".", 1)[0] + ".c2lnbmF0dXJlLWZvcmdlZA"
    header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"
    payload = make_token(settings).split(".")[1]
    tokens: dict[str, str | None] = {
        "missing": None,
        "expired": make_token(settings, iat=now - 900, exp=now - 600),
        "forged": forged,
        "alg_none": f"{header}.{payload}.",
        "wrong_aud": make_token(settings, aud="other-backend"),
        "wrong_iss": make_token(settings, iss="other-app"),
        "oversized": make_token(settings, pad="x" * 9000),
        "other_account": make_token(settings, acct="evil.zendesk.com"),
    }
    for name, token in tokens.items():
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        guidance = http.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers)
        apply = http.post(
            f"/v1/tickets/{ticket_id}/apply",
            headers=headers,
            json={"branch": "parking.collect_info", "ticket_updated_at": "2024-11-20T09:00:00Z"},
        )
        for response in (guidance, apply):
            assert response.status_code == 401, name
            assert response.headers["content-type"] == PROBLEM
            assert response.headers["www-authenticate"] == "Bearer"
    assert _count_requests(stack) == 0


# ---- bad input -----------------------------------------------------------------------------


def test_bad_inputs(http: httpx.Client, stack: Stack) -> None:
    """422 naming the field for a bad id or body; 404 for an unknown ticket."""
    headers = stack.make_headers()
    response = http.get("/v1/tickets/0/guidance", headers=headers)
    assert (response.status_code, response.json()["field"]) == (422, "ticket_id")
    response = http.post("/v1/tickets/1/apply", headers=headers, json={"branch": "x"})
    assert (response.status_code, response.json()["field"]) == (422, "ticket_updated_at")
    assert _count_requests(stack) == 0
    response = http.get("/v1/tickets/987654321/guidance", headers=headers)
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert _count_requests(stack) == 1


def test_malformed_value_on_the_zendesk_ticket_is_422(http: httpx.Client, stack: Stack) -> None:
    """A car number that is no plate, typed into Zendesk, names the field."""
    ticket_id = _create_ticket(stack, PARKING_OFFER, {stack.field_map["car_number"]: "no plate"})
    response = http.get(f"/v1/tickets/{ticket_id}/guidance", headers=stack.make_headers())
    assert response.status_code == 422
    assert response.json()["field"] == "car_number"


# ---- Zendesk faults ------------------------------------------------------------------------


def test_short_rate_limit_is_waited_out(http: httpx.Client, stack: Stack) -> None:
    """A 429 with Retry-After 1 s (within the 2 s budget) is waited out → 200."""
    stack.emulator.store.set_faults(
        [{"kind": "rate_limit", "method": "GET", "path": TICKET_PATH, "retry_after": 1, "times": 1}]
    )
    started = time.monotonic()
    _get_guidance(http, stack, stack.ticket_ids[0])
    assert time.monotonic() - started >= 1.0
    assert _count_requests(stack) == 2


def test_long_rate_limit_answers_503_quickly(http: httpx.Client, stack: Stack) -> None:
    """A 429 longer than the budget → 503 + Retry-After at once (no blocking wait)."""
    stack.emulator.store.set_faults(
        [{"kind": "rate_limit", "method": "GET", "path": TICKET_PATH, "retry_after": 45}]
    )
    started = time.monotonic()
    response = http.get(f"/v1/tickets/{stack.ticket_ids[0]}/guidance", headers=stack.make_headers())
    # Far below the 45 s Zendesk asked for: the request did not sit out the rate limit.
    assert time.monotonic() - started < 15
    assert response.status_code == 503
    assert response.headers["retry-after"] == "45"
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["retry_after"] == 45


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retried(http: httpx.Client, stack: Stack, status: int) -> None:
    """One 5xx from Zendesk is retried → 200."""
    stack.emulator.store.set_faults(
        [{"kind": "status", "status": status, "method": "GET", "path": TICKET_PATH, "times": 1}]
    )
    _get_guidance(http, stack, stack.ticket_ids[0])
    assert _count_requests(stack) == 2


def test_timeout_is_a_502_problem(http: httpx.Client, stack: Stack) -> None:
    """Zendesk slower than the timeout on every attempt → 502 zendesk-unavailable."""
    stack.emulator.store.set_faults(
        [{"kind": "latency", "ms": 1500, "method": "GET", "path": TICKET_PATH}]
    )
    response = http.get(f"/v1/tickets/{stack.ticket_ids[0]}/guidance", headers=stack.make_headers())
    assert response.status_code == 502
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("/zendesk-unavailable")


# ---- exactly-once write-back ---------------------------------------------------------------


def test_apply_twice_writes_once(http: httpx.Client, stack: Stack) -> None:
    """Apply = 1 write after guidance; the same apply again = 1 read and `applied: false`."""
    ticket_id = _create_ticket(stack, PARKING_OFFER)
    guidance = _get_guidance(http, stack, ticket_id)
    stack.emulator.store.reset_counters()
    first = _post_apply(http, stack, ticket_id, guidance)
    assert first.status_code == 200, first.text
    assert first.json()["applied"] is True
    counters = stack.emulator.store.counters()
    # The guidance's read is reused at apply (same updated_at, safe_update on the write).
    assert (counters["total"], counters["writes"]) == (1, 1)
    stack.emulator.store.reset_counters()
    second = _post_apply(http, stack, ticket_id, guidance)
    assert second.json()["applied"] is False
    counters = stack.emulator.store.counters()
    assert (counters["total"], counters["writes"]) == (1, 0)
    notes = _list_internal_notes(stack, ticket_id)
    assert [note["body"] for note in notes] == [guidance["note"]]
    ticket = stack.emulator.store.get_ticket(ticket_id)
    assert ticket is not None
    assert set(first.json()["tags_added"]) <= set(ticket["tags"])


def test_apply_survives_a_concurrent_edit(http: httpx.Client, stack: Stack) -> None:
    """An edit between guidance and apply (same branch) and a 409 race both end in one note."""
    ticket_id = _create_ticket(stack, PARKING_OFFER)
    guidance = _get_guidance(http, stack, ticket_id)
    stack.emulator.store.touch_ticket(ticket_id)
    stack.emulator.store.set_faults(
        [{"kind": "conflict", "method": "PUT", "path": TICKET_PATH, "times": 1}]
    )
    stack.emulator.store.reset_counters()
    response = _post_apply(http, stack, ticket_id, guidance)
    assert response.status_code == 200, response.text
    assert response.json()["applied"] is True
    counters = stack.emulator.store.counters()
    # write with the guidance's record (409: touched in between), read again, write.
    assert (counters["total"], counters["writes"]) == (3, 1)
    assert len(_list_internal_notes(stack, ticket_id)) == 1


def test_force_reconnect_apply_and_history(http: httpx.Client, stack: Stack) -> None:
    """A 강제재연결 apply writes fr_* tags and fields; a second ticket for that 원콜 is blocked."""
    fields = {
        "consult_type": "driver_force_rerun_own_vip",
        "identity_verified": True,
        "customer_presence": "together",
        "fare_adjustment": False,
        "payment_method": "cash",
        "admin_status": "completed",
        "customer_consent": "agreed",
        "driver_on_duty": True,
        "customer_recalling": False,
        "origin_call_id": "990001",
        "forced_call_id": "990002",
        "original_fare": 23000,
    }
    first_id = _create_ticket(stack, fields)
    guidance = _get_guidance(http, stack, first_id)
    assert guidance["eligible"] is True
    stack.emulator.store.reset_counters()
    result = _post_apply(http, stack, first_id, guidance).json()
    assert result["applied"] is True
    assert result["fields_set"] == {"call_type": "own_vip"}
    # claim (create, list) + write; the ticket record and the history (ledger + pre-ledger
    # search) are the guidance's, read a moment ago (backend/zendesk/read_cache.py).
    assert _count_requests(stack) == 3
    stored = stack.emulator.store.get_ticket(first_id)
    assert stored is not None
    assert {"fr_origin_990001", "fr_forced"} <= set(stored["tags"])
    assert _post_apply(http, stack, first_id, guidance).json()["applied"] is False
    second_id = _create_ticket(stack, {**fields, "forced_call_id": "990003"})
    second = _get_guidance(http, stack, second_id)
    assert second["blocks"] == ["already_reconnected_once"]


def test_twenty_parallel_applies_leave_one_note(http: httpx.Client, stack: Stack) -> None:
    """20 concurrent applies of one decision: one write, one internal note."""
    ticket_id = _create_ticket(stack, PARKING_OFFER)
    guidance = _get_guidance(http, stack, ticket_id)
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(
            pool.map(lambda _: _post_apply(http, stack, ticket_id, guidance), range(20))
        )
    assert [r.status_code for r in responses] == [200] * 20, [r.text for r in responses]
    assert sum(r.json()["applied"] for r in responses) == 1
    assert len(_list_internal_notes(stack, ticket_id)) == 1
    assert stack.emulator.store.counters()["writes"] == 1


def test_branch_changed_is_409(http: httpx.Client, stack: Stack) -> None:
    """A body branch that no longer holds → 409 problem, nothing written."""
    ticket_id = _create_ticket(stack, PARKING_OFFER)
    guidance = {**_get_guidance(http, stack, ticket_id), "branch": "parking.coupon_accepted"}
    stack.emulator.store.reset_counters()
    response = _post_apply(http, stack, ticket_id, guidance)
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    assert stack.emulator.store.counters()["writes"] == 0


def test_note_is_plain_text_so_user_values_stay_escaped(http: httpx.Client, stack: Stack) -> None:
    """A parking lot name with HTML reaches the note as text (Zendesk escapes `body`)."""
    probe = "<img src=x onerror=alert(1)>"
    fields = {
        **PARKING_OFFER,
        "operator": "nicepark",
        "coupon_response": "refused",
        "approval_number": "30012345",
        "cancel_consent": True,
        "ticket_repaid": True,
        "parking_lot": probe,
    }
    ticket_id = _create_ticket(stack, fields)
    guidance = _get_guidance(http, stack, ticket_id)
    assert guidance["branch"] == "parking.cancel_onsite_payment"
    assert probe in guidance["note"]
    assert _post_apply(http, stack, ticket_id, guidance).json()["applied"] is True
    (note,) = _list_internal_notes(stack, ticket_id)
    assert probe in note["body"]
    assert "<img" not in note["html_body"]
    assert "&lt;img" in note["html_body"]


# ---- logs ----------------------------------------------------------------------------------


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Capture structlog output, then restore the previous configuration."""
    was_configured = structlog.is_configured()
    previous = structlog.get_config()
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    yield stream
    if was_configured:
        structlog.configure(**previous)
    else:
        structlog.reset_defaults()


def test_logs_hold_no_plate_or_phone(
    log_stream: io.StringIO, http: httpx.Client, stack: Stack
) -> None:
    """Request lines for tickets full of plates and phone numbers mask them all."""
    # Warm the agent's permissions first (read once per cache period), so the counts below
    # are the ticket's own calls whichever test ran before this one.
    _get_guidance(http, stack, _create_ticket(stack, PARKING_OFFER))
    ticket_id = _create_ticket(stack, {**PARKING_OFFER, "car_number": "서울34나5678"})
    guidance = _get_guidance(http, stack, ticket_id)
    _post_apply(http, stack, ticket_id, guidance)
    http.post(
        "/v1/preview",
        headers=stack.make_headers(),
        json={"fields": {"car_number": "77다 8888 외"}, "subject": "010-2222-3333"},
    )
    lines = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    requests = [line for line in lines if line.get("event") == "request"][1:]
    assert [line["status"] for line in requests] == [200, 200, 422]
    assert requests[0]["zendesk_calls"] == 1
    assert requests[1]["zendesk_calls"] == 1  # the write: guidance's read reused
    text = log_stream.getvalue()
    for secret in ("34나5678", "77다 8888", "010-2222-3333", "test-shared-secret"):
        assert secret not in text


def test_zenpy_directory_reads_users_and_tickets_from_zendesk(stack: Stack) -> None:
    """The Zenpy-based directory speaks Zendesk's user and ticket shapes (emulator)."""
    from backend.errors import NotFoundError
    from backend.zendesk.users import ZenpyDirectory
    from tooling.testing import TEST_AGENT_ID

    with ZenpyGateway.from_settings(stack.settings, wait_policy="batch") as gateway:
        directory = ZenpyDirectory(gateway)
        profile = directory.get_user_profile(TEST_AGENT_ID)
        placement = directory.get_ticket_placement(stack.ticket_ids[0])
        with pytest.raises(NotFoundError):
            directory.get_user_profile(424242)
        assert gateway.calls == 3
    assert (profile.id, profile.role, profile.custom_role_id) == (TEST_AGENT_ID, "admin", None)
    assert (placement.group_id, placement.assignee_id) == (None, None)
