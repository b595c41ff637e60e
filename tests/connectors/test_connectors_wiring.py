"""Connectors wired into the product: `guides check`, start-up, and the service's merge."""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from connector_helpers import ROOT, make_settings

from backend.api.app import create_app
from backend.cli import main
from backend.connectors.result import ConnectorFacts, FactSource, SourceFailure
from backend.domain.engine import EngineOptions
from backend.domain.guides import GuideCatalog, load_catalog
from backend.domain.render import TextRenderer
from backend.errors import SettingsError
from backend.fetched_facts import DISAGREEMENT_NOTICE
from backend.service import ServiceContext, build_guidance, decision_fingerprint, read_decision
from backend.zendesk.gateway import TicketRecord

WriteYaml = Callable[[str], Path]
FETCHED_AT = FactSource(kind="connector", connector="driver_admin_call", label="대리 어드민")
# 상담유형 + 원콜 ID + identity + what only the conversation gives; the rest comes from the admin.
TYPED = {
    "consult_type": "driver_force_rerun_own_normal",
    "identity_verified": True,
    "origin_call_id": "880001001",
    "customer_presence": "together",
    "fare_adjustment": False,
    "customer_consent": "agreed",
}
ADMIN = {
    "admin_status": "completed",
    "payment_method": "card",
    "driver_on_duty": True,
    "customer_recalling": False,
    "original_fare": 23000,  # the admin's /call/fare (macros/connectors.yaml)
}


@pytest.fixture(scope="module")
def catalog() -> GuideCatalog:
    """The repo's guides."""
    return load_catalog(ROOT / "macros")


class OneTicket:
    """A gateway that holds one ticket and no reconnection history."""

    def __init__(self, record: TicketRecord) -> None:
        self.record = record

    def get_ticket(self, ticket_id: int) -> TicketRecord:
        """The held ticket."""
        return self.record

    def list_reconnections(self, origin_call_id: str) -> list[object]:
        """An empty ledger."""
        return []

    def search_tickets(self, query: str) -> list[TicketRecord]:
        """No earlier tickets."""
        return []


def record_of(
    catalog: GuideCatalog, values: Mapping[str, object]
) -> tuple[TicketRecord, dict[str, int]]:
    """A ticket record with these semantic values, and the field map it is read through."""
    keys = sorted(field.key for field in catalog.fields.fields() if field.zendesk)
    field_map = {key: 1000 + i for i, key in enumerate(keys)}
    custom = {
        field_map[key]: catalog.fields.zendesk_value(key, catalog.fields.parse(key, value))
        for key, value in values.items()
    }
    record = TicketRecord(
        id=7,
        subject="운행 중 콜 취소",
        description="손님과 함께 있어요",
        status="open",
        tags=(),
        custom_fields=custom,
        updated_at="2024-11-21T01:00:00Z",
    )
    return record, field_map


def context(
    catalog: GuideCatalog, field_map: dict[str, int], fetched: ConnectorFacts | None
) -> ServiceContext:
    """A service context whose connectors answer `fetched` (None: no connectors)."""
    fetcher = None if fetched is None else (lambda known: fetched)
    return ServiceContext(
        catalog=catalog,
        renderer=TextRenderer(catalog),
        options=EngineOptions(),
        field_map=field_map,
        fetch_facts=fetcher,
    )


def admin_facts(catalog: GuideCatalog, values: Mapping[str, object]) -> ConnectorFacts:
    """Fetched facts as the connectors give them (parsed values, connector provenance)."""
    parsed = {key: catalog.fields.parse(key, value) for key, value in values.items()}
    return ConnectorFacts(values=parsed, provenance=dict.fromkeys(parsed, FETCHED_AT))


def test_fetched_facts_decide_fill_fields_and_carry_provenance(catalog: GuideCatalog) -> None:
    """The admin's facts reach the eligible branch, are filled on apply, and say where from."""
    record, field_map = record_of(catalog, TYPED)
    without = read_decision(OneTicket(record), 7, context(catalog, field_map, None))  # type: ignore[arg-type]
    assert without.decision.eligible is False
    assert without.decision.missing[:2] == ["admin_status", "payment_method"]
    ctx = context(catalog, field_map, admin_facts(catalog, ADMIN))
    found = read_decision(OneTicket(record), 7, ctx)  # type: ignore[arg-type]
    assert (found.decision.eligible, found.decision.missing) == (True, [])
    for key in ADMIN:
        assert key in found.decision.fields_set
    assert found.decision.fields_set["admin_status"] == "completed"
    answer = build_guidance(found, ctx).to_json()
    assert answer["fact_sources"]["origin_call_id"] == {"kind": "ticket"}
    assert answer["fact_sources"]["admin_status"]["connector"] == "driver_admin_call"
    assert answer["connector_failures"] == []
    assert answer["connector_disagreements"] == []
    assert DISAGREEMENT_NOTICE not in answer["notices"]


def test_typed_value_wins_and_the_disagreement_is_told(catalog: GuideCatalog) -> None:
    """A typed 결제수단 that the admin reports differently: typed wins, notice + detail."""
    record, field_map = record_of(catalog, {**TYPED, "payment_method": "cash"})
    ctx = context(catalog, field_map, admin_facts(catalog, ADMIN))
    found = read_decision(OneTicket(record), 7, ctx)  # type: ignore[arg-type]
    assert found.decision.facts["payment_method"] == "cash"
    assert "payment_method" not in found.decision.fields_set
    answer = build_guidance(found, ctx).to_json()
    assert DISAGREEMENT_NOTICE in answer["notices"]
    assert answer["connector_disagreements"] == [
        {
            "fact": "payment_method",
            "typed": "cash",
            "fetched": "card",
            "source": FETCHED_AT.to_json(),
        }
    ]
    assert answer["fact_sources"]["payment_method"] == {"kind": "ticket"}
    assert DISAGREEMENT_NOTICE in catalog.labels["notices"]


def test_failures_are_answered_and_facts_stay_unknown(catalog: GuideCatalog) -> None:
    """A failing source: its facts stay unknown (pending), the failure is in the answer."""
    record, field_map = record_of(catalog, TYPED)
    failure = SourceFailure(
        "driver_admin_call", "대리 어드민", "unavailable", "refused", ("admin_status",)
    )
    ctx = context(catalog, field_map, ConnectorFacts(failures=(failure,)))
    found = read_decision(OneTicket(record), 7, ctx)  # type: ignore[arg-type]
    answer = build_guidance(found, ctx).to_json()
    assert answer["eligible"] is False
    assert answer["missing"][0] == "admin_status"
    assert answer["connector_failures"] == [failure.to_json()]
    assert not set(ADMIN) & set(found.decision.fields_set)


def test_provenance_is_not_in_the_fingerprint(catalog: GuideCatalog) -> None:
    """Same decision, facts fetched at other times or from the cache: same C3 fingerprint."""
    record, field_map = record_of(catalog, TYPED)
    first = admin_facts(catalog, ADMIN)
    later = ConnectorFacts(
        values=first.values,
        provenance=dict.fromkeys(
            first.values, FactSource(kind="connector", connector="x", cached=True)
        ),
    )
    one = read_decision(OneTicket(record), 7, context(catalog, field_map, first))  # type: ignore[arg-type]
    two = read_decision(OneTicket(record), 7, context(catalog, field_map, later))  # type: ignore[arg-type]
    assert decision_fingerprint(one.decision) == decision_fingerprint(two.decision)
    assert one.fingerprint == two.fingerprint


def test_the_applied_fields_settle_the_decision(catalog: GuideCatalog) -> None:
    """After apply the fetched facts are typed: the write-back's tag is recognised again."""
    record, field_map = record_of(catalog, TYPED)
    ctx = context(catalog, field_map, admin_facts(catalog, ADMIN))
    before = read_decision(OneTicket(record), 7, ctx)  # type: ignore[arg-type]
    assert set(ADMIN) <= set(before.decision.fields_set)
    written, _ = record_of(catalog, {**TYPED, **before.decision.fields_set})
    after = read_decision(OneTicket(written), 7, ctx)  # type: ignore[arg-type]
    assert after.decision.fields_set == {}
    assert after.fingerprint == before.fingerprint


def test_guides_check_reports_connector_problems(tmp_path: Path) -> None:
    """A bad macros/connectors.yaml fails `guides check`, naming file, connector and key."""
    macros = tmp_path / "macros"
    shutil.copytree(ROOT / "macros", macros)
    path = macros / "connectors.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("ticket_price: /ticket/price", "no_such_fact: /x"),
        encoding="utf-8",
    )
    out, err = io.StringIO(), io.StringIO()
    code = main(["guides", "check", "--guides-dir", str(macros)], out=out, err=err)
    assert code != 0
    assert (
        f"{path}: connector 'parking_admin_usage': facts.no_such_fact: not a field key"
        in err.getvalue()
    )


def test_start_up_fails_fast_on_a_bad_connector(write_yaml: WriteYaml) -> None:
    """A configured connector on a host not allow-listed stops create_app with its name."""
    text = (ROOT / "macros" / "connectors.yaml").read_text(encoding="utf-8")
    settings = make_settings(connectors_file=write_yaml(text))
    with pytest.raises(SettingsError) as caught:
        create_app(settings)
    assert "connector 'driver_admin_call': url: host 127.0.0.1:8790" in caught.value.detail


def test_check_lines_name_the_fetched_facts_they_read(catalog: GuideCatalog) -> None:
    """Each check resting on an admin fact names it (the sidebar's "어드민" mark); others don't."""
    record, field_map = record_of(catalog, TYPED)
    ctx = context(catalog, field_map, admin_facts(catalog, ADMIN))
    answer = build_guidance(read_decision(OneTicket(record), 7, ctx), ctx).to_json()  # type: ignore[arg-type]
    assert answer["fetched_check_facts"] == {
        "admin_status_not_reconnectable": ["admin_status"],
        "driver_off_duty": ["driver_on_duty"],
        "customer_recalling": ["customer_recalling"],
    }
    assert {line["id"] for line in answer["checks"]} >= set(answer["fetched_check_facts"])
    typed_only = {**TYPED, **ADMIN}
    record, field_map = record_of(catalog, typed_only)
    ctx = context(catalog, field_map, admin_facts(catalog, ADMIN))
    answer = build_guidance(read_decision(OneTicket(record), 7, ctx), ctx).to_json()  # type: ignore[arg-type]
    assert answer["fetched_check_facts"] == {}  # typed on the ticket: no admin mark
    plain = build_guidance(read_decision(OneTicket(record), 7, context(catalog, field_map, None)))  # type: ignore[arg-type]
    assert plain.fetched_check_facts == {}
