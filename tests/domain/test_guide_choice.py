"""GUIDES.md §1 — choosing the guide from 상담유형, or suggesting one from the ticket's text."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from backend.domain.engine import decide
from backend.domain.facts import parse_input
from backend.domain.guides import load_catalog
from backend.domain.render import TextRenderer

ROOT = Path(__file__).resolve().parents[2]
SUGGESTED = "guide_suggested_set_consult_type"
CONSULT_GUIDES = {
    "parking_integration_onsite_payment": "parking_onsite_payment",
    "driver_force_rerun_own_normal": "force_reconnect",
    "driver_force_rerun_own_vip": "force_reconnect",
    "driver_force_rerun_partner": "force_reconnect",
    "driver_force_rerun_consigned": "force_reconnect",
    "driver_force_rerun_reserved": "force_reconnect",
    "driver_force_rerun_delivery": "force_reconnect",
    "driver_force_rerun_custom": "force_reconnect",
    "driver_force_rerun_other": "force_reconnect",
}
# GUIDES.md §1 examples: 주차권/현장결제/영수증 → parking; 강제/재연결/다시 연결/콜이 취소 → force.
KEYWORD_SUBJECTS = [
    ("주차권 적용이 안 됐어요", "parking_onsite_payment"),
    ("현장결제를 해 버렸어요", "parking_onsite_payment"),
    ("영수증 보내드려요", "parking_onsite_payment"),
    ("강제로 다시 운행하고 싶어요", "force_reconnect"),
    ("재연결 부탁드립니다", "force_reconnect"),
    ("고객이랑 다시 연결해 주세요", "force_reconnect"),
    ("콜이 취소됐어요", "force_reconnect"),
]


def assert_no_guide(decision) -> None:
    assert decision.guide is None
    assert decision.suggested is False
    assert decision.branch == "none"
    assert decision.eligible is False
    assert (decision.blocks, decision.missing, decision.notices) == ([], [], [])
    assert (decision.tags, decision.texts, decision.fields_set) == ([], [], {})


def assert_suggestion(decision, guide: str) -> None:
    assert decision.guide == guide
    assert decision.suggested is True
    assert decision.branch == "none"
    assert decision.eligible is False
    assert decision.notices == [SUGGESTED]
    assert (decision.blocks, decision.missing) == ([], [])
    # A suggestion never writes back and renders no script.
    assert decision.tags == []
    assert decision.fields_set == {}
    assert decision.texts == []


@pytest.mark.parametrize(("consult", "guide"), sorted(CONSULT_GUIDES.items()))
def test_every_consult_code_chooses_its_guide(consult, guide, decide_fields):
    decision = decide_fields({"consult_type": consult})
    assert decision.guide == guide
    assert decision.suggested is False
    assert decision.branch != "none"
    assert decision.tags[0] == f"gp_guide_{guide}"


@pytest.mark.parametrize(("consult", "guide"), sorted(CONSULT_GUIDES.items()))
def test_consult_code_wins_over_the_text(consult, guide, decide_fields):
    other_words = "강제 재연결 콜이 취소" if guide == "parking_onsite_payment" else "주차권 영수증"
    decision = decide_fields({"consult_type": consult}, subject=other_words)
    assert decision.guide == guide
    assert decision.suggested is False


def test_every_consult_code_of_the_field_catalog_has_a_guide(catalog):
    assert set(catalog.fields.get("consult_type").options) == set(CONSULT_GUIDES)


def test_consult_value_of_no_loaded_guide_gives_no_guide(tmp_path):
    # The parking code is a valid option, but its guide is not installed here.
    macros = tmp_path / "macros"
    shutil.copytree(ROOT / "macros", macros)
    shutil.rmtree(macros / "parking_onsite_payment")
    partial = load_catalog(macros)
    for value in (
        "parking_integration_onsite_payment",
        "gp_consult_type_parking_integration_onsite_payment",
    ):
        ticket = parse_input(
            {"fields": {"consult_type": value}, "subject": "주차권"}, partial.fields
        )
        assert_no_guide(decide(ticket, partial, TextRenderer(partial)))


@pytest.mark.parametrize(("text", "guide"), KEYWORD_SUBJECTS)
@pytest.mark.parametrize("where", ["subject", "description"])
def test_keywords_suggest_a_guide(text, guide, where, decide_fields):
    decision = decide_fields({}, **{where: text})
    assert_suggestion(decision, guide)


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"identity_verified": True, "car_number": "12가3456"}, id="parking-facts"),
        pytest.param({"call_type": "own_normal", "origin_call_id": "1234567"}, id="call-facts"),
    ],
)
def test_suggestion_ignores_other_fields_and_writes_nothing(fields, decide_fields):
    decision = decide_fields(
        {**fields, "consult_type": None},
        subject="콜이 취소됐어요",
        description="고객과 다시 연결해 주세요",
    )
    assert_suggestion(decision, "force_reconnect")


@pytest.mark.parametrize(
    ("subject", "description"),
    [
        pytest.param(None, None, id="no-text"),
        pytest.param("문의드립니다", "앱 사용법이 궁금해요", id="no-keyword"),
        pytest.param("   ", "", id="blank"),
    ],
)
def test_no_keyword_gives_no_guide(subject, description, decide_fields):
    decision = decide_fields({}, subject=subject, description=description)
    assert_no_guide(decision)
