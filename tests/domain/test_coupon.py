"""Coupon maths: round-up, split parsing, validity and the minimal default split."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.domain.coupon import (
    DENOMINATIONS,
    CouponPiece,
    format_split,
    format_won,
    is_valid_split,
    parse_coupon_split,
    propose_split,
    round_up_coupon,
)
from backend.errors import FieldValueError

P = CouponPiece


def test_denominations_follow_the_seed() -> None:
    assert DENOMINATIONS == (1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 10000)


@pytest.mark.parametrize(
    ("difference", "expected"),
    [(-500, 0), (0, 0), (1, 1000), (999, 1000), (1000, 1000), (1001, 2000), (18_500, 19_000)],
)
def test_round_up_coupon(difference: int, expected: int) -> None:
    assert round_up_coupon(difference) == expected


def test_round_up_coupon_with_other_steps() -> None:
    assert round_up_coupon(1234, step=500) == 1500
    with pytest.raises(ValueError, match="step"):
        round_up_coupon(1000, step=0)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("5000x2", (P(5000, 2),)),
        ("5000 x 2", (P(5000, 2),)),
        ("5000X2장", (P(5000, 2),)),
        ("5000×2", (P(5000, 2),)),
        ("5000*2", (P(5000, 2),)),
        ("5,000원 2장, 1,000원 3장", (P(5000, 2), P(1000, 3))),
        ("5,000원 2장,1,000원 3장", (P(5000, 2), P(1000, 3))),
        ("5000원2장", (P(5000, 2),)),
        ("5000 2장", (P(5000, 2),)),
        ("5천원 2장", (P(5000, 2),)),
        ("5천 원 2장", (P(5000, 2),)),
        ("10000", (P(10000, 1),)),
        ("1만원 1장", (P(10000, 1),)),
        ("10,000원권 1장", (P(10000, 1),)),
        ("5000x2, 1000x3", (P(5000, 2), P(1000, 3))),
        ("5000x2,1000x3", (P(5000, 2), P(1000, 3))),
        ("5000x2; 1000x3", (P(5000, 2), P(1000, 3))),
        ("5000x2 + 1000x3", (P(5000, 2), P(1000, 3))),
        ("5000x2/1000x3", (P(5000, 2), P(1000, 3))),
        ("1000x3\n5000x2", (P(5000, 2), P(1000, 3))),
        ("5000, 5000, 1000", (P(5000, 2), P(1000, 1))),
        ("5000x1, 5천원 2장", (P(5000, 3),)),
        ("５０００×２", (P(5000, 2),)),
        ("5000x2,", (P(5000, 2),)),
        (5000, (P(5000, 1),)),
        ([P(1000, 1), P(5000, 1), P(1000, 2)], (P(5000, 1), P(1000, 3))),
    ],
)
def test_parse_coupon_split_forms(raw: object, expected: tuple[CouponPiece, ...]) -> None:
    assert parse_coupon_split("coupon_split", raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("9000", (P(9000, 1),)), ("1500원 2장", (P(1500, 2),)), ("20,000원 1장", (P(20000, 1),))],
)
def test_non_denominations_parse_but_are_invalid(
    raw: str, expected: tuple[CouponPiece, ...]
) -> None:
    pieces = parse_coupon_split("coupon_split", raw)
    assert pieces == expected
    assert not is_valid_split(expected, sum(p.denomination * p.count for p in expected))


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("5,00원 2장", "misplaced comma"),
        ("abc", "cannot read"),
        ("5000 2", "cannot read"),
        ("5000x", "cannot read"),
        ("x2", "cannot read"),
        ("5000x2 1000x3", "cannot read"),
        ("1.5만원", "cannot read"),
        ("0원", "more than 0원"),
        ("5000x0", "at least 1"),
        ("5000x101", "more than 100"),
        ("5000x60, 5000x41", "more than 100"),
        ("999,999,999원", "implausibly large"),
        (",;/", "no coupon piece"),
        ("가" * 2001, "longer than 2000"),
        (True, "got a boolean"),
        ({"5000": 2}, "got an object"),
        (["5000x2"], "expected a coupon split"),
        (-5000, "more than 0원"),
    ],
)
def test_parse_coupon_split_rejects_unreadable_text(raw: object, problem: str) -> None:
    with pytest.raises(FieldValueError, match=f"coupon_split: .*{problem}"):
        parse_coupon_split("coupon_split", raw)


def test_is_valid_split() -> None:
    assert is_valid_split((P(5000, 2),), 10000)
    assert is_valid_split((P(10000, 1), P(8000, 1), P(1000, 1)), 19000)
    assert not is_valid_split((P(5000, 2),), 9000)
    assert not is_valid_split((P(9000, 1),), 9000)
    assert not is_valid_split((), 0)
    assert not is_valid_split((), 1000)
    assert not is_valid_split((P(1000, 0),), 0)


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (1000, (P(1000, 1),)),
        (9000, (P(8000, 1), P(1000, 1))),
        (17000, (P(10000, 1), P(7000, 1))),
        (18000, (P(10000, 1), P(8000, 1))),
        (19000, (P(10000, 1), P(8000, 1), P(1000, 1))),
        (30000, (P(10000, 3),)),
    ],
)
def test_propose_split_examples(amount: int, expected: tuple[CouponPiece, ...]) -> None:
    assert propose_split(amount) == expected


@pytest.mark.parametrize("amount", [0, -1000, 1500, 999, 10**9 + 1])
def test_propose_split_needs_a_positive_multiple_of_1000(amount: int) -> None:
    with pytest.raises(ValueError, match="positive multiple of 1,000"):
        propose_split(amount)


def test_format_won_and_split() -> None:
    assert format_won(12000) == "12,000원"
    assert format_won(0) == "0원"
    assert format_split((P(10000, 1), P(8000, 1), P(1000, 1))) == (
        "10,000원 1장, 8,000원 1장, 1,000원 1장"
    )
    assert format_split(()) == ""


@cache
def _min_pieces(thousands: int) -> int:
    """Brute-force minimum number of coupons for an amount (in thousands), by DP."""
    best = [0] + [10**9] * thousands
    units = [d // 1000 for d in DENOMINATIONS]
    for n in range(1, thousands + 1):
        best[n] = min(best[n - u] + 1 for u in units if u <= n)
    return best[thousands]


@settings(max_examples=300, deadline=None, database=None)
@given(st.integers(min_value=1, max_value=200))
def test_propose_split_is_valid_and_minimal(thousands: int) -> None:
    amount = thousands * 1000
    split = propose_split(amount)
    assert is_valid_split(split, amount)
    assert sum(p.count for p in split) == _min_pieces(thousands)
    denominations = [p.denomination for p in split]
    assert denominations == sorted(denominations, reverse=True)
    assert len(set(denominations)) == len(denominations)


def test_propose_split_is_minimal_for_every_amount_up_to_200000() -> None:
    for thousands in range(1, 201):
        split = propose_split(thousands * 1000)
        assert sum(p.count for p in split) == _min_pieces(thousands), thousands


SPLITS = st.dictionaries(
    st.sampled_from((*DENOMINATIONS, 1500, 9000, 20000)),
    st.integers(min_value=1, max_value=100),
    min_size=1,
).map(lambda counts: tuple(P(d, counts[d]) for d in sorted(counts, reverse=True)))


@settings(max_examples=300, deadline=None, database=None)
@given(SPLITS)
def test_parse_format_round_trips(split: tuple[CouponPiece, ...]) -> None:
    assert parse_coupon_split("coupon_split", format_split(split)) == split


@settings(max_examples=200, deadline=None, database=None)
@given(st.integers(min_value=1, max_value=1000))
def test_proposals_round_trip_through_text(thousands: int) -> None:
    split = propose_split(thousands * 1000)
    assert parse_coupon_split("coupon_split", format_split(split)) == split
