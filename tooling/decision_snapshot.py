"""Decision snapshot: every demo ticket plus fixed-seed generated tickets, decided and rendered.

`python -m tooling.decision_snapshot --write FILE` records each `explain` input with its
decision (canonical JSON lines); `--check FILE` decides the recorded inputs again and
prints a readable diff of what changed. The inputs are stored, so a refactor of the
generator cannot move the baseline: the proof that guides decide byte-for-byte alike.
"""

from __future__ import annotations

import argparse
import difflib
import json
import random
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from backend.cli import EXPLAIN_DEFAULTS
from backend.demo import DEMO_CASES
from backend.domain.engine import EngineOptions, decide
from backend.domain.facts import parse_input
from backend.domain.fields import FieldCatalog, FieldDef
from backend.domain.guides import GuideCatalog, load_catalog
from backend.domain.render import TextRenderer

SEED = 20261130
GENERATED_PER_GUIDE = 200
# What a snapshot keeps of a decision (the `explain` JSON's keys).
KEPT = (
    "guide",
    "suggested",
    "branch",
    "branch_label",
    "eligible",
    "outcome",
    "blocks",
    "missing",
    "notices",
    "checks",
    "texts",
    "tags",
    "note",
    "fields_set",
)
_AMOUNTS = (0, 500, 1000, 8500, 9000, 12500, 18000, 23000, 30000)
_HOURS = ("09:00", "13:30", "14:00", "14:10", "17:40", "18:00", "18:30", "23:40")
_SPLITS = ("1000x3", "5000x1,1000x4", "9000x1", "10000x1", "3000x2")


def _sample(field: FieldDef, rng: random.Random) -> Any:
    """One JSON value of a field's type, or None (unknown) a quarter of the time."""
    if field.type != "integer" and rng.random() < 0.25:
        return None
    match field.type:
        case "tristate":
            return rng.choice((True, False))
        case "dropdown":
            return rng.choice(sorted(field.options))
        case "amount":
            return rng.choice(_AMOUNTS)
        case "integer":
            return rng.choice((0, 0, 1, 2))
        case "date":
            return rng.choice(("2024-11-19", "2024-11-20"))
        case "datetime":
            return f"{rng.choice(('2024-11-19', '2024-11-20'))}T{rng.choice(_HOURS)}"
        case "plate":
            return rng.choice(("12가3456", "345나6789"))
        case "call_id":
            return rng.choice(("880000417", "880000952", "1234567"))
        case "coupon_split":
            return rng.choice(_SPLITS)
        case _:
            return rng.choice(("샘플", "운행 중 앱 오류"))


def generated_inputs(catalog: GuideCatalog, count: int = GENERATED_PER_GUIDE) -> Iterator[Any]:
    """Fixed-seed `explain` inputs: per guide, random values of its fields and 상담유형."""
    rng = random.Random(SEED)
    fields: FieldCatalog = catalog.fields
    for guide_id in sorted(catalog.guides):
        guide = catalog.guides[guide_id]
        consults = sorted(guide.consult_types)
        for _ in range(count):
            values: dict[str, Any] = {}
            if rng.random() < 0.95:
                values["consult_type"] = rng.choice(consults)
            for key in guide.fields:
                if key == "prior_reconnections":
                    continue
                value = _sample(fields.get(key), rng)
                if value is not None:
                    values[key] = value
            entry: dict[str, Any] = {"fields": values}
            if "consult_type" not in values:
                entry["subject"] = " ".join(rng.sample(list(guide.keywords), 2))
            if "prior_reconnections" in guide.fields:
                entry["prior_reconnections"] = rng.choice((0, 0, 0, 1))
            yield entry


def mutated_inputs(catalog: GuideCatalog, count: int = GENERATED_PER_GUIDE) -> Iterator[Any]:
    """Fixed-seed demo tickets with one to three fields changed or emptied (deep paths)."""
    rng = random.Random(SEED + 1)
    fields: FieldCatalog = catalog.fields
    for guide_id in sorted(catalog.guides):
        guide = catalog.guides[guide_id]
        bases = [c.ticket for c in DEMO_CASES if c.guide == guide_id]
        keys = [k for k in guide.fields if k != "prior_reconnections"]
        for _ in range(count):
            entry = json.loads(json.dumps(rng.choice(bases)))
            for key in rng.sample(keys, rng.randint(1, 3)):
                value = _sample(fields.get(key), rng)
                if value is None:
                    entry["fields"].pop(key, None)
                else:
                    entry["fields"][key] = value
            yield entry


def all_inputs(catalog: GuideCatalog) -> list[tuple[str, Any]]:
    """Every demo ticket (by name), then the generated and the mutated ones (numbered)."""
    cases = [(f"demo:{case.name}", case.ticket) for case in DEMO_CASES]
    cases += [(f"gen:{i:04d}", t) for i, t in enumerate(generated_inputs(catalog))]
    cases += [(f"mut:{i:04d}", t) for i, t in enumerate(mutated_inputs(catalog))]
    return cases


def decide_input(
    data: Any, catalog: GuideCatalog, renderer: TextRenderer, options: EngineOptions
) -> dict[str, Any]:
    """The kept part of the decision `guidepost explain` prints for that input."""
    ticket = parse_input(json.loads(json.dumps(data)), catalog.fields, None)
    decision = decide(ticket, catalog, renderer, options).to_json()
    return {key: decision[key] for key in KEPT}


def _line(name: str, data: Any, decision: dict[str, Any]) -> str:
    record = {"name": name, "input": data, "decision": decision}
    return json.dumps(record, ensure_ascii=False, sort_keys=True)


def snapshot_lines(guides_dir: Path, records: list[tuple[str, Any]] | None = None) -> list[str]:
    """One canonical JSON line per input (the given ones, or demo + generated)."""
    catalog = load_catalog(guides_dir)
    renderer = TextRenderer(catalog)
    options = EngineOptions(admin_call_url=EXPLAIN_DEFAULTS[2])
    inputs = records if records is not None else all_inputs(catalog)
    return [
        _line(name, data, decide_input(data, catalog, renderer, options)) for name, data in inputs
    ]


def read_snapshot(path: Path) -> list[tuple[str, Any, str]]:
    """(name, input, line) of every recorded line."""
    rows = []
    for line in path.read_text("utf-8").splitlines():
        record = json.loads(line)
        rows.append((record["name"], record["input"], line))
    return rows


def diff_snapshot(path: Path, guides_dir: Path, limit: int = 40) -> list[str]:
    """Decide the recorded inputs again; a readable diff per changed decision (empty: same)."""
    recorded = read_snapshot(path)
    fresh = snapshot_lines(guides_dir, [(name, data) for name, data, _ in recorded])
    report: list[str] = []
    for (name, _data, old), new in zip(recorded, fresh, strict=True):
        if old == new:
            continue
        before = json.dumps(json.loads(old)["decision"], ensure_ascii=False, indent=1).splitlines()
        after = json.dumps(json.loads(new)["decision"], ensure_ascii=False, indent=1).splitlines()
        report.append(f"--- {name}")
        report.extend(difflib.unified_diff(before, after, "baseline", "now", n=1, lineterm=""))
        if len(report) > limit * 20:
            report.append("… (more differences left off)")
            break
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Write or check a decision snapshot; exit 1 with a diff when decisions moved."""
    parser = argparse.ArgumentParser(prog="python -m tooling.decision_snapshot")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", metavar="FILE")
    mode.add_argument("--check", metavar="FILE")
    # A ruling that changes decisions on purpose: the recorded inputs stay, their decisions
    # are made again (regenerating the inputs would leave nothing to compare against).
    mode.add_argument("--redecide", metavar="FILE")
    parser.add_argument("--guides-dir", default=str(EXPLAIN_DEFAULTS[0]))
    args = parser.parse_args(argv)
    guides_dir = Path(args.guides_dir)
    if args.write:
        lines = snapshot_lines(guides_dir)
        Path(args.write).write_text("\n".join(lines) + "\n", encoding="utf-8")
        sys.stdout.write(f"decision snapshot: {len(lines)} decisions written to {args.write}\n")
        return 0
    if args.redecide:
        path = Path(args.redecide)
        recorded = [(name, data) for name, data, _ in read_snapshot(path)]
        lines = snapshot_lines(guides_dir, recorded)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        sys.stdout.write(f"decision snapshot: {len(lines)} recorded inputs decided again\n")
        return 0
    report = diff_snapshot(Path(args.check), guides_dir)
    if report:
        sys.stdout.write("\n".join(report) + "\n")
        return 1
    sys.stdout.write("decision snapshot: every decision is unchanged\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
