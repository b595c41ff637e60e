"""The real `ZendeskGateway`: Zenpy over the guarded transport (`transport.py`).

What Zenpy lacks (Help Center articles by locale, custom objects for the reconnection
ledger, ticket forms) goes as raw JSON requests through the same guarded session, read
with the shared `shapes` readers. Never imports `backend.domain`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlsplit

from zenpy.lib.api_objects import Comment, Macro, Ticket, TicketField
from zenpy.lib.exception import ZenpyException

from backend.errors import NotFoundError
from backend.zendesk.gateway import (
    ArticleRecord,
    CommentRecord,
    FieldOption,
    FieldRecord,
    FieldSpec,
    JSONScalar,
    MacroAction,
    MacroRecord,
    MacroSpec,
    NewTicket,
    NowaitList,
    NowaitRead,
    ReconnectionClaim,
    ReconnectionRecord,
    TicketFormRecord,
    TicketRecord,
    TicketUpdate,
    WaitPolicy,
)
from backend.zendesk.shapes import (
    LEDGER_FIELDS,
    LEDGER_KEY,
    LEDGER_TITLE,
    LEDGER_TITLE_PLURAL,
    PARTY_KEYS,
    article_from_json,
    form_from_json,
    ledger_record_payload,
    parse_zendesk_time,
    party_ids,
    reconnection_from_json,
    ticket_from_json,
    ticket_update_payload,
    verify_written,
)
from backend.zendesk.transport import GatewayTransport, RetryPolicy, error_for_response

if TYPE_CHECKING:
    from backend.settings import Settings

__all__ = ["RetryPolicy", "ZenpyGateway"]

LEDGER_PATH = f"/api/v2/custom_objects/{LEDGER_KEY}"
LEDGER_RECORDS = f"{LEDGER_PATH}/records"
SEARCH_PATH = "/api/v2/search.json"
# Zendesk Search API: at most 1,000 results per query (offset pages of up to 100).
SEARCH_RESULT_LIMIT = 1000

R = TypeVar("R")
# One page's answer → its items, and the path + query of the next page (None: the last).
PageReader = Callable[[Any], tuple[list[R], str | None]]


class ZenpyGateway(GatewayTransport):
    """`ZendeskGateway` over Zenpy: bounded waits, typed errors, counted calls."""

    @classmethod
    def from_settings(
        cls, settings: Settings, wait_policy: WaitPolicy = "interactive"
    ) -> ZenpyGateway:
        """Build a gateway from Settings; an http (loopback) URL means the emulator."""
        max_wait = (
            settings.interactive_max_wait_seconds
            if wait_policy == "interactive"
            else settings.batch_max_wait_seconds
        )
        return cls(
            subdomain=settings.zendesk_subdomain,
            email=settings.zendesk_email,
            token=settings.zendesk_token.get_secret_value(),
            timeout=settings.zendesk_timeout_seconds,
            policy=RetryPolicy(wait_policy, max_wait, settings.retries),
            base_url=settings.zendesk_url if settings.zendesk_is_local else None,
        )

    # ---- tickets -------------------------------------------------------------------

    def get_ticket(self, ticket_id: int) -> TicketRecord:
        """Read one ticket (1 call); TicketNotFoundError when it does not exist."""
        # The hot read of every guidance load: raw JSON on Zenpy's own guarded session,
        # read with the shared shapes reader. Zenpy's object model (ProxyDict, mapping,
        # then a JSON round trip to plain values) cost ~45 % of the read's CPU.
        path = f"/api/v2/tickets/{int(ticket_id)}.json"
        data = self.request_json("GET", path, "ticket", f"ticket {ticket_id}")
        return ticket_from_json(data["ticket"])

    async def get_ticket_nowait(self, ticket_id: int) -> NowaitRead:
        """Read one ticket on the event loop: ONE attempt, no retry, no wait (no proxy).

        A 2xx gives the record; a 3xx/4xx (429 aside) the error `get_ticket` raises for
        it; a 429, a 5xx, a network failure, the timeout or an unreadable answer give no
        record: the caller reads it with `get_ticket` (in a thread), which also raises
        exactly the error of an answer this attempt could not read.
        """
        attempt = await self.send_nowait(f"/api/v2/tickets/{int(ticket_id)}.json")
        response, calls, where = attempt.response, attempt.calls, attempt.where
        if response is None:
            return NowaitRead(None, calls, None, where, attempt.retry_after, attempt.problem)
        if response.status_code >= 300:
            error = error_for_response(response, "ticket", f"ticket {ticket_id}")
            return NowaitRead(None, calls, error, where)
        try:
            record = ticket_from_json(response.json()["ticket"])
        except Exception:  # any unreadable answer (e.g. OverflowError): the blocking path names it
            return NowaitRead(None, calls, None, where)
        return NowaitRead(record, calls, None, where)

    def update_ticket(self, update: TicketUpdate) -> TicketRecord:
        """Write one safe update (1 call), then check the answer holds what was sent.

        ConflictError when the ticket changed; WriteNotHeldError when Zendesk answered
        200 but dropped a value (e.g. a dropdown value that is no option).
        """
        # Raw JSON on Zenpy's own guarded session (like get_ticket): the same PUT body
        # Zenpy sent (`shapes.ticket_update_payload`), the answer read with the shapes
        # reader instead of Zenpy's object model (audit → ticket → plain values).
        # Zendesk's Update Ticket answers `{"ticket": …, "audit": …}` (TicketUpdateResponse):
        # https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#update-ticket
        what = f"update of ticket {update.ticket_id}"
        path = f"/api/v2/tickets/{int(update.ticket_id)}.json"
        body = {"ticket": ticket_update_payload(update)}
        with self._operation("ticket", what):
            stamp = parse_zendesk_time(update.updated_stamp)
            if stamp is not None:
                self.wait_past_stamp(stamp)
            data = self.request_json("PUT", path, "ticket", what, body=body)
            if not isinstance(data, dict) or not isinstance(data.get("ticket"), dict):
                raise ValueError("update answer carries no ticket")
            written = ticket_from_json(data["ticket"])
        verify_written(update, written)
        return written

    def create_ticket(self, ticket: NewTicket) -> TicketRecord:
        """Create a ticket (1 call, never retried)."""
        new = Ticket(subject=ticket.subject, comment=Comment(body=ticket.description))
        if ticket.tags:
            new.tags = list(ticket.tags)
        if ticket.custom_fields:
            new.custom_fields = [
                {"id": field_id, "value": value} for field_id, value in ticket.custom_fields.items()
            ]
        with self._operation("other", "ticket creation"):
            audit = self._client().tickets.create(new)
            if getattr(audit, "ticket", None) is None:
                raise ZenpyException("create answer carries no ticket")
            return _ticket_record(audit.ticket)

    def list_comments(self, ticket_id: int) -> list[CommentRecord]:
        """Every comment of a ticket, oldest first (1 call per 100 comments)."""
        with self._operation("ticket", f"comments of ticket {ticket_id}"):
            return [
                CommentRecord(
                    id=int(comment.id),
                    body=comment.body or "",
                    public=bool(comment.public),
                    created_at=str(comment.created_at or ""),
                    author_id=int(comment.author_id) if comment.author_id is not None else None,
                )
                for comment in self._client().tickets.comments(ticket=ticket_id)
            ]

    def search_tickets(self, query: str) -> list[TicketRecord]:
        """Every ticket the query finds, all pages (1 call per page of up to 100)."""
        # Raw JSON like get_ticket (a read on the hot guidance path of a 원콜): Zenpy's
        # search built an object per result, then a JSON round trip to plain values.
        path, params = SEARCH_PATH, _search_params(query)
        return self._pages(path, params, "ticket search", _SearchPages())

    async def search_tickets_nowait(self, query: str) -> NowaitList[TicketRecord]:
        """`search_tickets` on the event loop: ONE attempt per page (see `_pages_nowait`)."""
        return await self._pages_nowait(SEARCH_PATH, _search_params(query), _SearchPages())

    # ---- ticket fields ------------------------------------------------------------

    def list_ticket_fields(self) -> list[FieldRecord]:
        """Every ticket field of the account (1 call per page)."""
        with self._operation("other", "ticket fields"):
            return [_field_record(field) for field in self._client().ticket_fields()]

    def create_ticket_field(self, spec: FieldSpec) -> FieldRecord:
        """Create a custom ticket field (1 call, never retried)."""
        field = TicketField(
            type=spec.type, title=spec.title, description=spec.description, active=spec.active
        )
        if spec.options:
            field.custom_field_options = _options_payload(spec.options)
        with self._operation("other", f"creation of ticket field {spec.title!r}"):
            return _field_record(self._client().ticket_fields.create(field))

    def update_ticket_field(self, field_id: int, spec: FieldSpec) -> FieldRecord:
        """Replace a field's title, description, options and active flag (1 call)."""
        # No `type`: Zendesk cannot change a field's type, and the PUT replaces the rest.
        field = TicketField(
            id=field_id, title=spec.title, description=spec.description, active=spec.active
        )
        if spec.type in ("tagger", "multiselect"):
            field.custom_field_options = _options_payload(spec.options)
        with self._operation("other", f"ticket field {field_id}"):
            return _field_record(self._client().ticket_fields.update(field))

    # ---- macros ---------------------------------------------------------------------

    def list_macros(self) -> Iterator[MacroRecord]:
        """Every macro, fetched lazily one cursor page (100) per call."""
        with self._operation("other", "macros"):
            for macro in self._client().macros():
                yield _macro_record(macro)

    def create_macro(self, spec: MacroSpec) -> MacroRecord:
        """Create a macro (1 call, never retried)."""
        with self._operation("other", f"creation of macro {spec.title!r}"):
            return _macro_record(self._client().macros.create(_macro_payload(None, spec)))

    def update_macro(self, macro_id: int, spec: MacroSpec) -> MacroRecord:
        """Replace a macro, the whole actions list included (1 call)."""
        with self._operation("other", f"macro {macro_id}"):
            return _macro_record(self._client().macros.update(_macro_payload(macro_id, spec)))

    def delete_macro(self, macro_id: int) -> None:
        """Delete a macro (1 call); a replayed delete that finds it gone is a success."""
        try:
            with self._operation("other", f"macro {macro_id}"):
                self._client().macros.delete(Macro(id=macro_id))
        except NotFoundError:
            # Our first DELETE may have landed before its answer was lost.
            if not self.state.retried:
                raise

    # ---- Help Center ------------------------------------------------------------------

    def get_article(self, locale: str, article_id: int) -> ArticleRecord:
        """Read a Help Center article in a locale (1 call; Zenpy's endpoint has no locale)."""
        path = f"/api/v2/help_center/{quote(locale, safe='')}/articles/{int(article_id)}.json"
        data = self.request_json("GET", path, "other", f"article {locale}/{article_id}")
        return article_from_json(data["article"], locale)

    # ---- reconnection ledger (custom objects; Zenpy has no support) -------------------

    def ensure_ledger(self) -> bool:
        """Create the ledger object and its missing fields (2 reads when all is there)."""
        wrote = False
        try:
            self.request_json("GET", LEDGER_PATH, "other", "reconnection ledger")
        except NotFoundError:
            body = {
                "custom_object": {
                    "key": LEDGER_KEY,
                    "title": LEDGER_TITLE,
                    "title_pluralized": LEDGER_TITLE_PLURAL,
                }
            }
            self.request_json(
                "POST", "/api/v2/custom_objects", "other", "ledger creation", body=body
            )
            wrote = True
        found = self.request_json("GET", f"{LEDGER_PATH}/fields", "other", "ledger fields")
        present = {f["key"] for f in found.get("custom_object_fields", [])}
        for key, field_type, title in LEDGER_FIELDS:
            if key in present:
                continue
            field = {"custom_object_field": {"key": key, "type": field_type, "title": title}}
            self.request_json("POST", f"{LEDGER_PATH}/fields", "other", "ledger field", body=field)
            wrote = True
        return wrote

    def list_reconnections(self, origin_call_id: str) -> list[ReconnectionRecord]:
        """Every ledger record of a 원콜, lowest id first (1 call: a database read)."""
        params = {"filter[external_ids]": origin_call_id}
        records = self._pages(LEDGER_RECORDS, params, "reconnection ledger", _ledger_page)
        return sorted(records, key=ReconnectionRecord.ledger_order)

    async def list_reconnections_nowait(
        self, origin_call_id: str
    ) -> NowaitList[ReconnectionRecord]:
        """`list_reconnections` on the event loop: ONE attempt per page (`_pages_nowait`)."""
        params = {"filter[external_ids]": origin_call_id}
        read = await self._pages_nowait(LEDGER_RECORDS, params, _ledger_page)
        if read.items is None:
            return read
        return replace(read, items=sorted(read.items, key=ReconnectionRecord.ledger_order))

    # ---- paged reads (blocking, and their one-attempt twins on the event loop) ---------

    def _pages(
        self, path: str, params: dict[str, str] | None, what: str, page: PageReader[R]
    ) -> list[R]:
        """Every page of a raw GET, each with the full retry rules."""
        items: list[R] = []
        while True:
            data = self.request_json("GET", path, "other", what, params=params)
            found, following = page(data)
            items += found
            if following is None:
                return items
            path, params = following, None

    async def _pages_nowait(
        self, path: str, params: dict[str, str] | None, page: PageReader[R]
    ) -> NowaitList[R]:
        """Every page of a raw GET on the event loop, ONE attempt each (no retry, no wait).

        A clean 2xx with a readable page on every page gives the items; anything else (a
        3xx/4xx/5xx, a 429, a network failure, the timeout, an unreadable answer) gives
        None: the caller reads it all on the blocking path, which raises its own errors.
        Every attempt is counted in `calls`.
        """
        items: list[R] = []
        calls = 0
        while True:
            attempt = await self.send_nowait(path, params)
            calls += attempt.calls
            response, where = attempt.response, attempt.where
            if response is None:
                return NowaitList(None, calls, where, attempt.retry_after, attempt.problem)
            if not 200 <= response.status_code < 300:
                return NowaitList(None, calls, where)
            try:
                found, following = page(response.json())
            # Any unreadable page (e.g. OverflowError): the blocking path names it.
            except Exception:
                return NowaitList(None, calls, where)
            items += found
            if following is None:
                return NowaitList(items, calls, where)
            path, params = following, None

    def create_reconnection(self, claim: ReconnectionClaim) -> ReconnectionRecord:
        """Record a claim (1 call, never retried)."""
        body = {"custom_object_record": ledger_record_payload(claim)}
        data = self.request_json(
            "POST", f"{LEDGER_PATH}/records", "other", "reconnection claim", body=body
        )
        return reconnection_from_json(data["custom_object_record"])

    def delete_reconnection(self, record_id: str) -> None:
        """Remove a ledger record; one already gone is a success (1 call)."""
        try:
            path = f"{LEDGER_PATH}/records/{quote(record_id, safe='')}"
            self.request_json("DELETE", path, "other", "ledger record")
        except NotFoundError:
            return

    # ---- ticket forms --------------------------------------------------------------------

    def get_ticket_form(self, form_id: int) -> TicketFormRecord:
        """Read a ticket form (1 call)."""
        path = f"/api/v2/ticket_forms/{int(form_id)}.json"
        return form_from_json(
            self.request_json("GET", path, "other", f"ticket form {form_id}")["ticket_form"]
        )

    def set_ticket_form_fields(self, form_id: int, field_ids: tuple[int, ...]) -> TicketFormRecord:
        """Replace the fields a ticket form shows (1 call)."""
        path = f"/api/v2/ticket_forms/{int(form_id)}.json"
        body = {"ticket_form": {"ticket_field_ids": list(field_ids)}}
        data = self.request_json("PUT", path, "other", f"ticket form {form_id}", body=body)
        return form_from_json(data["ticket_form"])


# ---- helpers ---------------------------------------------------------------------------


def _search_params(query: str) -> dict[str, str]:
    """The search's query parameters (tickets only unless the query names a type)."""
    return {"query": query if "type:" in query else f"type:ticket {query}"}


class _SearchPages:
    """Reads search pages, until the last or Zendesk's result limit; each ticket once.

    "Offset pagination may result in duplicate results when paging" (Search API,
    https://developer.zendesk.com/api-reference/ticketing/ticket-management/search/):
    a ticket already read on an earlier page is left out, so nothing counts it twice.
    """

    def __init__(self) -> None:
        self.seen = 0
        self.ticket_ids: set[int] = set()

    def __call__(self, data: Any) -> tuple[list[TicketRecord], str | None]:
        """One page's tickets not read before, and the next page's path (None: stop here)."""
        results = data.get("results") or []
        self.seen += len(results)
        tickets = []
        for result in results:
            if result.get("result_type") != "ticket":
                continue
            ticket = ticket_from_json(result)
            if ticket.id not in self.ticket_ids:
                self.ticket_ids.add(ticket.id)
                tickets.append(ticket)
        following = data.get("next_page")
        if not following or self.seen >= SEARCH_RESULT_LIMIT:
            # Zendesk answers 422 past its limit; Zenpy stopped there too.
            return tickets, None
        return tickets, path_and_query(following)


def _ledger_page(data: Any) -> tuple[list[ReconnectionRecord], str | None]:
    """One ledger page's records, and the next page's path (None: the last)."""
    records = [reconnection_from_json(r) for r in data.get("custom_object_records", [])]
    following = (data.get("links") or {}).get("next")
    if not following or not (data.get("meta") or {}).get("has_more"):
        return records, None
    return records, path_and_query(following)


def path_and_query(url: str) -> str:
    """The path and query of a page link Zendesk gave (its host is the gateway's own)."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _plain(value: Any) -> Any:
    """Copy Zenpy's ProxyDict/ProxyList values into plain JSON types."""
    return json.loads(json.dumps(value)) if value is not None else None


def _ticket_record(ticket: Any) -> TicketRecord:
    """Map a Zenpy Ticket to a TicketRecord (plain attributes only: properties call out)."""
    custom: dict[int, JSONScalar] = {}
    for entry in _plain(ticket.custom_fields) or []:
        custom[int(entry["id"])] = entry.get("value")
    return TicketRecord(
        id=int(ticket.id),
        subject=ticket.subject or "",
        description=ticket.description or "",
        status=ticket.status or "",
        tags=tuple(_plain(ticket.tags) or ()),
        custom_fields=custom,
        updated_at=str(ticket.updated_at or ""),
        created_at=str(ticket.created_at or ""),
        # Plain id attributes (ticket.group / ticket.assignee would call out).
        group_id=int(ticket.group_id) if ticket.group_id is not None else None,
        assignee_id=int(ticket.assignee_id) if ticket.assignee_id is not None else None,
        requester_id=int(ticket.requester_id) if ticket.requester_id is not None else None,
        party_ids=party_ids({key: _plain(getattr(ticket, key, None)) for key in PARTY_KEYS}),
    )


def _options_payload(options: tuple[FieldOption, ...]) -> list[dict[str, str]]:
    """Build Zendesk's custom_field_options list (no ids: the PUT replaces the list)."""
    return [{"name": option.name, "value": option.value} for option in options]


def _field_record(field: Any) -> FieldRecord:
    """Map a Zenpy TicketField to a FieldRecord."""
    options = tuple(
        FieldOption(name=str(option.name), value=str(option.value))
        # System fields (subject, status…) come without the attribute at all.
        for option in (getattr(field, "custom_field_options", None) or ())
    )
    return FieldRecord(
        id=int(field.id),
        type=str(field.type or ""),
        title=str(field.title or ""),
        description=str(field.description or ""),
        options=options,
        active=bool(field.active) if field.active is not None else True,
    )


def _macro_payload(macro_id: int | None, spec: MacroSpec) -> Macro:
    """Build the whole-macro payload (Zenpy object) for a create or a replace."""
    macro = Macro(title=spec.title) if macro_id is None else Macro(id=macro_id, title=spec.title)
    # Set after construction: Zenpy's constructors leave None-valued attributes out of
    # the payload, but a replace must send `restriction: null` to clear a restriction.
    macro.description = spec.description
    macro.active = spec.active
    macro.actions = [{"field": action.field, "value": action.value} for action in spec.actions]
    macro.restriction = _plain(spec.restriction) if spec.restriction is not None else None
    return macro


def _macro_record(macro: Any) -> MacroRecord:
    """Map a Zenpy Macro to a MacroRecord."""
    actions = tuple(
        MacroAction(field=str(action["field"]), value=action.get("value"))
        for action in _plain(macro.actions) or []
    )
    restriction = _plain(macro.restriction)
    return MacroRecord(
        id=int(macro.id),
        title=str(macro.title or ""),
        description=str(macro.description or ""),
        actions=actions,
        active=bool(macro.active) if macro.active is not None else True,
        restriction=restriction if isinstance(restriction, dict) else None,
        updated_at=str(macro.updated_at or ""),
    )
