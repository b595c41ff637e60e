"""The engine's shortcuts decide exactly what the plain path decides (issue 16, item 2).

Each speed-up has a slow twin here: a renderer without its caches, `to_json` per value,
the sandbox's own attribute check, a regex scan for placeholder frames, the original
if-chain of fact tests. Generated tickets must come out identical both ways.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from mark_pieces import MARK_BODY, MARK_CLOSE, MARK_OPEN, MARK_PIECES, MARK_SEP
from table_helpers import load_repo_catalog, load_repo_renderer

from backend.domain.conditions import YES, FactRef, FactTest, Outcome, Tri, compile_condition
from backend.domain.decision import TextPlaceholder
from backend.domain.engine import EngineOptions, FactEnv, decide
from backend.domain.facts import TicketInput, facts_json, parse_input
from backend.domain.guides import load_catalog
from backend.domain.render import FactsRead, TextRenderer
from backend.domain.render_filters import GuideSandbox, unmark
from backend.domain.values import SEOUL
from backend.errors import GuideDataError, UnknownFieldError

ROOT = Path(__file__).resolve().parents[2]
catalog = load_repo_catalog()
OPTIONS = EngineOptions(admin_call_url="https://admin.example/calls/{call_id}")


class UncachedRenderer(TextRenderer):
    """The renderer with every shortcut off: all facts in the context, every text rendered."""

    def is_fact_free(self, guide_id: str, template: str) -> bool:
        return False

    def facts_read(self, guide_id: str) -> FactsRead | None:
        return None


def _values(kind: str, options: list[str]) -> st.SearchStrategy[Any]:
    samples: dict[str, list[Any]] = {
        "tristate": [None, True, False, "예"],
        "dropdown": [None, *options],
        "amount": [None, 0, 8500, 12500, "18,000원", 30000],
        "integer": [None, 0, 1],
        "date": [None, "2026-02-14", "2026-11-20"],
        "datetime": [None, "2026-11-20T08:30", "2026-11-20T09:00Z", "2026-11-20T18:00+09:00"],
        "coupon_split": [None, "5000x2", "10000x1, 2000x1", "9000x1"],
        "plate": [None, "34나5678", " 서울 12가 3456 "],
        "call_id": [None, "1234567", "１２３"],
        "text": [None, "메모", "  앞뒤 공백  ", "줄\r\n바꿈"],
    }
    return st.sampled_from(samples[kind])


def _tickets() -> st.SearchStrategy[dict[str, Any]]:
    consults = [c for guide in catalog.guides.values() for c in guide.consult_types]
    fields = {
        field.key: _values(field.type, list(field.options))
        for field in catalog.fields.fields()
        if field.key not in {"consult_type", "prior_reconnections"}
    }
    return st.fixed_dictionaries(
        {"consult_type": st.sampled_from(consults), **fields, "prior": st.sampled_from([0, 1])}
    )


def _parse(data: dict[str, Any]) -> TicketInput:
    prior = data.pop("prior")
    fields = {k: v for k, v in data.items() if v is not None}
    return parse_input({"fields": fields, "prior_reconnections": prior}, catalog.fields)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=_tickets(), second=_tickets())
def test_a_warm_renderer_decides_as_one_without_shortcuts(first, second):
    """Cached texts and a narrowed context never carry one ticket's values into the next."""
    warm = load_repo_renderer()  # shared by every example: its caches fill as tickets pass
    plain = UncachedRenderer(catalog)
    for data in (first, second):
        ticket = _parse(data)
        fast = decide(ticket, catalog, warm, OPTIONS)
        slow = decide(ticket, catalog, plain, OPTIONS)
        assert fast.to_json() == slow.to_json()
        assert fast == slow


@settings(max_examples=150, deadline=None)
@given(data=_tickets())
def test_facts_encode_as_to_json_does(data):
    ticket = _parse(data)
    assert facts_json(ticket.values, catalog.fields) == catalog.fields.values_to_json(ticket.values)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        # Values a caller may put in a TicketInput without parsing: the full path is kept.
        ("entry_time", datetime(2026, 11, 20, 1, 0, tzinfo=UTC)),
        ("entry_time", datetime(2026, 11, 20, 10, 0, tzinfo=timezone(timedelta(hours=9)))),
        ("entry_time", datetime(2026, 11, 20, 10, 0, tzinfo=SEOUL)),
        ("usage_date", date(2026, 11, 20)),
        ("onsite_amount", 12000),
        ("identity_verified", True),
        ("operator", "kmpark"),
        ("operator", "gp_operator_kmpark"),
        ("car_number", "서울 12가 3456"),
        ("reason", "  사유  "),
        ("origin_call_id", 1234567),
        ("coupon_split", "5000x2"),
    ],
)
def test_unparsed_values_encode_as_to_json_does(key, value):
    assert facts_json({key: value}, catalog.fields) == {key: catalog.fields.to_json(key, value)}


def test_unknown_fact_key_still_fails_as_to_json_does():
    with pytest.raises(UnknownFieldError):
        facts_json({"no_such_field": 1}, catalog.fields)
    with pytest.raises(UnknownFieldError):
        catalog.fields.to_json("no_such_field", 1)


# --------------------------------------------------------------------- fact-free texts


def test_fact_free_templates_are_the_ones_reading_no_fact():
    renderer = load_repo_renderer()
    assert renderer.is_fact_free("force_reconnect", "memo_history_links.j2")  # settings only
    assert not renderer.is_fact_free("force_reconnect", "link_memo.j2")  # call ids
    # Includes another template: what the included one reads is not analysed.
    assert not renderer.is_fact_free("parking_onsite_payment", "a1_1_identity_confirmed.j2")
    assert not renderer.is_fact_free("force_reconnect", "note.j2")  # the decision


@pytest.fixture
def macros_with_extra_templates(tmp_path: Path) -> Path:
    macros = tmp_path / "macros"
    shutil.copytree(ROOT / "macros", macros)
    templates = macros / "force_reconnect" / "templates"
    (templates / "zz_link.j2").write_text('링크: {{ call_link("42") }}', encoding="utf-8")
    (templates / "zz_lipsum.j2").write_text("{{ lipsum(1) }}", encoding="utf-8")
    (templates / "zz_shadow.j2").write_text("{{ admin_status }}", encoding="utf-8")
    return macros


def test_fact_free_texts_are_kept_per_admin_url(macros_with_extra_templates):
    custom = load_catalog(macros_with_extra_templates)
    renderer = TextRenderer(custom)
    guide = custom.guide("force_reconnect")
    assert renderer.is_fact_free("force_reconnect", "zz_link.j2")
    first = renderer.prepare(guide, {}, "https://one.test/calls/{call_id}")
    second = renderer.prepare(guide, {}, "https://two.test/calls/{call_id}")
    assert renderer.render_prepared("zz_link.j2", first)[0] == "링크: https://one.test/calls/42"
    assert renderer.render_prepared("zz_link.j2", second)[0] == "링크: https://two.test/calls/42"
    assert renderer.render_prepared("zz_link.j2", first)[0] == "링크: https://one.test/calls/42"


def test_a_changed_copy_of_a_guide_gets_its_own_helpers_and_texts(
    macros_with_extra_templates,
):
    custom = load_catalog(macros_with_extra_templates)
    templates = macros_with_extra_templates / "force_reconnect" / "templates"
    (templates / "zz_setting.j2").write_text(
        '{{ setting("history_template_url", "링크") }}', encoding="utf-8"
    )
    renderer = TextRenderer(custom)
    guide = custom.guide("force_reconnect")
    changed = replace(
        guide, settings={**guide.settings, "history_template_url": "https://kb.test/h"}
    )
    url = OPTIONS.admin_call_url
    assert renderer.is_fact_free("force_reconnect", "zz_setting.j2")
    before = renderer.render_prepared("zz_setting.j2", renderer.prepare(guide, {}, url))[0]
    after = renderer.render_prepared("zz_setting.j2", renderer.prepare(changed, {}, url))[0]
    assert after == "https://kb.test/h"
    assert before != after
    context = renderer.context(changed, {}, url)
    assert renderer.render("force_reconnect", "zz_setting.j2", context) == after


def test_random_words_and_facts_are_never_fact_free(macros_with_extra_templates):
    renderer = TextRenderer(load_catalog(macros_with_extra_templates))
    assert not renderer.is_fact_free("force_reconnect", "zz_lipsum.j2")
    assert not renderer.is_fact_free("force_reconnect", "zz_shadow.j2")
    assert not renderer.is_fact_free("force_reconnect", "no_such_template.j2")


def test_a_cached_text_hands_out_its_own_placeholder_list():
    renderer = load_repo_renderer()
    guide = catalog.guide("force_reconnect")
    prepared = renderer.prepare(guide, {}, OPTIONS.admin_call_url)
    body, first = renderer.render_prepared("memo_history_links.j2", prepared)
    first.append(TextPlaceholder(start=0, end=0, kind="fact", name="intruder"))
    assert renderer.render_prepared("memo_history_links.j2", prepared) == (body, first[:-1])


def test_the_narrowed_context_agrees_with_the_full_one():
    ticket = _parse(
        {"consult_type": "parking_integration_onsite_payment", "onsite_amount": 30000, "prior": 0}
    )
    guide = catalog.guide("parking_onsite_payment")
    read = load_repo_renderer().facts_read(guide.id)
    assert read is not None
    assert "coupon_amount" in read.derived
    narrow = FactEnv(guide, ticket, catalog).known_values(read)
    full = FactEnv(guide, ticket, catalog).known_values()
    assert set(narrow) == set(read.fields) | set(read.derived)
    assert narrow == {name: full[name] for name in narrow}


# ----------------------------------------------------------------------------- sandbox


class _Record:
    title = "t"

    def method(self) -> None:
        """A method."""


def _function() -> None:
    """A function."""


OBJECTS: list[Any] = [[], {}, set(), "text", _Record(), _Record().method, _function, _Record]
ATTRIBUTES = [
    "append",
    "clear",
    "pop",
    "update",
    "add",
    "keys",
    "items",
    "upper",
    "format",
    "title",
    "mro",
    "_private",
    "__class__",
    "__globals__",
    "__func__",
    "__code__",
]


@pytest.mark.parametrize("obj", OBJECTS, ids=lambda o: type(o).__name__)
def test_remembered_attribute_verdicts_are_the_sandbox_verdicts(obj):
    reference = ImmutableSandboxedEnvironment()
    remembering = GuideSandbox()
    for _round in range(2):  # cold, then from memory
        for attr in ATTRIBUTES:
            value = getattr(obj, attr, None)
            assert remembering.is_safe_attribute(obj, attr, value) == (
                reference.is_safe_attribute(obj, attr, value)
            ), (obj, attr)


@pytest.mark.parametrize(
    "source", ["{{ blocks.append('x') }}", "{{ guide.__class__ }}", "{{ blocks.pop() }}"]
)
def test_the_sandbox_still_refuses_after_remembering(source):
    env = GuideSandbox(undefined=StrictUndefined)  # as the renderer's: unsafe reads raise
    template = env.from_string(source)
    for _round in range(3):
        with pytest.raises(Exception, match=r"unsafe|not safely callable|has no attribute"):
            template.render(blocks=["a"], guide=_Record())


def test_a_guide_template_cannot_mutate_the_context(macros_with_extra_templates):
    templates = macros_with_extra_templates / "force_reconnect" / "templates"
    (templates / "zz_mutate.j2").write_text("{{ denominations.append(1) }}", encoding="utf-8")
    custom = load_catalog(macros_with_extra_templates)
    renderer = TextRenderer(custom)
    prepared = renderer.prepare(custom.guide("force_reconnect"), {}, OPTIONS.admin_call_url)
    for _round in range(2):
        with pytest.raises(GuideDataError, match="zz_mutate"):
            renderer.render_prepared("zz_mutate.j2", prepared)


# ------------------------------------------------------------------ placeholder frames

_OPEN, _SEP, _BODY, _CLOSE = MARK_OPEN, MARK_SEP, MARK_BODY, MARK_CLOSE
_MARK_RE = re.compile(f"{_OPEN}([a-z]+){_SEP}([^{_BODY}]*){_BODY}([^{_CLOSE}]*){_CLOSE}")
_ANY_MARK = re.compile(f"[{_OPEN}{_SEP}{_BODY}{_CLOSE}]")


def reference_unmark(text: str) -> tuple[str, list[TextPlaceholder]]:
    """The regex version `unmark` replaced."""
    plain: list[str] = []
    found: list[TextPlaceholder] = []
    length = last = 0
    for match in _MARK_RE.finditer(text):
        before = text[last : match.start()]
        plain.append(before)
        length += len(before)
        body = match.group(3)
        kind: Any = match.group(1)
        found.append(
            TextPlaceholder(start=length, end=length + len(body), kind=kind, name=match.group(2))
        )
        plain.append(body)
        length += len(body)
        last = match.end()
    plain.append(text[last:])
    return _ANY_MARK.sub("", "".join(plain)), found


@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(MARK_PIECES, max_size=8))
def test_unmark_finds_what_the_regex_scan_found(pieces):
    text = "".join(pieces)
    assert unmark(text) == reference_unmark(text)


# ------------------------------------------------------------------------- fact tests


def reference_answer(
    op: str,
    operand: Any,
    value: Any,
    needs: tuple[str, ...],
    fact: str,
    lookup: Callable[[str], tuple[Any, tuple[str, ...]]],
) -> Outcome:
    """The if-chain FactTest.evaluate had before its ops were tested in line."""

    def known(flag: bool) -> Outcome:
        return YES if flag else Outcome(Tri.NO)

    if op == "is_unknown":
        return known((value is None) == bool(operand))
    if op == "is_known":
        return known((value is not None) == bool(operand))
    if op == "not_yet":
        return known(value is None or value != operand)
    if value is None:
        return Outcome(Tri.UNKNOWN, needs or (fact,))
    if op == "is":
        return known(value == operand)
    if op == "is_not":
        return known(value != operand)
    if op == "in":
        return known(value in operand)
    if op == "not_in":
        return known(value not in operand)
    other = operand
    if isinstance(other, FactRef):
        other, other_needs = lookup(other.fact)
        if other is None:
            return Outcome(Tri.UNKNOWN, other_needs or (operand.fact,))
    compare = {
        "lt": lambda a, b: a < b,
        "le": lambda a, b: a <= b,
        "gt": lambda a, b: a > b,
        "ge": lambda a, b: a >= b,
    }[op]
    return known(bool(compare(value, other)))


_SCALARS = st.sampled_from([None, 0, 1, 5, True, False, "a", "b"])


@settings(max_examples=500, deadline=None)
@given(
    op=st.sampled_from(
        [
            "is",
            "is_not",
            "in",
            "not_in",
            "is_known",
            "is_unknown",
            "not_yet",
            "lt",
            "le",
            "gt",
            "ge",
        ]
    ),
    value=_SCALARS,
    operand=_SCALARS,
    other=st.sampled_from([None, 0, 3, 9]),
    needs=st.sampled_from([(), ("entry_time",), ("a", "b")]),
    by_ref=st.booleans(),
)
def test_fact_tests_answer_as_the_if_chain_did(op, value, operand, other, needs, by_ref):
    numeric = op in {"lt", "le", "gt", "ge"}
    if numeric:
        value = value if isinstance(value, int) or value is None else 2
        operand = {"fact": "other"} if by_ref else (operand if isinstance(operand, int) else 4)
    elif op in {"in", "not_in"}:
        operand = [operand, "z"]
    facts = {"subject": (value, needs if value is None else ()), "other": (other, ())}
    lookup = facts.__getitem__
    test = compile_condition({"fact": "subject", op: operand})
    assert isinstance(test, FactTest)
    expected = reference_answer(test.op, test.operand, *facts["subject"], "subject", lookup)
    assert test.evaluate(lookup) == expected
