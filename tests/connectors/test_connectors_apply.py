"""Apply with fetched facts: a lost ledger claim and a 409 keep what the admin system said.

Zendesk is the loopback emulator (Zenpy over HTTP), the admin system the admin emulator.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from connector_helpers import ROOT, make_settings

from backend.bootstrap import bootstrap_fields
from backend.connectors import FactCache, fetch_for_ticket
from backend.domain.engine import EngineOptions
from backend.domain.guides import GuideCatalog, load_catalog
from backend.domain.render import TextRenderer
from backend.emulator.server import EmulatorServer
from backend.errors import DecisionChangedError
from backend.fetched_facts import DISAGREEMENT_NOTICE
from backend.service import ServiceContext, apply_decision, get_guidance
from backend.settings import Settings
from backend.zendesk.gateway import NewTicket, ReconnectionClaim, ReconnectionRecord
from backend.zendesk.zenpy_gateway import RetryPolicy, ZenpyGateway
from tooling.admin_emulator import ADMIN_DEMO_TICKETS, AdminEmulator, settings_for
from tooling.testing import Stack, run_stack

RECONNECT = ADMIN_DEMO_TICKETS["강제재연결: 어드민 정보는 자동 조회 (원콜 ID만 입력)"]
ORIGIN = str(RECONNECT["fields"]["origin_call_id"])
# 결제수단 typed as 현금 while the 대리 어드민 says 카드: the agent's value wins, with a notice.
TYPED = {**RECONNECT["fields"], "forced_call_id": "7002", "payment_method": "cash"}
# Filled from the 대리 어드민 on apply (the ticket leaves them empty).
FILLED = {"admin_status": "completed", "driver_on_duty": True, "customer_recalling": False}
OTHER_TICKET = 999_001


@pytest.fixture(scope="module")
def admin() -> Iterator[AdminEmulator]:
    """The admin emulator on an ephemeral loopback port."""
    server = AdminEmulator().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def catalog() -> GuideCatalog:
    """The repo's guides."""
    return load_catalog(ROOT / "macros")


@pytest.fixture
def admin_settings(admin: AdminEmulator, tmp_path: Path) -> Settings:
    """Settings whose demo connectors call the admin emulator."""
    return settings_for(admin, make_settings(), tmp_path)


@pytest.fixture
def zendesk(
    tmp_path: Path, catalog: GuideCatalog, admin_settings: Settings
) -> Iterator[tuple[ZenpyGateway, ServiceContext]]:
    """Zenpy on the loopback Zendesk emulator, and a context whose connectors are real."""
    with EmulatorServer(rate_limit_per_minute=100_000) as server:
        gateway = ZenpyGateway(
            subdomain="emulator",
            email="agent@example.com",
            token="test-token",
            policy=RetryPolicy("batch", 5.0, 2, backoff_base=0.02, backoff_cap=0.1),
            base_url=server.url,
        )
        with gateway:
            field_map = bootstrap_fields(gateway, catalog.fields, tmp_path / "map.json")
            fetcher = functools.partial(
                fetch_for_ticket, settings=admin_settings, fields=catalog.fields, cache=FactCache()
            )
            yield (
                gateway,
                ServiceContext(
                    catalog=catalog,
                    renderer=TextRenderer(catalog),
                    options=EngineOptions(),
                    field_map=field_map,
                    fetch_facts=fetcher,
                ),
            )


class RivalClaimGateway:
    """Another ticket claims the 원콜 just before this apply's claim (the race it loses)."""

    def __init__(self, inner: ZenpyGateway) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def create_reconnection(self, claim: ReconnectionClaim) -> ReconnectionRecord:
        """The rival's claim lands first, so ours sorts after it."""
        self.inner.create_reconnection(
            ReconnectionClaim(claim.origin_call_id, "7999", OTHER_TICKET)
        )
        return self.inner.create_reconnection(claim)


def add_ticket(gateway: ZenpyGateway, ctx: ServiceContext) -> int:
    """A force_reconnect ticket with only what the agent typed."""
    assert ctx.field_map is not None
    fields = ctx.catalog.fields
    custom = {
        ctx.field_map[key]: fields.zendesk_value(key, fields.parse(key, value))
        for key, value in TYPED.items()
    }
    new = NewTicket(
        subject=RECONNECT["subject"], description=RECONNECT["description"], custom_fields=custom
    )
    return int(gateway.create_ticket(new).id)


def without_cache_flag(sources: dict[str, Any]) -> dict[str, Any]:
    """fact_sources without `cached` (the second fetch is answered from the TTL cache)."""
    return {
        key: {name: value for name, value in source.items() if name != "cached"}
        for key, source in sources.items()
    }


def clashes(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """connector_disagreements without the sources' `cached` flag."""
    return [
        {**item, "source": without_cache_flag({"s": item["source"]})["s"]}
        for item in answer["connector_disagreements"]
    ]


def test_seen_guidance_is_eligible_on_fetched_facts(
    zendesk: tuple[ZenpyGateway, ServiceContext],
) -> None:
    """The starting point: eligible thanks to the admin's facts, with the disagreement told."""
    gateway, ctx = zendesk
    shown = get_guidance(gateway, add_ticket(gateway, ctx), ctx).to_json()
    assert (shown["eligible"], shown["blocks"]) == (True, [])
    assert DISAGREEMENT_NOTICE in shown["notices"]
    assert {key: shown["fields_set"][key] for key in FILLED} == FILLED
    assert shown["fact_sources"]["admin_status"]["connector"] == "driver_admin_call"


def test_lost_claim_redecision_keeps_the_fetched_facts(
    zendesk: tuple[ZenpyGateway, ServiceContext],
) -> None:
    """Another ticket claims the 원콜 first: the blocked write keeps fills and notice.

    Fails on the code before this change: the re-decision after the lost claim dropped the
    connectors' field fills and the `connector_value_differs` notice.
    """
    gateway, ctx = zendesk
    ticket_id = add_ticket(gateway, ctx)
    shown = get_guidance(gateway, ticket_id, ctx).to_json()
    result = apply_decision(
        RivalClaimGateway(gateway),  # type: ignore[arg-type]
        ticket_id,
        shown["branch"],
        shown["ticket_updated_at"],
        ctx,
    )
    decision = result.decision.to_json()
    assert result.applied is True
    assert decision["blocks"] == ["already_reconnected_once"]
    assert DISAGREEMENT_NOTICE in decision["notices"]
    assert {key: result.fields_set[key] for key in FILLED} == FILLED
    record = gateway.get_ticket(ticket_id)
    assert ctx.field_map is not None
    assert record.custom_fields[ctx.field_map["admin_status"]] not in (None, "")
    assert "gp_block_already_reconnected_once" in record.tags
    assert [claim.ticket_id for claim in gateway.list_reconnections(ORIGIN)] == [OTHER_TICKET]


def test_lost_claim_409_carries_the_guidance_shape(
    zendesk: tuple[ZenpyGateway, ServiceContext],
) -> None:
    """With the fingerprint the agent saw, the lost claim is a 409 whose decision re-renders.

    Fails on the code before this change: the 409's decision had no `fact_sources` and
    lost the notice and the fills.
    """
    gateway, ctx = zendesk
    ticket_id = add_ticket(gateway, ctx)
    shown = get_guidance(gateway, ticket_id, ctx).to_json()
    with pytest.raises(DecisionChangedError) as caught:
        apply_decision(
            RivalClaimGateway(gateway),  # type: ignore[arg-type]
            ticket_id,
            shown["branch"],
            shown["ticket_updated_at"],
            ctx,
            fingerprint=shown["fingerprint"],
        )
    changed = caught.value.decision
    assert set(changed) == set(shown)
    assert changed["blocks"] == ["already_reconnected_once"]
    assert without_cache_flag(changed["fact_sources"]) == without_cache_flag(shown["fact_sources"])
    assert clashes(changed) == clashes(shown) != []
    assert changed["connector_failures"] == []
    assert DISAGREEMENT_NOTICE in changed["notices"]
    assert {key: changed["fields_set"][key] for key in FILLED} == FILLED
    assert changed["fingerprint"] != shown["fingerprint"]
    # Nothing was written: the agent reviews the new decision first.
    assert "gp_eligible" not in gateway.get_ticket(ticket_id).tags


# ---------------------------------------------------------------- through the API


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, admin: AdminEmulator) -> Iterator[Stack]:
    """Backend + Zendesk emulator whose connectors call the admin emulator."""
    workdir = tmp_path_factory.mktemp("connectors-apply")
    connected = settings_for(admin, make_settings(), workdir)
    overrides = {
        name: getattr(connected, name)
        for name in ("connectors_file", "connector_hosts", "connector_secrets")
    }
    with run_stack(workdir, settings_overrides=overrides) as running:
        yield running


def test_409_decision_changed_is_a_guidance_answer(stack: Stack) -> None:
    """Apply with a stale fingerprint: the 409 body's decision has the guidance's keys."""
    catalog = load_catalog(ROOT / "macros")
    custom = {
        stack.field_map[key]: catalog.fields.zendesk_value(key, catalog.fields.parse(key, value))
        for key, value in TYPED.items()
    }
    with ZenpyGateway.from_settings(stack.settings, wait_policy="batch") as gateway:
        ticket_id = gateway.create_ticket(
            NewTicket(subject="s", description="d", custom_fields=custom)
        ).id
    with httpx.Client(base_url=stack.backend_url, timeout=15.0) as http:
        shown = http.get(f"/v1/tickets/{ticket_id}/guidance", headers=stack.make_headers())
        assert shown.status_code == 200, shown.text
        seen = shown.json()
        answer = http.post(
            f"/v1/tickets/{ticket_id}/apply",
            headers=stack.make_headers(),
            json={
                "branch": seen["branch"],
                "ticket_updated_at": seen["ticket_updated_at"],
                "fingerprint": "0123456789abcdef0123",
            },
        )
    assert answer.status_code == 409, answer.text
    problem = answer.json()
    assert problem["type"].endswith("/decision-changed")
    decision = problem["decision"]
    assert set(decision) == set(seen)
    assert without_cache_flag(decision["fact_sources"]) == without_cache_flag(seen["fact_sources"])
    assert decision["fact_sources"]["admin_status"]["label"] == "대리 어드민"
    assert decision["connector_failures"] == []
    assert clashes(decision) == clashes(seen) != []
    assert decision["fingerprint"] == seen["fingerprint"]
