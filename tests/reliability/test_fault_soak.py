"""Fault soak: 1,000 applies under injected faults write every decision exactly once.

Eight agents at a time load the guidance of a demo ticket and apply it through the real
backend over HTTP, some clicking twice. The emulator answers with random 429s (short and
long Retry-After), 500/503s, latency spikes beyond the client timeout, dropped
connections and concurrent edits (409). Between rounds another agent changes ticket
fields, so decisions (and their fingerprints) change — and may change back (A → B → A
writes A again: the write-back replaces Guidepost's own tags, so only the current
decision's `gp_applied_*` stays). Afterwards, per ticket: no decision was written twice
in a row (no two consecutive identical notes), every `applied: true` answer's note is on
the ticket, exactly one `gp_applied_*` tag remains and it belongs to the last note's
decision, and no tag appears twice.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import httpx
import pytest
from reliability_helpers import Recorder, start_stack

from backend.demo import DEMO_CASES
from backend.domain.fields import FieldCatalog, load_field_catalog
from backend.domain.writeback import FINGERPRINT_PREFIX
from backend.emulator.faults import Fault
from tooling.testing import Stack, make_token

APPLIES = 1_000
ROUNDS = 10
AGENTS = 8
DOUBLE_CLICK = 0.15
SEED = 20241120
TICKETS_PATH = r"^/api/v2/tickets/\d+"
# Edits another agent makes between rounds (field → values), per guide: the fields that
# change a decision's note, tags or fields most often.
EDITS: dict[str, list[tuple[str, list[Any]]]] = {
    "parking_onsite_payment": [
        ("onsite_amount", [9000, 14000, 19000, 26000]),
        ("ticket_price", [5000, 6500, 8500]),
        ("identity_verified", [True, False]),
        ("receipt_lot_matches", [True, False]),
    ],
    "force_reconnect": [
        ("customer_consent", ["agreed", "pending", "refused"]),
        ("driver_on_duty", [True, False]),
        ("customer_recalling", [True, False]),
        ("admin_status", ["completed", "in_progress"]),
        ("identity_verified", [True, False]),
    ],
}


def fault_plan(rng: random.Random) -> list[dict[str, Any]]:
    """One round's fault rules: every kind, at randomized rates."""

    def rate(low: float, high: float) -> float:
        return round(rng.uniform(low, high), 3)

    return [
        {
            "kind": "rate_limit",
            "path": TICKETS_PATH,
            "retry_after": 1,
            "probability": rate(0.02, 0.06),
        },
        {"kind": "rate_limit", "path": ".*", "retry_after": 45, "probability": rate(0.01, 0.04)},
        {"kind": "status", "path": ".*", "status": 500, "probability": rate(0.02, 0.05)},
        {"kind": "status", "path": ".*", "status": 503, "probability": rate(0.02, 0.05)},
        {
            "kind": "latency",
            "path": ".*",
            "ms": rng.choice([200, 400]),
            "probability": rate(0.03, 0.08),
        },
        {"kind": "latency", "path": TICKETS_PATH, "ms": 1_300, "probability": rate(0.01, 0.03)},
        {"kind": "drop", "path": ".*", "probability": rate(0.02, 0.05)},
        {"kind": "conflict", "method": "PUT", "path": TICKETS_PATH, "probability": rate(0.15, 0.3)},
    ]


def fault_name(fault: Fault) -> str:
    """A short label per injected fault (429 short/long, 500, 503, latency, drop, 409)."""
    if fault.kind == "rate_limit":
        return "429 long" if (fault.retry_after or 1) > 5 else "429 short"
    if fault.kind == "status":
        return str(fault.status)
    if fault.kind == "latency":
        return "latency spike" if fault.ms >= 1_000 else "latency"
    if fault.kind == "conflict":
        return "concurrent edit (409)"
    return "dropped connection"


@dataclass
class Outcome:
    """One apply's answer."""

    ticket_id: int
    status: int
    applied: bool | None = None
    fingerprint: str = ""
    note: str = ""
    retry_after: str | None = None


@dataclass
class Soak:
    """The running soak: agents, what they saw, and the faults the emulator injected."""

    stack: Stack
    http: httpx.Client
    catalog: FieldCatalog
    rng: random.Random
    outcomes: list[Outcome] = field(default_factory=list)
    guidance_statuses: Counter[int] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    seen: dict[int, tuple[str, str, str]] = field(default_factory=dict)
    first_guidance: dict[int, tuple[str, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def headers(self, ticket_id: int) -> dict[str, str]:
        """The agent's session token, as the sidebar sends it."""
        return {"Authorization": f"Bearer {make_token(self.stack.settings)}"}

    def load_guidance(self, ticket_id: int) -> tuple[str, str, str] | None:
        """What the sidebar shows: branch, updated_at, fingerprint (the last good on failure)."""
        response = self.http.get(
            f"/v1/tickets/{ticket_id}/guidance", headers=self.headers(ticket_id)
        )
        with self.lock:
            self.guidance_statuses[response.status_code] += 1
            if response.status_code == 200:
                body = response.json()
                self.seen[ticket_id] = (
                    body["branch"],
                    body["ticket_updated_at"],
                    body["fingerprint"],
                )
            return self.seen.get(ticket_id)

    def apply(self, ticket_id: int, shown: tuple[str, str, str]) -> None:
        """Click apply once with what the sidebar showed."""
        branch, updated_at, fingerprint = shown
        response = self.http.post(
            f"/v1/tickets/{ticket_id}/apply",
            headers=self.headers(ticket_id),
            json={"branch": branch, "ticket_updated_at": updated_at, "fingerprint": fingerprint},
        )
        outcome = Outcome(ticket_id, response.status_code)
        if response.status_code == 200:
            body = response.json()
            outcome.applied = bool(body["applied"])
            outcome.fingerprint = body["fingerprint"]
            outcome.note = body["note"]
        elif response.status_code == 503:
            outcome.retry_after = response.headers.get("retry-after")
        with self.lock:
            self.outcomes.append(outcome)

    def agent(self, ticket_id: int, clicks: int) -> None:
        """One agent: load the sidebar, click apply (twice, at once, when impatient)."""
        shown = self.load_guidance(ticket_id)
        if shown is None:
            # Never loaded: apply what a first guidance without faults would have shown.
            shown = self.first_guidance[ticket_id]
        if clicks == 1:
            self.apply(ticket_id, shown)
            return
        threads = [
            threading.Thread(target=self.apply, args=(ticket_id, shown)) for _ in range(clicks)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def applicable_tickets(stack: Stack) -> dict[int, str]:
    """Demo tickets a guide applies to (ticket id → guide)."""
    return {
        ident: case.guide
        for case, ident in zip(DEMO_CASES, stack.ticket_ids, strict=True)
        if case.guide is not None and case.branch != "none"
    }


def edit_tickets(soak: Soak, tickets: dict[int, str]) -> int:
    """Another agent changes a field of most tickets (so decisions change)."""
    store = soak.stack.emulator.store
    edits = 0
    for ticket_id, guide in tickets.items():
        if soak.rng.random() < 0.2:
            continue
        key, values = soak.rng.choice(EDITS[guide])
        value = soak.catalog.zendesk_value(key, soak.rng.choice(values))
        store.update_ticket(
            ticket_id, {"custom_fields": [{"id": soak.stack.field_map[key], "value": value}]}
        )
        edits += 1
    return edits


def plan_round(rng: random.Random, tickets: list[int], applies: int) -> list[tuple[int, int]]:
    """(ticket, clicks) per agent so that the round sends exactly `applies` applies."""
    plan: list[tuple[int, int]] = []
    left = applies
    while left > 0:
        clicks = 2 if left >= 2 and rng.random() < DOUBLE_CLICK else 1
        plan.append((rng.choice(tickets), clicks))
        left -= clicks
    return plan


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The real backend and the emulator; a Zendesk timeout shorter than latency spikes."""
    overrides = {
        "zendesk_timeout_seconds": 1.0,
        "interactive_max_wait_seconds": 2.0,
        "retries": 2,
    }
    with start_stack(tmp_path_factory.mktemp("soak"), **overrides) as running:
        yield running


def count_faults(soak: Soak) -> None:
    """Count every fault the emulator injects, by kind (wraps the store's fault picker)."""
    store = soak.stack.emulator.store
    original = store.consume_faults

    def consume(method: str, path: str) -> list[Fault]:
        fired = original(method, path)
        with soak.lock:
            for fault in fired:
                soak.faults[fault_name(fault)] += 1
        return fired

    store.consume_faults = consume  # type: ignore[method-assign]


def verify(soak: Soak, tickets: dict[int, str]) -> dict[str, int]:
    """Check every ticket; return the totals (duplicates and lost writes must be zero)."""
    store = soak.stack.emulator.store
    by_ticket: dict[int, list[Outcome]] = defaultdict(list)
    for outcome in soak.outcomes:
        by_ticket[outcome.ticket_id].append(outcome)
    totals: Counter[str] = Counter()
    problems: list[str] = []
    for ticket_id in tickets:
        ticket = store.get_ticket(ticket_id)
        assert ticket is not None
        tags: list[str] = ticket["tags"]
        notes = [c["body"].strip() for c in store.comments(ticket_id) if not c["public"]]
        prints = [tag for tag in tags if tag.startswith(FINGERPRINT_PREFIX)]
        applied = [o for o in by_ticket[ticket_id] if o.status == 200 and o.applied]
        totals["tickets"] += 1
        totals["notes"] += len(notes)
        totals["decisions"] += len({o.fingerprint for o in applied})
        duplicate_tags = len(tags) - len(set(tags))
        repeated_notes = sum(1 for a, b in pairwise(notes) if a == b)
        totals["duplicates"] += duplicate_tags + repeated_notes
        if duplicate_tags:
            problems.append(f"ticket {ticket_id}: {duplicate_tags} duplicate tag(s)")
        if repeated_notes:
            # Which decisions wrote them (one fingerprint: a real double write).
            prints_of = sorted({o.fingerprint for o in applied if o.note.strip() in notes})
            problems.append(
                f"ticket {ticket_id}: a decision written twice in a row ({', '.join(prints_of)})"
            )
        if len(applied) > len(notes):
            totals["duplicates"] += len(applied) - len(notes)
            problems.append(f"ticket {ticket_id}: {len(applied)} applied:true, {len(notes)} notes")
        for outcome in applied:
            if outcome.note.strip() not in notes:
                totals["lost_writes"] += 1
                problems.append(f"ticket {ticket_id}: applied note is not on the ticket")
        if notes and len(prints) != 1:
            problems.append(f"ticket {ticket_id}: {len(prints)} gp_applied tags, expected 1")
        last = {o.fingerprint for o in applied if notes and o.note.strip() == notes[-1]}
        if notes and applied and prints and last and prints[0] not in last:
            totals["lost_writes"] += 1
            problems.append(f"ticket {ticket_id}: {prints[0]} is not the last note's decision")
    assert problems == [], "\n".join(problems[:20])
    return dict(totals)


def test_fault_soak(stack: Stack, figures: Recorder) -> None:
    """1,000 applies under faults: no decision written twice in a row, nothing lost."""
    started = time.monotonic()
    store = stack.emulator.store
    store.reset()
    tickets = applicable_tickets(stack)
    with httpx.Client(base_url=stack.backend_url, timeout=60.0) as http:
        soak = Soak(
            stack=stack,
            http=http,
            catalog=load_field_catalog(stack.settings.guides_dir / "fields.yaml"),
            rng=random.Random(SEED),
        )
        for ticket_id in tickets:
            shown = soak.load_guidance(ticket_id)
            assert shown is not None
            soak.first_guidance[ticket_id] = shown
        soak.guidance_statuses.clear()
        count_faults(soak)
        edits = 0
        per_round = APPLIES // ROUNDS
        try:
            with ThreadPoolExecutor(max_workers=AGENTS) as pool:
                for round_no in range(ROUNDS):
                    if round_no:
                        store.clear_faults()
                        edits += edit_tickets(soak, tickets)
                    store.set_faults(fault_plan(soak.rng), seed=SEED + round_no)
                    plan = plan_round(soak.rng, list(tickets), per_round)
                    list(pool.map(lambda job: soak.agent(*job), plan))
        finally:
            store.clear_faults()
            del store.consume_faults  # back to the class method
    statuses = Counter(outcome.status for outcome in soak.outcomes)
    applied = sum(1 for o in soak.outcomes if o.status == 200 and o.applied)
    totals = verify(soak, tickets)
    figures(
        "fault_soak",
        {
            "applies": len(soak.outcomes),
            "applied": applied,
            "already_applied": statuses[200] - applied,
            "conflicts": statuses[409],
            "rate_limited": statuses[503],
            "unavailable": statuses[502],
            "other_statuses": {
                str(code): n
                for code, n in sorted(statuses.items())
                if code not in (200, 409, 502, 503)
            },
            "faults_injected": sum(soak.faults.values()),
            "faults_by_kind": dict(sorted(soak.faults.items())),
            "field_edits": edits,
            "guidance_loads": sum(soak.guidance_statuses.values()),
            "tickets": totals.get("tickets", 0),
            "decisions": totals.get("decisions", 0),
            "notes": totals.get("notes", 0),
            "duplicates": totals.get("duplicates", 0),
            "lost_writes": totals.get("lost_writes", 0),
            "server_errors": statuses[500],
            "seconds": round(time.monotonic() - started, 1),
        },
    )
    assert len(soak.outcomes) == APPLIES
    unexpected = {code: n for code, n in statuses.items() if code not in (200, 409, 502, 503)}
    assert unexpected == {}, unexpected
    assert all(o.retry_after for o in soak.outcomes if o.status == 503)
    # The soak is only worth something if most applies got through despite the faults.
    assert statuses[200] >= APPLIES // 2, statuses
    assert applied >= len(tickets), statuses
    assert {"429 short", "429 long", "500", "503", "dropped connection"} <= set(soak.faults)
    assert {"latency", "latency spike", "concurrent edit (409)"} <= set(soak.faults)
