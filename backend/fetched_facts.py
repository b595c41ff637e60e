"""Facts from the admin systems in the service: fetched beside the Zendesk reads, merged, told."""

# The service knows only a `FactFetcher` (known facts → ConnectorFacts); the API builds one
# from the settings (backend/connectors.fetch_for_ticket). The fetch runs in a worker
# thread so the reconnection-history reads to Zendesk overlap it; it returns within the
# connector budget whatever the sources do.

from __future__ import annotations

import contextvars
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from backend.connectors.merge import Disagreement, fields_to_fill, merge_facts
from backend.connectors.result import NO_CONNECTOR_FACTS, ConnectorFacts, FactSource, SourceKind
from backend.domain.decision import Decision
from backend.domain.fields import FieldCatalog
from backend.domain.guides import GuideCatalog

FactFetcher = Callable[[Mapping[str, object]], ConnectorFacts]
# Notice id (macros/labels.yaml) shown when a typed value differs from the admin system's.
DISAGREEMENT_NOTICE = "connector_value_differs"

# As many as requests may run at once (GUIDEPOST_HTTP_MAX_CONCURRENCY default): a queued
# fetch would wait outside its budget. Threads are made only when needed.
_POOL = ThreadPoolExecutor(max_workers=64, thread_name_prefix="guidepost-connectors")


def start_fetch(
    fetcher: FactFetcher | None, known_facts: Mapping[str, object]
) -> Future[ConnectorFacts] | None:
    """Start fetching in a worker thread (None without connectors)."""
    if fetcher is None:
        return None
    # The request's log context goes along, so `connector_fetch` lines name the request.
    context = contextvars.copy_context()
    return _POOL.submit(context.run, fetcher, dict(known_facts))


@dataclass(frozen=True)
class MergedFacts:
    """Typed and fetched facts merged: values, provenance, disagreements, the fetch."""

    values: dict[str, object]
    provenance: dict[str, FactSource] = field(default_factory=dict)
    disagreements: tuple[Disagreement, ...] = ()
    fetched: ConnectorFacts = NO_CONNECTOR_FACTS


def merge_fetched(
    typed: Mapping[str, object], fetched: ConnectorFacts, agent_source: SourceKind
) -> MergedFacts:
    """The agent's value wins; each clash with a fetched value is kept to be told."""
    values, provenance, disagreements = merge_facts(typed, fetched, agent_source=agent_source)
    return MergedFacts(values, provenance, disagreements, fetched)


def annotate_decision(
    decision: Decision,
    merged: MergedFacts,
    fields: FieldCatalog,
    field_map: Mapping[str, int] | None,
) -> Decision:
    """Fetched facts join the write-back's `fields_set`; a disagreement adds its notice."""
    if merged.fetched is NO_CONNECTOR_FACTS:
        return decision
    fill = {
        key: fields.to_json(key, merged.values[key])
        for key in fields_to_fill(merged.values, merged.provenance, fields)
        if key not in decision.fields_set and (field_map is None or key in field_map)
    }
    notices = list(decision.notices)
    if merged.disagreements and DISAGREEMENT_NOTICE not in notices:
        notices.append(DISAGREEMENT_NOTICE)
    if not fill and notices == decision.notices:
        return decision
    return replace(decision, fields_set={**decision.fields_set, **fill}, notices=notices)


def fetched_check_facts(
    decision: Decision, merged: MergedFacts, catalog: GuideCatalog
) -> dict[str, list[str]]:
    """Per check line: the facts its condition reads that a connector gave (the sidebar's mark)."""
    if decision.guide is None or decision.guide not in catalog.guides:
        return {}
    guide = catalog.guide(decision.guide)
    reads: dict[str, set[str]] = {}
    for check in guide.checks:
        reads.setdefault(check.id, set()).update(
            check.condition.facts() | check.applies_condition.facts()
        )
    for row in guide.rows:
        for block in row.blocks:
            reads.setdefault(block.id, set()).update(block.condition.facts())
    fetched = {key for key, source in merged.provenance.items() if source.kind == "connector"}
    found: dict[str, list[str]] = {}
    for line in decision.checks:
        keys = sorted(reads.get(line.id, set()) & fetched)
        if keys:
            found[line.id] = keys
    return found


def answer_keys(
    merged: MergedFacts | None,
    fields: FieldCatalog,
    decision: Decision | None = None,
    catalog: GuideCatalog | None = None,
) -> dict[str, Any]:
    """`fact_sources`, `connector_failures`, `connector_disagreements` (+ `fetched_check_facts`)."""
    if merged is None:
        return {}
    keys: dict[str, Any] = {
        "fact_sources": {key: source.to_json() for key, source in merged.provenance.items()},
        "connector_failures": [failure.to_json() for failure in merged.fetched.failures],
        "connector_disagreements": [item.to_json(fields) for item in merged.disagreements],
    }
    if decision is not None and catalog is not None:
        keys["fetched_check_facts"] = fetched_check_facts(decision, merged, catalog)
    return keys
