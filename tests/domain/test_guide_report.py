"""The editor's report of `guides check`: each remark's kind, severity, file, line and words."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from macros_copies import keep_only_guide

from backend.cli import main
from backend.domain.conditions import Tri, compile_condition
from backend.domain.guide_lint import Finding
from backend.domain.guide_report import (
    bare_reads,
    derived_inputs,
    no_known,
    report_guides,
    yes_known,
)
from backend.domain.guides import GuideCatalog, load_catalog

ROOT = Path(__file__).resolve().parents[2]
GUIDE = "force_reconnect"


def edited_macros(tmp_path: Path, edits: dict[str, tuple[str, str]]) -> Path:
    """A copy of macros/ with each file's `old` text replaced once by `new`."""
    target = tmp_path / "macros"
    shutil.copytree(ROOT / "macros", target)
    for relative, (old, new) in edits.items():
        path = target / relative
        text = path.read_text(encoding="utf-8")
        assert old in text, old
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


def line_of_text(path: Path, needle: str) -> int:
    """The 1-based line of the first occurrence of `needle` in a file."""
    text = path.read_text(encoding="utf-8")
    return text[: text.index(needle)].count("\n") + 1


def remarks(macros: Path, kind: str) -> list[Finding]:
    return [f for f in report_guides(load_catalog(macros)) if f.kind == kind]


# --- the real guides ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_report(catalog: GuideCatalog) -> list[Finding]:
    return report_guides(catalog)


def test_real_guides_have_no_error(real_report: list[Finding]) -> None:
    assert [f for f in real_report if f.severity == "error"] == []


def test_real_placeholder_setting_is_a_warning_at_its_line(real_report: list[Finding]) -> None:
    path = ROOT / "macros" / GUIDE / "guide.yaml"
    [found] = [f for f in real_report if f.kind == "placeholder_setting"]
    assert (found.severity, found.file, found.line) == (
        "warning",
        str(path),
        line_of_text(path, '  situation_room_phone: "000-0000-0000"'),
    )
    assert "설정 필요" in found.ko
    assert "situation_room_phone" in found.en


def test_texts_not_from_the_article_are_counted_per_guide(
    real_report: list[Finding], catalog: GuideCatalog
) -> None:
    infos = {f.file: f for f in real_report if f.kind == "not_from_article"}
    for guide in catalog.guides.values():
        keys = {t.key for b in guide.branches.values() for t in b.texts if not t.from_seed}
        found = infos[str(ROOT / "macros" / guide.id / "guide.yaml")]
        assert found.severity == "info"
        assert f"{len(keys)} text(s) not from the article" in found.en
        assert f"아티클에 없는 문구 {len(keys)}개" in found.ko
        assert all(key in found.en for key in keys)


def test_real_unused_field_is_named_where_it_is_declared(real_report: list[Finding]) -> None:
    # trip_number: the agent asks for it (Q1 ②) but no rule, check or text reads it.
    unused = {(Path(f.file).name, f.line) for f in real_report if f.kind == "unused_field"}
    fields = ROOT / "macros" / "fields.yaml"
    assert ("fields.yaml", line_of_text(fields, "  trip_number:")) in unused
    assert ("guide.yaml", line_of_text(ROOT / "macros" / GUIDE / "guide.yaml", "trip_number,")) in (
        unused
    )
    assert len(unused) == 2


# --- unreachable texts (errors) ---------------------------------------------------------------

EMPATHY = "outcomes: [pending], asks: [identity_verified]}\n      - {key: q1.2.trip_info"
BLOCK_TEXT = "on_blocks: [identity_not_verified]}\n  reconnect.partner_situation_room:"
ASK_FARE = "template: q1_5_ask_fare_change.j2, outcomes: [pending], asks: [fare_adjustment]}"
UNREACHABLE = {
    # The row acts (action: true), but an eligible decision has nothing missing to ask.
    "a question on an eligible decision": (
        ASK_FARE,
        ASK_FARE.replace("[pending]", "[eligible]"),
        "{key: q1.5.ask_fare_change",
        "`asks` under outcome eligible",
    ),
    "a block response the branch cannot raise": (
        BLOCK_TEXT,
        BLOCK_TEXT.replace("[identity_not_verified]", "[customer_refused]"),
        "{key: block.identity_not_verified",
        "none of its `on_blocks` can be raised",
    ),
    "a block response excluded by not_on_blocks": (
        BLOCK_TEXT,
        BLOCK_TEXT.replace("]}", "], not_on_blocks: [identity_not_verified]}"),
        "{key: block.identity_not_verified",
        "none of its `on_blocks` can be raised",
    ),
    "an eligible script on a branch that never acts": (
        EMPATHY,
        EMPATHY.replace("[pending], asks: [identity_verified]", "[eligible]"),
        "{key: q1.1.empathy",
        "its outcomes cannot happen on this branch",
    ),
}


@pytest.mark.parametrize("case", sorted(UNREACHABLE))
def test_unreachable_text_is_an_error_at_the_text(tmp_path: Path, case: str) -> None:
    old, new, needle, why = UNREACHABLE[case]
    macros = edited_macros(tmp_path, {f"{GUIDE}/guide.yaml": (old, new)})
    path = macros / GUIDE / "guide.yaml"
    [found] = remarks(macros, "unreachable_text")
    assert (found.severity, found.file, found.line) == (
        "error",
        str(path),
        line_of_text(path, needle),
    )
    assert why in found.en
    assert "어떤 경우에도 제시되지 않습니다" in found.ko


def test_a_branch_no_row_chooses_has_unreachable_texts(tmp_path: Path) -> None:
    old = "  reconnect.partner_situation_room:\n"
    macros = edited_macros(
        tmp_path,
        {
            f"{GUIDE}/guide.yaml": (
                old,
                "  reconnect.orphan:\n    label: {ko: 고아, en: Orphan}\n    texts:\n"
                "      - {key: orphan.text, kind: reply, title: x, template: q1_1_empathy.j2}\n"
                + old,
            )
        },
    )
    [found] = remarks(macros, "unreachable_text")
    assert found.line == line_of_text(macros / GUIDE / "guide.yaml", "{key: orphan.text")
    assert "no row chooses this branch" in found.en


# --- facts a template prints bare where they may be unknown (warnings) ------------------------

TRIP_NUMBER = f"{GUIDE}/templates/q1_2_trip_number.j2"
BLOCK_TEMPLATE = f"{GUIDE}/templates/block_identity_not_verified.j2"


def appended(relative: str, line: str) -> dict[str, tuple[str, str]]:
    text = (ROOT / "macros" / relative).read_text(encoding="utf-8")
    return {relative: (text, text.rstrip("\n") + "\n" + line + "\n")}


def test_a_bare_fact_that_may_be_unknown_is_a_warning_at_the_template_line(tmp_path: Path) -> None:
    macros = edited_macros(tmp_path, appended(TRIP_NUMBER, "운행번호: {{ trip_number }}"))
    template = macros / TRIP_NUMBER
    [found] = remarks(macros, "unguarded_fact")
    assert (found.severity, found.file) == ("warning", str(template))
    assert found.line == line_of_text(template, "운행번호: {{")
    assert "'trip_number' may be unknown where text 'q1.2.trip_number'" in found.en
    assert "'trip_number'가 비어 있을 수 있는데" in found.ko
    # The template now reads trip_number: it is no longer unused.
    assert remarks(macros, "unused_field") == []


@pytest.mark.parametrize(
    "line",
    [
        '{{ trip_number | or_blank("OOO", "trip_number") }}',
        "{% if trip_number %}{{ trip_number }}{% endif %}",
        "{% if trip_number is not none %}{{ trip_number }}{% endif %}",
        "{{ trip_number if trip_number else '' }}",
        "{{ (trip_number if trip_number else departure) | or_blank('OOO', 'x') }}",
    ],
)
def test_a_fact_behind_a_placeholder_or_a_test_is_fine(tmp_path: Path, line: str) -> None:
    macros = edited_macros(tmp_path, appended(TRIP_NUMBER, line))
    assert remarks(macros, "unguarded_fact") == []


def test_a_fact_the_raised_block_proves_known_is_fine(tmp_path: Path) -> None:
    # block.identity_not_verified is offered only when identity_verified is false (known).
    macros = edited_macros(tmp_path, appended(BLOCK_TEMPLATE, "{{ identity_verified }}"))
    assert remarks(macros, "unguarded_fact") == []


def test_a_fact_the_row_leaves_open_is_reported(tmp_path: Path) -> None:
    # The question texts of the same row are offered while identity_verified is unknown.
    macros = edited_macros(tmp_path, appended(TRIP_NUMBER, "{{ identity_verified }}"))
    assert [f.en.split("'")[1] for f in remarks(macros, "unguarded_fact")] == ["identity_verified"]


def test_bare_reads_sees_through_expressions() -> None:
    source = (
        "{{ a }}\n{{ b | won('b') }}\n{{ c | josa('은') }}\n{% for p in d %}{{ p }}{% endfor %}"
    )
    assert [name for name, _ in bare_reads(source)] == ["a", "c", "d", "p"]
    assert bare_reads("{{ call_link(x) }}{{ situation_room(y) }}") == []
    macro = '{% macro m(v) %}{{ v }}{% endmacro %}{% from "_lot.j2" import lot_name %}'
    assert bare_reads(macro + "{{ lot_name(parking_lot) }}") == []


# --- unused fields ------------------------------------------------------------------------------


def test_a_field_no_guide_reads_is_a_warning_at_its_declaration(tmp_path: Path) -> None:
    old = "fields:\n"
    new = "fields:\n  spare_note:\n    type: text\n    label: {ko: 메모, en: Note}\n"
    macros = edited_macros(tmp_path, {"fields.yaml": (old, new)})
    found = [f for f in remarks(macros, "unused_field") if "spare_note" in f.en]
    assert [(f.severity, f.file, f.line) for f in found] == [
        ("warning", str(macros / "fields.yaml"), line_of_text(macros / "fields.yaml", "spare_note"))
    ]
    assert "필드 'spare_note'를 읽는 가이드가 없습니다" in found[0].ko


def test_a_derived_fact_counts_its_inputs_as_read() -> None:
    assert derived_inputs("difference", {}) >= {
        "onsite_amount",
        "ticket_price",
        "overtime",
        "overtime_fee",
    }
    assert derived_inputs("implied_call_type", {}) == {"consult_type"}


# --- the command --------------------------------------------------------------------------------


def only_force_reconnect(macros: Path) -> Path:
    return keep_only_guide(macros, "force_reconnect")  # the parking proof is slow


def test_guides_check_json_passes_with_warnings(tmp_path: Path) -> None:
    macros = only_force_reconnect(edited_macros(tmp_path, {}))
    out = io.StringIO()
    args = ["guides", "check", "--guides-dir", str(macros), "--format", "json"]
    assert main(args, out=out, err=io.StringIO()) == 0
    document = json.loads(out.getvalue())
    assert document["ok"] is True
    assert document["problems"] == []
    kinds = {f["kind"]: f["severity"] for f in document["findings"]}
    assert kinds["placeholder_setting"] == "warning"
    assert kinds["not_from_article"] == "info"
    assert "error" not in kinds.values()
    assert any(line.startswith("force_reconnect:") for line in document["report"])


def test_guides_check_fails_on_an_unreachable_text(tmp_path: Path) -> None:
    old, new, needle, _why = UNREACHABLE["a question on an eligible decision"]
    macros = only_force_reconnect(edited_macros(tmp_path, {f"{GUIDE}/guide.yaml": (old, new)}))
    path = macros / GUIDE / "guide.yaml"
    out, err = io.StringIO(), io.StringIO()
    assert main(["guides", "check", "--guides-dir", str(macros)], out=out, err=err) == 1
    assert f"guides check: {path}:{line_of_text(path, needle)}: 문구 'q1.5.ask_fare_change'" in (
        err.getvalue()
    )
    assert f"guides check: warning: {path}:" in out.getvalue()  # the placeholder setting
    assert "FAILED (1 problem(s))" in err.getvalue()


# --- the static rules are sound (property) ------------------------------------------------------

FACT_NAMES = ("a", "b", "c")
VALUES = st.one_of(st.none(), st.integers(0, 2))
TESTS = st.one_of(
    st.builds(lambda f, v: {"fact": f, "is": v}, st.sampled_from(FACT_NAMES), st.integers(0, 2)),
    st.builds(lambda f, v: {"fact": f, "in": [v]}, st.sampled_from(FACT_NAMES), st.integers(0, 2)),
    st.builds(
        lambda f, v: {"fact": f, "not_yet": v}, st.sampled_from(FACT_NAMES), st.integers(0, 2)
    ),
    st.builds(lambda f, g: {"fact": f, "lt": {"fact": g}}, *[st.sampled_from(FACT_NAMES)] * 2),
    st.builds(
        lambda f, op, flag: {"fact": f, op: flag},
        st.sampled_from(FACT_NAMES),
        st.sampled_from(["is_known", "is_unknown"]),
        st.booleans(),
    ),
)
CONDITIONS = st.recursive(
    TESTS,
    lambda inner: st.one_of(
        st.builds(lambda parts: {"all": parts}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda parts: {"any": parts}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda part: {"not": part}, inner),
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None, database=None)
@given(CONDITIONS, st.fixed_dictionaries({name: VALUES for name in FACT_NAMES}))
def test_what_a_yes_or_a_no_proves_known_is_known(
    raw: dict[str, Any], values: dict[str, Any]
) -> None:
    outcome = compile_condition(raw).evaluate(lambda name: (values[name], ()))
    if outcome.value is Tri.YES:
        assert all(values[name] is not None for name in yes_known(raw)), raw
    if outcome.value is Tri.NO:
        assert all(values[name] is not None for name in no_known(raw)), raw
