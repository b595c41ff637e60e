"""The plan: matching by key, create / update / deactivate / delete / unchanged, JSON shape."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import SecretStr

from backend.bootstrap import bootstrap_fields
from backend.demo import SEEDS_DIR
from backend.domain.guides import GuideCatalog
from backend.emulator.articles import _split_title
from backend.macro_sync.commands import print_plan_table, run_plan
from backend.macro_sync.generator import DesiredMacro, build_desired
from backend.macro_sync.plan import build_plan, is_as_generated
from backend.settings import REPO_ROOT, Settings
from backend.zendesk.fake_gateway import FakeGateway
from backend.zendesk.gateway import MacroAction, MacroRecord, MacroSpec


def _desired(n: int) -> list[DesiredMacro]:
    """Small synthetic macros with valid keys."""
    return [
        build_desired(
            f"guide/branch/text{i}",
            f"가이드::분기::텍스트 {i}",
            (
                MacroAction("comment_value_html", f"본문 {i}"),
                MacroAction("comment_mode_is_public", "true"),
                MacroAction("current_tags", "gp_guide_guide gp_branch_branch"),
            ),
        )
        for i in range(n)
    ]


def _record(macro_id: int, spec: MacroSpec) -> MacroRecord:
    """A macro as Zendesk would list it."""
    return MacroRecord(
        id=macro_id,
        title=spec.title,
        description=spec.description,
        actions=spec.actions,
        active=spec.active,
        restriction=spec.restriction,
        updated_at="2024-11-20T00:00:00Z",
    )


UNMANAGED = MacroRecord(
    id=1,
    title="팀 매크로",
    description="hand-made\nguidepost:guide/branch/text0",  # key not on the first line
    actions=(MacroAction("comment_value", "hi"),),
    active=True,
    restriction=None,
    updated_at="2024-01-01T00:00:00Z",
)


def test_everything_new_is_created_and_unmanaged_is_ignored() -> None:
    plan = build_plan(_desired(3), [UNMANAGED])
    assert plan.count_actions() == {"create": 3, "update": 0, "deactivate": 0, "unchanged": 0}
    assert (plan.listed, plan.unmanaged) == (1, 1)
    assert all(item.macro_id != UNMANAGED.id for item in plan.items)


def test_matching_is_by_key_never_by_title() -> None:
    desired = _desired(2)
    renamed = replace(desired[0].spec, title="누가 바꾼 제목")
    same_title_unmanaged = replace(UNMANAGED, id=2, title=desired[1].spec.title, description="")
    plan = build_plan(desired, [_record(10, renamed), same_title_unmanaged])
    by_key = {item.key: item for item in plan.items}
    assert by_key["guide/branch/text0"].action == "update"
    assert by_key["guide/branch/text0"].changes == ("title",)
    assert by_key["guide/branch/text1"].action == "create"


def test_unchanged_updated_edited_by_hand_and_reactivated() -> None:
    desired = _desired(4)
    changed = _desired(4)[1]
    new_text = build_desired(
        changed.key, changed.spec.title, (MacroAction("comment_value_html", "새 본문"),)
    )
    hand_edited = replace(desired[2].spec, actions=(MacroAction("comment_value_html", "손"),))
    switched_off = replace(desired[3].spec, active=False)
    existing = [
        _record(10, desired[0].spec),
        _record(11, desired[1].spec),
        _record(12, hand_edited),
        _record(13, switched_off),
    ]
    plan = build_plan([desired[0], new_text, desired[2], desired[3]], existing)
    assert plan.count_actions() == {"create": 0, "update": 3, "deactivate": 0, "unchanged": 1}
    by_id = {item.macro_id: item for item in plan.items}
    assert by_id[11].changes == ("description", "actions")
    assert by_id[11].reason == "the guide changed"
    assert by_id[12].changes == ("actions",)
    assert "edited in Zendesk" in by_id[12].reason
    assert by_id[13].changes == ("active",)
    assert by_id[13].reason.startswith("re-activated")
    # Updates send the whole macro: every action, not only the changed ones.
    assert by_id[12].spec == desired[2].spec


def test_gone_texts_are_deactivated_or_pruned() -> None:
    desired = _desired(3)
    existing = [_record(10 + i, m.spec) for i, m in enumerate(desired)]
    existing.append(_record(20, replace(_desired(5)[4].spec, active=False)))
    plan = build_plan(desired[:2], existing)
    assert plan.count_actions() == {"create": 0, "update": 0, "deactivate": 1, "unchanged": 3}
    retired = next(item for item in plan.items if item.action == "deactivate")
    assert retired.macro_id == 12
    assert retired.spec is not None
    assert retired.spec.active is False
    assert retired.spec.actions == desired[2].spec.actions
    pruned = build_plan(desired[:2], existing, prune=True)
    assert pruned.count_actions() == {
        "create": 0,
        "update": 0,
        "deactivate": 0,
        "delete": 2,
        "unchanged": 2,
    }


def test_duplicates_keep_the_lowest_id() -> None:
    desired = _desired(1)
    existing = [_record(30, desired[0].spec), _record(12, desired[0].spec)]
    plan = build_plan(desired, existing)
    actions = {item.macro_id: item.action for item in plan.items}
    assert actions == {12: "unchanged", 30: "deactivate"}
    assert "duplicate of macro 12" in next(i.reason for i in plan.items if i.macro_id == 30)
    assert {i.macro_id: i.action for i in build_plan(desired, existing, prune=True).items} == {
        12: "unchanged",
        30: "delete",
    }


def test_zendesk_echo_forms_compare_equal() -> None:
    macro = build_desired(
        "g/b/t",
        "제목",
        (
            MacroAction("comment_value_html", "본문"),
            MacroAction("comment_mode_is_public", "false"),
            MacroAction("current_tags", "gp_a gp_b"),
        ),
        restriction={"type": "Group", "ids": [3, 7]},
    )
    echoed = replace(
        macro.spec,
        actions=(
            MacroAction("comment_value_html", "본문"),
            MacroAction("comment_mode_is_public", False),
            MacroAction("current_tags", ["gp_b", "gp_a"]),
        ),
        restriction={"type": "Group", "id": 3, "ids": [7, 3]},
    )
    assert build_plan([macro], [_record(5, echoed)]).count_actions()["unchanged"] == 1


def test_writes_are_ordered_creates_first_retirements_last() -> None:
    desired = _desired(3)
    existing = [
        _record(10, replace(desired[0].spec, title="old")),
        _record(11, _desired(9)[8].spec),
    ]
    plan = build_plan(desired[:2], existing)
    assert [item.action for item in plan.writes] == ["create", "update", "deactivate"]


@pytest.fixture
def fake_settings(tmp_path: Path, catalog: GuideCatalog) -> tuple[Settings, FakeGateway]:
    """Settings and a fake Zendesk holding the bootstrapped fields and both seed articles."""
    fake = FakeGateway()
    field_map = tmp_path / "field_map.json"
    bootstrap_fields(fake, catalog.fields, field_map)
    for article_id, seed in (
        (1001, "000_c205ebaffaece5dd.txt"),
        (1002, "004_d88a9bf861b2af20.txt"),
    ):
        title, body = _split_title((SEEDS_DIR / seed).read_text("utf-8"))
        fake.add_article("ko", article_id, title, body)
    settings = Settings(
        zendesk_token=SecretStr("unused-token"),
        field_map=field_map,
        guides_dir=REPO_ROOT / "macros",
        article_ids={"parking_onsite_payment": 1001, "force_reconnect": 1002},
    )
    return settings, fake


def test_plan_json_shape(fake_settings: tuple[Settings, FakeGateway]) -> None:
    settings, fake = fake_settings
    out, err = io.StringIO(), io.StringIO()
    code = run_plan(settings, out, err, as_json=True, gateway_factory=lambda s: fake)
    assert code == 0, err.getvalue()
    body = json.loads(out.getvalue())
    assert list(body) == ["create", "update", "deactivate", "unchanged", "items"]
    assert body["create"] == len(body["items"]) > 0
    assert set(body["items"][0]) == {"action", "key", "title", "id", "changes", "reason"}
    assert err.getvalue() == ""


def test_plan_table_names_the_changes(fake_settings: tuple[Settings, FakeGateway]) -> None:
    settings, fake = fake_settings
    out = io.StringIO()
    assert run_plan(settings, out, io.StringIO(), gateway_factory=lambda s: fake) == 0
    text = out.getvalue()
    assert "force_reconnect/reconnect.verify_identity/q1.1.empathy" in text
    assert "macros plan: create 158, update 0, deactivate 0, unchanged 0" in text


def test_human_clone_sharing_a_key_is_left_alone_also_when_pruning() -> None:
    desired = _desired(2)
    # Zendesk's clone copies the description (key and hash); the human then edits it.
    clone = replace(
        desired[0].spec, title="우리 팀 버전", actions=(MacroAction("comment_value", "손"),)
    )
    existing = [_record(10, desired[0].spec), _record(11, desired[1].spec), _record(40, clone)]
    for prune in (False, True):
        plan = build_plan(desired, existing, prune=prune)
        item = next(i for i in plan.items if i.macro_id == 40)
        assert (item.action, item.left_alone, item.is_write) == ("unchanged", True, False)
        assert "clone" in item.reason
        assert [i.macro_id for i in plan.left_alone] == [40]
        assert plan.writes == []
    # Gone from the repo: the generated macro is retired, the clone still left alone.
    pruned = build_plan(desired[1:], existing, prune=True)
    assert {i.macro_id: i.action for i in pruned.writes} == {10: "delete"}
    assert [i.macro_id for i in pruned.left_alone] == [40]


def test_unedited_copies_and_old_version_twins_are_retired() -> None:
    desired = _desired(1)
    exact_copy = replace(desired[0].spec, active=True)
    old = build_desired(
        desired[0].key, "예전 제목", (MacroAction("comment_value_html", "예전 본문"),)
    )
    existing = [
        _record(10, old.spec),  # the original, still at the old version
        _record(11, old.spec),  # a lost-answer twin of the old version
        _record(12, exact_copy),  # a twin of the current version
        _record(13, replace(old.spec, active=False)),  # an old twin, already retired
    ]
    plan = build_plan(desired, existing)
    assert {i.macro_id: i.action for i in plan.items} == {
        10: "update",
        11: "deactivate",
        12: "deactivate",
        13: "unchanged",
    }
    assert plan.left_alone == []
    assert {i.macro_id: i.action for i in build_plan(desired, existing, prune=True).writes} == {
        10: "update",
        11: "delete",
        12: "delete",
        13: "delete",
    }


def test_edited_macro_of_a_text_no_longer_generated_is_left_alone() -> None:
    desired = _desired(2)
    edited = replace(desired[1].spec, actions=(MacroAction("comment_value_html", "고친 본문"),))
    plan = build_plan(desired[:1], [_record(10, desired[0].spec), _record(11, edited)], prune=True)
    assert plan.writes == []
    assert [i.macro_id for i in plan.left_alone] == [11]
    assert "no longer generated" in plan.left_alone[0].reason


def test_echoed_forms_of_a_generated_macro_still_read_as_generated() -> None:
    macro = build_desired(
        "g/b/t",
        "제목",
        (MacroAction("comment_value_html", "본문"),),
        restriction={"type": "Group", "ids": [7, 3]},
    )
    echoed = replace(
        macro.spec, active=False, restriction={"type": "Group", "id": 7, "ids": [7, 3]}
    )
    assert is_as_generated(_record(5, echoed))
    assert not is_as_generated(_record(5, replace(macro.spec, title="고침")))
    assert not is_as_generated(replace(_record(5, macro.spec), description="guidepost:g/b/t"))


def test_plan_table_names_the_macros_left_alone() -> None:
    desired = _desired(1)
    clone = replace(desired[0].spec, title="복제본", actions=(MacroAction("comment_value", "손"),))
    plan = build_plan(desired, [_record(10, desired[0].spec), _record(11, clone)])
    out = io.StringIO()
    print_plan_table(plan, out)
    assert "macros plan: left alone: macro 11 '복제본': a copy of macro 10 edited" in out.getvalue()
