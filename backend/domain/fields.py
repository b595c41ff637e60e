"""The field catalog (macros/fields.yaml): keys, types, labels, options, value codecs.

Frozen dataclasses without pydantic (see guides.py): pydantic validates the file's
entries (`_RawField`) when the catalog is loaded, importing it then.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeAlias, cast

from backend.domain import values as v
from backend.domain.coupon import CouponPiece, format_split, parse_coupon_split
from backend.errors import GuideDataError, UnknownFieldError

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler, TypeAdapter
    from pydantic_core import CoreSchema

FieldType = Literal[
    "tristate",
    "dropdown",
    "date",
    "datetime",
    "amount",
    "integer",
    "plate",
    "call_id",
    "coupon_split",
    "text",
]
FieldValue: TypeAlias = bool | int | str | date | datetime | tuple[CouponPiece, ...]
JsonScalar: TypeAlias = str | int | bool | None

_KEY_RE = re.compile(r"[a-z][a-z0-9_]*")
_CODE_RE = re.compile(r"[a-z0-9][a-z0-9_]*")


# pydantic's config of the file's entries (read from the class when the loader validates).
STRICT_ENTRY: dict[str, Any] = {"extra": "forbid", "strict": True}


class _StrictEntry:
    """Strict values, given as a mapping (strict pydantic alone wants a dataclass instance)."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        schema = handler(source)
        if schema["type"] == "dataclass":
            # The entry's own check only; its fields keep the config's strict mode.
            cast("dict[str, Any]", schema)["strict"] = False
        return schema


@dataclass(frozen=True)
class Label(_StrictEntry):
    """A Korean and an English label."""

    __pydantic_config__: ClassVar[dict[str, Any]] = STRICT_ENTRY

    ko: str
    en: str


TRISTATE_LABELS: dict[str, Label] = {
    "yes": Label(ko="예", en="Yes"),
    "no": Label(ko="아니오", en="No"),
}


def option_tag(key: str, code: str) -> str:
    """Build the Zendesk option value (tag) of an option: gp_<key>_<code>."""
    return f"gp_{key}_{code}"


@dataclass(frozen=True)
class FieldDef:
    """One semantic ticket field of the catalog."""

    key: str
    type: FieldType
    label_ko: str
    label_en: str
    options: dict[str, Label] = dataclasses.field(default_factory=dict)
    zendesk: bool = True

    @property
    def label(self) -> Label:
        """Return the field's label as a Label."""
        return Label(ko=self.label_ko, en=self.label_en)

    def zendesk_options(self) -> dict[str, Label]:
        """List the Zendesk dropdown options (tag → label); tri-states get yes/no."""
        if self.type == "tristate":
            return {option_tag(self.key, code): label for code, label in TRISTATE_LABELS.items()}
        return {option_tag(self.key, code): label for code, label in self.options.items()}


@dataclass(frozen=True)
class _RawField(_StrictEntry):
    """A field entry as written in fields.yaml."""

    __pydantic_config__: ClassVar[dict[str, Any]] = STRICT_ENTRY

    type: FieldType
    label: Label
    options: dict[str, Label] = dataclasses.field(default_factory=dict)
    zendesk: bool = True


@cache
def _raw_field_adapter() -> TypeAdapter[_RawField]:
    """pydantic's validator of one fields.yaml entry (built on first use)."""
    from pydantic import TypeAdapter

    return TypeAdapter(_RawField)


class FieldCatalog:
    """Every field both guides read, in file order, with typed parsing and encoding."""

    def __init__(self, fields: Iterable[FieldDef]) -> None:
        self._fields: dict[str, FieldDef] = {}
        for field in fields:
            if field.key in self._fields:
                raise GuideDataError(f"field {field.key!r} is defined twice")
            self._fields[field.key] = field

    def get(self, key: str) -> FieldDef:
        """Return the field with that key (UnknownFieldError otherwise)."""
        try:
            return self._fields[key]
        except (KeyError, TypeError):
            raise UnknownFieldError(str(key)) from None

    def keys(self) -> tuple[str, ...]:
        """List the field keys in catalog order."""
        return tuple(self._fields)

    def fields(self) -> tuple[FieldDef, ...]:
        """List the field definitions in catalog order."""
        return tuple(self._fields.values())

    @cached_property
    def option_tags(self) -> frozenset[str]:
        """Every tag a dropdown or yes/no value of these fields can be (gp_<key>_<code>)."""
        # Computed once per catalog: apply filters stale decision tags with it every time.
        return frozenset(
            option_tag(field.key, code)
            for field in self._fields.values()
            for code in (*field.options, "yes", "no")
        )

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self._fields

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def parse(self, key: str, raw: object) -> FieldValue | None:
        """Parse a raw value (or re-check a typed one) for a field; None when unknown."""
        field = self.get(key)
        match field.type:
            case "tristate":
                return v.parse_tristate(key, raw)
            case "dropdown":
                return v.parse_option(key, raw, field.options)
            case "date":
                return v.parse_date(key, raw)
            case "datetime":
                return v.parse_datetime(key, raw)
            case "amount":
                return v.parse_amount(key, raw)
            case "integer":
                return v.parse_integer(key, raw)
            case "plate":
                return v.parse_plate(key, raw)
            case "call_id":
                return v.parse_call_id(key, raw)
            case "coupon_split":
                return parse_coupon_split(key, raw)
            case "text":
                return v.parse_text(key, raw)

    def zendesk_value(self, key: str, value: object) -> JsonScalar:
        """Encode a value for the field's Zendesk custom field (None clears it)."""
        field = self.get(key)
        if field.type == "tristate":
            flag = v.parse_tristate(key, value)
            return None if flag is None else option_tag(key, "yes" if flag else "no")
        if field.type == "dropdown":
            code = v.parse_option(key, value, field.options)
            return None if code is None else option_tag(key, code)
        return self.to_json(key, value)

    def to_json(self, key: str, value: object) -> JsonScalar:
        """Encode a value as JSON: tri-state bool, option code, ISO dates, canonical split."""
        parsed = self.parse(key, value)
        if isinstance(parsed, date | datetime):
            return parsed.isoformat()
        if isinstance(parsed, tuple):
            return format_split(parsed)
        return parsed

    def values_to_json(self, values: Mapping[str, object]) -> dict[str, JsonScalar]:
        """Encode a mapping of field values as JSON, key by key."""
        return {key: self.to_json(key, value) for key, value in values.items()}


def read_yaml_file(path: Path) -> Any:
    """Parse one YAML file with libyaml (10x the pure-Python loader); GuideDataError if bad."""
    import yaml  # here, not at import: `explain` on a cached catalog parses no YAML

    try:
        return yaml.load(path.read_text("utf-8"), yaml.CSafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise GuideDataError(f"{path}: {exc}") from exc


def load_field_catalog(path: Path) -> FieldCatalog:
    """Read and validate the field catalog (GuideDataError names what is wrong)."""
    data = read_yaml_file(path)
    fields = data.get("fields") if isinstance(data, dict) else None
    if not isinstance(fields, dict) or set(data) != {"fields"}:
        raise GuideDataError(f"{path}: expected one top-level mapping `fields:`")
    defs: list[FieldDef] = []
    for key, raw in fields.items():
        defs.append(_read_field(path, key, raw))
    return FieldCatalog(defs)


def _read_field(path: Path, key: object, raw: object) -> FieldDef:
    from pydantic import ValidationError

    if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
        raise GuideDataError(f"{path}: field key {key!r} must be lower_snake_case")
    try:
        spec = _raw_field_adapter().validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise GuideDataError(f"{path}: {key}.{where}: {first['msg']}") from exc
    if (spec.type == "dropdown") != bool(spec.options):
        raise GuideDataError(f"{path}: {key}: options are required for dropdowns and only there")
    for code in spec.options:
        if not _CODE_RE.fullmatch(code):
            raise GuideDataError(f"{path}: {key}: option code {code!r} must be lower_snake_case")
    return FieldDef(
        key=key,
        type=spec.type,
        label_ko=spec.label.ko,
        label_en=spec.label.en,
        options=spec.options,
        zendesk=spec.zendesk,
    )
