"""Shared bench helpers: percentiles, the environment, processes, ports and waiting."""

from __future__ import annotations

import math
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from backend.settings import REPO_ROOT

PYTHON = sys.executable


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) with linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def mean(values: Iterable[float]) -> float:
    """The arithmetic mean; NaN for no values."""
    items = list(values)
    return sum(items) / len(items) if items else math.nan


@dataclass(frozen=True)
class Environment:
    """Where and when the bench ran."""

    date: str
    python: str
    cpus: int
    cpu_model: str
    platform: str
    load_before: tuple[float, float, float]
    git_commit: str
    quick: bool

    def to_json(self) -> dict[str, Any]:
        """The environment as JSON."""
        return {
            "date": self.date,
            "python": self.python,
            "cpus": self.cpus,
            "cpu_model": self.cpu_model,
            "platform": self.platform,
            "load_before": list(self.load_before),
            "git_commit": self.git_commit,
            "quick": self.quick,
        }


def _cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or the platform's guess)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git_commit() -> str:
    """The checked-out commit (short), '+dirty' when the tree has changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 (git from PATH)
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def describe_environment(quick: bool) -> Environment:
    """Describe this machine and run."""
    return Environment(
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        python=platform.python_version(),
        cpus=os.cpu_count() or 1,
        cpu_model=_cpu_model(),
        platform=f"{platform.system()} {platform.release()} {platform.machine()}",
        load_before=os.getloadavg(),
        git_commit=_git_commit(),
        quick=quick,
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A port free right now on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_http(url: str, process: subprocess.Popen[Any] | None, timeout: float = 120.0) -> None:
    """Poll `url` until it answers (any status); RuntimeError when the process dies first.

    The timeout is generous: on a machine shared with other work, two uvicorn workers may
    take well over 30 s to import and bind; a crash still fails at once (process.poll()).
    """
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {timeout:g}s") from None
            time.sleep(0.05)


def stop_process(process: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    """Terminate a child process (SIGTERM, then SIGKILL) and reap it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)


def read_rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB, from /proc (0, 0 when unavailable)."""
    rss = hwm = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return 0, 0
    return rss, hwm


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (from /proc; 0 when unavailable)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[-1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_pids(pid: int) -> list[int]:
    """The direct children of a process (from /proc/*/stat)."""
    children: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="utf-8")
        except OSError:
            continue
        # pid (comm) state ppid …; comm may contain spaces, so split after the last ')'.
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(pid):
            children.append(int(entry.name))
    return sorted(children)


def cmdline(pid: int) -> str:
    """A process's command line, arguments joined by spaces ('' when unavailable)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode("utf-8", "replace").strip()


def fmt(value: float, digits: int = 1) -> str:
    """A number for a table: fixed digits, '–' for NaN."""
    if math.isnan(value):
        return "–"
    return f"{value:,.{digits}f}"
