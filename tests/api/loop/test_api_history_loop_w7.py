"""GET guidance reads a 원콜's history on the event loop too (issue 16, wave 7).

Against the real emulator and the real gateway: every demo ticket's answer, access-log
calls and read-cache content are those of the threadpool path (and of wave 6's path:
ticket on the loop, history in a thread), with no threadpool hop; a failed loop read of
the ledger list or the search (429, 5xx, timeout, dropped connection, unreadable answer)
still gives the right answer through the blocking path, every call counted; a ledger read
on the loop that a claim made stale before the load used it is never cached.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hop_counter import HopCounter
from seeded_app import (
    Seeded,
    TestClient,
    access_calls,
    assert_answered_in_a_thread,
    assert_rate_limited_at_once,
    guidance,
)

from backend import service
from backend.zendesk.gateway import NowaitList
from backend.zendesk.read_cache import ReadCache
from backend.zendesk.transport import LoopAttempt
from backend.zendesk.zenpy_gateway import ZenpyGateway

LEDGER_PATH = r"^/api/v2/custom_objects/[^/]+/records$"
SEARCH_PATH = r"^/api/v2/search(\.json)?$"
HISTORY_TWINS = ("list_reconnections_nowait", "search_tickets_nowait")


def read_cache(client: TestClient) -> ReadCache:
    cache: ReadCache = client.app.state.read_cache  # type: ignore[attr-defined]
    return cache


def cache_content(client: TestClient) -> dict[str, dict[Any, Any]]:
    """Every live entry of the app's read cache (values, not stamps)."""
    cache = read_cache(client)
    content: dict[str, dict[Any, Any]] = {}
    for name in ("records", "ledger", "search"):
        part = getattr(cache, name)
        content[name] = {key: part.get(key) for key in list(part._entries)}
    return content


def loads(
    client: TestClient, seeded: Seeded, hops: HopCounter, capsys: pytest.CaptureFixture[str]
) -> dict[int, tuple[int, Any, int, dict[str, dict[Any, Any]], int]]:
    """Each demo ticket's GET on a cleared cache: status, body, calls, cache content, hops."""
    seen = {}
    for ticket_id in seeded.ticket_ids:
        read_cache(client).clear()
        access_calls(capsys)
        before = hops.hops
        answer = guidance(client, seeded, ticket_id)
        (calls,) = access_calls(capsys)
        content = cache_content(client)
        seen[ticket_id] = (answer.status_code, answer.json(), calls, content, hops.hops - before)
    return seen


def test_every_demo_load_is_the_threadpool_load_without_a_hop(
    client: TestClient,
    seeded: Seeded,
    hops: HopCounter,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Same status, body, access-log calls and read-cache content on all three paths."""
    guidance(client, seeded, seeded.ticket_ids[0])  # permissions read and cached
    on_loop = loads(client, seeded, hops, capsys)
    for name in HISTORY_TWINS:
        monkeypatch.delattr(ZenpyGateway, name)
    history_in_thread = loads(client, seeded, hops, capsys)
    monkeypatch.delattr(ZenpyGateway, "get_ticket_nowait")
    in_thread = loads(client, seeded, hops, capsys)
    kinds = set()
    for ticket_id, (status, body, calls, content, loop_hops) in on_loop.items():
        assert loop_hops == 0, ticket_id
        for other in (history_in_thread[ticket_id], in_thread[ticket_id]):
            assert (status, body, calls, content) == other[:4], ticket_id
        # Wave 6's path hops for the history only; the plain path for every load.
        assert history_in_thread[ticket_id][4] == (0 if calls == 1 else 1)
        assert in_thread[ticket_id][4] == 1
        kinds.add(calls)
        if calls == 3:
            assert all(content[name] for name in ("records", "ledger", "search"))
    assert kinds == {1, 3}  # both kinds of load were compared


def history_ticket(client: TestClient, seeded: Seeded, capsys: pytest.CaptureFixture[str]) -> int:
    """A demo ticket whose load reads the ticket, the 원콜's ledger and the search."""
    guidance(client, seeded, seeded.ticket_ids[0])
    for ticket_id in seeded.ticket_ids:
        access_calls(capsys)
        guidance(client, seeded, ticket_id)
        if access_calls(capsys) == [3]:
            return ticket_id
    raise AssertionError("no demo ticket reads the 원콜 history")


def unreadable_on_loop(monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    """The loop's answer to GETs of `path` becomes a 200 that is not JSON (once)."""
    original = ZenpyGateway.send_nowait
    left = [1]

    async def send_nowait(self: ZenpyGateway, target: str, params: Any = None) -> LoopAttempt:
        attempt = await original(self, target, params)
        if attempt.response is not None and re.search(path, target.partition("?")[0]) and left:
            left.pop()
            attempt.response.content = b"<html>not json</html>"
        return attempt

    monkeypatch.setattr(ZenpyGateway, "send_nowait", send_nowait)


@pytest.mark.parametrize("path", [LEDGER_PATH, SEARCH_PATH], ids=["ledger", "search"])
@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "status", "status": 503},
        {"kind": "status", "status": 500},
        {"kind": "drop"},
        {"kind": "latency", "ms": 1500},
        {"kind": "rate_limit", "retry_after": 1},
        {"kind": "unreadable"},
    ],
    ids=["503", "500", "dropped", "timeout", "429", "unreadable"],
)
def test_a_failed_loop_history_read_is_made_again_in_a_thread(
    client: TestClient,
    seeded: Seeded,
    hops: HopCounter,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    fault: dict[str, Any],
) -> None:
    """One failed attempt on the loop: the blocking path answers right; every call counted."""
    ticket_id = history_ticket(client, seeded, capsys)
    expected = guidance(client, seeded, ticket_id)
    access_calls(capsys)
    if fault["kind"] == "unreadable":
        unreadable_on_loop(monkeypatch, path)
    else:
        seeded.emulator.store.set_faults([{**fault, "method": "GET", "path": path, "times": 1}])
    waited = fault["kind"] == "rate_limit"
    assert_answered_in_a_thread(
        client, seeded, capsys, hops, ticket_id, expected, calls=4, waited=waited
    )
    cache = read_cache(client)
    assert len(cache.ledger) == len(cache.search) == 1  # both reads kept, from either path


def test_a_long_rate_limit_on_the_ledger_is_503_at_once(
    client: TestClient, seeded: Seeded, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 429 past the wait budget on the loop's ledger read: 503, no wait, no more calls."""
    ticket_id = history_ticket(client, seeded, capsys)
    # The ticket read, then the ledger's one attempt.
    assert_rate_limited_at_once(client, seeded, capsys, ticket_id, LEDGER_PATH, calls=2)


@pytest.mark.parametrize("change", ["drop", "clear"])
def test_a_loop_read_made_stale_before_the_load_used_it_is_not_cached(
    client: TestClient,
    seeded: Seeded,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    change: str,
) -> None:
    """A claim (drop) or a removal (clear) while the loop read: the answer is not kept."""
    ticket_id = history_ticket(client, seeded, capsys)
    expected = guidance(client, seeded, ticket_id).json()
    cache = read_cache(client)
    (origin,) = list(cache.ledger._entries)
    original = ZenpyGateway.list_reconnections_nowait

    async def read_then_change(self: ZenpyGateway, origin_call_id: str) -> NowaitList[Any]:
        read = await original(self, origin_call_id)
        # After the read began, before the load uses it: what a claim or removal does.
        if change == "drop":
            cache.ledger.drop(origin_call_id)
        else:
            cache.clear()
        return read

    monkeypatch.setattr(ZenpyGateway, "list_reconnections_nowait", read_then_change)
    cache.clear()
    assert guidance(client, seeded, ticket_id).json() == expected
    assert cache.ledger.get(origin) is None
    assert len(cache.search) == 1  # the search began after the change: kept
    monkeypatch.undo()
    cache.clear()
    guidance(client, seeded, ticket_id)
    assert cache.ledger.get(origin) is not None  # without the change it is kept


@pytest.mark.parametrize("fault", [None, {"kind": "status", "status": 503}], ids=["loop", "thread"])
def test_a_load_run_again_parses_and_chooses_once(
    client: TestClient,
    seeded: Seeded,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fault: dict[str, Any] | None,
) -> None:
    """The runs of one GET (on the loop, then maybe in a thread) reuse the first's parse."""
    ticket_id = history_ticket(client, seeded, capsys)
    expected = guidance(client, seeded, ticket_id).json()
    counts = {"parse_record": 0, "choose_ticket_guide": 0}
    for name in counts:
        original = getattr(service, name)

        def counted(*args: Any, _name: str = name, _original: Any = original) -> Any:
            counts[_name] += 1
            return _original(*args)

        monkeypatch.setattr(service, name, counted)
    if fault is not None:
        seeded.emulator.store.set_faults(
            [{**fault, "method": "GET", "path": SEARCH_PATH, "times": 1}]
        )
    assert guidance(client, seeded, ticket_id).json() == expected
    assert counts == {"parse_record": 1, "choose_ticket_guide": 1}
