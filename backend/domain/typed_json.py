"""Typed field values as JSON without a second parse: one encoder per field, per catalog.

Used by `facts.facts_json`: each encoder returns the JSON of a value `parse_input` made,
or None when the value must take `FieldCatalog.to_json` (the general path).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date, datetime
from typing import Any
from weakref import WeakKeyDictionary

from backend.domain.fields import FieldCatalog, FieldDef, JsonScalar
from backend.domain.values import (
    MAX_AMOUNT,
    MAX_INTEGER,
    SEOUL,
    parse_call_id,
    parse_plate,
    parse_text,
)

# How one field's typed value encodes: its JSON, or None to take `FieldCatalog.to_json`.
_Encoder = Callable[[str, Any], JsonScalar]


def _same_bool(key: str, value: Any) -> JsonScalar:
    return value if isinstance(value, bool) else None


def _iso_date(key: str, value: Any) -> JsonScalar:
    return value.isoformat() if type(value) is date else None


def _iso_seoul(key: str, value: Any) -> JsonScalar:
    return value.isoformat() if isinstance(value, datetime) and value.tzinfo is SEOUL else None


def _whole_up_to(limit: int) -> _Encoder:
    def encode(key: str, value: Any) -> JsonScalar:
        return value if type(value) is int and 0 <= value <= limit else None

    return encode


def _option_of(codes: Collection[str]) -> _Encoder:
    def encode(key: str, value: Any) -> JsonScalar:
        return value if type(value) is str and value in codes else None

    return encode


def _to_json_always(key: str, value: Any) -> JsonScalar:
    return None


def _field_encoder(field: FieldDef) -> _Encoder:
    """The field's encoder of a value `parse_input` made (see `facts_json`)."""
    match field.type:
        case "tristate":
            return _same_bool
        case "dropdown":
            return _option_of(field.options)
        case "date":
            return _iso_date
        case "datetime":
            return _iso_seoul
        case "amount":
            return _whole_up_to(MAX_AMOUNT)
        case "integer":
            return _whole_up_to(MAX_INTEGER)
        case "text":
            return parse_text
        case "plate":
            return parse_plate
        case "call_id":
            return parse_call_id
        case _:
            return _to_json_always


# Per field catalog (kept while the catalog lives): key → encoder.
_ENCODERS: WeakKeyDictionary[FieldCatalog, dict[str, _Encoder]] = WeakKeyDictionary()


def field_encoders(catalog: FieldCatalog) -> dict[str, _Encoder]:
    """Each field's encoder, chosen once per catalog."""
    found = _ENCODERS.get(catalog)
    if found is None:
        found = _ENCODERS[catalog] = {
            field.key: _field_encoder(field) for field in catalog.fields()
        }
    return found
