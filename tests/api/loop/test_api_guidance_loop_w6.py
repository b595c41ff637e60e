"""GET guidance reads the ticket on the event loop (issue 16, wave 6): same answers, fewer hops.

Against the real emulator and the real gateway (`create_app`, no gateway override): every
demo ticket answers exactly as the threadpool path does, with the same access-log call
count; no load makes a threadpool hop (wave 7: a 원콜's history is read on the loop too);
a 429 / 5xx / timeout / dropped connection on the loop attempt still gives the right
answer through the blocking path (the failed attempt counted), and a 404 the same
problem+json as before.
"""

from __future__ import annotations

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

from backend.zendesk.zenpy_gateway import ZenpyGateway

TICKET_PATH = r"^/api/v2/tickets/\d+(\.json)?$"


def test_every_demo_answer_is_the_threadpool_answer(
    client: TestClient,
    seeded: Seeded,
    hops: HopCounter,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Same status, body and access-log calls; 0 hops for every load, history or not."""
    guidance(client, seeded, seeded.ticket_ids[0])  # permissions read and cached
    on_loop: dict[int, tuple[int, Any, int, int]] = {}
    access_calls(capsys)
    for ticket_id in seeded.ticket_ids:
        before = hops.hops
        answer = guidance(client, seeded, ticket_id)
        (calls,) = access_calls(capsys)
        on_loop[ticket_id] = (answer.status_code, answer.json(), calls, hops.hops - before)
    # The gateway without its loop read: every load in the threadpool, as before.
    monkeypatch.delattr(ZenpyGateway, "get_ticket_nowait")
    kinds = set()
    for ticket_id in seeded.ticket_ids:
        before = hops.hops
        answer = guidance(client, seeded, ticket_id)
        (calls,) = access_calls(capsys)
        status, body, loop_calls, loop_hops = on_loop[ticket_id]
        assert (status, body, loop_calls) == (answer.status_code, answer.json(), calls)
        assert hops.hops - before == 1
        # Wave 7: a 원콜's history is read on the loop too (test_api_history_loop_w7.py).
        assert loop_hops == 0, (ticket_id, calls)
        kinds.add(calls)
    assert kinds == {1, 3}  # both kinds of load were compared


def test_apply_reuses_the_record_the_loop_read(
    client: TestClient, seeded: Seeded, capsys: pytest.CaptureFixture[str]
) -> None:
    """The read cache holds the loop's record: apply after it reads no ticket again."""
    ticket_id = seeded.ticket_ids[0]
    guidance(client, seeded, ticket_id)
    seen = guidance(client, seeded, ticket_id).json()
    cache = client.app.state.read_cache  # type: ignore[attr-defined]
    record = cache.records.get(ticket_id)
    assert record is not None
    assert record.updated_at == seen["ticket_updated_at"]


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "status", "status": 503},
        {"kind": "status", "status": 500},
        {"kind": "drop"},
        {"kind": "latency", "ms": 1500},
        {"kind": "rate_limit", "retry_after": 1},
    ],
    ids=["503", "500", "dropped", "timeout", "429"],
)
def test_a_failed_loop_read_is_made_again_in_a_thread(
    client: TestClient,
    seeded: Seeded,
    hops: HopCounter,
    capsys: pytest.CaptureFixture[str],
    fault: dict[str, Any],
) -> None:
    """One failed attempt on the loop: the blocking path answers right; both calls counted."""
    ticket_id = seeded.ticket_ids[0]
    expected = guidance(client, seeded, ticket_id)
    access_calls(capsys)
    seeded.emulator.store.set_faults([{**fault, "method": "GET", "path": TICKET_PATH, "times": 1}])
    waited = fault["kind"] == "rate_limit"
    assert_answered_in_a_thread(
        client, seeded, capsys, hops, ticket_id, expected, calls=2, waited=waited
    )


def test_a_long_rate_limit_is_503_at_once(
    client: TestClient, seeded: Seeded, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 429 past the wait budget: 503 with its Retry-After, after one call, no wait."""
    ticket_id = seeded.ticket_ids[0]
    guidance(client, seeded, ticket_id)
    access_calls(capsys)
    assert_rate_limited_at_once(client, seeded, capsys, ticket_id, TICKET_PATH, calls=1)


def test_a_missing_ticket_is_the_same_404(
    client: TestClient,
    seeded: Seeded,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The loop read's 404 is the blocking read's problem+json, one call each."""
    guidance(client, seeded, seeded.ticket_ids[0])
    access_calls(capsys)
    missing = max(seeded.ticket_ids) + 10_000
    on_loop = guidance(client, seeded, missing)
    loop_calls = access_calls(capsys)
    monkeypatch.delattr(ZenpyGateway, "get_ticket_nowait")
    in_thread = guidance(client, seeded, missing)
    assert on_loop.status_code == 404
    assert on_loop.headers["content-type"] == in_thread.headers["content-type"]
    assert on_loop.json() == in_thread.json()
    assert loop_calls == access_calls(capsys) == [1]
