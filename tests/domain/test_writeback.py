"""GUIDES.md §3 (link memo) and §4 — what a write-back carries: tags, note, fingerprint."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from backend.domain.engine import EngineOptions
from backend.domain.writeback import fingerprint

ROOT = Path(__file__).resolve().parents[2]
LABELS = yaml.safe_load((ROOT / "macros" / "labels.yaml").read_text(encoding="utf-8"))
FIELD_LABELS = {
    key: spec["label"]["ko"]
    for key, spec in yaml.safe_load((ROOT / "macros" / "fields.yaml").read_text("utf-8"))[
        "fields"
    ].items()
}
TITLES = {
    "parking_onsite_payment": "[연동] 주차권 미적용 현장결제 발생",
    "force_reconnect": "[채팅] 강제재연결 요청",
}
TOGETHER = "reconnect.together.no_fare_change"
ORIGIN, FORCED = "1234567", "7654321"


def has_hangul(text: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def assert_tags(tags: list[str], expected: set[str]) -> None:
    assert len(tags) == len(set(tags)), tags
    assert set(tags) == expected


# --- tags ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("branch", "overrides", "expected"),
    [
        pytest.param(
            "parking.offer_coupon",
            {},
            {"gp_branch_parking_offer_coupon", "gp_eligible"},
            id="parking-eligible",
        ),
        pytest.param(
            "parking.offer_coupon",
            {"receipt_lot_matches": False},
            {"gp_branch_parking_lot_mismatch", "gp_blocked", "gp_block_different_parking_lot"},
            id="parking-one-block",
        ),
        pytest.param(
            "parking.offer_coupon",
            {"car_number": None},
            {"gp_branch_parking_collect_info", "gp_pending"},
            id="parking-missing-only-is-pending",
        ),
        pytest.param(
            "parking.coupon_accepted",
            {"coupon_split": "9000x1", "onsite_amount": 27000},
            {
                "gp_branch_parking_coupon_accepted",
                "gp_blocked",
                "gp_block_invalid_coupon_split",
            },
            id="parking-action-branch-blocked",
        ),
        pytest.param(
            "parking.cancel_onsite_payment",
            {"origin_call_id": ORIGIN, "forced_call_id": FORCED},
            {"gp_branch_parking_cancel_onsite_payment", "gp_eligible"},
            id="parking-never-fr-tags",
        ),
    ],
)
def test_parking_tags(branch, overrides, expected, decide_fields, parking_fields):
    decision = decide_fields(parking_fields(branch, **overrides))
    assert_tags(decision.tags, {"gp_guide_parking_onsite_payment", *expected})


@pytest.mark.parametrize(
    ("overrides", "prior", "expected"),
    [
        pytest.param(
            {},
            0,
            {"gp_branch_reconnect_together_no_fare_change", "gp_eligible", f"fr_origin_{ORIGIN}"},
            id="eligible-origin-only",
        ),
        pytest.param(
            {"forced_call_id": FORCED},
            0,
            {
                "gp_branch_reconnect_together_no_fare_change",
                "gp_eligible",
                f"fr_origin_{ORIGIN}",
                "fr_forced",
            },
            id="both-call-ids",
        ),
        pytest.param(
            {"origin_call_id": None, "forced_call_id": FORCED},
            0,
            {"gp_branch_reconnect_together_no_fare_change", "gp_pending", "fr_forced"},
            id="forced-only",
        ),
        pytest.param(
            {"customer_presence": None},
            0,
            {"gp_branch_reconnect_ask_presence", "gp_pending", f"fr_origin_{ORIGIN}"},
            id="not-an-action-branch",
        ),
        pytest.param(
            {
                "admin_status": "in_progress",
                "customer_consent": "refused",
                "driver_on_duty": False,
                "customer_recalling": True,
                "fare_adjustment": True,
                "agreed_fare": 28000,
                "driver_fare_consent": False,
            },
            1,
            {
                "gp_branch_reconnect_together_fare_change",
                "gp_blocked",
                "gp_block_admin_status_not_reconnectable",
                "gp_block_customer_refused",
                "gp_block_driver_off_duty",
                "gp_block_customer_recalling",
                "gp_block_already_reconnected_once",
                "gp_block_fare_not_agreed",
                f"fr_origin_{ORIGIN}",
            },
            id="six-blocks",
        ),
    ],
)
def test_force_reconnect_tags(overrides, prior, expected, decide_fields, reconnect_fields):
    decision = decide_fields(reconnect_fields(TOGETHER, **overrides), prior=prior)
    assert_tags(decision.tags, {"gp_guide_force_reconnect", *expected})


def test_one_block_tag_per_block_in_block_order(decide_fields, reconnect_fields):
    decision = decide_fields(
        reconnect_fields(TOGETHER, customer_consent="pending", driver_on_duty=False), prior=1
    )
    assert decision.blocks == [
        "customer_consent_required",
        "driver_off_duty",
        "already_reconnected_once",
    ]
    assert [t for t in decision.tags if t.startswith("gp_block_")] == [
        f"gp_block_{b}" for b in decision.blocks
    ]


# --- the internal note ---------------------------------------------------------------------------


def test_note_names_guide_branch_blocks_and_notices(decide_fields, reconnect_fields, catalog):
    decision = decide_fields(
        reconnect_fields(
            TOGETHER,
            admin_status="cancelled_after_assignment",
            driver_on_duty=False,
            customer_recalling=True,
        )
    )
    assert decision.blocks == ["driver_off_duty", "customer_recalling"]
    assert decision.notices == ["manual_payment_after_completion", "recall_script_to_customer"]
    note = decision.note
    assert has_hangul(note)
    assert TITLES["force_reconnect"] in note
    assert catalog.guide("force_reconnect").branches[TOGETHER].label.ko in note
    for block in decision.blocks:
        assert LABELS["blocks"][block]["ko"] in note
    for notice in decision.notices:
        assert LABELS["notices"][notice]["ko"] in note
    # Labels of blocks that do not apply are absent.
    assert LABELS["blocks"]["customer_refused"]["ko"] not in note
    assert "판정: 진행 불가" in note


@pytest.mark.parametrize(
    ("overrides", "verdict", "tag"),
    [
        pytest.param({}, "진행 가능", "gp_eligible", id="eligible"),
        pytest.param({"driver_on_duty": False}, "진행 불가", "gp_blocked", id="blocked"),
        pytest.param({"origin_call_id": None}, "확인 필요", "gp_pending", id="pending"),
    ],
)
def test_three_outcomes_in_tags_and_note(overrides, verdict, tag, decide_fields, reconnect_fields):
    """ERRATA 2: "eligible / blocked / pending … the note says 진행 가능 / 진행 불가 /
    확인 필요"."""
    decision = decide_fields(reconnect_fields(TOGETHER, **overrides))
    assert decision.outcome == tag.removeprefix("gp_")
    assert f"판정: {verdict}" in decision.note
    assert tag in decision.tags
    assert len({"gp_eligible", "gp_blocked", "gp_pending"} & set(decision.tags)) == 1


def test_note_keeps_the_branch_id_only_on_its_trailing_machine_line(
    decide_fields, reconnect_fields
):
    """No English branch id where the ticket reader reads; the last line is for machines."""
    decision = decide_fields(reconnect_fields(TOGETHER))
    *body, machine = decision.note.splitlines()
    assert TOGETHER not in "\n".join(body)
    assert machine == f"gp: force_reconnect {TOGETHER} eligible"


def test_note_lists_the_missing_field_labels(decide_fields, reconnect_fields):
    decision = decide_fields(
        reconnect_fields(TOGETHER, admin_status=None, origin_call_id=None, customer_consent=None)
    )
    assert decision.missing == ["admin_status", "origin_call_id", "customer_consent"]
    for key in decision.missing:
        assert FIELD_LABELS[key] in decision.note


def test_eligible_and_blocked_notes_differ(decide_fields, reconnect_fields):
    eligible = decide_fields(reconnect_fields(TOGETHER))
    blocked = decide_fields(reconnect_fields(TOGETHER, driver_on_duty=False))
    assert eligible.eligible is True
    assert blocked.eligible is False
    assert LABELS["notices"]["reconnect_only_once"]["ko"] in eligible.note
    assert LABELS["blocks"]["driver_off_duty"]["ko"] in blocked.note
    assert LABELS["blocks"]["driver_off_duty"]["ko"] not in eligible.note


def test_parking_note_names_the_guide_and_the_branch(decide_fields, parking_fields, catalog):
    decision = decide_fields(parking_fields("parking.offer_coupon", ticket_price=17500))
    assert TITLES["parking_onsite_payment"] in decision.note
    label = catalog.guide("parking_onsite_payment").branches["parking.offer_coupon"].label.ko
    assert label in decision.note
    assert LABELS["notices"]["coupon_rounded_up"]["ko"] in decision.note


# --- link memo (force_reconnect) and department-transfer memo (parking) ------------------------

ADMIN = EngineOptions(admin_call_url="https://admin.test/call/{call_id}/view")


def test_link_memo_when_both_call_ids_known(decide_fields, reconnect_fields):
    fields = reconnect_fields(TOGETHER, forced_call_id=FORCED)
    note = decide_fields(fields, options=ADMIN).note
    link = "https://admin.test/call/7654321/view"
    # 원콜 어드민 ← 강콜 ID + 콜링크; 강콜 어드민 ← 원콜 ID.
    origin_memo = note.index("원콜 어드민")
    forced_memo = note.index("강콜 어드민")
    assert origin_memo < note.index(FORCED, origin_memo) < note.index(link) < forced_memo
    assert ORIGIN in note[forced_memo:]


@pytest.mark.parametrize(
    ("branch", "overrides"),
    [
        pytest.param(TOGETHER, {"identity_verified": None}, id="verify-identity"),
        pytest.param(TOGETHER, {"identity_verified": False}, id="identity-refused"),
        pytest.param(TOGETHER, {"call_type": "partner"}, id="partner"),
        pytest.param(TOGETHER, {"customer_presence": None}, id="ask-presence"),
        pytest.param(TOGETHER, {"driver_on_duty": False}, id="blocked"),
        pytest.param(
            "reconnect.separated.no_fare_change",
            {"customer_consent": "unreachable"},
            id="customer-unreachable",
        ),
    ],
)
def test_link_memo_only_once_the_reconnection_may_be_done(
    branch, overrides, decide_fields, reconnect_fields
):
    fields = reconnect_fields(branch, forced_call_id=FORCED, **overrides)
    decision = decide_fields(fields, options=ADMIN)
    assert decision.outcome != "eligible"
    assert "강콜 어드민" not in decision.note
    assert "memo.link" not in [t.key for t in decision.texts]


def test_link_memo_prompts_for_the_forced_call_id(decide_fields, reconnect_fields):
    """Article ③ 운영메모: "원콜 어드민에 강콜 ID(콜링크) 기재" — after the reconnection the agent
    records the 강콜 ID; until then the memo shows it as a marked placeholder."""
    decision = decide_fields(reconnect_fields(TOGETHER), options=ADMIN)
    memo = next(t for t in decision.texts if t.key == "memo.link")
    slots = [p for p in memo.placeholders if p.name == "forced_call_id"]
    assert slots
    assert all(memo.body[p.start : p.end] == "OOO" for p in slots)
    assert "https://admin.test/call/OOO/view" in memo.body


def test_department_transfer_memo_on_cancel_onsite_payment(decide_fields, parking_fields):
    decision = decide_fields(parking_fields("parking.cancel_onsite_payment"))
    note = decision.note
    for value in ("강남역 공영주차장", "12가3456", "30012345"):
        assert value in note
    assert "2026-11-20" in note or "11월 20일" in note
    assert "30,000원" in note or "30000" in note
    memos = [t for t in decision.texts if t.kind == "note"]
    assert len(memos) == 1
    assert memos[0].body in note
    # Dates read as people write them, in the note too (ERRATA 2, Korean forms).
    assert "이용일자: 11월 20일" in note
    assert "2026-11-20" not in note


@pytest.mark.parametrize(
    "branch",
    [
        "parking.offer_coupon",
        "parking.offer_coupon_after_ticket_cancel",
        "parking.coupon_accepted",
        "parking.offer_t_points",
    ],
)
def test_no_department_transfer_memo_elsewhere(branch, decide_fields, parking_fields):
    decision = decide_fields(parking_fields(branch))
    assert "30012345" not in decision.note
    assert [t for t in decision.texts if t.kind == "note"] == []


# --- fields a write-back sets --------------------------------------------------------------------


def test_no_split_is_written_for_the_customer(decide_fields, parking_fields):
    """ERRATA 2: the split is "never proposed into the ticket, never written back"."""
    decision = decide_fields(
        parking_fields("parking.coupon_accepted", onsite_amount=37000, coupon_split=None)
    )
    assert decision.fields_set == {}
    assert FIELD_LABELS["coupon_split"] in decision.note  # only as what is still missing


# --- fingerprint ---------------------------------------------------------------------------------


def _cancel(parking_fields: Any, **overrides: Any) -> dict[str, Any]:
    return parking_fields("parking.cancel_onsite_payment", **overrides)


def test_fingerprint_equal_for_equal_decisions(decide_fields, parking_fields, reconnect_fields):
    for fields in (_cancel(parking_fields), reconnect_fields(TOGETHER, forced_call_id=FORCED)):
        first, second = decide_fields(fields), decide_fields(dict(fields))
        assert first == second
        assert fingerprint(first) == fingerprint(second)
        assert fingerprint(first).startswith("gp_applied_")


def test_fingerprint_changes_with_the_note(decide_fields, parking_fields):
    base = decide_fields(_cancel(parking_fields))
    other_lot = decide_fields(_cancel(parking_fields, parking_lot="서울역 주차장"))
    # Same branch and tags; only the department-transfer memo in the note differs.
    assert other_lot.tags == base.tags
    assert other_lot.note != base.note
    assert fingerprint(other_lot) != fingerprint(base)
    edited = replace(base, note=base.note + "\n추가 메모")
    assert fingerprint(edited) != fingerprint(base)


def test_fingerprint_ignores_facts_that_change_nothing_written(decide_fields, parking_fields):
    # reserved_at moves but stays before entry: same branch, tags, note, fields.
    base = decide_fields(parking_fields("parking.offer_coupon"))
    moved = decide_fields(parking_fields("parking.offer_coupon", reserved_at="2026-11-19T20:00"))
    assert (moved.tags, moved.note, moved.fields_set) == (base.tags, base.note, base.fields_set)
    assert fingerprint(moved) == fingerprint(base)


def test_fingerprint_changes_with_the_tags(decide_fields, reconnect_fields):
    without = decide_fields(reconnect_fields(TOGETHER))
    with_forced = decide_fields(reconnect_fields(TOGETHER, forced_call_id="7654321"))
    assert fingerprint(without) != fingerprint(with_forced)


def test_example_admin_url_is_marked_setting_needed(decide_fields, reconnect_fields):
    """ERRATA 2: a setting still at its example URL is shown as "설정 필요", never as real."""
    options = EngineOptions(admin_call_url="https://admin.example/calls/{call_id}")
    decision = decide_fields(reconnect_fields(TOGETHER, forced_call_id=FORCED), options=options)
    memo = next(t for t in decision.texts if t.key == "memo.link")
    assert "https://admin.example/calls/7654321 (설정 필요)" in memo.body
    [slot] = [p for p in memo.placeholders if p.kind == "setting"]
    assert (slot.name, memo.body[slot.start : slot.end]) == ("admin_call_url", "(설정 필요)")
