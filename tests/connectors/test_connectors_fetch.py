"""Fetching with respx: every failure mode leaves its facts unknown and says why."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
import respx
from connector_helpers import CALL_JSON, ORIGIN, SECRET, make_settings
from pydantic import SecretStr

from backend.connectors import NO_CONNECTOR_FACTS, fetch_for_ticket
from backend.connectors.config import ConnectorSet, load_connectors
from backend.connectors.fetch import FactCache, fetch_facts
from backend.connectors.result import ConnectorFacts
from backend.domain.fields import FieldCatalog
from backend.logs import configure_logging
from backend.settings import Settings

KNOWN = {"origin_call_id": "880000101"}
CALL_URL = f"{ORIGIN}/calls/880000101"
FARE_URL = f"{ORIGIN}/fares/estimate"
CALL_FACTS = ("admin_status", "original_fare", "driver_on_duty", "customer_recalling")


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """A respx router: every request must hit a mocked route (nothing leaves the machine)."""
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as mock:
        mock.post(FARE_URL).mock(return_value=httpx.Response(200, json={"fare": 27000}))
        yield mock


def run(
    connectors: ConnectorSet,
    fields: FieldCatalog,
    cache: FactCache,
    settings: Settings | None = None,
    known: dict[str, object] | None = None,
    **kwargs: object,
) -> ConnectorFacts:
    """fetch_facts with the test settings and a fresh cache."""
    return fetch_facts(
        connectors,
        KNOWN if known is None else known,
        fields=fields,
        settings=settings or make_settings(),
        cache=cache,
        **kwargs,  # type: ignore[arg-type]
    )


def failure_of(
    result: ConnectorFacts, connector: str = "calls"
) -> tuple[str, str, tuple[str, ...]]:
    """(kind, detail, facts) of the one failure of a connector."""
    [failure] = [f for f in result.failures if f.connector == connector]
    return failure.kind, failure.detail, failure.facts


def test_success_types_values_and_records_provenance(
    router: respx.MockRouter, connectors: ConnectorSet, fields: FieldCatalog, cache: FactCache
) -> None:
    """Values come back typed by the fields' parsers, each with its connector and time."""
    route = router.get(CALL_URL).mock(return_value=httpx.Response(200, json=CALL_JSON))
    before = datetime.now(UTC)
    result = run(connectors, fields, cache)
    assert result.failures == ()
    assert dict(result.values) == {
        "admin_status": "completed",
        "original_fare": 23000,
        "driver_on_duty": True,
        "customer_recalling": False,
        "estimated_fare": 27000,
    }
    source = result.provenance["admin_status"]
    assert (source.kind, source.connector, source.label, source.cached) == (
        "connector",
        "calls",
        "대리 어드민",
        False,
    )
    assert source.fetched_at is not None
    assert source.fetched_at >= before
    assert result.provenance["estimated_fare"].connector == "fares"
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {SECRET}"
    assert route.calls.last.request.headers["Accept-Encoding"] == "identity"
    fare_request = router.routes[0].calls.last.request
    assert json.loads(fare_request.content) == {"call": "880000101"}
    assert "authorization" not in fare_request.headers


def test_timeout_leaves_facts_unknown(
    router: respx.MockRouter, connectors: ConnectorSet, fields: FieldCatalog, cache: FactCache
) -> None:
    """A source that times out: its facts stay unknown, the other source still answers."""
    router.get(CALL_URL).mock(side_effect=httpx.ReadTimeout("slow"))
    # A budget above the connector's timeout: the timeout is the connector's own 2 s.
    result = run(connectors, fields, cache, settings=make_settings(connector_budget_seconds=5))
    kind, detail, facts = failure_of(result)
    assert (kind, facts) == ("timeout", CALL_FACTS)
    assert detail == "no answer within 2.00 s"
    assert result.unknown == CALL_FACTS
    assert dict(result.values) == {"estimated_fare": 27000}


def test_timeout_cut_short_by_the_budget_is_over_budget(
    router: respx.MockRouter, connectors: ConnectorSet, fields: FieldCatalog, cache: FactCache
) -> None:
    """A timeout the budget shortened (0.5 s left < the source's 2 s) is over budget.

    The caller's wait and the capped timeout end at the same instant; whichever wins, the
    agent is told the same thing: the guidance budget ran out.
    """
    router.get(CALL_URL).mock(side_effect=httpx.ReadTimeout("slow"))
    result = run(connectors, fields, cache, settings=make_settings(connector_budget_seconds=0.5))
    kind, detail, facts = failure_of(result)
    assert (kind, facts) == ("over_budget", CALL_FACTS)
    assert detail.startswith("no answer within the 0.")
    assert detail.endswith(" s budget left")
    assert result.unknown == CALL_FACTS


@pytest.mark.parametrize("status", [400, 401, 404, 429, 500, 503, 302])
def test_http_status_is_a_failure(
    router: respx.MockRouter,
    connectors: ConnectorSet,
    fields: FieldCatalog,
    cache: FactCache,
    status: int,
) -> None:
    """4xx, 5xx and redirects (never followed: they could leave the allow-list) fail."""
    headers = {"Location": "https://evil.example/x"} if status == 302 else {}
    router.get(CALL_URL).mock(return_value=httpx.Response(status, json={}, headers=headers))
    result = run(connectors, fields, cache)
    assert failure_of(result)[:2] == ("http_status", f"HTTP {status}")
    assert len(router.calls) == 2


def test_connection_refused_is_unavailable(
    router: respx.MockRouter, connectors: ConnectorSet, fields: FieldCatalog, cache: FactCache
) -> None:
    """A refused connection is `unavailable`, named by its kind only."""
    router.get(CALL_URL).mock(side_effect=httpx.ConnectError("refused"))
    assert failure_of(run(connectors, fields, cache))[:2] == ("unavailable", "ConnectError")


@pytest.mark.parametrize("body", [b"<html>oops</html>", b'{"call": ', b"", b"[" * 2000])
def test_malformed_json(
    router: respx.MockRouter,
    connectors: ConnectorSet,
    fields: FieldCatalog,
    cache: FactCache,
    body: bytes,
) -> None:
    """A body that is not JSON (or nests absurdly deep) is `malformed_json`."""
    router.get(CALL_URL).mock(return_value=httpx.Response(200, content=body))
    result = run(connectors, fields, cache)
    assert failure_of(result) == ("malformed_json", "the response is not JSON", CALL_FACTS)


def test_wrong_types_name_the_field_and_keep_the_rest(
    router: respx.MockRouter, connectors: ConnectorSet, fields: FieldCatalog, cache: FactCache
) -> None:
    """Each value failing its field's parser is reported with that parser's error."""
    body = {
        "call": {"status": "휴면", "fare": "-5000"},
        "driver": {"duty": "출근"},
        "customer": {"recalling": [True]},
    }
    router.get(CALL_URL).mock(return_value=httpx.Response(200, json=body))
    result = run(connectors, fields, cache)
    wrong = {f.facts: f.detail for f in result.failures if f.kind == "wrong_type"}
    assert wrong == {
        ("admin_status",): "admin_status: unknown option code '휴면' (expected one of: "
        "cancelled_after_assignment, completed, stopped_by_report, in_progress, other)",
        ("original_fare",): "original_fare: must not be negative",
        ("customer_recalling",): "customer_recalling: expected true/false, got a list",
    }
    assert result.values["driver_on_duty"] is True
    assert set(result.unknown) == {"admin_status", "original_fare", "customer_recalling"}


def test_missing_and_null_values(
    router: respx.MockRouter, connectors: ConnectorSet, fields: FieldCatalog, cache: FactCache
) -> None:
    """An absent pointer is reported as `missing`; a JSON null just means unknown."""
    body = {"call": {"status": None}, "driver": {"duty": "퇴근"}}
    router.get(CALL_URL).mock(return_value=httpx.Response(200, json=body))
    result = run(connectors, fields, cache)
    assert failure_of(result) == (
        "missing",
        "not in the response: /call/fare, /customer/recalling",
        ("original_fare", "customer_recalling"),
    )
    assert "admin_status" not in result.values
    assert result.values["driver_on_duty"] is False


def test_slow_source_beyond_budget_returns_within_budget(
    router: respx.MockRouter, connectors: ConnectorSet, fields: FieldCatalog, cache: FactCache
) -> None:
    """A source slower than the budget: the call returns at the budget, facts unknown."""
    release = threading.Event()

    def slow(request: httpx.Request) -> httpx.Response:
        release.wait(5)
        return httpx.Response(200, json=CALL_JSON)

    router.get(CALL_URL).mock(side_effect=slow)
    started = time.monotonic()
    try:
        result = run(
            connectors, fields, cache, settings=make_settings(connector_budget_seconds=0.3)
        )
        elapsed = time.monotonic() - started
    finally:
        release.set()
    # Generous slack for a loaded machine; without the budget this takes the full 5 s.
    assert elapsed < 2.0
    assert failure_of(result) == (
        "over_budget",
        "no answer within the 0.30 s budget",
        CALL_FACTS,
    )
    assert dict(result.values) == {"estimated_fare": 27000}


def test_budget_caps_each_request_timeout(
    router: respx.MockRouter, connectors: ConnectorSet, fields: FieldCatalog, cache: FactCache
) -> None:
    """A request never gets a longer timeout than the budget left (threads end by themselves)."""
    route = router.get(CALL_URL).mock(return_value=httpx.Response(200, json=CALL_JSON))
    run(connectors, fields, cache, settings=make_settings(connector_budget_seconds=0.5))
    timeout = route.calls.last.request.extensions["timeout"]
    assert 0 < timeout["read"] <= 0.5


def test_response_over_the_size_limit_is_refused(
    router: respx.MockRouter, connectors: ConnectorSet, fields: FieldCatalog, cache: FactCache
) -> None:
    """Over max_response_bytes (2048 here): refused by Content-Length or while streaming."""
    big = {"call": {"status": "운행완료", "fare": 23000, "pad": "x" * 4000}}
    router.get(CALL_URL).mock(return_value=httpx.Response(200, json=big))
    assert failure_of(run(connectors, fields, cache))[:2] == ("too_large", "over 2048 bytes")

    def stream() -> Iterator[bytes]:
        yield b'{"pad": "'
        for _ in range(100):
            yield b"x" * 100
        yield b'"}'

    router.get(CALL_URL).mock(return_value=httpx.Response(200, content=stream()))
    result = run(connectors, fields, FactCache())
    assert failure_of(result)[:2] == ("too_large", "over 2048 bytes")


def test_auth_header_sent_but_never_logged(
    router: respx.MockRouter, connectors: ConnectorSet, fields: FieldCatalog, cache: FactCache
) -> None:
    """The secret goes only into the request header: not in logs, reprs or JSON."""
    route = router.get(CALL_URL).mock(return_value=httpx.Response(500, text=SECRET))
    log = io.StringIO()
    configure_logging("DEBUG", stream=log)
    try:
        result = run(connectors, fields, cache)
        router.get(CALL_URL).mock(side_effect=httpx.ConnectError(f"boom {SECRET}"))
        result_2 = run(connectors, fields, FactCache())
    finally:
        configure_logging("INFO")
    assert route.calls[0].request.headers["Authorization"] == f"Bearer {SECRET}"
    lines = log.getvalue().splitlines()
    assert len(lines) == 4
    assert all(json.loads(line)["event"] == "connector_fetch" for line in lines)
    everything = log.getvalue() + repr(result) + repr(result_2)
    everything += json.dumps(result.to_json(fields)) + json.dumps(result_2.to_json(fields))
    assert SECRET not in everything
    assert "880000101" not in log.getvalue()  # no URL (it carries personal data) in logs


def test_cache_ttl(
    router: respx.MockRouter, connectors: ConnectorSet, fields: FieldCatalog
) -> None:
    """Within the TTL a second fetch sends nothing; after it, it fetches again; ttl 0 never."""
    clock = [1000.0]
    cache = FactCache(clock=lambda: clock[0])
    route = router.get(CALL_URL).mock(return_value=httpx.Response(200, json=CALL_JSON))
    fares = router.routes[0]
    first = run(connectors, fields, cache)
    clock[0] += 29
    second = run(connectors, fields, cache)
    assert (route.call_count, fares.call_count) == (1, 2)
    assert second.provenance["admin_status"].cached is True
    assert (
        second.provenance["admin_status"].fetched_at == first.provenance["admin_status"].fetched_at
    )
    assert second.values == first.values
    clock[0] += 2
    run(connectors, fields, cache)
    assert route.call_count == 2


def test_failures_are_not_cached(
    router: respx.MockRouter, connectors: ConnectorSet, fields: FieldCatalog, cache: FactCache
) -> None:
    """A failed fetch is retried on the next guidance, not remembered for the TTL."""
    route = router.get(CALL_URL).mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=CALL_JSON)]
    )
    assert failure_of(run(connectors, fields, cache))[0] == "http_status"
    assert run(connectors, fields, cache).values["admin_status"] == "completed"
    assert route.call_count == 2


def test_cache_is_keyed_by_request(
    router: respx.MockRouter, connectors: ConnectorSet, fields: FieldCatalog, cache: FactCache
) -> None:
    """Another 원콜 ID is another request: never answered from the first one's entry."""
    router.get(CALL_URL).mock(return_value=httpx.Response(200, json=CALL_JSON))
    other = router.get(f"{ORIGIN}/calls/880000102").mock(
        return_value=httpx.Response(200, json={**CALL_JSON, "call": {"status": "배정후취소"}})
    )
    run(connectors, fields, cache)
    result = run(connectors, fields, cache, known={"origin_call_id": "880000102"})
    assert other.call_count == 1
    assert result.values["admin_status"] == "cancelled_after_assignment"


def test_refusals_send_nothing(
    router: respx.MockRouter, connectors: ConnectorSet, fields: FieldCatalog, cache: FactCache
) -> None:
    """Host not allow-listed, or secret unset: refused before any request is sent."""
    result = run(connectors, fields, cache, settings=make_settings(connector_hosts=["other.test"]))
    assert {f.kind for f in result.failures} == {"refused"}
    assert failure_of(result)[1] == "host not in GUIDEPOST_CONNECTOR_HOSTS"
    unset = make_settings(connector_secrets={"driver_admin": SecretStr("change-me")})
    result = run(connectors, fields, cache, settings=unset)
    assert failure_of(result)[:2] == ("refused", "secret 'driver_admin' is not set")
    assert not any(call.request.url == CALL_URL for call in router.calls)


def test_unknown_url_facts_skip_the_connector(
    router: respx.MockRouter, connectors: ConnectorSet, fields: FieldCatalog, cache: FactCache
) -> None:
    """Without the 원콜 ID nothing is fetched, and the result says which fact is needed."""
    result = run(connectors, fields, cache, known={"origin_call_id": None})
    assert dict(result.skipped) == {"calls": ("origin_call_id",), "fares": ("origin_call_id",)}
    assert result.failures == ()
    assert dict(result.values) == {}
    assert len(router.calls) == 0


def test_raw_values_are_parsed_before_use(
    router: respx.MockRouter, connectors: ConnectorSet, fields: FieldCatalog, cache: FactCache
) -> None:
    """A raw known value is parsed by its field (full-width digits fold); a bad one refuses."""
    router.get(CALL_URL).mock(return_value=httpx.Response(200, json=CALL_JSON))
    result = run(connectors, fields, cache, known={"origin_call_id": " ８８０000101 "})
    assert result.values["admin_status"] == "completed"
    result = run(connectors, fields, cache, known={"origin_call_id": "88/../1"})
    assert failure_of(result)[:2] == (
        "refused",
        "origin_call_id: '88/../1' is not a call ID (1–20 digits)",
    )


def test_without_a_connectors_file_nothing_happens(fields: FieldCatalog) -> None:
    """No GUIDEPOST_CONNECTORS_FILE: no thread, no request, an empty result."""
    with respx.mock(assert_all_mocked=True) as mock:
        result = fetch_for_ticket(KNOWN, settings=make_settings(), fields=fields)
        assert len(mock.calls) == 0
    assert result is NO_CONNECTOR_FACTS
    assert result.to_json(fields) == {
        "values": {},
        "provenance": {},
        "failures": [],
        "skipped": {},
        "elapsed_ms": 0.0,
    }


def test_an_unexpected_error_fails_only_its_source(
    router: respx.MockRouter, connectors: ConnectorSet, fields: FieldCatalog, cache: FactCache
) -> None:
    """A crash inside one source's fetch is that source's failure; the others still count."""
    router.get(CALL_URL).mock(side_effect=RuntimeError("bug"))
    result = run(connectors, fields, cache)
    assert failure_of(result)[:2] == ("unavailable", "internal error (RuntimeError)")
    assert dict(result.values) == {"estimated_fare": 27000}


LOT_YAML = """
connectors:
  lots:
    label: 주차 어드민
    url: "https://admin.test/lots/{parking_lot}?date={usage_date}"
    facts: {ticket_price: /price}
"""


@pytest.mark.parametrize(
    "lot", ["x/../../admin", "http://evil.example/steal", "a?b=1#c@d:e", "//evil.example"]
)
def test_hostile_fact_values_reach_only_the_allowed_host(
    write_yaml: Callable[[str], Path], fields: FieldCatalog, cache: FactCache, lot: str
) -> None:
    """End to end: a hostile 주차장명 is one encoded path segment on admin.test, nothing else."""
    connectors = load_connectors(write_yaml(LOT_YAML))
    with respx.mock(assert_all_mocked=True) as mock:
        route = mock.get(host="admin.test").mock(
            return_value=httpx.Response(200, json={"price": 9000})
        )
        result = run(
            connectors, fields, cache, known={"parking_lot": lot, "usage_date": "2024-11-21"}
        )
    assert result.failures == ()
    request = route.calls.last.request
    assert (request.url.scheme, request.url.host, request.url.port) == ("https", "admin.test", None)
    assert unquote(request.url.raw_path.decode().split("?")[0].split("/")[2]) == lot
    assert dict(request.url.params) == {"date": "2024-11-21"}
