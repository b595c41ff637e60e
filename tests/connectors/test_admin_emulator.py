"""The real fetch against the local admin emulator on loopback, and a decision on its facts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from connector_helpers import ROOT, make_settings

from backend.connectors import FactCache, fetch_for_ticket, merge_facts
from backend.connectors.result import ConnectorFacts
from backend.demo import DEMO_CASES
from backend.domain.decision import Decision
from backend.domain.engine import EngineOptions, decide
from backend.domain.facts import TicketInput
from backend.domain.fields import FieldCatalog
from backend.domain.guides import load_catalog
from backend.domain.render import TextRenderer
from backend.settings import Settings
from tooling.admin_emulator import (
    ADMIN_DEMO_TICKETS,
    CALLS,
    FETCH_ONLY_CALL_ID,
    FETCH_ONLY_PLATE,
    AdminEmulator,
    settings_for,
)

# The 원콜 of a ticket whose admin facts come only from the admin system.
ONLY_IDS = {
    "consult_type": "driver_force_rerun_own_normal",
    "identity_verified": True,
    "origin_call_id": FETCH_ONLY_CALL_ID,
}
# What only the conversation can tell (no admin system knows these).
CONVERSATION = {"customer_presence": "together", "fare_adjustment": False}


@pytest.fixture(scope="module")
def emulator() -> Iterator[AdminEmulator]:
    """One admin emulator on an ephemeral loopback port for this module."""
    server = AdminEmulator().start()
    yield server
    server.stop()


@pytest.fixture
def admin_settings(emulator: AdminEmulator, tmp_path: Path) -> Settings:
    """Settings whose demo connectors call the emulator (its port, its tokens)."""
    emulator.latency_seconds = 0.0
    return settings_for(emulator, make_settings(), tmp_path)


def typed(fields: FieldCatalog, raw: dict[str, object]) -> dict[str, object]:
    """Raw field values parsed as the ticket parser does."""
    return {key: fields.parse(key, value) for key, value in raw.items()}


def fetch(
    raw: dict[str, object], settings: Settings, fields: FieldCatalog
) -> tuple[ConnectorFacts, dict[str, object]]:
    """Fetch for these raw facts (fresh cache) and merge: (fetched, merged values)."""
    known = typed(fields, raw)
    result = fetch_for_ticket(known, settings=settings, fields=fields, cache=FactCache())
    values, _, disagreements = merge_facts(known, result)
    assert disagreements == ()
    return result, values


def decide_on(values: dict[str, object]) -> Decision:
    """The real engine on merged values (the way the service will call it)."""
    catalog = load_catalog(ROOT / "macros")
    return decide(TicketInput(values=values), catalog, TextRenderer(catalog), EngineOptions())


def test_real_fetch_on_loopback(
    emulator: AdminEmulator, admin_settings: Settings, fields: FieldCatalog
) -> None:
    """Both admin systems answer over real HTTP; every fact arrives typed, with provenance."""
    plate, day = FETCH_ONLY_PLATE
    raw = {**ONLY_IDS, "car_number": plate, "usage_date": day}
    before = dict(emulator.hits)
    result, _ = fetch(raw, admin_settings, fields)
    assert result.failures == ()
    assert result.values["post_entry_purchase_allowed"] is True
    assert result.values["operator"] == "kakaomobility_direct"
    assert result.values["ticket_status"] == "paid"
    assert result.values["ticket_start"] == fields.parse("ticket_start", "2024-11-21T09:00")
    assert result.values["admin_status"] == "completed"
    assert result.values["original_fare"] == 31000
    assert "estimated_fare" not in result.values  # the 요금계산기 computed nothing: unknown
    assert {source.label for source in result.provenance.values()} == {
        "주차 어드민",
        "대리 어드민",
    }
    assert {k: emulator.hits[k] - before.get(k, 0) for k in ("parking", "driver", "fare")} == {
        "parking": 1,
        "driver": 1,
        "fare": 1,
    }


def test_ticket_with_only_ids_gets_its_admin_facts_and_reaches_eligible(
    admin_settings: Settings, fields: FieldCatalog
) -> None:
    """상담유형 + 원콜 ID + identity: the admin facts are fetched; the conversation's remain."""
    _, values = fetch(ONLY_IDS, admin_settings, fields)
    decision = decide_on(values)
    assert decision.branch == "reconnect.ask_presence"
    # Only what the conversation gives is left (reason/출발지/도착지 wait for consent).
    assert decision.missing[0] == "customer_presence"
    assert set(decision.missing) <= {"customer_presence", "reason", "departure", "destination"}
    _, values = fetch({**ONLY_IDS, **CONVERSATION}, admin_settings, fields)
    decision = decide_on(values)
    assert decision.branch == "reconnect.together.no_fare_change"
    assert "admin_status" not in decision.missing
    assert "driver_on_duty" not in decision.missing
    _, values = fetch(
        {**ONLY_IDS, **CONVERSATION, "customer_consent": "agreed"}, admin_settings, fields
    )
    decision = decide_on(values)
    assert (decision.eligible, decision.blocks, decision.missing) == (True, [], [])


def test_admin_stopped_degrades_within_budget(fields: FieldCatalog, tmp_path: Path) -> None:
    """With the admin emulator stopped the same ticket asks for the admin facts, quickly."""
    server = AdminEmulator().start()
    settings = settings_for(server, make_settings(connector_budget_seconds=0.5), tmp_path)
    server.stop()
    raw = {**ONLY_IDS, **CONVERSATION, "customer_consent": "agreed"}
    started = time.monotonic()
    result, values = fetch(raw, settings, fields)
    assert time.monotonic() - started < 2.0
    assert {f.kind for f in result.failures} == {"unavailable"}
    assert dict(result.values) == {}
    decision = decide_on(values)
    assert decision.eligible is False
    assert decision.missing[:2] == ["admin_status", "payment_method"]


def test_slow_admin_beyond_budget(
    emulator: AdminEmulator, admin_settings: Settings, fields: FieldCatalog
) -> None:
    """An admin slower than the budget: over_budget, and the fetch returns near the budget."""
    emulator.latency_seconds = 1.5
    settings = admin_settings.model_copy(update={"connector_budget_seconds": 0.3})
    started = time.monotonic()
    result, _ = fetch(ONLY_IDS, settings, fields)
    elapsed = time.monotonic() - started
    emulator.latency_seconds = 0.0
    assert elapsed < 1.2
    assert {f.kind for f in result.failures} == {"over_budget"}


def test_wrong_token_is_refused_by_the_admin(
    emulator: AdminEmulator, admin_settings: Settings, fields: FieldCatalog
) -> None:
    """The emulator checks the bearer token like a real admin API would."""
    from pydantic import SecretStr

    settings = admin_settings.model_copy(
        update={"connector_secrets": {"driver_admin": SecretStr("wrong-token-123456")}}
    )
    result, _ = fetch(ONLY_IDS, settings, fields)
    assert {(f.kind, f.detail) for f in result.failures} == {("http_status", "HTTP 401")}


def test_demo_tickets_agree_with_the_admin(admin_settings: Settings, fields: FieldCatalog) -> None:
    """The demo 원콜 records hold the demo tickets' own values: fetching adds no clash."""
    cases = [c for c in DEMO_CASES if c.ticket["fields"].get("origin_call_id") in CALLS]
    assert len(cases) >= 10
    for case in cases:
        known = typed(fields, case.ticket["fields"])
        result = fetch_for_ticket(known, settings=admin_settings, fields=fields, cache=FactCache())
        assert result.failures == (), case.name
        assert merge_facts(known, result)[2] == (), case.name


@pytest.mark.parametrize(
    ("name", "branch"),
    [
        (
            "강제재연결: 어드민 정보는 자동 조회 (원콜 ID만 입력)",
            "reconnect.together.no_fare_change",
        ),
        ("주차: 주차권 정보는 주차 어드민에서 조회", "parking.offer_coupon_after_ticket_cancel"),
    ],
)
def test_admin_demo_tickets(
    admin_settings: Settings, fields: FieldCatalog, tmp_path: Path, name: str, branch: str
) -> None:
    """The proposed demo tickets: eligible with the admin up, pending with it down."""
    raw = ADMIN_DEMO_TICKETS[name]["fields"]
    result, values = fetch(raw, admin_settings, fields)
    assert result.failures == ()
    decision = decide_on(values)
    assert (decision.branch, decision.eligible, decision.missing) == (branch, True, [])
    server = AdminEmulator().start()
    down = settings_for(server, make_settings(connector_budget_seconds=0.5), tmp_path)
    server.stop()
    _, values = fetch(raw, down, fields)
    decision = decide_on(values)
    assert decision.eligible is False
    assert decision.blocks == []
    assert decision.missing
