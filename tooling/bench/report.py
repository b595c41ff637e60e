"""Assemble docs/BENCHMARKS.md from the sections (each written beside its measurement)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tooling.bench.api import ApiResult
from tooling.bench.api_report import http_section
from tooling.bench.cli import CliResult, cli_section
from tooling.bench.common import Environment
from tooling.bench.connectors import FetchRow
from tooling.bench.engine import EngineResult, engine_section
from tooling.bench.extras import connectors_section, form_latency_section
from tooling.bench.macros import MacroResult, macros_section
from tooling.bench.markdown import Verdict, table
from tooling.bench.profile import ProfileResult
from tooling.bench.scale import ScaleResult, scale_section
from tooling.bench.sidebar import SidebarResult, sidebar_section


@dataclass
class Results:
    """Everything one bench run measured (a section is None when it did not run)."""

    environment: Environment
    engine: EngineResult | None = None
    api: ApiResult | None = None
    macros: MacroResult | None = None
    sidebar: SidebarResult | None = None
    scale: ScaleResult | None = None
    profile: ProfileResult | None = None
    cli: CliResult | None = None
    connectors: list[FetchRow] | None = None
    form_latency: dict[str, Any] | None = None
    section_seconds: dict[str, float] = field(default_factory=dict)
    load_after: tuple[float, float, float] = (math.nan, math.nan, math.nan)

    def to_json(self) -> dict[str, Any]:
        """All results as JSON."""
        return {
            "environment": self.environment.to_json(),
            "engine": self.engine.to_json() if self.engine else None,
            "api": self.api.to_json() if self.api else None,
            "macros": self.macros.to_json() if self.macros else None,
            "sidebar": self.sidebar.to_json() if self.sidebar else None,
            "scale": self.scale.to_json() if self.scale else None,
            "profile": self.profile.to_json() if self.profile else None,
            "cli": self.cli.to_json() if self.cli else None,
            "connectors": [row.to_json() for row in self.connectors]
            if self.connectors is not None
            else None,
            "form_latency": self.form_latency,
            "section_seconds": self.section_seconds,
            "load_after": list(self.load_after),
        }


# ---------------------------------------------------------------------------- document


def summary_section(verdicts: Sequence[Verdict]) -> str:
    """Targets vs measured, one row per target."""
    rows = [[v.section, v.target, v.measured, v.cell()] for v in verdicts]
    return (
        "## Targets vs measured\n\n"
        + table(["section", "target", "measured", "verdict"], rows)
        + "\n"
    )


def _loads(values: Sequence[float]) -> str:
    """A load average triple."""
    return ", ".join(f"{x:.2f}" for x in values)


def environment_section(results: Results) -> str:
    """Where and when, and how long each section took."""
    env = results.environment
    rows = [
        ["date", env.date],
        ["mode", "quick (`make bench QUICK=1`)" if env.quick else "full (`make bench`)"],
        ["CPU", f"{env.cpu_model} — {env.cpus} cores"],
        ["Python", env.python],
        ["OS", env.platform],
        ["commit", env.git_commit],
        [
            "load average before / after (1, 5, 15 min)",
            f"{_loads(env.load_before)} / {_loads(results.load_after)}",
        ],
        [
            "section wall times",
            ", ".join(f"{name} {secs:.0f} s" for name, secs in results.section_seconds.items()),
        ],
    ]
    return "## Environment\n\n" + table(["", ""], rows) + "\n"


def write_report(results: Results, out_dir: Path, remaining: str) -> Path:
    """Write docs/BENCHMARKS.md and the charts; return the document's path."""
    sections: list[str] = []
    verdicts: list[Verdict] = []
    if results.engine:
        text, found = engine_section(results.engine, out_dir)
        sections.append(text)
        verdicts += found
    if results.api:
        text, found = http_section(results.api, out_dir)
        sections.append(text)
        verdicts += found
    if results.macros:
        text, found = macros_section(results.macros, out_dir)
        sections.append(text)
        verdicts += found
    if results.sidebar:
        text, found = sidebar_section(results.sidebar, out_dir)
        sections.append(text)
        verdicts += found
    if results.form_latency:
        text, found = form_latency_section(results.form_latency)
        sections.append(text)
        verdicts += found
    if results.scale:
        text, found = scale_section(results.scale, results.api, out_dir)
        sections.append(text)
        verdicts += found
    if results.cli:
        text, found = cli_section(results.cli)
        sections.append(text)
        verdicts += found
    if results.connectors:
        text, found = connectors_section(results.connectors)
        sections.append(text)
        verdicts += found
    command = "python -m tooling.bench" + (" --quick" if results.environment.quick else "")
    header = f"""# Guidepost benchmarks

Generated by `make bench` (`{command}`)
on {results.environment.date} — do not edit by hand: change `tooling/bench/` and run it
again. Zendesk's rate limit (200–700 requests/min per account) and its round-trip time
are the real ceilings; these numbers show what Guidepost adds on top and how many API
calls it spends. All processes run on one machine on loopback; numbers from a machine
that is busy with other work (see the load average) are slower than on an idle one.
"""
    document = "\n".join(
        [header, environment_section(results), summary_section(verdicts), *sections, remaining]
    )
    path = out_dir / "BENCHMARKS.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document, encoding="utf-8")
    return path
