"""Derived facts: values computed from fields (differences, coupon, overtime…).

Each derived fact returns its value, or None and the fields it is waiting for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from backend.domain.conditions import Lookup
from backend.domain.coupon import is_valid_split, propose_split, round_coupon

Derived = tuple[Any, tuple[str, ...]]
DerivedFn = Callable[[Lookup, Mapping[str, Any]], Derived]


def _need(lookup: Lookup, *names: str) -> tuple[list[Any], tuple[str, ...]]:
    values: list[Any] = []
    needs: list[str] = []
    for name in names:
        value, value_needs = lookup(name)
        values.append(value)
        if value is None:
            needs.extend(value_needs or (name,))
    return values, tuple(dict.fromkeys(needs))


def derive_entered_before_window(lookup: Lookup, settings: Mapping[str, Any]) -> Derived:
    """주의사항 ①: the car entered before the ticket's usage window opened."""
    (entry, start), needs = _need(lookup, "entry_time", "ticket_start")
    return (None, needs) if needs else (entry < start, ())


def derive_reserved_after_entry(lookup: Lookup, settings: Mapping[str, Any]) -> Derived:
    """주의사항 ②: the ticket was reserved (bought) after the car entered."""
    (reserved, entry), needs = _need(lookup, "reserved_at", "entry_time")
    return (None, needs) if needs else (reserved > entry, ())


def derive_overtime(lookup: Lookup, settings: Mapping[str, Any]) -> Derived:
    """주의사항 ③: the car left after the ticket's usage window closed."""
    (exit_time, end), needs = _need(lookup, "exit_time", "ticket_end")
    return (None, needs) if needs else (exit_time > end, ())


def derive_difference(lookup: Lookup, settings: Mapping[str, Any]) -> Derived:
    """On-site amount minus what the customer owed anyway (ticket + overtime fee)."""
    (onsite, price, overtime), needs = _need(lookup, "onsite_amount", "ticket_price", "overtime")
    fee = 0
    if overtime:
        (fee_value,), fee_needs = _need(lookup, "overtime_fee")
        needs = tuple(dict.fromkeys(needs + fee_needs))
        fee = fee_value or 0
    if needs:
        return None, needs
    return onsite - price - fee, ()


def derive_coupon_amount(lookup: Lookup, settings: Mapping[str, Any]) -> Derived:
    """The difference rounded to the guide's coupon step by its rounding mode (0 if none owed)."""
    (difference,), needs = _need(lookup, "difference")
    if needs:
        return None, needs
    step = int(settings.get("coupon_step", 1000))
    return round_coupon(difference, step, str(settings.get("coupon_rounding", "up"))), ()


def derive_coupon_rounded(lookup: Lookup, settings: Mapping[str, Any]) -> Derived:
    """True when rounding changed the amount."""
    (difference, amount), needs = _need(lookup, "difference", "coupon_amount")
    if needs:
        return None, needs
    return difference > 0 and amount != difference, ()


def derive_coupon_split_invalid(lookup: Lookup, settings: Mapping[str, Any]) -> Derived:
    """True when the customer's requested split cannot be issued; false while none is given."""
    split, _ = lookup("coupon_split")
    if split is None:
        return False, ()
    (amount,), needs = _need(lookup, "coupon_amount")
    if needs:
        return None, needs
    return not is_valid_split(split, amount), ()


def derive_coupon_pieces(lookup: Lookup, settings: Mapping[str, Any]) -> Derived:
    """The customer's split when valid; unknown otherwise (the split is the customer's choice)."""
    (amount, split), needs = _need(lookup, "coupon_amount", "coupon_split")
    if needs:
        return None, needs
    if is_valid_split(split, amount):
        return tuple(split), ()
    return None, ("coupon_split",)


def derive_example_coupon_split(lookup: Lookup, settings: Mapping[str, Any]) -> Derived:
    """An example split for the agent (fewest pieces); never written to the ticket."""
    (amount,), needs = _need(lookup, "coupon_amount")
    if needs:
        return None, needs
    if amount <= 0 or amount % 1000:
        return None, ("coupon_amount",)
    return propose_split(amount), ()


def derive_implied_call_type(lookup: Lookup, settings: Mapping[str, Any]) -> Derived:
    """The call type implied by the 상담유형 leaf (GUIDES.md §1)."""
    consult, _ = lookup("consult_type")
    implied = settings.get("consult_types", {}).get(consult) if consult else None
    return (implied, ()) if implied else (None, ("consult_type",))


DERIVED: dict[str, DerivedFn] = {
    "entered_before_window": derive_entered_before_window,
    "reserved_after_entry": derive_reserved_after_entry,
    "overtime": derive_overtime,
    "difference": derive_difference,
    "coupon_amount": derive_coupon_amount,
    "coupon_rounded": derive_coupon_rounded,
    "coupon_split_invalid": derive_coupon_split_invalid,
    "coupon_pieces": derive_coupon_pieces,
    "example_coupon_split": derive_example_coupon_split,
    "implied_call_type": derive_implied_call_type,
}
