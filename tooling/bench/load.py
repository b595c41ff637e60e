"""A small closed-loop load generator: `concurrency` asyncio workers, one httpx client each."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from tooling.bench.server import APP_MS, GATEWAY_MS, ZENDESK_CALLS, ZENDESK_MS


@dataclass(frozen=True)
class RequestSpec:
    """One request to send."""

    method: str
    path: str
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class Sample:
    """One answered request: client-side total and the server's stopwatch (ms)."""

    total_ms: float
    app_ms: float
    gateway_ms: float
    zendesk_ms: float
    calls: int
    status: int

    @property
    def overhead_ms(self) -> float:
        """Everything but Zendesk's own service time: Guidepost, Zenpy, HTTP, the client."""
        return self.total_ms - self.zendesk_ms


@dataclass
class LoadRun:
    """The samples of one run, its wall time and the client's own CPU time."""

    samples: list[Sample]
    wall_seconds: float
    client_cpu_seconds: float

    @property
    def ok(self) -> list[Sample]:
        """The samples answered 200."""
        return [s for s in self.samples if s.status == 200]

    @property
    def errors(self) -> int:
        """Requests not answered 200."""
        return sum(1 for s in self.samples if s.status != 200)


def _header_float(response: httpx.Response, name: str) -> float:
    """A float bench header, NaN when missing (e.g. the plain `guidepost serve`)."""
    raw = response.headers.get(name)
    return float(raw) if raw is not None else float("nan")


async def _run(
    base_url: str,
    specs: Sequence[RequestSpec],
    concurrency: int,
    headers: dict[str, str],
    keep_alive: bool,
) -> LoadRun:
    # One client (one keep-alive connection) per worker: a shared pool of many connections
    # costs httpx far more CPU per request (it scans the pool), stolen from the server.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1 if keep_alive else 0)
    # One TLS context for all clients: httpx builds (and loads CA files into) one per client.
    tls = ssl.create_default_context()
    clients = [
        httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120.0, verify=tls)
        for _ in range(concurrency)
    ]
    samples: list[Sample] = []
    pending = iter(specs)

    async def worker(client: httpx.AsyncClient) -> None:
        for spec in pending:
            started = time.perf_counter()
            response = await client.request(spec.method, spec.path, json=spec.body, headers=headers)
            total = (time.perf_counter() - started) * 1000
            calls = response.headers.get(ZENDESK_CALLS)
            samples.append(
                Sample(
                    total_ms=total,
                    app_ms=_header_float(response, APP_MS),
                    gateway_ms=_header_float(response, GATEWAY_MS),
                    zendesk_ms=_header_float(response, ZENDESK_MS),
                    calls=int(calls) if calls is not None else -1,
                    status=response.status_code,
                )
            )

    try:
        # Open the connections first, so the run does not pay for them.
        await asyncio.gather(*(client.get("/healthz") for client in clients))
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker(client) for client in clients))
        return LoadRun(
            samples=samples,
            wall_seconds=time.perf_counter() - wall,
            client_cpu_seconds=time.process_time() - cpu,
        )
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))


def run_load(
    base_url: str,
    specs: Sequence[RequestSpec],
    concurrency: int,
    headers: dict[str, str],
    *,
    keep_alive: bool = True,
) -> LoadRun:
    """Send every spec with `concurrency` requests in flight; return the samples.

    Without keep-alive every request opens a new connection, so uvicorn workers sharing
    a socket each take a share (kept-alive connections stay with whoever accepted them).
    """
    return asyncio.run(_run(base_url, specs, concurrency, headers, keep_alive))
