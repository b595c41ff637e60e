"""An editor's view of guide mistakes: file, YAML line and a Korean/English message.

The YAML is composed (not only loaded) so every value keeps its line: a pydantic error's
`loc` or a condition's path is walked down the node tree to the line that holds it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from backend.domain.conditions import FACT_OPS, compile_condition
from backend.domain.fields import FieldCatalog
from backend.domain.guides import Guide
from backend.errors import GuideDataError

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Finding:
    """One mistake: where it is and what to do, in Korean and English."""

    file: str
    line: int
    ko: str
    en: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.ko} / {self.en}"


def line_of(root: yaml.Node, loc: Loc) -> int:
    """The 1-based line of the deepest node `loc` reaches (a key's own line when it is last)."""
    node = root
    for index, part in enumerate(loc):
        if isinstance(node, yaml.MappingNode):
            pair = next((p for p in node.value if p[0].value == str(part)), None)
            if pair is None:
                break
            if index == len(loc) - 1:
                return int(pair[0].start_mark.line) + 1
            node = pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                break
            node = node.value[part]
        else:
            break
    return int(node.start_mark.line) + 1


def _duplicate_keys(node: yaml.Node, seen: set[int] | None = None) -> Iterator[yaml.Node]:
    seen = set() if seen is None else seen
    if id(node) in seen:  # an alias: already walked
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        names: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in names:
                    yield key
                names.add(key.value)
            yield from _duplicate_keys(value, seen)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _duplicate_keys(item, seen)


def _pydantic_message(error: Mapping[str, Any]) -> tuple[str, str]:
    kind = str(error["type"])
    loc = error["loc"]
    name = str(loc[-1]) if loc else "?"
    if kind == "extra_forbidden":
        return (f"알 수 없는 키 '{name}' (오타인지 확인)", f"unknown key '{name}' (a typo?)")
    if kind == "missing":
        return (f"필수 키 '{name}'가 없습니다", f"required key '{name}' is missing")
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        value = error.get("input")
        return (
            f"'{value}'는 쓸 수 없는 값입니다 (가능: {expected})",
            f"'{value}' is not allowed (expected {expected})",
        )
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return (
            f"'{name}'의 형식이 틀렸습니다: {error['msg']}",
            f"wrong type for '{name}': {error['msg']}",
        )
    return (f"'{name}' 값이 올바르지 않습니다: {error['msg']}", f"invalid '{name}': {error['msg']}")


def _conditions(data: Mapping[str, Any]) -> Iterator[tuple[Loc, Any]]:
    """Every condition of a guide, with its path in the YAML."""
    for i, row in enumerate(data.get("rows") or []):
        yield ("rows", i, "when"), row.get("when")
        for j, block in enumerate(row.get("blocks") or []):
            yield ("rows", i, "blocks", j, "when"), block.get("when")
    for section in ("checks", "notices", "requires"):
        for i, rule in enumerate(data.get(section) or []):
            if isinstance(rule, Mapping):
                if rule.get("when") != "eligible":
                    yield (section, i, "when"), rule.get("when")
                yield (section, i, "applies"), rule.get("applies")
    for branch_id, branch in (data.get("branches") or {}).items():
        for k, text in enumerate(branch.get("texts") or []):
            yield ("branches", branch_id, "texts", k, "when"), text.get("when")


def _tests(raw: Any, loc: Loc) -> Iterator[tuple[Loc, Mapping[str, Any]]]:
    """Every `{fact: …, <op>: …}` test inside a well-formed condition."""
    if not isinstance(raw, Mapping):
        return
    for key in ("all", "any"):
        if key in raw:
            for i, part in enumerate(raw[key]):
                yield from _tests(part, (*loc, key, i))
            return
    if "not" in raw:
        yield from _tests(raw["not"], (*loc, "not"))
        return
    yield loc, raw


class _Linter:
    def __init__(self, path: Path, root: yaml.Node, fields: FieldCatalog, facts: set[str]) -> None:
        self.path, self.root, self.fields, self.facts = path, root, fields, facts
        self.found: list[Finding] = []

    def add(self, loc: Loc, ko: str, en: str) -> None:
        self.found.append(Finding(str(self.path), line_of(self.root, loc), ko, en))

    def fact(self, loc: Loc, name: str) -> None:
        if name not in self.facts:
            self.add(
                loc,
                f"알 수 없는 사실 '{name}' (fields.yaml에도 파생 사실에도 없음)",
                f"unknown fact '{name}' (not in fields.yaml nor derived)",
            )

    def test(self, loc: Loc, raw: Mapping[str, Any]) -> None:
        name = str(raw.get("fact"))
        self.fact((*loc, "fact"), name)
        if name not in self.fields:
            return
        field = self.fields.get(name)
        op = next(k for k in raw if k != "fact")
        operand = raw[op]
        values = operand if op in ("in", "not_in") else [operand]
        if field.type == "dropdown" and op in ("is", "is_not", "in", "not_in", "not_yet"):
            for value in values:
                if value not in field.options:
                    allowed = ", ".join(field.options)
                    self.add(
                        (*loc, op),
                        f"'{value}'는 '{name}'의 선택지가 아닙니다 (가능: {allowed})",
                        f"'{value}' is not an option of '{name}' (options: {allowed})",
                    )
        if field.type == "tristate" and op in ("is", "is_not", "not_yet"):
            for value in values:
                if not isinstance(value, bool):
                    self.add(
                        (*loc, op),
                        f"'{name}'는 예/아니오 값입니다: true 또는 false로 쓰세요",
                        f"'{name}' is yes/no: write true or false, not {value!r}",
                    )

    def conditions(self, data: Mapping[str, Any]) -> None:
        for loc, raw in _conditions(data):
            try:
                compile_condition(raw, ".".join(map(str, loc)))
            except GuideDataError as exc:
                self.add(
                    loc,
                    "조건 형식이 잘못되었습니다: {fact: 이름, 연산: 값} 또는 all/any/not 목록"
                    f" (연산: {', '.join(FACT_OPS)})",
                    f"bad condition shape: {exc.detail}",
                )
                continue
            for test_loc, test in _tests(raw, loc):
                self.test(test_loc, test)

    def references(self, guide: Guide, templates: Path) -> None:
        for i, row in enumerate(guide.rows):
            if row.branch not in guide.branches:
                self.add(
                    ("rows", i, "branch"),
                    f"분기 '{row.branch}'가 branches에 없습니다",
                    f"branch '{row.branch}' has no entry under branches",
                )
            for j, collect in enumerate(row.collect):
                self.fact(("rows", i, "collect", j), collect.fact)
        for section in ("fields", "response_order"):
            for i, name in enumerate(getattr(guide, section)):
                self.fact((section, i), name)
        for i, require in enumerate(guide.requires):
            self.fact(("requires", i), require.fact)
        for section in ("checks", "notices"):
            ids = [rule.id for rule in getattr(guide, section)]
            for i, ident in enumerate(ids):
                if ident in ids[:i]:
                    self.add(
                        (section, i, "id"),
                        f"id '{ident}'가 {section}에 두 번 나옵니다",
                        f"id '{ident}' appears twice in {section}",
                    )
        for branch_id, branch in guide.branches.items():
            keys = [text.key for text in branch.texts]
            for k, text in enumerate(branch.texts):
                loc: Loc = ("branches", branch_id, "texts", k)
                if text.key in keys[:k]:
                    self.add(
                        (*loc, "key"),
                        f"문구 키 '{text.key}'가 이 분기에서 두 번 쓰였습니다",
                        f"text key '{text.key}' is used twice in this branch",
                    )
                for name in text.template_names():
                    if not (templates / name).is_file():
                        where = "variants" if text.variants else "template"
                        self.add(
                            (*loc, where),
                            f"템플릿 파일 templates/{name}이(가) 없습니다",
                            f"template file templates/{name} does not exist",
                        )


def lint_guide_file(path: Path, fields: FieldCatalog, derived: Iterable[str]) -> list[Finding]:
    """Every schema and reference mistake of one guide.yaml, each with its line."""
    try:
        text = path.read_text("utf-8")
        root = yaml.compose(text, yaml.SafeLoader)
    except (OSError, UnicodeDecodeError) as exc:
        return [Finding(str(path), 1, f"읽을 수 없습니다: {exc}", f"cannot read: {exc}")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        return [Finding(str(path), line, "YAML 문법 오류", f"YAML syntax error: {exc}")]
    if root is None:
        return [Finding(str(path), 1, "빈 파일입니다", "the file is empty")]
    linter = _Linter(path, root, fields, set(fields.keys()) | set(derived))
    for key in _duplicate_keys(root):
        linter.found.append(
            Finding(
                str(path),
                int(key.start_mark.line) + 1,
                f"키 '{key.value}'가 두 번 나옵니다 (뒤의 것만 쓰입니다)",
                f"key '{key.value}' appears twice (only the last one counts)",
            )
        )
    data = yaml.load(text, yaml.SafeLoader)
    if not isinstance(data, dict):
        linter.add((), "guide.yaml은 키: 값 매핑이어야 합니다", "guide.yaml must be a mapping")
        return linter.found
    data = {k: v for k, v in data.items() if not str(k).startswith("x-")}
    try:
        guide = Guide.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            ko, en = _pydantic_message(error)
            linter.add(tuple(error["loc"]), ko, en)
        return linter.found
    linter.conditions(data)
    linter.references(guide, path.parent / "templates")
    return linter.found


def lint_guides(root: Path, fields: FieldCatalog, derived: Iterable[str]) -> list[Finding]:
    """Every finding of every `<guide>/guide.yaml` under the macros folder."""
    found: list[Finding] = []
    for path in sorted(root.glob("*/guide.yaml")):
        found += lint_guide_file(path, fields, derived)
    return found
