"""Fetch facts from every connector at once, within a time budget, through a TTL cache."""

from __future__ import annotations

import functools
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import httpx

from backend.connectors.check import secret_is_set
from backend.connectors.config import Connector, ConnectorSet
from backend.connectors.result import ConnectorFacts, FactSource, FailureKind, SourceFailure
from backend.connectors.urls import (
    PLACEHOLDER_RE,
    UnsafeUrlError,
    host_allowed,
    transport_problem,
)
from backend.domain.fields import FieldCatalog
from backend.errors import InputError
from backend.logs import get_logger
from backend.settings import Settings

Clock = Callable[[], float]
Now = Callable[[], datetime]
CacheKey = tuple[str, str, str, str]

_log = get_logger("connectors")


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Fetched:
    """One connector's outcome: parsed values and the failures of this call."""

    values: Mapping[str, object]
    failures: tuple[SourceFailure, ...]
    fetched_at: datetime
    status: int | None = None
    cached: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the source answered with JSON (some facts may still be wrong)."""
        return self.status is not None and not any(
            f.kind not in ("wrong_type", "missing") for f in self.failures
        )


class FactCache:
    """A small thread-safe TTL cache of successful fetches (never of failures)."""

    def __init__(self, max_entries: int = 1024, clock: Clock = time.monotonic) -> None:
        self._entries: OrderedDict[CacheKey, tuple[float, Fetched]] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries
        self._clock = clock

    def get(self, key: CacheKey) -> Fetched | None:
        """The cached outcome, or None when absent or expired."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires, fetched = entry
            if self._clock() >= expires:
                del self._entries[key]
                return None
            return replace(fetched, cached=True, seconds=0.0)

    def put(self, key: CacheKey, fetched: Fetched, ttl: float) -> None:
        """Keep an outcome for ttl seconds (the oldest entry goes when full)."""
        if ttl <= 0:
            return
        with self._lock:
            self._entries[key] = (self._clock() + ttl, fetched)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()


DEFAULT_CACHE = FactCache()


@dataclass(frozen=True)
class PreparedRequest:
    """A request ready to send; the headers (the secret) never appear in a repr."""

    connector: Connector
    url: str
    body: dict[str, str] | None
    headers: dict[str, str] = field(repr=False)

    @property
    def cache_key(self) -> CacheKey:
        """Connector, method, URL and body: what makes two requests the same."""
        body = json.dumps(self.body, sort_keys=True, ensure_ascii=False) if self.body else ""
        return (self.connector.name, self.connector.spec.method, self.url, body)


def _failure(
    connector: Connector, kind: FailureKind, detail: str, facts: tuple[str, ...] = ()
) -> SourceFailure:
    return SourceFailure(
        connector=connector.name,
        label=connector.spec.label,
        kind=kind,
        detail=detail,
        facts=facts or connector.gives,
    )


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def prepare(
    connector: Connector, known: Mapping[str, object], fields: FieldCatalog, settings: Settings
) -> PreparedRequest | SourceFailure | tuple[str, ...]:
    """Build one request, or say why not: a refusal, or the unknown facts it needs."""
    unknown_keys = [key for key in (*connector.needs, *connector.gives) if key not in fields]
    if unknown_keys:
        return _failure(connector, "refused", f"not field keys: {', '.join(unknown_keys)}")
    if not host_allowed(connector.template, settings.connector_hosts):
        return _failure(connector, "refused", "host not in GUIDEPOST_CONNECTOR_HOSTS")
    problem = transport_problem(connector.template)
    if problem:
        return _failure(connector, "refused", problem)
    values: dict[str, str] = {}
    missing: list[str] = []
    for key in connector.needs:
        try:
            encoded = fields.to_json(key, known.get(key))
        except InputError as exc:
            return _failure(connector, "refused", exc.detail)
        if encoded is None:
            missing.append(key)
        else:
            values[key] = _as_text(encoded)
    if missing:
        return tuple(missing)
    # identity: the size limit then bounds what arrives, not a compressed bomb's expansion.
    headers = {"Accept": "application/json", "Accept-Encoding": "identity"}
    auth = connector.spec.auth
    if auth is not None:
        if not secret_is_set(settings, auth.secret):
            return _failure(connector, "refused", f"secret {auth.secret!r} is not set")
        secret = settings.connector_secrets[auth.secret].get_secret_value()
        headers[auth.header] = auth.prefix + secret
    try:
        url = connector.template.fill(values)
    except UnsafeUrlError as exc:
        return _failure(connector, "refused", str(exc))
    body = None
    if connector.spec.method == "POST":
        body = {
            name: PLACEHOLDER_RE.sub(lambda m: values[m.group(1)], text)
            for name, text in connector.spec.body.items()
        }
    return PreparedRequest(connector=connector, url=url, body=body, headers=headers)


def read_facts(
    connector: Connector, document: object, fields: FieldCatalog
) -> tuple[dict[str, object], list[SourceFailure]]:
    """Pick each fact out of a JSON response and parse it with the field's own parser."""
    values: dict[str, object] = {}
    failures: list[SourceFailure] = []
    absent: list[str] = []
    for key, pointer in connector.pointers.items():
        found, raw = pointer.resolve(document)
        if not found:
            absent.append(key)
            continue
        mapping = connector.value_maps.get(key, {})
        lookup = raw if isinstance(raw, str) else json.dumps(raw)
        mapped = mapping.get(lookup, raw) if mapping else raw
        try:
            value = fields.parse(key, mapped)
        except InputError as exc:
            failures.append(_failure(connector, "wrong_type", exc.detail, (key,)))
            continue
        if value is not None:
            values[key] = value
    if absent:
        where = ", ".join(connector.pointers[key].text or "(root)" for key in absent)
        failures.append(
            _failure(connector, "missing", f"not in the response: {where}", tuple(absent))
        )
    return values, failures


@functools.lru_cache(maxsize=1)
def shared_client() -> httpx.Client:
    """The process-wide client when the caller gives none (one pool, one TLS context)."""
    # Building a client loads the CA bundle (~0.1 s of CPU): once, not per request.
    return httpx.Client(trust_env=False, follow_redirects=False)


def fetch_one(
    request: PreparedRequest,
    client: httpx.Client,
    fields: FieldCatalog,
    *,
    deadline: float,
    clock: Clock = time.monotonic,
    now: Now = utc_now,
) -> Fetched:
    """Send one request, read at most max_response_bytes before the deadline, map facts."""
    connector = request.connector
    spec = connector.spec
    started, begun = now(), clock()

    def failed(kind: FailureKind, detail: str, status: int | None = None) -> Fetched:
        failure = _failure(connector, kind, detail)
        return Fetched({}, (failure,), started, status=status, seconds=clock() - begun)

    remaining = deadline - clock()
    if remaining <= 0:
        return failed("over_budget", "no time left in the guidance budget")
    timeout = httpx.Timeout(min(spec.timeout_seconds, remaining))
    # A timeout cut short by the budget is the budget running out, not the source's own
    # timeout (the caller's wait and this timeout end at the same instant: one kind).
    capped = remaining < spec.timeout_seconds
    try:
        with client.stream(
            spec.method,
            request.url,
            headers=request.headers,
            json=request.body,
            timeout=timeout,
            follow_redirects=False,
        ) as response:
            status = response.status_code
            if not 200 <= status < 300:
                return failed("http_status", f"HTTP {status}", status)
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > spec.max_response_bytes:
                return failed("too_large", f"over {spec.max_response_bytes} bytes")
            body = bytearray()
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > spec.max_response_bytes:
                    return failed("too_large", f"over {spec.max_response_bytes} bytes")
                if clock() > deadline:
                    return failed("over_budget", "the response was still arriving at the budget")
    except httpx.TimeoutException:
        if capped:
            return failed("over_budget", f"no answer within the {remaining:.2f} s budget left")
        return failed("timeout", f"no answer within {timeout.read:.2f} s")
    except httpx.HTTPError as exc:
        return failed("unavailable", type(exc).__name__)
    try:
        document = json.loads(bytes(body))
    except (ValueError, RecursionError):
        return failed("malformed_json", "the response is not JSON")
    values, failures = read_facts(connector, document, fields)
    return Fetched(values, tuple(failures), started, status=status, seconds=clock() - begun)


def _log_outcome(connector: Connector, fetched: Fetched | None, budget: float) -> None:
    kinds = sorted({f.kind for f in fetched.failures}) if fetched else ["over_budget"]
    _log.info(
        "connector_fetch",
        connector=connector.name,
        host=connector.template.host,
        outcome="ok" if fetched is not None and not kinds else ",".join(kinds),
        status=fetched.status if fetched else None,
        cached=fetched.cached if fetched else False,
        facts=len(fetched.values) if fetched else 0,
        ms=round((fetched.seconds if fetched else budget) * 1000, 1),
    )


def _send_all(
    pending: list[PreparedRequest],
    client: httpx.Client,
    fields: FieldCatalog,
    deadline: float,
    clock: Clock,
    now: Now,
) -> dict[str, Fetched | None]:
    """Run every request in its own thread; whatever is not done at the deadline is None."""
    executor = ThreadPoolExecutor(max_workers=len(pending), thread_name_prefix="connector")
    futures: dict[Future[Fetched], PreparedRequest] = {
        executor.submit(
            fetch_one, req, client, fields, deadline=deadline, clock=clock, now=now
        ): req
        for req in pending
    }
    # Never wait for a straggler: its thread ends by itself at its own (budget-capped) timeout.
    done, _ = wait(futures, timeout=max(0.0, deadline - clock()))
    executor.shutdown(wait=False, cancel_futures=True)
    return {
        req.connector.name: (_result_of(future, req) if future in done else None)
        for future, req in futures.items()
    }


def _result_of(future: Future[Fetched], request: PreparedRequest) -> Fetched:
    """A finished fetch; an unexpected error is that source's failure, never the guidance's."""
    error = future.exception()
    if error is None:
        return future.result()
    _log.error("connector_crashed", connector=request.connector.name, error=type(error).__name__)
    failure = _failure(request.connector, "unavailable", f"internal error ({type(error).__name__})")
    return Fetched({}, (failure,), utc_now())


def fetch_facts(
    connectors: ConnectorSet,
    known_facts: Mapping[str, object],
    *,
    fields: FieldCatalog,
    settings: Settings,
    client: httpx.Client | None = None,
    cache: FactCache | None = None,
    budget_seconds: float | None = None,
    clock: Clock = time.monotonic,
    now: Now = utc_now,
) -> ConnectorFacts:
    """Fetch every connector whose URL facts are known, concurrently, within the budget."""
    started = clock()
    budget = settings.connector_budget_seconds if budget_seconds is None else budget_seconds
    deadline = started + budget
    cache = DEFAULT_CACHE if cache is None else cache
    failures: list[SourceFailure] = []
    skipped: dict[str, tuple[str, ...]] = {}
    outcomes: dict[str, Fetched | None] = {}
    pending: list[PreparedRequest] = []
    for connector in connectors:
        prepared = prepare(connector, known_facts, fields, settings)
        if isinstance(prepared, SourceFailure):
            failures.append(prepared)
        elif isinstance(prepared, tuple):
            skipped[connector.name] = prepared
        elif (hit := cache.get(prepared.cache_key)) is not None:
            outcomes[connector.name] = hit
        else:
            pending.append(prepared)
    if pending:
        http = shared_client() if client is None else client
        sent = _send_all(pending, http, fields, deadline, clock, now)
        for request in pending:
            fetched = sent[request.connector.name]
            if fetched is not None and fetched.ok:
                cache.put(request.cache_key, fetched, request.connector.spec.cache_ttl_seconds)
            outcomes[request.connector.name] = fetched
    elapsed = clock() - started
    values: dict[str, object] = {}
    provenance: dict[str, FactSource] = {}
    for connector in connectors:
        if connector.name not in outcomes:
            continue
        fetched = outcomes[connector.name]
        _log_outcome(connector, fetched, budget)
        if fetched is None:
            failures.append(
                _failure(connector, "over_budget", f"no answer within the {budget:.2f} s budget")
            )
            continue
        failures.extend(fetched.failures)
        source = FactSource(
            kind="connector",
            connector=connector.name,
            label=connector.spec.label,
            fetched_at=fetched.fetched_at,
            cached=fetched.cached,
        )
        for key, value in fetched.values.items():
            if key not in values:
                values[key] = value
                provenance[key] = source
    return ConnectorFacts(
        values=values,
        provenance=provenance,
        failures=tuple(failures),
        skipped=skipped,
        elapsed_seconds=elapsed,
    )
