"""GUIDEPOST_RECONNECTION_SEARCH_FALLBACK: after the migration window the ledger alone counts."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from backend.api.deps import get_service_context, load_engine
from backend.bootstrap import bootstrap_fields
from backend.domain.engine import EngineOptions
from backend.domain.guides import GuideCatalog
from backend.domain.render import TextRenderer
from backend.errors import SettingsError
from backend.service import ServiceContext, get_guidance
from backend.settings import Settings
from backend.zendesk.fake_gateway import FakeGateway
from backend.zendesk.gateway import NewTicket

# An eligible force_reconnect ticket (as in test_reconnection_ledger.py).
ELIGIBLE: dict[str, Any] = {
    "consult_type": "driver_force_rerun_own_normal",
    "identity_verified": True,
    "customer_presence": "together",
    "fare_adjustment": False,
    "payment_method": "card",
    "admin_status": "completed",
    "customer_consent": "agreed",
    "driver_on_duty": True,
    "customer_recalling": False,
    "origin_call_id": "7001",
    "forced_call_id": "7002",
    "original_fare": 23000,
}


def _add(fake: FakeGateway, ctx: ServiceContext, **changes: Any) -> int:
    """Create a force_reconnect ticket from semantic values."""
    assert ctx.field_map is not None
    custom = {
        ctx.field_map[key]: ctx.catalog.fields.zendesk_value(key, value)
        for key, value in {**ELIGIBLE, **changes}.items()
    }
    new = NewTicket(
        subject="강제재연결 요청", description="재연결 부탁드립니다", custom_fields=custom
    )
    return int(fake.create_ticket(new).id)


def _setup(
    tmp_path: Path, catalog: GuideCatalog, renderer: TextRenderer, fallback: bool
) -> tuple[FakeGateway, ServiceContext, int]:
    """An account with a pre-ledger 강콜 (tags only) and a new ticket of the same 원콜."""
    fake = FakeGateway(lenient_fields=False)
    ctx = ServiceContext(
        catalog=catalog,
        renderer=renderer,
        options=EngineOptions(admin_call_url="https://admin.example/calls/{call_id}"),
        field_map=bootstrap_fields(fake, catalog.fields, tmp_path / "m.json"),
        search_fallback=fallback,
    )
    old = _add(fake, ctx, forced_call_id="6999")
    fake.touch_ticket(old, tags=["fr_origin_7001", "fr_forced"])
    return fake, ctx, _add(fake, ctx)


def test_fallback_is_on_by_default() -> None:
    assert Settings(_env_file=None).reconnection_search_fallback is True


def test_fallback_on_searches_pre_ledger_history(
    tmp_path: Path, catalog: GuideCatalog, renderer: TextRenderer
) -> None:
    fake, ctx, ticket = _setup(tmp_path, catalog, renderer, fallback=True)
    before = fake.calls
    guidance = get_guidance(fake, ticket, ctx)
    assert fake.calls - before == 3  # read, ledger list, search
    assert guidance.reconnection_history == "ledger+search"
    assert guidance.blocks == ["already_reconnected_once"]


def test_fallback_off_reads_the_ledger_only(
    tmp_path: Path, catalog: GuideCatalog, renderer: TextRenderer
) -> None:
    """Past the window a tags-only 강콜 no longer counts, and search is never asked."""
    fake, ctx, ticket = _setup(tmp_path, catalog, renderer, fallback=False)
    before = fake.calls
    guidance = get_guidance(fake, ticket, ctx)
    assert fake.calls - before == 2  # read, ledger list
    assert guidance.reconnection_history == "ledger"
    assert guidance.eligible is True


def test_fallback_off_without_a_ledger_fails_closed(
    tmp_path: Path, catalog: GuideCatalog, renderer: TextRenderer
) -> None:
    fake, ctx, ticket = _setup(tmp_path, catalog, renderer, fallback=False)
    fake.store.delete_custom_object("gp_reconnection")  # bootstrap not rerun
    with pytest.raises(SettingsError, match="fields bootstrap"):
        get_guidance(fake, ticket, ctx)


@pytest.mark.parametrize("fallback", [True, False])
def test_fallback_setting_reaches_the_service_context(fallback: bool) -> None:
    settings = Settings(_env_file=None, reconnection_search_fallback=fallback)
    engine = load_engine(settings.guides_dir)
    ctx = asyncio.run(get_service_context(engine, settings, None))
    assert ctx.search_fallback is fallback
