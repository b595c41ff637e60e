"""What a fetch gives back: fact values, where each came from, and what failed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from backend.domain.fields import FieldCatalog

SourceKind = Literal["ticket", "form", "connector"]
FailureKind = Literal[
    "timeout",  # the source did not answer within its timeout
    "http_status",  # the source answered with a non-2xx status (or a redirect)
    "malformed_json",  # the body is not JSON
    "wrong_type",  # a value fails the field's parser (detail = the parse error)
    "missing",  # the pointer finds nothing in the response
    "too_large",  # the response is over max_response_bytes
    "over_budget",  # still running when the guidance budget ran out
    "unavailable",  # connection refused, reset, DNS…
    "refused",  # not sent: host not allow-listed, secret unset, unsafe value
]


@dataclass(frozen=True)
class FactSource:
    """Where one fact's value came from: the ticket, the open form, or a connector."""

    kind: SourceKind
    connector: str | None = None
    label: str | None = None
    fetched_at: datetime | None = None
    cached: bool = False

    def to_json(self) -> dict[str, Any]:
        """The provenance as JSON (connector fields only for connector facts)."""
        if self.kind != "connector":
            return {"kind": self.kind}
        return {
            "kind": self.kind,
            "connector": self.connector,
            "label": self.label,
            "fetched_at": self.fetched_at.isoformat() if self.fetched_at else None,
            "cached": self.cached,
        }


@dataclass(frozen=True)
class SourceFailure:
    """One source (or one of its facts) that failed; its facts stay unknown."""

    connector: str
    label: str
    kind: FailureKind
    detail: str
    facts: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """The failure as JSON."""
        return {
            "connector": self.connector,
            "label": self.label,
            "kind": self.kind,
            "detail": self.detail,
            "facts": list(self.facts),
        }


@dataclass(frozen=True)
class ConnectorFacts:
    """Fetched values by fact key, their provenance, failures and skipped connectors."""

    values: Mapping[str, object] = field(default_factory=dict)
    provenance: Mapping[str, FactSource] = field(default_factory=dict)
    failures: tuple[SourceFailure, ...] = ()
    # Connectors not called because a fact their URL needs is unknown → those facts.
    skipped: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    elapsed_seconds: float = 0.0

    @property
    def unknown(self) -> tuple[str, ...]:
        """Facts a failing source left unknown, in failure order."""
        keys = [key for failure in self.failures for key in failure.facts]
        return tuple(key for key in dict.fromkeys(keys) if key not in self.values)

    def to_json(self, fields: FieldCatalog) -> dict[str, Any]:
        """The whole result as JSON (values encoded like the decision's `facts`)."""
        return {
            "values": fields.values_to_json(self.values),
            "provenance": {key: source.to_json() for key, source in self.provenance.items()},
            "failures": [failure.to_json() for failure in self.failures],
            "skipped": {name: list(keys) for name, keys in self.skipped.items()},
            "elapsed_ms": round(self.elapsed_seconds * 1000, 1),
        }


NO_CONNECTOR_FACTS = ConnectorFacts()
