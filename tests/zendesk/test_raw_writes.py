"""The raw safe-update write sends what Zenpy sent, byte for byte, and reads the answer alike."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from zenpy.lib.api_objects import Comment, Ticket

from backend.emulator.server import EmulatorServer
from backend.errors import (
    ConflictError,
    TicketNotFoundError,
    WriteNotHeldError,
    ZendeskUnavailableError,
)
from backend.zendesk.gateway import JSONScalar, TicketUpdate
from backend.zendesk.shapes import ticket_update_payload
from backend.zendesk.zenpy_gateway import ZenpyGateway

GatewayFactory = Callable[..., ZenpyGateway]


def _zenpy_ticket(update: TicketUpdate) -> Ticket:
    """The partial Zenpy Ticket the gateway sent before the raw write (the old code)."""
    ticket = Ticket(id=update.ticket_id, safe_update=True, updated_stamp=update.updated_stamp)
    if update.tags is not None:
        ticket.tags = list(update.tags)
    if update.custom_fields:
        ticket.custom_fields = [
            {"id": field_id, "value": value} for field_id, value in update.custom_fields.items()
        ]
    if update.note_body is not None:
        ticket.comment = Comment(body=update.note_body, public=update.note_public)
        if update.note_author_id is not None:
            ticket.comment.author_id = update.note_author_id
    return ticket


def _requests_body(payload: Any) -> bytes:
    """What `requests` puts on the wire for `json=payload`."""
    prepared = requests.Request("PUT", "https://x.zendesk.com/", json=payload).prepare()
    assert isinstance(prepared.body, bytes)
    return prepared.body


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
UPDATES = st.builds(
    TicketUpdate,
    ticket_id=st.integers(1, 2**40),
    updated_stamp=st.text(max_size=25),
    tags=st.one_of(st.none(), st.tuples(st.text(max_size=10)) | st.lists(st.text()).map(tuple)),
    custom_fields=st.dictionaries(st.integers(1, 2**40), SCALARS, max_size=4),
    note_body=st.one_of(st.none(), st.text()),
    note_public=st.booleans(),
    note_author_id=st.one_of(st.none(), st.integers(1, 2**40)),
)


@settings(max_examples=300, deadline=None)
@given(update=UPDATES)
def test_the_raw_body_is_zenpys_body(update: TicketUpdate) -> None:
    """For any update, the raw body's bytes equal those Zenpy sent for the old partial Ticket."""
    zenpy = ZenpyGateway(subdomain="acme", email="a@example.com", token="t")
    try:
        api = zenpy._client().tickets
        # zenpy's TicketApi.update: build_payload wraps the serialized object, _put
        # serializes the payload again, requests encodes it (json=).
        old = _requests_body(api._serialize({"ticket": api._serialize(_zenpy_ticket(update))}))
    finally:
        zenpy.close()
    # What the raw path puts on the wire (transport._send_direct).
    new = json.dumps({"ticket": ticket_update_payload(update)}, allow_nan=False).encode("utf-8")
    assert new == old


def _recorded(gateway: ZenpyGateway) -> list[requests.Response]:
    seen: list[requests.Response] = []
    gateway._session().hooks["response"].append(lambda r, *a, **k: seen.append(r))
    return seen


def _fresh_tickets(emulator: EmulatorServer, count: int) -> list[dict[str, Any]]:
    tickets = [
        emulator.store.create_ticket({"subject": "s", "comment": {"body": "b"}, "tags": ["vip"]})
        for _ in range(count)
    ]
    time.sleep(1.05)  # past the stamps' second: no wait_past_stamp in the timings below
    return tickets


@pytest.mark.parametrize(
    "change",
    [
        {"tags": ("vip", "gp_x"), "note_body": '가이드 "노트"\n<b>&</b>', "note_author_id": 7},
        {"tags": (), "note_body": None},
        {"tags": None, "note_body": "x", "note_public": True},
        {"fields": ["v", None, "true", "1.5"], "tags": ("a",), "note_body": "n"},
    ],
)
def test_the_wire_carries_zenpys_request(
    gateway: ZenpyGateway, emulator: EmulatorServer, change: dict[str, Any]
) -> None:
    """Method, URL, headers and body of the raw PUT equal those of Zenpy's tickets.update."""
    fields = [
        emulator.store.create_field({"type": "text", "title": f"f{n}"})["id"]
        for n in range(len(change.get("fields", [])))
    ]
    values: dict[int, JSONScalar] = dict(zip(fields, change.get("fields", []), strict=True))
    first, second = _fresh_tickets(emulator, 2)
    seen = _recorded(gateway)

    def update(ticket: dict[str, Any]) -> TicketUpdate:
        return TicketUpdate(
            ticket["id"],
            ticket["updated_at"],
            tags=change["tags"],
            custom_fields=values,
            note_body=change["note_body"],
            note_public=change.get("note_public", False),
            note_author_id=change.get("note_author_id"),
        )

    gateway._client().tickets.update(_zenpy_ticket(update(first)))
    written = gateway.update_ticket(update(second))
    old, new = (response.request for response in seen)
    assert isinstance(old.body, bytes)
    # The same request for the second ticket: its id and stamp in place of the first's.
    expected = old.body.replace(
        f'"id": {first["id"]}'.encode(), f'"id": {second["id"]}'.encode()
    ).replace(first["updated_at"].encode(), second["updated_at"].encode())
    assert (new.method, new.body) == (old.method, expected)
    assert new.url == str(old.url).replace(f"/{first['id']}.json", f"/{second['id']}.json")
    assert dict(new.headers) == dict(old.headers)
    assert written == gateway.get_ticket(second["id"])


def test_a_write_costs_one_counted_call(gateway: ZenpyGateway, emulator: EmulatorServer) -> None:
    """One PUT, counted by the gateway and by the emulator; the answer's ticket is returned."""
    (ticket,) = _fresh_tickets(emulator, 1)
    gateway.calls = 0
    before = emulator.store.counters()["total"]
    written = gateway.update_ticket(
        TicketUpdate(ticket["id"], ticket["updated_at"], tags=("a", "b"), note_body="n")
    )
    assert gateway.calls == emulator.store.counters()["total"] - before == 1
    assert written.tags == ("a", "b")
    assert written.updated_at != ticket["updated_at"]


def test_a_dropped_value_is_not_held(gateway: ZenpyGateway, emulator: EmulatorServer) -> None:
    """Zendesk answers 200 but drops a dropdown value that is no option: WriteNotHeldError."""
    field = emulator.store.create_field(
        {
            "type": "tagger",
            "title": "d",
            "custom_field_options": [{"name": "A", "value": "opt_a"}],
        }
    )
    (ticket,) = _fresh_tickets(emulator, 1)
    with pytest.raises(WriteNotHeldError):
        gateway.update_ticket(
            TicketUpdate(ticket["id"], ticket["updated_at"], custom_fields={field["id"]: "nope"})
        )


def test_a_replayed_write_is_a_conflict_and_adds_no_note(
    gateway: ZenpyGateway, emulator: EmulatorServer
) -> None:
    """The same safe update twice (a double click): the second answers 409, one note."""
    (ticket,) = _fresh_tickets(emulator, 1)
    update = TicketUpdate(ticket["id"], ticket["updated_at"], tags=("a",), note_body="once")
    gateway.update_ticket(update)
    with pytest.raises(ConflictError):
        gateway.update_ticket(update)
    assert [c.body for c in gateway.list_comments(ticket["id"]) if not c.public] == ["once"]


@pytest.mark.parametrize(
    ("fault", "error", "puts"),
    [
        ({"kind": "status", "status": 503, "method": "PUT"}, ZendeskUnavailableError, 3),
        ({"kind": "drop", "method": "PUT"}, ZendeskUnavailableError, 3),
        ({"kind": "status", "status": 404, "method": "PUT", "times": 1}, TicketNotFoundError, 1),
        ({"kind": "conflict", "method": "PUT", "times": 1}, ConflictError, 1),
    ],
)
def test_write_failures_keep_their_retries_and_errors(
    gateway: ZenpyGateway,
    emulator: EmulatorServer,
    fault: dict[str, Any],
    error: type[Exception],
    puts: int,
) -> None:
    """A safe-update PUT is retried on 5xx / dropped connections (1 + 2 retries), not on 4xx."""
    (ticket,) = _fresh_tickets(emulator, 1)
    emulator.store.set_faults([fault])
    with pytest.raises(error):
        gateway.update_ticket(TicketUpdate(ticket["id"], ticket["updated_at"], tags=("a",)))
    routes: dict[str, int] = emulator.store.counters()["by_route"]
    assert routes["PUT /api/v2/tickets/{id}"] == puts


def test_an_answer_without_a_ticket_is_unavailable(
    gateway: ZenpyGateway, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 200 whose JSON holds no ticket is an unreadable answer, not a crash."""
    (ticket,) = _fresh_tickets(emulator, 1)
    monkeypatch.setattr(ZenpyGateway, "request_json", lambda *a, **k: {"audit": {}})
    with pytest.raises(ZendeskUnavailableError) as info:
        gateway.update_ticket(TicketUpdate(ticket["id"], ticket["updated_at"], tags=("a",)))
    assert "unexpected answer" in info.value.detail
