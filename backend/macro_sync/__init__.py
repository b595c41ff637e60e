"""Macro generator, plan, sync and scheduler: the guides' texts as Zendesk macros.

- `generator`: guide catalog + field map → the desired macros (pure).
- `plan`: desired macros + the account's macros → what a sync would do (pure).
- `sync`: list once, apply the plan through a `ZendeskGateway`, recheck, report.
- `lease`: the lease held in Zendesk that keeps syncs on other hosts out.
- `drift`: compare each guide's source Help Center article with the recorded hash.
- `schedule`: `--every` loop with jitter and a single-instance file lock.
- `commands`: the thin CLI functions `guidepost macros render / plan / sync` call.
"""

from __future__ import annotations

from backend.macro_sync.generator import DesiredMacro, build_desired, generate_macros, read_key
from backend.macro_sync.plan import Plan, PlanItem, build_plan
from backend.macro_sync.sync import SyncReport, apply_plan, sync_macros

__all__ = [
    "DesiredMacro",
    "Plan",
    "PlanItem",
    "SyncReport",
    "apply_plan",
    "build_desired",
    "build_plan",
    "generate_macros",
    "read_key",
    "sync_macros",
]
