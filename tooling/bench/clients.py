"""Control of section 2: the lean load client against the clients of earlier reports.

The same backend process answers each, in rounds whose order rotates (each client first
in turn), so drift on a shared machine falls on all alike. Figures per client: a bare
`/healthz` (the floor), guidance at concurrency 1 (total and overhead), guidance at
concurrency 16 (throughput), and the client's own CPU per request in each.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tooling.bench.common import fmt, percentile
from tooling.bench.load import CLIENTS, Client, LoadRun, RequestSpec, run_load
from tooling.bench.markdown import table

PARALLEL = 16  # the throughput run's concurrency (the largest measured when smaller)


@dataclass
class ClientControl:
    """What one load client measured against the same backend, over all rounds."""

    client: str
    rounds: int = 0
    healthz_ms: list[float] = field(default_factory=list)
    healthz_cpu_s: float = 0.0
    healthz_requests: int = 0
    guidance_ms: list[float] = field(default_factory=list)
    overhead_ms: list[float] = field(default_factory=list)
    guidance_cpu_s: float = 0.0
    guidance_requests: int = 0
    parallel: int = PARALLEL
    parallel_rps: list[float] = field(default_factory=list)
    parallel_cpu_s: float = 0.0
    parallel_requests: int = 0
    errors: int = 0

    def add(self, healthz: LoadRun, guidance: LoadRun, parallel: LoadRun) -> None:
        """Add one round's three runs."""
        self.rounds += 1
        self.healthz_ms += [s.total_ms for s in healthz.ok]
        self.healthz_cpu_s += healthz.client_cpu_seconds
        self.healthz_requests += len(healthz.samples)
        self.guidance_ms += [s.total_ms for s in guidance.ok]
        self.overhead_ms += [s.overhead_ms for s in guidance.ok]
        self.guidance_cpu_s += guidance.client_cpu_seconds
        self.guidance_requests += len(guidance.samples)
        if parallel.wall_seconds > 0:
            self.parallel_rps.append(len(parallel.ok) / parallel.wall_seconds)
        self.parallel_cpu_s += parallel.client_cpu_seconds
        self.parallel_requests += len(parallel.samples)
        self.errors += healthz.errors + guidance.errors + parallel.errors

    @staticmethod
    def _per_request_ms(seconds: float, requests: int) -> float:
        return seconds * 1000 / requests if requests else math.nan

    @property
    def healthz_cpu_ms(self) -> float:
        """Client CPU per `/healthz` request (ms)."""
        return self._per_request_ms(self.healthz_cpu_s, self.healthz_requests)

    @property
    def guidance_cpu_ms(self) -> float:
        """Client CPU per guidance request at concurrency 1 (ms)."""
        return self._per_request_ms(self.guidance_cpu_s, self.guidance_requests)

    @property
    def parallel_cpu_ms(self) -> float:
        """Client CPU per guidance request at `parallel` (ms)."""
        return self._per_request_ms(self.parallel_cpu_s, self.parallel_requests)

    def to_json(self) -> dict[str, Any]:
        """Summary figures as JSON."""
        return {
            "client": self.client,
            "rounds": self.rounds,
            "errors": self.errors,
            "healthz_p50_ms": percentile(self.healthz_ms, 50),
            "healthz_p99_ms": percentile(self.healthz_ms, 99),
            "healthz_client_cpu_ms": self.healthz_cpu_ms,
            "guidance_p50_ms": percentile(self.guidance_ms, 50),
            "guidance_overhead_p50_ms": percentile(self.overhead_ms, 50),
            "guidance_overhead_p99_ms": percentile(self.overhead_ms, 99),
            "guidance_client_cpu_ms": self.guidance_cpu_ms,
            "parallel": self.parallel,
            "parallel_rps": percentile(self.parallel_rps, 50),
            "parallel_client_cpu_ms": self.parallel_cpu_ms,
        }


def compare_clients(
    url: str,
    headers: dict[str, str],
    guidance: list[RequestSpec],
    *,
    rounds: int,
    parallel: int = PARALLEL,
    progress: Callable[[str], Any] = print,
) -> list[ClientControl]:
    """Alternate the clients over `rounds` rounds against one warmed-up backend at `url`."""
    controls = {client: ClientControl(client, parallel=parallel) for client in CLIENTS}
    probes = [RequestSpec("GET", "/healthz")] * len(guidance)
    for index in range(rounds):
        # Rotated: each client takes each position in turn (reversing would pin the middle).
        shift = index % len(CLIENTS)
        order: list[Client] = [*CLIENTS[shift:], *CLIENTS[:shift]]
        for client in order:
            controls[client].add(
                run_load(url, probes, 1, headers, client=client),
                run_load(url, guidance, 1, headers, client=client),
                run_load(url, guidance * 2, parallel, headers, client=client),
            )
    for control in controls.values():
        figures = control.to_json()
        progress(
            f"  client {control.client:5s}: healthz p50 {figures['healthz_p50_ms']:.2f} ms, "
            f"guidance c=1 p50 {figures['guidance_p50_ms']:.1f} ms "
            f"(client CPU {figures['guidance_client_cpu_ms']:.2f} ms/req), "
            f"c={parallel} {figures['parallel_rps']:.1f} req/s"
        )
    return list(controls.values())


CLIENT_HEADERS = [
    "load client",
    ">`/healthz` p50",
    ">`/healthz` p99",
    ">client CPU",
    ">guidance c=1 p50",
    ">overhead p50",
    ">overhead p99",
    ">client CPU",
    ">guidance req/s, c=N",
    ">client CPU",
]
CLIENT_NAMES = {
    "lean": "lean (this report: blocking socket at c=1, asyncio streams above)",
    "asyncio": "lean on asyncio streams at c=1 too (wave 5–7 reports)",
    "httpx": "httpx `AsyncClient` (earlier reports)",
}


def clients_text(controls: list[ClientControl]) -> str:
    """The control table and what it shows ('' when not measured)."""
    if not controls:
        return ""
    rows = []
    for control in controls:
        f = control.to_json()
        rows.append(
            [
                CLIENT_NAMES.get(control.client, control.client),
                fmt(f["healthz_p50_ms"], 2),
                fmt(f["healthz_p99_ms"], 2),
                fmt(f["healthz_client_cpu_ms"], 2),
                fmt(f["guidance_p50_ms"], 1),
                fmt(f["guidance_overhead_p50_ms"], 1),
                fmt(f["guidance_overhead_p99_ms"], 1),
                fmt(f["guidance_client_cpu_ms"], 2),
                fmt(f["parallel_rps"], 1),
                fmt(f["parallel_client_cpu_ms"], 2),
            ]
        )
    first = controls[0]
    per_round = first.guidance_requests // max(first.rounds, 1)
    return f"""
**Control, load client: lean vs asyncio vs httpx.** The instrumented server, warmed up,
answers each client in {first.rounds} rounds of rotating order ({per_round}
`/healthz`, as many guidance requests at concurrency 1 and twice as many at
concurrency N = {first.parallel} per round and client). Client CPU = this process's CPU per
request in each run (`time.process_time`); it runs on the same two cores as the
backend and the emulator, so what the client spends is taken from them. The figures
above this control come from the lean client; compare with earlier reports (asyncio at
c=1, httpx before that) through this table. At concurrency 1 the lean client waits in
the socket's `recv()`: an answer wakes it directly, not through an event loop, and the
loop's wake-up after an idle wait is the client's cost, not the backend's.

{table(CLIENT_HEADERS, rows)}
"""
