"""A 원콜's history reads on the event loop (`list_reconnections_nowait`, `search_tickets_nowait`).

The blocking reads' twins, one attempt per page: the same request bytes (query parameters
and page links included), the same records, every page; a 429 / 5xx / timeout / dropped
connection / unreadable answer / other status on any page gives no items (the caller reads
on the blocking path), each attempt counted, the session's hooks run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from backend.zendesk.gateway import NowaitList
from backend.zendesk.zenpy_gateway import ZenpyGateway
from tests.zendesk.loop_gateway import loop_gateway as _gateway
from tests.zendesk.loop_gateway import on_loop
from tests.zendesk.wire_server import Action, ScriptedServer, answer

ORIGIN = "원콜 7001"  # not ASCII, a space: percent-encoded in the query
QUERY = "type:ticket tags:fr_origin_7001"
LEDGER_RECORDS = "/api/v2/custom_objects/gp_reconnection/records"


def ledger_record(record_id: int) -> dict[str, Any]:
    return {
        "id": str(record_id),
        "external_id": ORIGIN,
        "created_at": "2026-01-01T00:00:00Z",
        "custom_object_fields": {"forced_call_id": f"8{record_id}", "ticket_id": str(record_id)},
    }


def ledger_pages(index: int, request: bytes) -> Iterable[Action]:
    """Two cursor pages, ids out of order (the reader sorts them)."""
    if b"page%5Bafter%5D=c1" in request.split(b"\r\n", 1)[0]:
        body = {"custom_object_records": [ledger_record(2)], "meta": {"has_more": False}}
    else:
        following = f"https://emulator.zendesk.com{LEDGER_RECORDS}?filter%5Bexternal_ids%5D=x&page%5Bafter%5D=c1"
        body = {
            "custom_object_records": [ledger_record(5), ledger_record(3)],
            "meta": {"has_more": True},
            "links": {"next": following},
        }
    return [answer(body=json.dumps(body).encode())]


def ticket_result(ticket_id: int) -> dict[str, Any]:
    return {"id": ticket_id, "result_type": "ticket", "subject": "s", "tags": ["fr_origin_7001"]}


def search_pages(index: int, request: bytes) -> Iterable[Action]:
    """Two offset pages; a user result on the first (not a ticket: left out).

    Ticket 11 again on the second page: "Offset pagination may result in duplicate results
    when paging" (Search API); the reader keeps each ticket once.
    """
    if b"page=2" in request.split(b"\r\n", 1)[0]:
        body: dict[str, Any] = {
            "results": [ticket_result(12), ticket_result(11)],
            "next_page": None,
        }
    else:
        body = {
            "results": [ticket_result(11), {"id": 9, "result_type": "user"}],
            "next_page": "https://emulator.zendesk.com/api/v2/search.json?page=2&query=x",
        }
    return [answer(body=json.dumps(body).encode())]


def ledger_on_loop(gateway: ZenpyGateway) -> NowaitList[Any]:
    return on_loop(gateway, lambda: gateway.list_reconnections_nowait(ORIGIN))


def search_on_loop(gateway: ZenpyGateway) -> NowaitList[Any]:
    return on_loop(gateway, lambda: gateway.search_tickets_nowait(QUERY))


def test_every_ledger_page_on_the_loop_is_the_blocking_read() -> None:
    """Same records (sorted), same request bytes page for page, a call per page."""
    with ScriptedServer(ledger_pages) as scripted:
        with _gateway(scripted.url) as gateway:
            expected = gateway.list_reconnections(ORIGIN)
            gateway.calls = 0
            read = ledger_on_loop(gateway)
            assert gateway.calls == 2
        blocking, loop = scripted.requests[:2], scripted.requests[2:]
    assert [record.id for record in expected] == ["2", "3", "5"]
    assert (read.items, read.calls) == (expected, 2)
    assert loop == blocking
    assert loop[0].startswith(
        b"GET /api/v2/custom_objects/gp_reconnection/records"
        b"?filter%5Bexternal_ids%5D=%EC%9B%90%EC%BD%9C+7001 HTTP/1.1\r\n"
    )


def test_every_search_page_on_the_loop_is_the_blocking_read() -> None:
    """Same tickets (users left out), same request bytes page for page, a call per page."""
    with ScriptedServer(search_pages) as scripted:
        with _gateway(scripted.url) as gateway:
            expected = gateway.search_tickets(QUERY)
            read = search_on_loop(gateway)
        blocking, loop = scripted.requests[:2], scripted.requests[2:]
    assert [ticket.id for ticket in expected] == [11, 12]
    assert (read.items, read.calls) == (expected, 2)
    assert loop == blocking
    assert loop[0].startswith(
        b"GET /api/v2/search.json?query=type%3Aticket+tags%3Afr_origin_7001 HTTP/1.1\r\n"
    )


def test_a_query_without_a_type_asks_for_tickets_on_both_paths() -> None:
    with ScriptedServer(search_pages) as scripted:
        with _gateway(scripted.url) as gateway:
            gateway.search_tickets("tags:x")
            on_loop(gateway, lambda: gateway.search_tickets_nowait("tags:x"))
        blocking, loop = scripted.requests[0], scripted.requests[2]
    assert loop == blocking
    assert b"?query=type%3Aticket+tags%3Ax " in loop


def test_the_response_hooks_see_every_page(monkeypatch: pytest.MonkeyPatch) -> None:
    # A session fixture elsewhere (tests/macros) may have left Zenpy's host override set.
    monkeypatch.delenv("ZENPY_FORCE_NETLOC", raising=False)
    seen: list[str] = []
    with ScriptedServer(ledger_pages) as scripted, _gateway(scripted.url) as gateway:
        gateway._session().hooks["response"].append(lambda response, **_: seen.append(response.url))
        ledger_on_loop(gateway)
    assert len(seen) == 2
    known = "https://emulator.zendesk.com/api/v2/custom_objects/"
    assert all(url.startswith(known) for url in seen)


OVERFLOWING = (
    b'{"custom_object_records": [{"id": 1e400}], "meta": {"has_more": false},'
    b' "results": [{"id": 1e400, "result_type": "ticket"}], "next_page": null}'
)
FAILURES: list[tuple[list[Action], float | None, str | None]] = [
    ([answer("429 Too Many Requests", headers=["Retry-After: 7"])], 7.0, None),
    ([answer("503 Service Unavailable")], None, "answered 503"),
    ([answer("500 Internal Server Error")], None, "answered 500"),
    ([None], None, "connection failed"),
    ([1.0, answer()], None, "timed out"),
    ([answer(body=b"not json")], None, None),
    ([answer(body=b'{"custom_object_records": 5, "results": 5}')], None, None),
    ([answer("404 Not Found", body=b'{"error": "RecordNotFound"}')], None, None),
    ([answer("301 Moved Permanently", headers=["Location: /x"])], None, None),
    # int(1e400) raises OverflowError, not ValueError: still an unreadable page.
    ([answer(body=OVERFLOWING)], None, None),
]
FAILURE_IDS = [
    *("429", "503", "500", "dropped", "timeout", "not-json", "shape", "404", "301", "overflow")
]


@pytest.mark.parametrize("read", [ledger_on_loop, search_on_loop], ids=["ledger", "search"])
@pytest.mark.parametrize(("actions", "retry_after", "problem"), FAILURES, ids=FAILURE_IDS)
@pytest.mark.parametrize("page", [1, 2], ids=["first-page", "second-page"])
def test_a_failed_page_gives_no_items(
    read: Callable[[ZenpyGateway], NowaitList[Any]],
    actions: list[Action],
    retry_after: float | None,
    problem: str | None,
    page: int,
) -> None:
    """No items, every attempt counted, what to sit out before the blocking read; no retry."""
    pages = ledger_pages if read is ledger_on_loop else search_pages

    def script(index: int, request: bytes) -> Iterable[Action]:
        return actions if index == page - 1 else pages(index, request)

    # A short timeout only where the timeout is the failure (a loaded machine is slow).
    timeout = 0.3 if problem == "timed out" else 5.0
    with ScriptedServer(script) as scripted, _gateway(scripted.url, timeout) as gateway:
        found = read(gateway)
        assert (found.items, found.calls) == (None, page)
        assert (found.retry_after, found.problem) == (retry_after, problem)
        assert found.where in (f"GET {LEDGER_RECORDS}", "GET /api/v2/search.json")
        assert gateway.calls == len(scripted.requests) == page


def test_a_proxy_keeps_the_blocking_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a proxy configured nothing is sent on the loop."""
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    with _gateway("http://127.0.0.1:9") as gateway:
        assert (ledger_on_loop(gateway).items, gateway.calls) == (None, 0)
        assert (search_on_loop(gateway).items, gateway.calls) == (None, 0)
