"""Field catalog and ticket facts: both input shapes, clean errors, typed views, fuzzing."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spec_ids import CONTRACT_EXAMPLE

from backend.domain.coupon import CouponPiece
from backend.domain.facts import (
    TicketInput,
    inquiry_day,
    parse_input,
    parse_ticket_record,
)
from backend.domain.fields import FieldCatalog, load_field_catalog, option_tag
from backend.domain.values import SEOUL
from backend.errors import (
    FieldValueError,
    GuideDataError,
    GuidepostError,
    InputError,
    UnknownFieldError,
)

FIELDS_YAML = Path(__file__).resolve().parents[2] / "macros" / "fields.yaml"
CATALOG = load_field_catalog(FIELDS_YAML)
FIELD_MAP = {key: 1000 + index for index, key in enumerate(CATALOG.keys())}


# --- catalog -----------------------------------------------------------------


def test_catalog_loads_every_field_of_the_spec() -> None:
    assert "consult_type" in CATALOG
    assert "nope" not in CATALOG
    assert 12 not in CATALOG
    assert CATALOG.get("car_number").type == "plate"
    assert CATALOG.get("onsite_amount").label_ko == "현장결제 금액"
    assert CATALOG.get("operator").options["other"].ko == "기타"
    assert CATALOG.get("prior_reconnections").zendesk is False
    assert CATALOG.keys()[0] == "consult_type"
    assert len(CATALOG) == len(CATALOG.keys()) == len(CATALOG.fields())


def test_catalog_get_unknown_key() -> None:
    with pytest.raises(UnknownFieldError, match="nope: unknown field key"):
        CATALOG.get("nope")
    with pytest.raises(UnknownFieldError):
        CATALOG.parse("nope", "x")


def test_zendesk_options_use_the_gp_prefix() -> None:
    assert option_tag("call_type", "partner") == "gp_call_type_partner"
    tristate = CATALOG.get("identity_verified").zendesk_options()
    assert list(tristate) == ["gp_identity_verified_yes", "gp_identity_verified_no"]
    assert CATALOG.get("payment_method").zendesk_options()["gp_payment_method_card"].ko == "카드 콜"


@pytest.mark.parametrize(
    ("key", "value", "zendesk", "as_json"),
    [
        ("identity_verified", True, "gp_identity_verified_yes", True),
        ("identity_verified", False, "gp_identity_verified_no", False),
        ("call_type", "partner", "gp_call_type_partner", "partner"),
        ("usage_date", date(2024, 11, 20), "2024-11-20", "2024-11-20"),
        (
            "entry_time",
            datetime(2024, 11, 20, 14, 30, tzinfo=SEOUL),
            "2024-11-20T14:30:00+09:00",
            "2024-11-20T14:30:00+09:00",
        ),
        ("onsite_amount", 12000, 12000, 12000),
        ("prior_reconnections", 1, 1, 1),
        ("car_number", "12가3456", "12가3456", "12가3456"),
        ("origin_call_id", "123", "123", "123"),
        ("reason", "실수", "실수", "실수"),
        (
            "coupon_split",
            (CouponPiece(5000, 2), CouponPiece(1000, 3)),
            "5,000원 2장, 1,000원 3장",
            "5,000원 2장, 1,000원 3장",
        ),
        ("payment_method", None, None, None),
    ],
)
def test_zendesk_value_and_to_json(
    key: str, value: object, zendesk: object, as_json: object
) -> None:
    assert CATALOG.zendesk_value(key, value) == zendesk
    assert CATALOG.to_json(key, value) == as_json
    if zendesk is not None:
        # What we write into Zendesk reads back as the same value.
        assert CATALOG.parse(key, zendesk) == CATALOG.parse(key, value)


def test_zendesk_value_rejects_values_the_field_cannot_hold() -> None:
    with pytest.raises(FieldValueError, match="call_type: unknown option code"):
        CATALOG.zendesk_value("call_type", "bogus")


def test_values_to_json_encodes_a_whole_ticket() -> None:
    ticket = parse_input(
        {"fields": {"usage_date": "2024-11-20", "onsite_amount": "12,000원"}}, CATALOG
    )
    assert CATALOG.values_to_json(ticket.values) == {
        "usage_date": "2024-11-20",
        "onsite_amount": 12000,
    }


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("fields: [", "fields.yaml"),
        ("other: {}", "top-level mapping"),
        ("fields:\n  Bad-Key: {type: text, label: {ko: a, en: b}}", "lower_snake_case"),
        ("fields:\n  a: {type: money, label: {ko: a, en: b}}", r"a\.type"),
        ("fields:\n  a: {type: dropdown, label: {ko: a, en: b}}", "options are required"),
        ("fields:\n  a: {type: text, label: {ko: a}}", r"a\.label\.en"),
        (
            "fields:\n  a: {type: dropdown, label: {ko: a, en: b}, options: {yes: {ko: a, en: b}}}",
            r"a\.options",
        ),
    ],
)
def test_load_field_catalog_rejects_bad_data(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "fields.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(GuideDataError, match=problem):
        load_field_catalog(path)


def test_load_field_catalog_missing_file(tmp_path: Path) -> None:
    with pytest.raises(GuideDataError, match=r"fields\.yaml"):
        load_field_catalog(tmp_path / "fields.yaml")


# --- semantic input ----------------------------------------------------------


def test_parse_input_semantic_shape() -> None:
    ticket = parse_input(CONTRACT_EXAMPLE, CATALOG)
    assert ticket.values == {
        "consult_type": "driver_force_rerun_own_normal",
        "identity_verified": True,
        "customer_presence": "together",
        "fare_adjustment": False,
        "payment_method": "card",
        "original_fare": 23000,
    }
    assert ticket.subject == "콜이 취소됐어요"
    assert ticket.description == "…"
    assert ticket.prior_reconnections == 0


def test_parse_input_drops_unknown_values_and_types_the_rest() -> None:
    ticket = parse_input(
        {
            "fields": {
                "identity_verified": None,
                "parking_lot": "  ",
                "usage_date": "2024-11-20",
                "entry_time": "2024-11-20 14:30",
                "car_number": "서울 12가 3456",
                "onsite_amount": "12,000원",
                "coupon_split": "5천원 2장",
                "operator": "gp_operator_nicepark",
            }
        },
        CATALOG,
    )
    assert ticket.values == {
        "usage_date": date(2024, 11, 20),
        "entry_time": datetime(2024, 11, 20, 14, 30, tzinfo=SEOUL),
        "car_number": "서울12가3456",
        "onsite_amount": 12000,
        "coupon_split": (CouponPiece(5000, 2),),
        "operator": "nicepark",
    }
    assert ticket.subject == ""
    assert ticket.prior_reconnections == 0


def test_prior_reconnections_is_read_from_top_level_or_fields() -> None:
    assert parse_input({"prior_reconnections": 2}, CATALOG).prior_reconnections == 2
    from_fields = parse_input({"fields": {"prior_reconnections": "1"}}, CATALOG)
    assert from_fields.prior_reconnections == 1
    assert "prior_reconnections" not in from_fields.values
    both = {"fields": {"prior_reconnections": 1}, "prior_reconnections": 1}
    assert parse_input(both, CATALOG).prior_reconnections == 1
    with pytest.raises(InputError, match="prior_reconnections: given twice"):
        parse_input({"fields": {"prior_reconnections": 1}, "prior_reconnections": 2}, CATALOG)
    with pytest.raises(FieldValueError, match="prior_reconnections: must not be negative"):
        parse_input({"prior_reconnections": -1}, CATALOG)


def test_unknown_field_key() -> None:
    with pytest.raises(UnknownFieldError, match="calltype: unknown field key") as info:
        parse_input({"fields": {"calltype": "partner"}}, CATALOG)
    assert info.value.field == "calltype"


def test_unknown_field_key_with_odd_characters_stays_one_line() -> None:
    with pytest.raises(UnknownFieldError) as info:
        parse_input({"fields": {"a\nb": 1}}, CATALOG)
    assert "\n" not in str(info.value)


def test_unknown_top_level_key() -> None:
    with pytest.raises(InputError, match="field: unknown top-level key") as info:
        parse_input({"field": {}}, CATALOG)
    assert info.value.field == "field"


@pytest.mark.parametrize("data", [[], "text", 3, None, True])
def test_non_object_input(data: object) -> None:
    with pytest.raises(InputError, match="input: expected a JSON object"):
        parse_input(data, CATALOG)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"fields": []}, "fields", "fields: expected an object"),
        ({"fields": "x"}, "fields", "fields: expected an object"),
        ({"subject": 3}, "subject", "subject: expected text, got a number"),
        ({"description": ["a"]}, "description", "description: expected text, got a list"),
        ({"prior_reconnections": "many"}, "prior_reconnections", "is not a whole number"),
        ({"fields": {"onsite_amount": [1]}}, "onsite_amount", "got a list"),
        ({"fields": {"identity_verified": 1}}, "identity_verified", "expected true/false"),
        ({"fields": {"usage_date": 20241120}}, "usage_date", "expected a date"),
        ({"fields": {"call_type": {"code": "partner"}}}, "call_type", "got an object"),
        ({"fields": {"reason": True}}, "reason", "got a boolean"),
    ],
)
def test_wrong_types_name_the_field(data: object, field: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        parse_input(data, CATALOG)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("key", "raw", "message"),
    [
        ("car_number", "12X3456", "car_number: .* is not a Korean car plate"),
        ("origin_call_id", "12-34", "origin_call_id: .* is not a call ID"),
        ("onsite_amount", -100, "onsite_amount: must not be negative"),
        ("onsite_amount", "12,00원", "onsite_amount: .* is not an amount in won"),
        ("usage_date", "2024-02-30", "usage_date: .* is not a real date"),
        ("entry_time", "어제 3시", "entry_time: .* is not a date-time"),
        ("call_type", "vip", "call_type: unknown option code 'vip'"),
        ("coupon_split", "반반", "coupon_split: cannot read"),
    ],
)
def test_malformed_values_name_the_field(key: str, raw: object, message: str) -> None:
    with pytest.raises(FieldValueError, match=message) as info:
        parse_input({"fields": {key: raw}}, CATALOG)
    assert info.value.field == key


# --- Zendesk ticket shape ----------------------------------------------------


def _zendesk(custom: dict[str, object], **ticket: object) -> dict[str, Any]:
    fields = [{"id": FIELD_MAP[key], "value": value} for key, value in custom.items()]
    return {"ticket": {"id": 35436, "subject": "주차권", "custom_fields": fields, **ticket}}


def test_parse_input_zendesk_shape() -> None:
    data = _zendesk(
        {
            "consult_type": "gp_consult_type_parking_integration_onsite_payment",
            "identity_verified": "gp_identity_verified_yes",
            "usage_date": "2024-11-20",
            "onsite_amount": "15000",
            "operator": None,
            "coupon_split": "",
        },
        description="현장결제 했어요",
    )
    data["ticket"]["custom_fields"].append({"id": 1, "value": "ignored: not in the map"})
    ticket = parse_input(data, CATALOG, FIELD_MAP)
    assert ticket == TicketInput(
        values={
            "consult_type": "parking_integration_onsite_payment",
            "identity_verified": True,
            "usage_date": date(2024, 11, 20),
            "onsite_amount": 15000,
        },
        subject="주차권",
        description="현장결제 했어요",
    )


def test_both_shapes_give_the_same_ticket() -> None:
    semantic = parse_input(
        {
            "fields": {"call_type": "partner", "trip_started": False, "agreed_fare": 20000},
            "subject": "s",
            "prior_reconnections": 1,
        },
        CATALOG,
    )
    zendesk = _zendesk(
        {
            "call_type": "gp_call_type_partner",
            "trip_started": "gp_trip_started_no",
            "agreed_fare": 20000,
        },
        subject="s",
    )
    zendesk["prior_reconnections"] = 1
    assert parse_input(zendesk, CATALOG, FIELD_MAP) == semantic


def test_parse_ticket_record_matches_parse_input() -> None:
    data = _zendesk({"car_number": "12가 3456", "entry_time": "2024-11-20T05:30:00Z"})
    record = parse_ticket_record(
        {
            FIELD_MAP["car_number"]: "12가 3456",
            FIELD_MAP["entry_time"]: "2024-11-20T05:30:00Z",
            7: "x",
        },
        "주차권",
        None,
        CATALOG,
        FIELD_MAP,
    )
    assert record == parse_input(data, CATALOG, FIELD_MAP)
    assert record.values["entry_time"] == datetime(2024, 11, 20, 14, 30, tzinfo=SEOUL)
    with pytest.raises(FieldValueError, match="car_number"):
        parse_ticket_record({FIELD_MAP["car_number"]: "bad"}, None, None, CATALOG, FIELD_MAP)
    counted = parse_ticket_record({}, None, None, CATALOG, FIELD_MAP, prior_reconnections=2)
    assert counted.prior_reconnections == 2


def test_zendesk_ticket_needs_a_field_map() -> None:
    with pytest.raises(InputError, match="a Zendesk ticket needs a field map"):
        parse_input(_zendesk({}), CATALOG)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"ticket": []}, "ticket: expected an object"),
        ({"ticket": {"custom_fields": {}}}, r"ticket\.custom_fields: expected a list"),
        ({"ticket": {"custom_fields": [3]}}, r"custom_fields\[0\]: expected an object"),
        (
            {"ticket": {"custom_fields": [{"id": "12"}]}},
            r"custom_fields\[0\]\.id: expected a numeric",
        ),
        ({"ticket": {"custom_fields": [{"id": True}]}}, r"\.id: expected a numeric"),
        ({"ticket": {"subject": 5}}, r"ticket\.subject: expected text"),
        ({"ticket": {}, "fields": {}}, "either fields or ticket"),
        ({"ticket": {}, "users": []}, "users: unknown top-level key"),
    ],
)
def test_malformed_zendesk_tickets(data: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_input(data, CATALOG, FIELD_MAP)


def test_bad_field_maps() -> None:
    with pytest.raises(UnknownFieldError, match="nope"):
        parse_input(_zendesk({}), CATALOG, {"nope": 1})
    with pytest.raises(InputError, match="mapped to two fields"):
        parse_input(_zendesk({}), CATALOG, {"call_type": 1, "reason": 1})


# --- inquiry date (the parking SMS's "O월 O일 문의하신") --------------------------


def test_inquiry_day_is_the_creation_day_in_seoul() -> None:
    assert inquiry_day("2026-02-13T15:30:00Z") == date(2026, 2, 14)  # 00:30 in Seoul
    assert inquiry_day("2026-02-13T14:59:00Z") == date(2026, 2, 13)
    assert inquiry_day(None) is None


def test_parse_ticket_record_carries_the_inquiry_date() -> None:
    """The ticket's creation day (Asia/Seoul) is a fact the service passes in, not a field."""
    ticket = parse_ticket_record({}, "s", "d", CATALOG, FIELD_MAP, inquiry_date=date(2026, 2, 14))
    assert ticket.values["inquiry_date"] == date(2026, 2, 14)
    assert CATALOG.get("inquiry_date").zendesk is False
    assert "inquiry_date" not in parse_ticket_record({}, "s", "d", CATALOG, FIELD_MAP).values


# --- fuzzing: arbitrary JSON gives TicketInput or a GuidepostError -----------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
NASTY_TEXT = st.text(
    alphabet=st.sampled_from(list("0123456789,:-+.TZ 원가허서울x*장천만;/\n\t\r\x00\x1b😀é"))
    | st.characters(),
    max_size=30,
)
KEYS = st.sampled_from(CATALOG.keys())
VALUES = JSON | NASTY_TEXT


def _assert_ticket_or_guidepost_error(data: object, field_map: dict[str, int] | None) -> None:
    result: TicketInput | GuidepostError
    try:
        result = parse_input(data, CATALOG, field_map)
    except GuidepostError as exc:
        result = exc
    if isinstance(result, GuidepostError):
        assert "\n" not in str(result)
    else:
        assert isinstance(result, TicketInput)
        for key, value in result.values.items():
            # Every accepted value encodes and reads back to itself.
            assert CATALOG.parse(key, CATALOG.to_json(key, value)) == value


@settings(max_examples=300, deadline=None, database=None)
@given(JSON)
def test_arbitrary_json_never_escapes(data: object) -> None:
    _assert_ticket_or_guidepost_error(data, FIELD_MAP)


@settings(max_examples=500, deadline=None, database=None)
@given(
    fields=st.dictionaries(KEYS, VALUES, max_size=6),
    top=st.dictionaries(st.sampled_from(["subject", "description", "prior_reconnections"]), VALUES),
)
def test_arbitrary_field_values_never_escape(
    fields: dict[str, object], top: dict[str, object]
) -> None:
    _assert_ticket_or_guidepost_error({"fields": fields, **top}, None)


@settings(max_examples=300, deadline=None, database=None)
@given(
    entries=st.lists(
        st.fixed_dictionaries(
            {"id": st.sampled_from(sorted(FIELD_MAP.values())) | st.integers(), "value": VALUES}
        )
        | JSON,
        max_size=6,
    ),
    subject=VALUES,
)
def test_arbitrary_zendesk_tickets_never_escape(entries: list[object], subject: object) -> None:
    data = {"ticket": {"subject": subject, "custom_fields": entries}}
    _assert_ticket_or_guidepost_error(data, FIELD_MAP)


def test_catalog_is_a_field_catalog() -> None:
    assert isinstance(CATALOG, FieldCatalog)


@pytest.mark.parametrize("key", CATALOG.keys())
@settings(max_examples=60, deadline=None, database=None)
@given(raw=VALUES)
def test_every_field_key_takes_arbitrary_text(key: str, raw: object) -> None:
    _assert_ticket_or_guidepost_error({"fields": {key: raw}}, None)
    _assert_ticket_or_guidepost_error(
        {"ticket": {"custom_fields": [{"id": FIELD_MAP[key], "value": raw}]}}, FIELD_MAP
    )
