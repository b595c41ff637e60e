"""In-memory Zendesk state: tickets, comments, ticket fields, macros, articles, jobs.

Everything is guarded by one re-entrant lock so the threaded HTTP server and
in-process tests can share a store. Records are kept in an internal form and
rendered into Zendesk's JSON shapes on the way out (URLs need a base URL, which
the server passes from the request's Host header).
"""

from __future__ import annotations

import copy
import html
import math
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from backend.emulator import liquid
from backend.emulator.faults import TERMINAL_KINDS, Fault, parse_faults
from backend.emulator.search import parse_query

__all__ = [
    "AGENT_ID",
    "AGENT_NAME",
    "CUSTOMER_ID",
    "ApiError",
    "EmulatorStore",
    "RateDecision",
    "normalize_tags",
]

JSON = dict[str, Any]

AGENT_ID = 1_001_001
CUSTOMER_ID = 1_001_002
AGENT_NAME = "Emulator Agent"
AGENT_EMAIL = "agent@emulator.invalid"
CUSTOMER_NAME = "Emulator Customer"
CUSTOMER_EMAIL = "customer@emulator.invalid"
DEFAULT_BASE_URL = "http://127.0.0.1"
DEFAULT_RATE_LIMIT = 700
MAX_BULK_IDS = 100

STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
TICKET_TYPES = ("question", "incident", "problem", "task")
CUSTOM_FIELD_TYPES = (
    "text",
    "textarea",
    "integer",
    "decimal",
    "date",
    "checkbox",
    "tagger",
    "multiselect",
    "regexp",
)
OPTION_FIELD_TYPES = frozenset({"tagger", "multiselect"})
UPDATE_CONFLICT_DESCRIPTION = (
    "Safe Update prevented the update due to outdated ticket data. "
    "Please fetch the latest ticket data and try again."
)

# (type, title, system_field_options) of the system fields every account has.
_SYSTEM_FIELDS: list[tuple[str, str, list[tuple[str, str]] | None]] = [
    ("subject", "Subject", None),
    ("description", "Description", None),
    (
        "status",
        "Status",
        [(s.capitalize() if s != "hold" else "On-hold", s) for s in STATUSES],
    ),
    ("tickettype", "Type", [(t.capitalize(), t) for t in TICKET_TYPES]),
    ("priority", "Priority", [(p.capitalize(), p) for p in PRIORITIES]),
    ("group", "Group", None),
    ("assignee", "Assignee", None),
]
_SYSTEM_FIELD_FIRST_ID = 1_000_001
_INTEGER_RE = re.compile(r"-?\d+")
_DECIMAL_RE = re.compile(r"-?\d+(\.\d+)?")
_BLOCK_END_RE = re.compile(r"<\s*(br\s*/?|/p|/div|/li|/h\d|/tr)\s*>", re.IGNORECASE)
_TAG_RE = re.compile(r"<[^>]+>")


class ApiError(Exception):
    """An error answer in Zendesk's shape: HTTP status, body and extra headers."""

    def __init__(
        self, status: int, body: JSON | str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class RateDecision:
    """Outcome of taking one request from the per-minute budget."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: int


@dataclass
class _State:
    """All resettable data; deep-copied to snapshot the initial seeded state."""

    tickets: dict[int, JSON] = field(default_factory=dict)
    comments: dict[int, list[JSON]] = field(default_factory=dict)
    fields: dict[int, JSON] = field(default_factory=dict)
    macros: dict[int, JSON] = field(default_factory=dict)
    articles: dict[int, dict[str, JSON]] = field(default_factory=dict)
    jobs: dict[str, JSON] = field(default_factory=dict)
    next_ticket_id: int = 1
    next_comment_id: int = 1_000_001
    next_audit_id: int = 5_000_001
    next_field_id: int = 360_000_000_001
    next_option_id: int = 361_000_000_001
    next_macro_id: int = 10_001
    rate_limit_per_minute: int = DEFAULT_RATE_LIMIT


def make_not_found() -> ApiError:
    """Zendesk's 404 for an unknown record."""
    return ApiError(404, {"error": "RecordNotFound", "description": "Not found"})


def make_record_invalid(attribute: str, description: str, error: str = "InvalidValue") -> ApiError:
    """Zendesk's 422 validation error with per-attribute details."""
    return ApiError(
        422,
        {
            "error": "RecordInvalid",
            "description": "Record validation errors",
            "details": {attribute: [{"description": description, "error": error}]},
        },
    )


def normalize_tags(raw: Any) -> list[str]:
    """Normalise tags like Zendesk: lowercase, split on whitespace, drop duplicates."""
    if raw is None:
        return []
    if isinstance(raw, str):
        items: list[Any] = [raw]
    elif isinstance(raw, list | tuple):
        items = list(raw)
    else:
        raise make_record_invalid("tags", "Tags: must be a list of strings")
    tags: list[str] = []
    for item in items:
        if not isinstance(item, str | int | float) or isinstance(item, bool):
            raise make_record_invalid("tags", "Tags: must be a list of strings")
        for part in str(item).lower().split():
            if part not in tags:
                tags.append(part)
    return tags


def format_iso(timestamp: int) -> str:
    """Format epoch seconds as Zendesk does: YYYY-MM-DDTHH:MM:SSZ."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def parse_stamp(value: Any) -> int | None:
    """Parse an ISO 8601 timestamp into epoch seconds; None when unreadable."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


def render_text_as_html(text: str) -> str:
    """Render a plain comment body the way Zendesk wraps it in html_body."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()] or [""]
    inner = "".join(
        '<p dir="auto">' + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs
    )
    return f'<div class="zd-comment" dir="auto">{inner}</div>'


def strip_html(markup: str) -> str:
    """Reduce HTML to the plain text Zendesk keeps in body / plain_body."""
    text = _BLOCK_END_RE.sub("\n", markup)
    text = html.unescape(_TAG_RE.sub("", text))
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _read_flag(value: Any) -> bool:
    """Read JSON booleans that clients sometimes send as strings."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _current_epoch() -> int:
    """Current time in whole epoch seconds."""
    return int(time.time())


def _bump(record: JSON) -> None:
    """Advance updated_at; strictly increasing even within one second."""
    record["updated_at"] = max(_current_epoch(), int(record["updated_at"]) + 1)


def _get_option_title(option: JSON) -> str:
    """The visible title of an option: the last part of a ``::`` nested name."""
    return str(option["name"]).split("::")[-1].strip()


class EmulatorStore:
    """Thread-safe in-memory Zendesk account used by the emulator server and tests."""

    def __init__(self, *, rate_limit_per_minute: int = DEFAULT_RATE_LIMIT) -> None:
        self._lock = threading.RLock()
        self.base_url = DEFAULT_BASE_URL
        self._state = _State(rate_limit_per_minute=rate_limit_per_minute)
        self._seed_system_fields()
        self._initial = copy.deepcopy(self._state)
        self._marked = False
        self._counters = self._make_zero_counters()
        self._faults: list[Fault] = []
        self._window_start: float | None = None
        self._window_count = 0

    # ------------------------------------------------------------------ state

    def mark_initial(self) -> None:
        """Remember the current state as the one reset() returns to."""
        with self._lock:
            self._initial = copy.deepcopy(self._state)
            self._marked = True

    @property
    def is_marked(self) -> bool:
        """Tell whether mark_initial() was called (the server marks on start otherwise)."""
        return self._marked

    def reset(self) -> None:
        """Restore the initial seeded state; clear counters, faults and the rate window."""
        with self._lock:
            self._state = copy.deepcopy(self._initial)
            self._counters = self._make_zero_counters()
            self._faults = []
            self._window_start = None
            self._window_count = 0

    def _resolve_base(self, base_url: str | None) -> str:
        """Pick the base URL for rendered links."""
        return (base_url or self.base_url).rstrip("/")

    # ---------------------------------------------------------------- tickets

    def create_ticket(self, data: JSON, *, base_url: str | None = None) -> JSON:
        """Create a ticket from an API-style payload; comment.body is the description."""
        ticket, _ = self.create_ticket_with_audit(data, base_url=base_url)
        return ticket

    def create_ticket_with_audit(
        self, data: JSON, *, base_url: str | None = None
    ) -> tuple[JSON, JSON]:
        """Create a ticket and return (ticket, audit) as POST /tickets answers."""
        if not isinstance(data, dict):
            raise make_record_invalid("ticket", "Ticket: must be an object")
        with self._lock:
            spec = dict(data)
            if "comment" not in spec and spec.get("description"):
                spec["comment"] = {"body": spec["description"]}
            if not spec.get("comment"):
                raise make_record_invalid(
                    "description", "Description: cannot be blank", "BlankValue"
                )
            now = _current_epoch()
            ticket: JSON = {
                "id": self._state.next_ticket_id,
                "subject": None,
                "description": "",
                "status": "new",
                "priority": None,
                "type": None,
                "tags": [],
                "fields": {},
                "requester_id": CUSTOMER_ID,
                "submitter_id": AGENT_ID,
                "assignee_id": None,
                "group_id": None,
                "external_id": None,
                "created_at": now,
                "updated_at": now,
            }
            events, comment = self._apply_changes(ticket, spec, bulk=False)
            assert comment is not None
            ticket["description"] = comment["plain_body"]
            self._state.next_ticket_id += 1
            self._state.tickets[ticket["id"]] = ticket
            self._state.comments[ticket["id"]] = []
            events.insert(
                0, {"type": "Create", "field_name": "subject", "value": ticket["subject"]}
            )
            audit = self._commit_audit(ticket, events, comment)
            base = self._resolve_base(base_url)
            return self._render_ticket(ticket, base), self._render_audit(audit)

    def get_ticket(self, ticket_id: int, *, base_url: str | None = None) -> JSON | None:
        """Return a ticket in Zendesk's shape, or None."""
        with self._lock:
            ticket = self._state.tickets.get(int(ticket_id))
            return (
                None
                if ticket is None
                else self._render_ticket(ticket, self._resolve_base(base_url))
            )

    def list_tickets(self, *, base_url: str | None = None) -> list[JSON]:
        """Return all tickets ordered by id."""
        with self._lock:
            base = self._resolve_base(base_url)
            return [self._render_ticket(t, base) for _, t in sorted(self._state.tickets.items())]

    def show_many(self, ids: list[int], *, base_url: str | None = None) -> list[JSON]:
        """Return the known tickets among ids (unknown ids are skipped, as Zendesk does)."""
        if len(ids) > MAX_BULK_IDS:
            raise _make_too_many_ids()
        with self._lock:
            base = self._resolve_base(base_url)
            return [
                self._render_ticket(self._state.tickets[i], base)
                for i in ids
                if i in self._state.tickets
            ]

    def touch_ticket(self, ticket_id: int) -> JSON:
        """Simulate a concurrent edit by another agent: bump updated_at only."""
        with self._lock:
            ticket = self._state.tickets.get(int(ticket_id))
            if ticket is None:
                raise make_not_found()
            _bump(ticket)
            return self._render_ticket(ticket, self._resolve_base(None))

    def update_ticket(
        self, ticket_id: int, data: JSON, *, base_url: str | None = None
    ) -> tuple[JSON, JSON]:
        """Apply a single-ticket PUT; return (ticket, audit).

        additional_tags / remove_tags are ignored here, as on Zendesk's single
        Update Ticket endpoint (the server reports them); ``tags`` replaces.
        """
        if not isinstance(data, dict):
            raise make_record_invalid("ticket", "Ticket: must be an object")
        with self._lock:
            current = self._state.tickets.get(int(ticket_id))
            if current is None:
                raise make_not_found()
            self._check_safe_update(current, data)
            if current["status"] == "closed":
                raise make_record_invalid(
                    "status", "Status: closed prevents ticket update", "ClosedTicket"
                )
            working = copy.deepcopy(current)
            events, comment = self._apply_changes(working, data, bulk=False)
            audit = self._commit_changes(working, events, comment)
            base = self._resolve_base(base_url)
            return self._render_ticket(working, base), self._render_audit(audit)

    def update_many(
        self, ids: list[int] | None, data: JSON, *, base_url: str | None = None
    ) -> JSON:
        """Apply an Update Many request and return its queued job_status.

        Honours additional_tags / remove_tags. Accepts the bulk form
        (``ids`` + ``{"ticket": {...}}``) and the batch form (``{"tickets": [...]}``).
        The work is done at once; the job reports ``queued`` now and ``completed``
        when polled.
        """
        if not isinstance(data, dict):
            raise ApiError(400, {"error": "InvalidPayload", "description": "Expected an object"})
        jobs: list[tuple[int, JSON]] = []
        if isinstance(data.get("tickets"), list):
            for item in data["tickets"]:
                if not isinstance(item, dict) or not isinstance(item.get("id"), int):
                    raise make_record_invalid("tickets", "Tickets: each ticket needs an integer id")
                jobs.append((item["id"], item))
        elif isinstance(data.get("ticket"), dict) and ids:
            jobs = [(i, data["ticket"]) for i in ids]
        else:
            raise ApiError(
                400,
                {
                    "error": "InvalidPayload",
                    "description": "Send ids with a ticket object, or a tickets array",
                },
            )
        if len(jobs) > MAX_BULK_IDS:
            raise _make_too_many_ids()
        with self._lock:
            results = [self._update_one_in_bulk(ticket_id, change) for ticket_id, change in jobs]
            job_id = uuid.uuid4().hex
            job: JSON = {
                "id": job_id,
                "job_type": "bulk_update",
                "total": len(jobs),
                "results": results,
                "created_at": _current_epoch(),
            }
            self._state.jobs[job_id] = job
            return self._render_job(job, self._resolve_base(base_url), completed=False)

    def get_job_status(self, job_id: str, *, base_url: str | None = None) -> JSON:
        """Return a job_status; jobs complete immediately in the emulator."""
        with self._lock:
            job = self._state.jobs.get(job_id)
            if job is None:
                raise make_not_found()
            return self._render_job(job, self._resolve_base(base_url), completed=True)

    def comments(self, ticket_id: int) -> list[JSON]:
        """Return a ticket's comments, oldest first (404 ApiError for an unknown ticket)."""
        with self._lock:
            if int(ticket_id) not in self._state.tickets:
                raise make_not_found()
            return [
                {**copy.deepcopy(c), "created_at": format_iso(c["created_at"])}
                for c in self._state.comments[int(ticket_id)]
            ]

    def change_ticket_tags(
        self,
        ticket_id: int,
        operation: str = "get",
        tags: Any = None,
        *,
        safe_update: Any = False,
        updated_stamp: Any = None,
    ) -> list[str]:
        """Read or change tags through the tags endpoints: get, add, set or remove."""
        with self._lock:
            ticket = self._state.tickets.get(int(ticket_id))
            if ticket is None:
                raise make_not_found()
            if operation == "get":
                return list(ticket["tags"])
            self._check_safe_update(
                ticket, {"safe_update": safe_update, "updated_stamp": updated_stamp}
            )
            if ticket["status"] == "closed":
                raise make_record_invalid(
                    "status", "Status: closed prevents ticket update", "ClosedTicket"
                )
            given = normalize_tags(tags)
            if operation == "add":
                new_tags = ticket["tags"] + [t for t in given if t not in ticket["tags"]]
            elif operation == "set":
                new_tags = given
            elif operation == "remove":
                new_tags = [t for t in ticket["tags"] if t not in given]
            else:
                raise ValueError(f"unknown tag operation {operation!r}")
            working = copy.deepcopy(ticket)
            events: list[JSON] = []
            self._replace_tags(working, new_tags, events)
            self._commit_changes(working, events, None)
            return list(working["tags"])

    def search(
        self,
        query: str,
        *,
        sort_by: str | None = None,
        sort_order: str | None = None,
        base_url: str | None = None,
    ) -> list[JSON]:
        """Run a Zendesk search query over tickets; results carry result_type."""
        parsed = parse_query(query)
        with self._lock:
            hits = [t for t in self._state.tickets.values() if parsed.matches(t)]
            hits.sort(key=lambda t: (_get_sort_key(t, sort_by), t["id"]))
            if (sort_order or "asc").lower() == "desc":
                hits.reverse()
            base = self._resolve_base(base_url)
            return [{**self._render_ticket(t, base), "result_type": "ticket"} for t in hits]

    # ---------------------------------------------------------- ticket fields

    def create_field(self, data: JSON, *, base_url: str | None = None) -> JSON:
        """Create a custom ticket field (validates type, title and dropdown options)."""
        if not isinstance(data, dict):
            raise make_record_invalid("ticket_field", "Ticket field: must be an object")
        with self._lock:
            field_type = data.get("type")
            if field_type not in CUSTOM_FIELD_TYPES:
                raise make_record_invalid(
                    "type",
                    f"Type: must be one of {', '.join(CUSTOM_FIELD_TYPES)}",
                )
            title = data.get("title")
            if not isinstance(title, str) or not title.strip():
                raise make_record_invalid("title", "Title: cannot be blank", "BlankValue")
            now = _current_epoch()
            record: JSON = {
                "id": self._state.next_field_id,
                "type": field_type,
                "title": title.strip(),
                "description": "",
                "position": len(self._state.fields) + 1,
                "active": True,
                "required": False,
                "collapsed_for_agents": False,
                "regexp_for_validation": None,
                "title_in_portal": title.strip(),
                "visible_in_portal": False,
                "editable_in_portal": False,
                "required_in_portal": False,
                "tag": None,
                "agent_description": None,
                "removable": True,
                "system": False,
                "options": [],
                "system_options": None,
                "created_at": now,
                "updated_at": now,
            }
            self._apply_field_attributes(record, data)
            if field_type in OPTION_FIELD_TYPES:
                record["options"] = self._build_options(
                    data.get("custom_field_options"), record, []
                )
            self._state.next_field_id += 1
            self._state.fields[record["id"]] = record
            return self._render_field(record, self._resolve_base(base_url))

    def fields(self, *, base_url: str | None = None) -> list[JSON]:
        """Return all ticket fields, system ones first, by position."""
        with self._lock:
            base = self._resolve_base(base_url)
            ordered = sorted(
                self._state.fields.values(), key=lambda f: (not f["system"], f["position"], f["id"])
            )
            return [self._render_field(f, base) for f in ordered]

    def get_field(self, field_id: int, *, base_url: str | None = None) -> JSON:
        """Return one ticket field (404 ApiError when unknown)."""
        with self._lock:
            record = self._state.fields.get(int(field_id))
            if record is None:
                raise make_not_found()
            return self._render_field(record, self._resolve_base(base_url))

    def update_field(self, field_id: int, data: JSON, *, base_url: str | None = None) -> JSON:
        """Update a field; custom_field_options are replaced when given."""
        if not isinstance(data, dict):
            raise make_record_invalid("ticket_field", "Ticket field: must be an object")
        with self._lock:
            current = self._state.fields.get(int(field_id))
            if current is None:
                raise make_not_found()
            if "type" in data and data["type"] != current["type"]:
                raise make_record_invalid("type", "Type: cannot be changed", "InvalidValue")
            working = copy.deepcopy(current)
            if "title" in data:
                title = data["title"]
                if not isinstance(title, str) or not title.strip():
                    raise make_record_invalid("title", "Title: cannot be blank", "BlankValue")
                working["title"] = title.strip()
            self._apply_field_attributes(working, data)
            if working["type"] in OPTION_FIELD_TYPES and "custom_field_options" in data:
                working["options"] = self._build_options(
                    data["custom_field_options"], working, current["options"]
                )
            if working != current:
                _bump(working)
            self._state.fields[working["id"]] = working
            return self._render_field(working, self._resolve_base(base_url))

    def delete_field(self, field_id: int) -> None:
        """Delete a custom field and drop its values from tickets."""
        with self._lock:
            record = self._state.fields.get(int(field_id))
            if record is None:
                raise make_not_found()
            if record["system"]:
                raise ApiError(
                    403,
                    {"error": "Forbidden", "description": "System fields cannot be deleted"},
                )
            del self._state.fields[record["id"]]
            for ticket in self._state.tickets.values():
                ticket["fields"].pop(record["id"], None)

    # ----------------------------------------------------------------- macros

    def create_macro(self, data: JSON, *, base_url: str | None = None) -> JSON:
        """Create a macro; title and a non-empty actions list are required."""
        if not isinstance(data, dict):
            raise make_record_invalid("macro", "Macro: must be an object")
        with self._lock:
            title = data.get("title")
            if not isinstance(title, str) or not title.strip():
                raise make_record_invalid("title", "Title: cannot be blank", "BlankValue")
            actions = _validate_actions(data.get("actions"))
            now = _current_epoch()
            record: JSON = {
                "id": self._state.next_macro_id,
                "title": title.strip(),
                "description": data.get("description"),
                "active": _read_flag(data.get("active", True)),
                "position": data.get("position")
                if isinstance(data.get("position"), int)
                else len(self._state.macros) + 1,
                "actions": actions,
                "restriction": data.get("restriction"),
                "created_at": now,
                "updated_at": now,
            }
            self._state.next_macro_id += 1
            self._state.macros[record["id"]] = record
            return self._render_macro(record, self._resolve_base(base_url))

    def macros(
        self,
        *,
        active: bool | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
        base_url: str | None = None,
    ) -> list[JSON]:
        """Return macros, optionally only (in)active ones, sorted as the API sorts."""
        with self._lock:
            records = [
                m for m in self._state.macros.values() if active is None or m["active"] == active
            ]
            if sort_by == "alphabetical":
                records.sort(key=lambda m: (m["title"].lower(), m["id"]))
            elif sort_by in ("created_at", "updated_at"):
                records.sort(key=lambda m: (m[str(sort_by)], m["id"]))
            else:
                records.sort(key=lambda m: (m["position"], m["id"]))
            if (sort_order or "asc").lower() == "desc":
                records.reverse()
            base = self._resolve_base(base_url)
            return [self._render_macro(m, base) for m in records]

    def get_macro(self, macro_id: int, *, base_url: str | None = None) -> JSON:
        """Return one macro (404 ApiError when unknown)."""
        with self._lock:
            record = self._state.macros.get(int(macro_id))
            if record is None:
                raise make_not_found()
            return self._render_macro(record, self._resolve_base(base_url))

    def update_macro(self, macro_id: int, data: JSON, *, base_url: str | None = None) -> JSON:
        """Update a macro; ``actions`` replaces the whole list when given."""
        if not isinstance(data, dict):
            raise make_record_invalid("macro", "Macro: must be an object")
        with self._lock:
            current = self._state.macros.get(int(macro_id))
            if current is None:
                raise make_not_found()
            working = copy.deepcopy(current)
            if "title" in data:
                title = data["title"]
                if not isinstance(title, str) or not title.strip():
                    raise make_record_invalid("title", "Title: cannot be blank", "BlankValue")
                working["title"] = title.strip()
            if "actions" in data:
                working["actions"] = _validate_actions(data["actions"])
            for key in ("description", "restriction"):
                if key in data:
                    working[key] = data[key]
            if "active" in data:
                working["active"] = _read_flag(data["active"])
            if "position" in data and isinstance(data["position"], int):
                working["position"] = data["position"]
            if working != current:
                _bump(working)
            self._state.macros[working["id"]] = working
            return self._render_macro(working, self._resolve_base(base_url))

    def update_many_macros(self, items: Any, *, base_url: str | None = None) -> list[JSON]:
        """Change only position / active of several macros at once."""
        if not isinstance(items, list) or not items:
            raise make_record_invalid("macros", "Macros: must be a non-empty list")
        with self._lock:
            for item in items:
                if not isinstance(item, dict) or not isinstance(item.get("id"), int):
                    raise make_record_invalid("macros", "Macros: each item needs an integer id")
                if item["id"] not in self._state.macros:
                    raise make_not_found()
            changed: list[JSON] = []
            for item in items:
                record = self._state.macros[item["id"]]
                before = copy.deepcopy(record)
                if isinstance(item.get("position"), int):
                    record["position"] = item["position"]
                if "active" in item:
                    record["active"] = _read_flag(item["active"])
                if record != before:
                    _bump(record)
                changed.append(record)
            base = self._resolve_base(base_url)
            return [self._render_macro(m, base) for m in changed]

    def delete_macro(self, macro_id: int) -> None:
        """Delete a macro (404 ApiError when unknown)."""
        with self._lock:
            if self._state.macros.pop(int(macro_id), None) is None:
                raise make_not_found()

    def preview_macro(
        self, macro_id: int, ticket_id: int | None = None, *, base_url: str | None = None
    ) -> JSON:
        """Show what a macro would do, without side effects.

        Without a ticket: ``result.ticket`` holds only the attributes the macro
        changes and the comment is left unrendered. With a ticket: the full
        ticket as it would be after the changes, and the comment rendered
        (placeholders and Liquid) against that ticket.
        """
        with self._lock:
            macro = self._state.macros.get(int(macro_id))
            if macro is None:
                raise make_not_found()
            working: JSON | None = None
            if ticket_id is not None:
                current = self._state.tickets.get(int(ticket_id))
                if current is None:
                    raise make_not_found()
                working = copy.deepcopy(current)
            changes: JSON = {}
            texts: list[str] = []
            htmls: list[str] = []
            public = True
            for action in macro["actions"]:
                name, value = str(action.get("field")), action.get("value")
                if name == "comment_value":
                    texts.append(
                        str(value[-1]) if isinstance(value, list) and value else str(value)
                    )
                elif name == "comment_value_html":
                    htmls.append(
                        str(value[-1]) if isinstance(value, list) and value else str(value)
                    )
                elif name == "comment_mode_is_public":
                    public = _read_flag(value)
                else:
                    self._preview_action(name, value, changes, working)
            base = self._resolve_base(base_url)
            result: JSON = {
                "ticket": changes if working is None else self._render_ticket(working, base)
            }
            if texts or htmls:
                result["comment"] = self._preview_comment(texts, htmls, public, working, base)
            return {"result": result}

    # --------------------------------------------------------------- articles

    def set_article(self, article_id: int, locale: str, title: str, body: str) -> JSON:
        """Create or replace a Help Center article translation; bumps updated_at."""
        with self._lock:
            translations = self._state.articles.setdefault(int(article_id), {})
            key = locale.lower()
            record = translations.get(key)
            if record is None:
                now = _current_epoch()
                record = {
                    "id": int(article_id),
                    "locale": key,
                    "title": title,
                    "body": body,
                    "created_at": now,
                    "updated_at": now,
                }
                translations[key] = record
            else:
                record["title"] = title
                record["body"] = body
                _bump(record)
            return self._render_article(record, translations, self._resolve_base(None))

    def get_article(
        self, article_id: int, locale: str | None = None, *, base_url: str | None = None
    ) -> JSON:
        """Return an article in a locale (its source locale when None); 404 if unknown."""
        with self._lock:
            translations = self._state.articles.get(int(article_id))
            if not translations:
                raise make_not_found()
            record = (
                next(iter(translations.values()))
                if locale is None
                else translations.get(locale.lower())
            )
            if record is None:
                raise make_not_found()
            return self._render_article(record, translations, self._resolve_base(base_url))

    # ------------------------------------------------------------------ users

    def get_current_user(self, *, base_url: str | None = None) -> JSON:
        """Return the agent every request authenticates as."""
        return self._render_user(AGENT_ID, self._resolve_base(base_url))

    def get_user(self, user_id: int, *, base_url: str | None = None) -> JSON:
        """Return the agent or the demo customer (404 ApiError otherwise)."""
        if int(user_id) not in (AGENT_ID, CUSTOMER_ID):
            raise make_not_found()
        return self._render_user(int(user_id), self._resolve_base(base_url))

    # ---------------------------------------------------- counters and limits

    def counters(self) -> JSON:
        """Return request counters: total, by_route, writes, ignored_tag_ops, …"""
        with self._lock:
            return copy.deepcopy(self._counters)

    def reset_counters(self) -> None:
        """Zero every counter."""
        with self._lock:
            self._counters = self._make_zero_counters()

    def record_request(self, route: str) -> None:
        """Count one API request under its route template."""
        with self._lock:
            self._counters["total"] += 1
            by_route: dict[str, int] = self._counters["by_route"]
            by_route[route] = by_route.get(route, 0) + 1

    def record_write(self) -> None:
        """Count one successful state-changing API request."""
        with self._lock:
            self._counters["writes"] += 1

    def record_ignored_tag_ops(self) -> None:
        """Count one single-ticket update that carried additional_tags / remove_tags."""
        with self._lock:
            self._counters["ignored_tag_ops"] += 1

    def set_rate_limit(self, per_minute: int, *, as_default: bool = False) -> None:
        """Change the per-minute request budget and start a fresh window.

        With ``as_default`` the value also becomes what reset() restores.
        """
        if not isinstance(per_minute, int) or isinstance(per_minute, bool) or per_minute < 1:
            raise ValueError("per_minute must be a positive integer")
        with self._lock:
            self._state.rate_limit_per_minute = per_minute
            if as_default:
                self._initial.rate_limit_per_minute = per_minute
            self._window_start = None
            self._window_count = 0

    @property
    def rate_limit_per_minute(self) -> int:
        """The configured per-minute request budget."""
        return self._state.rate_limit_per_minute

    def take_rate_token(self) -> RateDecision:
        """Spend one request from the current one-minute window (started by its first request)."""
        with self._lock:
            now = time.monotonic()
            if self._window_start is None or now - self._window_start >= 60.0:
                self._window_start = now
                self._window_count = 0
            limit = self._state.rate_limit_per_minute
            if self._window_count >= limit:
                self._counters["rate_limited"] += 1
                retry_after = max(1, math.ceil(60.0 - (now - self._window_start)))
                return RateDecision(False, limit, 0, retry_after)
            self._window_count += 1
            return RateDecision(True, limit, limit - self._window_count, 0)

    def peek_rate_budget(self) -> RateDecision:
        """Peek at the budget without spending (for control API responses)."""
        with self._lock:
            limit = self._state.rate_limit_per_minute
            expired = self._window_start is None or time.monotonic() - self._window_start >= 60.0
            used = 0 if expired else self._window_count
            return RateDecision(True, limit, max(0, limit - used), 0)

    # ----------------------------------------------------------------- faults

    def set_faults(self, faults: list[JSON], *, seed: int | None = None) -> None:
        """Replace the fault rules (ValueError on invalid specs)."""
        parsed = parse_faults(faults, seed)
        with self._lock:
            self._faults = parsed

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        with self._lock:
            self._faults = []

    def list_faults(self) -> list[JSON]:
        """Describe the fault rules and their remaining budgets."""
        with self._lock:
            return [f.describe() for f in self._faults]

    def consume_faults(self, method: str, path: str) -> list[Fault]:
        """Pick the faults that fire for a request, in order, up to the first terminal one."""
        fired: list[Fault] = []
        with self._lock:
            for fault in self._faults:
                if not fault.applies_to(method, path) or not fault.roll():
                    continue
                fired.append(fault)
                self._counters["faults_injected"] += 1
                if fault.kind in TERMINAL_KINDS:
                    break
        return fired

    # --------------------------------------------------------------- internals

    @staticmethod
    def _make_zero_counters() -> JSON:
        """Fresh counter dict."""
        return {
            "total": 0,
            "by_route": {},
            "writes": 0,
            "ignored_tag_ops": 0,
            "rate_limited": 0,
            "faults_injected": 0,
        }

    def _seed_system_fields(self) -> None:
        """Create the system ticket fields every Zendesk account lists."""
        now = _current_epoch()
        for offset, (field_type, title, options) in enumerate(_SYSTEM_FIELDS):
            field_id = _SYSTEM_FIELD_FIRST_ID + offset
            self._state.fields[field_id] = {
                "id": field_id,
                "type": field_type,
                "title": title,
                "description": title,
                "position": offset + 1,
                "active": True,
                "required": field_type in ("subject", "description"),
                "collapsed_for_agents": False,
                "regexp_for_validation": None,
                "title_in_portal": title,
                "visible_in_portal": field_type in ("subject", "description"),
                "editable_in_portal": field_type in ("subject", "description"),
                "required_in_portal": field_type in ("subject", "description"),
                "tag": None,
                "agent_description": None,
                "removable": False,
                "system": True,
                "options": [],
                "system_options": [{"name": n, "value": v} for n, v in options]
                if options
                else None,
                "created_at": now,
                "updated_at": now,
            }

    def _list_custom_fields(self) -> list[JSON]:
        """Custom (non-system) fields in id order."""
        return [f for _, f in sorted(self._state.fields.items()) if not f["system"]]

    def _check_safe_update(self, ticket: JSON, data: JSON) -> None:
        """Answer 409 when safe_update is on and updated_stamp is not the current updated_at.

        Zendesk only protects when an updated_stamp is given, so a missing stamp
        lets the update through.
        """
        if not _read_flag(data.get("safe_update")) or data.get("updated_stamp") is None:
            return
        if parse_stamp(data.get("updated_stamp")) != ticket["updated_at"]:
            raise ApiError(
                409, {"error": "UpdateConflict", "description": UPDATE_CONFLICT_DESCRIPTION}
            )

    def _apply_changes(
        self, ticket: JSON, data: JSON, *, bulk: bool
    ) -> tuple[list[JSON], JSON | None]:
        """Apply writable attributes to a working copy; return (change events, comment)."""
        events: list[JSON] = []

        def assign(name: str, value: Any) -> None:
            if ticket.get(name) != value:
                events.append(
                    {
                        "type": "Change",
                        "field_name": name,
                        "value": value,
                        "previous_value": ticket.get(name),
                    }
                )
                ticket[name] = value

        if "subject" in data:
            subject = data["subject"]
            if subject is not None and not isinstance(subject, str):
                raise make_record_invalid("subject", "Subject: must be a string")
            assign("subject", subject)
        _assign_enumerated(data, "status", STATUSES, assign, allow_none=False)
        _assign_enumerated(data, "priority", PRIORITIES, assign, allow_none=True)
        _assign_enumerated(data, "type", TICKET_TYPES, assign, allow_none=True)
        for key in ("assignee_id", "group_id", "requester_id", "external_id"):
            if key in data:
                assign(key, data[key])
        if "tags" in data:
            self._replace_tags(ticket, normalize_tags(data["tags"]), events)
        if bulk and "additional_tags" in data:
            extra = normalize_tags(data["additional_tags"])
            self._replace_tags(
                ticket, ticket["tags"] + [t for t in extra if t not in ticket["tags"]], events
            )
        if bulk and "remove_tags" in data:
            drop = normalize_tags(data["remove_tags"])
            self._replace_tags(ticket, [t for t in ticket["tags"] if t not in drop], events)
        for key in ("custom_fields", "fields"):
            if key in data and data[key] is not None:
                self._apply_custom_fields(ticket, data[key], events)
        comment = None
        if data.get("comment") is not None:
            comment = self._build_comment(data["comment"])
        return events, comment

    def _apply_custom_fields(self, ticket: JSON, raw: Any, events: list[JSON]) -> None:
        """Merge ``[{id, value}]`` (or ``{id: value}``) into the ticket, validating each value."""
        if isinstance(raw, dict):
            pairs = list(raw.items())
        elif isinstance(raw, list):
            pairs = []
            for item in raw:
                if not isinstance(item, dict) or "id" not in item:
                    raise make_record_invalid(
                        "custom_fields", "Custom fields: each entry needs an id"
                    )
                pairs.append((item["id"], item.get("value")))
        else:
            raise make_record_invalid(
                "custom_fields", "Custom fields: must be a list of {id, value}"
            )
        for raw_id, value in pairs:
            try:
                field_id = int(raw_id)
            except (TypeError, ValueError):
                raise make_record_invalid(
                    "custom_fields", f"Custom field id {raw_id!r} is invalid"
                ) from None
            record = self._state.fields.get(field_id)
            if record is None or record["system"]:
                raise make_record_invalid(
                    "custom_fields",
                    f"Custom field {field_id} does not exist",
                    "InvalidCustomField",
                )
            self._set_field_value(ticket, record, _validate_value(record, value), events)

    def _set_field_value(self, ticket: JSON, record: JSON, value: Any, events: list[JSON]) -> None:
        """Set a field value and keep the ticket's tags in step with it, as Zendesk does."""
        previous = ticket["fields"].get(record["id"])
        if previous == value:
            return
        old_tags = _list_value_tags(record, previous)
        new_tags = _list_value_tags(record, value)
        tags = [t for t in ticket["tags"] if t not in old_tags or t in new_tags]
        tags += [t for t in new_tags if t not in tags]
        if tags != ticket["tags"]:
            events.append(
                {
                    "type": "Change",
                    "field_name": "tags",
                    "value": tags,
                    "previous_value": ticket["tags"],
                }
            )
            ticket["tags"] = tags
        ticket["fields"][record["id"]] = value
        events.append(
            {
                "type": "Change",
                "field_name": str(record["id"]),
                "value": value,
                "previous_value": previous,
            }
        )

    def _replace_tags(self, ticket: JSON, tags: list[str], events: list[JSON]) -> None:
        """Replace the tag list, then let dropdown / multiselect / checkbox fields follow it."""
        if tags != ticket["tags"]:
            events.append(
                {
                    "type": "Change",
                    "field_name": "tags",
                    "value": tags,
                    "previous_value": ticket["tags"],
                }
            )
            ticket["tags"] = list(tags)
        present = set(ticket["tags"])
        for record in self._list_custom_fields():
            current = ticket["fields"].get(record["id"])
            if record["type"] == "tagger":
                values = [o["value"] for o in record["options"] if o["value"].lower() in present]
                if current is not None and str(current).lower() in present:
                    wanted: Any = current
                else:
                    wanted = values[0] if values else None
            elif record["type"] == "multiselect":
                selected = [o["value"] for o in record["options"] if o["value"].lower() in present]
                wanted = selected or None
            elif record["type"] == "checkbox" and record.get("tag"):
                if current is None and record["tag"] not in present:
                    continue
                wanted = record["tag"] in present
            else:
                continue
            if wanted != current:
                ticket["fields"][record["id"]] = wanted
                events.append(
                    {
                        "type": "Change",
                        "field_name": str(record["id"]),
                        "value": wanted,
                        "previous_value": current,
                    }
                )

    def _build_comment(self, raw: Any) -> JSON:
        """Validate a comment spec into body / html_body / plain_body / public / author."""
        spec: JSON = {"body": raw} if isinstance(raw, str) else raw
        if not isinstance(spec, dict):
            raise make_record_invalid("comment", "Comment: must be an object")
        html_body = spec.get("html_body")
        body = spec.get("body")
        if isinstance(html_body, str) and html_body.strip():
            markup = html_body
            plain = strip_html(html_body)
        elif isinstance(body, str) and body.strip():
            plain = body
            markup = render_text_as_html(body)
        else:
            raise make_record_invalid("comment", "Comment: body cannot be blank", "BlankValue")
        author = spec.get("author_id")
        return {
            "type": "Comment",
            "body": plain,
            "html_body": markup,
            "plain_body": plain,
            "public": _read_flag(spec.get("public", True)),
            "author_id": author if isinstance(author, int) else AGENT_ID,
            "attachments": [],
        }

    def _commit_changes(self, ticket: JSON, events: list[JSON], comment: JSON | None) -> JSON:
        """Store a changed working copy (bumping updated_at) and return its audit."""
        if events or comment is not None:
            _bump(ticket)
        self._state.tickets[ticket["id"]] = ticket
        return self._commit_audit(ticket, events, comment)

    def _commit_audit(self, ticket: JSON, events: list[JSON], comment: JSON | None) -> JSON:
        """Number the events, append the comment, and build the audit record."""
        audit_id = self._state.next_audit_id
        self._state.next_audit_id += 1
        numbered: list[JSON] = []
        if comment is not None:
            comment = {
                **comment,
                "id": self._state.next_comment_id,
                "audit_id": audit_id,
                "created_at": ticket["updated_at"],
                "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
                "metadata": {"system": {}, "custom": {}},
            }
            self._state.next_comment_id += 1
            self._state.comments.setdefault(ticket["id"], []).append(comment)
            numbered.append(
                {
                    k: comment[k]
                    for k in (
                        "id",
                        "type",
                        "author_id",
                        "body",
                        "html_body",
                        "plain_body",
                        "public",
                        "attachments",
                        "audit_id",
                    )
                }
            )
        for event in events:
            numbered.append({"id": self._state.next_comment_id, **event})
            self._state.next_comment_id += 1
        return {
            "id": audit_id,
            "ticket_id": ticket["id"],
            "created_at": ticket["updated_at"],
            "author_id": AGENT_ID,
            "metadata": {"system": {}, "custom": {}},
            "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
            "events": numbered,
        }

    def _update_one_in_bulk(self, ticket_id: int, change: JSON) -> JSON:
        """Apply one ticket's part of an Update Many job; return its result entry."""
        current = self._state.tickets.get(ticket_id)
        if current is None:
            return {
                "id": ticket_id,
                "action": "update",
                "success": False,
                "status": "Failed",
                "error": "TicketNotFound",
                "details": "Not found",
            }
        try:
            if current["status"] == "closed" and set(change) - {
                "id",
                "additional_tags",
                "remove_tags",
                "tags",
            }:
                raise make_record_invalid(
                    "status", "Status: closed prevents ticket update", "ClosedTicket"
                )
            working = copy.deepcopy(current)
            events, comment = self._apply_changes(working, change, bulk=True)
        except ApiError as exc:
            detail = exc.body if isinstance(exc.body, str) else exc.body.get("details")
            return {
                "id": ticket_id,
                "action": "update",
                "success": False,
                "status": "Failed",
                "error": "RecordInvalid",
                "details": detail,
            }
        self._commit_changes(working, events, comment)
        return {"id": ticket_id, "action": "update", "success": True, "status": "Updated"}

    def _apply_field_attributes(self, record: JSON, data: JSON) -> None:
        """Copy the simple writable field attributes."""
        for key in (
            "description",
            "agent_description",
            "regexp_for_validation",
            "title_in_portal",
        ):
            if key in data:
                record[key] = data[key]
        for key in (
            "active",
            "required",
            "collapsed_for_agents",
            "visible_in_portal",
            "editable_in_portal",
            "required_in_portal",
        ):
            if key in data:
                record[key] = _read_flag(data[key])
        if isinstance(data.get("position"), int):
            record["position"] = data["position"]
        if record["type"] == "checkbox" and "tag" in data:
            tags = normalize_tags(data["tag"])
            record["tag"] = tags[0] if tags else None

    def _build_options(self, raw: Any, record: JSON, existing: list[JSON]) -> list[JSON]:
        """Validate dropdown options; keep ids of options matched by id or value."""
        if not isinstance(raw, list) or not raw:
            raise make_record_invalid(
                "custom_field_options",
                "Custom field options: a dropdown needs at least one option",
                "BlankValue",
            )
        by_id = {o["id"]: o for o in existing}
        by_value = {o["value"]: o for o in existing}
        taken = {
            o["value"].lower(): f["title"]
            for f in self._state.fields.values()
            if f["id"] != record["id"]
            for o in f["options"]
        }
        options: list[JSON] = []
        seen: set[str] = set()
        for item in raw:
            if not isinstance(item, dict):
                raise make_record_invalid(
                    "custom_field_options", "Custom field options: must be objects"
                )
            name = str(item.get("name") or "").strip()
            value = str(item.get("value") or "").strip()
            if not name or not value:
                raise make_record_invalid(
                    "custom_field_options",
                    "Custom field options: name and value cannot be blank",
                    "BlankValue",
                )
            if re.search(r"\s", value):
                raise make_record_invalid(
                    "custom_field_options",
                    f"Custom field options: value {value!r} cannot contain spaces",
                )
            if value.lower() in seen:
                raise make_record_invalid(
                    "custom_field_options",
                    f"Custom field options: value {value!r} is used twice",
                    "DuplicateValue",
                )
            if value.lower() in taken:
                raise make_record_invalid(
                    "custom_field_options",
                    f"Custom field options: tag {value!r} is already used by field "
                    f"{taken[value.lower()]!r}",
                    "DuplicateValue",
                )
            seen.add(value.lower())
            match = by_id.get(item.get("id")) or by_value.get(value)
            if match is not None:
                option_id = match["id"]
            else:
                option_id = self._state.next_option_id
                self._state.next_option_id += 1
            options.append(
                {
                    "id": option_id,
                    "name": name,
                    "value": value,
                    "default": _read_flag(item.get("default", False)),
                }
            )
        return options

    def _preview_action(self, name: str, value: Any, changes: JSON, working: JSON | None) -> None:
        """Apply one non-comment macro action to the preview."""
        scratch: list[JSON] = []
        if name in ("status", "priority", "type", "subject", "assignee_id", "group_id"):
            changes[name] = value
            if working is not None:
                working[name] = value
        elif name in ("current_tags", "remove_tags", "set_tags"):
            tags = normalize_tags(value)
            key = {
                "current_tags": "additional_tags",
                "remove_tags": "remove_tags",
                "set_tags": "tags",
            }[name]
            changes[key] = tags
            if working is not None:
                if name == "current_tags":
                    new_tags = working["tags"] + [t for t in tags if t not in working["tags"]]
                elif name == "remove_tags":
                    new_tags = [t for t in working["tags"] if t not in tags]
                else:
                    new_tags = tags
                self._replace_tags(working, new_tags, scratch)
        elif name.startswith("custom_fields_"):
            try:
                field_id = int(name.removeprefix("custom_fields_"))
            except ValueError:
                return
            entry = {"id": field_id, "value": value}
            changes.setdefault("custom_fields", []).append(entry)
            changes.setdefault("fields", []).append(dict(entry))
            record = self._state.fields.get(field_id)
            if working is not None and record is not None and not record["system"]:
                if record["type"] == "multiselect" and isinstance(value, str):
                    value = value.split()
                self._set_field_value(working, record, value, scratch)

    def _preview_comment(
        self, texts: list[str], htmls: list[str], public: bool, ticket: JSON | None, base: str
    ) -> JSON:
        """Build the comment part of a macro preview, rendering Liquid for a ticket."""
        text = "\n".join(texts)
        markup = "\n".join(htmls)
        if ticket is not None:
            variables = self._build_liquid_variables(ticket, base)
            text = _render_liquid(text, variables) if text else text
            markup = _render_liquid(markup, variables) if markup else markup
        if markup:
            body = text or strip_html(markup)
            html_body = markup
        else:
            body = text
            html_body = render_text_as_html(text)
        return {
            "body": body,
            "html_body": html_body,
            "public": public,
            "scoped_body": [["channel:all", body]],
        }

    def _build_liquid_variables(self, ticket: JSON, base: str) -> dict[str, object]:
        """Placeholders available to macro comments, by dotted name."""
        variables: dict[str, object] = {
            "ticket.id": ticket["id"],
            "ticket.subject": ticket["subject"],
            "ticket.title": ticket["subject"],
            "ticket.description": ticket["description"],
            "ticket.status": ticket["status"],
            "ticket.priority": ticket["priority"],
            "ticket.ticket_type": ticket["type"],
            "ticket.tags": " ".join(ticket["tags"]),
            "ticket.url": f"{base}/agent/tickets/{ticket['id']}",
            "ticket.requester.name": CUSTOMER_NAME,
            "ticket.requester.first_name": CUSTOMER_NAME.split()[0],
            "ticket.requester.email": CUSTOMER_EMAIL,
            "ticket.assignee.name": AGENT_NAME if ticket["assignee_id"] else "",
            "current_user.name": AGENT_NAME,
            "current_user.first_name": AGENT_NAME.split()[0],
            "current_user.email": AGENT_EMAIL,
        }
        for record in self._list_custom_fields():
            value = ticket["fields"].get(record["id"])
            variables[f"ticket.ticket_field_{record['id']}"] = value
            titles = [
                _get_option_title(o)
                for o in record["options"]
                if (isinstance(value, list) and o["value"] in value) or o["value"] == value
            ]
            variables[f"ticket.ticket_field_option_title_{record['id']}"] = ", ".join(titles)
        return variables

    # --------------------------------------------------------------- renderers

    def _render_ticket(self, ticket: JSON, base: str) -> JSON:
        """Render a ticket in Zendesk's JSON shape."""
        custom = [
            {"id": f["id"], "value": copy.deepcopy(ticket["fields"].get(f["id"]))}
            for f in self._list_custom_fields()
        ]
        comments = self._state.comments.get(ticket["id"], [])
        return {
            "url": f"{base}/api/v2/tickets/{ticket['id']}.json",
            "id": ticket["id"],
            "external_id": ticket["external_id"],
            "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
            "created_at": format_iso(ticket["created_at"]),
            "updated_at": format_iso(ticket["updated_at"]),
            "type": ticket["type"],
            "subject": ticket["subject"],
            "raw_subject": ticket["subject"],
            "description": ticket["description"],
            "priority": ticket["priority"],
            "status": ticket["status"],
            "recipient": None,
            "requester_id": ticket["requester_id"],
            "submitter_id": ticket["submitter_id"],
            "assignee_id": ticket["assignee_id"],
            "organization_id": None,
            "group_id": ticket["group_id"],
            "collaborator_ids": [],
            "follower_ids": [],
            "email_cc_ids": [],
            "forum_topic_id": None,
            "problem_id": None,
            "has_incidents": False,
            "is_public": any(c["public"] for c in comments) if comments else True,
            "due_at": None,
            "tags": list(ticket["tags"]),
            "custom_fields": custom,
            "satisfaction_rating": None,
            "sharing_agreement_ids": [],
            "fields": copy.deepcopy(custom),
            "followup_ids": [],
            "ticket_form_id": None,
            "brand_id": None,
            "allow_channelback": False,
            "allow_attachments": True,
        }

    @staticmethod
    def _render_audit(audit: JSON) -> JSON:
        """Render an audit with ISO timestamps."""
        return {**copy.deepcopy(audit), "created_at": format_iso(audit["created_at"])}

    @staticmethod
    def _render_job(job: JSON, base: str, *, completed: bool) -> JSON:
        """Render a job_status, queued right after the request and completed afterwards."""
        total = job["total"]
        return {
            "id": job["id"],
            "url": f"{base}/api/v2/job_statuses/{job['id']}.json",
            "job_type": job["job_type"],
            "total": total,
            "progress": total if completed else 0,
            "status": "completed" if completed else "queued",
            "message": f"Completed at {format_iso(job['created_at'])}" if completed else None,
            "results": copy.deepcopy(job["results"]) if completed else None,
        }

    @staticmethod
    def _render_field(record: JSON, base: str) -> JSON:
        """Render a ticket field in Zendesk's JSON shape."""
        rendered: JSON = {
            "url": f"{base}/api/v2/ticket_fields/{record['id']}.json",
            "id": record["id"],
            "type": record["type"],
            "title": record["title"],
            "raw_title": record["title"],
            "description": record["description"],
            "raw_description": record["description"],
            "position": record["position"],
            "active": record["active"],
            "required": record["required"],
            "collapsed_for_agents": record["collapsed_for_agents"],
            "regexp_for_validation": record["regexp_for_validation"],
            "title_in_portal": record["title_in_portal"],
            "raw_title_in_portal": record["title_in_portal"],
            "visible_in_portal": record["visible_in_portal"],
            "editable_in_portal": record["editable_in_portal"],
            "required_in_portal": record["required_in_portal"],
            "tag": record["tag"],
            "created_at": format_iso(record["created_at"]),
            "updated_at": format_iso(record["updated_at"]),
            "removable": record["removable"],
            "key": None,
            "agent_description": record["agent_description"],
        }
        if record["type"] in OPTION_FIELD_TYPES:
            rendered["custom_field_options"] = [
                {
                    "id": o["id"],
                    "name": o["name"],
                    "raw_name": o["name"],
                    "value": o["value"],
                    "default": o["default"],
                }
                for o in record["options"]
            ]
        if record["system_options"] is not None:
            rendered["system_field_options"] = copy.deepcopy(record["system_options"])
        return rendered

    @staticmethod
    def _render_macro(record: JSON, base: str) -> JSON:
        """Render a macro in Zendesk's JSON shape."""
        return {
            "url": f"{base}/api/v2/macros/{record['id']}.json",
            "id": record["id"],
            "title": record["title"],
            "raw_title": record["title"],
            "description": record["description"],
            "active": record["active"],
            "position": record["position"],
            "default": False,
            "actions": copy.deepcopy(record["actions"]),
            "restriction": copy.deepcopy(record["restriction"]),
            "created_at": format_iso(record["created_at"]),
            "updated_at": format_iso(record["updated_at"]),
        }

    @staticmethod
    def _render_article(record: JSON, translations: dict[str, JSON], base: str) -> JSON:
        """Render a Help Center article in Zendesk's JSON shape."""
        locale = record["locale"]
        return {
            "id": record["id"],
            "url": f"{base}/api/v2/help_center/{locale}/articles/{record['id']}.json",
            "html_url": f"{base}/hc/{locale}/articles/{record['id']}",
            "author_id": AGENT_ID,
            "comments_disabled": False,
            "draft": False,
            "promoted": False,
            "position": 0,
            "vote_sum": 0,
            "vote_count": 0,
            "section_id": 1,
            "created_at": format_iso(record["created_at"]),
            "updated_at": format_iso(record["updated_at"]),
            "edited_at": format_iso(record["updated_at"]),
            "name": record["title"],
            "title": record["title"],
            "source_locale": next(iter(translations)),
            "locale": locale,
            "outdated": False,
            "outdated_locales": [],
            "permission_group_id": 1,
            "user_segment_id": None,
            "label_names": [],
            "content_tag_ids": [],
            "body": record["body"],
        }

    @staticmethod
    def _render_user(user_id: int, base: str) -> JSON:
        """Render the emulator's agent or customer."""
        agent = user_id == AGENT_ID
        return {
            "id": user_id,
            "url": f"{base}/api/v2/users/{user_id}.json",
            "name": AGENT_NAME if agent else CUSTOMER_NAME,
            "email": AGENT_EMAIL if agent else CUSTOMER_EMAIL,
            "role": "admin" if agent else "end-user",
            "active": True,
            "verified": True,
            "locale": "ko",
            "time_zone": "Seoul",
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
        }


def _make_too_many_ids() -> ApiError:
    """Zendesk's answer to more than 100 ids."""
    return ApiError(
        400,
        {"error": "TooManyValues", "description": f"You can pass up to {MAX_BULK_IDS} ids"},
    )


def _assign_enumerated(
    data: JSON, name: str, allowed: tuple[str, ...], assign: Any, *, allow_none: bool
) -> None:
    """Validate and assign an enumerated ticket attribute (status, priority, type)."""
    if name not in data:
        return
    value = data[name]
    if value is None and allow_none:
        assign(name, None)
        return
    if not isinstance(value, str) or value.lower() not in allowed:
        raise make_record_invalid(name, f"{name.capitalize()}: must be one of {', '.join(allowed)}")
    assign(name, value.lower())


def _validate_actions(raw: Any) -> list[JSON]:
    """A macro's actions must be a non-empty list of {field, value}."""
    if not isinstance(raw, list) or not raw:
        raise make_record_invalid("actions", "Actions: cannot be blank", "BlankValue")
    actions: list[JSON] = []
    for item in raw:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("field"), str)
            or not item["field"]
        ):
            raise make_record_invalid("actions", "Actions: each action needs a field")
        actions.append({"field": item["field"], "value": copy.deepcopy(item.get("value"))})
    return actions


def _validate_value(record: JSON, value: Any) -> Any:
    """Check a custom field value against the field type; return the stored form."""
    if value is None or (value == "" and record["type"] not in ("text", "textarea")):
        return None
    field_type = record["type"]
    label = f"{record['title']} ({record['id']})"
    if field_type in ("text", "textarea", "regexp"):
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise make_record_invalid("custom_fields", f"{label}: must be text")
        return str(value) if not isinstance(value, str) else value
    if field_type == "integer":
        if isinstance(value, bool) or not _INTEGER_RE.fullmatch(str(value).strip()):
            raise make_record_invalid("custom_fields", f"{label}: must be an integer")
        return value
    if field_type == "decimal":
        if isinstance(value, bool) or not _DECIMAL_RE.fullmatch(str(value).strip()):
            raise make_record_invalid("custom_fields", f"{label}: must be a number")
        return value
    if field_type == "date":
        try:
            date.fromisoformat(str(value))
        except ValueError:
            raise make_record_invalid(
                "custom_fields", f"{label}: must be a YYYY-MM-DD date"
            ) from None
        return str(value)
    if field_type == "checkbox":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise make_record_invalid("custom_fields", f"{label}: must be true or false")
        return value
    allowed = {o["value"] for o in record["options"]}
    if field_type == "tagger":
        if not isinstance(value, str) or value not in allowed:
            raise make_record_invalid("custom_fields", f"{label}: {value!r} is not an option value")
        return value
    values = value.split() if isinstance(value, str) else value
    if not isinstance(values, list) or any(v not in allowed for v in values):
        raise make_record_invalid(
            "custom_fields", f"{label}: {value!r} has a value that is not an option"
        )
    return list(values) or None


def _get_sort_key(ticket: JSON, sort_by: str | None) -> tuple[int, str]:
    """Sort key for search results: timestamps numerically, enumerations by rank."""
    if sort_by in ("created_at", "updated_at"):
        return (int(ticket[sort_by]), "")
    if sort_by == "status":
        return (STATUSES.index(ticket["status"]), "")
    if sort_by == "priority":
        priority = ticket["priority"]
        return (PRIORITIES.index(priority) + 1 if priority else 0, "")
    if sort_by == "ticket_type":
        return (0, ticket["type"] or "")
    return (0, "")


def _list_value_tags(record: JSON, value: Any) -> list[str]:
    """The ticket tags a field value stands for (dropdown / multiselect / checkbox)."""
    if value is None:
        return []
    if record["type"] == "tagger":
        return [str(value).lower()]
    if record["type"] == "multiselect" and isinstance(value, list):
        return [str(v).lower() for v in value]
    if record["type"] == "checkbox" and record.get("tag") and value is True:
        return [str(record["tag"])]
    return []


def _render_liquid(template: str, variables: dict[str, object]) -> str:
    """Render a macro comment; syntax errors show inline, as Liquid does in lax mode."""
    try:
        return liquid.render(template, variables)
    except liquid.LiquidError as exc:
        return f"Liquid syntax error: {exc}"
