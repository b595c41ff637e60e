"""Rulings from a third read of both articles (an independent review's findings, each
reproduced with `backend explain`). Each test quotes the article it is written from, and
checks the quote against the article text kept in the repo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from backend.domain.decision import Decision

ARTICLES = Path(__file__).parents[2] / "backend" / "emulator" / "seed_articles"
PARKING_ARTICLE = (ARTICLES / "000_c205ebaffaece5dd.txt").read_text(encoding="utf-8")
RECONNECT_ARTICLE = (ARTICLES / "004_d88a9bf861b2af20.txt").read_text(encoding="utf-8")


def decide(
    build: Any, decide_fields: Any, branch: str, *, prior: int = 0, **overrides: Any
) -> Decision:
    """Decide the branch's fully known ticket with `overrides` (None: the fact is unknown)."""
    fields = {k: v for k, v in build(branch, **overrides).items() if v is not None}
    return decide_fields(fields, prior=prior)


def keys(decision: Decision) -> list[str]:
    """The offered texts' keys."""
    return [text.key for text in decision.texts]


def text(decision: Decision, key: str) -> str:
    """The body of the offered text `key`."""
    return next(t.body for t in decision.texts if t.key == key)


# --- force_reconnect ------------------------------------------------------------------

UNREACHABLE = {"customer_consent": "unreachable"}
RE_INFLOW = ("sms.customer_unreachable", "sms.driver_delay", "memo.agit")


@pytest.mark.parametrize(
    ("overrides", "prior", "block"),
    [
        ({}, 1, "already_reconnected_once"),
        ({"admin_status": "in_progress"}, 0, "admin_status_not_reconnectable"),
        ({"driver_on_duty": False}, 0, "driver_off_duty"),
        (
            {"fare_adjustment": True, "estimated_fare": 30000, "driver_fare_consent": False},
            0,
            "fare_not_agreed",
        ),
    ],
)
def test_an_unreachable_customer_after_parting_still_meets_the_final_checks(
    overrides, prior, block, decide_fields, reconnect_fields
) -> None:
    """Q1 ⑤ / Q2 공통안내: "강제 연결은 한 번만 가능" — a separated case whose customer is
    unreachable (row 11) runs the final checks as the together branches do: no re-inflow
    SMS nor 아지트 memo promising a reconnection the checks forbid (RULINGS R10)."""
    assert "강제 연결은 한 번만 가능" in RECONNECT_ARTICLE
    decision = decide(
        reconnect_fields,
        decide_fields,
        "reconnect.separated.no_fare_change",
        prior=prior,
        **UNREACHABLE,
        **overrides,
    )
    assert decision.branch == "reconnect.customer_unreachable"
    assert decision.outcome == "blocked"
    assert block in decision.blocks
    for key in RE_INFLOW:
        assert key not in keys(decision), key


def test_an_unreachable_customer_with_nothing_else_wrong_gets_the_re_inflow_sms(
    decide_fields, reconnect_fields
) -> None:
    """ "부재 시, SMS 발송 2차 진행(재 인입 유도) → 아지트 작성(히스토리 누적)"."""
    assert (
        "부재 시, SMS 발송 2차 진행(재 인입 유도) → 아지트 작성(히스토리 누적)" in RECONNECT_ARTICLE
    )
    decision = decide(
        reconnect_fields, decide_fields, "reconnect.separated.no_fare_change", **UNREACHABLE
    )
    assert (decision.branch, decision.blocks) == (
        "reconnect.customer_unreachable",
        ["customer_consent_required"],
    )
    assert set(RE_INFLOW) <= set(keys(decision))


@pytest.mark.parametrize(
    ("status", "fare_change", "lines"),
    [
        (
            "cancelled_after_assignment",
            False,
            [
                "- 결제: 결제가 안 된 상태 — 운행완료 후 수기 결제"
                " (운행강제결제: 운행정보 맨 아래)",
                "- 요금결제(요금조정)는 원콜(고객 호출 건)에서 진행",
            ],
        ),
        (
            "completed",
            True,
            [
                "- 결제: 결제 완료 상태 — 요금조정: 재 결제",
                "- 요금결제(요금조정)는 원콜(고객 호출 건)에서 진행",
            ],
        ),
        ("completed", False, ["- 결제: 결제 완료 상태"]),
    ],
)
def test_the_admin_memo_keeps_each_item_on_its_own_line(
    status, fare_change, lines, decide_fields, reconnect_fields
) -> None:
    """③ [어드민]: "배정후 취소 : 결제가 안된 상태(운행완료후 상담사가 수기 결제 필요)ㄴ
    운행강제결제 : 운행정보 맨 아래 확인 가능" and "원콜(고객 호출 건)에서 요금결제(요금조정)"
    are two items: the memo prints them on two lines, never run together."""
    assert "원콜(고객 호출 건)에서 요금결제(요금조정)" in RECONNECT_ARTICLE
    branch = (
        "reconnect.together.fare_change" if fare_change else "reconnect.together.no_fare_change"
    )
    decision = decide(reconnect_fields, decide_fields, branch, admin_status=status)
    memo = text(decision, "memo.admin_reconnect").strip().splitlines()
    assert memo[-len(lines) :] == lines
    assert not any(")- " in line for line in memo)


@pytest.mark.parametrize(
    ("branch", "quote", "said"),
    [
        (
            "reconnect.together.fare_change",
            "강제연결 후 운행이 완료되면 000원은 결제 취소하고 0000원으로 재결제가"
            " 진행될 예정이에요.",
            "강제연결 후 운행이 완료되면 23,000원은 결제 취소하고 28,000원으로 재결제가",
        ),
        (
            "reconnect.separated.fare_change",
            "강제연결 후 기존 요금 000원은 결제 취소하고 0000원으로 재 결제가 진행될 예정이에요.",
            "강제연결 후 기존 요금 23,000원은 결제 취소하고 28,000원으로 재 결제가",
        ),
    ],
    ids=["together", "separated"],
)
def test_a_card_fare_change_on_a_completed_trip_waits_for_the_original_fare(
    branch, quote, said, decide_fields, reconnect_fields
) -> None:
    """고객 OB ② 강제연결+요금조정, 카드 콜: "…000원은 결제 취소하고 0000원으로 재결제" —
    운행완료 ("결제가 완료된 상태(단, 요금조정 필요 시 재 결제로 진행)") the customer hears
    the fare that is cancelled: it is required before the case can go ahead (RULINGS R11)."""
    assert quote in RECONNECT_ARTICLE
    assert (
        "운행완료\u00a0 : 결제가 완료된 상태(단, 요금조정 필요 시 재 결제로 진행)"
        in RECONNECT_ARTICLE
    )
    completed = {"admin_status": "completed", "payment_method": "card"}
    unknown = decide(reconnect_fields, decide_fields, branch, original_fare=None, **completed)
    assert (unknown.outcome, unknown.eligible) == ("pending", False)
    assert "original_fare" in unknown.missing
    assert "기존 호출 요금" in text(
        decide(
            reconnect_fields,
            decide_fields,
            branch,
            original_fare=None,
            customer_consent=None,
            **completed,
        ),
        "memo.admin_lookup",
    )

    known = decide(reconnect_fields, decide_fields, branch, customer_consent=None, **completed)
    assert "original_fare" not in known.missing
    assert said in text(known, "ob.2.consent_fare_change.card")
    assert decide(reconnect_fields, decide_fields, branch, **completed).eligible


@pytest.mark.parametrize(
    "facts",
    [
        {"admin_status": "completed", "payment_method": "cash"},  # "0000원 현금으로 지불"
        {"admin_status": "cancelled_after_assignment", "payment_method": "card"},  # not paid yet
        {"admin_status": "stopped_by_report", "payment_method": "card"},
    ],
)
def test_a_fare_change_that_cancels_no_payment_needs_no_original_fare(
    facts, decide_fields, reconnect_fields
) -> None:
    """Only a paid card call is cancelled and charged again ("배정후 취소 : 결제가 안된 상태")."""
    decision = decide(
        reconnect_fields,
        decide_fields,
        "reconnect.separated.fare_change",
        original_fare=None,
        **facts,
    )
    assert "original_fare" not in decision.missing
    assert decision.eligible


# --- parking_onsite_payment ------------------------------------------------------------

CANCEL = "parking.cancel_onsite_payment"
CANCELLABLE = (
    "직영주차장(카카오모빌리티, 케이엠파킹앤스페이스), 케이엠파크, 나이스파크, 하이파킹, "
    "아마노코리아, 어반포트, SK쉴더스 현장"
)


def test_the_cancel_consent_waits_for_a_cancellable_operator(decide_fields, parking_fields) -> None:
    """§2.1 "현장결제 취소가능 현장 ㄴ 직영주차장(…), 케이엠파크, 나이스파크, 하이파킹,
    아마노코리아, 어반포트, SK쉴더스 현장": A1 ⑤'s question ("…현장결제 취소 진행하여도
    괜찮으실까요?") is asked only once the operator is known to be one of them; until then the
    operator is asked (RULINGS R11)."""
    assert CANCELLABLE in PARKING_ARTICLE
    unknown = decide(parking_fields, decide_fields, CANCEL, operator=None, cancel_consent=None)
    assert (unknown.branch, unknown.outcome, unknown.missing) == (CANCEL, "pending", ["operator"])
    assert "a1.5.cancel_onsite_payment" not in keys(unknown)
    memo = text(unknown, "memo.operator_check")
    for name in ("케이엠파크", "나이스파크", "하이파킹", "아마노코리아", "어반포트", "SK쉴더스"):
        assert name in memo, name
    assert unknown.branch_label != "쿠폰 거절 › 현장결제 취소"

    known = decide(parking_fields, decide_fields, CANCEL, operator="nicepark", cancel_consent=None)
    assert known.missing == ["cancel_consent"]
    assert "a1.5.cancel_onsite_payment" in keys(known)

    other = decide(parking_fields, decide_fields, CANCEL, operator="other", cancel_consent=None)
    assert other.branch == "parking.offer_t_points"
    assert "a1.5.cancel_onsite_payment" not in keys(other)


def test_a_cancelled_ticket_is_charged_before_the_hand_off(decide_fields, parking_fields) -> None:
    """A1 ⑤: "실례지만 주차권 결제 진행 후 담당부서로 전달하여 현장결제 취소 진행하여도
    괜찮으실까요?" / "주차권 결제 완료 후 담당부서로 전달하여 현장결제 취소 요청하겠습니다." —
    a cancelled ticket is charged first, and the department memo says so (RULINGS R12)."""
    for quote in (
        "주차권 결제 진행 후 담당부서로 전달하여 현장결제 취소",
        "주차권 결제 완료 후 담당부서로 전달하여 현장결제 취소 요청하겠습니다.",
    ):
        assert quote in PARKING_ARTICLE, quote
    waiting = decide(parking_fields, decide_fields, CANCEL, ticket_repaid=None)
    assert (waiting.outcome, waiting.eligible, waiting.missing) == (
        "pending",
        False,
        ["ticket_repaid"],
    )
    assert keys(waiting) == ["memo.ticket_repayment"]
    assert "주차권 결제: 18,000원" in text(waiting, "memo.ticket_repayment")
    assert "현장결제 취소 요청 (주차권 미적용 현장결제)" not in waiting.note
    assert decide(parking_fields, decide_fields, CANCEL, ticket_repaid=False).missing == [
        "ticket_repaid"
    ]
    # Before the consent the ticket payment is not asked yet: the question comes first.
    asked = decide(parking_fields, decide_fields, CANCEL, cancel_consent=None, ticket_repaid=None)
    assert asked.missing == ["cancel_consent", "ticket_repaid"]
    assert keys(asked) == ["a1.5.cancel_onsite_payment"]

    charged = decide(parking_fields, decide_fields, CANCEL)
    assert charged.eligible
    memo = text(charged, "memo.department_transfer").splitlines()
    assert "- 주차권 결제: 완료 (18,000원) — 결제 후 현장결제 취소 요청" in memo


@pytest.mark.parametrize("status", ["in_use", "paid"])
def test_a_paid_ticket_is_not_charged_again(status, decide_fields, parking_fields) -> None:
    """R10: a paid / in-use ticket with a refused coupon is kept — "주차권 결제 진행 후" is
    already done, so the ticket payment is not asked; the memo says the ticket is kept."""
    decision = decide(
        parking_fields, decide_fields, CANCEL, ticket_status=status, ticket_repaid=None
    )
    assert (decision.outcome, decision.eligible) == ("eligible", True)
    assert "ticket_repaid" not in decision.missing
    memo = text(decision, "memo.department_transfer")
    assert "- 주차권: 이미 결제된 주차권 유지 (쿠폰 거절, 주차권 취소 없음)" in memo.splitlines()
    assert "주차권 결제: 완료" not in memo


@pytest.mark.parametrize("key", ["sms.customer_unreachable", "sms.driver_delay"])
@pytest.mark.parametrize("when", ["2026-11-20T23:40", "2026-11-20 23:40:00", "2026-11-20"])
def test_the_sms_dates_are_a_month_and_a_day(key, when, decide_fields, reconnect_fields) -> None:
    """SMS 템플릿: "00월 00일 ‘출발지’ > ‘도착지’까지" — a day, never the time, even when the
    운행일시 field holds an ISO datetime (the `md` filter, RULINGS R12)."""
    assert "00월 00일 ‘출발지’ > ‘도착지’까지" in RECONNECT_ARTICLE
    decision = decide(
        reconnect_fields,
        decide_fields,
        "reconnect.separated.no_fare_change",
        trip_datetime=when,
        **UNREACHABLE,
    )
    assert "11월 20일 ‘강남역’ > ‘판교역’까지" in text(decision, key)
    assert "23:40" not in text(decision, key)


RECOGNITION_FAILURE = "차량번호 입차 인식이 정상적으로 이루어지지 않아"
RULE_FACTS = {
    # 주의사항 ① 이용시간 전 입차: entry 08:00, ticket window from 09:00, booked before entry.
    "entry_before_usage_time": {
        "entry_time": "2026-11-20T08:00",
        "reserved_at": "2026-11-20T07:00",
    },
    # 주의사항 ② 입차 후 예약, at a lot that does not sell tickets after entry.
    "reserved_after_entry": {
        "reserved_at": "2026-11-20T11:00",
        "post_entry_purchase_allowed": False,
    },
}


@pytest.mark.parametrize("block", sorted(RULE_FACTS))
def test_a_known_rule_decides_before_the_recognition_failure_script(
    block, decide_fields, parking_fields
) -> None:
    """A1 ②: "차량번호 입차 인식이 정상적으로 이루어지지 않아 주차권 적용이 되지 않은 것으로
    확인됩니다" names a cause; 주의사항 "① 이용시간 전 입차 시 주차권 적용 불가", "② 입차 후
    예약 시 주차권 적용 불가" name another. When the facts already show ① or ②, the customer
    hears that rule, not the recognition failure and a receipt request (RULINGS R13)."""
    for quote in (
        RECOGNITION_FAILURE,
        "① 이용시간 전 입차 시 주차권 적용 불가",
        "② 입차 후 예약 시 주차권 적용 불가",
    ):
        assert quote in PARKING_ARTICLE, quote
    decision = decide(
        parking_fields,
        decide_fields,
        "parking.offer_coupon",
        receipt_attached=None,
        receipt_lot_matches=None,
        **RULE_FACTS[block],
    )
    assert (decision.outcome, decision.blocks) == ("blocked", [block])
    assert "receipt_attached" not in decision.missing
    assert not any(RECOGNITION_FAILURE in t.body for t in decision.texts)

    # Row 1 still runs for what it asks first (here the usage date): the script stays off.
    early = decide(
        parking_fields,
        decide_fields,
        "parking.offer_coupon",
        receipt_attached=None,
        usage_date=None,
        **RULE_FACTS[block],
    )
    assert early.branch == "parking.collect_info"
    assert "a1.2.receipt" not in keys(early)


@pytest.mark.parametrize(
    "facts",
    [
        {},  # nothing speaks against the ticket
        {"ticket_start": None},  # rule ① unknown
        {"reserved_at": "2026-11-20T11:00", "post_entry_purchase_allowed": None},  # ② unknown
        {"reserved_at": "2026-11-20T11:00", "post_entry_purchase_allowed": True},  # ② excused
    ],
)
def test_the_receipt_is_asked_while_no_rule_is_known_to_apply(
    facts, decide_fields, parking_fields
) -> None:
    """A1 ②'s "번거로우시겠지만 현장에서 결제하신 영수증 또는 카드내역 첨부 가능하실까요?"."""
    decision = decide(
        parking_fields, decide_fields, "parking.offer_coupon", receipt_attached=None, **facts
    )
    assert (decision.branch, decision.missing[0]) == ("parking.collect_info", "receipt_attached")
    assert RECOGNITION_FAILURE in text(decision, "a1.2.receipt")
