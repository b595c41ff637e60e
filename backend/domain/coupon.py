"""Coupon maths: round-up, the requested-split parser, validity and the default split."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from backend.domain.values import describe_type, is_blank, normalize_text, show_value
from backend.errors import FieldValueError

# Seed A1 ④: 1,000원~8,000원까지 1,000원 단위권 / 10,000원권.
DENOMINATIONS: tuple[int, ...] = (1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 10000)
MAX_COUNT = 100
MAX_PIECE = 100_000_000
MAX_SPLIT_TEXT = 2000
SPLIT_EXAMPLE = "5000x2 or 5,000원 2장, 1,000원 3장"

_UNITS = {"천": 1000, "만": 10000}
# A comma between digits that leaves one or two digits after it is neither a
# thousands separator nor a piece separator: "5,00원" is a typo, not 5 + 0.
_MISPLACED_COMMA = re.compile(r"[0-9],[0-9]{1,2}(?![0-9])")
# A comma is a thousands separator only when a digit precedes it and exactly three
# digits follow; every other comma separates pieces, like ; + / and newlines.
_SEPARATOR = re.compile(r"(?<![0-9]),|,(?![0-9]{3}(?![0-9]))|[;+/\n]")
_PIECE = re.compile(
    r"(?P<num>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]{1,9})(?![0-9,])\s*"
    r"(?P<unit>[천만])?\s*(?:원권|원)?\s*"
    r"(?:[x×X*]\s*(?P<times>[0-9]{1,4})\s*(?:장|매)?|(?P<sheets>[0-9]{1,4})\s*(?:장|매))?"
)


@dataclass(frozen=True, slots=True)
class CouponPiece:
    """One line of a coupon split: `count` coupons worth `denomination` won each."""

    denomination: int
    count: int


def round_up_coupon(difference: int, step: int = 1000) -> int:
    """Round a difference up to a multiple of `step` won (0 when nothing is owed)."""
    if step <= 0:
        raise ValueError("step must be positive")
    if difference <= 0:
        return 0
    return -(-difference // step) * step


ROUNDING_MODES = ("up", "down", "nearest")


def round_coupon(difference: int, step: int = 1000, mode: str = "up") -> int:
    """Round a difference to a multiple of `step` won by the guide's rounding mode (0 if none owed).

    The article does not say how to round (macros/parking_onsite_payment/RULINGS.md R2):
    the mode is a guide setting, "up" (customer-favourable) by default.
    """
    if mode not in ROUNDING_MODES:
        raise ValueError(f"rounding mode must be one of {', '.join(ROUNDING_MODES)}, not {mode!r}")
    if mode == "up":
        return round_up_coupon(difference, step)
    if step <= 0:
        raise ValueError("step must be positive")
    if difference <= 0:
        return 0
    if mode == "down":
        return difference // step * step
    return (difference + step // 2) // step * step


def _merge(key: str, pieces: Iterable[tuple[int, int]]) -> tuple[CouponPiece, ...]:
    counts: dict[int, int] = {}
    for denomination, count in pieces:
        if denomination <= 0:
            raise FieldValueError(key, "a coupon must be worth more than 0원")
        if denomination > MAX_PIECE:
            raise FieldValueError(key, f"a coupon piece is implausibly large (max {MAX_PIECE:,}원)")
        if count < 1:
            raise FieldValueError(key, "a coupon count must be at least 1")
        counts[denomination] = counts.get(denomination, 0) + count
        if counts[denomination] > MAX_COUNT:
            raise FieldValueError(key, f"more than {MAX_COUNT} coupons of one denomination")
    if not counts:
        raise FieldValueError(key, f"no coupon piece given (e.g. {SPLIT_EXAMPLE})")
    # Larger pieces first, so equal requests compare equal whatever their order.
    return tuple(CouponPiece(d, counts[d]) for d in sorted(counts, reverse=True))


def _is_piece(piece: object) -> bool:
    return (
        isinstance(piece, CouponPiece)
        and all(isinstance(n, int) for n in (piece.denomination, piece.count))
        and not any(isinstance(n, bool) for n in (piece.denomination, piece.count))
    )


def _read_piece(key: str, token: str) -> tuple[int, int]:
    match = _PIECE.fullmatch(token)
    if match is None:
        raise FieldValueError(key, f"cannot read {show_value(token)} (e.g. {SPLIT_EXAMPLE})")
    value = int(match["num"].replace(",", "")) * _UNITS.get(match["unit"] or "", 1)
    count = match["times"] or match["sheets"]
    return value, int(count) if count else 1


def parse_coupon_split(key: str, raw: object) -> tuple[CouponPiece, ...] | None:
    """Parse a requested split ("5000x2", "5,000원 2장, 1,000원 3장", "1만원 1장", …)."""
    if is_blank(raw) or (isinstance(raw, list | tuple) and not raw):
        return None
    if isinstance(raw, bool):
        raise FieldValueError(key, "expected a coupon split, got a boolean")
    if isinstance(raw, int):
        # A bare amount is one coupon of that value.
        return _merge(key, [(raw, 1)])
    if isinstance(raw, list | tuple):
        if not all(_is_piece(piece) for piece in raw):
            raise FieldValueError(key, f"expected a coupon split (e.g. {SPLIT_EXAMPLE})")
        return _merge(key, [(p.denomination, p.count) for p in raw])
    if not isinstance(raw, str):
        raise FieldValueError(key, f"expected a coupon split, got {describe_type(raw)}")
    if len(raw) > MAX_SPLIT_TEXT:
        raise FieldValueError(key, f"text is longer than {MAX_SPLIT_TEXT} characters")
    text = normalize_text(raw)
    if _MISPLACED_COMMA.search(text):
        raise FieldValueError(key, f"{show_value(raw)} has a misplaced comma")
    tokens = [token.strip() for token in _SEPARATOR.split(text)]
    return _merge(key, [_read_piece(key, token) for token in tokens if token])


def is_valid_split(pieces: Sequence[CouponPiece], amount: int) -> bool:
    """Tell whether a split can be issued: denominations only, summing to `amount` > 0."""
    if amount <= 0 or not pieces:
        return False
    if any(p.denomination not in DENOMINATIONS or p.count < 1 for p in pieces):
        return False
    return sum(p.denomination * p.count for p in pieces) == amount


def propose_split(amount: int) -> tuple[CouponPiece, ...]:
    """Propose the split with the fewest pieces, larger pieces first (19,000 → 10+8+1 천원)."""
    if isinstance(amount, bool) or amount <= 0 or amount % 1000:
        raise ValueError(f"a coupon amount must be a positive multiple of 1,000원, not {amount}")
    # Greedy is optimal for these denominations: with q = amount // 10,000 and
    # r = the rest in thousands, any r in 1..8 is one piece and r = 9 needs two
    # (no 9,000원 piece, and 10,000 + 9,000 cannot be done in fewer than three).
    pieces: list[CouponPiece] = []
    remaining = amount
    for denomination in sorted(DENOMINATIONS, reverse=True):
        count, remaining = divmod(remaining, denomination)
        if count:
            pieces.append(CouponPiece(denomination, count))
    return tuple(pieces)


def format_won(amount: int) -> str:
    """Write an amount the way the seeds do: 12000 → "12,000원"."""
    return f"{amount:,}원"


def format_split(pieces: Iterable[CouponPiece]) -> str:
    """Write a split canonically: "10,000원 1장, 8,000원 1장, 1,000원 1장"."""
    return ", ".join(f"{format_won(p.denomination)} {p.count}장" for p in pieces)
