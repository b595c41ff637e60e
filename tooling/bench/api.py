"""Section 2: guidance and apply through uvicorn against the emulator, with injected latency."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from backend.demo import DEMO_CASES
from tooling.bench.clients import PARALLEL, ClientControl, compare_clients
from tooling.bench.common import mean, percentile
from tooling.bench.load import LoadRun, RequestSpec, run_load
from tooling.bench.server import READ_FLOOR_PATH
from tooling.bench.stack import BackendProcess, EmulatorProcess, backend_settings
from tooling.bench.targets import LEDGER_CLAIM, TicketFactory, apply_spec, ticket_class
from tooling.testing import make_token

LATENCIES_MS = (0, 150)
CONCURRENCY = (1, 16, 64)
ACTIONS = ("guidance", "apply")
READ_FLOOR = "zendesk read"  # the floor's action name in the tables
ALTERNATING_ROUNDS = 4  # guidance and the floor at c=1: rounds of each, alternating
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
CLIENT_CONTROL_MAX = 200  # guidance requests per client and round in the client control


# Zendesk's permissions of the agent (an admin: one user read), cached per process for
# GUIDEPOST_AUTHZ_CACHE_SECONDS: counted apart from the per-action model below.
AUTHZ_ROUTE_PREFIXES = ("GET /api/v2/users", "GET /api/v2/custom_roles", "GET /api/v2/group")


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
    # The requests that made exactly one Zendesk call (the floor's count): their share,
    # overhead p50, and p50 of the FastAPI app's own time (app time − gateway time).
    one_call_share: float = math.nan
    one_call_overhead_p50: float = math.nan
    one_call_app_p50: float = math.nan

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
    # One bare Zendesk read through the same stack, c=1, per latency (the stack's floor).
    read_floor: list[ApiRun] = field(default_factory=list)
    # Guidance at c=1, 0 ms, again after the apply runs grew the emulator's store.
    grown_store: ApiRun | None = None
    pool_tickets: int = 0  # tickets the apply runs created before that control
    grown_store_parallel: ApiRun | None = None  # the same at concurrency PARALLEL

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
            "read_floor": [run.to_json() for run in self.read_floor],
            "grown_store": None if self.grown_store is None else self.grown_store.to_json(),
            "pool_tickets": self.pool_tickets,
            "grown_store_parallel": (
                None if self.grown_store_parallel is None else self.grown_store_parallel.to_json()
            ),
        }

    def find(self, action: str, latency: int, concurrency: int) -> ApiRun | None:
        """The run of an action at a latency and concurrency, if measured."""
        for run in self.runs:
            if (run.action, run.latency_ms, run.concurrency) == (action, latency, concurrency):
                return run
        return None


def guidance_specs(ticket_ids: Sequence[int], count: int) -> list[RequestSpec]:
    """`count` guidance requests cycling through the demo tickets."""
    return [
        RequestSpec("GET", f"/v1/tickets/{ticket_ids[i % len(ticket_ids)]}/guidance")
        for i in range(count)
    ]


def read_floor_specs(ticket_ids: Sequence[int], count: int) -> list[RequestSpec]:
    """`count` bare ticket reads through the bench server's floor route, cycling the tickets."""
    return [
        RequestSpec("GET", READ_FLOOR_PATH.format(ticket_id=ticket_ids[i % len(ticket_ids)]))
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
    single = [s for s in ok if s.calls == 1]
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
        one_call_share=len(single) / len(ok) if ok else math.nan,
        one_call_overhead_p50=percentile([s.overhead_ms for s in single], 50),
        one_call_app_p50=percentile([s.app_ms - s.gateway_ms for s in single], 50),
    )


@dataclass
class _Tally:
    """One row's load runs, with the emulator's calls and the backend's CPU during them."""

    parts: list[LoadRun] = field(default_factory=list)
    calls: int = 0
    cpu_seconds: float = 0.0

    def run(
        self,
        emulator: EmulatorProcess,
        backend: BackendProcess,
        specs: Sequence[RequestSpec],
        concurrency: int,
        keep_alive: bool = True,
    ) -> None:
        """Send `specs`, counting the emulator's requests and the backend's CPU meanwhile."""
        headers = auth_headers(emulator)
        emulator.reset_counters()
        before = backend.cpu_seconds()
        self.parts.append(run_load(backend.url, specs, concurrency, headers, keep_alive=keep_alive))
        self.cpu_seconds += backend.cpu_seconds() - before
        self.calls += int(emulator.counters()["total"])

    def row(
        self, backend: BackendProcess, *, action: str, latency_ms: int, concurrency: int
    ) -> ApiRun:
        """The runs so far as one table row."""
        merged = LoadRun(
            samples=[sample for part in self.parts for sample in part.samples],
            wall_seconds=sum(part.wall_seconds for part in self.parts),
            client_cpu_seconds=sum(part.client_cpu_seconds for part in self.parts),
        )
        summary = summarize(
            merged,
            action=action,
            latency_ms=latency_ms,
            concurrency=concurrency,
            emulator_calls=self.calls,
            variant=backend.variant,
            workers=backend.workers,
        )
        requests = len(merged.samples)
        summary.backend_cpu_ms = self.cpu_seconds * 1000 / requests if requests else math.nan
        return summary


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
    tally = _Tally()
    tally.run(emulator, backend, specs, concurrency, keep_alive)
    return tally.row(backend, action=action, latency_ms=latency_ms, concurrency=concurrency)


def _row(
    emulator: EmulatorProcess,
    backend: BackendProcess,
    specs: Sequence[RequestSpec],
    action: str,
    latency: int,
    concurrency: int,
    progress: Any,
) -> ApiRun:
    """Measure one row at the emulator's current latency and print its progress line."""
    run = measure(
        emulator, backend, specs, action=action, latency_ms=latency, concurrency=concurrency
    )
    _progress(run, progress)
    return run


def _progress(run: ApiRun, progress: Any) -> None:
    """One row's progress line."""
    progress(
        f"  {run.action:8s} {run.latency_ms:3d} ms c={run.concurrency:<2d} n={run.requests:<5d} "
        f"{run.rps:7.1f} req/s  p50 {run.total_p50:7.1f} ms  "
        f"overhead p50 {run.overhead_p50:6.1f} ms  calls {run.calls_per_action:.2f}"
    )


def measure_alternating(
    emulator: EmulatorProcess,
    backend: BackendProcess,
    specs: tuple[Sequence[RequestSpec], Sequence[RequestSpec]],
    actions: tuple[str, str],
    latency: int,
    rounds: int = ALTERNATING_ROUNDS,
) -> tuple[ApiRun, ApiRun]:
    """Two request lists at concurrency 1 in alternating rounds; a row for each."""
    tallies = (_Tally(), _Tally())
    for index in range(rounds):
        for which in (0, 1) if index % 2 == 0 else (1, 0):
            chunk = specs[which][index::rounds]
            if chunk:
                tallies[which].run(emulator, backend, chunk, 1)
    first, second = (
        tally.row(backend, action=action, latency_ms=latency, concurrency=1)
        for tally, action in zip(tallies, actions, strict=True)
    )
    return first, second


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
        # Guidance rows and the floor first, on the demo store: the emulator's search
        # scans its whole store (Zendesk's is an index), so the apply pools would grow what
        # each 원콜 load's search scans. The control at the end repeats guidance after them.
        for latency in sizes:
            emulator.set_latency(latency)
            for concurrency, count in sizes[latency].items():
                specs = guidance_specs(emulator.ticket_ids, count)
                if concurrency != 1:
                    result.runs.append(
                        _row(emulator, backend, specs, "guidance", latency, concurrency, progress)
                    )
                    continue
                # The stack's floor for one Zendesk call, in rounds alternating with
                # guidance's: the machine's drift falls on both alike.
                floor_specs = read_floor_specs(emulator.ticket_ids, count)
                guidance, floor = measure_alternating(
                    emulator, backend, (specs, floor_specs), ("guidance", READ_FLOOR), latency
                )
                for run in (guidance, floor):
                    _progress(run, progress)
                result.runs.append(guidance)
                result.read_floor.append(floor)
            emulator.set_latency(0)
        for latency in sizes:
            for concurrency, count in sizes[latency].items():
                # Made at 0 ms latency, each pool just before its run.
                pool = factory.create(max(2, int(count * APPLY_SHARE[latency])))
                result.pool_tickets += len(pool)
                specs = [apply_spec(target) for target in pool]
                emulator.set_latency(latency)
                result.runs.append(
                    _row(emulator, backend, specs, "apply", latency, concurrency, progress)
                )
                emulator.set_latency(0)
        result.runs.sort(key=lambda r: (r.latency_ms, ACTIONS.index(r.action), r.concurrency))
        # Control: guidance at 0 ms again, on the store the apply pools grew: at c=1, and at
        # the throughput row's concurrency (where the emulator's CPU competes with the backend).
        for concurrency in sorted({1, PARALLEL} & set(sizes.get(0, {}))):
            specs = guidance_specs(emulator.ticket_ids, sizes[0][concurrency])
            row = _row(emulator, backend, specs, "guidance", 0, concurrency, progress)
            if concurrency == 1:
                result.grown_store = row
            else:
                result.grown_store_parallel = row
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
        control_specs = guidance_specs(emulator.ticket_ids, min(count, CLIENT_CONTROL_MAX))
        run_load(backend.url, control_specs[:36], 1, auth_headers(emulator))  # warm up
        low = sizes[min(sizes)]
        result.clients = compare_clients(
            backend.url,
            auth_headers(emulator),
            control_specs,
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
