"""The editor's report of `guides check`: what a guide says that no ticket will ever see.

Each remark names where to fix it (file and line) and says it in Korean and English:

- unreachable texts (error): no row/outcome/asks/on_blocks combination offers the text;
- unguarded facts (warning): a template prints a fact that may be unknown where it is offered;
- placeholder settings (warning): a setting still at an example value ("설정 필요", ERRATA 2);
- texts not from the article (info): `from_seed: false`, counted per guide;
- unused fields (warning): declared (fields.yaml, a guide's `fields:`) but read by nothing.

Errors fail `guides check`; warnings and infos are printed and the check passes, so an ops
editor can ship a guide with an intentional placeholder. All of it is static (no path walk;
the checker's walk already proves every `when` holds somewhere): the reachability rules are
sound (a text reported unreachable is unreachable), the unguarded-fact rule is a sound
over-approximation within the text's own template file (it may warn about a fact the table
happens to guarantee, never misses one that file prints bare; macros imported from other
templates are trusted); see `known_when_offered` and `bare_reads`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, TemplateSyntaxError, nodes

from backend.domain.derived import DERIVED
from backend.domain.guide_lint import Finding, Loc, line_of
from backend.domain.guides import Guide, GuideCatalog, Row, TextSpec
from backend.domain.render_filters import is_placeholder_setting

# Filters and globals that print an unknown value as the article's placeholder (render.py).
PLACEHOLDER_FILTERS = frozenset({"won", "md", "md_hm", "hm", "or_blank", "split", "option"})
PLACEHOLDER_CALLS = frozenset({"call_link", "situation_room"})
_JINJA = Environment(trim_blocks=True, lstrip_blocks=True, autoescape=False)  # noqa: S701 - parse only


def yes_known(raw: Any) -> set[str]:
    """Facts a condition's *yes* proves known."""
    return _known(raw, want_yes=True)


def _known(raw: Any, want_yes: bool) -> set[str]:
    if not isinstance(raw, Mapping):
        return set()
    if "all" in raw or "any" in raw:
        parts = [_known(part, want_yes) for part in raw.get("all") or raw.get("any") or []]
        if not parts:
            return set()
        # all: yes needs every part yes; any: no needs every part no.
        union = ("all" in raw) == want_yes
        return set().union(*parts) if union else set.intersection(*parts)
    if "not" in raw:
        return _known(raw["not"], not want_yes)
    fact = raw.get("fact")
    ops = [op for op in raw if op != "fact"]
    if not isinstance(fact, str) or len(ops) != 1:
        return set()
    op, operand = ops[0], raw[ops[0]]
    if op in ("is_known", "is_unknown"):
        known = bool(operand) == (op == "is_known")
        return {fact} if known == want_yes else set()
    if op == "not_yet":  # yes when unknown; no only when known and equal
        return set() if want_yes else {fact}
    found = {fact}
    if isinstance(operand, Mapping) and isinstance(operand.get("fact"), str):
        found.add(operand["fact"])
    return found


def no_known(raw: Any) -> set[str]:
    """Facts a condition's *no* proves known."""
    return _known(raw, want_yes=False)


def raisable_blocks(guide: Guide, row: Row) -> set[str]:
    """Every block id a row can raise: its own blocks, and the guide's checks if it runs them."""
    ids = {block.id for block in row.blocks}
    if row.checks:
        ids |= {check.id for check in guide.checks}
    return ids


def offering_outcomes(guide: Guide, row: Row, text: TextSpec) -> list[str]:
    """The outcomes under which a row could offer the text (static, never too few)."""
    raisable = raisable_blocks(guide, row)
    outcomes: list[str] = []
    for outcome in text.outcomes:
        if outcome == "eligible":
            # Eligible: nothing is missing, so a question (`asks`) is never offered.
            if row.action and not text.asks:
                outcomes.append(outcome)
        elif outcome == "blocked":
            allowed = raisable - set(text.not_on_blocks)
            if text.on_blocks:
                allowed &= set(text.on_blocks)
            if allowed:
                outcomes.append(outcome)
        else:
            outcomes.append(outcome)
    return outcomes


def known_when_offered(guide: Guide, row: Row, text: TextSpec, outcome: str) -> set[str]:
    """Facts certainly known whenever this row offers the text under this outcome."""
    known = yes_known(row.when) | yes_known(text.when)
    if text.variants is not None and not text.variants.all_while_unknown:
        known.add(text.variants.by)
    if outcome == "eligible":
        known |= {collect.fact for collect in row.collect}
        known |= set().union(*(no_known(block.when) for block in row.blocks))
        if row.checks:
            known |= set().union(*(no_known(c.when) for c in guide.checks if c.applies is None))
            known |= {r.fact for r in guide.requires if r.when is None and not r.unless_known}
    elif outcome == "blocked" and text.on_blocks:
        # Offered only when one of its blocks is raised: that block's `when` (and a check's
        # `applies`) said yes.
        rules = {block.id: yes_known(block.when) for block in row.blocks}
        if row.checks:
            rules |= {c.id: yes_known(c.when) | yes_known(c.applies) for c in guide.checks}
        raised = [rules[b] for b in text.on_blocks if b in rules and b not in text.not_on_blocks]
        if raised:
            known |= set.intersection(*raised)
    return known


def _positive_names(test: nodes.Node) -> set[str]:
    """Names an `{% if %}` test proves not None in its body (x, x and y, x is not none)."""
    if isinstance(test, nodes.Name):
        return {test.name}
    if isinstance(test, nodes.And):
        return _positive_names(test.left) | _positive_names(test.right)
    if isinstance(test, nodes.Not) and isinstance(test.node, nodes.Test):
        inner = test.node
        if inner.name == "none" and isinstance(inner.node, nodes.Name):
            return {inner.node.name}
    return set()


def _callee(call: nodes.Call) -> str | None:
    return call.node.name if isinstance(call.node, nodes.Name) else None


def bare_reads(source: str) -> list[tuple[str, int]]:
    """Variables a template prints or computes with unguarded (a None there prints "None").

    Safe: a value piped into a placeholder filter, passed to call_link/situation_room or a
    macro imported from another template, read in an `if` test, or inside an `if` whose
    test proves it set. Macro bodies are skipped (their parameters are not facts).
    """
    found: list[tuple[str, int]] = []
    imported: set[str] = set()

    def visit(node: nodes.Node, guarded: frozenset[str], safe: bool) -> None:
        if isinstance(node, nodes.Macro):
            return
        if isinstance(node, nodes.FromImport):
            imported.update(n if isinstance(n, str) else n[1] for n in node.names)
            return
        if isinstance(node, nodes.Name):
            if node.ctx == "load" and not safe and node.name not in guarded:
                found.append((node.name, node.lineno))
            return
        if isinstance(node, nodes.Filter) and node.name in PLACEHOLDER_FILTERS:
            if node.node is not None:
                visit(node.node, guarded, True)
            for arg in [*node.args, *(kw.value for kw in node.kwargs)]:
                visit(arg, guarded, False)
            return
        if isinstance(node, nodes.Call) and _callee(node) in PLACEHOLDER_CALLS | imported:
            for arg in [*node.args, *(kw.value for kw in node.kwargs)]:
                visit(arg, guarded, True)
            return
        if isinstance(node, nodes.If | nodes.CondExpr):
            visit(node.test, guarded, True)
            inside = guarded | _positive_names(node.test)
            if isinstance(node, nodes.CondExpr):
                # An expression: both values go where the whole goes (e.g. into `won`).
                visit(node.expr1, inside, safe)
                if node.expr2 is not None:
                    visit(node.expr2, guarded, safe)
                return
            for child in node.body:
                visit(child, inside, False)
            for child in [*node.elif_, *node.else_]:
                visit(child, guarded, False)
            return
        if isinstance(node, nodes.Test):
            visit(node.node, guarded, True)
            return
        for child in node.iter_child_nodes():
            visit(child, guarded, safe)

    visit(_JINJA.parse(source), frozenset(), False)
    return found


class _GuideReport:
    """The remarks on one guide, with the composed YAML for line numbers."""

    def __init__(self, guide: Guide, catalog: GuideCatalog) -> None:
        self.guide, self.catalog = guide, catalog
        self.path = catalog.root / guide.id / "guide.yaml"
        self.root = yaml.compose(self.path.read_text("utf-8"), yaml.SafeLoader)
        self.found: list[Finding] = []

    def add(self, loc: Loc, severity: Any, kind: str, ko: str, en: str) -> None:
        line = line_of(self.root, loc) if self.root is not None else 1
        self.found.append(Finding(str(self.path), line, ko, en, severity, kind))

    def texts(self) -> Iterator[tuple[Loc, str, TextSpec]]:
        for branch_id, spec in self.guide.branches.items():
            for k, text in enumerate(spec.texts):
                yield ("branches", branch_id, "texts", k), branch_id, text

    def unreachable_texts(self) -> None:
        for loc, branch_id, text in self.texts():
            rows = [row for row in self.guide.rows if row.branch == branch_id]
            if any(offering_outcomes(self.guide, row, text) for row in rows):
                continue
            why = "no row chooses this branch" if not rows else _why_unreachable(text)
            self.add(
                loc,
                "error",
                "unreachable_text",
                f"문구 '{text.key}'는 어떤 경우에도 제시되지 않습니다 ({why})",
                f"unreachable text '{text.key}': never offered, {why}",
            )

    def unguarded_facts(self, facts: set[str]) -> None:
        templates = self.catalog.templates_dir(self.guide.id)
        for _loc, branch_id, text in self.texts():
            rows = [row for row in self.guide.rows if row.branch == branch_id]
            cases = [
                known_when_offered(self.guide, row, text, outcome)
                for row in rows
                for outcome in offering_outcomes(self.guide, row, text)
            ]
            if not cases:
                continue
            known = set.intersection(*cases)
            for name in text.template_names():
                for fact, line in _template_reads(templates / name):
                    if fact not in facts or fact in known:
                        continue
                    self.found.append(
                        Finding(
                            str(templates / name),
                            line,
                            f"'{fact}'가 비어 있을 수 있는데 그대로 출력됩니다 (문구 '{text.key}',"
                            f" {branch_id}): 채움 필터(or_blank 등)나 when 조건을 쓰세요",
                            f"'{fact}' may be unknown where text '{text.key}' ({branch_id}) is "
                            "offered and is printed bare: use a placeholder filter or a `when`",
                            "warning",
                            "unguarded_fact",
                        )
                    )

    def placeholder_settings(self) -> None:
        for name, value in self.guide.settings.items():
            items = value.items() if isinstance(value, dict) else [(None, value)]
            for key, item in items:
                if isinstance(item, str) and is_placeholder_setting(item):
                    loc: Loc = ("settings", name) if key is None else ("settings", name, key)
                    self.add(
                        loc,
                        "warning",
                        "placeholder_setting",
                        f"설정 '{name}'가 아직 예시 값({item}): 문구에 '설정 필요'로 나옵니다",
                        f"setting '{name}' is still a placeholder ({item}): texts show 설정 필요",
                    )

    def not_from_article(self) -> None:
        mine = [(loc, text) for loc, _b, text in self.texts() if not text.from_seed]
        unique = sorted({text.key for _loc, text in mine})
        if not mine:
            return
        self.add(
            mine[0][0],
            "info",
            "not_from_article",
            f"아티클에 없는 문구 {len(unique)}개 (from_seed: false): {', '.join(unique)}",
            f"{len(unique)} text(s) not from the article (from_seed: false): {', '.join(unique)}",
        )

    def unused_guide_fields(self, reads: set[str]) -> None:
        for i, name in enumerate(self.guide.fields):
            if name not in reads:
                self.add(
                    ("fields", i),
                    "warning",
                    "unused_field",
                    f"'{name}'는 fields에 있지만 이 가이드의 어떤 조건·문구도 읽지 않습니다",
                    f"'{name}' is under fields but no row, check, notice, text or set reads it",
                )


def _why_unreachable(text: TextSpec) -> str:
    if text.asks and set(text.outcomes) <= {"eligible"}:
        return "`asks` under outcome eligible: nothing is missing then"
    if text.on_blocks:
        return "none of its `on_blocks` can be raised on this branch (or all are in not_on_blocks)"
    return "its outcomes cannot happen on this branch (action/blocks/checks of its rows)"


def _template_reads(path: Path) -> list[tuple[str, int]]:
    try:
        return bare_reads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, TemplateSyntaxError):
        return []  # guide_lint reports it


def _all_template_names(folder: Path) -> set[str]:
    """Every variable any template in the folder mentions (guarded or not)."""
    names: set[str] = set()
    for path in sorted(folder.glob("*.j2")):
        try:
            tree = _JINJA.parse(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, TemplateSyntaxError):
            continue
        names |= {node.name for node in tree.find_all(nodes.Name)}
    return names


def _condition_facts(raw: Any) -> Iterator[str]:
    if isinstance(raw, Mapping):
        for key, value in raw.items():
            if key == "fact" and isinstance(value, str):
                yield value
            else:
                yield from _condition_facts(value)
    elif isinstance(raw, list | tuple):
        for item in raw:
            yield from _condition_facts(item)


def guide_reads(guide: Guide, templates: Iterable[str]) -> set[str]:
    """Every fact a guide's data or templates read, derived facts expanded to their inputs."""
    conditions: list[Any] = [row.when for row in guide.rows]
    conditions += [b.when for row in guide.rows for b in row.blocks]
    conditions += [c.until for row in guide.rows for c in row.collect]
    conditions += [rule.when for rule in (*guide.checks, *guide.notices)]
    conditions += [rule.applies for rule in (*guide.checks, *guide.notices)]
    conditions += [r.when for r in guide.requires]
    conditions += [t.when for spec in guide.branches.values() for t in spec.texts]
    reads = {name for raw in conditions for name in _condition_facts(raw)}
    reads |= {c.fact for row in guide.rows for c in row.collect}
    reads |= {r.fact for r in guide.requires} | {n for r in guide.requires for n in r.unless_known}
    reads |= {s.field for s in guide.sets} | {s.from_ for s in guide.sets}
    reads |= {t.variants.by for b in guide.branches.values() for t in b.texts if t.variants}
    reads |= set(templates)
    return expand_derived(reads, guide.settings)


def expand_derived(names: set[str], settings: Mapping[str, Any]) -> set[str]:
    """The names plus every fact the derived ones among them read, transitively."""
    found = set(names)
    todo = [name for name in names if name in DERIVED]
    while todo:
        for read in derived_inputs(todo.pop(), settings):
            if read not in found:
                found.add(read)
                if read in DERIVED:
                    todo.append(read)
    return found


class _Anything:
    """A stand-in value that survives any comparison or arithmetic a derived fact does."""

    def __lt__(self, other: object) -> bool:
        return True

    __gt__ = __le__ = __ge__ = __lt__

    def __sub__(self, other: object) -> int:
        return 1

    __rsub__ = __add__ = __radd__ = __mod__ = __sub__

    def __int__(self) -> int:
        return 1

    def __bool__(self) -> bool:
        return True


def derived_inputs(name: str, settings: Mapping[str, Any]) -> set[str]:
    """The facts a derived fact reads: run with every input unknown, then every input set."""
    reads: set[str] = set()

    def unknown(fact: str) -> tuple[Any, tuple[str, ...]]:
        reads.add(fact)
        return None, ()

    def present(fact: str) -> tuple[Any, tuple[str, ...]]:
        reads.add(fact)
        return _Anything(), ()

    for lookup in (unknown, present):
        try:
            DERIVED[name](lookup, settings)
        except Exception:  # noqa: S112 - a stand-in value may not fit every computation
            continue
    return reads


def report_guides(catalog: GuideCatalog) -> list[Finding]:
    """The editor's report over every guide, then the fields no guide reads."""
    facts = set(catalog.fields.keys()) | set(DERIVED)
    common = _all_template_names(catalog.root / "_common")
    found: list[Finding] = []
    every_read: set[str] = {"consult_type"}  # chooses the guide
    for guide in catalog.guides.values():
        templates = _all_template_names(catalog.templates_dir(guide.id)) | common
        reads = guide_reads(guide, templates & facts)
        every_read |= reads
        report = _GuideReport(guide, catalog)
        report.unreachable_texts()
        report.unguarded_facts(facts)
        report.placeholder_settings()
        report.not_from_article()
        report.unused_guide_fields(reads)
        found += report.found
    fields_file = catalog.root / "fields.yaml"
    root = yaml.compose(fields_file.read_text("utf-8"), yaml.SafeLoader)
    for name in catalog.fields:
        if name not in every_read:
            found.append(
                Finding(
                    str(fields_file),
                    line_of(root, ("fields", name)) if root is not None else 1,
                    f"필드 '{name}'를 읽는 가이드가 없습니다 (삭제하거나 조건·문구에서 쓰세요)",
                    f"no guide reads field '{name}' (remove it or use it in a condition/text)",
                    "warning",
                    "unused_field",
                )
            )
    return found
