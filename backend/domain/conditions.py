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
# A compiled condition's answer for the facts of one lookup.
Evaluate = Callable[[Lookup], Outcome]


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


def _fact_test(fact: str, op: str, operand: Any) -> Evaluate:
    """A closure answering one fact test (the op chosen once, when the guide is compiled).

    A closure per test instead of a method walking an if-chain: a decision runs ~25 tests,
    and each saved the chain, the attribute reads and the bound method.
    """
    # An unknown fact with nothing to wait for asks for itself (one answer, made once).
    unknown = Outcome(TRI_UNKNOWN, (fact,))
    yes, no = YES, NO

    if op == "is":

        def test(lookup: Lookup) -> Outcome:
            value, needs = lookup(fact)
            if value is None:
                return Outcome(TRI_UNKNOWN, needs) if needs else unknown
            return yes if value == operand else no

    elif op == "in":

        def test(lookup: Lookup) -> Outcome:
            value, needs = lookup(fact)
            if value is None:
                return Outcome(TRI_UNKNOWN, needs) if needs else unknown
            return yes if value in operand else no

    elif op == "is_not":

        def test(lookup: Lookup) -> Outcome:
            value, needs = lookup(fact)
            if value is None:
                return Outcome(TRI_UNKNOWN, needs) if needs else unknown
            return yes if value != operand else no

    elif op == "not_in":

        def test(lookup: Lookup) -> Outcome:
            value, needs = lookup(fact)
            if value is None:
                return Outcome(TRI_UNKNOWN, needs) if needs else unknown
            return yes if value not in operand else no

    elif op in ("is_unknown", "is_known"):
        # Unknown-aware: an unknown fact is an answer, not a reason to wait.
        wanted = bool(operand) if op == "is_unknown" else not operand

        def test(lookup: Lookup) -> Outcome:
            return yes if (lookup(fact)[0] is None) == wanted else no

    elif op == "not_yet":

        def test(lookup: Lookup) -> Outcome:
            value = lookup(fact)[0]
            return yes if value is None or value != operand else no

    else:
        compare = _COMPARE[op]
        if isinstance(operand, FactRef):
            other_fact = operand.fact

            def test(lookup: Lookup) -> Outcome:
                value, needs = lookup(fact)
                if value is None:
                    return Outcome(TRI_UNKNOWN, needs) if needs else unknown
                other, other_needs = lookup(other_fact)
                if other is None:
                    return Outcome(TRI_UNKNOWN, other_needs or (other_fact,))
                return yes if compare(value, other) else no

        else:

            def test(lookup: Lookup) -> Outcome:
                value, needs = lookup(fact)
                if value is None:
                    return Outcome(TRI_UNKNOWN, needs) if needs else unknown
                return yes if compare(value, operand) else no

    return test


@dataclass(frozen=True)
class FactTest(Condition):
    """A test on one fact: is, is_not, in, not_in, lt/le/gt/ge, is_known, is_unknown, not_yet."""

    fact: str
    op: str
    operand: Any

    def __post_init__(self) -> None:
        # The answering closure, made once per compiled condition (frozen: object.__setattr__).
        object.__setattr__(self, "evaluate", _fact_test(self.fact, self.op, self.operand))

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled by its fields (a closure cannot be): unpickling compiles it again.
        return (type(self), (self.fact, self.op, self.operand))

    def evaluate(self, lookup: Lookup) -> Outcome:
        """Answer the test; unknown facts give unknown except for the unknown-aware ops."""
        return _fact_test(self.fact, self.op, self.operand)(lookup)

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


def _kleene(
    parts: tuple[Condition, ...], decisive: Tri, decided: Outcome, rest: Outcome
) -> Evaluate:
    """Kleene AND (decisive: no) or OR (decisive: yes) over the parts' closures.

    The first part whose value is decisive answers; otherwise the first undecided part
    (only it is asked for), else `rest`.
    """
    tests = tuple(part.evaluate for part in parts)

    def evaluate(lookup: Lookup) -> Outcome:
        first_unknown: Outcome | None = None
        for test in tests:
            outcome = test(lookup)
            value = outcome.value
            if value is decisive:
                return decided
            if value is TRI_UNKNOWN and first_unknown is None:
                first_unknown = outcome
        return first_unknown or rest

    return evaluate


def _all_of(parts: tuple[Condition, ...]) -> Evaluate:
    """Kleene AND over the parts' closures."""
    return _kleene(parts, TRI_NO, NO, YES)


def _any_of(parts: tuple[Condition, ...]) -> Evaluate:
    """Kleene OR over the parts' closures."""
    return _kleene(parts, TRI_YES, YES, NO)


def _not(part: Condition) -> Evaluate:
    """Kleene NOT of the part's closure."""
    test = part.evaluate

    def negation(lookup: Lookup) -> Outcome:
        outcome = test(lookup)
        value = outcome.value
        if value is TRI_UNKNOWN:
            return outcome
        return NO if value is TRI_YES else YES

    return negation


@dataclass(frozen=True)
class AllOf(Condition):
    """Kleene AND."""

    parts: tuple[Condition, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "evaluate", _all_of(self.parts))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.parts,))

    def evaluate(self, lookup: Lookup) -> Outcome:
        """No if any part is no; yes if all are yes; else unknown."""
        return _all_of(self.parts)(lookup)

    def facts(self) -> set[str]:
        """Union of the parts' facts."""
        return set().union(*(part.facts() for part in self.parts))


@dataclass(frozen=True)
class AnyOf(Condition):
    """Kleene OR."""

    parts: tuple[Condition, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "evaluate", _any_of(self.parts))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.parts,))

    def evaluate(self, lookup: Lookup) -> Outcome:
        """Yes if any part is yes; no if all are no; else unknown."""
        return _any_of(self.parts)(lookup)

    def facts(self) -> set[str]:
        """Union of the parts' facts."""
        return set().union(*(part.facts() for part in self.parts))


@dataclass(frozen=True)
class Not(Condition):
    """Kleene NOT."""

    part: Condition

    def __post_init__(self) -> None:
        object.__setattr__(self, "evaluate", _not(self.part))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.part,))

    def evaluate(self, lookup: Lookup) -> Outcome:
        """Swap yes and no; unknown stays unknown."""
        return _not(self.part)(lookup)

    def facts(self) -> set[str]:
        """The part's facts."""
        return self.part.facts()


def _always(lookup: Lookup) -> Outcome:
    return YES


@dataclass(frozen=True)
class Always(Condition):
    """The empty condition: always yes."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "evaluate", _always)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), ())

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
