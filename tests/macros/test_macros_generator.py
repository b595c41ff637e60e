"""The generator: placeholders, Liquid variants, escaping, flags, titles, keys, render files."""

from __future__ import annotations

import argparse
import io
import json
import re
import shutil
from pathlib import Path

import pytest
from pydantic import SecretStr

from backend.bootstrap import bootstrap_fields
from backend.domain.guides import GuideCatalog, load_catalog
from backend.errors import SettingsError
from backend.macro_sync.commands import render_command
from backend.macro_sync.generator import (
    FOOTER,
    DesiredMacro,
    build_title,
    generate_macros,
    read_hash,
    read_key,
)
from backend.settings import REPO_ROOT, Settings
from backend.zendesk.fake_gateway import FakeGateway

ADMIN_URL = "https://admin.example/calls/{call_id}"


@pytest.fixture(scope="module")
def field_map(tmp_path_factory: pytest.TempPathFactory, catalog: GuideCatalog) -> dict[str, int]:
    """A field map as `fields bootstrap` writes it (ids from the fake Zendesk)."""
    out = tmp_path_factory.mktemp("fields") / "field_map.json"
    return bootstrap_fields(FakeGateway(), catalog.fields, out)


@pytest.fixture(scope="module")
def macros(catalog: GuideCatalog, field_map: dict[str, int]) -> dict[str, DesiredMacro]:
    """Every generated macro by key."""
    return {m.key: m for m in generate_macros(catalog, field_map, admin_call_url=ADMIN_URL)}


def _action(macro: DesiredMacro, name: str) -> object:
    """The value of one action of a macro."""
    values = [a.value for a in macro.spec.actions if a.field == name]
    assert len(values) == 1, f"{macro.key}: {name} appears {len(values)} times"
    return values[0]


def _body(macro: DesiredMacro) -> str:
    """The comment HTML of a macro."""
    value = _action(macro, "comment_value_html")
    assert isinstance(value, str)
    return value


def test_one_macro_per_guide_branch_and_text(
    catalog: GuideCatalog, macros: dict[str, DesiredMacro]
) -> None:
    expected = {
        f"{guide.id}/{branch_id}/{text.key}"
        for guide in catalog.guides.values()
        for branch_id, branch in guide.branches.items()
        for text in branch.texts
    }
    assert set(macros) == expected
    # Texts offered only for some outcomes (the link memo) are macros too, once per branch
    # that lists them: the five action branches.
    memo_keys = [k for k in macros if k.endswith("/memo.link")]
    action_branches = {row.branch for row in catalog.guide("force_reconnect").rows if row.action}
    assert len(memo_keys) == len(action_branches) == 5


def test_placeholders_use_the_field_ids_of_the_field_map(
    macros: dict[str, DesiredMacro], field_map: dict[str, int]
) -> None:
    fare = _body(macros["force_reconnect/reconnect.together.no_fare_change/q2.2.no_fare_change"])
    assert f"{{{{ticket.ticket_field_{field_map['original_fare']}}}}}원" in fare
    memo = _body(macros["force_reconnect/reconnect.separated.no_fare_change/memo.link"])
    assert f"원콜 ID {{{{ticket.ticket_field_{field_map['origin_call_id']}}}}}" in memo
    assert f"admin.example/calls/{{{{ticket.ticket_field_{field_map['forced_call_id']}}}}}" in memo
    # A dropdown shows its option title, not its tag.
    operator = f"{{{{ticket.ticket_field_option_title_{field_map['operator']}}}}}"
    assert any(operator in _body(m) for m in macros.values())
    assert not any(f"ticket_field_{field_map['operator']}}}}}" in _body(m) for m in macros.values())
    # Dates go through Liquid's date filter, like the sidebar's md / hm filters.
    entry = f"ticket.ticket_field_{field_map['entry_time']}"
    caution = _body(
        macros[
            "parking_onsite_payment/parking.ineligible_entry_before_window/"
            "caution.entry_before_usage_time"
        ]
    )
    assert f"{{{{{entry} | date: '%-m월 %-d일 %H:%M'}}}}" in caution
    every_id = set(field_map.values())
    for macro in macros.values():
        for found in re.findall(r"ticket_field_(?:option_title_)?(\d+)", _body(macro)):
            assert int(found) in every_id, f"{macro.key}: unknown field id {found}"


def test_derived_facts_are_literals_the_agent_fills(macros: dict[str, DesiredMacro]) -> None:
    offer = _body(macros["parking_onsite_payment/parking.offer_coupon/a1.3.offer_coupon"])
    assert "OOO원 주차쿠폰" in offer
    for macro in macros.values():
        assert "None" not in _body(macro), macro.key
        assert "\ue000" not in _body(macro), f"{macro.key}: a placeholder token leaked"


def test_variants_become_liquid_on_the_option_tag(
    macros: dict[str, DesiredMacro], field_map: dict[str, int]
) -> None:
    body = _body(macros["force_reconnect/reconnect.together.no_fare_change/q2.2.no_fare_change"])
    field = f"ticket.ticket_field_{field_map['payment_method']}"
    assert body.startswith(f"{{% if {field} == 'gp_payment_method_card' %}}")
    assert f"{{% elsif {field} == 'gp_payment_method_cash' %}}" in body
    assert body.endswith("{% endif %}")
    card, rest = body.split("{% elsif", 1)
    cash, unknown = rest.split("{% else %}", 1)
    assert "결제를 진행하고 포인트가 적립" in card
    assert "현금으로 수령" in cash
    assert "결제를 진행하고" not in cash
    # With the field empty, the agent sees every variant, labelled (as in the sidebar).
    assert "[카드 콜]" in unknown
    assert "[현금 콜]" in unknown
    role = _body(macros["force_reconnect/reconnect.consigned_not_started/consigned.not_started"])
    assert (
        f"ticket.ticket_field_{field_map['requester_role']} == 'gp_requester_role_driver'" in role
    )


def test_html_is_escaped_before_liquid_is_added(tmp_path: Path, field_map: dict[str, int]) -> None:
    root = tmp_path / "macros"
    shutil.copytree(REPO_ROOT / "macros", root)
    template = root / "force_reconnect" / "templates" / "q2_2_no_fare_change_card.j2"
    template.write_text(
        '<script>alert("x")</script> & {{ original_fare | won }}\n둘째 줄', encoding="utf-8"
    )
    catalog = load_catalog(root)
    macros = {m.key: m for m in generate_macros(catalog, field_map, admin_call_url=ADMIN_URL)}
    body = _body(macros["force_reconnect/reconnect.together.no_fare_change/q2.2.no_fare_change"])
    assert "<script>" not in body
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; {{ticket.ticket_field_" in body
    assert "원<br>둘째 줄" in body
    # Liquid's own quotes stay quotes.
    assert "== 'gp_payment_method_card' %}" in body
    assert "&#39;" not in body.split("%}", 1)[0]


def test_only_replies_are_public(catalog: GuideCatalog, macros: dict[str, DesiredMacro]) -> None:
    kinds: dict[str, str] = {}
    for guide in catalog.guides.values():
        for branch_id, branch in guide.branches.items():
            for text in branch.texts:
                kinds[f"{guide.id}/{branch_id}/{text.key}"] = text.kind
    assert set(kinds.values()) == {"reply", "outbound", "sms", "note"}
    for key, macro in macros.items():
        expected = "true" if kinds[key] == "reply" else "false"
        assert _action(macro, "comment_mode_is_public") == expected, key


def test_actions_carry_the_branch_tags(macros: dict[str, DesiredMacro]) -> None:
    macro = macros["force_reconnect/reconnect.together.no_fare_change/q2.1.ask_fare_change"]
    assert [a.field for a in macro.spec.actions] == [
        "comment_value_html",
        "comment_mode_is_public",
        "current_tags",
    ]
    assert _action(macro, "current_tags") == (
        "gp_guide_force_reconnect gp_branch_reconnect_together_no_fare_change"
    )


def test_titles_are_korean_categories_without_empty_levels(
    macros: dict[str, DesiredMacro],
) -> None:
    title = macros[
        "force_reconnect/reconnect.together.no_fare_change/q2.2.no_fare_change"
    ].spec.title
    assert title == "강제재연결::자사콜::고객 동행::요금조정 없음::Q2 ② 요금조정 X"
    for macro in macros.values():
        segments = macro.spec.title.split("::")
        assert len(segments) >= 3, macro.spec.title
        assert all(s and s == s.strip() for s in segments), macro.spec.title
    assert build_title("a::b", " ", "c  d", "") == "a:b::c d"


def test_keys_and_hashes_are_stable(
    catalog: GuideCatalog, field_map: dict[str, int], macros: dict[str, DesiredMacro]
) -> None:
    again = generate_macros(catalog, field_map, admin_call_url=ADMIN_URL)
    assert [(m.key, m.content_hash) for m in again] == [
        (m.key, m.content_hash) for m in macros.values()
    ]
    for key, macro in macros.items():
        lines = macro.spec.description.split("\n")
        assert lines == [f"guidepost:{key}", f"sha256:{macro.content_hash}", FOOTER]
        assert read_key(macro.spec.description) == key
        assert read_hash(macro.spec.description) == macro.content_hash
        assert re.fullmatch(r"[0-9a-f]{16}", macro.content_hash)
    assert read_key("Team macro\nguidepost:a/b/c") is None
    assert read_key(None) is None


def test_group_restriction_from_settings(catalog: GuideCatalog, field_map: dict[str, int]) -> None:
    restricted = generate_macros(catalog, field_map, admin_call_url=ADMIN_URL, group_ids=[7, 3, 7])
    open_ = generate_macros(catalog, field_map, admin_call_url=ADMIN_URL)
    assert restricted[0].spec.restriction == {"type": "Group", "ids": [3, 7]}
    assert open_[0].spec.restriction is None
    assert restricted[0].content_hash != open_[0].content_hash


def test_missing_field_ids_are_a_settings_error(catalog: GuideCatalog) -> None:
    with pytest.raises(SettingsError, match="fields bootstrap"):
        generate_macros(catalog, {"call_type": 1}, admin_call_url=ADMIN_URL)


def test_render_writes_one_json_file_per_macro(
    tmp_path: Path, field_map: dict[str, int], macros: dict[str, DesiredMacro]
) -> None:
    map_path = tmp_path / "field_map.json"
    map_path.write_text(json.dumps(field_map), encoding="utf-8")
    settings = Settings(
        zendesk_token=SecretStr("unused-token"), field_map=map_path, guides_dir=REPO_ROOT / "macros"
    )
    out_dir = tmp_path / "rendered"
    out_dir.mkdir()
    (out_dir / "notes.json").write_text('{"mine": true}', encoding="utf-8")
    stale = {"key": "x/y/z", "macro": {"description": "guidepost:x/y/z\nsha256:0"}}
    (out_dir / "x__y__z.json").write_text(json.dumps(stale), encoding="utf-8")
    out = io.StringIO()
    code = render_command(argparse.Namespace(out=str(out_dir)), settings, out, io.StringIO())
    assert code == 0
    files = sorted(p.name for p in out_dir.glob("*.json"))
    assert len(files) == len(macros) + 1  # ours, plus the file we did not write
    assert "notes.json" in files
    assert "x__y__z.json" not in files
    key = "force_reconnect/reconnect.together.no_fare_change/q2.2.no_fare_change"
    data = json.loads((out_dir / (key.replace("/", "__") + ".json")).read_text("utf-8"))
    assert data["key"] == key
    assert data["content_hash"] == macros[key].content_hash
    assert set(data["macro"]) == {"title", "description", "active", "actions", "restriction"}
    assert f"wrote {len(macros)} macro(s)" in out.getvalue()
