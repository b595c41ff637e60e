"""Zendesk JSON ↔ gateway dataclasses, the reconnection ledger's schema, error mapping.

Shared by both adapters: the Zenpy gateway (raw requests for what Zenpy lacks) and the
fake (which speaks to the emulator's store in process), so there is one reading of
Zendesk's shapes. Never imports `backend.domain`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from backend.errors import (
    ConflictError,
    NotFoundError,
    RateLimitedError,
    TicketNotFoundError,
    WriteNotHeldError,
    ZendeskError,
    ZendeskRejectedError,
    ZendeskUnavailableError,
)
from backend.zendesk.gateway import (
    ArticleRecord,
    CommentRecord,
    FieldOption,
    FieldRecord,
    JSONScalar,
    MacroAction,
    MacroRecord,
    ReconnectionClaim,
    ReconnectionRecord,
    TicketFormRecord,
    TicketRecord,
    TicketUpdate,
)

Resource = Literal["ticket", "other"]
MAX_DETAIL = 600

# The reconnection ledger: one custom object record per claimed 강제재연결, external id =
# the 원콜 ID. Custom object records are read from the database (List Custom Object
# Records, `filter[external_ids]`), not from the search index, so a claim is visible to
# the next read at once.
# https://developer.zendesk.com/api-reference/custom-data/custom-objects/custom_object_records/#list-custom-object-records
LEDGER_KEY = "gp_reconnection"
LEDGER_TITLE = "Guidepost reconnection"
LEDGER_TITLE_PLURAL = "Guidepost reconnections"
# (key, type, title) of the ledger's fields.
LEDGER_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("forced_call_id", "text", "강콜 ID"),
    ("ticket_id", "text", "Ticket ID"),
    ("agent", "text", "Agent"),
)


def ledger_record_payload(claim: ReconnectionClaim) -> dict[str, Any]:
    """The `custom_object_record` body of a claim."""
    return {
        "name": f"원콜 {claim.origin_call_id} → 강콜 {claim.forced_call_id}",
        "external_id": claim.origin_call_id,
        "custom_object_fields": {
            "forced_call_id": claim.forced_call_id,
            "ticket_id": str(claim.ticket_id),
            "agent": claim.agent,
        },
    }


def reconnection_from_json(data: Mapping[str, Any]) -> ReconnectionRecord:
    """Read a ledger record (its id is a string, kept as Zendesk sends it)."""
    record_id = data["id"]
    if not isinstance(record_id, str) or not record_id:
        raise ValueError("a ledger record's id is a non-empty string")
    values = data.get("custom_object_fields") or {}
    raw_ticket = str(values.get("ticket_id") or "0").strip()
    return ReconnectionRecord(
        id=record_id,
        origin_call_id=str(data.get("external_id") or ""),
        forced_call_id=str(values.get("forced_call_id") or ""),
        ticket_id=int(raw_ticket) if raw_ticket.isdigit() else 0,
        agent=str(values.get("agent") or ""),
        created_at=str(data.get("created_at") or ""),
    )


def ticket_update_payload(update: TicketUpdate) -> dict[str, Any]:
    """The `ticket` body of a safe Update Ticket, keys in the order Zenpy sent them.

    Zenpy serialized a partial `Ticket` (attributes in its constructor's order, then the
    extra ones) and a `Comment` the same way; the same keys in the same order keep the
    request byte-for-byte what it was (tests/zendesk/test_raw_writes.py compares them).
    """
    ticket: dict[str, Any] = {}
    if update.custom_fields:
        ticket["custom_fields"] = [
            {"id": field_id, "value": value} for field_id, value in update.custom_fields.items()
        ]
    ticket["id"] = update.ticket_id
    if update.tags is not None:
        ticket["tags"] = list(update.tags)
    # Zendesk answers 409 when the ticket changed since `updated_stamp` (safe update).
    ticket["safe_update"] = True
    ticket["updated_stamp"] = update.updated_stamp
    if update.note_body is not None:
        comment: dict[str, Any] = {}
        if update.note_author_id is not None:
            # Zendesk Update Ticket: comment.author_id makes the agent the note's author.
            comment["author_id"] = update.note_author_id
        comment["body"] = update.note_body
        comment["public"] = update.note_public
        ticket["comment"] = comment
    return ticket


def ticket_from_json(data: Mapping[str, Any]) -> TicketRecord:
    """Read a ticket in Zendesk's JSON shape."""
    custom: dict[int, JSONScalar] = {}
    for entry in data.get("custom_fields") or []:
        custom[int(entry["id"])] = entry.get("value")
    return TicketRecord(
        id=int(data["id"]),
        subject=str(data.get("subject") or ""),
        description=str(data.get("description") or ""),
        status=str(data.get("status") or ""),
        tags=tuple(data.get("tags") or ()),
        custom_fields=custom,
        updated_at=str(data.get("updated_at") or ""),
        created_at=str(data.get("created_at") or ""),
        group_id=_optional_id(data.get("group_id")),
        assignee_id=_optional_id(data.get("assignee_id")),
        requester_id=_optional_id(data.get("requester_id")),
        party_ids=party_ids(data),
    )


def _optional_id(value: Any) -> int | None:
    """A Zendesk id that may be null."""
    return int(value) if value is not None else None


PARTY_KEYS = ("collaborator_ids", "follower_ids", "email_cc_ids")


def party_ids(data: Mapping[str, Any]) -> frozenset[int]:
    """The users CC'd on or following a ticket (Tickets API id lists; absent ones: none)."""
    found: set[int] = set()
    for key in PARTY_KEYS:
        for user_id in data.get(key) or ():
            found.add(int(user_id))
    return frozenset(found)


def comment_from_json(data: Mapping[str, Any]) -> CommentRecord:
    """Read a ticket comment."""
    return CommentRecord(
        id=int(data["id"]),
        body=str(data.get("body") or ""),
        public=bool(data.get("public")),
        created_at=str(data.get("created_at") or ""),
        author_id=_optional_id(data.get("author_id")),
    )


def field_from_json(data: Mapping[str, Any]) -> FieldRecord:
    """Read a ticket field (system fields carry no custom options)."""
    options = tuple(
        FieldOption(name=str(o["name"]), value=str(o["value"]))
        for o in data.get("custom_field_options") or ()
    )
    active = data.get("active")
    return FieldRecord(
        id=int(data["id"]),
        type=str(data.get("type") or ""),
        title=str(data.get("title") or ""),
        description=str(data.get("description") or ""),
        options=options,
        active=bool(active) if active is not None else True,
    )


def macro_from_json(data: Mapping[str, Any]) -> MacroRecord:
    """Read a macro."""
    actions = tuple(
        MacroAction(field=str(a["field"]), value=a.get("value")) for a in data.get("actions") or []
    )
    restriction = data.get("restriction")
    active = data.get("active")
    return MacroRecord(
        id=int(data["id"]),
        title=str(data.get("title") or ""),
        description=str(data.get("description") or ""),
        actions=actions,
        active=bool(active) if active is not None else True,
        restriction=dict(restriction) if isinstance(restriction, dict) else None,
        updated_at=str(data.get("updated_at") or ""),
    )


def article_from_json(data: Mapping[str, Any], locale: str) -> ArticleRecord:
    """Read a Help Center article."""
    return ArticleRecord(
        id=int(data["id"]),
        locale=str(data.get("locale") or locale),
        title=str(data.get("title") or ""),
        body=str(data.get("body") or ""),
        updated_at=str(data.get("updated_at") or ""),
    )


def form_from_json(data: Mapping[str, Any]) -> TicketFormRecord:
    """Read a ticket form."""
    return TicketFormRecord(
        id=int(data["id"]),
        name=str(data.get("name") or ""),
        ticket_field_ids=tuple(int(i) for i in data.get("ticket_field_ids") or ()),
    )


def _same_value(sent: JSONScalar, held: JSONScalar) -> bool:
    """Compare a sent field value with the one Zendesk returned (types may differ)."""
    if sent is None or sent == "":
        return held is None or held == ""
    if isinstance(sent, bool) or isinstance(held, bool):
        return str(sent).lower() == str(held).lower()
    return str(sent) == str(held)


def parse_zendesk_time(value: str) -> float | None:
    """Epoch seconds of a Zendesk timestamp (`2024-11-20T09:00:01Z`); None when unreadable."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def verify_written(update: TicketUpdate, written: TicketRecord) -> None:
    """Raise WriteNotHeldError unless the returned ticket holds every value sent.

    Zendesk answers 200 and silently drops what it will not keep (e.g. a dropdown value
    that is no option): "Compare the values you send in the payload to the response
    object". https://support.zendesk.com/hc/en-us/articles/4418443326106
    """
    dropped = [
        f"custom field {field_id} = {value!r} (kept {written.custom_fields.get(field_id)!r})"
        for field_id, value in update.custom_fields.items()
        if not _same_value(value, written.custom_fields.get(field_id))
    ]
    held_tags = set(written.tags)
    missing = [tag for tag in update.tags or () if tag.strip().lower() not in held_tags]
    if missing:
        dropped.append(f"tags {missing}")
    if dropped:
        raise WriteNotHeldError(
            f"ticket {update.ticket_id}: Zendesk answered 200 but did not keep "
            + "; ".join(dropped)
        )


def error_for_status(
    status: int, body: Any, resource: Resource, what: str, retry_after: float = 1.0
) -> ZendeskError:
    """Build the GuidepostError matching an error answer (status + parsed body)."""
    detail = f"{what}: Zendesk answered {status}{describe_error(body)}"[:MAX_DETAIL]
    if status in (401, 403):
        detail += " (check GUIDEPOST_ZENDESK_EMAIL, GUIDEPOST_ZENDESK_TOKEN and the agent's role)"
    if status == 404:
        return TicketNotFoundError(detail) if resource == "ticket" else NotFoundError(detail)
    if status == 409:
        return ConflictError(detail)
    if status == 429:
        return RateLimitedError(detail, retry_after=retry_after)
    if status >= 500:
        return ZendeskUnavailableError(detail)
    return ZendeskRejectedError(detail, status)


def describe_error(body: Any) -> str:
    """Summarise Zendesk's error body (error, description, details, errors[]); never headers."""
    if not isinstance(body, dict):
        return ""
    parts = [str(body[key]) for key in ("error", "description") if body.get(key)]
    if isinstance(body.get("error"), dict):
        parts = [str(body["error"].get(k)) for k in ("title", "message") if body["error"].get(k)]
    if isinstance(body.get("errors"), list):
        for error in body["errors"]:
            if isinstance(error, dict):
                parts += [str(error[k]) for k in ("code", "detail") if error.get(k)]
    if body.get("details"):
        parts.append(json.dumps(body["details"], ensure_ascii=False, sort_keys=True))
    return f" ({'; '.join(parts)})" if parts else ""
