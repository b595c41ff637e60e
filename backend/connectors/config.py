"""connectors.yaml: the typed model of declarative admin-system connectors and its loader.

```yaml
connectors:
  driver_admin_call:                 # name: lower_snake_case
    label: 대리 어드민                 # shown to the agent as the fact's source
    method: GET                      # GET (default) or POST (with `body`)
    url: "https://driver-admin.example/api/calls/{origin_call_id}"
    auth: {secret: driver_admin, header: Authorization, prefix: "Bearer "}
    timeout_seconds: 1.0
    cache_ttl_seconds: 60
    max_response_bytes: 65536
    facts:                           # fact key → JSON pointer (RFC 6901) into the response
      original_fare: /call/fare
      admin_status: {pointer: /call/status, values: {운행완료: completed}}
```
`auth.secret` names a key of the setting GUIDEPOST_CONNECTOR_SECRETS. Structure errors
name the file, the connector and the key; `check.py` checks the rest against the field
catalog and the settings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from backend.connectors.urls import UnsafeUrlError, UrlTemplate, check_braces, placeholders
from backend.errors import GuideDataError

NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")
# RFC 7230 token characters: what a header name may contain.
HEADER_NAME_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}")
MAX_RESPONSE_BYTES = 10 * 1024 * 1024
Scalar = str | int | bool


class Pointer:
    """A JSON pointer (RFC 6901), parsed once: "" is the whole document."""

    def __init__(self, text: str) -> None:
        if text and not text.startswith("/"):
            raise ValueError(f"JSON pointer {text!r} must be empty or start with /")
        if re.search(r"~(?![01])", text):
            raise ValueError(f"JSON pointer {text!r}: ~ must be followed by 0 or 1")
        self.text = text
        self.tokens = tuple(
            token.replace("~1", "/").replace("~0", "~") for token in text.split("/")[1:]
        )

    def resolve(self, document: object) -> tuple[bool, object]:
        """(found, value) of the pointer in a parsed JSON document."""
        current = document
        for token in self.tokens:
            if isinstance(current, dict) and token in current:
                current = current[token]
            elif isinstance(current, list) and re.fullmatch(r"0|[1-9][0-9]{0,8}", token):
                index = int(token)
                if index >= len(current):
                    return False, None
                current = current[index]
            else:
                return False, None
        return True, current


class AuthSpec(BaseModel):
    """The auth header: `header: prefix + <the secret's value>`."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    secret: str
    header: str = "Authorization"
    prefix: str = ""

    @field_validator("secret")
    @classmethod
    def _secret_name(cls, value: str) -> str:
        if not NAME_RE.fullmatch(value):
            raise ValueError("must be a lower_snake_case key of GUIDEPOST_CONNECTOR_SECRETS")
        return value

    @field_validator("header")
    @classmethod
    def _header_name(cls, value: str) -> str:
        if not HEADER_NAME_RE.fullmatch(value):
            raise ValueError("is not a valid HTTP header name")
        return value

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
            raise ValueError("may not contain control characters")
        return value


class FactSpec(BaseModel):
    """Where one fact is in the response, and how admin wording maps to field values."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    pointer: str
    values: dict[str, Scalar] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: object) -> object:
        """`fact: /pointer` is short for `fact: {pointer: /pointer}`."""
        return {"pointer": data} if isinstance(data, str) else data

    @field_validator("pointer")
    @classmethod
    def _pointer(cls, value: str) -> str:
        Pointer(value)
        return value


class ConnectorSpec(BaseModel):
    """One named HTTP source as written in connectors.yaml."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    label: str = Field(min_length=1, max_length=60)
    url: str
    method: Literal["GET", "POST"] = "GET"
    body: dict[str, str] = Field(default_factory=dict)
    auth: AuthSpec | None = None
    timeout_seconds: float = Field(2.0, gt=0, le=30)
    cache_ttl_seconds: float = Field(60.0, ge=0, le=86400)
    max_response_bytes: int = Field(65536, gt=0, le=MAX_RESPONSE_BYTES)
    facts: dict[str, FactSpec] = Field(min_length=1)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        try:
            UrlTemplate.parse(value)
        except UnsafeUrlError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("body")
    @classmethod
    def _body(cls, value: dict[str, str]) -> dict[str, str]:
        for text in value.values():
            try:
                check_braces(text)
            except UnsafeUrlError as exc:
                raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _body_needs_post(self) -> ConnectorSpec:
        if self.body and self.method != "POST":
            raise ValueError("body: only sent with method: POST")
        return self


@dataclass(frozen=True)
class Connector:
    """A validated connector: its spec, parsed URL template and fact pointers."""

    name: str
    spec: ConnectorSpec
    template: UrlTemplate
    pointers: Mapping[str, Pointer]
    value_maps: Mapping[str, Mapping[str, Scalar]]

    @property
    def needs(self) -> tuple[str, ...]:
        """The fact keys the URL and body need, in order."""
        body_keys = [key for text in self.spec.body.values() for key in placeholders(text)]
        return tuple(dict.fromkeys([*self.template.keys, *body_keys]))

    @property
    def gives(self) -> tuple[str, ...]:
        """The fact keys this connector fetches."""
        return tuple(self.pointers)


@dataclass(frozen=True)
class ConnectorSet:
    """Every connector of one connectors.yaml, in file order."""

    path: Path
    connectors: tuple[Connector, ...]

    def __iter__(self) -> Iterator[Connector]:
        return iter(self.connectors)

    def __len__(self) -> int:
        return len(self.connectors)


def _where(path: Path, name: object, loc: tuple[int | str, ...]) -> str:
    keys = ".".join(str(part) for part in loc)
    return f"{path}: connector {name!r}" + (f": {keys}" if keys else "")


def _build(path: Path, name: object, raw: object) -> tuple[Connector | None, list[str]]:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        return None, [f"{path}: connector name {name!r} must be lower_snake_case"]
    try:
        spec = ConnectorSpec.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc, message = error["loc"], str(error["msg"]).removeprefix("Value error, ")
            if loc and loc[-1] == "[key]":
                # YAML reads unquoted yes/no/on/off and numbers as keys that are not text.
                loc = loc[:-2]
                message = f"key {error['input']!r} must be quoted text"
            problems.append(f"{_where(path, name, loc)}: {message}")
        return None, problems
    pointers: dict[str, Pointer] = {}
    value_maps: dict[str, Mapping[str, Scalar]] = {}
    for key, fact in spec.facts.items():
        pointers[key] = Pointer(fact.pointer)
        value_maps[key] = fact.values
    connector = Connector(
        name=name,
        spec=spec,
        template=UrlTemplate.parse(spec.url),
        pointers=pointers,
        value_maps=value_maps,
    )
    return connector, []


def read_connectors(path: Path) -> tuple[ConnectorSet, list[str]]:
    """Read connectors.yaml: the connectors that are well-formed and every problem found."""
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return ConnectorSet(path, ()), [f"{path}: {exc}"]
    if data is None:
        data = {"connectors": {}}
    entries = data.get("connectors") if isinstance(data, dict) else None
    if not isinstance(entries, dict) or set(data) != {"connectors"}:
        return ConnectorSet(path, ()), [f"{path}: expected one top-level mapping `connectors:`"]
    connectors: list[Connector] = []
    problems: list[str] = []
    for name, raw in entries.items():
        connector, found = _build(path, name, raw)
        problems.extend(found)
        if connector is not None:
            connectors.append(connector)
    return ConnectorSet(path, tuple(connectors)), problems


def load_connectors(path: Path) -> ConnectorSet:
    """Read connectors.yaml or raise GuideDataError listing every structure problem."""
    connectors, problems = read_connectors(path)
    if problems:
        raise GuideDataError("\n".join(problems))
    return connectors
