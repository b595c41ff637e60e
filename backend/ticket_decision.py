"""What a ticket decision is made of: the service context, the decided ticket, answer models."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import BaseModel, Field

from backend.domain.decision import Decision
from backend.domain.engine import EngineOptions, choose_only, decide, settle_by_fallback
from backend.domain.facts import (
    TicketInput,
    inquiry_day,
    parse_ticket_record,
)
from backend.domain.guides import GuideCatalog
from backend.domain.render import TextRenderer
from backend.domain.writeback import fingerprint
from backend.errors import (
    BranchChangedError,
    InputError,
    SettingsError,
    TicketClosedError,
)
from backend.fetched_facts import (
    FactFetcher,
    MergedFacts,
)
from backend.zendesk.gateway import (
    TicketRecord,
)

Outcome = Literal["eligible", "blocked", "pending"]
HistorySource = Literal["ledger", "ledger+search", "search"]
HISTORY_SOURCES: tuple[HistorySource, ...] = ("ledger", "ledger+search", "search")


CLOSED_STATUS = "closed"


def read_history_source(source: str | None) -> HistorySource | None:
    """Where prior reconnections were counted, checked against the answer's values."""
    if source is None:
        return None
    for known in HISTORY_SOURCES:
        if source == known:
            return known
    raise ValueError(f"unknown reconnection history source {source!r}")


def about(text: str) -> dict[str, str]:
    """A dataclass field's metadata describing it (pydantic's schema reads `description`)."""
    return {"description": text}


@dataclass(frozen=True, kw_only=True)
class TicketGuidance(Decision):
    """The decision on a Zendesk ticket, with what the sidebar needs to apply it."""

    ticket_id: int
    ticket_updated_at: str | None
    already_applied: bool = field(
        metadata=about("this decision's write-back is already on the ticket")
    )
    prior_reconnections: int = field(
        metadata=about("other 강콜 recorded for this 원콜 (ledger, then search; 0 without one)")
    )
    fingerprint: str = field(
        metadata=about("hash of guide, branch, outcome, blocks and note: send it back with apply")
    )
    source: Literal["ticket", "form"] = "ticket"
    reconnection_history: HistorySource | None = field(
        default=None,
        metadata=about("where prior reconnections were counted; search-based history may lag"),
    )
    fact_sources: dict[str, Any] = field(
        default_factory=dict,
        metadata=about(
            "per fact: typed on the ticket / form, or fetched by a connector (and when)"
        ),
    )
    connector_failures: list[dict[str, Any]] = field(
        default_factory=list, metadata=about("admin sources that failed; their facts stay unknown")
    )
    connector_disagreements: list[dict[str, Any]] = field(
        default_factory=list, metadata=about("typed values the admin system reports differently")
    )
    fetched_check_facts: dict[str, list[str]] = field(
        default_factory=dict,
        metadata=about("per check line: the facts it reads that a connector fetched"),
    )


class ApplyResult(BaseModel):
    """The write-back's outcome; `applied: false` when the same decision was already written."""

    applied: bool
    tags_added: list[str]
    tags_removed: list[str] = []
    note: str
    fields_set: dict[str, Any]
    ticket_id: int
    ticket_updated_at: str
    fingerprint: str = Field(description="the write-back's idempotency tag (gp_applied_…)")
    decision_fingerprint: str
    decision: Decision


def decision_outcome(decision: Decision) -> Outcome:
    """eligible / blocked / pending (contract C1; derived when the engine gives none)."""
    given = getattr(decision, "outcome", None)
    if given in ("eligible", "blocked", "pending"):
        return given  # type: ignore[no-any-return]
    if decision.eligible:
        return "eligible"
    return "blocked" if decision.blocks else "pending"


def decision_fingerprint(decision: Decision) -> str:
    """What the agent saw, hashed (contract C3): guide, branch, outcome, blocks, note."""
    payload = json.dumps(
        {
            "guide": decision.guide,
            "branch": decision.branch,
            "outcome": decision_outcome(decision),
            "blocks": sorted(decision.blocks),
            "note": decision.note,
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:20]


@dataclass(frozen=True)
class ServiceContext:
    """What a decision needs besides the ticket: guides, renderer, options, field map."""

    catalog: GuideCatalog
    renderer: TextRenderer
    options: EngineOptions
    field_map: Mapping[str, int] | None
    # False once the pre-ledger migration window is over: the ledger alone counts.
    search_fallback: bool = True
    # Admin-system connectors (backend/connectors); None = nothing is fetched.
    fetch_facts: FactFetcher | None = None


@dataclass(frozen=True)
class TicketDecision:
    """One ticket read and the decision on it, with the write-back's fingerprint tag."""

    record: TicketRecord
    ticket: TicketInput
    decision: Decision
    fingerprint: str
    # Where prior reconnections were counted from (see ReconnectionHistory); None = not asked.
    history_source: str | None = None
    # Typed and fetched facts merged (None without connectors).
    merged: MergedFacts | None = None

    @property
    def already_applied(self) -> bool:
        """True when this decision's write-back is already on the ticket."""
        return self.fingerprint in self.record.tags


def require_field_map(ctx: ServiceContext) -> Mapping[str, int]:
    """Return the field map; without one no Zendesk ticket can be read."""
    if ctx.field_map is None:
        raise SettingsError(
            "no field map yet: run `guidepost fields bootstrap` (GUIDEPOST_FIELD_MAP)"
        )
    return ctx.field_map


def decide_ticket(ticket: TicketInput, ctx: ServiceContext) -> Decision:
    """Run the engine on parsed facts."""
    return decide(ticket, ctx.catalog, ctx.renderer, ctx.options)


def choose_ticket_guide(ticket: TicketInput, ctx: ServiceContext) -> Decision:
    """The guide `decide_ticket` would choose (and whether only suggested), nothing decided."""
    return choose_only(ticket, ctx.catalog)


def parse_record(record: TicketRecord, ctx: ServiceContext) -> TicketInput:
    """Parse a ticket's custom fields through the field map (InputError names the field)."""
    return parse_ticket_record(
        record.custom_fields,
        record.subject,
        record.description,
        ctx.catalog.fields,
        require_field_map(ctx),
        inquiry_date=inquiry_day(record.created_at or None),
    )


def parse_quietly(ctx: ServiceContext, key: str, raw: object) -> Any:
    """Parse another ticket's value; a malformed one there must not fail this ticket."""
    try:
        return ctx.catalog.fields.parse(key, raw)
    except InputError:
        return None


def compute_settled_fingerprint(
    ticket: TicketInput,
    decision: Decision,
    ctx: ServiceContext,
    *,
    engine_decision: Decision | None = None,
) -> str:
    """Fingerprint the decision as it will read once the write-back's fields are set.

    `engine_decision`: `decide_ticket(ticket)` itself when `decision` is it or was
    annotated from it (it may then stand in for a second decision, `settle_by_fallback`).
    """
    # A write-back fills empty fields (`fields_set`), which changes the next decision's
    # `fields_set` and note; fingerprinting the settled decision lets a repeated apply
    # recognise its own earlier write instead of writing a second note.
    if not decision.fields_set:
        return fingerprint(decision)
    filled = dict(ticket.values)
    for key, value in decision.fields_set.items():
        parsed = ctx.catalog.fields.parse(key, value)
        if parsed is not None:
            filled[key] = parsed
    filled_ticket = replace(ticket, values=filled)
    if engine_decision is not None and engine_decision.fields_set == decision.fields_set:
        settled = settle_by_fallback(
            ticket, filled_ticket, engine_decision, ctx.catalog, ctx.renderer
        )
        if settled is not None:
            return fingerprint(settled)
    return fingerprint(decide_ticket(filled_ticket, ctx))


def check_open_and_branch(found: TicketDecision, branch: str) -> None:
    if found.record.status == CLOSED_STATUS:
        raise TicketClosedError(f"ticket {found.record.id} is closed: Zendesk allows no update")
    decision = found.decision
    if decision.branch != branch:
        raise BranchChangedError(
            f"the ticket changed: its branch is now {decision.branch!r}, not {branch!r}; "
            "reload the guidance"
        )
