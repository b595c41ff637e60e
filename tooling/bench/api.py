"""Section 2: guidance and apply through uvicorn against the emulator, with injected latency."""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from backend.demo import DEMO_CASES, DemoCase, build_new_ticket
from backend.domain.engine import EngineOptions, decide
from backend.domain.facts import parse_input
from backend.domain.guides import GuideCatalog, load_catalog
from backend.domain.render import TextRenderer
from backend.service import decision_fingerprint
from tooling.bench.clients import PARALLEL, ClientControl, compare_clients
from tooling.bench.common import mean, percentile
from tooling.bench.load import LoadRun, RequestSpec, run_load
from tooling.bench.stack import BackendProcess, EmulatorProcess, backend_settings
from tooling.testing import make_token

LATENCIES_MS = (0, 150)
CONCURRENCY = (1, 16, 64)
ACTIONS = ("guidance", "apply")
OVERHEAD_P50_TARGET_MS = 3.0
OVERHEAD_P99_TARGET_MS = 10.0
RPS_TARGET = 150.0  # guidance requests/s, one worker, 0 ms Zendesk latency
NO_READ_CACHE = {
    "GUIDEPOST_GUIDANCE_HISTORY_CACHE_SECONDS": "0",
    "GUIDEPOST_TICKET_RECORD_CACHE_SECONDS": "0",
}
# Requests per run: (action, latency ms, concurrency) → count, quick and full.
QUICK_SIZES = {0: {1: 36, 16: 64, 64: 128}, 150: {1: 10, 16: 48, 64: 128}}
# c=1 at 150 ms: 200 guidance loads, 120 applies, so p99 is not simply the slowest sample.
FULL_SIZES = {0: {1: 400, 16: 1200, 64: 2400}, 150: {1: 200, 16: 480, 64: 1280}}
APPLY_SHARE = {0: 0.6, 150: 0.6}
ORIGIN_KEYS = ("origin_call_id", "forced_call_id")
CLIENT_CONTROL_MAX = 200  # guidance requests per client and round in the client control


def ticket_class(case: DemoCase) -> str:
    """Which Zendesk call pattern a demo ticket has."""
    fields = case.ticket.get("fields", {})
    consult = str(fields.get("consult_type") or "")
    if case.guide is None or case.branch == "none" or not consult:
        return "no guide / suggested"
    if case.guide == "force_reconnect":
        if "origin_call_id" in fields:
            return "force_reconnect, 원콜 ID known (+search)"
        return "force_reconnect, no 원콜 ID"
    return case.guide


# Zendesk's permissions of the agent (an admin: one user read), cached per process for
# GUIDEPOST_AUTHZ_CACHE_SECONDS: counted apart from the per-action model below.
AUTHZ_ROUTE_PREFIXES = ("GET /api/v2/users", "GET /api/v2/custom_roles", "GET /api/v2/group")
LEDGER_CLAIM = ", eligible (claims the ledger)"
# Eligible with no 강콜 ID: nothing to claim, so apply lists the ledger again (from Zendesk;
# free when apply's history read was itself Zendesk's, as with the read cache off).
LEDGER_RECHECK = ", eligible, no 강콜 ID (lists the ledger again)"


def expected_calls(action: str, klass: str) -> int:
    """Zendesk calls one action costs on a ticket class whose 원콜 has no ledger record yet.

    guidance: read (+ ledger list + fallback search when a 원콜 ID is known: the ledger
    holds nothing for it, so search is asked for pre-ledger history). apply: the same
    read, then an eligible 강콜 claims the ledger (create + list), then one write.
    apply again: the read finds its own fingerprint; the ledger then holds the claim,
    so an eligible 강콜 needs no search.
    """
    if klass == "no guide / suggested":
        return 1
    history = 2 if "+search" in klass else 0
    claim = 2 if LEDGER_CLAIM in klass else 0
    if action == "guidance":
        return 1 + history
    if action == "apply":
        return 1 + history + claim + 1
    return 1 + (1 if claim else history)


def is_authz_route(route: str) -> bool:
    """True for the reads of the agent's Zendesk permissions (cached per process)."""
    return route.startswith(AUTHZ_ROUTE_PREFIXES)


def is_appliable(case: DemoCase) -> bool:
    """True when apply writes for this case (a guide, not only suggested)."""
    return ticket_class(case) != "no guide / suggested"


@dataclass(frozen=True)
class ApplyTarget:
    """A fresh ticket to apply on, with the branch the agent saw."""

    ticket_id: int
    branch: str
    updated_at: str
    klass: str
    fingerprint: str = ""
    # The open form as the sidebar posts it (C2): custom_fields, tags, subject, description.
    form: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass
class CallCount:
    """Zendesk calls the emulator counted for one action on one class of ticket."""

    action: str
    klass: str
    tickets: int
    calls_min: int
    calls_max: int
    routes: dict[str, int]
    expected: int


@dataclass
class ApiRun:
    """One load run: an action at a latency and concurrency."""

    action: str
    latency_ms: int
    concurrency: int
    variant: str
    workers: int
    requests: int
    errors: int
    rps: float
    total_p50: float
    total_p99: float
    overhead_p50: float
    overhead_p99: float
    mean_total: float
    mean_zendesk: float
    mean_zenpy: float
    mean_app: float
    mean_http: float
    calls_per_action: float
    header_calls_per_action: float
    client_cpu_ms: float
    backend_cpu_ms: float = math.nan

    def to_json(self) -> dict[str, Any]:
        """The run as JSON."""
        return dict(vars(self))


@dataclass
class ApiResult:
    """What the HTTP section measured."""

    runs: list[ApiRun] = field(default_factory=list)
    calls: list[CallCount] = field(default_factory=list)
    healthz_p50_ms: float = math.nan
    healthz_p99_ms: float = math.nan
    healthz_client_cpu_ms: float = math.nan
    what_if: list[ApiRun] = field(default_factory=list)
    authz_calls: int = 0
    # Zendesk calls per handled ticket (tooling/bench/handled.py), fallback on and off.
    handled: list[Any] = field(default_factory=list)
    # TLS handshakes per guidance against an HTTPS emulator (tooling/bench/tls.py).
    tls: list[Any] = field(default_factory=list)
    # The lean load client against the httpx one, same backend (tooling/bench/clients.py).
    clients: list[ClientControl] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The result as JSON."""
        return {
            "runs": [run.to_json() for run in self.runs],
            "calls": [vars(count) for count in self.calls],
            "healthz_p50_ms": self.healthz_p50_ms,
            "healthz_p99_ms": self.healthz_p99_ms,
            "healthz_client_cpu_ms": self.healthz_client_cpu_ms,
            "what_if": [run.to_json() for run in self.what_if],
            "authz_calls": self.authz_calls,
            "handled": [run.to_json() for run in self.handled],
            "tls": [run.to_json() for run in self.tls],
            "clients": [control.to_json() for control in self.clients],
        }

    def find(self, action: str, latency: int, concurrency: int) -> ApiRun | None:
        """The run of an action at a latency and concurrency, if measured."""
        for run in self.runs:
            if (run.action, run.latency_ms, run.concurrency) == (action, latency, concurrency):
                return run
        return None


class TicketFactory:
    """Creates fresh apply targets in the emulator from the demo cases."""

    def __init__(self, emulator: EmulatorProcess) -> None:
        self.emulator = emulator
        settings = backend_settings(emulator)
        self.catalog: GuideCatalog = load_catalog(settings.guides_dir)
        self.renderer = TextRenderer(self.catalog)
        self.options = EngineOptions(admin_call_url=settings.admin_call_url)
        self.cases = [case for case in DEMO_CASES if is_appliable(case)]
        self._serial = 0

    def _variant(self, case: DemoCase) -> tuple[dict[str, Any], str, str, str]:
        """A copy of a case's input with unique call ids (no shared search history)."""
        ticket = copy.deepcopy(case.ticket)
        ticket.pop("prior_reconnections", None)
        fields = ticket.setdefault("fields", {})
        self._serial += 1
        for offset, key in enumerate(ORIGIN_KEYS):
            if key in fields:
                fields[key] = f"9{offset}{self._serial:08d}"
        parsed = parse_input(ticket, self.catalog.fields, None)
        decision = decide(parsed, self.catalog, self.renderer, self.options)
        klass = ticket_class(case)
        # The service claims only an eligible 강콜 that names its 강콜 ID.
        if "+search" in klass and decision.eligible and "forced_call_id" in fields:
            klass += LEDGER_CLAIM
        elif "+search" in klass and decision.eligible:
            klass += LEDGER_RECHECK
        return ticket, klass, decision.branch, decision_fingerprint(decision)

    def create(self, count: int) -> list[ApplyTarget]:
        """Create `count` tickets (cycling through the cases) and return them as targets."""
        jobs = []
        for index in range(count):
            case = self.cases[index % len(self.cases)]
            ticket, klass, branch, fingerprint = self._variant(case)
            new = build_new_ticket(ticket, self.catalog.fields, self.emulator.field_map)
            payload = {
                "ticket": {
                    "subject": new.subject,
                    "comment": {"body": new.description},
                    "tags": list(new.tags),
                    "custom_fields": [
                        {"id": fid, "value": value} for fid, value in new.custom_fields.items()
                    ],
                }
            }
            jobs.append((payload, branch, klass, fingerprint))
        headers = self.emulator.api_headers()
        with (
            httpx.Client(base_url=self.emulator.url, headers=headers, timeout=30.0) as client,
            ThreadPoolExecutor(max_workers=8) as pool,
        ):

            def post(job: tuple[dict[str, Any], str, str, str]) -> ApplyTarget:
                response = client.post("/api/v2/tickets.json", json=job[0])
                response.raise_for_status()
                created = response.json()["ticket"]
                ticket = job[0]["ticket"]
                form = {
                    "custom_fields": ticket["custom_fields"],
                    "tags": ticket["tags"],
                    "subject": ticket["subject"],
                    "description": ticket["comment"]["body"],
                }
                return ApplyTarget(
                    int(created["id"]), job[1], str(created["updated_at"]), job[2], job[3], form
                )

            return list(pool.map(post, jobs))


def apply_spec(target: ApplyTarget) -> RequestSpec:
    """The apply request for a target."""
    body = {
        "branch": target.branch,
        "ticket_updated_at": target.updated_at,
        "fingerprint": target.fingerprint,
    }
    return RequestSpec("POST", f"/v1/tickets/{target.ticket_id}/apply", body)


def guidance_specs(ticket_ids: Sequence[int], count: int) -> list[RequestSpec]:
    """`count` guidance requests cycling through the demo tickets."""
    return [
        RequestSpec("GET", f"/v1/tickets/{ticket_ids[i % len(ticket_ids)]}/guidance")
        for i in range(count)
    ]


def auth_headers(emulator: EmulatorProcess) -> dict[str, str]:
    """A fresh bearer token as the Zendesk app proxy signs it."""
    return {"Authorization": "Bearer " + make_token(backend_settings(emulator))}


def summarize(
    run: LoadRun,
    *,
    action: str,
    latency_ms: int,
    concurrency: int,
    emulator_calls: int,
    variant: str = "timed",
    workers: int = 1,
) -> ApiRun:
    """Reduce a load run to its table row."""
    ok = run.ok
    totals = [s.total_ms for s in ok]
    overheads = [s.overhead_ms for s in ok]
    requests = len(run.samples)
    return ApiRun(
        action=action,
        latency_ms=latency_ms,
        concurrency=concurrency,
        variant=variant,
        workers=workers,
        requests=requests,
        errors=run.errors,
        rps=len(ok) / run.wall_seconds if run.wall_seconds > 0 else math.nan,
        total_p50=percentile(totals, 50),
        total_p99=percentile(totals, 99),
        overhead_p50=percentile(overheads, 50),
        overhead_p99=percentile(overheads, 99),
        mean_total=mean(totals),
        mean_zendesk=mean(s.zendesk_ms for s in ok),
        mean_zenpy=mean(s.gateway_ms - s.zendesk_ms for s in ok),
        mean_app=mean(s.app_ms - s.gateway_ms for s in ok),
        mean_http=mean(s.total_ms - s.app_ms for s in ok),
        calls_per_action=emulator_calls / requests if requests else math.nan,
        header_calls_per_action=mean(s.calls for s in ok),
        client_cpu_ms=run.client_cpu_seconds * 1000 / requests if requests else math.nan,
    )


def measure(
    emulator: EmulatorProcess,
    backend: BackendProcess,
    specs: Sequence[RequestSpec],
    *,
    action: str,
    latency_ms: int,
    concurrency: int,
    keep_alive: bool = True,
) -> ApiRun:
    """Run the specs and count the emulator's requests during the run."""
    headers = auth_headers(emulator)
    emulator.reset_counters()
    cpu_before = backend.cpu_seconds()
    run = run_load(backend.url, specs, concurrency, headers, keep_alive=keep_alive)
    backend_cpu = backend.cpu_seconds() - cpu_before
    calls = int(emulator.counters()["total"])
    summary = summarize(
        run,
        action=action,
        latency_ms=latency_ms,
        concurrency=concurrency,
        emulator_calls=calls,
        variant=backend.variant,
        workers=backend.workers,
    )
    summary.backend_cpu_ms = backend_cpu * 1000 / len(specs) if specs else math.nan
    return summary


def count_calls(
    emulator: EmulatorProcess, backend: BackendProcess, factory: TicketFactory
) -> tuple[list[CallCount], int]:
    """Count, one request at a time, the Zendesk calls of each action per ticket class.

    Also returns the authorization reads seen meanwhile (0 while the warm-up's cache lives).
    """
    headers = auth_headers(emulator)
    found: dict[tuple[str, str], list[dict[str, int]]] = {}
    authz = [0]
    with httpx.Client(base_url=backend.url, headers=headers, timeout=60.0) as client:

        def counted(action: str, klass: str, method: str, path: str, body: Any = None) -> None:
            emulator.reset_counters()
            client.request(method, path, json=body).raise_for_status()
            routes = dict(emulator.counters()["by_route"])
            for route in [r for r in routes if is_authz_route(r)]:
                authz[0] += routes.pop(route)
            found.setdefault((action, klass), []).append(routes)

        for case, ticket_id in zip(DEMO_CASES, emulator.ticket_ids, strict=True):
            counted("guidance", ticket_class(case), "GET", f"/v1/tickets/{ticket_id}/guidance")
        for target in factory.create(len(factory.cases)):
            spec = apply_spec(target)
            counted("apply", target.klass, spec.method, spec.path, spec.body)
            counted("apply again", target.klass, spec.method, spec.path, spec.body)
    counts = []
    for (action, klass), runs in found.items():
        totals = [sum(routes.values()) for routes in runs]
        merged: dict[str, int] = {}
        for routes in runs:
            for route, number in routes.items():
                merged[route] = max(merged.get(route, 0), number)
        expected = expected_calls(action, klass)
        counts.append(
            CallCount(action, klass, len(runs), min(totals), max(totals), merged, expected)
        )
    return counts, authz[0]


Sizes = dict[int, dict[int, int]]


def run_api(
    emulator: EmulatorProcess,
    quick: bool,
    progress: Any = print,
    sizes: Sizes | None = None,
    tls_requests: int | None = None,
) -> ApiResult:
    """The whole HTTP section against a running emulator (sizes: latency → c → requests)."""
    sizes = sizes or (QUICK_SIZES if quick else FULL_SIZES)
    factory = TicketFactory(emulator)
    result = ApiResult()
    emulator.set_latency(0)
    headers = auth_headers(emulator)
    # The per-action counts are of one load with nothing cached (a backend whose read
    # cache is off); the handled-ticket section below counts what the cache saves.
    with BackendProcess(emulator, extra_env=NO_READ_CACHE) as backend:
        run_load(backend.url, guidance_specs(emulator.ticket_ids[:1], 1), 1, headers)
        result.calls, result.authz_calls = count_calls(emulator, backend, factory)
    with BackendProcess(emulator) as backend:
        warm_up = guidance_specs(emulator.ticket_ids, 2 * len(emulator.ticket_ids))
        run_load(backend.url, warm_up, 4, headers)
        probes = [RequestSpec("GET", "/healthz")] * (50 if quick else 200)
        healthz = run_load(backend.url, probes, 1, headers)
        result.healthz_p50_ms = percentile([s.total_ms for s in healthz.samples], 50)
        result.healthz_p99_ms = percentile([s.total_ms for s in healthz.samples], 99)
        result.healthz_client_cpu_ms = healthz.client_cpu_seconds * 1000 / len(probes)
        for latency in sizes:
            pools = {
                c: factory.create(max(2, int(sizes[latency][c] * APPLY_SHARE[latency])))
                for c in sizes[latency]
            }
            emulator.set_latency(latency)
            for action in ACTIONS:
                for concurrency in sizes[latency]:
                    if action == "guidance":
                        specs = guidance_specs(emulator.ticket_ids, sizes[latency][concurrency])
                    else:
                        specs = [apply_spec(target) for target in pools[concurrency]]
                    run = measure(
                        emulator,
                        backend,
                        specs,
                        action=action,
                        latency_ms=latency,
                        concurrency=concurrency,
                    )
                    progress(
                        f"  {action:8s} {latency:3d} ms c={concurrency:<2d} n={run.requests:<5d} "
                        f"{run.rps:7.1f} req/s  p50 {run.total_p50:7.1f} ms  "
                        f"overhead p50 {run.overhead_p50:6.1f} ms  calls {run.calls_per_action:.2f}"
                    )
                    result.runs.append(run)
            emulator.set_latency(0)
    # Controls, measured back to back: the instrumented server again, the unmodified
    # `guidepost serve`, and the what-if of the old code: a new gateway per request.
    count = sizes[min(sizes)][min(sizes[min(sizes)])]
    for variant in ("timed", "plain", "per_request"):
        with BackendProcess(emulator, variant=variant) as backend:
            specs = guidance_specs(emulator.ticket_ids, count)
            run_load(backend.url, specs[:36], 1, auth_headers(emulator))  # warm up
            run = measure(emulator, backend, specs, action="guidance", latency_ms=0, concurrency=1)
            progress(f"  control {variant}: p50 {run.total_p50:.1f} ms")
            result.what_if.append(run)
    # The load client's own share: the lean client against httpx, alternating rounds.
    with BackendProcess(emulator) as backend:
        guidance = guidance_specs(emulator.ticket_ids, min(count, CLIENT_CONTROL_MAX))
        run_load(backend.url, guidance[:36], 1, auth_headers(emulator))  # warm up
        low = sizes[min(sizes)]
        result.clients = compare_clients(
            backend.url,
            auth_headers(emulator),
            guidance,
            rounds=2 if quick else 3,
            parallel=PARALLEL if PARALLEL in low else max(low),
            progress=progress,
        )
    from tooling.bench.handled import run_handled  # (handled.py imports this module)

    for fallback in (True, False):
        handled = run_handled(emulator, factory, fallback)
        progress(f"  handled ticket, fallback {fallback}: {handled.mean_calls:.2f} calls")
        result.handled.append(handled)
    from tooling.bench.tls import run_tls

    result.tls = run_tls(tls_requests if tls_requests is not None else (40 if quick else 400))
    for tls in result.tls:
        progress(f"  TLS {tls.mode}: {tls.per_request:.2f} handshakes per guidance")
    return result
