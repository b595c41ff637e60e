"""An in-process `ZendeskGateway` for fast tests: a thin adapter over the emulator's store.

There is one model of Zendesk in this project, `backend.emulator.store.EmulatorStore`;
this fake speaks to it directly (no HTTP) with the same payloads the Zenpy adapter
sends, and reads its answers with the same `backend.zendesk.shapes` readers. What it
adds is only what tests need: a manual clock (one second per write unless told
otherwise), call counting like the real adapter, queued failures, set-up helpers, and
custom fields created on the fly for field maps made up by unit tests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, TypeVar

from backend.emulator.clock import DEFAULT_START, ManualClock
from backend.emulator.shapes import ApiError
from backend.emulator.store import EmulatorStore
from backend.errors import NotFoundError
from backend.zendesk.gateway import (
    ArticleRecord,
    CommentRecord,
    FieldRecord,
    FieldSpec,
    JSONScalar,
    MacroRecord,
    MacroSpec,
    NewTicket,
    ReconnectionClaim,
    ReconnectionRecord,
    TicketFormRecord,
    TicketRecord,
    TicketUpdate,
)
from backend.zendesk.shapes import (
    LEDGER_FIELDS,
    LEDGER_KEY,
    LEDGER_TITLE,
    LEDGER_TITLE_PLURAL,
    Resource,
    article_from_json,
    comment_from_json,
    error_for_status,
    field_from_json,
    form_from_json,
    ledger_record_payload,
    macro_from_json,
    parse_zendesk_time,
    reconnection_from_json,
    ticket_from_json,
    verify_written,
)

PAGE_SIZE = 100
# Unit tests run without Zendesk's limits (an account budget above every real plan).
UNLIMITED_PER_MINUTE = 1_000_000
T = TypeVar("T")


def _pages(count: int) -> int:
    """Count the pages a paginated list of `count` items takes (at least one)."""
    return max(1, -(-count // PAGE_SIZE))


class FakeGateway:
    """`ZendeskGateway` over an in-process `EmulatorStore`; thread-safe, deterministic."""

    def __init__(
        self,
        start: datetime | None = None,
        *,
        search_lag_seconds: float = 0.0,
        unique_external_ids: bool = True,
        tick_per_write: bool = True,
        ledger: bool = True,
        lenient_fields: bool = True,
    ) -> None:
        self.clock = ManualClock(start or DEFAULT_START)
        self.store = EmulatorStore(
            rate_limit_per_minute=UNLIMITED_PER_MINUTE,
            search_lag_seconds=search_lag_seconds,
            unique_external_ids=unique_external_ids,
            clock=self.clock,
        )
        self.tick_per_write = tick_per_write
        self.lenient_fields = lenient_fields
        self._lock = threading.RLock()
        self._failures: list[tuple[Exception, str | None]] = []
        self._thread = threading.local()
        self.calls = 0
        self.updates: list[TicketUpdate] = []
        if ledger:
            # An account where `fields bootstrap` already ran.
            self._ensure_ledger()

    # ---- helpers for tests -------------------------------------------------------

    def add_ticket(
        self,
        subject: str = "",
        description: str = "",
        *,
        tags: tuple[str, ...] | list[str] = (),
        custom_fields: Mapping[int, JSONScalar] | None = None,
        status: str = "open",
    ) -> TicketRecord:
        """Put a ticket in place without counting a call (test set-up)."""
        with self._lock:
            data = self._ticket_payload(subject, description, tuple(tags), custom_fields or {})
            data["status"] = status
            self._tick()
            created = self._run("other", "ticket set-up", lambda: self.store.create_ticket(data))
            return ticket_from_json(created)

    def touch_ticket(self, ticket_id: int, **changes: Any) -> TicketRecord:
        """Simulate another agent's edit: move updated_at (and apply `changes`)."""
        with self._lock:
            data: dict[str, Any] = {}
            for key in ("subject", "status", "tags"):
                if key in changes:
                    data[key] = list(changes[key]) if key == "tags" else changes[key]
            if "custom_fields" in changes:
                self._ensure_fields(changes["custom_fields"])
                data["custom_fields"] = [
                    {"id": k, "value": v} for k, v in changes["custom_fields"].items()
                ]
            self._tick()
            what = f"ticket {ticket_id}"
            if data:
                self._run("ticket", what, lambda: self.store.update_ticket(ticket_id, data))
            return ticket_from_json(
                self._run("ticket", what, lambda: self.store.touch_ticket(ticket_id))
            )

    def add_article(self, locale: str, article_id: int, title: str, body: str) -> ArticleRecord:
        """Put a Help Center article in place (test set-up)."""
        with self._lock:
            self._tick()
            return article_from_json(
                self.store.set_article(article_id, locale, title, body), locale
            )

    def fail_next(self, exc: Exception, method: str | None = None) -> None:
        """Make the next call (or the next call of `method`) raise `exc`; queue several."""
        with self._lock:
            self._failures.append((exc, method))

    def field_by_title(self, title: str) -> FieldRecord:
        """Find a ticket field by its title (tests)."""
        for record in self.fields.values():
            if record.title == title:
                return record
        raise KeyError(title)

    @property
    def tickets(self) -> dict[int, TicketRecord]:
        """Every ticket by id, as the store holds it now."""
        return {t["id"]: ticket_from_json(t) for t in self.store.list_tickets()}

    @property
    def comments(self) -> dict[int, list[CommentRecord]]:
        """Every ticket's comments, oldest first."""
        return {
            ticket_id: [comment_from_json(c) for c in self.store.comments(ticket_id)]
            for ticket_id in self.tickets
        }

    @property
    def fields(self) -> dict[int, FieldRecord]:
        """Every ticket field by id, system fields included."""
        return {f["id"]: field_from_json(f) for f in self.store.fields()}

    @property
    def macros(self) -> dict[int, MacroRecord]:
        """Every macro by id."""
        return {m["id"]: macro_from_json(m) for m in self.store.macros()}

    @property
    def thread_calls(self) -> int:
        """Count the requests made by the calling thread (per-request logging)."""
        count: int = getattr(self._thread, "calls", 0)
        return count

    # ---- ZendeskGateway: tickets ----------------------------------------------------

    def get_ticket(self, ticket_id: int) -> TicketRecord:
        """Read one ticket; TicketNotFoundError when it does not exist."""
        self._call("get_ticket")
        found = self.store.get_ticket(ticket_id)
        if found is None:
            raise error_for_status(404, None, "ticket", f"ticket {ticket_id}")
        return ticket_from_json(found)

    def update_ticket(self, update: TicketUpdate) -> TicketRecord:
        """Write one safe update, then check the answer holds what was sent."""
        with self._lock:
            self._call("update_ticket")
            self._ensure_fields(update.custom_fields)
            payload: dict[str, Any] = {"safe_update": True, "updated_stamp": update.updated_stamp}
            if update.tags is not None:
                payload["tags"] = list(update.tags)
            if update.custom_fields:
                payload["custom_fields"] = [
                    {"id": k, "value": v} for k, v in update.custom_fields.items()
                ]
            if update.note_body is not None:
                payload["comment"] = {"body": update.note_body, "public": update.note_public}
                if update.note_author_id is not None:
                    payload["comment"]["author_id"] = update.note_author_id
            self._tick()
            self._wait_past_stamp(update.updated_stamp)
            ticket, _ = self._run(
                "ticket",
                f"update of ticket {update.ticket_id}",
                lambda: self.store.update_ticket(update.ticket_id, payload),
            )
            written = ticket_from_json(ticket)
            verify_written(update, written)
            self.updates.append(update)
            return written

    def create_ticket(self, ticket: NewTicket) -> TicketRecord:
        """Create a ticket (demo data and tests)."""
        with self._lock:
            self._call("create_ticket")
            data = self._ticket_payload(
                ticket.subject, ticket.description, ticket.tags, ticket.custom_fields
            )
            self._tick()
            return ticket_from_json(
                self._run("other", "ticket creation", lambda: self.store.create_ticket(data))
            )

    def list_comments(self, ticket_id: int) -> list[CommentRecord]:
        """Every comment of a ticket, oldest first."""
        self._call("list_comments")
        found = self._run(
            "ticket", f"comments of ticket {ticket_id}", lambda: self.store.comments(ticket_id)
        )
        self._count(_pages(len(found)) - 1)
        return [comment_from_json(c) for c in found]

    def search_tickets(self, query: str) -> list[TicketRecord]:
        """Every ticket the query finds (with the store's indexing lag)."""
        self._call("search_tickets")
        if "type:" not in query:
            query = f"type:ticket {query}"
        found = self._run("other", "ticket search", lambda: self.store.search(query))
        self._count(_pages(len(found)) - 1)
        return [ticket_from_json(t) for t in found]

    # ---- ZendeskGateway: fields, macros, articles ---------------------------------------

    def list_ticket_fields(self) -> list[FieldRecord]:
        """Every ticket field of the account, system fields included."""
        self._call("list_ticket_fields")
        found = self.store.fields()
        self._count(_pages(len(found)) - 1)
        return [field_from_json(f) for f in found]

    def create_ticket_field(self, spec: FieldSpec) -> FieldRecord:
        """Create a custom ticket field."""
        self._call("create_ticket_field")
        data: dict[str, Any] = {
            "type": spec.type,
            "title": spec.title,
            "description": spec.description,
            "active": spec.active,
        }
        if spec.options:
            data["custom_field_options"] = _options(spec)
        what = f"creation of ticket field {spec.title!r}"
        return field_from_json(self._run("other", what, lambda: self.store.create_field(data)))

    def update_ticket_field(self, field_id: int, spec: FieldSpec) -> FieldRecord:
        """Replace a field's title, description, options and active flag (no type: fixed)."""
        self._call("update_ticket_field")
        data: dict[str, Any] = {
            "title": spec.title,
            "description": spec.description,
            "active": spec.active,
        }
        if spec.type in ("tagger", "multiselect"):
            data["custom_field_options"] = _options(spec)
        return field_from_json(
            self._run(
                "other", f"ticket field {field_id}", lambda: self.store.update_field(field_id, data)
            )
        )

    def list_macros(self) -> Iterator[MacroRecord]:
        """Every macro, page by page: one call per page of 100, counted lazily."""
        self._call("list_macros")
        snapshot = sorted(self.store.macros(), key=lambda m: int(m["id"]))
        for index, macro in enumerate(snapshot):
            if index and index % PAGE_SIZE == 0:
                self._count(1)
            yield macro_from_json(macro)

    def create_macro(self, spec: MacroSpec) -> MacroRecord:
        """Create a macro."""
        self._call("create_macro")
        data = _macro_payload(spec)
        what = f"creation of macro {spec.title!r}"
        return macro_from_json(self._run("other", what, lambda: self.store.create_macro(data)))

    def update_macro(self, macro_id: int, spec: MacroSpec) -> MacroRecord:
        """Replace a macro (the whole actions list)."""
        self._call("update_macro")
        data = _macro_payload(spec)
        return macro_from_json(
            self._run("other", f"macro {macro_id}", lambda: self.store.update_macro(macro_id, data))
        )

    def delete_macro(self, macro_id: int) -> None:
        """Delete a macro."""
        self._call("delete_macro")
        self._run("other", f"macro {macro_id}", lambda: self.store.delete_macro(macro_id))

    def get_article(self, locale: str, article_id: int) -> ArticleRecord:
        """Read a Help Center article."""
        self._call("get_article")
        found = self._run(
            "other",
            f"article {locale}/{article_id}",
            lambda: self.store.get_article(article_id, locale),
        )
        return article_from_json(found, locale)

    # ---- ZendeskGateway: ledger and forms ----------------------------------------------

    def ensure_ledger(self) -> bool:
        """Create the ledger object and its fields when missing; True when it wrote."""
        # Counted like the real adapter: read the object, read its fields, then each write.
        self._call("ensure_ledger")
        self._count(1)
        writes = self._ensure_ledger()
        self._count(writes)
        return writes > 0

    def list_reconnections(self, origin_call_id: str) -> list[ReconnectionRecord]:
        """Every ledger record of a 원콜, lowest id first (1 call)."""
        self._call("list_reconnections")
        found = self._run(
            "other",
            "reconnection ledger",
            lambda: self.store.list_custom_object_records(
                LEDGER_KEY, external_ids=[origin_call_id]
            ),
        )
        records = (reconnection_from_json(r) for r in found)
        return sorted(records, key=ReconnectionRecord.ledger_order)

    def create_reconnection(self, claim: ReconnectionClaim) -> ReconnectionRecord:
        """Record a claim (1 call)."""
        self._call("create_reconnection")
        payload = ledger_record_payload(claim)
        return reconnection_from_json(
            self._run(
                "other",
                "reconnection claim",
                lambda: self.store.create_custom_object_record(LEDGER_KEY, payload),
            )
        )

    def delete_reconnection(self, record_id: str) -> None:
        """Remove a ledger record; one already gone is a success (1 call)."""
        self._call("delete_reconnection")
        try:
            self._run(
                "other",
                f"reconnection record {record_id}",
                lambda: self.store.delete_custom_object_record(LEDGER_KEY, record_id),
            )
        except NotFoundError:
            return

    def get_ticket_form(self, form_id: int) -> TicketFormRecord:
        """Read a ticket form."""
        self._call("get_ticket_form")
        return form_from_json(
            self._run(
                "other", f"ticket form {form_id}", lambda: self.store.get_ticket_form(form_id)
            )
        )

    def set_ticket_form_fields(self, form_id: int, field_ids: tuple[int, ...]) -> TicketFormRecord:
        """Replace the fields a ticket form shows."""
        self._call("set_ticket_form_fields")
        data = {"ticket_field_ids": list(field_ids)}
        return form_from_json(
            self._run(
                "other",
                f"ticket form {form_id}",
                lambda: self.store.update_ticket_form(form_id, data),
            )
        )

    def close(self) -> None:
        """Nothing to release in process."""

    # ---- internals -----------------------------------------------------------------

    def _run(self, resource: Resource, what: str, action: Callable[[], T]) -> T:
        """Call the store, turning its Zendesk-shaped errors into ours (as over HTTP)."""
        try:
            return action()
        except ApiError as exc:
            retry_after = float(exc.headers.get("Retry-After") or 1)
            raise error_for_status(exc.status, exc.body, resource, what, retry_after) from None

    def _call(self, method: str) -> None:
        """Count one request and raise the first queued failure aimed at this call."""
        with self._lock:
            self._count(1)
            for index, (exc, target) in enumerate(self._failures):
                if target is None or target == method:
                    del self._failures[index]
                    raise exc

    def _count(self, requests: int) -> None:
        """Add requests to the total and to the calling thread's count."""
        with self._lock:
            self.calls += requests
        self._thread.calls = self.thread_calls + requests

    def _tick(self) -> None:
        """Let a second pass before a write (unless the test freezes time)."""
        if self.tick_per_write:
            self.clock.advance(1.0)

    def _wait_past_stamp(self, stamp: str) -> None:
        """Like the real adapter: never write within the second of the stamp it carries."""
        stamp_epoch = parse_zendesk_time(stamp)
        if stamp_epoch is not None and self.clock() < stamp_epoch + 1:
            self.clock.advance(stamp_epoch + 1 - self.clock())

    def _ensure_ledger(self) -> int:
        """Create the ledger object and fields in the store when missing; count the writes."""
        writes = 0
        try:
            self.store.get_custom_object(LEDGER_KEY)
        except ApiError:
            self.store.create_custom_object(
                {"key": LEDGER_KEY, "title": LEDGER_TITLE, "title_pluralized": LEDGER_TITLE_PLURAL}
            )
            writes += 1
        present = {f["key"] for f in self.store.list_custom_object_fields(LEDGER_KEY)}
        for key, field_type, title in LEDGER_FIELDS:
            if key not in present:
                self.store.create_custom_object_field(
                    LEDGER_KEY, {"key": key, "type": field_type, "title": title}
                )
                writes += 1
        return writes

    def _ensure_fields(self, values: Mapping[int, JSONScalar]) -> None:
        """Create text fields for ids a unit test's made-up field map names (lenient mode)."""
        if not self.lenient_fields:
            return
        known = {f["id"] for f in self.store.fields()}
        for field_id in values:
            if field_id not in known:
                self.store.create_field(
                    {"type": "text", "title": f"field {field_id}"}, field_id=field_id
                )

    def _ticket_payload(
        self,
        subject: str,
        description: str,
        tags: tuple[str, ...],
        custom_fields: Mapping[int, JSONScalar],
    ) -> dict[str, Any]:
        """The POST /tickets body the Zenpy adapter sends."""
        self._ensure_fields(custom_fields)
        data: dict[str, Any] = {"subject": subject, "comment": {"body": description}}
        if tags:
            data["tags"] = list(tags)
        if custom_fields:
            data["custom_fields"] = [{"id": k, "value": v} for k, v in custom_fields.items()]
        return data


def _options(spec: FieldSpec) -> list[dict[str, str]]:
    """Zendesk's custom_field_options list (no ids: the PUT replaces the list)."""
    return [{"name": option.name, "value": option.value} for option in spec.options]


def _macro_payload(spec: MacroSpec) -> dict[str, Any]:
    """The whole-macro body the Zenpy adapter sends (restriction null clears it)."""
    return {
        "title": spec.title,
        "description": spec.description,
        "active": spec.active,
        "actions": [{"field": a.field, "value": a.value} for a in spec.actions],
        "restriction": dict(spec.restriction) if spec.restriction is not None else None,
    }
