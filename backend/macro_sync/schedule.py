"""`macros sync --every 1h`: an in-process loop with jitter under a single-instance lock.

The lock is a `filelock` lock file (an OS-level `flock`): the kernel drops it when
the process dies, so a killed scheduler never leaves a stale lock behind. Several
replicas on several machines do not share it: run those as a Kubernetes CronJob
with `concurrencyPolicy: Forbid` instead (see README).
"""

from __future__ import annotations

import random
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from filelock import FileLock, Timeout

from backend.errors import GuidepostError, InputError

LOCK_NAME = "guidepost-macro-sync.lock"
JITTER = 0.10
EXIT_FAILED = 1
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_INTERVAL_RE = re.compile(r"(\d+(?:\.\d+)?)([smhd])")


class LockHeldError(GuidepostError):
    """Another scheduler (or sync) on this machine holds the lock."""

    title = "Macro sync already running"
    slug = "macro-sync-locked"


def parse_interval(text: str) -> float:
    """Read `90s`, `30m`, `1h`, `2h`, `1h30m` as seconds; InputError otherwise."""
    compact = (text or "").strip().lower().replace(" ", "")
    parts = _INTERVAL_RE.findall(compact)
    if not parts or "".join(number + unit for number, unit in parts) != compact:
        raise InputError(
            f"--every {text!r}: expected a duration like 90s, 30m, 1h or 1h30m", field="every"
        )
    seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)
    if seconds <= 0:
        raise InputError(f"--every {text!r}: the interval must be positive", field="every")
    return seconds


def get_default_lock_path() -> Path:
    """Return the lock file every macro sync on this machine shares by default."""
    return Path(tempfile.gettempdir()) / LOCK_NAME


@contextmanager
def hold_single_instance(lock_path: Path) -> Iterator[None]:
    """Hold the machine-wide lock for the block, or raise LockHeldError at once."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise LockHeldError(
            f"another macro sync or scheduler holds {lock_path}; not starting (nothing done)"
        ) from None
    try:
        yield
    finally:
        lock.release()


def add_jitter(interval: float, rng: random.Random, jitter: float = JITTER) -> float:
    """Spread an interval by ±jitter so schedulers started together drift apart."""
    return interval * rng.uniform(1.0 - jitter, 1.0 + jitter)


def run_every(
    run_once: Callable[[], int],
    interval: float,
    *,
    log: TextIO,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    max_iterations: int | None = None,
) -> int:
    """Run now, then every interval ±10 %, past failed runs; return the last run's code."""
    rng = rng or random.Random()
    iteration = 0
    code = 0
    while True:
        iteration += 1
        started = time.monotonic()
        try:
            code = run_once()
        except GuidepostError as exc:
            log.write(f"macros sync: run {iteration} failed: {exc.slug}: {exc.detail}\n")
            code = EXIT_FAILED
        except Exception as exc:  # a scheduler outlives one broken run: log it, go on
            log.write(f"macros sync: run {iteration} crashed: {type(exc).__name__}: {exc}\n")
            code = EXIT_FAILED
        if max_iterations is not None and iteration >= max_iterations:
            return code
        pause = add_jitter(interval, rng)
        elapsed = time.monotonic() - started
        log.write(
            f"macros sync: run {iteration} exited {code} after {elapsed:.1f}s; "
            f"next run in {pause:.0f}s\n"
        )
        log.flush()
        sleep(pause)
