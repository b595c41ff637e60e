"""What every bench section's report shares: verdicts, Markdown tables, saved charts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

__all__ = ["CHART_DIR", "Verdict", "plt", "save_chart", "table", "times_over"]

CHART_DIR = "bench"


@dataclass
class Verdict:
    """One target, what was measured, and whether it holds."""

    section: str
    target: str
    measured: str
    met: bool | None
    note: str = ""

    def cell(self) -> str:
        """The verdict column."""
        if self.met is None:
            return "not measured"
        return "**met**" if self.met else "**missed**"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table (numbers right-aligned when the header says so with a leading '>')."""
    aligns = ["---:" if h.startswith(">") else "---" for h in headers]
    names = [h.removeprefix(">") for h in headers]
    lines = ["| " + " | ".join(names) + " |", "|" + "|".join(aligns) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def times_over(measured: float, target: float) -> str:
    """'1.2× the target' style ratio."""
    if math.isnan(measured) or target == 0:
        return "–"
    return f"{measured / target:.1f}×"


def save_chart(fig: Figure, out_dir: Path, name: str) -> str:
    """Save a figure under docs/bench/ and return its Markdown-relative path."""
    path = out_dir / CHART_DIR / name
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return f"{CHART_DIR}/{name}"
