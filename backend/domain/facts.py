"""Facts of a ticket: semantic fields or a Zendesk ticket → typed values.

Two input shapes (CONTRACTS.md, `explain`): `{"fields": {...}, "subject", "description",
"prior_reconnections"}` with semantic keys, or `{"ticket": {...}}` as the Zendesk API
returns it, read through a field map (key → numeric custom field id). Any malformed
input raises an InputError subclass naming the field, never another exception.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backend.domain.coupon import CouponPiece
from backend.domain.fields import FieldCatalog
from backend.domain.values import describe_type, parse_integer, show_value
from backend.errors import InputError, UnknownFieldError

PRIOR_RECONNECTIONS = "prior_reconnections"
SEMANTIC_KEYS = ("fields", "subject", "description", PRIOR_RECONNECTIONS)
ZENDESK_KEYS = ("ticket", PRIOR_RECONNECTIONS)

_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.\[\]-]{1,60}")


class TicketInput(BaseModel):
    """One ticket's known field values (semantic key → typed value) and its text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    values: dict[str, Any] = Field(default_factory=dict)
    subject: str = ""
    description: str = ""
    prior_reconnections: int = Field(default=0, ge=0)


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
        value = catalog.parse(key, raw)
        if value is not None:
            values[key] = value
    return TicketInput(
        values=values,
        subject=subject,
        description=description,
        prior_reconnections=prior or 0,
    )


def _invert_field_map(field_map: Mapping[str, int], catalog: FieldCatalog) -> dict[int, str]:
    by_id: dict[int, str] = {}
    for key, field_id in field_map.items():
        if key != PRIOR_RECONNECTIONS and key not in catalog:
            raise UnknownFieldError(name_key(key))
        if isinstance(field_id, bool) or not isinstance(field_id, int):
            raise InputError(f"field map: {name_key(key)}: the field id must be an integer")
        if field_id in by_id:
            raise InputError(f"field map: id {field_id} is mapped to two fields")
        by_id[field_id] = key
    return by_id


def parse_ticket_record(
    custom_fields: Mapping[int, object],
    subject: str | None,
    description: str | None,
    catalog: FieldCatalog,
    field_map: Mapping[str, int],
    prior_reconnections: int = 0,
) -> TicketInput:
    """Parse a Zendesk ticket's custom fields ({id: value}) through the field map."""
    by_id = _invert_field_map(field_map, catalog)
    pairs = [(by_id[fid], raw) for fid, raw in custom_fields.items() if fid in by_id]
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


# Option codes as Literal types; tests check them against macros/fields.yaml.
ConsultType = Literal[
    "parking_integration_onsite_payment",
    "driver_force_rerun_own_normal",
    "driver_force_rerun_own_vip",
    "driver_force_rerun_partner",
    "driver_force_rerun_consigned",
    "driver_force_rerun_reserved",
    "driver_force_rerun_delivery",
    "driver_force_rerun_custom",
    "driver_force_rerun_other",
]
Operator = Literal[
    "kakaomobility_direct",
    "kmpns_direct",
    "kmpark",
    "nicepark",
    "hiparking",
    "amano",
    "urbanport",
    "sk_shieldus",
    "other",
]
TicketStatus = Literal["in_use", "paid", "cancelled"]
CouponResponse = Literal["accepted", "refused"]
CallType = Literal[
    "own_normal",
    "own_vip",
    "partner",
    "delivery_partner",
    "consigned",
    "reserved",
    "delivery",
    "custom",
    "other",
]
RequesterRole = Literal["driver", "customer"]
AdminStatus = Literal[
    "cancelled_after_assignment", "completed", "stopped_by_report", "in_progress", "other"
]
CustomerPresence = Literal["before_meeting", "together", "separated"]
PaymentMethod = Literal["card", "cash"]
CustomerConsent = Literal["pending", "agreed", "refused", "unreachable"]


class _GuideFacts(BaseModel):
    """Typed view of one guide's fields; every field None while unknown."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    @classmethod
    def _extra(cls, ticket: TicketInput) -> dict[str, Any]:
        return {}

    @classmethod
    def from_input(cls, ticket: TicketInput) -> Self:
        """Build the typed view from a parsed TicketInput (values of other guides ignored)."""
        data = {name: ticket.values[name] for name in cls.model_fields if name in ticket.values}
        data.update(cls._extra(ticket))
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            where = ".".join(str(part) for part in exc.errors()[0]["loc"]) or "input"
            raise InputError(f"{where}: {exc.errors()[0]['msg']}", field=where) from None


class ParkingFacts(_GuideFacts):
    """The fields of guide parking_onsite_payment, typed."""

    consult_type: ConsultType | None = None
    identity_verified: bool | None = None
    usage_date: date | None = None
    parking_lot: str | None = None
    operator: Operator | None = None
    car_number: str | None = None
    ticket_start: datetime | None = None
    ticket_end: datetime | None = None
    entry_time: datetime | None = None
    exit_time: datetime | None = None
    reserved_at: datetime | None = None
    post_entry_purchase_allowed: bool | None = None
    receipt_attached: bool | None = None
    receipt_lot_matches: bool | None = None
    onsite_amount: int | None = None
    ticket_price: int | None = None
    overtime_fee: int | None = None
    ticket_status: TicketStatus | None = None
    coupon_response: CouponResponse | None = None
    coupon_split: tuple[CouponPiece, ...] | None = None
    approval_number: str | None = None


class ReconnectFacts(_GuideFacts):
    """The fields of guide force_reconnect, typed (prior_reconnections always known)."""

    consult_type: ConsultType | None = None
    call_type: CallType | None = None
    requester_role: RequesterRole | None = None
    identity_verified: bool | None = None
    trip_datetime: str | None = None
    departure: str | None = None
    destination: str | None = None
    trip_number: str | None = None
    admin_status: AdminStatus | None = None
    trip_started: bool | None = None
    customer_presence: CustomerPresence | None = None
    driver_refuses_callback: bool | None = None
    reason: str | None = None
    fare_adjustment: bool | None = None
    original_fare: int | None = None
    agreed_fare: int | None = None
    estimated_fare: int | None = None
    driver_fare_consent: bool | None = None
    payment_method: PaymentMethod | None = None
    customer_consent: CustomerConsent | None = None
    driver_on_duty: bool | None = None
    customer_recalling: bool | None = None
    origin_call_id: str | None = None
    forced_call_id: str | None = None
    prior_reconnections: int = 0

    @classmethod
    def _extra(cls, ticket: TicketInput) -> dict[str, Any]:
        return {PRIOR_RECONNECTIONS: ticket.prior_reconnections}
