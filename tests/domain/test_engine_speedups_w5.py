"""Wave 5 engine shortcuts answer as the plain paths they replace (issue 16, item 2).

Compiled condition closures against the Kleene definitions, the sandbox's one-call
`getattr` against Jinja's, the placeholder-free `plain_text` against `unmark`, and a
render context made without Jinja's per-render globals walk against `Template.render`.
"""

from __future__ import annotations

import pickle
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import DictLoader, StrictUndefined, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from mark_pieces import MARK_PIECES
from table_helpers import load_repo_catalog, load_repo_renderer

from backend.domain.conditions import (
    NO,
    YES,
    AllOf,
    Always,
    AnyOf,
    Condition,
    FactRef,
    FactTest,
    Not,
    Outcome,
    Tri,
    compile_condition,
)
from backend.domain.engine import FactEnv
from backend.domain.facts import facts_json, parse_input
from backend.domain.fields import FieldCatalog, FieldDef
from backend.domain.render import TextRenderer
from backend.domain.render_filters import GuideSandbox, plain_text, unmark
from backend.domain.writeback import TAG_CHARS, TAG_SLOT, render_tag, tag_slots
from backend.errors import GuideDataError, InputError

catalog = load_repo_catalog()

# ------------------------------------------------------------------ compiled conditions

_FACTS = ["a", "b", "c"]
_VALUES = [None, 0, 1, 5, "x"]


def _leaf() -> st.SearchStrategy[dict[str, Any]]:
    scalar = st.sampled_from([0, 1, 5, "x"])
    return st.one_of(
        st.builds(
            lambda fact, op, operand: {"fact": fact, op: operand},
            st.sampled_from(_FACTS),
            st.sampled_from(["is", "is_not", "not_yet"]),
            scalar,
        ),
        st.builds(
            lambda fact, op, operand: {"fact": fact, op: operand},
            st.sampled_from(_FACTS),
            st.sampled_from(["in", "not_in"]),
            st.lists(scalar, min_size=1, max_size=3),
        ),
        st.builds(
            lambda fact, op, flag: {"fact": fact, op: flag},
            st.sampled_from(_FACTS),
            st.sampled_from(["is_known", "is_unknown"]),
            st.booleans(),
        ),
        st.builds(
            lambda fact, op, operand: {"fact": fact, op: operand},
            st.sampled_from(_FACTS),
            st.sampled_from(["lt", "le", "gt", "ge"]),
            st.one_of(
                st.sampled_from([0, 1, 5]), st.sampled_from(_FACTS).map(lambda f: {"fact": f})
            ),
        ),
    )


_CONDITIONS = st.recursive(
    _leaf(),
    lambda inner: st.one_of(
        st.builds(lambda parts: {"all": parts}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda parts: {"any": parts}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda part: {"not": part}, inner),
    ),
    max_leaves=8,
)


def kleene(condition: Condition, lookup: Any) -> Outcome:
    """The definitions the compiled closures implement, read from the condition's fields."""
    if isinstance(condition, Always):
        return YES
    if isinstance(condition, Not):
        inner = kleene(condition.part, lookup)
        return inner if inner.value is Tri.UNKNOWN else (NO if inner.value is Tri.YES else YES)
    if isinstance(condition, AllOf | AnyOf):
        stop, done = (Tri.NO, NO) if isinstance(condition, AllOf) else (Tri.YES, YES)
        first_unknown = None
        for part in condition.parts:
            outcome = kleene(part, lookup)
            if outcome.value is stop:
                return done
            if outcome.value is Tri.UNKNOWN and first_unknown is None:
                first_unknown = outcome
        return first_unknown or (YES if isinstance(condition, AllOf) else NO)
    assert isinstance(condition, FactTest)
    value, needs = lookup(condition.fact)
    op, operand = condition.op, condition.operand
    if op in {"is_known", "is_unknown", "not_yet"}:
        flag = {
            "is_known": (value is not None) == bool(operand),
            "is_unknown": (value is None) == bool(operand),
            "not_yet": value is None or value != operand,
        }[op]
        return YES if flag else NO
    if value is None:
        return Outcome(Tri.UNKNOWN, needs or (condition.fact,))
    if isinstance(operand, FactRef):
        operand, other_needs = lookup(operand.fact)
        if operand is None:
            return Outcome(Tri.UNKNOWN, other_needs or (condition.operand.fact,))
    flag = {
        "is": lambda: value == operand,
        "is_not": lambda: value != operand,
        "in": lambda: value in operand,
        "not_in": lambda: value not in operand,
        "lt": lambda: value < operand,
        "le": lambda: value <= operand,
        "gt": lambda: value > operand,
        "ge": lambda: value >= operand,
    }[op]()
    return YES if flag else NO


def _comparable(value: Any) -> bool:
    return value is None or isinstance(value, int)


@settings(max_examples=400, deadline=None)
@given(
    raw=_CONDITIONS,
    values=st.fixed_dictionaries({f: st.sampled_from(_VALUES) for f in _FACTS}),
    needs=st.sampled_from([(), ("waited",), ("p", "q")]),
)
def test_compiled_conditions_answer_as_the_kleene_definitions(raw, values, needs):
    condition = compile_condition(raw)
    facts = {name: (value, needs if value is None else ()) for name, value in values.items()}
    lookup = facts.__getitem__
    try:
        expected = kleene(condition, lookup)
    except TypeError:  # an order test between text and a number: both paths refuse it
        with pytest.raises(TypeError):
            condition.evaluate(lookup)
        return
    assert condition.evaluate(lookup) == expected
    # The class's own method (the plain path) and a pickled copy answer alike.
    assert type(condition).evaluate(condition, lookup) == expected
    copy = pickle.loads(pickle.dumps(condition))  # noqa: S301 - our own bytes
    assert copy == condition
    assert copy.evaluate(lookup) == expected


def test_every_guide_condition_survives_a_pickle_after_use():
    """The catalog cache pickles guides: compiled closures must not make that fail."""
    for guide in catalog.guides.values():
        for row in guide.rows:
            row.condition.evaluate(lambda name: (None, ()))
        copy = pickle.loads(pickle.dumps(guide.rows))  # noqa: S301 - our own bytes
        assert [row.condition for row in copy] == [row.condition for row in guide.rows]


# ----------------------------------------------------------------------------- sandbox


class _Record:
    title = "t"
    items: list[str] = ["x"]  # noqa: RUF012 - read-only fixture

    def method(self) -> str:
        """A method."""
        return "m"

    @property
    def broken(self) -> str:
        raise AttributeError("broken")


_OBJECTS: list[Any] = [
    [],
    {"title": "from item"},
    set(),
    "text {0}",
    "text {t}",
    _Record(),
    _Record().method,
    _Record,
    ("t",),
    3,
]
_ATTRIBUTES = [
    "append",
    "pop",
    "update",
    "add",
    "keys",
    "items",
    "title",
    "upper",
    "format",
    "format_map",
    "method",
    "broken",
    "missing",
    "_private",
    "__class__",
    "__globals__",
    "mro",
    "real",
]


def _call(function: Any, args: tuple[Any, ...]) -> tuple[str, Any]:
    try:
        return "value", function(*args)
    except Exception as exc:  # the failure itself is compared
        return "error", type(exc)


def _same(fast: Any, slow: Any) -> None:
    if isinstance(slow, Undefined):
        assert type(fast) is type(slow)
        assert fast._undefined_name == slow._undefined_name
        assert fast._undefined_hint == slow._undefined_hint
        assert fast._undefined_exception is slow._undefined_exception
    elif callable(slow) and getattr(slow, "__name__", "") in {"format", "format_map"}:
        # A wrapped str.format: a new function each time; it formats (or fails) alike.
        args: tuple[Any, ...] = ({"t": "a"},) if slow.__name__ == "format_map" else ("a",)
        assert _call(fast, args) == _call(slow, args)
    else:
        assert fast == slow


@pytest.mark.parametrize("obj", _OBJECTS, ids=lambda o: type(o).__name__)
def test_the_one_call_getattr_answers_as_the_sandbox(obj):
    reference = ImmutableSandboxedEnvironment()
    fast = GuideSandbox()
    for _round in range(2):  # cold, then with remembered verdicts
        for attr in _ATTRIBUTES:
            _same(fast.getattr(obj, attr), reference.getattr(obj, attr))


@pytest.mark.parametrize(
    "source",
    ["{{ '{0.__class__}'.format(x) }}", "{{ x.__class__ }}", "{{ x.items.append(1) }}"],
)
def test_the_one_call_getattr_still_refuses(source):
    env = GuideSandbox(undefined=StrictUndefined)
    for _round in range(2):
        with pytest.raises(Exception, match=r"unsafe|not safely callable|has no attribute"):
            env.from_string(source).render(x=_Record())


# ------------------------------------------------------------------ placeholder frames


@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(MARK_PIECES, max_size=8))
def test_plain_text_is_unmarks_text(pieces):
    text = "".join(pieces)
    assert plain_text(text) == unmark(text)[0]


# ------------------------------------------------------------------- render contexts

_TEMPLATES = {
    "macros.j2": "{% macro hello(n) %}hi {{ n }} {{ extra }}{% endmacro %}",
    "with_context.j2": "{% import 'macros.j2' as m with context %}{{ m.hello(name) }}",
    # Imported without context: the macro sees the importer's template globals (`extra`)
    # through the context's `globals_keys`, which the renderer now sets itself.
    "without_context.j2": "{% from 'macros.j2' import hello %}{{ hello(name) }}",
    "include.j2": "[{% include 'macros.j2' %}{{ name }}]",
    "loop.j2": "{% for x in items %}{{ loop.index }}{{ x }}{% endfor %}{{ range(2) | list }}",
}


@pytest.mark.parametrize("name", sorted(_TEMPLATES))
def test_a_render_context_renders_as_template_render(name):
    renderer = load_repo_renderer()
    own = GuideSandbox(loader=DictLoader(_TEMPLATES), undefined=StrictUndefined)
    compiled = own.get_template(name, globals={"extra": "E"})
    expected = compiled.render(name="n", items=["a", "b"])
    variables = {**compiled.globals, "name": "n", "items": ["a", "b"]}
    key = ("probe", name)
    renderer._templates[key] = compiled
    renderer._envs["probe"] = own
    try:
        for _round in range(2):
            assert renderer._render("probe", name, variables) == unmark(expected)
    finally:
        del renderer._templates[key], renderer._envs["probe"]
        renderer._contexts.pop(key, None)


# ----------------------------------------------------------------------- facts as JSON


def test_each_catalog_encodes_with_its_own_fields():
    """Encoders are kept per catalog: another catalog's options or types are never used."""
    narrow = FieldCatalog(
        [
            FieldDef(key="pick", type="dropdown", label_ko="선택", label_en="Pick", options={}),
            FieldDef(key="when", type="text", label_ko="언제", label_en="When"),
        ]
    )
    wide = FieldCatalog(
        [
            FieldDef(
                key="pick",
                type="dropdown",
                label_ko="선택",
                label_en="Pick",
                options={"a": catalog.fields.get("operator").options["kmpark"]},
            ),
            FieldDef(key="when", type="date", label_ko="언제", label_en="When"),
        ]
    )
    assert facts_json({"pick": "a"}, wide) == {"pick": "a"}
    with pytest.raises(InputError):
        facts_json({"pick": "a"}, narrow)
    assert facts_json({"when": " 2026-11-20 "}, narrow) == {"when": "2026-11-20"}
    assert facts_json({"when": date(2026, 11, 20)}, wide) == {"when": "2026-11-20"}
    for values, fields in (({"when": " x "}, narrow), ({"when": "2026-11-20"}, wide)):
        assert facts_json(values, fields) == fields.values_to_json(values)


# ------------------------------------------------------------------------------- tags


def reference_render_tag(template: str, value: Any) -> str | None:
    """The regex substitution `render_tag` did before its templates were split once."""
    filled: dict[str, str] = {}
    for name in tag_slots(template):
        found = value(name)
        if found is None:
            return None
        filled[name] = str(found)
    return TAG_SLOT.sub(lambda m: filled[m.group(1)], template)


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(
        st.one_of(
            st.sampled_from(["gp_", "x", "_", "-", "{", "}"]), st.just("{a}"), st.just("{b1}")
        ),
        max_size=6,
    ),
    a=st.sampled_from([None, 7, "k", "두 단어"]),
    b1=st.sampled_from([None, 0, "v_2"]),
)
def test_a_split_tag_template_fills_as_the_regex_did(pieces, a, b1):
    template = "".join(pieces)
    values = {"a": a, "b1": b1}
    expected = reference_render_tag(template, values.get)
    if expected is not None and not TAG_CHARS.fullmatch(expected):
        with pytest.raises(GuideDataError):
            render_tag(template, values.get)
    else:
        assert render_tag(template, values.get) == expected


# ------------------------------------------------------------------ lazy text contexts


@pytest.mark.parametrize("guide_id", sorted(catalog.guides))
def test_render_for_renders_every_template_as_the_full_context_does(guide_id):
    """A fact-free text is rendered without the facts' context; every other with it."""
    guide = catalog.guide(guide_id)
    lazy = TextRenderer(catalog)
    plain = load_repo_renderer()
    url = "https://admin.example/calls/{call_id}"
    ticket = parse_input(
        {"fields": {"consult_type": next(iter(guide.consult_types))}}, catalog.fields
    )
    values = FactEnv(guide, ticket, catalog).known_values()
    full = plain.prepare(guide, values, url)
    asked: list[str] = []

    def variables() -> dict[str, Any]:
        asked.append("yes")
        return full.variables

    names = [n for n in lazy._env(guide_id).list_templates() if not n.startswith("_")]
    assert names
    for name in names:
        if name == "note.j2":
            continue
        asked.clear()
        try:
            expected = plain._render(guide_id, name, full.variables)
        except GuideDataError:
            continue  # a template needing its caller's variables (a macro library)
        for _round in range(2):  # cold, then from the fact-free cache
            assert lazy.render_for(name, guide, url, variables) == expected, name
        assert bool(asked) != lazy.is_fact_free(guide_id, name), name
