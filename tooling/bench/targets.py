"""Apply targets for the bench: fresh copies of the demo tickets, classed by Zendesk calls."""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from backend.demo import DEMO_CASES, DemoCase, build_new_ticket
from backend.domain.engine import EngineOptions, decide
from backend.domain.facts import parse_input
from backend.domain.guides import GuideCatalog, load_catalog
from backend.domain.render import TextRenderer
from backend.service import decision_fingerprint
from tooling.bench.load import RequestSpec
from tooling.bench.stack import EmulatorProcess, backend_settings

ORIGIN_KEYS = ("origin_call_id", "forced_call_id")
LEDGER_CLAIM = ", eligible (claims the ledger)"
# Eligible with no 강콜 ID: nothing to claim, so apply lists the ledger again (from Zendesk;
# free when apply's history read was itself Zendesk's, as with the read cache off).
LEDGER_RECHECK = ", eligible, no 강콜 ID (lists the ledger again)"


def ticket_class(case: DemoCase) -> str:
    """Which Zendesk call pattern a demo ticket has."""
    fields = case.ticket.get("fields", {})
    consult = str(fields.get("consult_type") or "")
    if case.guide is None or case.branch == "none" or not consult:
        return "no guide / suggested"
    if case.guide == "force_reconnect":
        if "origin_call_id" in fields:
            return "force_reconnect, 원콜 ID known (+search)"
        return "force_reconnect, no 원콜 ID"
    return case.guide


def is_appliable(case: DemoCase) -> bool:
    """True when apply writes for this case (a guide, not only suggested)."""
    return ticket_class(case) != "no guide / suggested"


@dataclass(frozen=True)
class ApplyTarget:
    """A fresh ticket to apply on, with the branch the agent saw."""

    ticket_id: int
    branch: str
    updated_at: str
    klass: str
    fingerprint: str = ""
    # The open form as the sidebar posts it (C2): custom_fields, tags, subject, description.
    form: dict[str, Any] = field(default_factory=dict, compare=False)


class TicketFactory:
    """Creates fresh apply targets in the emulator from the demo cases."""

    def __init__(self, emulator: EmulatorProcess) -> None:
        self.emulator = emulator
        settings = backend_settings(emulator)
        self.catalog: GuideCatalog = load_catalog(settings.guides_dir)
        self.renderer = TextRenderer(self.catalog)
        self.options = EngineOptions(admin_call_url=settings.admin_call_url)
        self.cases = [case for case in DEMO_CASES if is_appliable(case)]
        self._serial = 0

    def _variant(self, case: DemoCase) -> tuple[dict[str, Any], str, str, str]:
        """A copy of a case's input with unique call ids (no shared search history)."""
        ticket = copy.deepcopy(case.ticket)
        ticket.pop("prior_reconnections", None)
        fields = ticket.setdefault("fields", {})
        self._serial += 1
        for offset, key in enumerate(ORIGIN_KEYS):
            if key in fields:
                fields[key] = f"9{offset}{self._serial:08d}"
        parsed = parse_input(ticket, self.catalog.fields, None)
        decision = decide(parsed, self.catalog, self.renderer, self.options)
        klass = ticket_class(case)
        # The service claims only an eligible 강콜 that names its 강콜 ID.
        if "+search" in klass and decision.eligible and "forced_call_id" in fields:
            klass += LEDGER_CLAIM
        elif "+search" in klass and decision.eligible:
            klass += LEDGER_RECHECK
        return ticket, klass, decision.branch, decision_fingerprint(decision)

    def create(self, count: int) -> list[ApplyTarget]:
        """Create `count` tickets (cycling through the cases) and return them as targets."""
        jobs = []
        for index in range(count):
            case = self.cases[index % len(self.cases)]
            ticket, klass, branch, fingerprint = self._variant(case)
            new = build_new_ticket(ticket, self.catalog.fields, self.emulator.field_map)
            payload = {
                "ticket": {
                    "subject": new.subject,
                    "comment": {"body": new.description},
                    "tags": list(new.tags),
                    "custom_fields": [
                        {"id": fid, "value": value} for fid, value in new.custom_fields.items()
                    ],
                }
            }
            jobs.append((payload, branch, klass, fingerprint))
        headers = self.emulator.api_headers()
        with (
            httpx.Client(base_url=self.emulator.url, headers=headers, timeout=30.0) as client,
            ThreadPoolExecutor(max_workers=8) as pool,
        ):

            def post(job: tuple[dict[str, Any], str, str, str]) -> ApplyTarget:
                response = client.post("/api/v2/tickets.json", json=job[0])
                response.raise_for_status()
                created = response.json()["ticket"]
                ticket = job[0]["ticket"]
                form = {
                    "custom_fields": ticket["custom_fields"],
                    "tags": ticket["tags"],
                    "subject": ticket["subject"],
                    "description": ticket["comment"]["body"],
                }
                return ApplyTarget(
                    int(created["id"]), job[1], str(created["updated_at"]), job[2], job[3], form
                )

            return list(pool.map(post, jobs))


def apply_spec(target: ApplyTarget) -> RequestSpec:
    """The apply request for a target."""
    body = {
        "branch": target.branch,
        "ticket_updated_at": target.updated_at,
        "fingerprint": target.fingerprint,
    }
    return RequestSpec("POST", f"/v1/tickets/{target.ticket_id}/apply", body)
