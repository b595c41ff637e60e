"""The one small interface Guidepost uses to talk to Zendesk.

Plain dataclasses in, plain dataclasses out: no Zenpy types and no domain types
cross this line. `ZenpyGateway` (real, over HTTP) and `FakeGateway` (in process, over
the emulator's store) implement it; `tests/zendesk/test_gateway_contract.py` holds both
(and a live Zendesk, when configured) to the same contract.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

JSONScalar = str | int | float | bool | None
T = TypeVar("T")


@dataclass(frozen=True)
class TicketRecord:
    """A ticket as Guidepost reads it."""

    id: int
    subject: str
    description: str
    status: str
    tags: tuple[str, ...]
    custom_fields: Mapping[int, JSONScalar]
    updated_at: str
    # When the customer asked (the parking cancellation SMS's "O월 O일 문의하신").
    created_at: str = ""
    # Where Zendesk places the ticket (Tickets API `group_id`, `assignee_id`): authorization.
    group_id: int | None = None
    assignee_id: int | None = None
    # Who else Zendesk lets see it past group restrictions: the requester, and the users in
    # `collaborator_ids`, `follower_ids` and `email_cc_ids` (authorization).
    requester_id: int | None = None
    party_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class TicketUpdate:
    """One safe ticket update: full tag list, custom fields, an optional internal note."""

    ticket_id: int
    updated_stamp: str
    tags: tuple[str, ...] | None = None
    custom_fields: Mapping[int, JSONScalar] = field(default_factory=dict)
    note_body: str | None = None
    note_public: bool = False
    # Zendesk Update Ticket: `comment.author_id` — the note's author (the applying agent);
    # None = the API user. The emulator and the fake record it on the comment.
    note_author_id: int | None = None


@dataclass(frozen=True)
class NewTicket:
    """A ticket to create (demo data, tests)."""

    subject: str
    description: str
    tags: tuple[str, ...] = ()
    custom_fields: Mapping[int, JSONScalar] = field(default_factory=dict)


@dataclass(frozen=True)
class CommentRecord:
    """One ticket comment."""

    id: int
    body: str
    public: bool
    created_at: str
    author_id: int | None = None


@dataclass(frozen=True)
class FieldOption:
    """A dropdown option: `name` may nest with `::`, `value` is the account-wide tag."""

    name: str
    value: str


@dataclass(frozen=True)
class FieldSpec:
    """A custom ticket field as Guidepost wants it."""

    type: str
    title: str
    description: str = ""
    options: tuple[FieldOption, ...] = ()
    active: bool = True


@dataclass(frozen=True)
class FieldRecord:
    """A ticket field as Zendesk has it."""

    id: int
    type: str
    title: str
    description: str
    options: tuple[FieldOption, ...]
    active: bool


@dataclass(frozen=True)
class MacroAction:
    """One macro action (`field` is Zendesk's action name)."""

    field: str
    value: Any


@dataclass(frozen=True)
class MacroSpec:
    """A macro as Guidepost wants it."""

    title: str
    description: str
    actions: tuple[MacroAction, ...]
    active: bool = True
    restriction: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class MacroRecord:
    """A macro as Zendesk has it."""

    id: int
    title: str
    description: str
    actions: tuple[MacroAction, ...]
    active: bool
    restriction: Mapping[str, Any] | None
    updated_at: str


@dataclass(frozen=True)
class ArticleRecord:
    """A Help Center article."""

    id: int
    locale: str
    title: str
    body: str
    updated_at: str


@dataclass(frozen=True)
class ReconnectionClaim:
    """One 강제재연결 to record in the ledger: the 원콜, its 강콜, the ticket (and agent)."""

    origin_call_id: str
    forced_call_id: str
    ticket_id: int
    agent: str = ""


@dataclass(frozen=True)
class ReconnectionRecord:
    """A ledger record as Zendesk holds it (`ledger_order` orders the claims: first wins)."""

    # A string, as Zendesk documents it ("id | string | … Automatically assigned upon
    # creation", custom_object_records API): not promised to be numeric.
    id: str
    origin_call_id: str
    forced_call_id: str
    ticket_id: int
    agent: str
    created_at: str

    def ledger_order(self) -> tuple[str, int, str]:
        """The claim order every reader agrees on: creation time, then the id.

        Zendesk stamps `created_at` to the second; within one second the id decides, by
        length first so numeric ids compare as numbers ("9" before "10") and same-length
        ids (time-ordered ULIDs) as text.
        """
        return (self.created_at, len(self.id), self.id)


@dataclass(frozen=True)
class TicketFormRecord:
    """A ticket form and the fields agents see on it."""

    id: int
    name: str
    ticket_field_ids: tuple[int, ...]


WaitPolicy = Literal["interactive", "batch"]


@dataclass(frozen=True, slots=True)
class NowaitRead:
    """A ticket read made on the event loop (one attempt): what it gave, and its calls.

    `record` None: read the ticket on the blocking path (its full retry rules), once the
    gateway's `after_nowait` has sat out what this attempt met (a 429's Retry-After, a
    backoff); `error`: a Zendesk error answer the blocking path raises the same (404).
    """

    record: TicketRecord | None
    calls: int
    error: Exception | None = None
    where: str = ""
    # Why the attempt gave no record: a 429's Retry-After, or a failure to back off from.
    retry_after: float | None = None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class NowaitList(Generic[T]):
    """A list read made on the event loop (one attempt per page): its items, and its calls.

    `items` None: any answer but a clean 2xx, or a failure, on some page; the caller reads
    it on the blocking path (its retry rules, its errors) once `after_nowait` has sat out
    what that page met (`where`, `retry_after`, `problem`, as in `NowaitRead`).
    """

    items: list[T] | None
    calls: int
    where: str = ""
    retry_after: float | None = None
    problem: str | None = None


class ZendeskGateway(Protocol):
    """Everything Guidepost asks of Zendesk."""

    def get_ticket(self, ticket_id: int) -> TicketRecord:
        """Read one ticket; TicketNotFoundError when it does not exist."""
        ...

    def update_ticket(self, update: TicketUpdate) -> TicketRecord:
        """Write one safe update; ConflictError when the ticket changed since the stamp."""
        ...

    def create_ticket(self, ticket: NewTicket) -> TicketRecord:
        """Create a ticket (demo data and tests)."""
        ...

    def list_comments(self, ticket_id: int) -> list[CommentRecord]:
        """Every comment of a ticket, oldest first."""
        ...

    def search_tickets(self, query: str) -> list[TicketRecord]:
        """Every ticket a Zendesk search query finds (all pages)."""
        ...

    def list_ticket_fields(self) -> list[FieldRecord]:
        """Every ticket field of the account."""
        ...

    def create_ticket_field(self, spec: FieldSpec) -> FieldRecord:
        """Create a custom ticket field."""
        ...

    def update_ticket_field(self, field_id: int, spec: FieldSpec) -> FieldRecord:
        """Replace a field's title, description, options and active flag."""
        ...

    def list_macros(self) -> Iterator[MacroRecord]:
        """Every macro of the account, page by page (cursor pagination)."""
        ...

    def create_macro(self, spec: MacroSpec) -> MacroRecord:
        """Create a macro."""
        ...

    def update_macro(self, macro_id: int, spec: MacroSpec) -> MacroRecord:
        """Replace a macro (the whole actions list)."""
        ...

    def delete_macro(self, macro_id: int) -> None:
        """Delete a macro."""
        ...

    def get_article(self, locale: str, article_id: int) -> ArticleRecord:
        """Read a Help Center article."""
        ...

    def ensure_ledger(self) -> bool:
        """Create the reconnection ledger (custom object + fields) if missing; True if it wrote."""
        ...

    def list_reconnections(self, origin_call_id: str) -> list[ReconnectionRecord]:
        """Every ledger record of a 원콜, lowest id first (a database read, not search)."""
        ...

    def create_reconnection(self, claim: ReconnectionClaim) -> ReconnectionRecord:
        """Record a claim; ZendeskRejectedError when Zendesk refuses (e.g. external id taken)."""
        ...

    def delete_reconnection(self, record_id: str) -> None:
        """Remove a ledger record; one already gone is a success."""
        ...

    def get_ticket_form(self, form_id: int) -> TicketFormRecord:
        """Read a ticket form; NotFoundError when it does not exist."""
        ...

    def set_ticket_form_fields(self, form_id: int, field_ids: tuple[int, ...]) -> TicketFormRecord:
        """Replace the list of fields a ticket form shows."""
        ...

    def close(self) -> None:
        """Release connections; the gateway must not be used afterwards."""
        ...
