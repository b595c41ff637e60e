"""Declared guide features: tags, field fallbacks, once-only — rendered and checked generically."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from table_helpers import load_repo_catalog

from backend.domain.check import check_declared_labels, check_features
from backend.domain.decision import Decision
from backend.domain.guides import Guide, Label, TagRule
from backend.domain.writeback import TAG_CHARS, build_tags, render_tag, tag_slots
from backend.errors import GuideDataError


def _lookup(values: dict[str, Any]) -> Any:
    return lambda name: (values.get(name), () if values.get(name) is not None else (name,))


def _reconnect() -> Guide:
    return load_repo_catalog().guide("force_reconnect")


def _decision(guide: str = "force_reconnect") -> Decision:
    return Decision(guide=guide, branch="a.b", outcome="blocked", blocks=["x"])


def test_once_only_tags_follow_the_declaration() -> None:
    guide = _reconnect()
    tags = build_tags(_decision(), guide, _lookup({"origin_call_id": "42", "forced_call_id": "7"}))
    decision_tags = ["gp_guide_force_reconnect", "gp_branch_a_b", "gp_blocked", "gp_block_x"]
    assert tags == [*decision_tags, "fr_origin_42", "fr_forced"]
    renamed = replace(guide, once_only=replace(guide.once_only, claim_tag="zz_done"))
    assert build_tags(_decision(), renamed, _lookup({"forced_call_id": "7"}))[-1] == "zz_done"


def test_once_only_tags_wait_for_their_facts() -> None:
    tags = build_tags(_decision(), _reconnect(), _lookup({}))
    assert not [t for t in tags if not t.startswith("gp_")]


def test_declared_tag_needs_its_fields_known_and_its_condition() -> None:
    rule = TagRule(tag="sx_lot_{call_type}", when={"fact": "identity_verified", "is": True})
    guide = replace(_reconnect(), tags=(rule,), once_only=None)
    assert build_tags(_decision(), guide, _lookup({"call_type": "own_vip"})) == build_tags(
        _decision(), guide, _lookup({})
    )
    known = _lookup({"call_type": "own_vip", "identity_verified": True})
    assert build_tags(_decision(), guide, known)[-1] == "sx_lot_own_vip"


def test_a_tag_that_renders_a_space_is_refused() -> None:
    assert tag_slots("a_{x}_{y}") == ["x", "y"]
    with pytest.raises(GuideDataError, match="not a Zendesk tag"):
        render_tag("sx_{x}", lambda _name: "두 단어")


def test_no_guide_no_tags() -> None:
    assert build_tags(Decision(guide=None), _reconnect(), _lookup({})) == []


@pytest.mark.parametrize(
    ("update", "message"),
    [
        ({"fallbacks": {"call_type": "no_such_fact"}}, "falls back on unknown 'no_such_fact'"),
        ({"fallbacks": {"usage_date": "implied_call_type"}}, "'usage_date' is not one of"),
        ({"tags": (TagRule(tag="sx_{reason}"),)}, "a text field may hold characters"),
        ({"tags": (TagRule(tag="sx_{usage_date}"),)}, "reads 'usage_date', not a guide field"),
        ({"tags": (TagRule(tag="Bad Tag"),)}, "a tag is lower-case"),
        ({"tags": (TagRule(tag="gp_mine"),)}, "gp_ tags are Guidepost's own"),
        ({"tags": (TagRule(tag="sx", when={"fact": "nope", "is": 1}),)}, "unknown fact 'nope'"),
        ({"once_only": {"key_tag": "fr_origin"}}, "must read {origin_call_id} once"),
        ({"once_only": {"claim_tag": "fr_{forced_call_id}"}}, "is a fixed tag"),
        ({"once_only": {"count": "origin_call_id"}}, "must be an integer field"),
        ({"once_only": {"key": "usage_date"}}, "once_only.key 'usage_date' is not a guide field"),
    ],
)
def test_feature_mistakes_are_named(update: dict[str, Any], message: str) -> None:
    guide = _reconnect()
    if isinstance(update.get("once_only"), dict):
        update = {"once_only": replace(guide.once_only, **update["once_only"])}
    problems = check_features(replace(guide, **update), load_repo_catalog())
    assert any(message in p for p in problems), problems


def test_the_real_features_are_sound() -> None:
    catalog = load_repo_catalog()
    assert [p for g in catalog.guides.values() for p in check_features(g, catalog)] == []


def test_an_unused_label_is_a_problem() -> None:
    catalog = load_repo_catalog()
    assert check_declared_labels(catalog) == []
    extra = {**catalog.labels["notices"], "nobody_shows_this": Label(ko="없음", en="none")}
    copy = replace(catalog, labels={**catalog.labels, "notices": extra})
    assert check_declared_labels(copy) == [
        "labels.yaml: notice 'nobody_shows_this' is declared but not in the data (no guide uses it)"
    ]


def test_the_fallback_is_what_fills_call_type() -> None:
    from backend.domain.engine import FactEnv
    from backend.domain.facts import TicketInput

    catalog = load_repo_catalog()
    guide = _reconnect()
    ticket = TicketInput(values={"consult_type": "driver_force_rerun_partner"})
    assert FactEnv(guide, ticket, catalog).lookup("call_type") == ("partner", ())
    bare = replace(guide, fallbacks={})
    assert FactEnv(bare, ticket, catalog).lookup("call_type") == (None, ())
    values = {"consult_type": "driver_force_rerun_partner", "call_type": "own_vip"}
    explicit = TicketInput(values=values)
    assert FactEnv(guide, explicit, catalog).lookup("call_type") == ("own_vip", ())


def test_once_only_count_reads_the_server_count_only_where_declared() -> None:
    from backend.domain.engine import FactEnv
    from backend.domain.facts import TicketInput

    catalog = load_repo_catalog()
    ticket = TicketInput(values={}, prior_reconnections=2)
    assert FactEnv(_reconnect(), ticket, catalog).value("prior_reconnections") == 2
    parking = catalog.guide("parking_onsite_payment")
    assert FactEnv(parking, ticket, catalog).value("prior_reconnections") is None


@given(st.text(max_size=12))
def test_a_rendered_tag_is_a_tag_or_a_guide_data_error(value: str) -> None:
    try:
        tag = render_tag("sx_{x}", lambda _name: value)
    except GuideDataError:
        return
    assert tag is not None
    assert TAG_CHARS.fullmatch(tag)
    assert tag == f"sx_{value}"
