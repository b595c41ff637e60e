"""Zendesk search query subset for tickets.

Grammar handled: ``keyword:value``, ``keyword<value`` / ``keyword>value`` (also
``<=`` / ``>=``) for ``status``, ``priority``, ``created`` and ``updated``,
``-keyword:value`` negation, ``"quoted phrases"``, bare words and ``-word``.

Keywords: ``type``, ``status``, ``priority``, ``ticket_type``, ``tags`` (alias
``tag``), ``subject``, ``description``, ``id``, ``custom_field_<id>``,
``created`` / ``updated`` (``YYYY-MM-DD``, an ISO 8601 time, or a relative
``4hours`` / ``2days`` / ``1weeks`` …), ``assignee_id``, ``requester_id``,
``group_id`` and ``assignee:none``. Other Zendesk ticket keywords (``assignee``
by name, ``via``, ``organization`` …) are not emulated: they are ignored and
reported in ``unsupported``. Unknown words before a colon are plain text, as in
Zendesk.

Combination rule (Zendesk search reference): terms with *different* keywords
are ANDed; repeated terms with the *same* keyword are ORed, so
``status:open status:pending`` means either status and ``tags:a tags:b`` means
either tag. ``tags:"a b"`` is the quoted form of the same OR. Negated terms
must all fail. Free words must all appear (case-insensitive) in the subject or
description.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

__all__ = ["TicketQuery", "parse_query"]

_TERM_RE = re.compile(r'(-?)(?:([A-Za-z_][\w.]*)(<=|>=|:|<|>))?("[^"]*"|\S+)')
_RELATIVE_RE = re.compile(r"(\d+)(minute|hour|day|week|month|year)s?", re.IGNORECASE)
_UNIT_SECONDS = {
    "minute": 60,
    "hour": 3600,
    "day": 86400,
    "week": 7 * 86400,
    "month": 30 * 86400,
    "year": 365 * 86400,
}
_STATUS_ORDER = ["new", "open", "pending", "hold", "solved", "closed"]
_PRIORITY_ORDER = ["low", "normal", "high", "urgent"]
_TEXT_KEYWORDS = {"subject", "description"}
_ID_KEYWORDS = {
    "assignee_id": "assignee_id",
    "requester_id": "requester_id",
    "group_id": "group_id",
}
_KNOWN_KEYWORDS = {
    "type",
    "status",
    "priority",
    "ticket_type",
    "tags",
    "tag",
    "subject",
    "description",
    "id",
    "created",
    "updated",
    "assignee",
    *_ID_KEYWORDS,
}
# Real Zendesk ticket keywords the emulator does not model.
_UNSUPPORTED_KEYWORDS = {
    "requester",
    "submitter",
    "group",
    "organization",
    "via",
    "brand",
    "form",
    "commenter",
    "cc",
    "fieldvalue",
    "has_attachment",
    "satisfaction",
    "solved",
    "due_date",
    "recipient",
    "comment",
    "order_by",
    "sort",
}

_Predicate = Callable[[dict[str, Any]], bool]


@dataclass
class TicketQuery:
    """A parsed query: grouped positive predicates, negated ones and the type filter."""

    groups: dict[str, list[_Predicate]] = field(default_factory=dict)
    negated: list[_Predicate] = field(default_factory=list)
    wants_tickets: bool = True
    unsupported: list[str] = field(default_factory=list)

    def matches(self, ticket: dict[str, Any]) -> bool:
        """Tell whether an internal ticket record satisfies the query."""
        if not self.wants_tickets:
            return False
        for predicates in self.groups.values():
            if not any(predicate(ticket) for predicate in predicates):
                return False
        return not any(predicate(ticket) for predicate in self.negated)


def parse_query(query: str) -> TicketQuery:
    """Parse a Zendesk search string into a TicketQuery."""
    parsed = TicketQuery()
    for match in _TERM_RE.finditer(query):
        negate, keyword, operator, raw_value = match.groups()
        value = raw_value[1:-1] if raw_value.startswith('"') else raw_value
        keyword = (keyword or "").lower()
        if keyword in _UNSUPPORTED_KEYWORDS or (keyword == "assignee" and value.lower() != "none"):
            if keyword not in parsed.unsupported:
                parsed.unsupported.append(keyword)
            continue
        if keyword and keyword not in _KNOWN_KEYWORDS and not keyword.startswith("custom_field_"):
            # Unknown property keywords are plain text to Zendesk.
            value, keyword, operator = f"{keyword}{operator}{value}", "", ""
        if keyword == "type":
            # type:user (or -type:ticket) leaves nothing: the emulator only has tickets.
            if (value.lower() == "ticket") == bool(negate):
                parsed.wants_tickets = False
            continue
        predicate = _build_predicate(keyword, operator or ":", value)
        if negate:
            parsed.negated.append(predicate)
        else:
            group = "tags" if keyword == "tag" else keyword or f"text:{len(parsed.groups)}"
            parsed.groups.setdefault(group, []).append(predicate)
    return parsed


def _build_predicate(keyword: str, operator: str, value: str) -> _Predicate:
    """Build the test for one term."""
    lowered = value.lower()
    if keyword in ("tags", "tag"):
        wanted = set(lowered.split())
        return lambda t: bool(wanted & set(t["tags"]))
    if keyword == "status":
        return _build_ordered("status", _STATUS_ORDER, operator, lowered)
    if keyword == "priority":
        return _build_ordered("priority", _PRIORITY_ORDER, operator, lowered)
    if keyword == "ticket_type":
        return lambda t: (t.get("type") or "") == lowered
    if keyword == "id":
        return lambda t: str(t["id"]) == value
    if keyword in ("created", "updated"):
        return _build_dated(f"{keyword}_at", operator, value)
    if keyword in _ID_KEYWORDS:
        attribute = _ID_KEYWORDS[keyword]
        return lambda t: str(t.get(attribute)) == value
    if keyword == "assignee":
        return lambda t: t.get("assignee_id") is None
    if keyword in _TEXT_KEYWORDS:
        return lambda t: lowered in str(t.get(keyword) or "").lower()
    if keyword.startswith("custom_field_"):
        field_id = keyword.removeprefix("custom_field_")
        return lambda t: _match_field(t, field_id, lowered)
    return lambda t: _match_text(t, lowered)


def _build_ordered(attribute: str, order: list[str], operator: str, value: str) -> _Predicate:
    """Equality or ordering on status / priority, which Zendesk ranks."""
    if operator == ":" or value not in order:
        return lambda t: (t.get(attribute) or "") == value
    rank = order.index(value)

    def test(ticket: dict[str, Any]) -> bool:
        current = ticket.get(attribute)
        if current not in order:
            return False
        return _compare(order.index(current), operator, rank)

    return test


def _build_dated(attribute: str, operator: str, value: str) -> _Predicate:
    """Compare created_at / updated_at (epoch seconds) with a date, time or relative age."""
    relative = _RELATIVE_RE.fullmatch(value)
    if relative:
        # created>4hours: newer than four hours ago; created<4hours: older than that.
        amount, unit = int(relative.group(1)), relative.group(2).lower()
        boundary = int(time.time()) - amount * _UNIT_SECONDS[unit]
        return lambda t: _compare(
            int(t[attribute]), operator if operator != ":" else ">=", boundary
        )
    try:
        day = date.fromisoformat(value)
    except ValueError:
        day = None
    if day is not None:
        start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
        end = start + 86400
        if operator == ":":
            return lambda t: start <= int(t[attribute]) < end
        # A whole day compares by its bounds: > after the day, < before it.
        bound = end - 1 if operator in (">", "<=") else start
        return lambda t: _compare(int(t[attribute]), operator, bound)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return lambda t: False
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    stamp = int(moment.timestamp())
    return lambda t: _compare(int(t[attribute]), operator if operator != ":" else "=", stamp)


def _compare(left: int, operator: str, right: int) -> bool:
    """Apply a search comparison operator to two numbers."""
    if operator == ">":
        return left > right
    if operator == "<":
        return left < right
    if operator == ">=":
        return left >= right
    if operator == "<=":
        return left <= right
    return left == right


def _match_field(ticket: dict[str, Any], field_id: str, value: str) -> bool:
    """Match a custom field value by its printed form."""
    for key, current in ticket["fields"].items():
        if str(key) != field_id or current is None:
            continue
        if isinstance(current, list):
            return value in [str(v).lower() for v in current]
        return str(current).lower() == value
    return False


def _match_text(ticket: dict[str, Any], value: str) -> bool:
    """Case-insensitive substring match on subject or description."""
    haystack = f"{ticket.get('subject') or ''}\n{ticket.get('description') or ''}".lower()
    return value in haystack
