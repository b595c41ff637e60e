"""CONTRACTS.md — `guidepost explain [FILE or -]`: output shape, exit codes, bad input."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from spec_ids import CONTRACT_EXAMPLE

from backend import catalog_cache
from backend.cli import main
from backend.domain import guides, render
from backend.domain.guides import GuideCatalog
from backend.domain.render import TextRenderer

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_KEYS = {
    "guide",
    "suggested",
    "branch",
    "eligible",
    "blocks",
    "missing",
    "notices",
    "tags",
    "note",
    "texts",
}
TEXT_KINDS = {"reply", "outbound", "sms", "note"}
ELIGIBLE = {
    "fields": {
        **CONTRACT_EXAMPLE["fields"],
        "admin_status": "completed",
        "customer_consent": "agreed",
        "driver_on_duty": True,
        "customer_recalling": False,
        "origin_call_id": "1234567",
        "forced_call_id": "7654321",
        "reason": "앱 조작 실수",
        "departure": "강남역",
        "destination": "판교역",
    },
    "prior_reconnections": 0,
}


@pytest.fixture(autouse=True)
def isolated_settings(monkeypatch, tmp_path, catalog, renderer):
    """No .env, no field map unless a test writes one; the repo's guides.

    In-process runs reuse the session's catalog and renderer instead of re-reading
    macros/ on every call (speed only; the subprocess tests below read it for real).
    """
    real_load = guides.load_catalog
    real_renderer = render.TextRenderer

    def cached_load(root: Path) -> GuideCatalog:
        return catalog if Path(root).resolve() == catalog.root.resolve() else real_load(root)

    def cached_renderer(given: GuideCatalog, folder: Path | None = None) -> TextRenderer:
        return renderer if given is catalog else real_renderer(given)

    monkeypatch.setattr(guides, "load_catalog", cached_load)
    monkeypatch.setattr(catalog_cache, "load_catalog_cached", cached_load)
    monkeypatch.setattr(catalog_cache, "cached_renderer", cached_renderer)
    monkeypatch.setattr(render, "TextRenderer", cached_renderer)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GUIDEPOST_GUIDES_DIR", str(ROOT / "macros"))
    monkeypatch.setenv("GUIDEPOST_FIELD_MAP", str(tmp_path / "no_field_map.json"))
    monkeypatch.setenv("GUIDEPOST_ADMIN_CALL_URL", "https://admin.test/calls/{call_id}")


def explain(monkeypatch, stdin: str, *argv: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    out, err = io.StringIO(), io.StringIO()
    code = main(["explain", *argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def explain_json(monkeypatch, data: Any, *argv: str) -> dict[str, Any]:
    code, out, err = explain(monkeypatch, json.dumps(data, ensure_ascii=False), *(argv or ("-",)))
    assert (code, err) == (0, "")
    decision = json.loads(out)
    assert isinstance(decision, dict)
    return decision


def assert_contract_shape(decision: dict[str, Any]) -> None:
    assert set(decision) >= CONTRACT_KEYS
    assert decision["guide"] is None or isinstance(decision["guide"], str)
    assert isinstance(decision["suggested"], bool)
    assert isinstance(decision["branch"], str)
    assert isinstance(decision["eligible"], bool)
    for key in ("blocks", "missing", "notices", "tags"):
        assert isinstance(decision[key], list)
        assert all(isinstance(item, str) for item in decision[key])
    assert isinstance(decision["note"], str)
    assert isinstance(decision["texts"], list)
    for text in decision["texts"]:
        assert {"key", "kind", "title", "body"} <= set(text)
        assert text["kind"] in TEXT_KINDS
        assert all(isinstance(text[k], str) and text[k] for k in ("key", "title", "body"))


# --- decisions: exit 0 ---------------------------------------------------------------------


def test_eligible_decision_from_stdin(monkeypatch):
    decision = explain_json(monkeypatch, ELIGIBLE)
    assert_contract_shape(decision)
    assert decision["guide"] == "force_reconnect"
    assert decision["suggested"] is False
    assert decision["branch"] == "reconnect.together.no_fare_change"
    assert decision["eligible"] is True
    assert (decision["blocks"], decision["missing"]) == ([], [])
    assert decision["notices"] == ["reconnect_only_once"]
    assert set(decision["tags"]) == {
        "gp_guide_force_reconnect",
        "gp_branch_reconnect_together_no_fare_change",
        "gp_eligible",
        "fr_origin_1234567",
        "fr_forced",
    }
    assert "[채팅] 강제재연결 요청" in decision["note"]
    # The admin URL pattern is a setting (GUIDEPOST_ADMIN_CALL_URL).
    assert "https://admin.test/calls/7654321" in decision["note"]
    kinds = {text["kind"] for text in decision["texts"]}
    # The next step once the customer agreed: no consent call any more (its answer is known).
    assert {"reply", "note"} <= kinds
    assert "outbound" not in kinds
    for text in decision["texts"]:
        assert set(text) >= {"key", "kind", "title", "body", "placeholders", "from_article", "asks"}
    assert decision["outcome"] == "eligible"


def test_contract_example_input(monkeypatch):
    decision = explain_json(monkeypatch, CONTRACT_EXAMPLE)
    assert_contract_shape(decision)
    assert decision["branch"] == "reconnect.together.no_fare_change"
    assert decision["eligible"] is False
    assert decision["blocks"] == []
    assert decision["missing"] == [
        "reason",
        "admin_status",
        "origin_call_id",
        "departure",
        "destination",
        "customer_consent",
        "driver_on_duty",
        "customer_recalling",
    ]
    # GUIDES.md: reconnect_only_once only on eligible decisions.
    assert decision["notices"] == []
    # Facts missing, nothing violated: pending, not blocked (ERRATA 2).
    assert decision["outcome"] == "pending"
    assert "gp_pending" in decision["tags"]
    assert "gp_blocked" not in decision["tags"]


def test_file_argument_and_default_stdin_agree(monkeypatch, tmp_path):
    path = tmp_path / "ticket.json"
    path.write_text(json.dumps(ELIGIBLE, ensure_ascii=False), encoding="utf-8")
    from_file = explain_json(monkeypatch, {"fields": {}}, str(path))
    from_dash = explain_json(monkeypatch, ELIGIBLE, "-")
    code, out, err = explain(monkeypatch, json.dumps(ELIGIBLE))
    assert (code, err) == (0, "")
    assert from_file == from_dash == json.loads(out)


@pytest.mark.parametrize(
    ("data", "branch", "blocks"),
    [
        pytest.param(
            {"fields": {**ELIGIBLE["fields"], "call_type": "partner"}},
            "reconnect.partner_situation_room",
            ["partner_call_use_situation_room"],
            id="partner-blocked",
        ),
        pytest.param(
            {**ELIGIBLE, "prior_reconnections": 1},
            "reconnect.together.no_fare_change",
            ["already_reconnected_once"],
            id="reconnected-once",
        ),
        pytest.param(
            {"fields": {"consult_type": "parking_integration_onsite_payment"}},
            "parking.collect_info",
            [],
            id="parking-collect-info",
        ),
    ],
)
def test_ineligible_decisions_exit_0(monkeypatch, data, branch, blocks):
    decision = explain_json(monkeypatch, data)
    assert_contract_shape(decision)
    assert (decision["branch"], decision["eligible"], decision["blocks"]) == (
        branch,
        False,
        blocks,
    )
    expected = "blocked" if blocks else "pending"
    assert decision["outcome"] == expected
    assert f"gp_{expected}" in decision["tags"]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({}, id="empty-object"),
        pytest.param({"fields": {}}, id="no-fields"),
        pytest.param({"fields": None, "subject": "안녕하세요"}, id="no-keyword"),
    ],
)
def test_no_guide_exit_0(monkeypatch, data):
    decision = explain_json(monkeypatch, data)
    assert_contract_shape(decision)
    assert (decision["guide"], decision["branch"], decision["eligible"]) == (None, "none", False)
    assert (decision["tags"], decision["texts"]) == ([], [])


def test_suggestion_exit_0(monkeypatch):
    decision = explain_json(monkeypatch, {"subject": "주차권 적용 안 돼서 현장결제 했어요"})
    assert_contract_shape(decision)
    assert decision["guide"] == "parking_onsite_payment"
    assert decision["suggested"] is True
    assert decision["branch"] == "none"
    assert decision["notices"] == ["guide_suggested_set_consult_type"]
    assert decision["tags"] == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("12,000원", 12000, id="won-text"),
        pytest.param("12000", 12000, id="digits-text"),
        pytest.param(12000, 12000, id="integer"),
    ],
)
def test_amount_forms_are_accepted(monkeypatch, raw, expected):
    data = {"fields": {"consult_type": "parking_integration_onsite_payment", "onsite_amount": raw}}
    decision = explain_json(monkeypatch, data)
    assert decision["facts"]["onsite_amount"] == expected


# --- bad input: exit 2, one stderr line naming the field, nothing on stdout --------------------

BAD_INPUTS = [
    pytest.param("{not json", "input", id="invalid-json"),
    pytest.param("", "input", id="empty-input"),
    pytest.param('{"fields": {}} trailing', "input", id="trailing-garbage"),
    pytest.param("[1, 2]", "input", id="non-object-list"),
    pytest.param('"ticket"', "input", id="non-object-string"),
    pytest.param("null", "input", id="non-object-null"),
    pytest.param({"fields": {}, "foo": 1}, "foo", id="unknown-top-level-key"),
    pytest.param({"fields": [1, 2]}, "fields", id="fields-not-object"),
    pytest.param({"fields": {"nope": 1}}, "nope", id="unknown-field-key"),
    pytest.param({"fields": {"call_type": "taxi"}}, "call_type", id="unknown-option-code"),
    pytest.param({"fields": {"consult_type": "refund"}}, "consult_type", id="unknown-consult"),
    pytest.param({"fields": {"operator": "acme"}}, "operator", id="unknown-operator"),
    pytest.param({"fields": {"identity_verified": "maybe"}}, "identity_verified", id="tristate"),
    pytest.param({"fields": {"usage_date": "2026-13-01"}}, "usage_date", id="date-month-13"),
    pytest.param({"fields": {"usage_date": "2026/11/20"}}, "usage_date", id="date-slashes"),
    pytest.param({"fields": {"usage_date": "2026-02-30"}}, "usage_date", id="date-feb-30"),
    pytest.param({"fields": {"entry_time": "2026-11-20T25:00"}}, "entry_time", id="datetime-hour"),
    pytest.param({"fields": {"exit_time": "어제 14시"}}, "exit_time", id="datetime-words"),
    pytest.param({"fields": {"reserved_at": 20261120}}, "reserved_at", id="datetime-number"),
    pytest.param({"fields": {"onsite_amount": -1000}}, "onsite_amount", id="amount-negative"),
    pytest.param({"fields": {"ticket_price": "-1,000원"}}, "ticket_price", id="amount-neg-text"),
    pytest.param({"fields": {"onsite_amount": "12,00원"}}, "onsite_amount", id="amount-12,00원"),
    pytest.param({"fields": {"agreed_fare": 12.5}}, "agreed_fare", id="amount-fraction"),
    pytest.param({"fields": {"overtime_fee": True}}, "overtime_fee", id="amount-boolean"),
    pytest.param({"fields": {"car_number": "1234"}}, "car_number", id="plate-1234"),
    pytest.param({"fields": {"car_number": "12X3456"}}, "car_number", id="plate-latin"),
    pytest.param({"fields": {"origin_call_id": "12a"}}, "origin_call_id", id="call-id-12a"),
    pytest.param({"fields": {"forced_call_id": "-5"}}, "forced_call_id", id="call-id-negative"),
    pytest.param({"fields": {"coupon_split": "abc"}}, "coupon_split", id="coupon-split"),
    pytest.param({"fields": {}, "prior_reconnections": -1}, "prior_reconnections", id="prior"),
    pytest.param({"fields": {}, "subject": 12}, "subject", id="subject-not-text"),
    pytest.param({"ticket": {"custom_fields": []}}, "ticket", id="ticket-without-field-map"),
    pytest.param({"fields": {}, "ticket": {}}, "ticket", id="fields-and-ticket"),
]


@pytest.mark.parametrize(("data", "field"), BAD_INPUTS)
def test_bad_input_exit_2_one_line_naming_the_field(monkeypatch, data, field):
    raw = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    code, out, err = explain(monkeypatch, raw, "-")
    assert code == 2
    assert out == ""
    assert err.endswith("\n")
    assert err.count("\n") == 1
    assert re.search(rf"(?<![\w.]){re.escape(field)}(?![\w])", err), err


def test_bad_input_from_a_file(monkeypatch, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"fields": {"car_number": "1234"}}', encoding="utf-8")
    code, out, err = explain(monkeypatch, "", str(path))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert err.startswith("car_number")


def test_missing_file_exit_2(monkeypatch, tmp_path):
    code, out, err = explain(monkeypatch, "", str(tmp_path / "absent.json"))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert "absent.json" in err


def test_non_utf8_file_exit_2(monkeypatch, tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes('{"subject": "caf\xe9"}'.encode("latin-1"))
    code, out, err = explain(monkeypatch, "", str(path))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1


def test_corrupt_field_map_is_a_one_line_error(monkeypatch, tmp_path):
    path = tmp_path / "field_map.json"
    path.write_text("{not json", encoding="utf-8")
    monkeypatch.setenv("GUIDEPOST_FIELD_MAP", str(path))
    code, out, err = explain(monkeypatch, json.dumps(ELIGIBLE), "-")
    assert code in (1, 2)
    assert out == ""
    assert err.count("\n") == 1
    assert "field" in err


# --- the Zendesk ticket shape through a field map ---------------------------------------------


@pytest.fixture
def field_map(monkeypatch, tmp_path, catalog) -> dict[str, int]:
    mapping = {key: 360_000_000 + i for i, key in enumerate(catalog.fields.keys())}
    path = tmp_path / "field_map.json"
    path.write_text(json.dumps(mapping), encoding="utf-8")
    monkeypatch.setenv("GUIDEPOST_FIELD_MAP", str(path))
    return mapping


def zendesk_ticket(field_map: dict[str, int], values: dict[str, Any]) -> dict[str, Any]:
    custom = [{"id": field_map[key], "value": value} for key, value in values.items()]
    custom.append({"id": 999, "value": "a field Guidepost does not map"})
    return {
        "id": 4242,
        "subject": "콜이 취소됐어요",
        "description": "고객과 다시 연결해 주세요",
        "tags": ["vip"],
        "custom_fields": custom,
    }


ZENDESK_VALUES = {
    "consult_type": "gp_consult_type_driver_force_rerun_own_normal",
    "identity_verified": "gp_identity_verified_yes",
    "customer_presence": "gp_customer_presence_together",
    "fare_adjustment": "gp_fare_adjustment_no",
    "payment_method": "gp_payment_method_card",
    "admin_status": "gp_admin_status_completed",
    "customer_consent": "gp_customer_consent_agreed",
    "driver_on_duty": "gp_driver_on_duty_yes",
    "customer_recalling": "gp_customer_recalling_no",
    "origin_call_id": "1234567",
    "forced_call_id": "7654321",
    "original_fare": "23,000원",
    "reason": "앱 조작 실수",
    "departure": "강남역",
    "destination": "판교역",
    "call_type": None,
    "trip_started": "",
}


def test_zendesk_ticket_through_the_field_map(monkeypatch, field_map):
    ticket = zendesk_ticket(field_map, ZENDESK_VALUES)
    decision = explain_json(monkeypatch, {"ticket": ticket, "prior_reconnections": 0})
    assert_contract_shape(decision)
    semantic = explain_json(monkeypatch, {**ELIGIBLE, "subject": ticket["subject"]})
    assert decision == {**semantic, "facts": decision["facts"]}
    assert decision["eligible"] is True
    assert decision["branch"] == "reconnect.together.no_fare_change"


def test_zendesk_ticket_prior_reconnections(monkeypatch, field_map):
    ticket = zendesk_ticket(field_map, ZENDESK_VALUES)
    decision = explain_json(monkeypatch, {"ticket": ticket, "prior_reconnections": 1})
    assert decision["blocks"] == ["already_reconnected_once"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        pytest.param("car_number", "1234", id="plate"),
        pytest.param("customer_presence", "gp_customer_presence_nearby", id="option"),
        pytest.param("origin_call_id", "12a", id="call-id"),
    ],
)
def test_zendesk_ticket_bad_value_names_the_semantic_field(monkeypatch, field_map, key, value):
    ticket = zendesk_ticket(field_map, {**ZENDESK_VALUES, key: value})
    code, out, err = explain(monkeypatch, json.dumps({"ticket": ticket}), "-")
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert err.startswith(key)


def test_zendesk_ticket_suggestion_from_subject(monkeypatch, field_map):
    ticket = zendesk_ticket(field_map, {"consult_type": None})
    decision = explain_json(monkeypatch, {"ticket": ticket})
    assert (decision["guide"], decision["suggested"]) == ("force_reconnect", True)


# --- the entry points, as real processes ----------------------------------------------------


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "GUIDEPOST_GUIDES_DIR": str(ROOT / "macros"),
        "GUIDEPOST_FIELD_MAP": str(tmp_path / "no_field_map.json"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }


def test_console_script_guidepost_explain_dash(tmp_path):
    script = Path(sys.executable).with_name("guidepost")
    result = subprocess.run(
        [str(script), "explain", "-"],
        input=json.dumps(ELIGIBLE, ensure_ascii=False),
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=tmp_path,
        env=_env(tmp_path),
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    decision = json.loads(result.stdout)
    assert_contract_shape(decision)
    assert (decision["branch"], decision["eligible"]) == ("reconnect.together.no_fare_change", True)


def test_python_dash_m_backend_explain_bad_input(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "backend", "explain"],
        input='{"fields": {"origin_call_id": "12a"}}',
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=ROOT,
        env=_env(tmp_path),
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("origin_call_id")
