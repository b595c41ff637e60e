"""`fields bootstrap`: creates every Zendesk-backed field once, then writes nothing."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from backend.bootstrap import bootstrap_fields, build_field_spec
from backend.domain.fields import FieldCatalog, load_field_catalog
from backend.emulator.server import EmulatorServer
from backend.settings import REPO_ROOT
from backend.zendesk.fake_gateway import FakeGateway
from backend.zendesk.gateway import FieldOption, FieldSpec
from backend.zendesk.zenpy_gateway import ZenpyGateway


@pytest.fixture(scope="module")
def catalog() -> FieldCatalog:
    return load_field_catalog(REPO_ROOT / "macros" / "fields.yaml")


def _zendesk_keys(catalog: FieldCatalog) -> list[str]:
    return [f.key for f in catalog.fields() if f.zendesk]


def test_specs_follow_the_type_rules(catalog: FieldCatalog) -> None:
    identity = build_field_spec(catalog.get("identity_verified"))
    assert identity.type == "tagger"
    assert identity.title == "본인확인 완료"
    assert identity.options == (
        FieldOption("예", "gp_identity_verified_yes"),
        FieldOption("아니오", "gp_identity_verified_no"),
    )
    consult = build_field_spec(catalog.get("consult_type"))
    assert consult.options[0] == FieldOption(
        "주차_고객::결제::입출차 오/미인식::연동",
        "gp_consult_type_parking_integration_onsite_payment",
    )
    assert "guidepost:consult_type" in consult.description
    types = {key: build_field_spec(catalog.get(key)).type for key in _zendesk_keys(catalog)}
    assert types["usage_date"] == "date"
    assert types["onsite_amount"] == types["original_fare"] == "integer"
    for key in ("entry_time", "car_number", "origin_call_id", "coupon_split", "reason"):
        assert types[key] == "text"


def test_bootstrap_against_the_emulator_is_idempotent(
    emulator: EmulatorServer, gateway: ZenpyGateway, catalog: FieldCatalog, tmp_path: Path
) -> None:
    out = tmp_path / "var" / "nested" / "field_map.json"
    log = io.StringIO()
    first = bootstrap_fields(gateway, catalog, out, log=log)
    keys = _zendesk_keys(catalog)
    assert sorted(first) == sorted(keys)
    assert "prior_reconnections" not in first
    assert json.loads(out.read_text(encoding="utf-8")) == first
    assert log.getvalue().count(": created (id ") == len(keys)
    by_id = {f.id: f for f in gateway.list_ticket_fields()}
    assert by_id[first["call_type"]].title == "콜 유형"
    assert by_id[first["call_type"]].options[1] == FieldOption(
        "자사콜(VIP)", "gp_call_type_own_vip"
    )

    emulator.store.reset_counters()
    second_log = io.StringIO()
    second = bootstrap_fields(gateway, catalog, out, log=second_log)
    counters = emulator.store.counters()
    assert second == first
    assert counters["writes"] == 0
    # One list of the fields, two reads proving the ledger is there: no write.
    assert counters["by_route"] == {
        "GET /api/v2/ticket_fields": 1,
        "GET /api/v2/custom_objects/{key}": 1,
        "GET /api/v2/custom_objects/{key}/fields": 1,
    }
    assert second_log.getvalue().count(": unchanged (id ") == len(keys)
    assert [p.name for p in out.parent.iterdir()] == ["field_map.json"]


def test_fields_are_matched_by_marker_not_title(catalog: FieldCatalog, tmp_path: Path) -> None:
    fake = FakeGateway()
    decoy = fake.create_ticket_field(FieldSpec("text", "콜 유형", "somebody else's field"))
    first = bootstrap_fields(fake, catalog, tmp_path / "map.json")
    assert first["call_type"] != decoy.id
    renamed = fake.fields[first["call_type"]]
    fake.update_ticket_field(
        renamed.id,
        FieldSpec("tagger", "Call type (renamed)", renamed.description, renamed.options[:2]),
    )
    fake.calls = 0
    log = io.StringIO()
    second = bootstrap_fields(fake, catalog, tmp_path / "map.json", log=log)
    assert second == first
    assert fake.calls == 4  # one list, one update, two ledger reads
    assert f"call_type: updated (id {first['call_type']})" in log.getvalue()
    assert fake.fields[first["call_type"]].title == "콜 유형"
    assert len(fake.fields[first["call_type"]].options) == 9


def test_a_field_whose_type_changed_is_retired_and_recreated(
    catalog: FieldCatalog, tmp_path: Path
) -> None:
    fake = FakeGateway()
    old = fake.create_ticket_field(FieldSpec("integer", "운행번호", "guidepost:trip_number"))
    field_map = bootstrap_fields(fake, catalog, tmp_path / "map.json")
    assert field_map["trip_number"] != old.id
    assert fake.fields[field_map["trip_number"]].type == "text"
    retired = fake.fields[old.id]
    assert not retired.active
    assert "guidepost:" not in retired.description
    fake.calls = 0
    assert bootstrap_fields(fake, catalog, tmp_path / "map.json") == field_map
    assert fake.calls == 3  # the field list and two ledger reads
