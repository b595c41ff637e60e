"""Demo tickets: every branch of both guides, edge cases, and a faithful Zendesk round trip."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from backend.bootstrap import bootstrap_fields
from backend.demo import (
    DEMO_CASES,
    DEMO_SEARCH_LAG_SECONDS,
    DEMO_TICKETS,
    HISTORY_ORIGIN_CALL_ID,
    XSS_PROBE,
    print_demo,
    seed_demo,
    start_emulator_with_demo,
)
from backend.domain.engine import decide
from backend.domain.facts import parse_input, parse_ticket_record
from backend.domain.guides import GuideCatalog, load_catalog
from backend.domain.render import TextRenderer
from backend.settings import REPO_ROOT, Settings
from backend.zendesk.fake_gateway import FakeGateway
from backend.zendesk.gateway import ZendeskGateway
from backend.zendesk.zenpy_gateway import ZenpyGateway


@pytest.fixture(scope="module")
def guides() -> GuideCatalog:
    return load_catalog(REPO_ROOT / "macros")


def _decide(guides: GuideCatalog, ticket: dict[str, Any]) -> Any:
    return decide(parse_input(ticket, guides.fields), guides, TextRenderer(guides))


def test_every_branch_of_both_guides_is_shown(guides: GuideCatalog) -> None:
    wanted = {(guide.id, branch) for guide in guides.guides.values() for branch in guide.branches}
    shown = {(d.guide, d.branch) for d in (_decide(guides, t) for t in DEMO_TICKETS)}
    assert wanted <= shown
    assert len(guides.guides) == 2


@pytest.mark.parametrize("case", DEMO_CASES, ids=[case.name for case in DEMO_CASES])
def test_each_case_shows_what_it_says(guides: GuideCatalog, case: Any) -> None:
    decision = _decide(guides, case.ticket)
    assert (decision.guide, decision.branch) == (case.guide, case.branch)
    assert set(case.blocks) <= set(decision.blocks)
    assert set(case.notices) <= set(decision.notices)
    if case.eligible is not None:
        assert decision.eligible is case.eligible


def test_edge_cases_are_present(guides: GuideCatalog) -> None:
    decisions = [_decide(guides, t) for t in DEMO_TICKETS]
    assert any(d.suggested and d.guide == "parking_onsite_payment" for d in decisions)
    assert any(d.guide is None and d.branch == "none" for d in decisions)
    assert sum(len(d.blocks) >= 2 for d in decisions) >= 2
    assert any("already_reconnected_once" in d.blocks for d in decisions)
    assert any(XSS_PROBE in str(t["fields"].values()) for t in DEMO_TICKETS)
    assert all(t["subject"] and t["description"] for t in DEMO_TICKETS)


def _round_trip(gateway: ZendeskGateway, guides: GuideCatalog, field_map: dict[str, int]) -> None:
    """Seed, read each ticket back through the field map, and decide again."""
    ids = seed_demo(gateway, guides.fields, field_map)
    assert len(ids) == len(DEMO_TICKETS)
    history = gateway.search_tickets(f"type:ticket tags:fr_origin_{HISTORY_ORIGIN_CALL_ID}")
    assert len(history) == 1
    assert "fr_forced" in history[0].tags
    for ticket_id, case in zip(ids, DEMO_CASES, strict=True):
        record = gateway.get_ticket(ticket_id)
        # Only the dropdowns' option tags: nothing applied yet.
        assert not [t for t in record.tags if t.startswith(("gp_guide", "gp_branch", "fr_"))]
        parsed = parse_ticket_record(
            record.custom_fields,
            record.subject,
            record.description,
            guides.fields,
            field_map,
            prior_reconnections=case.ticket.get("prior_reconnections", 0),
        )
        assert parsed == parse_input(case.ticket, guides.fields), case.name
        decision = decide(parsed, guides, TextRenderer(guides))
        assert (decision.guide, decision.branch) == (case.guide, case.branch), case.name


def test_seed_round_trips_through_the_fake(guides: GuideCatalog, tmp_path: Path) -> None:
    fake = FakeGateway()
    field_map = bootstrap_fields(fake, guides.fields, tmp_path / "map.json")
    _round_trip(fake, guides, field_map)


def test_seed_round_trips_through_the_emulator(
    gateway: ZenpyGateway, guides: GuideCatalog, tmp_path: Path
) -> None:
    field_map = bootstrap_fields(gateway, guides.fields, tmp_path / "map.json")
    _round_trip(gateway, guides, field_map)


def test_start_emulator_with_demo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Let monkeypatch restore the process-wide Zenpy overrides the demo sets.
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "https")
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", "unused")
    settings = Settings(field_map=tmp_path / "var" / "field_map.json")
    server, ids = start_emulator_with_demo(settings, "127.0.0.1", 0)
    try:
        assert settings.field_map.is_file()
        assert len(ids) == len(DEMO_TICKETS)
        article = server.store.get_article(1002, "ko")
        assert article is not None
        assert "강제재연결" in article["title"]
        out = io.StringIO()
        print_demo(server.url, ids, out)
        assert server.url in out.getvalue()
        assert "reconnect.customer_unreachable" in out.getvalue()
        # Search lags as Zendesk's does, but what the demo seeded is indexed already.
        assert server.store.search_lag_seconds == DEMO_SEARCH_LAG_SECONDS > 0
        query = f"type:ticket tags:fr_origin_{HISTORY_ORIGIN_CALL_ID}"
        assert len(server.store.search(query)) == 1
        later = {"subject": "later", "description": "d", "tags": [query.split(":")[-1]]}
        server.store.create_ticket(later)
        assert len(server.store.search(query)) == 1  # not indexed yet
        server.store.reset()
        assert server.store.get_ticket(ids[-1]) is not None
        assert len(server.store.search(query)) == 1
    finally:
        server.stop()
