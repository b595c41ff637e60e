"""Report sections for the connectors' fetch and the sidebar's unsaved-edit guidance."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from tooling.bench.common import fmt
from tooling.bench.connectors import FetchRow
from tooling.bench.form_latency import P95_TARGET_MS as FORM_P95_TARGET_MS
from tooling.bench.markdown import Verdict, table

CONNECTOR_HEADERS = [
    ">admin latency",
    ">budget",
    ">rounds",
    ">cold p50 ms",
    ">cold p95 ms",
    ">cold max ms",
    ">warm p50 ms",
    ">facts / fetch",
    ">over-budget rounds",
]


def connectors_section(rows: Sequence[FetchRow]) -> tuple[str, list[Verdict]]:
    """Connector fetch time at 0/50/500 ms source latency, and whether the budget held."""
    if not rows:
        return "", []
    body = [
        [
            f"{row.latency_ms} ms",
            f"{row.budget_s:g} s",
            str(row.rounds),
            fmt(row.p50_ms, 1),
            fmt(row.p95_ms, 1),
            fmt(row.max_ms, 1),
            fmt(row.warm_p50_ms, 2),
            fmt(row.facts_per_fetch, 1),
            str(row.over_budget_rounds),
        ]
        for row in rows
    ]
    # The budget holds when no fetch takes longer than it (plus scheduling slack).
    slack_ms = 50.0
    held = all(row.max_ms <= row.budget_s * 1000 + slack_ms for row in rows)
    worst = max(rows, key=lambda row: row.max_ms - row.budget_s * 1000)
    text = f"""## 7. Connectors: admin facts on the guidance path

**Method.** `tooling/bench/connectors.py` (also `python -m tooling.bench.connectors`):
the admin emulator (`tooling/admin_emulator.py`) on loopback with a fixed latency per
answer, the demo connectors (3 sources: 주차 어드민, 대리 어드민, 요금계산기) pointed at
it, and `fetch_for_ticket` timed for a ticket that needs all three — the call a guidance
request makes beside its Zendesk reads (`backend/fetched_facts.py` starts it before the
reconnection history is read). *Cold* = a fresh fact cache each round (every source
asked); *warm* = the cache already holds the ticket's facts. Each latency is run with
the default budget (`GUIDEPOST_CONNECTOR_BUDGET_SECONDS` = 1 s) and a tight one (0.25 s).

{table(CONNECTOR_HEADERS, body)}

The sources are asked in parallel, so a cold fetch costs about one source's latency, not
three. When a source is slower than the budget the fetch stops at the budget, the facts
it did not get stay unknown (the decision waits for them: pending), and the round counts
as over budget. **Budget held:** {"yes" if held else "no"} — the slowest fetch was
{fmt(worst.max_ms, 0)} ms against a {worst.budget_s:g} s budget at {worst.latency_ms} ms
source latency (≤ budget + {slack_ms:g} ms of scheduling slack counts as held).
"""
    verdict = Verdict(
        "7 Connectors",
        "guidance fetch never exceeds its budget (0/50/500 ms sources)",
        f"slowest {fmt(worst.max_ms, 0)} ms at {worst.latency_ms} ms / {worst.budget_s:g} s budget",
        held,
    )
    return text, [verdict]


def form_latency_section(result: dict[str, Any] | None) -> tuple[str, list[Verdict]]:
    """Unsaved edit → guidance rendered (harness + Chromium), p50/p95."""
    if not result:
        return "", []
    p95 = float(result.get("p95_ms", math.nan))
    met = p95 <= FORM_P95_TARGET_MS if not math.isnan(p95) else None
    row = [
        str(result.get("edits")),
        fmt(result.get("p50_ms", math.nan), 0),
        fmt(p95, 0),
        fmt(result.get("max_ms", math.nan), 0),
        str(result.get("last_source")),
    ]
    text = f"""### Unsaved edit → form guidance on screen

**Method.** `tooling/bench/form_latency.py`: the real stack (emulator, backend), the
local harness and headless Chromium. The host page changes a guide field in the open
form (Zendesk fires `ticket.custom_field_<id>.changed` before any save) and notes
`Date.now()`; the app notes `Date.now()` when the guidance decided on the form (C2:
`POST …/guidance`, no ticket read) is rendered. Both clocks are the browser's; the
ticket is a 강제재연결 with an 원콜 ID (its history is the only Zendesk read, reused
across edits within `GUIDEPOST_GUIDANCE_HISTORY_CACHE_SECONDS`).

{table([">edits", ">p50 ms", ">p95 ms", ">max ms", "answer source"], [row])}

**Target:** p95 < {FORM_P95_TARGET_MS:g} ms (the app's debounce included).
**Measured:** {fmt(p95, 0)} ms: **{"met" if met else "missed"}**.
"""
    verdict = Verdict(
        "4 Sidebar",
        f"unsaved edit → guidance p95 < {FORM_P95_TARGET_MS:g} ms",
        f"{fmt(p95, 0)} ms (p50 {fmt(result.get('p50_ms', math.nan), 0)} ms)",
        met,
    )
    return text, [verdict]
