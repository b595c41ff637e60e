"""Fault injection rules for the emulator (latency, errors, drops, conflicts)."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["FAULT_KINDS", "TERMINAL_KINDS", "Fault", "parse_faults"]

FAULT_KINDS = ("latency", "status", "rate_limit", "drop", "conflict")
# Terminal faults answer (or drop) the request instead of letting it through.
TERMINAL_KINDS = frozenset({"status", "rate_limit", "drop"})


@dataclass
class Fault:
    """One injection rule; ``times`` counts down, None means forever."""

    kind: str
    method: str
    path: re.Pattern[str]
    ms: int
    status: int
    retry_after: int | None
    times: int | None
    probability: float
    rng: random.Random

    def applies_to(self, method: str, path: str) -> bool:
        """Tell whether the rule targets this request (ignoring probability and budget)."""
        if self.times is not None and self.times <= 0:
            return False
        if self.method not in ("*", method):
            return False
        return self.path.search(path) is not None

    def roll(self) -> bool:
        """Draw against the probability; consume one use when it fires."""
        if self.probability < 1.0 and self.rng.random() >= self.probability:
            return False
        if self.times is not None:
            self.times -= 1
        return True

    def describe(self) -> dict[str, Any]:
        """Render the rule as JSON for the control API."""
        return {
            "kind": self.kind,
            "method": self.method,
            "path": self.path.pattern,
            "ms": self.ms,
            "status": self.status,
            "retry_after": self.retry_after,
            "times": self.times,
            "probability": self.probability,
        }


def parse_faults(specs: list[dict[str, Any]], seed: int | None = None) -> list[Fault]:
    """Validate fault specs; raise ValueError with a readable message on bad input."""
    if not isinstance(specs, list):
        raise ValueError("faults must be a list")
    shared = random.Random(seed)
    faults: list[Fault] = []
    for index, spec in enumerate(specs):
        if not isinstance(spec, dict):
            raise ValueError(f"faults[{index}] must be an object")
        kind = spec.get("kind")
        if kind not in FAULT_KINDS:
            raise ValueError(f"faults[{index}].kind must be one of {', '.join(FAULT_KINDS)}")
        method = str(spec.get("method") or "*").upper()
        try:
            path = re.compile(str(spec.get("path") or ".*"))
        except re.error as exc:
            raise ValueError(f"faults[{index}].path is not a valid regex: {exc}") from exc
        times = spec.get("times")
        if times is not None and (not isinstance(times, int) or times < 0):
            raise ValueError(f"faults[{index}].times must be a non-negative integer or null")
        probability = spec.get("probability", 1.0)
        if not isinstance(probability, int | float) or not 0.0 <= probability <= 1.0:
            raise ValueError(f"faults[{index}].probability must be between 0 and 1")
        ms = spec.get("ms", 0 if kind != "latency" else 100)
        status = spec.get("status", 500)
        retry_after = spec.get("retry_after", 1 if kind == "rate_limit" else None)
        for name, number in (("ms", ms), ("status", status)):
            if not isinstance(number, int) or number < 0:
                raise ValueError(f"faults[{index}].{name} must be a non-negative integer")
        if kind == "status" and not 400 <= status <= 599:
            raise ValueError(f"faults[{index}].status must be an HTTP error status")
        if retry_after is not None and (not isinstance(retry_after, int) or retry_after < 0):
            raise ValueError(f"faults[{index}].retry_after must be a non-negative integer")
        own_seed = spec.get("seed")
        faults.append(
            Fault(
                kind=kind,
                method=method,
                path=path,
                ms=ms,
                status=status,
                retry_after=retry_after,
                times=times,
                probability=float(probability),
                rng=random.Random(own_seed) if own_seed is not None else shared,
            )
        )
    return faults
