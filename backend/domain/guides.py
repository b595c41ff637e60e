"""Guides as data: the runtime types of `macros/<guide>/guide.yaml` and their loader.

The types are frozen dataclasses that import no pydantic, so `explain` on a cached catalog
(backend/catalog_cache.py) never imports it. pydantic validates them when a guide is
loaded or linted (it reads stdlib dataclasses, their `__pydantic_config__` and field
metadata such as an alias); the loader imports it then, not at import.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from backend.domain.conditions import Condition, compile_condition
from backend.domain.fields import FieldCatalog, load_field_catalog, read_yaml_file
from backend.errors import GuideDataError

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler, TypeAdapter
    from pydantic_core import CoreSchema

TextKind = Literal["reply", "outbound", "sms", "note"]
OutcomeName = Literal["eligible", "blocked", "pending"]


class _AnyJson:
    """Annotation marker: pydantic validates the value as `JsonValue` (plain JSON only)."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        from pydantic import JsonValue

        return handler.generate_schema(JsonValue)


class _FactNames:
    """Annotation marker: a plain fact name in the list stands for `{fact: <name>}`."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        from pydantic_core import core_schema

        return core_schema.no_info_before_validator_function(expand_fact_names, handler(source))


def expand_fact_names(value: Any) -> Any:
    """Accept plain fact names for `collect` and `requires` entries."""
    if isinstance(value, list):
        return [{"fact": v} if isinstance(v, str) else v for v in value]
    return value


# A condition as YAML gives it: plain JSON values, never arbitrary objects.
# `conditions.compile_condition` turns it into a typed tree with precise errors, and
# `guide_schema.py` gives editors its grammar.
ConditionData = Annotated[Any, _AnyJson()]
# A guide setting (a phone number, a URL, a map of 발주사 → 상황실 number, a rounding rule).
SettingValue = Annotated[Any, _AnyJson()]
# pydantic's config of every guide type (read from the class when the loader validates).
STRICT_KEYS: dict[str, Any] = {"extra": "forbid"}


@dataclass(frozen=True)
class _Strict:
    __pydantic_config__: ClassVar[dict[str, Any]] = STRICT_KEYS


@dataclass(frozen=True)
class Label(_Strict):
    """A Korean/English pair."""

    ko: str
    en: str


@dataclass(frozen=True)
class Variants(_Strict):
    """A text with one template per value of a fact (card/cash, driver/customer)."""

    by: str
    cases: dict[str, str]
    # True when the cases only address someone (driver/customer) and assert no fact:
    # then every case is offered while `by` is unknown. Otherwise none is.
    all_while_unknown: bool = False


@dataclass(frozen=True)
class TextSpec(_Strict):
    """One text an agent may insert: a script step, an OB script, an SMS or a memo."""

    key: str
    kind: TextKind
    title: str
    template: str | None = None
    variants: Variants | None = None
    when: ConditionData = None
    from_seed: bool = True
    # The outcomes the text belongs to: questions while pending, the block's response
    # when blocked, the action's scripts when eligible (ERRATA 2).
    outcomes: tuple[OutcomeName, ...] = ("pending", "eligible")
    # Facts the text asks for: offered only while one of them is still missing.
    asks: tuple[str, ...] = ()
    # Offered only when one of these blocks is raised (block responses)…
    on_blocks: tuple[str, ...] = ()
    # …and never when one of these is.
    not_on_blocks: tuple[str, ...] = ()

    @cached_property
    def condition(self) -> Condition:
        """The compiled `when` (always yes when absent)."""
        return compile_condition(self.when, f"text {self.key}")

    def template_names(self) -> list[str]:
        """Every template file this text may render."""
        if self.variants is not None:
            return list(self.variants.cases.values())
        return [self.template] if self.template else []


@dataclass(frozen=True)
class Rule(_Strict):
    """An id with a condition (blocks, checks, notices)."""

    id: str
    when: ConditionData = None
    # Checks only: the check is left off the checklist when this is known to be false
    # (a check that does not apply claims nothing, not even "ok").
    applies: ConditionData = None

    @cached_property
    def applies_condition(self) -> Condition:
        """The compiled `applies` (always yes when absent)."""
        return compile_condition(self.applies, f"rule {self.id} applies")

    @cached_property
    def condition(self) -> Condition:
        """The compiled `when`; a rule without one always applies."""
        if self.when == "eligible":
            return compile_condition(None)
        return compile_condition(self.when, f"rule {self.id}")

    @property
    def on_eligible(self) -> bool:
        """True for notices shown on every eligible decision."""
        return bool(self.when == "eligible")


@dataclass(frozen=True)
class Collect(_Strict):
    """A fact the row needs: missing while unknown, or while not yet `until`."""

    fact: str
    until: ConditionData = None


@dataclass(frozen=True)
class Require(_Strict):
    """A fact needed before acting, optionally only when a condition holds."""

    fact: str
    when: ConditionData = None
    unless_known: tuple[str, ...] = ()

    @cached_property
    def condition(self) -> Condition:
        """The compiled `when`."""
        return compile_condition(self.when, f"requires {self.fact}")


@dataclass(frozen=True)
class Row(_Strict):
    """One row of a decision table."""

    when: ConditionData
    branch: str
    # A label for this row when it differs from the branch's (e.g. a fact still unknown).
    label: Label | None = None
    action: bool = False
    collect: Annotated[tuple[Collect, ...], _FactNames()] = ()
    blocks: tuple[Rule, ...] = ()
    notices: tuple[str, ...] = ()
    checks: bool = False

    @cached_property
    def condition(self) -> Condition:
        """The compiled `when`."""
        return compile_condition(self.when, f"row {self.branch}")


@dataclass(frozen=True)
class SetRule(_Strict):
    """A custom field a write-back fills from a derived fact while the field is empty."""

    field: str
    # `dataclasses.field`: the bare name is this class's own attribute here.
    from_: str = dataclasses.field(metadata={"alias": "from"})


@dataclass(frozen=True)
class TagRule(_Strict):
    """A tag a write-back adds; its `{field}` slots read fields, added once all are known."""

    tag: str
    # Added only while this holds (always when absent).
    when: ConditionData = None

    @cached_property
    def condition(self) -> Condition:
        """The compiled `when` (always yes when absent)."""
        return compile_condition(self.when, f"tag {self.tag}")


@dataclass(frozen=True)
class OnceOnly(_Strict):
    """An action allowed once per key (e.g. one 강제재연결 per 원콜): ledger claim and count.

    Before an eligible write-back the ticket claims `key` in the ledger with its `claim`;
    the number of earlier claims fills the `count` fact. Tickets written back before the
    ledger existed are found by search on `key_tag` + `claim_tag`, which the write-back adds.
    """

    # The fact naming what may happen once (its value is the ledger's key).
    key: str
    # The fact naming this ticket's own claim.
    claim: str
    # The integer fact that receives the number of earlier claims (server-computed).
    count: str
    # Tag added while `key` is known; its one `{<key>}` slot is the key's value.
    key_tag: str
    # Tag added while `claim` is known.
    claim_tag: str


@dataclass(frozen=True)
class BranchSpec(_Strict):
    """Labels and texts of one branch."""

    label: Label
    texts: tuple[TextSpec, ...] = ()


@dataclass(frozen=True)
class Source(_Strict):
    """Where the guide's words come from."""

    seed: str
    title: str
    sha256: str
    article_url: str | None = None
    # sha256 of the source Help Center article's normalised text (macro sync drift check).
    article_sha256: str | None = None


@dataclass(frozen=True, kw_only=True)
class Guide(_Strict):
    """One guide: metadata, decision table, checks, notices and texts."""

    id: str
    title: str
    source: Source
    consult_types: dict[str, str | None]
    keywords: tuple[str, ...]
    fields: tuple[str, ...]
    response_order: tuple[str, ...]
    settings: dict[str, SettingValue] = field(default_factory=dict)
    rows: tuple[Row, ...]
    checks: tuple[Rule, ...] = ()
    requires: Annotated[tuple[Require, ...], _FactNames()] = ()
    notices: tuple[Rule, ...] = ()
    sets: tuple[SetRule, ...] = ()
    # A field still empty on the ticket reads this fact instead (field → derived fact).
    fallbacks: dict[str, str] = field(default_factory=dict)
    # Extra tags a write-back adds beside the gp_… decision tags.
    tags: tuple[TagRule, ...] = ()
    once_only: OnceOnly | None = None
    branches: dict[str, BranchSpec]

    def branch_ids(self) -> list[str]:
        """Every branch a row can choose, in table order, without duplicates."""
        return list(dict.fromkeys(row.branch for row in self.rows))

    def block_ids(self) -> list[str]:
        """Every block id the guide can raise."""
        ids = [b.id for row in self.rows for b in row.blocks] + [c.id for c in self.checks]
        return list(dict.fromkeys(ids))

    def notice_ids(self) -> list[str]:
        """Every notice id the guide can show."""
        ids = [n for row in self.rows for n in row.notices] + [n.id for n in self.notices]
        return list(dict.fromkeys(ids))


@dataclass(frozen=True)
class GuideCatalog:
    """Every guide, the field catalog and the block/notice labels."""

    guides: dict[str, Guide]
    fields: FieldCatalog
    labels: dict[str, dict[str, Label]]
    root: Path

    def guide(self, guide_id: str) -> Guide:
        """The guide with that id."""
        try:
            return self.guides[guide_id]
        except KeyError:
            raise GuideDataError(f"unknown guide {guide_id!r}") from None

    def label(self, kind: str, ident: str) -> Label:
        """The Korean/English label of a block or notice id."""
        try:
            return self.labels[kind][ident]
        except KeyError:
            raise GuideDataError(f"macros/labels.yaml has no {kind} label for {ident!r}") from None

    def templates_dir(self, guide_id: str) -> Path:
        """Folder of one guide's templates."""
        return self.root / guide_id / "templates"


def yaml_keys(kind: type[Any]) -> tuple[str, ...]:
    """The keys a guide or field type reads from YAML, in field order (aliases as written)."""
    return tuple(item.metadata.get("alias", item.name) for item in dataclasses.fields(kind))


@cache
def guide_adapter() -> TypeAdapter[Guide]:
    """pydantic's validator of one guide.yaml (built on first use: explain may need none)."""
    from pydantic import TypeAdapter

    return TypeAdapter(Guide)


@cache
def _label_adapter() -> TypeAdapter[Label]:
    from pydantic import TypeAdapter

    return TypeAdapter(Label)


def validate_guide(data: Any) -> Guide:
    """A guide from its YAML data (`x-…` keys already dropped); pydantic's ValidationError."""
    return guide_adapter().validate_python(data)


def load_guide(path: Path) -> Guide:
    """Read and validate one guide.yaml."""
    from pydantic import ValidationError

    data = read_yaml_file(path)
    if isinstance(data, dict):
        # `x-…` keys hold YAML anchors shared by several branches (texts written once).
        data = {k: v for k, v in data.items() if not str(k).startswith("x-")}
    try:
        return validate_guide(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise GuideDataError(f"{path}: {where}: {first['msg']}") from exc


def catalog_files(root: Path) -> list[Path]:
    """Every file load_catalog reads under `root`, in a fixed order (fields, labels, guides)."""
    return [root / "fields.yaml", root / "labels.yaml", *sorted(root.glob("*/guide.yaml"))]


def load_catalog(root: Path) -> GuideCatalog:
    """Load fields, labels and every guide under `root` (the macros/ folder)."""
    fields_file, labels_file, *guide_files = catalog_files(root)
    fields = load_field_catalog(fields_file)
    raw_labels = read_yaml_file(labels_file) or {}
    read_label = _label_adapter().validate_python
    labels = {
        kind: {ident: read_label(label) for ident, label in (entries or {}).items()}
        for kind, entries in raw_labels.items()
    }
    guides: dict[str, Guide] = {}
    for guide_file in guide_files:
        guide = load_guide(guide_file)
        if guide.id != guide_file.parent.name:
            raise GuideDataError(f"{guide_file}: id {guide.id!r} must match its folder name")
        guides[guide.id] = guide
    if not guides:
        raise GuideDataError(f"{root}: no guide found (expected <guide_id>/guide.yaml)")
    return GuideCatalog(guides=guides, fields=fields, labels=labels, root=root)


def hash_text(text: str) -> str:
    """sha256 of a text, as recorded in a guide's `source.sha256`."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
