"""Wave 6 shortcuts on the request path answer as the plain paths they replace (issue 16).

The field map inverted once per map content, empty custom fields skipped before parsing,
and `choose_only` (the guide alone) against the guide and `suggested` of a full `decide`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from table_helpers import load_repo_catalog, load_repo_renderer

from backend.demo import DEMO_CASES
from backend.domain.engine import EngineOptions, choose_only, decide, settle_by_fallback
from backend.domain.facts import (
    PRIOR_RECONNECTIONS,
    TicketInput,
    parse_input,
    parse_ticket_record,
)
from backend.domain.fields import load_field_catalog
from backend.domain.values import parse_integer
from backend.errors import GuidepostError, InputError, UnknownFieldError

FIELDS_YAML = Path(__file__).resolve().parents[2] / "macros" / "fields.yaml"
CATALOG = load_field_catalog(FIELDS_YAML)
FIELD_MAP = {key: 1000 + index for index, key in enumerate(CATALOG.keys())}
RAW = st.none() | st.booleans() | st.integers(-5, 50_000) | st.text(max_size=12)
RAW |= st.sampled_from(["예", "yes", "2024-11-20", "2024-11-20T09:00", "12가3456", "7001"])


def plain_parse(
    custom_fields: Mapping[int, object],
    field_map: Mapping[str, int],
    inquiry_date: date | None = None,
) -> TicketInput:
    """The wave-5 parse: invert and check the map per call, parse every field, None too."""
    by_id: dict[int, str] = {}
    for key, field_id in field_map.items():
        if key != PRIOR_RECONNECTIONS and key not in CATALOG:
            raise UnknownFieldError(key)
        if isinstance(field_id, bool) or not isinstance(field_id, int):
            raise InputError(f"field map: {key}: the field id must be an integer")
        if field_id in by_id:
            raise InputError(f"field map: id {field_id} is mapped to two fields")
        by_id[field_id] = key
    values: dict[str, Any] = {}
    prior = 0  # parse_ticket_record's own argument
    for field_id, raw in custom_fields.items():
        key = by_id.get(field_id)
        if key is None:
            continue
        if key == PRIOR_RECONNECTIONS:
            given = parse_integer(PRIOR_RECONNECTIONS, raw)
            if given is not None and given != prior:
                raise InputError(f"{PRIOR_RECONNECTIONS}: given twice with different values")
            continue
        value = CATALOG.parse(key, raw)
        if value is not None:
            values[key] = value
    if inquiry_date is not None:
        values["inquiry_date"] = inquiry_date
    return TicketInput(values=values, subject="s", description="d", prior_reconnections=prior)


def _outcome(action: Any) -> TicketInput | str:
    try:
        return action()  # type: ignore[no-any-return]
    except GuidepostError as exc:
        return f"{type(exc).__name__}: {exc}"


@settings(max_examples=400, deadline=None, database=None)
@given(
    custom=st.dictionaries(
        st.sampled_from(sorted(FIELD_MAP.values())) | st.integers(1, 20), RAW, max_size=12
    ),
    inquiry=st.none() | st.dates(),
)
def test_a_record_parses_as_the_plain_path(custom: dict[int, object], inquiry: date | None) -> None:
    """Same values or the same error, empty fields included, map remembered or not."""
    fast = _outcome(lambda: parse_ticket_record(custom, "s", "d", CATALOG, FIELD_MAP, 0, inquiry))
    plain = _outcome(lambda: plain_parse(custom, FIELD_MAP, inquiry))
    if isinstance(plain, str):
        # The plain path names the first bad value it meets: the same field's error.
        assert isinstance(fast, str)
        assert fast.split(":")[0] == plain.split(":")[0]
    else:
        assert fast == plain


def test_a_field_map_changed_in_place_is_read_again() -> None:
    """The remembered inversion is keyed on the map's content, not the dict object."""
    field_map = dict(FIELD_MAP)
    raw = {FIELD_MAP["car_number"]: "12가3456", 9999: "34나5678"}
    first = parse_ticket_record(raw, "", "", CATALOG, field_map)
    assert first.values == {"car_number": "12가3456"}
    field_map["car_number"] = 9999
    second = parse_ticket_record(raw, "", "", CATALOG, field_map)
    assert second.values == {"car_number": "34나5678"}


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"nope": 5}, UnknownFieldError),
        ({"car_number": "5"}, InputError),
        ({"car_number": True}, InputError),
        ({"car_number": FIELD_MAP["consult_type"]}, InputError),
    ],
)
def test_a_refused_field_map_is_refused_on_every_read(
    change: dict[str, object], error: type[Exception]
) -> None:
    """An error is never remembered as an inversion: each read raises it again."""
    bad = {**FIELD_MAP, **change}
    for _ in range(2):
        with pytest.raises(error):
            parse_ticket_record({}, "", "", CATALOG, bad)  # type: ignore[arg-type]
    assert parse_ticket_record({}, "", "", CATALOG, FIELD_MAP).values == {}


def test_an_empty_value_parses_to_nothing_for_every_field() -> None:
    """What the skip of empty custom fields rests on: None is unknown for every type."""
    for key in CATALOG:
        assert CATALOG.parse(key, None) is None


GUIDE_CATALOG = load_repo_catalog()
RENDERER = load_repo_renderer()
CONSULT_CODES = sorted(GUIDE_CATALOG.fields.get("consult_type").options)
WORDS = sorted({word for guide in GUIDE_CATALOG.guides.values() for word in guide.keywords})


def _choice(decision: Any) -> tuple[str | None, bool]:
    return decision.guide, decision.suggested


@pytest.mark.parametrize("case", DEMO_CASES, ids=[case.name for case in DEMO_CASES])
def test_choose_only_picks_the_guide_decide_picks_on_the_demo(case: Any) -> None:
    """Every demo ticket: the same guide and `suggested` as the whole decision."""
    ticket = parse_input(case.ticket, GUIDE_CATALOG.fields)
    full = decide(ticket, GUIDE_CATALOG, RENDERER, EngineOptions())
    assert _choice(choose_only(ticket, GUIDE_CATALOG)) == _choice(full)


@settings(max_examples=150, deadline=None, database=None)
@given(
    consult=st.none() | st.sampled_from(CONSULT_CODES),
    words=st.lists(st.sampled_from(WORDS) | st.text(max_size=6), max_size=4),
)
def test_choose_only_picks_the_guide_decide_picks(consult: str | None, words: list[str]) -> None:
    """By 상담유형 or by the words of subject and description (a suggestion), or none."""
    fields = {} if consult is None else {"consult_type": consult}
    ticket = parse_input(
        {"fields": fields, "subject": " ".join(words), "description": ""}, GUIDE_CATALOG.fields
    )
    try:
        full = decide(ticket, GUIDE_CATALOG, RENDERER, EngineOptions())
    except GuidepostError:
        return  # an incomplete ticket the table refuses: nothing to compare
    assert _choice(choose_only(ticket, GUIDE_CATALOG)) == _choice(full)


# ------------------------------------------------------------------ settled by fallback

RECONNECT_FACTS: dict[str, list[object]] = {
    "consult_type": sorted(GUIDE_CATALOG.guides["force_reconnect"].consult_types),
    "call_type": [None, *sorted(GUIDE_CATALOG.fields.get("call_type").options)],
    "requester_role": [None, "driver", "customer"],
    "identity_verified": [None, True, False],
    "admin_status": [None, "stopped_by_report", "completed"],
    "payment_method": [None, "card", "cash"],
    "customer_consent": [None, "agreed", "refused"],
    "customer_presence": [None, "together"],
    "fare_adjustment": [None, True, False],
    "driver_on_duty": [None, True, False],
    "customer_recalling": [None, True, False],
    "origin_call_id": [None, "1234567"],
    "forced_call_id": [None, "7654321"],
    "original_fare": [None, 23000],
}


def _settle_both(ticket: TicketInput) -> tuple[Any, Any] | None:
    """(the shortcut's settled decision, a full decide on the filled ticket)."""
    decision = decide(ticket, GUIDE_CATALOG, RENDERER, EngineOptions())
    if not decision.fields_set:
        return None
    filled = dict(ticket.values)
    for key, value in decision.fields_set.items():
        parsed = GUIDE_CATALOG.fields.parse(key, value)
        if parsed is not None:
            filled[key] = parsed
    filled_ticket = replace(ticket, values=filled)
    fast = settle_by_fallback(ticket, filled_ticket, decision, GUIDE_CATALOG, RENDERER)
    return fast, decide(filled_ticket, GUIDE_CATALOG, RENDERER, EngineOptions())


@pytest.mark.parametrize("case", DEMO_CASES, ids=[case.name for case in DEMO_CASES])
def test_a_settled_demo_decision_is_the_full_decision(case: Any) -> None:
    """Every demo ticket with a write-back fill: the whole decision, field by field."""
    both = _settle_both(parse_input(case.ticket, GUIDE_CATALOG.fields))
    if both is not None:
        fast, full = both
        assert fast is not None
        assert fast == full


@settings(max_examples=300, deadline=None, database=None)
@given(
    st.fixed_dictionaries({key: st.sampled_from(values) for key, values in RECONNECT_FACTS.items()})
)
def test_a_settled_decision_is_the_full_decision(facts: dict[str, object]) -> None:
    """Random 강제재연결 tickets: the shortcut (where it applies) is `decide` on the filled one."""
    fields = {key: value for key, value in facts.items() if value is not None}
    both = _settle_both(parse_input({"fields": fields}, GUIDE_CATALOG.fields))
    if both is not None and both[0] is not None:
        assert both[0] == both[1]


def test_the_shortcut_declines_a_fill_no_fallback_reads() -> None:
    """A fill that changes a lookup (here: from a connector, no fallback) is decided in full."""
    ticket = parse_input({"fields": RECONNECT_SETTLE_BASE}, GUIDE_CATALOG.fields)
    decision = decide(ticket, GUIDE_CATALOG, RENDERER, EngineOptions())
    assert decision.fields_set  # call_type from the 상담유형 leaf
    extra = decision.evolve(fields_set={**decision.fields_set, "original_fare": 23000})
    filled = replace(ticket, values={**ticket.values, "original_fare": 23000})
    assert settle_by_fallback(ticket, filled, extra, GUIDE_CATALOG, RENDERER) is None
    assert settle_by_fallback(ticket, filled, decision, GUIDE_CATALOG, RENDERER) is None
    both = _settle_both(ticket)
    assert both is not None
    assert both[0] is not None  # the fill the fallback reads: settled without a decide
    assert both[0] == both[1]


RECONNECT_SETTLE_BASE: dict[str, object] = {
    "consult_type": "driver_force_rerun_own_normal",
    "identity_verified": True,
    "origin_call_id": "1234567",
}
