"""Section 5: memory per backend worker and throughput with 1 → 2 uvicorn workers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tooling.bench.api import auth_headers, guidance_specs, measure
from tooling.bench.common import child_pids, cmdline, read_rss_kib
from tooling.bench.load import run_load
from tooling.bench.stack import BackendProcess, EmulatorProcess

WORKERS = (1, 2)
# (latency ms, concurrency, requests per worker count): quick and full.
QUICK_RUNS = ((0, 16, 160),)
FULL_RUNS = ((0, 16, 960), (0, 64, 1280), (150, 64, 1280))


@dataclass
class WorkerMemory:
    """Resident memory of each backend worker process (MiB)."""

    workers: int
    idle_mib: list[float]
    warm_mib: list[float]
    peak_mib: list[float]
    master_mib: float


@dataclass
class Throughput:
    """Guidance throughput at one latency and concurrency for 1 and 2 workers."""

    latency_ms: int
    concurrency: int
    requests: int
    rps: dict[int, float]
    p50_ms: dict[int, float]
    p99_ms: dict[int, float]

    @property
    def speedup(self) -> float:
        """rps with 2 workers over rps with 1."""
        return self.rps[2] / self.rps[1] if self.rps.get(1) else float("nan")


@dataclass
class ScaleResult:
    """What the scale section measured."""

    memory: list[WorkerMemory] = field(default_factory=list)
    throughput: list[Throughput] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The result as JSON."""
        return {
            "memory": [vars(m) for m in self.memory],
            "throughput": [{**vars(t), "speedup": t.speedup} for t in self.throughput],
        }


def worker_pids(backend: BackendProcess) -> tuple[list[int], int | None]:
    """The processes serving requests, and uvicorn's master when there are several."""
    if backend.workers == 1:
        return [backend.process.pid], None
    workers = [pid for pid in child_pids(backend.process.pid) if "spawn_main" in cmdline(pid)]
    return workers, backend.process.pid


def _mib(kib: int) -> float:
    return kib / 1024


Runs = tuple[tuple[int, int, int], ...]


def run_scale(
    emulator: EmulatorProcess,
    quick: bool,
    progress: Any = print,
    runs: Runs | None = None,
) -> ScaleResult:
    """Memory at idle / warm / peak and throughput for 1 and 2 workers."""
    runs = runs or (QUICK_RUNS if quick else FULL_RUNS)
    result = ScaleResult()
    measured: dict[tuple[int, int, int], Any] = {}
    for workers in WORKERS:
        emulator.set_latency(0)
        with BackendProcess(emulator, workers=workers) as backend:
            pids, master = worker_pids(backend)
            idle = [_mib(read_rss_kib(pid)[0]) for pid in pids]
            warm_up = guidance_specs(emulator.ticket_ids, 36 * workers)
            run_load(backend.url, warm_up, 4 * workers, auth_headers(emulator), keep_alive=False)
            warm = [_mib(read_rss_kib(pid)[0]) for pid in pids]
            for latency, concurrency, count in runs:
                emulator.set_latency(latency)
                run = measure(
                    emulator,
                    backend,
                    guidance_specs(emulator.ticket_ids, count),
                    action="guidance",
                    latency_ms=latency,
                    concurrency=concurrency,
                    keep_alive=False,
                )
                measured[(workers, latency, concurrency)] = run
                progress(
                    f"  workers={workers} {latency:3d} ms c={concurrency:<2d} "
                    f"{run.rps:6.1f} req/s p50 {run.total_p50:7.1f} ms"
                )
            emulator.set_latency(0)
            peak = [_mib(read_rss_kib(pid)[1]) for pid in pids]
            result.memory.append(
                WorkerMemory(
                    workers=workers,
                    idle_mib=idle,
                    warm_mib=warm,
                    peak_mib=peak,
                    master_mib=_mib(read_rss_kib(master)[0]) if master else 0.0,
                )
            )
    for latency, concurrency, count in runs:
        result.throughput.append(
            Throughput(
                latency_ms=latency,
                concurrency=concurrency,
                requests=count,
                rps={w: measured[(w, latency, concurrency)].rps for w in WORKERS},
                p50_ms={w: measured[(w, latency, concurrency)].total_p50 for w in WORKERS},
                p99_ms={w: measured[(w, latency, concurrency)].total_p99 for w in WORKERS},
            )
        )
    return result
