"""Rulings from a second line-by-line read of both articles (parking RULINGS R9–R10, the
force_reconnect fare order and admin memo). Each test quotes the article it is written from,
and checks the quote against the article text kept in the repo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from backend.domain.decision import Decision

ARTICLES = Path(__file__).parents[2] / "backend" / "emulator" / "seed_articles"
PARKING_ARTICLE = (ARTICLES / "000_c205ebaffaece5dd.txt").read_text(encoding="utf-8")
RECONNECT_ARTICLE = (ARTICLES / "004_d88a9bf861b2af20.txt").read_text(encoding="utf-8")
CANCEL = "parking.cancel_onsite_payment"
# A1 ⑤, in the article's order: the question, then what is said once the customer agreed.
CONSENT_QUESTION = (
    "실례지만 주차권 결제 진행 후 담당부서로 전달하여 현장결제 취소 진행하여도 괜찮으실까요?"
)
AFTER_CONSENT = "주차권 결제 완료 후 담당부서로 전달하여 현장결제 취소 요청하겠습니다."
DEPARTMENT_MEMO_TITLE = "현장결제 취소 요청 (주차권 미적용 현장결제)"


def decide(build: Any, decide_fields: Any, branch: str, **overrides: Any) -> Decision:
    """Decide the branch's fully known ticket with `overrides` (None: the fact is unknown)."""
    fields = {k: v for k, v in build(branch, **overrides).items() if v is not None}
    return decide_fields(fields)


def keys(decision: Decision) -> list[str]:
    """The offered texts' keys."""
    return [text.key for text in decision.texts]


def test_the_quotes_are_the_articles() -> None:
    """The sentences these tests hold the guides to are the articles' own."""
    for quote in (CONSENT_QUESTION, AFTER_CONSENT, "이용 중인/ 결제된 주차권은 취소 후"):
        assert quote in PARKING_ARTICLE, quote
    for quote in (
        "ㄴ 운행강제결제 :\u00a0 운행정보 맨 아래 확인 가능",  # the article's no-break space
        "원콜(고객 호출 건)에서 요금결제(요금조정)",
    ):
        assert quote in RECONNECT_ARTICLE, quote


def test_the_department_hears_of_it_only_after_consent(decide_fields, parking_fields) -> None:
    """A1 ⑤: the customer is asked "…진행하여도 괜찮으실까요?", and only then told
    "주차권 결제 완료 후 담당부서로 전달하여 현장결제 취소 요청하겠습니다." (RULINGS R9)."""
    asked = decide(parking_fields, decide_fields, CANCEL, cancel_consent=None)
    assert (asked.branch, asked.outcome, asked.missing) == (CANCEL, "pending", ["cancel_consent"])
    assert keys(asked) == ["a1.5.cancel_onsite_payment"]
    assert asked.texts[0].body.rstrip().endswith(CONSENT_QUESTION)
    assert DEPARTMENT_MEMO_TITLE not in asked.note
    assert "확인 필요: 고객 동의: 주차권 결제 후 현장결제 취소 진행" in asked.note

    refused = decide(parking_fields, decide_fields, CANCEL, cancel_consent=False)
    assert (refused.outcome, refused.eligible) == ("pending", False)
    assert "cancel_consent_refused" in refused.notices
    assert "a1.5.cancel_requested" not in keys(refused)
    assert DEPARTMENT_MEMO_TITLE not in refused.note

    agreed = decide(parking_fields, decide_fields, CANCEL, cancel_consent=True)
    assert (agreed.outcome, agreed.eligible) == ("eligible", True)
    assert keys(agreed)[:2] == ["a1.5.cancel_requested", "memo.department_transfer"]
    assert agreed.texts[0].body.startswith(AFTER_CONSENT)
    assert DEPARTMENT_MEMO_TITLE in agreed.note
    assert "cancel_consent_refused" not in agreed.notices


@pytest.mark.parametrize("status", ["in_use", "paid", "cancelled"])
def test_a_paid_ticket_is_cancelled_or_kept_as_the_coupon_answer_says(
    status, decide_fields, parking_fields
) -> None:
    """A1 ③: "이용 중인/ 결제된 주차권은 취소 후, … OOO원 주차쿠폰으로 발급" — an accepted
    coupon still cancels the paid ticket; a refused one keeps it, and ⑤'s "주차권 결제 진행 후"
    is a step already done (RULINGS R1, R10)."""
    paid = status != "cancelled"
    accepted = decide(
        parking_fields, decide_fields, "parking.coupon_accepted", ticket_status=status
    )
    assert accepted.eligible
    assert ("paid_ticket_cancel" in accepted.notices) is paid
    assert "paid_ticket_kept_onsite_cancelled" not in accepted.notices

    refused = decide(parking_fields, decide_fields, CANCEL, ticket_status=status)
    assert refused.eligible
    assert ("paid_ticket_kept_onsite_cancelled" in refused.notices) is paid
    assert "paid_ticket_cancel" not in refused.notices
    kept = "주차권은 취소하지 않고 현장결제 취소를 요청합니다"
    assert (kept in refused.note) is paid


def test_the_customer_is_called_once_the_fare_is_settled(decide_fields, reconnect_fields) -> None:
    """ERRATA 2 "agreed fare → estimate → consents → customer OB"; Q2 ③: "(합의 요금 없을
    경우) 어드민 요금계산기로 예상 요금 조회 → 기사/고객 요금 조정 동의 확인"."""
    branch = "reconnect.together.fare_change"
    open_fare = {"agreed_fare": None, "estimated_fare": 27000, "customer_consent": None}
    waiting = decide(reconnect_fields, decide_fields, branch, driver_fare_consent=None, **open_fare)
    assert waiting.outcome == "pending"
    assert "fare.estimate" in keys(waiting)
    for early in ("q2.common", "ob.1.greeting", "ob.2.consent_fare_change"):
        assert early not in keys(waiting), early

    settled = decide(reconnect_fields, decide_fields, branch, driver_fare_consent=True, **open_fare)
    assert "fare.estimate" not in keys(settled)
    assert {"q2.common", "ob.1.greeting"} <= set(keys(settled))

    agreed = decide(
        reconnect_fields, decide_fields, branch, agreed_fare=28000, customer_consent=None
    )
    assert {"q2.common", "ob.1.greeting"} <= set(keys(agreed))

    # Whether the fare changes is not known yet: that is asked first.
    unknown = decide(
        reconnect_fields,
        decide_fields,
        "reconnect.together.no_fare_change",
        fare_adjustment=None,
        customer_consent=None,
    )
    assert unknown.missing[0] == "fare_adjustment"
    assert "ob.1.greeting" not in keys(unknown)
    assert "q2.common" not in keys(unknown)


@pytest.mark.parametrize(
    ("status", "fare_change", "where"),
    [
        ("cancelled_after_assignment", False, True),
        ("completed", True, True),
        ("completed", False, False),
    ],
)
def test_the_admin_memo_says_where_the_fare_is_charged(
    status, fare_change, where, decide_fields, reconnect_fields
) -> None:
    """③ [어드민]: "배정후 취소 : 결제가 안된 상태 … ㄴ 운행강제결제 : 운행정보 맨 아래 확인
    가능", "운행완료 : … 요금조정 필요 시 재 결제", "원콜(고객 호출 건)에서 요금결제(요금조정)"."""
    branch = (
        "reconnect.together.fare_change" if fare_change else "reconnect.together.no_fare_change"
    )
    decision = decide(reconnect_fields, decide_fields, branch, admin_status=status)
    memo = next(t for t in decision.texts if t.key == "memo.admin_reconnect")
    assert ("요금결제(요금조정)는 원콜(고객 호출 건)에서 진행" in memo.body) is where
    manual = "운행완료 후 수기 결제 (운행강제결제: 운행정보 맨 아래)"
    assert (manual in memo.body) is (status == "cancelled_after_assignment")


def test_a_consent_without_a_fare_change_waits_for_the_original_fare(
    decide_fields, reconnect_fields
) -> None:
    """고객 OB ②: "강제 연결 후, 기존 호출 요금 000원으로 결제 진행하면 될까요?" — the
    customer agrees to an amount: without a fare change it is required (RULINGS R9)."""
    assert "기존 호출 요금 000원으로 결제 진행하면 될까요?" in RECONNECT_ARTICLE
    together = "reconnect.together.no_fare_change"
    unknown = decide(reconnect_fields, decide_fields, together, original_fare=None)
    assert (unknown.outcome, unknown.eligible) == ("pending", False)
    assert "original_fare" in unknown.missing
    asking = decide(
        reconnect_fields, decide_fields, together, original_fare=None, customer_consent=None
    )
    lookup = next(t for t in asking.texts if t.key == "memo.admin_lookup")
    assert "기존 호출 요금" in lookup.body

    known = decide(reconnect_fields, decide_fields, together, customer_consent=None)
    consent = next(t for t in known.texts if t.key.startswith("ob.2.consent"))
    assert "기존 호출 요금 23,000원으로 결제 진행하면 될까요?" in consent.body

    changed = decide(
        reconnect_fields, decide_fields, "reconnect.together.fare_change", original_fare=None
    )
    assert "original_fare" not in changed.missing
    assert changed.eligible
