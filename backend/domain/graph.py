"""A guide's decision table drawn as a flowchart: SVG (hand-written) and Mermaid text.

Rows are tried in order: each row is a test node; the edge to its branch carries the
row's `when` as short text, and "otherwise" leads to the next row. A branch box is
coloured by the outcome the row gives, derived from the row alone:
  - blocked:  the row raises a block with no condition of its own (it always blocks);
  - pending:  otherwise, the row collects facts (it waits for them), or it neither acts
              nor blocks (a question row);
  - eligible: otherwise, the row acts (`action: true`).
Conditional blocks, the guide's final checks (rows with `checks: true`) and notices are
attached to the branch box. Pure: no I/O, deterministic output (the docs test compares bytes).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any, Literal

from backend.domain.guides import Guide, Label, Row

GraphOutcome = Literal["eligible", "blocked", "pending"]
LabelBook = Mapping[str, Mapping[str, Label]]

_OPS = {
    "is": "=",
    "is_not": "≠",
    "in": "∈",
    "not_in": "∉",
    "lt": "<",
    "le": "≤",
    "gt": ">",
    "ge": "≥",
}
COLOURS: dict[GraphOutcome, tuple[str, str]] = {
    "eligible": ("#d8f0dc", "#2e7d32"),
    "blocked": ("#f9d9d9", "#c62828"),
    "pending": ("#fdf0c8", "#b7860b"),
}


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _plain(text: str) -> str:
    """The text without characters XML forbids, and on one line (a YAML value may hold any)."""
    return _NOT_XML.sub("\ufffd", " ".join(text.replace("\t", " ").splitlines()))


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping) and set(value) == {"fact"}:
        return str(value["fact"])
    if isinstance(value, (list, tuple)):
        return "{" + ", ".join(_value(v) for v in value) + "}"
    return str(value)


def condition_text(raw: Any) -> str:
    """A condition's YAML form as one short readable line ("always" when absent)."""
    if raw is None:
        return "always"
    if raw == "eligible":
        return "on every eligible decision"
    if not isinstance(raw, Mapping):
        return str(raw)
    for key, joiner in (("all", " and "), ("any", " or ")):
        if key in raw:
            parts = [condition_text(p) for p in raw[key]]
            nested = [f"({p})" if (" and " in p or " or " in p) else p for p in parts]
            return joiner.join(nested)
    if "not" in raw:
        return f"not ({condition_text(raw['not'])})"
    fact = raw.get("fact", "?")
    op, operand = next(((k, v) for k, v in raw.items() if k != "fact"), ("?", None))
    if op in _OPS:
        return f"{fact} {_OPS[op]} {_value(operand)}"
    if op == "is_known":
        return f"{fact} known" if operand else f"{fact} unknown"
    if op == "is_unknown":
        return f"{fact} unknown" if operand else f"{fact} known"
    if op == "not_yet":
        return f"{fact} not yet {_value(operand)}"
    return f"{fact} {op} {_value(operand)}"


def row_outcome(row: Row) -> GraphOutcome:
    """The outcome a row gives, by the rule in the module docstring."""
    if any(block.when is None for block in row.blocks):
        return "blocked"
    if row.collect or not row.action:
        return "pending"
    return "eligible"


@dataclass(frozen=True)
class Attachment:
    """A block, check group or notice hung on a branch box."""

    kind: Literal["block", "checks", "notice"]
    ident: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class GraphRow:
    """One row as drawn: its test, its branch box and what hangs on it."""

    number: int
    condition: str
    branch: str
    label: str
    outcome: GraphOutcome
    collects: tuple[str, ...]
    attachments: tuple[Attachment, ...]


def _label(labels: LabelBook, kind: str, ident: str) -> str:
    label = labels.get(kind, {}).get(ident)
    return label.ko if label else ""


def graph_rows(guide: Guide, labels: LabelBook) -> list[GraphRow]:
    """The rows of a guide as the pictures draw them."""
    rows = []
    for number, row in enumerate(guide.rows, start=1):
        label = row.label or guide.branches[row.branch].label
        attachments = []
        for block in row.blocks:
            when = "" if block.when is None else f"when {condition_text(block.when)}"
            text = (f"block: {block.id}", when, _label(labels, "blocks", block.id))
            attachments.append(Attachment("block", block.id, tuple(t for t in text if t)))
        if row.checks and guide.checks:
            ids = ", ".join(check.id for check in guide.checks)
            attachments.append(Attachment("checks", "checks", (f"final checks: {ids}",)))
        for notice in row.notices:
            said = (f"notice: {notice}", _label(labels, "notices", notice))
            attachments.append(Attachment("notice", notice, tuple(t for t in said if t)))
        rows.append(
            GraphRow(
                number=number,
                condition=condition_text(row.when),
                branch=row.branch,
                label=label.ko,
                outcome=row_outcome(row),
                collects=tuple(c.fact for c in row.collect),
                attachments=tuple(attachments),
            )
        )
    return rows


def guide_notice_lines(guide: Guide) -> list[str]:
    """The guide-wide notices (shown on any row when their condition holds), one line each."""
    return [f"notice: {n.id} — when {condition_text(n.when)}" for n in guide.notices]


def _branch_lines(row: GraphRow) -> list[str]:
    lines = [row.branch, row.label, f"→ {row.outcome}"]
    if row.collects:
        lines.append("collects: " + ", ".join(row.collects))
    return lines


# --- Mermaid -------------------------------------------------------------------------------


def _mermaid_text(lines: Sequence[str]) -> str:
    text = "<br/>".join(
        _plain(line)
        .replace("&", "#amp;")
        .replace('"', "#quot;")
        .replace("<", "#lt;")
        .replace(">", "#gt;")
        for line in lines
    )
    return f'"{text}"'


def guide_mermaid(guide: Guide, labels: LabelBook) -> str:
    """The guide's decision table as Mermaid `flowchart TD` text."""
    out = ["flowchart TD", f"  start([{_mermaid_text([guide.id, guide.title])}])"]
    rows = graph_rows(guide, labels)
    previous = "start"
    edge = ""
    for row in rows:
        test = f"R{row.number}"
        out.append(f"  {test}{{{{{_mermaid_text([f'row {row.number}'])}}}}}")
        out.append(f"  {previous} -->{edge} {test}")
        out.append(f"  B{row.number}[{_mermaid_text(_branch_lines(row))}]")
        out.append(f"  {test} -->|{_mermaid_text([row.condition])}| B{row.number}")
        for index, item in enumerate(row.attachments, start=1):
            node = f"B{row.number}_{index}"
            out.append(f"  {node}>{_mermaid_text(item.lines)}]")
            out.append(f"  B{row.number} -.- {node}")
            out.append(f"  class {node} {item.kind}")
        previous, edge = test, f"|{_mermaid_text(['otherwise'])}|"
    out.append(f"  {previous} -->{edge} none([{_mermaid_text(['no row: guides check fails'])}])")
    notices = guide_notice_lines(guide)
    if notices:
        out.append(f"  notices>{_mermaid_text(['notices on any row', *notices])}]")
        out.append("  class notices notice")
    for outcome, (fill, stroke) in COLOURS.items():
        out.append(f"  classDef {outcome} fill:{fill},stroke:{stroke},color:#000")
        members = ",".join(f"B{row.number}" for row in rows if row.outcome == outcome)
        if members:
            out.append(f"  class {members} {outcome}")
    out.append("  classDef block fill:#fff,stroke:#c62828,color:#000")
    out.append("  classDef checks fill:#fff,stroke:#c62828,stroke-dasharray:4,color:#000")
    out.append("  classDef notice fill:#fff,stroke:#1565c0,color:#000")
    return "\n".join(out) + "\n"


# --- SVG -------------------------------------------------------------------------------------

_LINE = 16
_PAD = 8
_CHAR = 6.6  # width of a narrow character at font-size 12; wide (CJK) ones count double
_TEST_X, _TEST_W = 20, 70
_COND_X, _COND_W = 100, 340
_BRANCH_X, _BRANCH_W = 450, 320
_ATTACH_X, _ATTACH_W = 800, 380
WIDTH = _ATTACH_X + _ATTACH_W + 20


def _text_width(text: str) -> float:
    return sum(_CHAR * (2 if unicodedata.east_asian_width(c) in "WF" else 1) for c in text)


def wrap(text: str, width: float) -> list[str]:
    """Split a line at spaces (or anywhere, for long words) so each piece fits `width` px."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if _text_width(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        for char in word:
            if _text_width(current + char) > width and current:
                lines.append(current)
                current = ""
            current += char
    if current or not lines:
        lines.append(current)
    return lines


def _wrapped(lines: Sequence[str], width: float) -> list[str]:
    return [piece for line in lines for piece in wrap(line, width - 2 * _PAD)]


def _svg_text(x: float, y: float, lines: Sequence[str], bold_first: bool = False) -> str:
    spans = []
    for index, line in enumerate(lines):
        weight = ' font-weight="bold"' if bold_first and index == 0 else ""
        said = escape(_plain(line))
        spans.append(f'<tspan x="{x:.0f}" dy="{_LINE if index else 0}"{weight}>{said}</tspan>')
    return f'<text x="{x:.0f}" y="{y:.0f}">{"".join(spans)}</text>'


def _box(x: float, y: float, w: float, h: float, fill: str, stroke: str, extra: str = "") -> str:
    return (
        f'<rect x="{x:.0f}" y="{y:.0f}" width="{w:.0f}" height="{h:.0f}" rx="6" '
        f'fill="{fill}" stroke="{stroke}"{extra}/>'
    )


def guide_svg(guide: Guide, labels: LabelBook, highlight_branch: str | None = None) -> str:
    """The guide's decision table as a standalone SVG; rows of `highlight_branch` stand out."""
    body: list[str] = []
    y = 20.0
    title = _wrapped([guide.title, f"{guide.id} · rows tried top to bottom"], WIDTH - 40)
    body.append(_svg_text(20, y + 14, title, bold_first=True))
    y += len(title) * _LINE + 16
    legend_x = 20.0
    for outcome, (fill, stroke) in COLOURS.items():
        body.append(_box(legend_x, y, 90, 22, fill, stroke))
        body.append(_svg_text(legend_x + 10, y + 15, [outcome]))
        legend_x += 100
    y += 40
    for row in graph_rows(guide, labels):
        fill, stroke = COLOURS[row.outcome]
        cond = _wrapped([row.condition], _COND_W)
        branch = _wrapped(_branch_lines(row), _BRANCH_W)
        attached = [_wrapped(item.lines, _ATTACH_W) for item in row.attachments]
        attach_h = sum(len(lines) * _LINE + 2 * _PAD + 6 for lines in attached)
        branch_h = len(branch) * _LINE + 2 * _PAD
        height = max(len(cond) * _LINE + 24, branch_h, attach_h - 6, 40)
        mid = y + 20
        highlighted = highlight_branch is not None and row.branch == highlight_branch
        extra = ' stroke-width="4"' if highlighted else ""
        body.append(_box(_TEST_X, y + 8, _TEST_W, 24, "#eceff1", "#455a64"))
        body.append(_svg_text(_TEST_X + 10, y + 25, [f"row {row.number}"]))
        body.append(
            f'<line x1="{_TEST_X + _TEST_W}" y1="{mid:.0f}" x2="{_BRANCH_X}" y2="{mid:.0f}" '
            f'stroke="#455a64" marker-end="url(#arrow)"/>'
        )
        body.append(_svg_text(_COND_X, mid + 16, cond))
        body.append(_box(_BRANCH_X, y, _BRANCH_W, branch_h, fill, stroke, extra))
        body.append(_svg_text(_BRANCH_X + _PAD, y + _PAD + 12, branch, bold_first=True))
        attach_y = y
        for item, lines in zip(row.attachments, attached, strict=True):
            h = len(lines) * _LINE + 2 * _PAD
            edge = "#1565c0" if item.kind == "notice" else "#c62828"
            dash = ' stroke-dasharray="4 3"' if item.kind == "checks" else ""
            body.append(
                f'<line x1="{_BRANCH_X + _BRANCH_W}" y1="{mid:.0f}" x2="{_ATTACH_X}" '
                f'y2="{attach_y + h / 2:.0f}" stroke="{edge}"{dash}/>'
            )
            body.append(_box(_ATTACH_X, attach_y, _ATTACH_W, h, "#ffffff", edge, dash))
            body.append(_svg_text(_ATTACH_X + _PAD, attach_y + _PAD + 12, lines))
            attach_y += h + 6
        next_y = y + height + 24
        body.append(
            f'<line x1="{_TEST_X + 35}" y1="{y + 32:.0f}" x2="{_TEST_X + 35}" '
            f'y2="{next_y + 8:.0f}" stroke="#455a64" marker-end="url(#arrow)"/>'
        )
        body.append(_svg_text(_TEST_X + 40, next_y - 4, ["otherwise"]))
        y = next_y
    body.append(_box(_TEST_X, y + 8, 260, 24, "#eceff1", "#455a64"))
    body.append(_svg_text(_TEST_X + 10, y + 25, ["no row matches: guides check fails"]))
    y += 52
    notices = _wrapped(
        ["notices on any row (when their condition holds)", *guide_notice_lines(guide)], WIDTH - 40
    )
    if guide.notices:
        h = len(notices) * _LINE + 2 * _PAD
        body.append(_box(20, y, WIDTH - 40, h, "#ffffff", "#1565c0"))
        body.append(_svg_text(20 + _PAD, y + _PAD + 12, notices, bold_first=True))
        y += h + 20
    height_total = y
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height_total:.0f}" '
        f'viewBox="0 0 {WIDTH} {height_total:.0f}" font-family="sans-serif" font-size="12">\n'
        f"<title>{escape(_plain(guide.id))}</title>\n"
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#455a64"/></marker></defs>\n'
        f'<rect width="{WIDTH}" height="{height_total:.0f}" fill="#ffffff"/>\n'
    )
    return head + "\n".join(body) + "\n</svg>\n"
