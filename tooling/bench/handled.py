"""Zendesk calls per handled ticket: the sidebar's real mix, counted by the emulator.

A handled ticket = the sidebar's first load (GET guidance: reads the ticket), three later
loads from the open form (POST guidance: reads no ticket; the reconnection history the
first load read is reused for GUIDEPOST_GUIDANCE_HISTORY_CACHE_SECONDS), then one apply
with the fingerprint the agent saw (the first load's ticket record is reused while its
updated_at holds; the ledger is always read again). Measured on fresh copies of
every appliable demo ticket, once with the pre-ledger search fallback on (today's
default) and once with it off (`GUIDEPOST_RECONNECTION_SEARCH_FALLBACK=false`, after the
migration window). The agent's permissions (an admin: one user read per cache period)
are counted apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import httpx

from tooling.bench.api import ApplyTarget, TicketFactory, auth_headers, is_authz_route
from tooling.bench.common import fmt, mean
from tooling.bench.markdown import Verdict, table
from tooling.bench.stack import BackendProcess, EmulatorProcess

FORM_LOADS = 3  # after the first (GET) load: 4 guidance loads per handled ticket
TARGET_CALLS = 3.0
# docs/BENCHMARKS.md before the ledger and form guidance: 4 GET loads × 1.30 + 3 (apply).
OLD_CALLS_PER_TICKET = 8.2
# Wave 2 (ledger + form guidance, no read cache), measured 2026-11-30 with this module.
WAVE2_CALLS_PER_TICKET = {True: 6.29, False: 4.68}
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
    headers = ["ticket class", *[f">fallback {'on' if r.fallback else 'off'}" for r in runs]]
    rows = [
        [klass, *[fmt(mean(run.by_class.get(klass, [])), 1) for run in runs]] for klass in classes
    ]
    rows.append(["**demo mix (mean)**", *[f"**{fmt(run.mean_calls, 2)}**" for run in runs]])
    rows.append(["authorization reads (whole run)", *[str(run.authz_calls) for run in runs]])
    text = f"""### Zendesk calls per handled ticket (the sidebar's real mix)

**Method.** `tooling/bench/handled.py`: for a fresh copy of each appliable demo ticket,
one first load (`GET /v1/tickets/{{id}}/guidance`, reads the ticket), {FORM_LOADS} later
loads from the open form (`POST …/guidance`, C2: reads no ticket), then one apply with the
fingerprint the agent saw; the emulator counts every Zendesk request. The loads of one
ticket share two reads (`backend/zendesk/read_cache.py`): the form loads reuse the 원콜's
reconnection history the first load read, for `GUIDEPOST_GUIDANCE_HISTORY_CACHE_SECONDS`
(30 s; the first load and apply never do: apply reads the ledger again, and the
once-only rule is decided on that read), and
apply reuses the first load's ticket record while its `updated_at` is the one applied
(`GUIDEPOST_TICKET_RECORD_CACHE_SECONDS`, 900 s; the write's `safe_update` turns a
changed ticket into 409 → read again, so it can cost a round trip, never a lost write).
The bench runs a ticket's 5 requests back to back, inside both periods: an agent who
takes longer than 30 s between loads pays the history again on the next load.
Two backends: the pre-ledger search fallback on (default) and off
(`{FALLBACK_ENV}=false`, after the migration window). The agent's permissions (an admin:
one user read per `GUIDEPOST_AUTHZ_CACHE_SECONDS`, 60 s) are cached and counted apart;
they add at most one read per agent per cache period.

{table(headers, rows)}

Before the ledger and form guidance (previous `docs/BENCHMARKS.md`): 4 GET loads + 1
apply = **{OLD_CALLS_PER_TICKET}** calls per handled ticket in the demo mix; with the ledger
and form guidance but no read cache (wave 2): {WAVE2_CALLS_PER_TICKET[True]} (fallback on)
/ {WAVE2_CALLS_PER_TICKET[False]} (off). Now:
{" / ".join(f"{fmt(r.mean_calls, 2)} (fallback {'on' if r.fallback else 'off'})" for r in runs)}.
Every ticket costs 1 read (first load) + 1 write (apply). A 강제재연결 ticket with an 원콜 ID
adds its history twice — once at the first load, reused by the form loads (ledger list, +
search while the ledger holds nothing for the 원콜), once more at apply, uncached — and,
when eligible, its ledger claim (create + list). What is left above 3 with the fallback on
is that second history read: the ledger must be read at apply, and while it holds nothing
for the 원콜 the pre-ledger search comes with it. An eligible 강콜 also reads the ledger twice
at apply (history, then the list after its claim); folding the first into the claim (claim
first, decide on the list) would save 1 call for those tickets — a change to the once-only
logic in `backend/reconnections.py`, proposed, not made here.
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
