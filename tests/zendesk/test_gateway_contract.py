"""One gateway contract for every Zendesk: the fake, Zenpy + emulator, and a live sandbox.

Each test runs three times (`[fake]`, `[emulator]`, `[live]`); the live run is skipped
with one line unless GUIDEPOST_LIVE_ZENDESK_URL/EMAIL/TOKEN are set (`make test-live`,
see docs/LIVE_ZENDESK.md). Everything a test creates carries a unique prefix and is
removed afterwards on a live account.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from contract_helpers import Backend, WriteSpy

from backend.bootstrap import bootstrap_fields
from backend.domain.fields import FieldCatalog, load_field_catalog
from backend.errors import ConflictError, WriteNotHeldError, ZendeskRejectedError
from backend.macro_sync.generator import build_desired
from backend.macro_sync.sync import sync_macros
from backend.settings import REPO_ROOT
from backend.zendesk.fake_gateway import FakeGateway
from backend.zendesk.gateway import (
    FieldOption,
    FieldRecord,
    FieldSpec,
    MacroAction,
    NewTicket,
    ReconnectionClaim,
    TicketRecord,
    TicketUpdate,
)


@pytest.fixture(scope="module")
def catalog() -> FieldCatalog:
    return load_field_catalog(REPO_ROOT / "macros" / "fields.yaml")


def _ticket(backend: Backend, tags: tuple[str, ...] = ()) -> TicketRecord:
    gateway = backend.gateway
    created: TicketRecord = gateway.create_ticket(
        NewTicket(
            subject=f"[{backend.prefix}] contract",
            description="Guidepost contract test ticket",
            tags=(backend.prefix, *tags),
        )
    )
    if backend.name == "live":
        backend.later(
            lambda: gateway.request_json(
                "DELETE", f"/api/v2/tickets/{created.id}.json", "other", ""
            )
        )
    return created


def _dropdown(backend: Backend) -> FieldRecord:
    gateway = backend.gateway
    spec = FieldSpec(
        type="tagger",
        title=f"{backend.prefix} kind",
        options=(
            FieldOption("A", f"{backend.prefix}_kind_a"),
            FieldOption("B", f"{backend.prefix}_kind_b"),
        ),
    )
    record: FieldRecord = gateway.create_ticket_field(spec)
    if backend.name == "live":
        backend.later(
            lambda: gateway.request_json(
                "DELETE", f"/api/v2/ticket_fields/{record.id}.json", "other", ""
            )
        )
    return record


def _notes(backend: Backend, ticket_id: int) -> list[str]:
    return [c.body for c in backend.gateway.list_comments(ticket_id) if not c.public]


def test_update_replaces_tags_and_adds_one_note(backend: Backend) -> None:
    """`tags` replaces the list on a single update (ERRATA 1); the note is internal."""
    ticket = _ticket(backend, tags=("keep",))
    tags = (*ticket.tags, f"{backend.prefix}_new")
    written = backend.gateway.update_ticket(
        TicketUpdate(ticket.id, ticket.updated_at, tags=tags, note_body="one note")
    )
    assert set(written.tags) == set(tags)
    assert _notes(backend, ticket.id) == ["one note"]
    again = backend.gateway.get_ticket(ticket.id)
    assert again.updated_at == written.updated_at


def test_the_note_is_authored_by_the_applying_agent(backend: Backend) -> None:
    """Update Ticket's `comment.author_id` reaches Zendesk and comes back on the comment."""
    if backend.name == "live":
        pytest.skip("needs a second agent on the live account")
    ticket = _ticket(backend)
    applying_agent = 1_001_077
    backend.gateway.update_ticket(
        TicketUpdate(
            ticket.id, ticket.updated_at, note_body="by the agent", note_author_id=applying_agent
        )
    )
    comments = backend.gateway.list_comments(ticket.id)
    notes = [(c.body, c.author_id) for c in comments if not c.public]
    assert notes == [("by the agent", applying_agent)]
    # Without an author the API user writes (the description here): not the agent.
    assert comments[0].author_id not in (None, applying_agent)


def test_stale_stamp_is_a_conflict(backend: Backend) -> None:
    """safe_update + an old updated_stamp → 409 ConflictError, nothing written."""
    ticket = _ticket(backend)
    moved = (*ticket.tags, "moved")
    backend.gateway.update_ticket(TicketUpdate(ticket.id, ticket.updated_at, tags=moved))
    later = backend.gateway.get_ticket(ticket.id)
    assert later.updated_at != ticket.updated_at
    with pytest.raises(ConflictError):
        backend.gateway.update_ticket(
            TicketUpdate(ticket.id, ticket.updated_at, tags=ticket.tags, note_body="late")
        )
    assert _notes(backend, ticket.id) == []


def test_same_second_writes_stay_exactly_once(backend: Backend) -> None:
    """Two writers holding one stamp: the second gets 409 even within one second.

    `updated_at` has whole seconds; a write in the stamp's own second would leave it
    unchanged and let the second writer through (a double note). Fails on the code
    before this change: the emulator moved `updated_at` by a second on every write, so
    the double write could not be seen, and the gateway did not wait out the second.
    """
    if isinstance(backend.gateway, FakeGateway):
        backend.gateway.tick_per_write = False  # freeze time: every write in one second
    ticket = _ticket(backend)
    first = TicketUpdate(ticket.id, ticket.updated_at, tags=ticket.tags, note_body="first")
    backend.gateway.update_ticket(first)
    with pytest.raises(ConflictError):
        backend.gateway.update_ticket(
            TicketUpdate(ticket.id, ticket.updated_at, tags=ticket.tags, note_body="second")
        )
    assert _notes(backend, ticket.id) == ["first"]


def test_dropped_dropdown_value_is_an_error_not_applied(backend: Backend) -> None:
    """Zendesk answers 200 and drops a value that is no option: the gateway says so.

    Fails on the code before this change: the emulator and the fake answered 422,
    while Zendesk answers 200 — and the write-back counted that 200 as applied.
    """
    field = _dropdown(backend)
    ticket = _ticket(backend)
    with pytest.raises(WriteNotHeldError, match="did not keep"):
        backend.gateway.update_ticket(
            TicketUpdate(
                ticket.id,
                ticket.updated_at,
                custom_fields={field.id: f"{backend.prefix}_no_such_option"},
            )
        )
    assert backend.gateway.get_ticket(ticket.id).custom_fields.get(field.id) is None
    again = backend.gateway.get_ticket(ticket.id)
    held = backend.gateway.update_ticket(
        TicketUpdate(
            ticket.id, again.updated_at, custom_fields={field.id: f"{backend.prefix}_kind_a"}
        )
    )
    assert held.custom_fields[field.id] == f"{backend.prefix}_kind_a"


def test_ledger_is_read_consistently_and_refuses_a_second_claim(backend: Backend) -> None:
    """A claim is listed by external id at once; a second claim on one 원콜 is refused."""
    gateway = backend.gateway
    gateway.ensure_ledger()
    assert gateway.ensure_ledger() is False
    origin = f"{backend.prefix}-7001"
    first = gateway.create_reconnection(ReconnectionClaim(origin, "7002", 11, "agent"))
    backend.later(lambda: gateway.delete_reconnection(first.id))
    assert [r.id for r in gateway.list_reconnections(origin)] == [first.id]
    listed = gateway.list_reconnections(origin)[0]
    assert (listed.origin_call_id, listed.forced_call_id, listed.ticket_id) == (origin, "7002", 11)
    # Zendesk: "The external_id must be unique for each custom object record".
    with pytest.raises(ZendeskRejectedError):
        gateway.create_reconnection(ReconnectionClaim(origin, "7003", 12))
    assert [r.id for r in gateway.list_reconnections(origin)] == [first.id]
    assert gateway.list_reconnections(f"{backend.prefix}-other") == []
    gateway.delete_reconnection(first.id)
    gateway.delete_reconnection(first.id)  # already gone: still a success
    assert gateway.list_reconnections(origin) == []


def test_search_lags_but_the_ledger_does_not(backend: Backend) -> None:
    """With a 60 s indexing lag, search misses a new ticket; the ledger lists a new claim.

    Fails on the code before this change: the emulator's and the fake's search were
    live, so nothing could show the once-only rule resting on a lagging index.
    """
    if backend.store is None:
        pytest.skip("the live account's indexing lag cannot be set")
    backend.store.search_lag_seconds = 60.0
    ticket = _ticket(backend, tags=("fr_origin_424242", "fr_forced"))
    assert backend.gateway.search_tickets("tags:fr_origin_424242") == []
    backend.gateway.ensure_ledger()
    backend.gateway.create_reconnection(ReconnectionClaim("424242", "1", ticket.id))
    assert len(backend.gateway.list_reconnections("424242")) == 1
    if isinstance(backend.gateway, FakeGateway):
        backend.gateway.clock.advance(61)
        assert [t.id for t in backend.gateway.search_tickets("tags:fr_origin_424242")] == [
            ticket.id
        ]


def test_bootstrap_twice_writes_nothing(
    backend: Backend, catalog: FieldCatalog, tmp_path: Path
) -> None:
    """`fields bootstrap` (fields + ledger): the second run sends no write at all."""
    gateway = backend.gateway
    before = {f.id for f in gateway.list_ticket_fields()}
    if backend.name == "live":

        def remove_new_fields() -> None:
            for record in gateway.list_ticket_fields():
                if record.id not in before:
                    gateway.request_json(
                        "DELETE", f"/api/v2/ticket_fields/{record.id}.json", "other", ""
                    )

        backend.later(remove_new_fields)
    first = bootstrap_fields(gateway, catalog, tmp_path / "first.json")
    spy = WriteSpy(gateway)
    second = bootstrap_fields(spy, catalog, tmp_path / "second.json")
    assert spy.writes == []
    assert second == first


def test_bootstrap_adds_the_fields_to_the_named_ticket_forms(
    backend: Backend, catalog: FieldCatalog, tmp_path: Path
) -> None:
    """Fields created by bootstrap are added to GUIDEPOST_TICKET_FORM_IDS' forms, once.

    Fails on the code before this change: created fields were on no form, so agents
    on a multi-form account could not edit them.
    """
    if backend.store is None:
        form_id = int(os.environ.get("GUIDEPOST_LIVE_TICKET_FORM_ID") or 0)
        if not form_id:
            pytest.skip("set GUIDEPOST_LIVE_TICKET_FORM_ID to a sandbox form to run this live")
        original = backend.gateway.get_ticket_form(form_id).ticket_field_ids
        backend.later(lambda: backend.gateway.set_ticket_form_fields(form_id, original))
    else:
        subject = next(f["id"] for f in backend.store.fields() if f["type"] == "subject")
        form_id = backend.store.create_ticket_form(
            {"name": "Default", "ticket_field_ids": [subject]}
        )["id"]
    field_map = bootstrap_fields(
        backend.gateway, catalog, tmp_path / "map.json", form_ids=[form_id]
    )
    shown = backend.gateway.get_ticket_form(form_id).ticket_field_ids
    assert set(field_map.values()) <= set(shown)
    spy = WriteSpy(backend.gateway)
    bootstrap_fields(spy, catalog, tmp_path / "map.json", form_ids=[form_id])
    assert spy.writes == []


def test_macro_sync_twice_writes_nothing(backend: Backend) -> None:
    """A synced macro compares equal on the next run (Zendesk may normalise it)."""
    prefix = backend.prefix
    desired = [
        build_desired(
            f"{prefix}/branch/reply",
            f"{prefix}::contract::reply",
            [
                MacroAction("comment_value_html", "<p>안녕하세요 {{ticket.id}}</p>"),
                MacroAction("comment_mode_is_public", "false"),
                MacroAction("current_tags", f"{prefix}_tag"),
            ],
        )
    ]
    first = sync_macros(backend.gateway, desired)
    assert first.error is None
    assert len(first.done) == 1
    if backend.name == "live":
        gateway = backend.gateway
        for macro in gateway.list_macros():
            if macro.title.startswith(prefix):
                backend.later(lambda macro_id=macro.id: gateway.delete_macro(macro_id))
    spy = WriteSpy(backend.gateway)
    second = sync_macros(spy, desired)
    assert second.error is None
    assert second.plan is not None
    assert second.plan.writes == []
    assert spy.writes == []
