"""`python -m tooling.bench [--quick] [--out DIR]`: run every section, write the report."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from backend.settings import REPO_ROOT
from tooling.bench.common import describe_environment
from tooling.bench.report import Results, write_report

T = TypeVar("T")
SECTIONS = ("engine", "http", "macros", "sidebar", "scale", "cli", "connectors")
DOCS_DIR = REPO_ROOT / "docs"
# Quick or partial runs go to an ignored folder, so they never replace the full report.
QUICK_DIR = REPO_ROOT / "test-artifacts" / "bench-quick"


def log(message: str) -> None:
    """Progress on stderr."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def timed(results: Results, name: str, run: Callable[[], T]) -> T:
    """Run one section, noting its wall time."""
    log(f"[bench] {name} …")
    started = time.perf_counter()
    value = run()
    results.section_seconds[name] = time.perf_counter() - started
    log(f"[bench] {name} done in {results.section_seconds[name]:.0f} s")
    return value


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and write docs/BENCHMARKS.md and docs/bench/*.png."""
    parser = argparse.ArgumentParser(prog="python -m tooling.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (< 2 minutes)")
    parser.add_argument(
        "--out", help=f"output folder (default: {DOCS_DIR}; {QUICK_DIR} with --quick/--only)"
    )
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}"
    )
    args = parser.parse_args(argv)
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    unknown = only - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    quick: bool = args.quick
    partial = quick or only != set(SECTIONS)
    out_dir = Path(args.out) if args.out else (QUICK_DIR if partial else DOCS_DIR)
    if partial and out_dir.resolve() == DOCS_DIR.resolve():
        parser.error(
            f"--quick/--only never write to {DOCS_DIR}: the committed report is a full run"
        )
    started = time.perf_counter()
    results = Results(environment=describe_environment(quick))

    from tooling.bench.api import run_api
    from tooling.bench.engine import run_engine
    from tooling.bench.macros import QUICK_SIZES, SIZES, run_macros
    from tooling.bench.profile import profile_guidance
    from tooling.bench.remaining import remaining_section
    from tooling.bench.scale import run_scale
    from tooling.bench.sidebar import run_sidebar
    from tooling.bench.stack import EmulatorProcess

    if "engine" in only:
        seconds = 2.0 if quick else 10.0
        results.engine = timed(
            results,
            "engine",
            lambda: run_engine(seconds, 10 if quick else 50, 20 if quick else 200),
        )
    if "cli" in only:
        from tooling.bench.cli import run_cli

        results.cli = timed(results, "cli", lambda: run_cli(5 if quick else 20))
    if "connectors" in only:
        from backend.logs import configure_logging
        from tooling.bench.connectors import run_connectors

        # One connector_fetch line per source per round would drown the progress lines.
        configure_logging("WARNING", sys.stderr)
        results.connectors = timed(
            results, "connectors", lambda: run_connectors(5 if quick else 20)
        )
    if "macros" in only:
        sizes = QUICK_SIZES if quick else SIZES
        results.macros = timed(results, "macros", lambda: run_macros(sizes, progress=log))
    if only & {"http", "sidebar", "scale"}:
        with (
            tempfile.TemporaryDirectory(prefix="guidepost-bench-") as workdir,
            EmulatorProcess(Path(workdir)) as emulator,
        ):
            if "http" in only:
                results.api = timed(results, "http", lambda: run_api(emulator, quick, progress=log))
                results.profile = timed(
                    results,
                    "profile",
                    lambda: profile_guidance(emulator, 72 if quick else 360),
                )
            if "sidebar" in only:
                loads = 8 if quick else 30
                results.sidebar = timed(
                    results, "sidebar", lambda: run_sidebar(emulator, loads, progress=log)
                )
                from tooling.bench.form_latency import measure as measure_form_latency

                edits = 6 if quick else 30
                results.form_latency = timed(
                    results, "form latency", lambda: measure_form_latency(edits)
                )
            if "scale" in only:
                results.scale = timed(
                    results, "scale", lambda: run_scale(emulator, quick, progress=log)
                )
    results.load_after = os.getloadavg()
    path = write_report(results, out_dir, remaining_section(results))
    raw = out_dir / "bench" / "results.json"
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text(json.dumps(results.to_json(), indent=1, default=str) + "\n", encoding="utf-8")
    log(f"[bench] wrote {path} and {raw.parent}/ in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
