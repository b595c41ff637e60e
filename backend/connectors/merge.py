"""Pure merge of typed and fetched facts: the agent's value wins, disagreements are told."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from backend.connectors.result import ConnectorFacts, FactSource, SourceKind

if TYPE_CHECKING:
    from backend.domain.fields import FieldCatalog, JsonScalar


@dataclass(frozen=True)
class Disagreement:
    """A fact the agent typed that a connector reports differently."""

    fact: str
    typed: object
    fetched: object
    source: FactSource

    def to_json(self, fields: FieldCatalog) -> dict[str, Any]:
        """The disagreement as JSON (values encoded like the decision's `facts`)."""
        return {
            "fact": self.fact,
            "typed": fields.to_json(self.fact, self.typed),
            "fetched": fields.to_json(self.fact, self.fetched),
            "source": self.source.to_json(),
        }


def merge_facts(
    typed_by_agent: Mapping[str, object],
    fetched: ConnectorFacts,
    *,
    agent_source: SourceKind = "ticket",
) -> tuple[dict[str, object], dict[str, FactSource], tuple[Disagreement, ...]]:
    """Merge typed values (None = unknown) with fetched ones: typed wins, each clash reported."""
    values: dict[str, object] = {}
    provenance: dict[str, FactSource] = {}
    disagreements: list[Disagreement] = []
    typed_source = FactSource(kind=agent_source)
    for key, value in typed_by_agent.items():
        if value is None:
            continue
        values[key] = value
        provenance[key] = typed_source
    for key, value in fetched.values.items():
        source = fetched.provenance[key]
        if key not in values:
            values[key] = value
            provenance[key] = source
        elif values[key] != value:
            disagreements.append(Disagreement(key, values[key], value, source))
    return values, provenance, tuple(disagreements)


def fields_to_fill(
    values: Mapping[str, object], provenance: Mapping[str, FactSource], fields: FieldCatalog
) -> dict[str, JsonScalar]:
    """Zendesk values of the fetched facts a write-back may store (the ticket field is empty)."""
    return {
        key: fields.zendesk_value(key, value)
        for key, value in values.items()
        if provenance.get(key, FactSource(kind="ticket")).kind == "connector"
        and key in fields
        and fields.get(key).zendesk
    }
