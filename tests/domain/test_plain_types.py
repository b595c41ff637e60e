"""The pydantic-free runtime types: their JSON is pydantic's, their checks are kept."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter
from table_helpers import load_repo_catalog

from backend.domain.decision import Decision, RenderedText, TextPlaceholder, json_value
from backend.domain.engine import EngineOptions, decide
from backend.domain.facts import TicketInput, parse_input
from backend.domain.guides import Guide, validate_guide
from backend.domain.render import TextRenderer
from backend.domain.values import SEOUL
from backend.errors import InputError
from backend.ticket_decision import TicketGuidance
from tooling.decision_snapshot import read_snapshot

BASELINE = Path(__file__).parent / "data" / "decisions_baseline.jsonl"
CATALOG = load_repo_catalog()
RENDERER = TextRenderer(CATALOG)
OPTIONS = EngineOptions(admin_call_url="https://admin.example/calls/{call_id}")


def recorded_decisions(step: int = 7) -> list[Decision]:
    """Decisions on every `step`-th recorded input of the baseline (both guides, all outcomes)."""
    rows = read_snapshot(BASELINE)[::step]
    tickets = [parse_input(data, CATALOG.fields) for _, data, _ in rows]
    return [decide(ticket, CATALOG, RENDERER, OPTIONS) for ticket in tickets]


def test_to_json_is_pydantics_json_key_for_key_in_order() -> None:
    adapter = TypeAdapter(Decision)
    decisions = recorded_decisions()
    assert any(text.placeholders for d in decisions for text in d.texts)
    for decision in decisions:
        plain, dumped = decision.to_json(), adapter.dump_python(decision, mode="json")
        assert plain == dumped
        assert json.dumps(plain, ensure_ascii=False) == json.dumps(dumped, ensure_ascii=False)


def test_the_api_schema_and_dump_keep_from_article() -> None:
    text = RenderedText(key="k", kind="sms", title="t", body="b", from_seed=False)
    assert TypeAdapter(RenderedText).dump_python(text)["from_article"] is False
    schema = TypeAdapter(Decision).json_schema(mode="serialization")
    rendered = schema["$defs"]["RenderedText"]
    assert rendered["properties"]["from_article"] == {
        "description": RenderedText.from_article.__doc__,
        "readOnly": True,
        "title": "From Article",
        "type": "boolean",
    }
    assert "from_article" in rendered["required"]


def test_a_guidance_answer_is_json_like_the_api_sends_it() -> None:
    (decision,) = recorded_decisions(step=400)[:1]
    guidance = TicketGuidance(
        **decision.field_values(),
        ticket_id=1,
        ticket_updated_at="2024-11-20T09:00:01Z",
        already_applied=False,
        prior_reconnections=0,
        fingerprint="abc",
        fact_sources={"car_number": {"kind": "ticket"}},
    )
    adapter = TypeAdapter(TicketGuidance)
    assert guidance.to_json() == json.loads(adapter.dump_json(guidance))
    assert list(guidance.to_json())[: len(decision.to_json())] == list(decision.to_json())


json_leaves = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
json_scalars = (
    json_leaves
    | st.dates()
    # Since 1970 Seoul's offset is whole minutes (older LMT offsets carry seconds).
    | st.datetimes(min_value=datetime(1970, 1, 1), timezones=st.just(SEOUL))
    | st.builds(TextPlaceholder, st.integers(), st.integers(), st.just("fact"), st.text())
)
json_nested = (
    st.lists(json_scalars, max_size=3)
    | st.tuples(json_scalars, json_scalars)
    | st.dictionaries(st.text(max_size=3), json_scalars, max_size=3)
)
json_like = (
    json_scalars
    | json_nested
    | st.dictionaries(st.text(max_size=3), json_nested, max_size=2)
    | st.lists(json_nested, max_size=2)
)


@given(json_like)
def test_json_value_encodes_as_pydantic_does(value: object) -> None:
    assert json_value(value) == TypeAdapter(object).dump_python(value, mode="json")


def test_json_value_keeps_dates_iso() -> None:
    moment = datetime(2024, 11, 20, 9, 30, tzinfo=SEOUL)
    assert json_value({"d": date(2024, 11, 20), "t": (moment,)}) == {
        "d": "2024-11-20",
        "t": ["2024-11-20T09:30:00+09:00"],
    }


@pytest.mark.parametrize("count", [-1, True, 1.5, "2"])
def test_a_ticket_input_refuses_a_count_that_is_not_a_whole_number(count: object) -> None:
    with pytest.raises(InputError, match="prior_reconnections"):
        TicketInput(prior_reconnections=count)  # type: ignore[arg-type]


def test_a_guide_is_validated_from_yaml_data_with_its_shorthands() -> None:
    guide = CATALOG.guide("force_reconnect")
    data = TypeAdapter(Guide).dump_python(guide, by_alias=True)
    data["requires"] = [r["fact"] for r in data["requires"]] if data["requires"] else ["x"]
    data["rows"][0]["collect"] = ["origin_call_id"]
    again = validate_guide(data)
    assert again.rows[0].collect[0].fact == "origin_call_id"
    assert all(r.when is None for r in again.requires)
    assert isinstance(again.rows, tuple)


BASE = recorded_decisions(step=400)[0]


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "branch": st.text(max_size=5),
            "eligible": st.booleans(),
            "tags": st.lists(st.text(max_size=3), max_size=2),
            "note": st.text(max_size=5),
            "facts": st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
        },
    )
)
def test_evolve_is_dataclasses_replace(changes: dict[str, object]) -> None:
    before = BASE.to_json()
    evolved = BASE.evolve(**changes)
    assert evolved == replace(BASE, **changes)
    assert type(evolved) is Decision
    assert evolved.to_json() == replace(BASE, **changes).to_json()
    assert BASE.to_json() == before  # the original is untouched


def test_evolve_refuses_an_unknown_field() -> None:
    with pytest.raises(TypeError, match="no field 'colour'"):
        Decision(guide=None).evolve(colour="red")
