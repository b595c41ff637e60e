"""Value parsers: accepted forms, one test per error kind, and never a stray exception."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.domain import values as v
from backend.errors import FieldValueError

SEOUL = v.SEOUL

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
JSON = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=8,
)


@pytest.mark.parametrize("raw", [None, "", "   ", "\t\n"])
@pytest.mark.parametrize(
    "parse",
    [
        v.parse_tristate,
        v.parse_amount,
        v.parse_integer,
        v.parse_date,
        v.parse_datetime,
        v.parse_plate,
        v.parse_call_id,
        v.parse_text,
        v.parse_coupon_split,
    ],
)
def test_blank_values_are_unknown(parse: Callable[[str, object], object], raw: object) -> None:
    assert parse("k", raw) is None


# --- tri-state ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("FALSE", False),
        ("yes", True),
        (" No ", False),
        ("예", True),
        ("아니오", False),
        ("gp_identity_verified_yes", True),
        ("gp_identity_verified_no", False),
    ],
)
def test_tristate_accepts_yes_no_forms(raw: object, expected: bool) -> None:
    assert v.parse_tristate("identity_verified", raw) is expected


@pytest.mark.parametrize("raw", ["maybe", "gp_trip_started_yes", 1, 0, [True]])
def test_tristate_rejects_other_values(raw: object) -> None:
    with pytest.raises(FieldValueError, match="identity_verified"):
        v.parse_tristate("identity_verified", raw)


# --- amount / integer --------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (12000, 12000),
        (0, 0),
        (12000.0, 12000),
        ("12000", 12000),
        ("12,000원", 12000),
        ("12,000 원", 12000),
        (" 1,234,567원 ", 1234567),
        ("12000원", 12000),
        ("１２，０００원", 12000),
        (100_000_000, 100_000_000),
    ],
)
def test_amount_accepts_won_forms(raw: object, expected: int) -> None:
    assert v.parse_amount("onsite_amount", raw) == expected


@pytest.mark.parametrize("raw", [-1, "-12,000원", -5.0])
def test_amount_rejects_negative(raw: object) -> None:
    with pytest.raises(FieldValueError, match="onsite_amount: must not be negative"):
        v.parse_amount("onsite_amount", raw)


@pytest.mark.parametrize(
    "raw", ["12,00원", "1,2000", "12.5", "12000 won", "원", "abc", "12 000", "₩12000", "1e4"]
)
def test_amount_rejects_malformed_text(raw: str) -> None:
    with pytest.raises(FieldValueError, match="is not an amount in won"):
        v.parse_amount("onsite_amount", raw)


@pytest.mark.parametrize("raw", [12000.5, float("nan"), float("inf")])
def test_amount_rejects_fractions(raw: float) -> None:
    with pytest.raises(FieldValueError, match="not a whole number"):
        v.parse_amount("onsite_amount", raw)


@pytest.mark.parametrize("raw", [True, False, [12000], {"won": 1}])
def test_amount_rejects_wrong_types(raw: object) -> None:
    with pytest.raises(FieldValueError, match="expected an amount in won"):
        v.parse_amount("onsite_amount", raw)


@pytest.mark.parametrize("raw", [100_000_001, "999,999,999원", 10**400, "9" * 40])
def test_amount_rejects_absurd_sizes(raw: object) -> None:
    with pytest.raises(FieldValueError, match="implausibly large"):
        v.parse_amount("onsite_amount", raw)


def test_integer_parses_counts() -> None:
    assert v.parse_integer("prior_reconnections", 2) == 2
    assert v.parse_integer("prior_reconnections", " 3 ") == 3
    with pytest.raises(FieldValueError, match="must not be negative"):
        v.parse_integer("prior_reconnections", -1)
    with pytest.raises(FieldValueError, match="is not a whole number"):
        v.parse_integer("prior_reconnections", "3원")
    with pytest.raises(FieldValueError, match="got a boolean"):
        v.parse_integer("prior_reconnections", True)


# --- date / datetime ---------------------------------------------------------


def test_date_parses_iso_dates() -> None:
    assert v.parse_date("usage_date", "2024-11-20") == date(2024, 11, 20)
    assert v.parse_date("usage_date", " 2024-02-29 ") == date(2024, 2, 29)
    assert v.parse_date("usage_date", date(2024, 1, 1)) == date(2024, 1, 1)


@pytest.mark.parametrize("raw", ["2023-02-29", "2024-13-01", "2024-04-31", "0000-01-01"])
def test_date_rejects_impossible_dates(raw: str) -> None:
    with pytest.raises(FieldValueError, match=r"usage_date: .* is not a real date"):
        v.parse_date("usage_date", raw)


@pytest.mark.parametrize("raw", ["2024/11/20", "20241120", "24-11-20", "2024-11-20T10:00", "어제"])
def test_date_rejects_other_formats(raw: str) -> None:
    with pytest.raises(FieldValueError, match=r"is not a date \(YYYY-MM-DD\)"):
        v.parse_date("usage_date", raw)


@pytest.mark.parametrize("raw", [20241120, datetime(2024, 1, 1, tzinfo=UTC), ["2024-01-01"]])
def test_date_rejects_wrong_types(raw: object) -> None:
    with pytest.raises(FieldValueError, match="usage_date"):
        v.parse_date("usage_date", raw)


@pytest.mark.parametrize(
    "raw", ["2024-11-20T14:30", "2024-11-20 14:30", "2024-11-20T14:30:00", "2024-11-20t14:30"]
)
def test_datetime_without_offset_is_asia_seoul(raw: str) -> None:
    parsed = v.parse_datetime("entry_time", raw)
    assert parsed == datetime(2024, 11, 20, 14, 30, tzinfo=SEOUL)
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(hours=9)
    assert parsed.tzinfo == SEOUL


@pytest.mark.parametrize(
    "raw",
    [
        "2024-11-20T05:30Z",
        "2024-11-20T05:30:00+00:00",
        "2024-11-20T14:30:00+09:00",
        "2024-11-20T00:30:00-05:00",
        "2024-11-20T14:30+0900",
        "2024-11-20T05:30:00.000Z",
    ],
)
def test_datetime_with_offset_is_converted_to_seoul(raw: str) -> None:
    parsed = v.parse_datetime("entry_time", raw)
    assert parsed == datetime(2024, 11, 20, 14, 30, tzinfo=SEOUL)
    assert parsed is not None
    assert parsed.tzinfo == SEOUL
    assert parsed.isoformat() == "2024-11-20T14:30:00+09:00"


def test_datetime_accepts_datetime_objects() -> None:
    naive = datetime(2024, 11, 20, 14, 30)
    aware = datetime(2024, 11, 20, 5, 30, tzinfo=UTC)
    assert v.parse_datetime("entry_time", naive) == naive.replace(tzinfo=SEOUL)
    converted = v.parse_datetime("entry_time", aware)
    assert converted is not None
    assert converted.tzinfo == SEOUL
    assert converted.hour == 14


@pytest.mark.parametrize(
    "raw",
    ["2024-11-20T25:00", "2024-02-30T10:00", "2024-11-20T10:60", "2024-11-20T10:00:61"],
)
def test_datetime_rejects_impossible_times(raw: str) -> None:
    with pytest.raises(FieldValueError, match=r"entry_time: .* is not a real date-time"):
        v.parse_datetime("entry_time", raw)


@pytest.mark.parametrize("raw", ["2024-11-20T10:00+24:00", "2024-11-20T10:00+09:75"])
def test_datetime_rejects_impossible_offsets(raw: str) -> None:
    with pytest.raises(FieldValueError, match="impossible UTC offset"):
        v.parse_datetime("entry_time", raw)


@pytest.mark.parametrize(
    "raw", ["2024-11-20", "14:30", "2024-11-20T14", "11월 20일 14시", "2024-11-20T14:30 KST"]
)
def test_datetime_rejects_other_formats(raw: str) -> None:
    with pytest.raises(FieldValueError, match="is not a date-time"):
        v.parse_datetime("entry_time", raw)


def test_datetime_rejects_out_of_range_and_wrong_types() -> None:
    with pytest.raises(FieldValueError, match="out of range"):
        v.parse_datetime("entry_time", "9999-12-31T23:59-05:00")
    with pytest.raises(FieldValueError, match="expected an ISO 8601 date-time, got a number"):
        v.parse_datetime("entry_time", 1732080600)


def test_datetime_keeps_other_zones_instant() -> None:
    tokyo = timezone(timedelta(hours=9))
    parsed = v.parse_datetime("entry_time", datetime(2024, 1, 1, 9, 0, tzinfo=tokyo))
    assert parsed == datetime(2024, 1, 1, 9, 0, tzinfo=SEOUL)


# --- plate -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12가3456", "12가3456"),
        ("123가4567", "123가4567"),
        ("서울12가3456", "서울12가3456"),
        ("서울 12 가 3456", "서울12가3456"),
        (" 123 허 4567 ", "123허4567"),
        ("제주12호3456", "제주12호3456"),
        ("12배3456", "12배3456"),
    ],
)
def test_plate_accepts_korean_plates(raw: str, expected: str) -> None:
    assert v.parse_plate("car_number", raw) == expected


@pytest.mark.parametrize("raw", ["12앙3456", "12각3456", "12힣3456"])
def test_plate_rejects_letters_not_on_plates(raw: str) -> None:
    with pytest.raises(FieldValueError, match="not a letter used on car plates"):
        v.parse_plate("car_number", raw)


@pytest.mark.parametrize(
    "raw", ["12A3456", "1가3456", "1234가5678", "12가345", "뉴욕12가3456", "12가34567", "가3456"]
)
def test_plate_rejects_malformed_plates(raw: str) -> None:
    with pytest.raises(FieldValueError, match=r"car_number: .* is not a Korean car plate"):
        v.parse_plate("car_number", raw)


def test_plate_rejects_wrong_types() -> None:
    with pytest.raises(FieldValueError, match="expected a car plate, got a number"):
        v.parse_plate("car_number", 123)


# --- call id -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("123456", "123456"), (123456, "123456"), (" 0042 ", "0042"), ("1" * 20, "1" * 20)],
)
def test_call_id_accepts_digits(raw: object, expected: str) -> None:
    assert v.parse_call_id("origin_call_id", raw) == expected


@pytest.mark.parametrize("raw", ["12a34", "12-34", "1" * 21, "+123", "12 34", "١٢٣"])
def test_call_id_rejects_non_digits(raw: str) -> None:
    with pytest.raises(
        FieldValueError, match=r"origin_call_id: .* is not a call ID \(1–20 digits\)"
    ):
        v.parse_call_id("origin_call_id", raw)


def test_call_id_rejects_bad_numbers_and_types() -> None:
    with pytest.raises(FieldValueError, match="must not be negative"):
        v.parse_call_id("origin_call_id", -5)
    with pytest.raises(FieldValueError, match="at most 20 digits"):
        v.parse_call_id("origin_call_id", 10**20)
    with pytest.raises(FieldValueError, match="got a number"):
        v.parse_call_id("origin_call_id", 12.0)
    with pytest.raises(FieldValueError, match="got a boolean"):
        v.parse_call_id("origin_call_id", True)


# --- option ------------------------------------------------------------------

CODES = ("card", "cash")


def test_option_accepts_code_and_tag() -> None:
    assert v.parse_option("payment_method", "card", CODES) == "card"
    assert v.parse_option("payment_method", " gp_payment_method_cash ", CODES) == "cash"


@pytest.mark.parametrize("raw", ["credit", "Card", "gp_call_type_card", "gp_payment_method_"])
def test_option_rejects_unknown_codes(raw: str) -> None:
    with pytest.raises(FieldValueError, match=r"payment_method: unknown option code .*card, cash"):
        v.parse_option("payment_method", raw, CODES)


@pytest.mark.parametrize("raw", [True, 1, ["card"]])
def test_option_rejects_wrong_types(raw: object) -> None:
    with pytest.raises(FieldValueError, match="expected an option code"):
        v.parse_option("payment_method", raw, CODES)


# --- text --------------------------------------------------------------------


def test_text_is_stripped_and_keeps_newlines_and_tabs() -> None:
    assert (
        v.parse_text("reason", "  앱 조작 실수\r\n\t재운행 요청 😀 ")
        == "앱 조작 실수\n\t재운행 요청 😀"
    )
    assert v.parse_text("approval_number", 12345678) == "12345678"
    assert v.parse_text("reason", "가" * 2000) == "가" * 2000


def test_text_rejects_too_long_text() -> None:
    with pytest.raises(FieldValueError, match="longer than 2000"):
        v.parse_text("reason", "가" * 2001)


@pytest.mark.parametrize("raw", ["a\x00b", "a\x07b", "a\rb", "a\x1bb", "a\x85b", "a\ud800b"])
def test_text_rejects_control_characters(raw: str) -> None:
    with pytest.raises(FieldValueError, match="reason: text contains a control character"):
        v.parse_text("reason", raw)


@pytest.mark.parametrize("raw", [True, ["a"], {"a": 1}, 1.5, 10**100])
def test_text_rejects_wrong_types(raw: object) -> None:
    with pytest.raises(FieldValueError, match="reason: expected text"):
        v.parse_text("reason", raw)


# --- never a stray exception -------------------------------------------------


def _parse_payment_method(key: str, raw: object) -> str | None:
    return v.parse_option(key, raw, CODES)


PARSERS: list[Callable[[str, object], object]] = [
    v.parse_tristate,
    v.parse_amount,
    v.parse_integer,
    v.parse_date,
    v.parse_datetime,
    v.parse_plate,
    v.parse_call_id,
    v.parse_text,
    v.parse_coupon_split,
    _parse_payment_method,
]
NEAR_VALID_TEXT = st.text(
    alphabet=st.sampled_from(list("0123456789,:-+.TZ 원가나서울x*장천만;/\n\t\x00😀")),
    max_size=24,
)


@settings(max_examples=300, deadline=None, database=None)
@given(index=st.integers(0, len(PARSERS) - 1), raw=JSON | NEAR_VALID_TEXT)
def test_parsers_only_raise_field_value_errors(index: int, raw: object) -> None:
    error: FieldValueError | None = None
    try:
        PARSERS[index]("k", raw)
    except FieldValueError as exc:
        error = exc
    if error is not None:
        assert error.field == "k"
        assert "\n" not in str(error)
