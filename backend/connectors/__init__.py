"""Facts from the admin systems: declarative HTTP connectors (macros/connectors.yaml).

Wired in: backend/cli.py, backend/api/app.py, backend/api/deps.py, backend/fetched_facts.py
(used by backend/service.py); this is how the service uses it.

`guides check` (backend/cli.py): add `check_for_guides(guides_dir, catalog.fields, Settings())`
to the problems: it checks macros/connectors.yaml (structure, fact keys) and, when
GUIDEPOST_CONNECTORS_FILE is set, that file against the settings (hosts, secrets).

Start-up (`create_app`, next to `require_secrets`): when `settings.connectors_file` is set,
call `load_checked_connectors(settings, catalog.fields)`. It raises SettingsError listing
every problem (bad YAML, unknown fact keys, host not in GUIDEPOST_CONNECTOR_HOSTS, secret
unset), so a misconfigured connector stops the backend instead of failing per request.
Without `connectors_file` nothing is fetched and every function below is a no-op.

Guidance (GET and POST /v1/tickets/{id}/guidance):
  1. Parse the facts the agent typed (the ticket read, or the open form for POST).
  2. Run `fetch_for_ticket(ticket.values, settings=settings, fields=catalog.fields)`
     (client=None uses one process-wide httpx.Client) in a worker thread *concurrently
     with* the Zendesk calls that do not decide the URL (for GET: the prior-reconnection
     search, after the ticket read that gives the 원콜 ID / car number; for POST the form
     already gives them, so start it before any Zendesk call). It returns within
     `connector_budget_seconds` whatever the sources do, and never raises for a source
     failure.
  3. `values, provenance, disagreements = merge_facts(ticket.values, fetched,
     agent_source="ticket" | "form")`; decide on `TicketInput(values=values, …)`.
  4. Answer additively: `fact_sources` = {key: FactSource.to_json()},
     `connector_failures` = [f.to_json() for f in fetched.failures] (the sidebar shows "확인
     필요 — 대리 어드민 응답 없음" for `fetched.unknown`), and one notice per disagreement
     (`Disagreement.to_json(fields)`: typed value, fetched value, connector, time), and
     `fetched_check_facts` (check line → the fetched facts it reads: the "어드민" mark).
     The C3 fingerprint needs nothing more: a fetched fact changes it only through the
     decision it changes (hashing fetch times would turn each cache expiry into a 409).

Apply (POST /v1/tickets/{id}/apply): re-read the ticket, fetch again (the TTL cache makes
this cheap and returns the values the agent saw), merge, decide. `fields_to_fill(values,
provenance, fields)` gives the Zendesk values of fetched facts whose ticket field is empty;
add them to the write-back's `fields_set` so the apply preview lists them and the ticket
keeps what the decision relied on (a later read then finds them as typed values). A lost
once-only claim re-decides on the same merged facts (backend/reconnections.py), and a 409
decision-changed carries the guidance shape, provenance included.

Secrets: `auth.secret` names a key of GUIDEPOST_CONNECTOR_SECRETS (SecretStr). Header
values are never logged; one log line per source (`connector_fetch`: connector, host,
outcome, status, ms) carries no URL (it holds personal data such as a plate).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

import httpx

from backend.connectors.check import check_connectors, check_connectors_file, check_for_guides
from backend.connectors.config import ConnectorSet, load_connectors
from backend.connectors.fetch import DEFAULT_CACHE, FactCache, fetch_facts, shared_client
from backend.connectors.merge import Disagreement, fields_to_fill, merge_facts
from backend.connectors.result import (
    NO_CONNECTOR_FACTS,
    ConnectorFacts,
    FactSource,
    SourceFailure,
)
from backend.domain.fields import FieldCatalog, load_field_catalog
from backend.errors import GuideDataError, SettingsError
from backend.settings import Settings

__all__ = [
    "NO_CONNECTOR_FACTS",
    "ConnectorFacts",
    "Disagreement",
    "FactCache",
    "FactSource",
    "SourceFailure",
    "check_connectors",
    "check_connectors_file",
    "check_for_guides",
    "close_connector_client",
    "fetch_for_ticket",
    "fields_to_fill",
    "load_checked_connectors",
    "merge_facts",
]


@functools.lru_cache(maxsize=8)
def _load_cached(path: Path, version: tuple[int, int]) -> ConnectorSet:
    return load_connectors(path)


@functools.lru_cache(maxsize=4)
def _fields_cached(path: Path, version: tuple[int, int]) -> FieldCatalog:
    return load_field_catalog(path)


def _mtime(path: Path) -> tuple[int, int]:
    """(modification time, size): an edited file is read again."""
    try:
        stat = path.stat()
        return stat.st_mtime_ns, stat.st_size
    except OSError as exc:
        raise SettingsError(f"cannot read {path}: {exc}") from None


def load_checked_connectors(settings: Settings, fields: FieldCatalog) -> ConnectorSet:
    """The configured connectors, or SettingsError listing every problem (fail closed)."""
    path = settings.connectors_file
    if path is None:
        return ConnectorSet(Path("-"), ())
    try:
        connectors = _load_cached(path.resolve(), _mtime(path))
    except GuideDataError as exc:
        raise SettingsError(exc.detail) from None
    problems = check_connectors(connectors, fields, settings)
    if problems:
        raise SettingsError("\n".join(problems))
    shared_client()  # built now, so the first guidance does not pay for it in its budget
    return connectors


def fetch_for_ticket(
    known_facts: Mapping[str, object],
    *,
    settings: Settings,
    client: httpx.Client | None = None,
    fields: FieldCatalog | None = None,
    cache: FactCache | None = None,
) -> ConnectorFacts:
    """Fetch every configured connector for these facts; returns within the budget."""
    if settings.connectors_file is None:
        return NO_CONNECTOR_FACTS
    if fields is None:
        catalog_path = (settings.guides_dir / "fields.yaml").resolve()
        fields = _fields_cached(catalog_path, _mtime(catalog_path))
    path = settings.connectors_file.resolve()
    connectors = _load_cached(path, _mtime(path))
    return fetch_facts(
        connectors,
        known_facts,
        fields=fields,
        settings=settings,
        client=client,
        cache=DEFAULT_CACHE if cache is None else cache,
    )


def close_connector_client() -> None:
    """Close the process-wide httpx client, if one was built (app shutdown)."""
    if shared_client.cache_info().currsize:
        shared_client().close()
        shared_client.cache_clear()
