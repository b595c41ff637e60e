"""A third guide with zero Python changes: checked, explained, turned into macros, applied.

The guide lives in tests/guides_synthetic/macros/ (its own fields, labels, ids, tags,
fallback and templates). Every product path reads it through the `guides_dir` setting;
a last test proves no Python file outside this folder names it.
"""

from __future__ import annotations

import io
import json
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.exceptions import StarletteDeprecationWarning

from backend.api import deps
from backend.api.app import create_app
from backend.cli import EXIT_OK, main, run_explain
from backend.domain.guides import GuideCatalog, load_catalog
from backend.macro_sync.commands import run_plan
from backend.macro_sync.generator import generate_macros
from backend.settings import REPO_ROOT, Settings
from backend.zendesk.fake_gateway import FakeGateway
from tooling.fake_directory import FakeDirectory
from tooling.harness.proxy import ZendeskSigner
from tooling.testing import (
    TEST_AGENT_ID,
    TEST_SESSION_SECRET,
    TEST_SHARED_SECRET,
    build_auth_headers,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

HERE = Path(__file__).resolve().parent
MACROS = HERE / "macros"
GUIDE = "lost_item_return"
BRANCH = "lostitem.arrange_return"
URL = "https://admin.example/calls/{call_id}"
READY: dict[str, Any] = {
    "consult_type": "lost_item_taxi",
    "identity_verified": True,
    "item_found": True,
    "item_category": "phone",
    "return_method": "courier",
    "trip_id": "555",
}


@pytest.fixture(scope="module")
def catalog() -> GuideCatalog:
    return load_catalog(MACROS)


@pytest.fixture(scope="module")
def field_map(catalog: GuideCatalog) -> dict[str, int]:
    return {key: 900_000 + i for i, key in enumerate(catalog.fields.keys())}


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


def test_guides_check_proves_it(catalog: GuideCatalog) -> None:
    assert list(catalog.guides) == [GUIDE]
    code, out, err = cli("guides", "check", "--guides-dir", str(MACROS))
    assert (code, err.split(" took ")[0]) == (EXIT_OK, "guides check:"), err
    assert f"{GUIDE}: 16 decision paths, all total; 4/4 branches, 3/3 blocks, 1/1 notices" in out


def explain(fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return run_explain(json.dumps({"fields": fields, **extra}), MACROS, None, URL)


def test_explain_decides_renders_and_tags() -> None:
    decision = explain(READY)
    assert (decision["guide"], decision["branch"], decision["outcome"]) == (
        GUIDE,
        BRANCH,
        "eligible",
    )
    assert decision["notices"] == ["courier_fee_paid_by_owner"]
    assert decision["tags"][-2:] == ["li_item_phone", "li_courier"]
    # The declared fallback: 이용 수단 is what the 상담유형 implies, and a write-back sets it.
    assert decision["fields_set"] == {"vehicle_kind": "taxi"}
    bodies = [t["body"] for t in decision["texts"]]
    assert bodies == [
        "휴대폰은(는) 퀵/택배로 보내드립니다. 비용은 고객님 부담입니다.",
        "운행 ID 555: 분실물 전달(퀵/택배) 안내 완료",
    ]
    assert "- 퀵/택배 비용은 고객 부담입니다." in decision["note"]


@pytest.mark.parametrize(
    ("fields", "branch", "blocks", "missing"),
    [
        ({"identity_verified": False}, "lostitem.verify_owner", ["owner_not_verified"], []),
        (
            {"consult_type": "lost_item_bike"},
            "lostitem.bike_partner",
            ["bike_items_handled_by_partner"],
            [],
        ),
        ({"vehicle_kind": "bike"}, "lostitem.bike_partner", ["bike_items_handled_by_partner"], []),
        ({"item_found": False}, "lostitem.ask_item", ["item_not_in_storage"], []),
        ({"item_found": None}, "lostitem.ask_item", [], ["item_found"]),
        ({"return_method": None}, BRANCH, [], ["return_method"]),
    ],
)
def test_every_row_decides(
    fields: dict[str, Any], branch: str, blocks: list[str], missing: list[str]
) -> None:
    merged = {k: v for k, v in {**READY, **fields}.items() if v is not None}
    decision = explain(merged)
    assert (decision["branch"], decision["blocks"], decision["missing"]) == (
        branch,
        blocks,
        missing,
    )


def test_pickup_has_no_courier_tag_and_its_own_script() -> None:
    decision = explain({**READY, "return_method": "pickup", "item_category": "wallet"})
    assert "li_courier" not in decision["tags"]
    assert "li_item_wallet" in decision["tags"]
    assert decision["texts"][0]["body"] == "지갑은(는) 7일 안에 직접 받아 가실 수 있습니다."


def test_explain_command_reads_the_guides_dir_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GUIDEPOST_GUIDES_DIR", str(MACROS))
    monkeypatch.setenv("GUIDEPOST_FIELD_MAP", str(tmp_path / "none.json"))
    source = tmp_path / "in.json"
    source.write_text(json.dumps({"fields": READY}), "utf-8")
    assert main(["explain", str(source)]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["branch"] == BRANCH


def test_macros_are_generated_and_planned(
    catalog: GuideCatalog, field_map: dict[str, int], tmp_path: Path
) -> None:
    macros = generate_macros(catalog, field_map, admin_call_url=URL)
    keys = [m.key for m in macros]
    assert keys == [
        f"{GUIDE}/lostitem.verify_owner/ask_owner",
        f"{GUIDE}/lostitem.bike_partner/bike_partner",
        f"{GUIDE}/lostitem.ask_item/ask_item",
        f"{GUIDE}/lostitem.ask_item/not_found",
        f"{GUIDE}/{BRANCH}/arrange",
        f"{GUIDE}/{BRANCH}/memo",
    ]
    path = tmp_path / "field_map.json"
    path.write_text(json.dumps(field_map), "utf-8")
    settings = Settings(_env_file=None, guides_dir=MACROS, field_map=path)  # type: ignore[call-arg]
    out, err = io.StringIO(), io.StringIO()
    code = run_plan(settings, out, err, as_json=True, gateway_factory=lambda _s: FakeGateway())
    assert code == 0, err.getvalue()
    planned = json.dumps(json.loads(out.getvalue()), ensure_ascii=False)
    assert all(key in planned for key in keys)


@pytest.fixture
def stack(
    tmp_path: Path, field_map: dict[str, int]
) -> Iterator[tuple[TestClient, FakeGateway, dict[str, str]]]:
    """The API over a FakeGateway, with the guides_dir setting pointed at the synthetic guide."""
    path = tmp_path / "field_map.json"
    path.write_text(json.dumps(field_map), "utf-8")
    signer = ZendeskSigner("https://acme.zendesk.com")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        guides_dir=MACROS,
        zendesk_url="https://acme.zendesk.com",
        zendesk_token=SecretStr("zendesk-api-token"),
        shared_secret=SecretStr(TEST_SHARED_SECRET),
        session_secret=SecretStr(TEST_SESSION_SECRET),
        zaf_public_key=signer.public_pem,
        zaf_installation_id=signer.installation_id,
        field_map=path,
        cors_origins=["https://acme.zendesk.com"],
    )
    gateway, directory = FakeGateway(), FakeDirectory()
    directory.add_user(TEST_AGENT_ID, "admin")
    app = create_app(settings)
    app.dependency_overrides[deps.get_gateway] = lambda: gateway
    app.dependency_overrides[deps.get_directory] = lambda: directory
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, gateway, build_auth_headers(settings)


def test_guidance_and_apply_through_the_api(
    stack: tuple[TestClient, FakeGateway, dict[str, str]],
    catalog: GuideCatalog,
    field_map: dict[str, int],
) -> None:
    client, gateway, headers = stack
    custom = {field_map[k]: catalog.fields.zendesk_value(k, v) for k, v in READY.items()}
    ticket_id = gateway.add_ticket("휴대폰을 두고 내렸어요", "택시", custom_fields=custom).id
    guidance = client.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers)
    assert guidance.status_code == 200, guidance.text
    body = guidance.json()
    assert (body["guide"], body["branch"], body["outcome"]) == (GUIDE, BRANCH, "eligible")
    apply = {k: body[k] for k in ("branch", "ticket_updated_at", "fingerprint")}
    first = client.post(f"/v1/tickets/{ticket_id}/apply", headers=headers, json=apply)
    assert first.status_code == 200, first.text
    assert first.json()["applied"] is True
    record = gateway.tickets[ticket_id]
    assert {"li_item_phone", "li_courier", f"gp_guide_{GUIDE}"} <= set(record.tags)
    assert record.custom_fields[field_map["vehicle_kind"]] == "gp_vehicle_kind_taxi"
    notes = [c.body for c in gateway.comments[ticket_id] if not c.public]
    assert notes == [body["note"]]
    again = client.post(f"/v1/tickets/{ticket_id}/apply", headers=headers, json=apply)
    assert again.json()["applied"] is False


def test_no_python_file_names_the_synthetic_guide() -> None:
    """backend/, tooling/ and tests/ (but this folder) never mention its id or its branches."""
    needles = (GUIDE, BRANCH, "lostitem.")
    roots = [REPO_ROOT / "backend", REPO_ROOT / "tooling", REPO_ROOT / "tests"]
    found = [
        str(path.relative_to(REPO_ROOT))
        for root in roots
        for path in root.rglob("*.py")
        if HERE not in path.parents and any(n in path.read_text("utf-8") for n in needles)
    ]
    assert found == []
    assert sum(1 for root in roots for _ in root.rglob("*.py")) > 100


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'tag: "li_item_{item_category}"',
            'tag: "li_item_{parking_lot}"',
            "tag 'li_item_{parking_lot}' reads 'parking_lot', not a guide field",
        ),
        ("vehicle_kind: implied_call_type", "vehicle_kind: implied_kind", "unknown 'implied_kind'"),
        (
            "branch: lostitem.bike_partner\n",
            "branch: lostitem.verify_owner\n",
            "branch lostitem.bike_partner is declared under branches but unreachable",
        ),
    ],
)
def test_guides_check_names_a_broken_declaration(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    copy = tmp_path / "macros"
    shutil.copytree(MACROS, copy)
    guide = copy / GUIDE / "guide.yaml"
    text = guide.read_text("utf-8")
    assert old in text
    guide.write_text(text.replace(old, new, 1), "utf-8")
    code, out, err = cli("guides", "check", "--guides-dir", str(copy))
    assert code == 1
    assert "guides check: OK" not in out
    assert any(message in line for line in err.splitlines()), err
