"""Three-valued (Kleene) conditions over facts that may be unknown.

A condition answers yes, no or unknown. When the answer is unknown it also says
which facts, once known, would let it answer: those become the decision's `missing`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from backend.errors import GuideDataError


class Tri(enum.Enum):
    """A three-valued truth value."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


# The members as module constants: reading `Tri.YES` goes through the enum class's
# attribute machinery, several times slower than a global (it is read on every test).
TRI_YES, TRI_NO, TRI_UNKNOWN = Tri.YES, Tri.NO, Tri.UNKNOWN


@dataclass(frozen=True)
class Outcome:
    """The answer of a condition and, when unknown, the facts it waits for."""

    value: Tri
    needs: tuple[str, ...] = ()

    @property
    def hit(self) -> bool:
        """True when the condition is known to hold."""
        return self.value is TRI_YES


YES = Outcome(TRI_YES)
NO = Outcome(TRI_NO)

# lookup(name) -> (value or None, facts to ask for when the value is None)
Lookup = Callable[[str], tuple[Any, tuple[str, ...]]]


class Condition:
    """Base class of compiled conditions."""

    def evaluate(self, lookup: Lookup) -> Outcome:
        """Answer yes / no / unknown for the given facts."""
        raise NotImplementedError

    def facts(self) -> set[str]:
        """Every fact name this condition reads."""
        raise NotImplementedError

    @cached_property
    def fact_names(self) -> frozenset[str]:
        """`facts()` computed once (conditions are immutable), for the per-decision paths."""
        return frozenset(self.facts())


def _known(flag: bool) -> Outcome:
    return YES if flag else NO


_UNKNOWN_AWARE = frozenset({"is_unknown", "is_known", "not_yet"})


@dataclass(frozen=True)
class FactTest(Condition):
    """A test on one fact: is, is_not, in, not_in, lt/le/gt/ge, is_known, is_unknown, not_yet."""

    fact: str
    op: str
    operand: Any

    def __post_init__(self) -> None:
        # Made once per compiled condition, not per evaluation (frozen: object.__setattr__).
        object.__setattr__(self, "_aware", self.op in _UNKNOWN_AWARE)
        object.__setattr__(self, "_unknown", Outcome(TRI_UNKNOWN, (self.fact,)))

    def evaluate(self, lookup: Lookup) -> Outcome:
        """Answer the test; unknown facts give unknown except for the unknown-aware ops."""
        value, needs = lookup(self.fact)
        op, operand = self.op, self.operand
        if value is None and not self._aware:  # type: ignore[attr-defined]
            return Outcome(TRI_UNKNOWN, needs) if needs else self._unknown  # type: ignore[attr-defined]
        # Tested in line, most frequent first: a call per test would cost more than the test.
        if op == "is":
            return YES if value == operand else NO
        if op == "in":
            return YES if value in operand else NO
        if op == "is_unknown":
            return YES if (value is None) == bool(operand) else NO
        if op == "not_yet":
            return YES if value is None or value != operand else NO
        if op == "is_not":
            return YES if value != operand else NO
        if op == "not_in":
            return YES if value not in operand else NO
        if op == "is_known":
            return YES if (value is not None) == bool(operand) else NO
        other = operand
        if isinstance(other, FactRef):
            other, other_needs = lookup(other.fact)
            if other is None:
                return Outcome(TRI_UNKNOWN, other_needs or (operand.fact,))
        return _known(_COMPARE[op](value, other))

    def facts(self) -> set[str]:
        """The fact tested, and the one compared against."""
        names = {self.fact}
        if isinstance(self.operand, FactRef):
            names.add(self.operand.fact)
        return names


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "lt": lambda a, b: bool(a < b),
    "le": lambda a, b: bool(a <= b),
    "gt": lambda a, b: bool(a > b),
    "ge": lambda a, b: bool(a >= b),
}


@dataclass(frozen=True)
class FactRef:
    """A reference to another fact as the right-hand side of a comparison."""

    fact: str


@dataclass(frozen=True)
class AllOf(Condition):
    """Kleene AND."""

    parts: tuple[Condition, ...]

    def evaluate(self, lookup: Lookup) -> Outcome:
        """No if any part is no; yes if all are yes; else unknown."""
        first_unknown: Outcome | None = None
        for part in self.parts:
            outcome = part.evaluate(lookup)
            if outcome.value is TRI_NO:
                return NO
            if outcome.value is TRI_UNKNOWN and first_unknown is None:
                first_unknown = outcome
        # Only the first undecided part is asked for: once it is known the rest may not matter.
        return first_unknown or YES

    def facts(self) -> set[str]:
        """Union of the parts' facts."""
        return set().union(*(part.facts() for part in self.parts))


@dataclass(frozen=True)
class AnyOf(Condition):
    """Kleene OR."""

    parts: tuple[Condition, ...]

    def evaluate(self, lookup: Lookup) -> Outcome:
        """Yes if any part is yes; no if all are no; else unknown."""
        first_unknown: Outcome | None = None
        for part in self.parts:
            outcome = part.evaluate(lookup)
            if outcome.value is TRI_YES:
                return YES
            if outcome.value is TRI_UNKNOWN and first_unknown is None:
                first_unknown = outcome
        return first_unknown or NO

    def facts(self) -> set[str]:
        """Union of the parts' facts."""
        return set().union(*(part.facts() for part in self.parts))


@dataclass(frozen=True)
class Not(Condition):
    """Kleene NOT."""

    part: Condition

    def evaluate(self, lookup: Lookup) -> Outcome:
        """Swap yes and no; unknown stays unknown."""
        outcome = self.part.evaluate(lookup)
        if outcome.value is TRI_UNKNOWN:
            return outcome
        return NO if outcome.value is TRI_YES else YES

    def facts(self) -> set[str]:
        """The part's facts."""
        return self.part.facts()


@dataclass(frozen=True)
class Always(Condition):
    """The empty condition: always yes."""

    def evaluate(self, lookup: Lookup) -> Outcome:
        """Yes."""
        return YES

    def facts(self) -> set[str]:
        """None."""
        return set()


FACT_OPS = (
    "is",
    "is_not",
    "in",
    "not_in",
    "lt",
    "le",
    "gt",
    "ge",
    "is_known",
    "is_unknown",
    "not_yet",
)


def compile_condition(raw: Any, where: str = "condition") -> Condition:
    """Turn the YAML form of a condition into a Condition; GuideDataError when malformed."""
    if raw is None:
        return Always()
    if not isinstance(raw, Mapping):
        raise GuideDataError(f"{where}: a condition must be a mapping, got {raw!r}")
    if "all" in raw or "any" in raw:
        key = "all" if "all" in raw else "any"
        parts = raw[key]
        if len(raw) != 1 or not isinstance(parts, Sequence) or isinstance(parts, str) or not parts:
            raise GuideDataError(f"{where}: `{key}` takes a non-empty list and nothing else")
        compiled = tuple(compile_condition(p, f"{where}.{key}[{i}]") for i, p in enumerate(parts))
        return AllOf(compiled) if key == "all" else AnyOf(compiled)
    if "not" in raw:
        if len(raw) != 1:
            raise GuideDataError(f"{where}: `not` takes one condition and nothing else")
        return Not(compile_condition(raw["not"], f"{where}.not"))
    fact = raw.get("fact")
    ops = [op for op in raw if op != "fact"]
    if not isinstance(fact, str) or len(ops) != 1 or ops[0] not in FACT_OPS:
        raise GuideDataError(
            f"{where}: expected {{fact: <name>, <op>: <value>}} with op in {', '.join(FACT_OPS)}; "
            f"got {dict(raw)!r}"
        )
    op = ops[0]
    operand = raw[op]
    if op in {"in", "not_in"} and (not isinstance(operand, Sequence) or isinstance(operand, str)):
        raise GuideDataError(f"{where}: `{op}` takes a list")
    if op in {"lt", "le", "gt", "ge"} and isinstance(operand, Mapping):
        if set(operand) != {"fact"}:
            raise GuideDataError(f"{where}: compare with a number or {{fact: <name>}}")
        operand = FactRef(str(operand["fact"]))
    if isinstance(operand, list):
        operand = tuple(operand)
    return FactTest(fact, op, operand)
