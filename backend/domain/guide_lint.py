"""An editor's view of guide mistakes: file, YAML line and a Korean/English message.

The YAML is composed (not only loaded) so every value keeps its line: a pydantic error's
`loc` or a condition's path is walked down the node tree to the line that holds it. The
same is done for fields.yaml and labels.yaml (models: catalog_schema.py) and for the
Jinja2 syntax of every template file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from jinja2 import Environment, TemplateSyntaxError
from pydantic import BaseModel, TypeAdapter, ValidationError

from backend.domain.catalog_schema import OPTION_CODE_PATTERN, FieldsDocument, LabelsDocument
from backend.domain.conditions import FACT_OPS, compile_condition
from backend.domain.fields import FieldCatalog, load_field_catalog
from backend.domain.guides import Guide, guide_adapter
from backend.errors import GuideDataError

Loc = tuple[str | int, ...]
_OPTION_CODE = re.compile(OPTION_CODE_PATTERN)
Severity = Literal["error", "warning", "info"]
Labels = Mapping[str, Mapping[str, object]]


@dataclass(frozen=True)
class Finding:
    """One mistake (or, with a lower severity, a remark): where it is and what to do."""

    file: str
    line: int
    ko: str
    en: str
    # error: `guides check` fails; warning/info: printed, the check still passes.
    severity: Severity = "error"
    kind: str = "schema"

    def __str__(self) -> str:
        prefix = "" if self.severity == "error" else f"{self.severity}: "
        return f"{prefix}{self.file}:{self.line}: {self.ko} / {self.en}"

    def to_json(self) -> dict[str, object]:
        """The finding as `guides check --format json` prints it."""
        return {
            "severity": self.severity,
            "kind": self.kind,
            "file": self.file,
            "line": self.line,
            "ko": self.ko,
            "en": self.en,
        }


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
    # A dataclass (guides.py) names these unexpected/missing keyword arguments.
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        return (f"알 수 없는 키 '{name}' (오타인지 확인)", f"unknown key '{name}' (a typo?)")
    if kind in ("missing", "missing_keyword_argument"):
        return (f"필수 키 '{name}'가 없습니다", f"required key '{name}' is missing")
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        value = error.get("input")
        return (
            f"'{value}'는 쓸 수 없는 값입니다 (가능: {expected})",
            f"'{value}' is not allowed (expected {expected})",
        )
    if loc and loc[-1] == "[key]" and len(loc) > 1:
        key = loc[-2]
        return (
            f"키 '{key}'는 소문자_밑줄 형식이어야 합니다 (예: usage_date)",
            f"key '{key}' must be lower_snake_case (e.g. usage_date)",
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

    def labels(self, guide: Guide, labels: Labels) -> None:
        """Every block, check and notice id has its wording in labels.yaml."""
        ids: list[tuple[Loc, str, str]] = []
        for i, row in enumerate(guide.rows):
            ids += [
                (("rows", i, "blocks", j, "id"), "blocks", b.id) for j, b in enumerate(row.blocks)
            ]
            ids += [(("rows", i, "notices", j), "notices", n) for j, n in enumerate(row.notices)]
        ids += [(("checks", i, "id"), "blocks", c.id) for i, c in enumerate(guide.checks)]
        ids += [(("notices", i, "id"), "notices", n.id) for i, n in enumerate(guide.notices)]
        for loc, kind, ident in ids:
            if ident not in labels.get(kind, {}):
                self.add(
                    loc,
                    f"'{ident}'의 문구가 labels.yaml의 {kind}에 없습니다",
                    f"'{ident}' has no wording under {kind} in labels.yaml",
                )


def _compose(path: Path) -> tuple[str, yaml.Node] | list[Finding]:
    """The text and node tree of a YAML file, or the finding that says why there is none."""
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
    return text, root


def _duplicates(path: Path, root: yaml.Node) -> list[Finding]:
    return [
        Finding(
            str(path),
            int(key.start_mark.line) + 1,
            f"키 '{key.value}'가 두 번 나옵니다 (뒤의 것만 쓰입니다)",
            f"key '{key.value}' appears twice (only the last one counts)",
        )
        for key in _duplicate_keys(root)
    ]


def _validate(
    path: Path, root: yaml.Node, model: type[BaseModel] | TypeAdapter[Any], data: Any
) -> list[Finding]:
    try:
        if isinstance(model, TypeAdapter):
            model.validate_python(data)
        else:
            model.model_validate(data)
    except ValidationError as exc:
        found = []
        for error in exc.errors():
            ko, en = _pydantic_message(error)
            loc = tuple(error["loc"])
            loc = loc[:-1] if loc and loc[-1] == "[key]" else loc
            found.append(Finding(str(path), line_of(root, loc), ko, en))
        return found
    return []


def lint_guide_file(
    path: Path, fields: FieldCatalog, derived: Iterable[str], labels: Labels | None = None
) -> list[Finding]:
    """Every schema and reference mistake of one guide.yaml, each with its line."""
    composed = _compose(path)
    if isinstance(composed, list):
        return composed
    text, root = composed
    linter = _Linter(path, root, fields, set(fields.keys()) | set(derived))
    linter.found += _duplicates(path, root)
    data = yaml.load(text, yaml.SafeLoader)
    if not isinstance(data, dict):
        linter.add((), "guide.yaml은 키: 값 매핑이어야 합니다", "guide.yaml must be a mapping")
        return linter.found
    data = {k: v for k, v in data.items() if not str(k).startswith("x-")}
    try:
        guide: Guide = guide_adapter().validate_python(data)
    except ValidationError:
        return linter.found + _validate(path, root, guide_adapter(), data)
    linter.conditions(data)
    linter.references(guide, path.parent / "templates")
    if labels is not None:
        linter.labels(guide, labels)
    return linter.found + lint_templates(path.parent / "templates")


def lint_templates(folder: Path) -> list[Finding]:
    """Jinja2 syntax errors of every template file of a guide, with the template's line."""
    env = Environment(trim_blocks=True, lstrip_blocks=True, autoescape=False)  # noqa: S701 - plain text, never HTML
    found: list[Finding] = []
    for path in sorted(folder.glob("*.j2")):
        try:
            env.parse(path.read_text("utf-8"), path.name, str(path))
        except (OSError, UnicodeDecodeError) as exc:
            found.append(Finding(str(path), 1, f"읽을 수 없습니다: {exc}", f"cannot read: {exc}"))
        except TemplateSyntaxError as exc:
            found.append(
                Finding(
                    str(path),
                    exc.lineno,
                    f"템플릿 문법 오류: {exc.message}",
                    f"template syntax error: {exc.message}",
                )
            )
    return found


def lint_fields_file(path: Path) -> list[Finding]:
    """Every mistake of fields.yaml (model: catalog_schema.FieldsDocument), with its line."""
    composed = _compose(path)
    if isinstance(composed, list):
        return composed
    text, root = composed
    data = yaml.load(text, yaml.SafeLoader)
    found = _duplicates(path, root) + _validate(path, root, FieldsDocument, data)
    if found:
        return found
    for key, entry in data["fields"].items():
        if (entry["type"] == "dropdown") != bool(entry.get("options")):
            where: Loc = ("fields", key, "options" if "options" in entry else "type")
            line = line_of(root, where)
            found.append(
                Finding(
                    str(path),
                    line,
                    f"'{key}': 선택지(options)는 dropdown에만, 그리고 dropdown에는 반드시 씁니다",
                    f"'{key}': options are required for dropdowns and only there",
                )
            )
        for code in entry.get("options") or {}:
            if not _OPTION_CODE.fullmatch(str(code)):
                found.append(
                    Finding(
                        str(path),
                        line_of(root, ("fields", key, "options", str(code))),
                        f"선택지 코드 '{code}'는 소문자_밑줄 형식이어야 합니다",
                        f"option code '{code}' must be lower_snake_case",
                    )
                )
    return found


def lint_labels_file(path: Path) -> list[Finding]:
    """Every mistake of labels.yaml (model: catalog_schema.LabelsDocument), with its line."""
    composed = _compose(path)
    if isinstance(composed, list):
        return composed
    text, root = composed
    data = yaml.load(text, yaml.SafeLoader)
    return _duplicates(path, root) + _validate(path, root, LabelsDocument, data)


def read_labels(path: Path) -> Labels | None:
    """labels.yaml as plain mappings (None when it is unreadable: its lint says why)."""
    try:
        data = yaml.load(path.read_text("utf-8"), yaml.CSafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    if not isinstance(data, dict):
        return None
    return {str(k): v for k, v in data.items() if isinstance(v, dict)}


def lint_guides(
    root: Path, fields: FieldCatalog, derived: Iterable[str], labels: Labels | None = None
) -> list[Finding]:
    """Every finding of every `<guide>/guide.yaml` under the macros folder."""
    found: list[Finding] = []
    for path in sorted(root.glob("*/guide.yaml")):
        found += lint_guide_file(path, fields, derived, labels)
    return found


def lint_macros(root: Path, derived: Iterable[str]) -> list[Finding]:
    """fields.yaml, labels.yaml, then every guide (when the field catalog loads)."""
    found = lint_fields_file(root / "fields.yaml") + lint_labels_file(root / "labels.yaml")
    try:
        fields = load_field_catalog(root / "fields.yaml")
    except GuideDataError:
        return found
    return found + lint_guides(root, fields, derived, read_labels(root / "labels.yaml"))
