"""Zendesk calls per handled ticket: the sidebar's real mix, counted by the emulator.

A handled ticket = the sidebar's first load (GET guidance: reads the ticket and the
reconnection history), three later loads from the open form (POST guidance: reads no
ticket; the history the first load read is reused for
GUIDEPOST_GUIDANCE_HISTORY_CACHE_SECONDS), then one apply with the fingerprint the agent
saw (the first load's ticket record and history are reused; an eligible 강콜 claims the
ledger and decides on the list read after its claim). Measured on fresh copies of every
appliable demo ticket, once with the pre-ledger search fallback on (today's default) and
once with it off (`GUIDEPOST_RECONNECTION_SEARCH_FALLBACK=false`, after the migration
window). The agent's permissions (an admin: one user read per cache period) are counted
apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import httpx

from tooling.bench.api import auth_headers, is_authz_route
from tooling.bench.common import fmt, mean
from tooling.bench.markdown import Verdict, table
from tooling.bench.stack import BackendProcess, EmulatorProcess
from tooling.bench.targets import LEDGER_CLAIM, LEDGER_RECHECK, ApplyTarget, TicketFactory

FORM_LOADS = 3  # after the first (GET) load: 4 guidance loads per handled ticket
TARGET_CALLS = 3.0
# docs/BENCHMARKS.md before the ledger and form guidance: 4 GET loads × 1.30 + 3 (apply).
OLD_CALLS_PER_TICKET = 8.2
# Wave 2 (ledger + form guidance, no read cache), measured 2026-11-30 with this module.
WAVE2_CALLS_PER_TICKET = {True: 6.29, False: 4.68}
# Wave 3 (read cache; apply still read the ledger and the search again), same module.
WAVE3_CALLS_PER_TICKET = {True: 3.35, False: 2.71}
FALLBACK_ENV = "GUIDEPOST_RECONNECTION_SEARCH_FALLBACK"


@dataclass
class HandledRun:
    """Calls per handled ticket with the search fallback on or off."""

    fallback: bool
    tickets: int
    calls: list[int] = field(default_factory=list)
    by_class: dict[str, list[int]] = field(default_factory=dict)
    authz_calls: int = 0

    @property
    def mean_calls(self) -> float:
        """Mean Zendesk calls per handled ticket (authorization apart)."""
        return mean(self.calls)

    def to_json(self) -> dict[str, Any]:
        """The run as JSON."""
        return {
            "fallback": self.fallback,
            "tickets": self.tickets,
            "calls": self.calls,
            "by_class": self.by_class,
            "authz_calls": self.authz_calls,
            "mean_calls": self.mean_calls,
        }


def expected_handled_calls(klass: str, fallback: bool) -> int:
    """Zendesk calls one handled ticket of a class costs, its 원콜 new to the ledger.

    First load: the ticket + (with a 원콜 ID) the ledger list, + search while the ledger
    holds nothing for the 원콜 and the fallback is on. Form loads: nothing. Apply: the
    write, + an eligible 강콜's claim (create + list), or for an eligible ticket with no
    강콜 ID the ledger listed again; record and history are the first load's.
    """
    history = 0
    if "+search" in klass:
        history = 2 if fallback else 1
    recheck = 2 if LEDGER_CLAIM in klass else 1 if LEDGER_RECHECK in klass else 0
    return 1 + history + recheck + 1


def form_body(target: ApplyTarget) -> dict[str, Any]:
    """The open form as the sidebar posts it (C2): the ticket's own values."""
    return dict(target.form)


def handle_ticket(
    client: httpx.Client, emulator: EmulatorProcess, target: ApplyTarget
) -> dict[str, int]:
    """One handled ticket: GET, 3 form POSTs, apply; the emulator's calls by route."""
    emulator.reset_counters()
    path = f"/v1/tickets/{target.ticket_id}/guidance"
    first = client.get(path)
    first.raise_for_status()
    for _ in range(FORM_LOADS):
        client.post(path, json=form_body(target)).raise_for_status()
    seen = first.json()
    body = {
        "branch": seen["branch"],
        "ticket_updated_at": seen["ticket_updated_at"],
        "fingerprint": seen["fingerprint"],
    }
    client.post(f"/v1/tickets/{target.ticket_id}/apply", json=body).raise_for_status()
    return dict(emulator.counters()["by_route"])


def run_handled(emulator: EmulatorProcess, factory: TicketFactory, fallback: bool) -> HandledRun:
    """Handle a fresh copy of every appliable demo ticket on a backend with or without fallback."""
    targets = factory.create(len(factory.cases))
    run = HandledRun(fallback=fallback, tickets=len(targets))
    extra = {FALLBACK_ENV: "true" if fallback else "false"}
    with (
        BackendProcess(emulator, extra_env=extra) as backend,
        httpx.Client(base_url=backend.url, headers=auth_headers(emulator), timeout=60.0) as client,
    ):
        for target in targets:
            routes = handle_ticket(client, emulator, target)
            authz = sum(n for route, n in routes.items() if is_authz_route(route))
            calls = sum(routes.values()) - authz
            run.authz_calls += authz
            run.calls.append(calls)
            run.by_class.setdefault(target.klass, []).append(calls)
    return run


def handled_section(runs: list[HandledRun]) -> tuple[str, list[Verdict]]:
    """The handled-ticket table, old vs new, and a verdict per fallback setting."""
    if not runs:
        return "", []
    classes = sorted({klass for run in runs for klass in run.by_class})
    headers = ["ticket class"]
    for run in runs:
        setting = "on" if run.fallback else "off"
        headers += [f">fallback {setting}", f">expected ({setting})"]
    rows = [
        [
            klass,
            *[
                cell
                for run in runs
                for cell in (
                    fmt(mean(run.by_class.get(klass, [])), 1),
                    str(expected_handled_calls(klass, run.fallback)),
                )
            ],
        ]
        for klass in classes
    ]
    rows.append(
        [
            "**demo mix (mean)**",
            *[cell for run in runs for cell in (f"**{fmt(run.mean_calls, 2)}**", "")],
        ]
    )
    rows.append(
        [
            "authorization reads (whole run)",
            *[cell for run in runs for cell in (str(run.authz_calls), "")],
        ]
    )
    text = f"""### Zendesk calls per handled ticket (the sidebar's real mix)

**Method.** `tooling/bench/handled.py`: for a fresh copy of each appliable demo ticket,
one first load (`GET /v1/tickets/{{id}}/guidance`, reads the ticket), {FORM_LOADS} later
loads from the open form (`POST …/guidance`, C2: reads no ticket), then one apply with the
fingerprint the agent saw; the emulator counts every Zendesk request. The loads of one
ticket share two reads (`backend/zendesk/read_cache.py`): the 원콜's reconnection history
the first load read is reused by the form loads and by apply, for
`GUIDEPOST_GUIDANCE_HISTORY_CACHE_SECONDS` (30 s), and apply reuses the first load's
ticket record while its `updated_at` is the one applied
(`GUIDEPOST_TICKET_RECORD_CACHE_SECONDS`, 900 s; the write's `safe_update` turns a
changed ticket into 409 → read again, so it can cost a round trip, never a lost write).
The once-only rule rests on the ledger claim, not on apply's history: an eligible 강콜
claims (create) and decides on the ledger list read after its claim, always from
Zendesk, so a claim made since the cached read loses it its own (docs/ARCHITECTURE.md
"The once-only ledger"). The bench runs a ticket's 5 requests back to back, inside both
periods: an agent who takes longer than 30 s between loads pays the history again on the
next load or at apply.
Two backends: the pre-ledger search fallback on (default) and off
(`{FALLBACK_ENV}=false`, after the migration window). The agent's permissions (an admin:
one user read per `GUIDEPOST_AUTHZ_CACHE_SECONDS`, 60 s) are cached and counted apart;
they add at most one read per agent per cache period.

{table(headers, rows)}

Before the ledger and form guidance (previous `docs/BENCHMARKS.md`): 4 GET loads + 1
apply = **{OLD_CALLS_PER_TICKET}** calls per handled ticket in the demo mix; with the ledger
and form guidance but no read cache (wave 2): {WAVE2_CALLS_PER_TICKET[True]} (fallback on)
/ {WAVE2_CALLS_PER_TICKET[False]} (off); with the read cache while apply still read the
history again (wave 3): {WAVE3_CALLS_PER_TICKET[True]} / {WAVE3_CALLS_PER_TICKET[False]}. Now:
{" / ".join(f"{fmt(r.mean_calls, 2)} (fallback {'on' if r.fallback else 'off'})" for r in runs)}.
Every ticket costs 1 read (first load) + 1 write (apply). A 강제재연결 ticket with an 원콜 ID
adds its history once, at the first load (ledger list, + search while the ledger holds
nothing for the 원콜), reused by the form loads and apply; when eligible, its ledger claim
(create + list), or with no 강콜 ID to claim the ledger listed again. What apply gave
up: a non-eligible apply (blocked or pending) writes the count the agent saw, which can
miss a claim another backend process made less than 30 s before (a claim through the
same process refreshes the cache at once); it writes no reconnection, and a later
eligible apply of that ticket still reads the ledger from Zendesk (its claim's list, or
the recheck) and is blocked.
"""
    # One verdict per setting: the default (fallback on) is not flattered by the other.
    verdicts = [
        Verdict(
            "2 HTTP",
            f"Zendesk calls per handled ticket ≤ {TARGET_CALLS:g} (4 loads + 1 apply), "
            f"search fallback {'on (default)' if r.fallback else 'off (after migration)'}",
            f"{fmt(r.mean_calls, 2)}; was {OLD_CALLS_PER_TICKET}",
            r.mean_calls <= TARGET_CALLS if not math.isnan(r.mean_calls) else None,
        )
        for r in runs
    ]
    return text, verdicts
