"""Run Guidepost in a fresh interpreter with its own catalog-cache folder (explain tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path


def run_fresh_python(
    args: Sequence[str],
    cwd: Path,
    cache_home: Path,
    *,
    env: Mapping[str, str] | None = None,
    drop: tuple[str, ...] = ("GUIDEPOST_",),
) -> str:
    """`python <args>` without the variables named by `drop`; its standard output."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    clean |= {"XDG_CACHE_HOME": str(cache_home), **(env or {})}
    done = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=True,
    )
    return done.stdout
