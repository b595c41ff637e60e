"""The decision: what the engine says about one ticket (the `explain` JSON).

Frozen dataclasses without pydantic (`explain` imports none). `to_json()` is the JSON
pydantic's `dump_python(mode="json")` gives for them (the API serializes them with
pydantic, which reads stdlib dataclasses; `from_article` is added to its schema).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler
    from pydantic_core import CoreSchema

CheckState = Literal["ok", "blocked", "unknown"]
Outcome = Literal["eligible", "blocked", "pending"]
PlaceholderKind = Literal["fact", "setting", "agent"]
OUTCOMES: tuple[Outcome, ...] = ("eligible", "blocked", "pending")


def json_value(value: Any) -> Any:
    """A value as JSON data: dataclasses by `to_json`, tuples and sets as lists, ISO dates."""
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return [json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    to_json = getattr(value, "to_json", None)
    if callable(to_json) and dataclasses.is_dataclass(value):
        return to_json()
    return value


class JsonData:
    """`to_json()` of a dataclass: its fields in order, each as JSON data."""

    __slots__ = ()

    def to_json(self) -> dict[str, Any]:
        """The JSON object of this value (pydantic's mode="json" dump)."""
        return {
            item.name: json_value(getattr(self, item.name))
            for item in dataclasses.fields(self)  # type: ignore[arg-type]
        }


@dataclass(frozen=True, slots=True)
class TextPlaceholder(JsonData):
    """One unfilled slot of a text body: character offsets, what fills it, its name."""

    start: int
    end: int
    kind: PlaceholderKind
    name: str


@dataclass(frozen=True, slots=True)
class RenderedText(JsonData):
    """One rendered text, ready to insert (contract C1)."""

    key: str
    kind: Literal["reply", "outbound", "sms", "note"]
    title: str
    body: str
    from_seed: bool = True
    placeholders: list[TextPlaceholder] = field(default_factory=list)
    asks: list[str] = field(default_factory=list)

    @property
    def from_article(self) -> bool:
        """True when the words are the Help Center article's (C1 name of `from_seed`)."""
        return self.from_seed

    def to_json(self) -> dict[str, Any]:
        """The text's JSON object, `from_article` last (as pydantic's computed field)."""
        return {**JsonData.to_json(self), "from_article": self.from_seed}

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        """pydantic's schema of the dataclass, with `from_article` as a computed field."""
        from pydantic_core import core_schema

        schema = handler(source)
        if schema["type"] == "dataclass" and schema["schema"]["type"] == "dataclass-args":
            # readOnly and described in the JSON schema, as pydantic's own computed fields are.
            about = {"readOnly": True, "description": cls.from_article.__doc__}
            read_only = {"pydantic_js_updates": about}
            computed = core_schema.computed_field(
                "from_article", core_schema.bool_schema(), metadata=read_only
            )
            schema["schema"]["computed_fields"] = [computed]
        return schema


@dataclass(frozen=True, slots=True)
class Check(JsonData):
    """One line of the eligibility checklist."""

    id: str
    state: CheckState
    facts: list[str] = field(default_factory=list)


def read_outcome(eligible: bool, blocks: list[str]) -> Outcome:
    """Eligible, blocked (a known fact forbids the action) or pending (facts missing)."""
    if blocks:
        return "blocked"
    return "eligible" if eligible else "pending"


@dataclass(frozen=True)
class Decision(JsonData):
    """The engine's answer for one ticket (CONTRACTS.md `explain` output, plus additive keys)."""

    guide: str | None
    suggested: bool = False
    branch: str = "none"
    branch_label: str = ""
    eligible: bool = False
    outcome: Outcome = "pending"
    blocks: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    note: str = ""
    texts: list[RenderedText] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    fields_set: dict[str, Any] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    def field_values(self) -> dict[str, Any]:
        """Every field of the decision by name (shallow), e.g. to build an answer from it."""
        return {name: getattr(self, name) for name in _DECISION_FIELDS}

    def evolve(self, **changes: Any) -> Decision:
        """`dataclasses.replace` for the engine's hot path: a shallow copy with `changes`.

        The engine builds every value with its declared type; copying the instance's
        attributes skips replace's per-field loop and the frozen `__init__` (a third of
        the cost), as pydantic's `model_copy` did. Unknown names are refused as replace does.
        """
        unknown = changes.keys() - _DECISION_NAMES
        if unknown:
            raise TypeError(f"Decision has no field {sorted(unknown)[0]!r}")
        copy = object.__new__(type(self))
        vars(copy).update(vars(self), **changes)
        return copy


_DECISION_FIELDS = tuple(item.name for item in dataclasses.fields(Decision))
_DECISION_NAMES = frozenset(_DECISION_FIELDS)
