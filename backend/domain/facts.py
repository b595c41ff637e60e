"""Facts of a ticket: semantic fields or a Zendesk ticket → typed values.

Two input shapes (CONTRACTS.md, `explain`): `{"fields": {...}, "subject", "description",
"prior_reconnections"}` with semantic keys, or `{"ticket": {...}}` as the Zendesk API
returns it, read through a field map (key → numeric custom field id). Any malformed
input raises an InputError subclass naming the field, never another exception.

Platform names, not a guide's: `prior_reconnections` is the contract's input key for the
count a guide's `once_only` feature receives (its `count` fact), and `inquiry_date` is the
ticket's creation day, filled for any catalog that declares that field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from backend.domain.fields import FieldCatalog, JsonScalar
from backend.domain.typed_json import field_encoders
from backend.domain.values import (
    SEOUL,
    describe_type,
    parse_datetime,
    parse_integer,
    show_value,
)
from backend.errors import InputError, UnknownFieldError

PRIOR_RECONNECTIONS = "prior_reconnections"
INQUIRY_DATE = "inquiry_date"
SEMANTIC_KEYS = ("fields", "subject", "description", PRIOR_RECONNECTIONS)
ZENDESK_KEYS = ("ticket", PRIOR_RECONNECTIONS)

_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.\[\]-]{1,60}")


@dataclass(frozen=True, slots=True)
class TicketInput:
    """One ticket's known field values (semantic key → typed value) and its text."""

    values: dict[str, Any] = field(default_factory=dict)
    subject: str = ""
    description: str = ""
    prior_reconnections: int = 0

    def __post_init__(self) -> None:
        count = self.prior_reconnections
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise InputError(
                f"{PRIOR_RECONNECTIONS}: expected a whole number >= 0, got {show_value(count)}",
                field=PRIOR_RECONNECTIONS,
            )


def name_key(key: object) -> str:
    """Quote a caller-given key for a one-line error message (plain keys stay bare)."""
    if isinstance(key, str) and _PLAIN_NAME.fullmatch(key):
        return key
    return show_value(key)


def _read_text(where: str, raw: object) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise InputError(f"{where}: expected text, got {describe_type(raw)}", field=where)
    return raw


def _read_prior(raw: object) -> int | None:
    return parse_integer(PRIOR_RECONNECTIONS, raw)


def _build(
    pairs: Iterable[tuple[str, object]],
    catalog: FieldCatalog,
    *,
    subject: str,
    description: str,
    prior: int | None,
) -> TicketInput:
    """Parse (key, raw value) pairs into a TicketInput; keys must be catalog keys."""
    values: dict[str, Any] = {}
    for key, raw in pairs:
        if key == PRIOR_RECONNECTIONS:
            # The count lives beside the values: the server computes it, it is never missing.
            given = _read_prior(raw)
            if given is not None and prior is not None and given != prior:
                raise InputError(
                    f"{PRIOR_RECONNECTIONS}: given twice with different values",
                    field=PRIOR_RECONNECTIONS,
                )
            prior = given if given is not None else prior
            continue
        if key not in catalog:
            raise UnknownFieldError(name_key(key))
        if raw is None:
            # Zendesk sends every custom field, most empty: None parses to None for every type.
            continue
        value = catalog.parse(key, raw)
        if value is not None:
            values[key] = value
    return TicketInput(
        values=values,
        subject=subject,
        description=description,
        prior_reconnections=prior or 0,
    )


def _invert_field_map(field_map: Mapping[str, int], catalog: FieldCatalog) -> Mapping[int, str]:
    """The field map read by id, checked; remembered per catalog and map content."""
    # Every ticket read inverts the same map: its items are the key (a changed map, even
    # the same dict changed in place, is a new key); a refused map is never remembered.
    items = tuple(field_map.items())
    if all(type(field_id) is int for _, field_id in items):
        return _remembered_inversion(catalog, items)
    return _checked_inversion(catalog, items)  # refused below (ids must be integers)


@lru_cache(maxsize=16)
def _remembered_inversion(
    catalog: FieldCatalog, items: tuple[tuple[str, int], ...]
) -> Mapping[int, str]:
    return _checked_inversion(catalog, items)


def _checked_inversion(
    catalog: FieldCatalog, items: Iterable[tuple[str, object]]
) -> Mapping[int, str]:
    by_id: dict[int, str] = {}
    for key, field_id in items:
        if key != PRIOR_RECONNECTIONS and key not in catalog:
            raise UnknownFieldError(name_key(key))
        if isinstance(field_id, bool) or not isinstance(field_id, int):
            raise InputError(f"field map: {name_key(key)}: the field id must be an integer")
        if field_id in by_id:
            raise InputError(f"field map: id {field_id} is mapped to two fields")
        by_id[field_id] = key
    return MappingProxyType(by_id)


def inquiry_day(created_at: object) -> date | None:
    """The inquiry date of a ticket: its creation instant as a day in Asia/Seoul."""
    stamp = parse_datetime(INQUIRY_DATE, created_at)
    return None if stamp is None else stamp.astimezone(SEOUL).date()


def parse_ticket_record(
    custom_fields: Mapping[int, object],
    subject: str | None,
    description: str | None,
    catalog: FieldCatalog,
    field_map: Mapping[str, int],
    prior_reconnections: int = 0,
    inquiry_date: date | None = None,
) -> TicketInput:
    """Parse a Zendesk ticket's custom fields ({id: value}) through the field map.

    `inquiry_date` is the ticket's creation day in Asia/Seoul (the SMS's "O월 O일 문의하신").
    """
    by_id = _invert_field_map(field_map, catalog)
    # Empty fields (most of them) add nothing: the map's keys are checked already.
    pairs = [
        (by_id[fid], raw) for fid, raw in custom_fields.items() if raw is not None and fid in by_id
    ]
    if inquiry_date is not None and INQUIRY_DATE in catalog:
        pairs.append((INQUIRY_DATE, inquiry_date))
    prior = _read_prior(prior_reconnections)
    return _build(
        pairs,
        catalog,
        subject=_read_text("subject", subject),
        description=_read_text("description", description),
        prior=prior,
    )


def _parse_semantic(data: Mapping[object, object], catalog: FieldCatalog) -> TicketInput:
    for key in data:
        if key not in SEMANTIC_KEYS:
            raise InputError(
                f"{name_key(key)}: unknown top-level key (expected one of: "
                f"{', '.join(SEMANTIC_KEYS)}, or ticket)",
                field=name_key(key),
            )
    fields = data.get("fields")
    if fields is None:
        fields = {}
    if not isinstance(fields, dict):
        raise InputError(
            f"fields: expected an object of field key → value, got {describe_type(fields)}",
            field="fields",
        )
    pairs: list[tuple[str, object]] = []
    for key, raw in fields.items():
        if not isinstance(key, str):
            raise UnknownFieldError(name_key(key))
        pairs.append((key, raw))
    return _build(
        pairs,
        catalog,
        subject=_read_text("subject", data.get("subject")),
        description=_read_text("description", data.get("description")),
        prior=_read_prior(data.get(PRIOR_RECONNECTIONS)),
    )


def _parse_zendesk(
    data: Mapping[object, object], catalog: FieldCatalog, field_map: Mapping[str, int] | None
) -> TicketInput:
    for key in data:
        if key not in ZENDESK_KEYS:
            raise InputError(
                f"{name_key(key)}: unknown top-level key next to ticket "
                f"(expected one of: {', '.join(ZENDESK_KEYS)})",
                field=name_key(key),
            )
    if field_map is None:
        raise InputError("a Zendesk ticket needs a field map", field="ticket")
    ticket = data["ticket"]
    if not isinstance(ticket, dict):
        raise InputError(f"ticket: expected an object, got {describe_type(ticket)}", field="ticket")
    entries = ticket.get("custom_fields")
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        where = "ticket.custom_fields"
        raise InputError(f"{where}: expected a list, got {describe_type(entries)}", field=where)
    custom: dict[int, object] = {}
    for index, entry in enumerate(entries):
        where = f"ticket.custom_fields[{index}]"
        if not isinstance(entry, dict):
            raise InputError(f"{where}: expected an object with id and value", field=where)
        field_id = entry.get("id")
        if isinstance(field_id, bool) or not isinstance(field_id, int):
            raise InputError(f"{where}.id: expected a numeric field id", field=f"{where}.id")
        custom[field_id] = entry.get("value")
    return parse_ticket_record(
        custom,
        _read_text("ticket.subject", ticket.get("subject")),
        _read_text("ticket.description", ticket.get("description")),
        catalog,
        field_map,
        prior_reconnections=_read_prior(data.get(PRIOR_RECONNECTIONS)) or 0,
    )


def parse_input(
    data: object, catalog: FieldCatalog, field_map: Mapping[str, int] | None = None
) -> TicketInput:
    """Parse an `explain` input: semantic fields or a Zendesk ticket (needs a field map)."""
    if not isinstance(data, dict):
        raise InputError(f"input: expected a JSON object, got {describe_type(data)}")
    if "ticket" in data:
        if "fields" in data:
            raise InputError("input: give either fields or ticket, not both", field="ticket")
        return _parse_zendesk(data, catalog, field_map)
    return _parse_semantic(data, catalog)


def facts_json(values: Mapping[str, object], catalog: FieldCatalog) -> dict[str, JsonScalar]:
    """A ticket's values as JSON, equal to `catalog.values_to_json(values)`.

    The values `parse_input` makes are typed already. Each typed case is one where
    `FieldCatalog.parse` returns its argument as is (a bool, an option code, a date, a
    Seoul date-time, a whole number in range): encoding it needs no second parse.
    Text-like values go straight to their field's parser (which may normalise them, as
    `to_json` would); coupon splits (merged by their parser) and the rest take `to_json`.
    Each field's encoder is chosen once per catalog, not per value.
    """
    encoders = field_encoders(catalog)
    encoded: dict[str, JsonScalar] = {}
    for key, value in values.items():
        encoder = encoders.get(key)
        found = None if encoder is None else encoder(key, value)
        # An unknown key fails in `to_json` (UnknownFieldError), as it always did.
        encoded[key] = catalog.to_json(key, value) if found is None else found
    return encoded
