"""`guides graph`: rows in order, conditions on edges, outcome colours, escaping; docs in sync."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter
from table_helpers import load_repo_catalog

from backend.cli import main
from backend.domain.graph import (
    _text_width,
    condition_text,
    guide_mermaid,
    guide_svg,
    row_outcome,
    wrap,
)
from backend.domain.guides import Guide, Row

ROOT = Path(__file__).resolve().parents[2]
GUIDES = ("force_reconnect", "parking_onsite_payment")
SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize("guide_id", GUIDES)
@pytest.mark.parametrize(("fmt", "suffix"), [("svg", "svg"), ("mermaid", "mmd")])
def test_docs_pictures_are_regenerated_identically(guide_id: str, fmt: str, suffix: str) -> None:
    out = io.StringIO()
    assert main(["guides", "graph", guide_id, "--format", fmt], out=out, err=io.StringIO()) == 0
    committed = (ROOT / "docs" / "guides" / f"{guide_id}.{suffix}").read_text(encoding="utf-8")
    assert out.getvalue() == committed, f"run: guidepost guides graph {guide_id} --format {fmt}"


def test_cli_writes_the_out_file(tmp_path: Path) -> None:
    target = tmp_path / "g.mmd"
    args = ["guides", "graph", "force_reconnect", "--format", "mermaid", "--out", str(target)]
    assert main(args, out=io.StringIO(), err=io.StringIO()) == 0
    assert target.read_text(encoding="utf-8").startswith("flowchart TD\n")


def test_cli_unknown_guide_fails() -> None:
    err = io.StringIO()
    assert main(["guides", "graph", "nope"], out=io.StringIO(), err=err) == 1
    assert "unknown guide 'nope'" in err.getvalue()


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (None, "always"),
        ({"fact": "a", "is": True}, "a = true"),
        ({"fact": "a", "is_not": "x"}, "a ≠ x"),
        ({"fact": "a", "in": ["x", "y"]}, "a ∈ {x, y}"),
        ({"fact": "a", "not_in": ["x"]}, "a ∉ {x}"),
        ({"fact": "a", "le": 0}, "a ≤ 0"),
        ({"fact": "a", "ge": {"fact": "b"}}, "a ≥ b"),
        ({"fact": "a", "is_unknown": True}, "a unknown"),
        ({"fact": "a", "is_known": True}, "a known"),
        ({"fact": "a", "not_yet": "agreed"}, "a not yet agreed"),
        (
            {
                "all": [
                    {"fact": "a", "is": 1},
                    {"any": [{"fact": "b", "is": 2}, {"fact": "c", "is": 3}]},
                ]
            },
            "a = 1 and (b = 2 or c = 3)",
        ),
        ({"not": {"fact": "a", "is": 1}}, "not (a = 1)"),
    ],
)
def test_condition_text(raw: object, text: str) -> None:
    assert condition_text(raw) == text


def _row(**fields: object) -> Row:
    return TypeAdapter(Row).validate_python({"when": None, "branch": "b", **fields})


def test_row_outcome_rule() -> None:
    assert row_outcome(_row(blocks=[{"id": "x"}], action=True)) == "blocked"
    assert row_outcome(_row(blocks=[{"id": "x", "when": {"fact": "a", "is": 1}}])) == "pending"
    assert row_outcome(_row(action=True, collect=["a"])) == "pending"
    assert row_outcome(_row()) == "pending"
    assert row_outcome(_row(action=True)) == "eligible"
    assert row_outcome(_row(action=True, blocks=[{"id": "x", "when": {"fact": "a", "is": 1}}])) == (
        "eligible"
    )


@pytest.mark.parametrize("guide_id", GUIDES)
def test_mermaid_lists_every_row_in_order_with_its_condition(guide_id: str) -> None:
    catalog = load_repo_catalog()
    guide = catalog.guide(guide_id)
    text = guide_mermaid(guide, catalog.labels)
    tests = [int(n) for n in re.findall(r"^  R(\d+)\{\{", text, flags=re.M)]
    assert tests == list(range(1, len(guide.rows) + 1))
    for number, row in enumerate(guide.rows, start=1):
        shown = condition_text(row.when).replace(">", "#gt;").replace("<", "#lt;")
        assert f'  R{number} -->|"{shown}"| B{number}' in text
        assert f'B{number}["{row.branch}<br/>' in text
    for outcome in ("eligible", "blocked", "pending"):
        members = re.search(rf"^  class (\S+) {outcome}$", text, flags=re.M)
        assert members, outcome
        expected = [f"B{i}" for i, row in enumerate(guide.rows, 1) if row_outcome(row) == outcome]
        assert members.group(1).split(",") == expected
    for block in guide.block_ids():
        assert f"block: {block}" in text or block in text.split("final checks: ")[-1]
    for notice in guide.notice_ids():
        assert f"notice: {notice}" in text


@pytest.mark.parametrize("guide_id", GUIDES)
def test_svg_is_wellformed_and_colours_each_row(guide_id: str) -> None:
    catalog = load_repo_catalog()
    guide = catalog.guide(guide_id)
    tree = ET.fromstring(guide_svg(guide, catalog.labels))  # noqa: S314 - our own output
    texts = ["".join(t.itertext()) for t in tree.iter(f"{SVG}text")]
    for number in range(1, len(guide.rows) + 1):
        assert f"row {number}" in texts
    fills = [r.get("fill") for r in tree.iter(f"{SVG}rect")]
    assert fills.count("#f9d9d9") - 1 == sum(row_outcome(r) == "blocked" for r in guide.rows)
    assert fills.count("#d8f0dc") - 1 == sum(row_outcome(r) == "eligible" for r in guide.rows)


def _hostile_guide() -> Guide:
    base = load_repo_catalog().guide("force_reconnect")
    row = replace(base.rows[1], branch=base.rows[1].branch)
    title = 'A <script>alert("x")</script> & co'
    return replace(base, title=title, rows=(row,))


def test_user_text_is_escaped_in_svg_and_mermaid() -> None:
    guide = _hostile_guide()
    svg = guide_svg(guide, {})
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    ET.fromstring(svg)  # noqa: S314 - our own output
    mermaid = guide_mermaid(guide, {})
    assert "<script>" not in mermaid
    assert '("x")' not in mermaid
    assert "#lt;script#gt;alert(#quot;x#quot;)" in mermaid


def test_highlight_thickens_only_the_branch_boxes() -> None:
    catalog = load_repo_catalog()
    guide = catalog.guide("force_reconnect")
    plain = guide_svg(guide, catalog.labels)
    lit = guide_svg(guide, catalog.labels, highlight_branch="reconnect.together.no_fare_change")
    assert 'stroke-width="4"' not in plain
    assert lit.count('stroke-width="4"') == 2  # two rows choose that branch


def test_wrap_fits_width_and_keeps_every_character() -> None:
    text = "고객과 함께 있는지 확인 customer_presence_is_a_very_long_identifier_without_spaces"
    lines = wrap(text, 120)
    assert len(lines) > 1
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=80))
def test_any_title_stays_escaped_text(title: str) -> None:
    guide = replace(_hostile_guide(), title=title)
    svg = guide_svg(guide, {})
    tree = ET.fromstring(svg)  # noqa: S314 - our own output
    assert len(tree.findall(f"{SVG}script")) == 0
    for line in guide_mermaid(guide, {}).splitlines():
        assert line.count('"') % 2 == 0  # quotes in labels are entities, never raw


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab 가나_"), max_size=120), st.integers(20, 400))
def test_wrapped_pieces_fit_unless_one_character(text: str, width: int) -> None:
    for piece in wrap(text, width):
        assert len(piece) <= 1 or _text_width(piece) <= width
