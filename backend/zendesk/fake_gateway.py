"""An in-memory `ZendeskGateway` for fast unit tests: Zendesk's semantics, no HTTP.

It behaves like Zendesk where Guidepost depends on it: `updated_at` moves on every
write, a stale `updated_stamp` answers ConflictError (safe_update), `tags` on a
single ticket update replaces the whole list (ERRATA 1), search follows the
emulator's query rules, macros come in cursor pages of 100. `calls` counts the
HTTP requests the real adapter would have sent.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from backend.emulator.search import parse_query
from backend.errors import (
    ConflictError,
    NotFoundError,
    TicketNotFoundError,
    ZendeskRejectedError,
)
from backend.zendesk.gateway import (
    ArticleRecord,
    CommentRecord,
    FieldRecord,
    FieldSpec,
    JSONScalar,
    MacroRecord,
    MacroSpec,
    NewTicket,
    TicketRecord,
    TicketUpdate,
)

PAGE_SIZE = 100
# Zendesk's own ticket fields: a real account always lists them next to the custom ones.
SYSTEM_FIELDS = (
    FieldRecord(9_000_001, "subject", "Subject", "", (), True),
    FieldRecord(9_000_002, "description", "Description", "", (), True),
    FieldRecord(9_000_003, "status", "Status", "", (), True),
)
FIELD_TYPES = frozenset(
    {
        "text",
        "textarea",
        "checkbox",
        "date",
        "integer",
        "decimal",
        "regexp",
        "tagger",
        "multiselect",
        "partialcreditcard",
        "lookup",
    }
)


def _pages(count: int) -> int:
    """Count the pages a paginated list of `count` items takes (at least one)."""
    return max(1, -(-count // PAGE_SIZE))


class FakeGateway:
    """Zendesk in a dict; thread-safe, deterministic clock, injectable failures."""

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.RLock()
        self._clock = start or datetime(2024, 11, 20, 9, 0, 0, tzinfo=UTC)
        self._ids = itertools.count(1001)
        self._failures: list[tuple[Exception, str | None]] = []
        self.calls = 0
        self._thread = threading.local()
        self.tickets: dict[int, TicketRecord] = {}
        self.comments: dict[int, list[CommentRecord]] = {}
        self.fields: dict[int, FieldRecord] = {f.id: f for f in SYSTEM_FIELDS}
        self.macros: dict[int, MacroRecord] = {}
        self.articles: dict[tuple[str, int], ArticleRecord] = {}
        self.updates: list[TicketUpdate] = []

    # ---- helpers for tests -------------------------------------------------------

    def add_ticket(
        self,
        subject: str = "",
        description: str = "",
        *,
        ticket_id: int | None = None,
        tags: tuple[str, ...] | list[str] = (),
        custom_fields: Mapping[int, JSONScalar] | None = None,
        status: str = "open",
    ) -> TicketRecord:
        """Put a ticket in place without counting a call (test set-up)."""
        with self._lock:
            new_id = ticket_id if ticket_id is not None else next(self._ids)
            stamp = self._tick()
            new_tags, new_fields = self._apply_changes((), {}, tags, custom_fields or {})
            record = TicketRecord(
                id=new_id,
                subject=subject,
                description=description,
                status=status,
                tags=new_tags,
                custom_fields=new_fields,
                updated_at=stamp,
            )
            self.tickets[new_id] = record
            self.comments[new_id] = (
                [CommentRecord(next(self._ids), description, True, stamp)] if description else []
            )
            return record

    def touch_ticket(self, ticket_id: int, **changes: Any) -> TicketRecord:
        """Simulate another agent's edit: bump updated_at (and apply `changes`)."""
        with self._lock:
            record = self._ticket(ticket_id)
            if "tags" in changes:
                changes["tags"] = _normalize_tags(changes["tags"])
            record = replace(record, **changes, updated_at=self._tick())
            self.tickets[ticket_id] = record
            return record

    def add_article(
        self, locale: str, article_id: int, title: str, body: str, updated_at: str | None = None
    ) -> ArticleRecord:
        """Put a Help Center article in place (test set-up)."""
        with self._lock:
            record = ArticleRecord(article_id, locale, title, body, updated_at or self._tick())
            self.articles[(locale, article_id)] = record
            return record

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

    # ---- ZendeskGateway ------------------------------------------------------------

    def get_ticket(self, ticket_id: int) -> TicketRecord:
        """Read one ticket; TicketNotFoundError when it does not exist."""
        with self._lock:
            self._call("get_ticket")
            return self._ticket(ticket_id)

    def update_ticket(self, update: TicketUpdate) -> TicketRecord:
        """Write one safe update; ConflictError when the ticket changed since the stamp."""
        with self._lock:
            self._call("update_ticket")
            record = self._ticket(update.ticket_id)
            if update.updated_stamp != record.updated_at:
                raise ConflictError(
                    f"ticket {update.ticket_id} changed since {update.updated_stamp} "
                    f"(now {record.updated_at})"
                )
            self._check_custom_fields(update.custom_fields)
            tags, fields = self._apply_changes(
                record.tags, record.custom_fields, update.tags, update.custom_fields
            )
            stamp = self._tick()
            if update.note_body is not None:
                self.comments[record.id].append(
                    CommentRecord(next(self._ids), update.note_body, update.note_public, stamp)
                )
            record = replace(record, tags=tags, custom_fields=fields, updated_at=stamp)
            self.tickets[record.id] = record
            self.updates.append(update)
            return record

    def create_ticket(self, ticket: NewTicket) -> TicketRecord:
        """Create a ticket (demo data and tests)."""
        with self._lock:
            self._call("create_ticket")
            if not ticket.description.strip():
                raise ZendeskRejectedError("ticket: comment body is required (422)", 422)
            self._check_custom_fields(ticket.custom_fields)
            return self.add_ticket(
                ticket.subject,
                ticket.description,
                tags=ticket.tags,
                custom_fields=ticket.custom_fields,
                status="new",
            )

    def list_comments(self, ticket_id: int) -> list[CommentRecord]:
        """Every comment of a ticket, oldest first."""
        with self._lock:
            self._call("list_comments")
            self._ticket(ticket_id)
            comments = list(self.comments.get(ticket_id, []))
            self._count(_pages(len(comments)) - 1)
            return comments

    def search_tickets(self, query: str) -> list[TicketRecord]:
        """Every ticket the query finds, with the emulator's (Zendesk's) search rules."""
        with self._lock:
            self._call("search_tickets")
            parsed = parse_query(query)
            found = [
                record
                for record in sorted(self.tickets.values(), key=lambda r: r.id)
                if parsed.matches(_search_view(record))
            ]
            self._count(_pages(len(found)) - 1)
            return found

    def list_ticket_fields(self) -> list[FieldRecord]:
        """Every ticket field of the account, system fields included."""
        with self._lock:
            self._call("list_ticket_fields")
            records = sorted(self.fields.values(), key=lambda r: r.id)
            self._count(_pages(len(records)) - 1)
            return records

    def create_ticket_field(self, spec: FieldSpec) -> FieldRecord:
        """Create a custom ticket field."""
        with self._lock:
            self._call("create_ticket_field")
            self._check_field(spec, None)
            record = FieldRecord(
                next(self._ids),
                spec.type,
                spec.title,
                spec.description,
                spec.options,
                spec.active,
            )
            self.fields[record.id] = record
            return record

    def update_ticket_field(self, field_id: int, spec: FieldSpec) -> FieldRecord:
        """Replace a field's title, description, options and active flag."""
        with self._lock:
            self._call("update_ticket_field")
            current: FieldRecord = self._get(self.fields, field_id, "ticket field")
            if spec.type != current.type:
                raise ZendeskRejectedError(
                    f"ticket field {field_id}: type cannot change ({current.type} → {spec.type})",
                    422,
                )
            self._check_field(spec, field_id)
            record = replace(
                current,
                title=spec.title,
                description=spec.description,
                options=spec.options,
                active=spec.active,
            )
            self.fields[field_id] = record
            return record

    def list_macros(self) -> Iterator[MacroRecord]:
        """Every macro, page by page: one call per page of 100, counted lazily."""
        with self._lock:
            self._call("list_macros")
            snapshot = sorted(self.macros.values(), key=lambda r: r.id)
        for index, record in enumerate(snapshot):
            if index and index % PAGE_SIZE == 0:
                with self._lock:
                    self._count(1)
            yield record

    def create_macro(self, spec: MacroSpec) -> MacroRecord:
        """Create a macro."""
        with self._lock:
            self._call("create_macro")
            self._check_macro(spec)
            record = _macro_record(next(self._ids), spec, self._tick())
            self.macros[record.id] = record
            return record

    def update_macro(self, macro_id: int, spec: MacroSpec) -> MacroRecord:
        """Replace a macro (the whole actions list)."""
        with self._lock:
            self._call("update_macro")
            self._get(self.macros, macro_id, "macro")
            self._check_macro(spec)
            record = _macro_record(macro_id, spec, self._tick())
            self.macros[macro_id] = record
            return record

    def delete_macro(self, macro_id: int) -> None:
        """Delete a macro."""
        with self._lock:
            self._call("delete_macro")
            self._get(self.macros, macro_id, "macro")
            del self.macros[macro_id]

    def get_article(self, locale: str, article_id: int) -> ArticleRecord:
        """Read a Help Center article."""
        with self._lock:
            self._call("get_article")
            try:
                return self.articles[(locale, article_id)]
            except KeyError:
                raise NotFoundError(f"article {locale}/{article_id} not found") from None

    # ---- internals -----------------------------------------------------------------

    def _call(self, method: str) -> None:
        """Count one request and raise the first queued failure aimed at this call."""
        self._count(1)
        for index, (exc, target) in enumerate(self._failures):
            if target is None or target == method:
                del self._failures[index]
                raise exc

    def _count(self, requests: int) -> None:
        """Add requests to the total and to the calling thread's count."""
        self.calls += requests
        self._thread.calls = self.thread_calls + requests

    @property
    def thread_calls(self) -> int:
        """Count the requests made by the calling thread (per-request logging)."""
        count: int = getattr(self._thread, "calls", 0)
        return count

    def _tick(self) -> str:
        """Advance the clock one second and return it as a Zendesk timestamp."""
        self._clock += timedelta(seconds=1)
        return self._clock.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _ticket(self, ticket_id: int) -> TicketRecord:
        """Return a stored ticket or raise TicketNotFoundError."""
        try:
            return self.tickets[ticket_id]
        except KeyError:
            raise TicketNotFoundError(f"ticket {ticket_id} not found") from None

    @staticmethod
    def _get(table: dict[int, Any], key: int, what: str) -> Any:
        """Return a stored record or raise NotFoundError."""
        try:
            return table[key]
        except KeyError:
            raise NotFoundError(f"{what} {key} not found") from None

    def _apply_changes(
        self,
        tags: tuple[str, ...],
        fields: Mapping[int, JSONScalar],
        new_tags: tuple[str, ...] | list[str] | None,
        new_fields: Mapping[int, JSONScalar],
    ) -> tuple[tuple[str, ...], dict[int, JSONScalar]]:
        """Apply tags then fields, keeping dropdown values and their option tags in step."""
        tag_list = list(tags)
        values = dict(fields)
        if new_tags is not None:
            # Zendesk: replacing tags re-derives every dropdown from the tags present.
            tag_list = list(_normalize_tags(new_tags))
            present = set(tag_list)
            for record in self.fields.values():
                if record.type != "tagger":
                    continue
                current = values.get(record.id)
                if current is not None and current in present:
                    continue
                matching = [o.value for o in record.options if o.value in present]
                wanted = matching[0] if matching else None
                if wanted != current:
                    values[record.id] = wanted
        for field_id, value in new_fields.items():
            target = self.fields.get(field_id)
            previous = values.get(field_id)
            if target is not None and target.type == "tagger" and previous != value:
                # Zendesk: a dropdown value is also a tag on the ticket.
                tag_list = [tag for tag in tag_list if tag != previous]
                if isinstance(value, str) and value not in tag_list:
                    tag_list.append(value)
            values[field_id] = value
        return tuple(tag_list), values

    def _check_custom_fields(self, values: Mapping[int, JSONScalar]) -> None:
        """Reject values of unknown fields and dropdown values that are no option."""
        for field_id, value in values.items():
            record = self.fields.get(field_id)
            if record is None:
                # Lenient on purpose: unit tests may use a made-up field map without
                # creating the fields (the emulator is strict and answers 422).
                continue
            allowed = {option.value for option in record.options}
            if record.type == "tagger" and value is not None and value not in allowed:
                raise ZendeskRejectedError(
                    f"custom field {field_id}: {value!r} is not an option (422)", 422
                )

    def _check_field(self, spec: FieldSpec, own_id: int | None) -> None:
        """Validate a field spec the way Zendesk does (422)."""
        if spec.type not in FIELD_TYPES:
            raise ZendeskRejectedError(f"ticket field: type {spec.type!r} is invalid (422)", 422)
        if not spec.title.strip():
            raise ZendeskRejectedError("ticket field: title is required (422)", 422)
        if spec.type == "tagger" and not spec.options:
            raise ZendeskRejectedError("ticket field: a dropdown needs options (422)", 422)
        taken = {
            option.value
            for record in self.fields.values()
            if record.id != own_id
            for option in record.options
        }
        values = [option.value for option in spec.options]
        clash = sorted((set(values) & taken) | {v for v in values if values.count(v) > 1})
        if clash:
            raise ZendeskRejectedError(
                f"ticket field: option values already in use: {', '.join(clash)} (422)", 422
            )

    @staticmethod
    def _check_macro(spec: MacroSpec) -> None:
        """Reject a macro without title or actions, as Zendesk does (422)."""
        if not spec.title.strip() or not spec.actions:
            raise ZendeskRejectedError("macro: title and at least one action required (422)", 422)


def _normalize_tags(tags: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Lower-case and de-duplicate tags, keeping their order (as Zendesk stores them)."""
    return tuple(dict.fromkeys(tag.strip().lower() for tag in tags if tag.strip()))


def _search_view(record: TicketRecord) -> dict[str, Any]:
    """Shape a ticket like the emulator's internal record, for its query matcher."""
    return {
        "id": record.id,
        "subject": record.subject,
        "description": record.description,
        "status": record.status,
        "tags": list(record.tags),
        "fields": dict(record.custom_fields),
    }


def _macro_record(macro_id: int, spec: MacroSpec, stamp: str) -> MacroRecord:
    """Store a macro spec as Zendesk would echo it."""
    return MacroRecord(
        id=macro_id,
        title=spec.title,
        description=spec.description,
        actions=tuple(spec.actions),
        active=spec.active,
        restriction=dict(spec.restriction) if spec.restriction is not None else None,
        updated_at=stamp,
    )
