"""Pure parsers for one ticket field value each (tri-state, amount, date, plate, …).

Every parser takes the field key (for the error message) and the raw value, and
returns the typed value, or None when the value is unknown (None, "" or
whitespace only). A malformed value raises FieldValueError naming the field.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Collection
from datetime import UTC, date, datetime, timedelta, timezone
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from backend.errors import FieldValueError

if TYPE_CHECKING:
    from backend.domain.coupon import CouponPiece

SEOUL = ZoneInfo("Asia/Seoul")
MAX_AMOUNT = 100_000_000
MAX_INTEGER = 1_000_000
MAX_TEXT = 2000
MAX_CALL_ID_DIGITS = 20

# The syllables Korean plates use: private 가…주, taxi/bus 아 바 사 자, delivery 배,
# rental 하 허 호 (국토교통부 자동차 등록번호판 기준).
PLATE_LETTERS = frozenset(
    "가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주아바사자배하허호"
)
PLATE_REGIONS = (
    "서울",
    "부산",
    "대구",
    "인천",
    "광주",
    "대전",
    "울산",
    "세종",
    "경기",
    "강원",
    "충북",
    "충남",
    "전북",
    "전남",
    "경북",
    "경남",
    "제주",
)

_YES = frozenset({"true", "yes", "예"})
_NO = frozenset({"false", "no", "아니오", "아니요"})
_AMOUNT_RE = re.compile(r"([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)\s*(?:원)?")
_INTEGER_RE = re.compile(r"([0-9]+)")
_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DATETIME_RE = re.compile(
    r"(?P<y>[0-9]{4})-(?P<mo>[0-9]{2})-(?P<d>[0-9]{2})[Tt ]\s*(?P<h>[0-9]{2}):(?P<mi>[0-9]{2})"
    r"(?::(?P<s>[0-9]{2})(?:[.,](?P<frac>[0-9]{1,9}))?)?"
    r"\s*(?P<tz>[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?"
)
_PLATE_RE = re.compile(
    rf"(?P<region>{'|'.join(PLATE_REGIONS)})?(?P<cls>[0-9]{{2,3}})(?P<letter>[가-힣])(?P<serial>[0-9]{{4}})"
)
_CALL_ID_RE = re.compile(rf"[0-9]{{1,{MAX_CALL_ID_DIGITS}}}")
# Unicode categories Cc (controls) and Cs (surrogates), except \n and \t: what parse_text
# refuses (one regex search instead of a unicodedata lookup per character).
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# Longest numeric text worth reading; longer digit runs are rejected before int()
# (which refuses very long strings anyway).
_MAX_DIGITS = 15


def is_blank(raw: object) -> bool:
    """Tell whether a raw value means "unknown": None, empty or whitespace-only text."""
    return raw is None or (isinstance(raw, str) and not raw.strip())


def describe_type(raw: object) -> str:
    """Name the JSON type of a raw value for an error message ("a list", "text"…)."""
    if isinstance(raw, bool):
        return "a boolean"
    if isinstance(raw, int | float):
        return "a number"
    if isinstance(raw, str):
        return "text"
    if isinstance(raw, list | tuple):
        return "a list"
    if isinstance(raw, dict):
        return "an object"
    return f"a {type(raw).__name__}"


def show_value(raw: object, limit: int = 40) -> str:
    """Quote a raw value for a one-line error message (escaped, shortened)."""
    # repr() of a huge int raises ValueError (int max str digits), so never try it.
    if isinstance(raw, int) and not isinstance(raw, bool) and raw.bit_length() > 64:
        return "a very large number"
    text = repr(raw)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def normalize_text(raw: str) -> str:
    """Fold full-width digits and punctuation to ASCII (NFKC) and strip the ends."""
    return unicodedata.normalize("NFKC", raw).strip()


def parse_tristate(key: str, raw: object) -> bool | None:
    """Parse yes / no / unknown: booleans, yes/no, 예/아니오 or the tag gp_<key>_yes/no."""
    if isinstance(raw, bool):
        return raw
    if is_blank(raw):
        return None
    if not isinstance(raw, str):
        raise FieldValueError(key, f"expected true/false, got {describe_type(raw)}")
    text = raw.strip().lower()
    if text in _YES or text == f"gp_{key}_yes":
        return True
    if text in _NO or text == f"gp_{key}_no":
        return False
    raise FieldValueError(key, f"{show_value(raw)} is not yes/no (true/false, 예/아니오)")


def _parse_whole(
    key: str, raw: object, *, pattern: re.Pattern[str], maximum: int, what: str, example: str
) -> int | None:
    if is_blank(raw):
        return None
    if isinstance(raw, bool):
        raise FieldValueError(key, f"expected {what}, got a boolean")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, float):
        if not math.isfinite(raw) or not raw.is_integer():
            raise FieldValueError(key, f"{show_value(raw)} is not a whole number")
        value = int(raw)
    elif isinstance(raw, str):
        text = normalize_text(raw)
        # Read the sign apart so a negative amount gets its own, clearer message.
        negative = text.startswith("-")
        body = text[1:].lstrip() if negative else text
        match = pattern.fullmatch(body)
        if match is None:
            raise FieldValueError(key, f"{show_value(raw)} is not {what} (e.g. {example})")
        digits = match.group(1).replace(",", "")
        if len(digits) > _MAX_DIGITS:
            raise FieldValueError(key, f"{show_value(raw)} is implausibly large")
        value = -int(digits) if negative else int(digits)
    else:
        raise FieldValueError(key, f"expected {what}, got {describe_type(raw)}")
    if value < 0:
        raise FieldValueError(key, "must not be negative")
    if value > maximum:
        raise FieldValueError(key, f"{show_value(raw)} is implausibly large (max {maximum:,})")
    return value


def parse_amount(key: str, raw: object) -> int | None:
    """Parse an amount in won (≥ 0): 12000, "12000", "12,000원" or "12,000 원"."""
    return _parse_whole(
        key,
        raw,
        pattern=_AMOUNT_RE,
        maximum=MAX_AMOUNT,
        what="an amount in won",
        example="12,000원",
    )


def parse_integer(key: str, raw: object) -> int | None:
    """Parse a whole number ≥ 0 (a count such as prior_reconnections)."""
    return _parse_whole(
        key,
        raw,
        pattern=_INTEGER_RE,
        maximum=MAX_INTEGER,
        what="a whole number",
        example="0",
    )


def parse_date(key: str, raw: object) -> date | None:
    """Parse a calendar date written YYYY-MM-DD."""
    if is_blank(raw):
        return None
    if isinstance(raw, datetime):
        raise FieldValueError(key, "expected a date without a time")
    if isinstance(raw, date):
        return raw
    if not isinstance(raw, str):
        raise FieldValueError(key, f"expected a date (YYYY-MM-DD), got {describe_type(raw)}")
    match = _DATE_RE.fullmatch(raw.strip())
    if match is None:
        raise FieldValueError(key, f"{show_value(raw)} is not a date (YYYY-MM-DD)")
    year, month, day = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        raise FieldValueError(key, f"{show_value(raw)} is not a real date") from None


def _parse_offset(key: str, raw: str, text: str | None) -> timezone | None:
    if text is None:
        return None
    if text in ("Z", "z"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if minutes >= 60:
        raise FieldValueError(key, f"{show_value(raw)} has an impossible UTC offset")
    try:
        return timezone(sign * timedelta(hours=hours, minutes=minutes))
    except ValueError:
        raise FieldValueError(key, f"{show_value(raw)} has an impossible UTC offset") from None


# Date-times parsed from text so far (text → Asia/Seoul datetime, immutable): a ticket's
# created_at and date-time fields come back on every read of it. Errors are not kept
# (their message names the field).
_PARSED_DATETIMES: dict[str, datetime] = {}
MAX_PARSED_DATETIMES = 4096


def parse_datetime(key: str, raw: object) -> datetime | None:
    """Parse an ISO 8601 date-time into Asia/Seoul time (no offset means Asia/Seoul)."""
    if type(raw) is not str:
        return parse_datetime_plain(key, raw)
    known = _PARSED_DATETIMES.get(raw)
    if known is not None:
        return known
    stamp = parse_datetime_plain(key, raw)
    if stamp is not None:
        if len(_PARSED_DATETIMES) >= MAX_PARSED_DATETIMES:
            _PARSED_DATETIMES.clear()  # bound memory
        _PARSED_DATETIMES[raw] = stamp
    return stamp


def parse_datetime_plain(key: str, raw: object) -> datetime | None:
    """parse_datetime without remembering (what the remembered values must equal)."""
    if is_blank(raw):
        return None
    if isinstance(raw, datetime):
        stamp = raw
    elif isinstance(raw, str):
        match = _DATETIME_RE.fullmatch(raw.strip())
        if match is None:
            raise FieldValueError(
                key, f"{show_value(raw)} is not a date-time (YYYY-MM-DDTHH:MM[:SS][+09:00])"
            )
        tz = _parse_offset(key, raw, match["tz"])
        # Fractions finer than microseconds cannot be represented; drop them.
        micro = int((match["frac"] or "0")[:6].ljust(6, "0"))
        try:
            stamp = datetime(
                int(match["y"]),
                int(match["mo"]),
                int(match["d"]),
                int(match["h"]),
                int(match["mi"]),
                int(match["s"] or 0),
                micro,
                tzinfo=tz,
            )
        except ValueError:
            raise FieldValueError(key, f"{show_value(raw)} is not a real date-time") from None
    else:
        raise FieldValueError(key, f"expected an ISO 8601 date-time, got {describe_type(raw)}")
    if stamp.tzinfo is None or stamp.utcoffset() is None:
        return stamp.replace(tzinfo=SEOUL)
    try:
        return stamp.astimezone(SEOUL)
    except (OverflowError, ValueError):
        raise FieldValueError(key, f"{show_value(raw)} is out of range") from None


def parse_plate(key: str, raw: object) -> str | None:
    """Parse a Korean car plate (12가3456, 123가4567, 서울12가3456); spaces are removed."""
    if is_blank(raw):
        return None
    if not isinstance(raw, str):
        raise FieldValueError(key, f"expected a car plate, got {describe_type(raw)}")
    text = "".join(normalize_text(raw).split())
    match = _PLATE_RE.fullmatch(text)
    if match is None:
        raise FieldValueError(
            key, f"{show_value(raw)} is not a Korean car plate (e.g. 12가3456, 서울12가3456)"
        )
    if match["letter"] not in PLATE_LETTERS:
        raise FieldValueError(key, f"{match['letter']!r} is not a letter used on car plates")
    return text


def parse_call_id(key: str, raw: object) -> str | None:
    """Parse a call ID: 1–20 digits, given as text or as a non-negative integer."""
    if is_blank(raw):
        return None
    if isinstance(raw, bool):
        raise FieldValueError(key, "expected a call ID (digits), got a boolean")
    if isinstance(raw, int):
        if raw < 0:
            raise FieldValueError(key, "a call ID must not be negative")
        if raw >= 10**MAX_CALL_ID_DIGITS:
            raise FieldValueError(key, f"a call ID has at most {MAX_CALL_ID_DIGITS} digits")
        return str(raw)
    if not isinstance(raw, str):
        raise FieldValueError(key, f"expected a call ID (digits), got {describe_type(raw)}")
    text = normalize_text(raw)
    if _CALL_ID_RE.fullmatch(text) is None:
        raise FieldValueError(key, f"{show_value(raw)} is not a call ID (1–20 digits)")
    return text


def parse_option(key: str, raw: object, codes: Collection[str]) -> str | None:
    """Parse a dropdown option: its code, or the Zendesk tag form gp_<key>_<code>."""
    if is_blank(raw):
        return None
    if not isinstance(raw, str):
        raise FieldValueError(key, f"expected an option code, got {describe_type(raw)}")
    text = raw.strip()
    if text in codes:
        return text
    prefix = f"gp_{key}_"
    if text.startswith(prefix) and text[len(prefix) :] in codes:
        return text[len(prefix) :]
    raise FieldValueError(
        key, f"unknown option code {show_value(text)} (expected one of: {', '.join(codes)})"
    )


def parse_text(key: str, raw: object) -> str | None:
    """Parse free text: stripped, at most 2000 characters, no control characters but \\n \\t."""
    if is_blank(raw):
        return None
    if isinstance(raw, bool):
        raise FieldValueError(key, "expected text, got a boolean")
    if isinstance(raw, int) and raw.bit_length() <= 64:
        # Numbers such as an approval number often arrive as JSON integers.
        raw = str(raw)
    if not isinstance(raw, str):
        raise FieldValueError(key, f"expected text, got {describe_type(raw)}")
    text = raw.replace("\r\n", "\n").strip()
    if len(text) > MAX_TEXT:
        raise FieldValueError(key, f"text is longer than {MAX_TEXT} characters")
    control = _CONTROL_RE.search(text)
    if control is not None:
        raise FieldValueError(key, f"text contains a control character ({control.group()!r})")
    return text


def parse_coupon_split(key: str, raw: object) -> tuple[CouponPiece, ...] | None:
    """Parse a requested coupon split (see backend.domain.coupon.parse_coupon_split)."""
    # Imported here because coupon.py builds on this module's helpers.
    from backend.domain import coupon

    return coupon.parse_coupon_split(key, raw)
