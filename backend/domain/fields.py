"""The field catalog (macros/fields.yaml): keys, types, labels, options, value codecs."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backend.domain import values as v
from backend.domain.coupon import CouponPiece, format_split, parse_coupon_split
from backend.errors import GuideDataError, UnknownFieldError

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


class Label(BaseModel):
    """A Korean and an English label."""

    # defer_build: validators are built on first use, not at import (see guides._Strict).
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, defer_build=True)

    ko: str
    en: str


# Constants of known-good strings: model_construct skips building Label's validator at import.
TRISTATE_LABELS: dict[str, Label] = {
    "yes": Label.model_construct(ko="예", en="Yes"),
    "no": Label.model_construct(ko="아니오", en="No"),
}


def option_tag(key: str, code: str) -> str:
    """Build the Zendesk option value (tag) of an option: gp_<key>_<code>."""
    return f"gp_{key}_{code}"


class FieldDef(BaseModel):
    """One semantic ticket field of the catalog."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    key: str
    type: FieldType
    label_ko: str
    label_en: str
    options: dict[str, Label] = Field(default_factory=dict)
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


class _RawField(BaseModel):
    """A field entry as written in fields.yaml."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)

    type: FieldType
    label: Label
    options: dict[str, Label] = Field(default_factory=dict)
    zendesk: bool = True


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
    if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
        raise GuideDataError(f"{path}: field key {key!r} must be lower_snake_case")
    try:
        spec = _RawField.model_validate(raw)
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
