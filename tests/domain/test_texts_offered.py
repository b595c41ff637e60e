"""ERRATA 2 — texts chosen by the decision, per branch and outcome, and the rulings on words.

The decision offers only the texts of the agent's next step: the next question while
facts are missing (pending), the block's response when blocked, the action's scripts
when eligible. Each ruling test quotes the article line it is written from.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from spec_ids import SPEC_BRANCHES

from backend.domain.decision import Decision

PARKING, RECONNECT = "parking_onsite_payment", "force_reconnect"
TOGETHER = "reconnect.together.no_fare_change"
CUSTOMER_KINDS = {"reply", "outbound", "sms"}
# Texts that promise the eligible path (payment, points, coupons, consent calls).
PROMISES = re.compile(
    r"^(a1\.3\.|a1\.4\.coupon_issue|a1\.5\.cancel_requested|sms\.onsite|t_points\.|paid\."
    r"|q1\.5\.(no_)?fare_change|q2\.2\.|q2\.3\.fare_change|q3\.2\.|q3\.3\.fare_change|ob\.)"
)

# (guide, branch builder, overrides, prior) → (branch, outcome, offered text keys).
OFFERED: list[tuple[str, str, str, dict[str, Any], str, list[str]]] = [
    # --- parking_onsite_payment -------------------------------------------------------
    ("pk-collect-ask-identity", PARKING, "parking.offer_coupon",
     {"identity_verified": None, "usage_date": None, "entry_time": None, "car_number": None,
      "receipt_attached": None, "parking_lot": None},
     "pending", ["a1.1.ask_identity"]),
    ("pk-collect-usage", PARKING, "parking.offer_coupon", {"usage_date": None},
     "pending", ["a1.1.identity_confirmed", "a1.1.find_usage"]),
    ("pk-collect-entry", PARKING, "parking.offer_coupon", {"entry_time": None, "car_number": None},
     "pending", ["a1.1.identity_confirmed", "a1.2.ask_entry"]),
    ("pk-collect-receipt", PARKING, "parking.offer_coupon", {"receipt_attached": None},
     "pending", ["a1.1.identity_confirmed", "a1.2.receipt", "memo.cs_notes"]),
    ("pk-collect-refused", PARKING, "parking.offer_coupon", {"identity_verified": False},
     "blocked", ["block.identity_not_verified"]),
    ("pk-lot-mismatch", PARKING, "parking.offer_coupon", {"receipt_lot_matches": False},
     "blocked", ["caution.different_parking_lot"]),
    ("pk-entry-early", PARKING, "parking.offer_coupon",
     {"entry_time": "2026-11-20T08:30", "reserved_at": "2026-11-20T08:00"},
     "blocked", ["caution.entry_before_usage_time"]),
    ("pk-reserved-after", PARKING, "parking.offer_coupon",
     {"reserved_at": "2026-11-20T11:00", "post_entry_purchase_allowed": False},
     "blocked", ["caution.reserved_after_entry", "memo.post_entry_purchase_check"]),
    ("pk-no-difference", PARKING, "parking.offer_coupon", {"onsite_amount": 18000},
     "blocked", ["caution.no_price_difference"]),
    ("pk-paid-cancel", PARKING, "parking.cancel_paid_ticket", {},
     "eligible", ["paid.cancel_ticket"]),
    ("pk-paid-cancel-pending", PARKING, "parking.cancel_paid_ticket", {"ticket_start": None},
     "pending", ["memo.receipt_check"]),
    ("pk-after-cancel", PARKING, "parking.offer_coupon_after_ticket_cancel", {},
     "eligible", ["a1.3.offer_coupon_after_ticket_cancel"]),
    ("pk-after-cancel-pending", PARKING, "parking.offer_coupon_after_ticket_cancel",
     {"receipt_lot_matches": None}, "pending", ["memo.receipt_check"]),
    ("pk-offer", PARKING, "parking.offer_coupon", {}, "eligible", ["a1.3.offer_coupon"]),
    ("pk-offer-pending", PARKING, "parking.offer_coupon", {"receipt_lot_matches": None},
     "pending", ["memo.receipt_check"]),
    ("pk-accepted-pending", PARKING, "parking.coupon_accepted", {"coupon_split": None},
     "pending", ["a1.4.coupon_accepted", "memo.example_split"]),
    ("pk-accepted-invalid", PARKING, "parking.coupon_accepted", {"coupon_split": "9000x1"},
     "blocked", ["block.invalid_coupon_split"]),
    ("pk-accepted", PARKING, "parking.coupon_accepted", {}, "eligible", ["a1.4.coupon_issue"]),
    # A1 ⑤: the consent question first; the promise and the hand-off once agreed (R9).
    ("pk-cancel-ask-consent", PARKING, "parking.cancel_onsite_payment",
     {"cancel_consent": None}, "pending", ["a1.5.cancel_onsite_payment"]),
    ("pk-cancel-consent-refused", PARKING, "parking.cancel_onsite_payment",
     {"cancel_consent": False}, "pending", ["a1.5.cancel_onsite_payment"]),
    ("pk-cancel-pending", PARKING, "parking.cancel_onsite_payment", {"approval_number": None},
     "pending", ["memo.operator_check"]),
    ("pk-cancel-operator-unknown", PARKING, "parking.cancel_onsite_payment", {"operator": None},
     "pending", ["memo.operator_check"]),
    ("pk-cancel", PARKING, "parking.cancel_onsite_payment", {},
     "eligible", ["a1.5.cancel_requested", "memo.department_transfer"]),
    ("pk-cancel-confirmed-card", PARKING, "parking.cancel_onsite_payment",
     {"cancel_confirmed": True, "onsite_payment_method": "card"},
     "eligible", ["a1.5.cancel_requested", "memo.department_transfer",
                  "sms.onsite_payment_cancelled"]),
    ("pk-cancel-confirmed-cash", PARKING, "parking.cancel_onsite_payment",
     {"cancel_confirmed": True, "onsite_payment_method": "cash"},
     "eligible", ["a1.5.cancel_requested", "memo.department_transfer",
                  "sms.onsite_payment_cancelled_cash"]),
    ("pk-t-points", PARKING, "parking.offer_t_points", {}, "eligible", ["t_points.offer"]),
    # --- force_reconnect ---------------------------------------------------------------
    ("fr-verify", RECONNECT, TOGETHER, {"identity_verified": None},
     "pending", ["q1.1.empathy", "q1.2.trip_info", "q1.2.trip_number"]),
    ("fr-verify-refused", RECONNECT, TOGETHER, {"identity_verified": False},
     "blocked", ["block.identity_not_verified"]),
    ("fr-partner", RECONNECT, TOGETHER, {"call_type": "partner"},
     "blocked", ["partner.situation_room", "memo.history"]),
    ("fr-consigned-not-started", RECONNECT, TOGETHER,
     {"call_type": "consigned", "trip_started": False},
     "blocked", ["consigned.not_started.driver", "memo.history"]),
    ("fr-consigned-unknown", RECONNECT, TOGETHER, {"call_type": "consigned"},
     "blocked", ["ask.trip_started", "memo.history"]),
    ("fr-consigned-driven", RECONNECT, TOGETHER, {"call_type": "consigned", "trip_started": True},
     "blocked", ["consigned.already_driven.driver", "memo.history"]),
    ("fr-ask-presence", RECONNECT, TOGETHER, {"customer_presence": None, "reason": None},
     "pending", ["q1.3.ask_presence", "ask.reason"]),
    ("fr-call-back", RECONNECT, "reconnect.customer_outbound", {"driver_refuses_callback": None},
     "blocked", ["q1.4.call_back", "memo.history"]),
    ("fr-outbound", RECONNECT, "reconnect.customer_outbound", {},
     "eligible", ["q1.5.no_fare_change", "memo.admin_reconnect", "memo.link", "memo.history"]),
    ("fr-outbound-fare-unknown", RECONNECT, "reconnect.customer_outbound",
     {"fare_adjustment": None}, "pending", ["q1.5.ask_fare_change"]),
    ("fr-outbound-consent-unknown", RECONNECT, "reconnect.customer_outbound",
     {"customer_consent": None},
     "pending", ["q1.5.no_fare_change", "ob.1.greeting", "ob.2.consent.card"]),
    ("fr-together", RECONNECT, TOGETHER, {},
     "eligible", ["q2.2.no_fare_change.card", "memo.admin_reconnect", "memo.link", "memo.history"]),
    ("fr-together-consent-unknown", RECONNECT, TOGETHER, {"customer_consent": None},
     "pending", ["q2.2.no_fare_change.card", "q2.common", "ob.1.greeting", "ob.2.consent.card"]),
    ("fr-together-payment-unknown", RECONNECT, TOGETHER, {"payment_method": None},
     "pending", ["memo.admin_lookup"]),
    ("fr-together-consent-pending", RECONNECT, TOGETHER, {"customer_consent": "pending"},
     "blocked", ["ob.1.greeting", "ob.2.consent.card", "memo.history"]),
    ("fr-together-unreachable", RECONNECT, TOGETHER, {"customer_consent": "unreachable"},
     "blocked", ["sms.customer_unreachable", "sms.driver_delay", "memo.agit", "memo.history"]),
    ("fr-together-refused", RECONNECT, TOGETHER, {"customer_consent": "refused"},
     "blocked", ["block.customer_refused", "memo.history"]),
    ("fr-together-recalling", RECONNECT, TOGETHER,
     {"customer_consent": "pending", "customer_recalling": True},
     "blocked", ["ob.1.greeting", "ob.2.consent.card", "recall.cancel_request", "memo.history"]),
    ("fr-together-off-duty", RECONNECT, TOGETHER, {"driver_on_duty": False},
     "blocked", ["block.driver_off_duty", "memo.history"]),
    ("fr-together-admin-status", RECONNECT, TOGETHER, {"admin_status": "in_progress"},
     "blocked", ["memo.admin_status", "memo.history"]),
    ("fr-fare-unpaid", RECONNECT, "reconnect.together.fare_change", {},
     "eligible", ["q2.3.fare_change_unpaid", "memo.admin_reconnect", "memo.link", "memo.history"]),
    ("fr-fare-paid", RECONNECT, "reconnect.together.fare_change", {"admin_status": "completed"},
     "eligible", ["q2.3.fare_change.card", "memo.admin_reconnect", "memo.link", "memo.history"]),
    ("fr-fare-ask-agreed", RECONNECT, "reconnect.together.fare_change",
     {"agreed_fare": None, "driver_fare_consent": None}, "pending", ["q2.3.ask_agreed_fare"]),
    ("fr-fare-estimate", RECONNECT, "reconnect.together.fare_change",
     {"agreed_fare": None, "estimated_fare": 31000, "driver_fare_consent": None},
     "pending", ["fare.estimate"]),
    ("fr-fare-refused", RECONNECT, "reconnect.together.fare_change",
     {"driver_fare_consent": False}, "blocked", ["block.fare_not_agreed", "memo.history"]),
    ("fr-unreachable", RECONNECT, "reconnect.separated.no_fare_change",
     {"customer_consent": "unreachable"},
     "blocked", ["sms.customer_unreachable", "sms.driver_delay", "memo.agit", "memo.history"]),
    ("fr-separated", RECONNECT, "reconnect.separated.no_fare_change", {},
     "eligible", ["q3.2.no_fare_change", "memo.admin_reconnect", "memo.link", "memo.history"]),
    ("fr-separated-fare", RECONNECT, "reconnect.separated.fare_change", {},
     "eligible", ["q3.3.fare_change", "memo.admin_reconnect", "memo.link", "memo.history"]),
]  # fmt: skip
# The branch each case lands on, when it is not the builder's.
LANDS_ON = {
    "pk-collect-ask-identity": "parking.collect_info",
    "pk-collect-usage": "parking.collect_info",
    "pk-collect-entry": "parking.collect_info",
    "pk-collect-receipt": "parking.collect_info",
    "pk-collect-refused": "parking.collect_info",
    "pk-lot-mismatch": "parking.lot_mismatch",
    "pk-entry-early": "parking.ineligible_entry_before_window",
    "pk-reserved-after": "parking.ineligible_reserved_after_entry",
    "pk-no-difference": "parking.no_difference",
    "fr-verify": "reconnect.verify_identity",
    "fr-verify-refused": "reconnect.verify_identity",
    "fr-partner": "reconnect.partner_situation_room",
    "fr-consigned-not-started": "reconnect.consigned_not_started",
    "fr-consigned-unknown": "reconnect.consigned_not_started",
    "fr-consigned-driven": "reconnect.consigned_already_driven",
    "fr-ask-presence": "reconnect.ask_presence",
    "fr-call-back": "reconnect.call_back_when_together",
    "fr-unreachable": "reconnect.customer_unreachable",
}


def _decide(guide: str, builder: str, overrides: dict[str, Any], request: Any) -> Decision:
    build = request.getfixturevalue("parking_fields" if guide == PARKING else "reconnect_fields")
    decide_fields = request.getfixturevalue("decide_fields")
    fields = {k: v for k, v in build(builder, **overrides).items() if v is not None}
    return decide_fields(fields)


@pytest.mark.parametrize(
    ("name", "guide", "builder", "overrides", "outcome", "keys"),
    OFFERED,
    ids=[case[0] for case in OFFERED],
)
def test_texts_offered_per_branch_and_outcome(
    name, guide, builder, overrides, outcome, keys, request
):
    decision = _decide(guide, builder, overrides, request)
    assert decision.branch == LANDS_ON.get(name, builder)
    assert decision.outcome == outcome
    assert [text.key for text in decision.texts] == keys


def test_the_table_covers_every_branch_and_outcome():
    landed = {LANDS_ON.get(case[0], case[2]) for case in OFFERED}
    assert landed == SPEC_BRANCHES[PARKING] | SPEC_BRANCHES[RECONNECT]
    assert {case[4] for case in OFFERED} == {"eligible", "blocked", "pending"}


@pytest.mark.parametrize(
    ("name", "guide", "builder", "overrides", "outcome", "keys"),
    OFFERED,
    ids=[case[0] for case in OFFERED],
)
def test_no_offered_text_asserts_an_unknown_fact(
    name, guide, builder, overrides, outcome, keys, request
):
    """Known values are shown; unknown ones stay visible placeholders, marked for the sidebar."""
    decision = _decide(guide, builder, overrides, request)
    for text in decision.texts:
        assert "None" not in text.body, text.key
        for slot in text.placeholders:
            assert 0 <= slot.start < slot.end <= len(text.body), text.key
            assert slot.kind in {"fact", "setting", "agent"}
            if slot.kind == "fact" and slot.name in decision.facts:
                raise AssertionError(f"{text.key}: {slot.name} is known but left blank")
        if outcome == "blocked":
            assert not PROMISES.match(text.key) or text.key.startswith("ob."), text.key


# --- rulings (ERRATA 2), each from the article's words ---------------------------------


def test_blocked_means_blocked_no_consent_call_under_a_final_block(decide_fields, reconnect_fields):
    """ERRATA 2 "Blocked means blocked": under a block the texts are that block's response,
    never the eligible path's promises (article: "※ 상호간의 동의 없이는 절대 강제 재연결 금지")."""
    for overrides in (
        {"customer_consent": "refused"},
        {"admin_status": "in_progress", "customer_consent": "pending"},
        {"customer_consent": "pending", "driver_on_duty": False},
    ):
        decision = decide_fields(reconnect_fields(TOGETHER, **overrides))
        assert decision.outcome == "blocked"
        keys = [t.key for t in decision.texts]
        assert not [k for k in keys if PROMISES.match(k)], keys


def test_pending_tickets_are_tagged_pending_and_the_note_says_so(decide_fields, parking_fields):
    """ERRATA 2 "Three outcomes": facts missing, nothing violated → gp_pending, 확인 필요."""
    decision = decide_fields(parking_fields("parking.offer_coupon", receipt_lot_matches=None))
    assert (decision.outcome, decision.eligible, decision.blocks) == ("pending", False, [])
    assert "gp_pending" in decision.tags
    assert "gp_blocked" not in decision.tags
    assert "판정: 확인 필요" in decision.note


def test_no_coupon_offer_while_the_lot_match_is_unknown(decide_fields, parking_fields):
    """Article A1 ③: "(영수증 정보확인) 동일 주차장 여부, 출차시간 확인 > 차액 쿠폰제시" —
    the coupon is offered only once the receipt facts are known (ERRATA 2)."""
    for fact in ("receipt_lot_matches", "ticket_start", "post_entry_purchase_allowed"):
        overrides: dict[str, Any] = {fact: None}
        if fact == "post_entry_purchase_allowed":
            overrides["reserved_at"] = "2026-11-20T11:00"
        decision = decide_fields(parking_fields("parking.offer_coupon", **overrides))
        keys = [t.key for t in decision.texts]
        assert "a1.3.offer_coupon" not in keys, fact
        assert keys == ["memo.receipt_check"], fact


@pytest.mark.parametrize("identity", [None, False], ids=["unknown", "refused"])
def test_no_booking_detail_before_identity_is_verified(identity, decide_fields, parking_fields):
    """Article (force_reconnect Q1 ②): "본인이 아닌 경우 상담제한. 정보 선언급 금지" — with
    identity refused or unverified no text names the booking, the lot, the car or the date."""
    decision = decide_fields(parking_fields("parking.offer_coupon", identity_verified=identity))
    for text in decision.texts:
        for value in ("강남역 공영주차장", "12가3456", "11월 20일", "30,000원"):
            assert value not in text.body, (text.key, value)


def test_rule_1_does_not_block_a_reservation_after_entry_where_allowed(
    decide_fields, parking_fields
):
    """Article 주의사항: "① 이용시간 전 입차 시 주차권 적용 불가 ② 입차 후 예약 시 주차권
    적용 불가 ※ 입차 후 주차권 구매지원 주차장 확인 방법 아래참고" — at a lot that allows
    post-entry purchase, the ticket starts after entry: ① does not block (RULINGS R3)."""
    fields = parking_fields(
        "parking.offer_coupon",
        entry_time="2026-11-20T08:30",
        reserved_at="2026-11-20T10:00",
        post_entry_purchase_allowed=True,
    )
    decision = decide_fields(fields)
    assert decision.branch == "parking.offer_coupon"
    assert decision.outcome == "eligible"
    assert decision.notices == ["post_entry_purchase_excuses_early_entry"]


def test_rounding_is_a_setting_flagged_and_the_difference_stays_real(
    decide_fields, parking_fields, catalog
):
    """Article A1 ④: "차액 OOO원에 대해 원하시는 권종과 수량 말씀 부탁드립니다" with
    "1,000원 단위권" — the article does not say how to round (RULINGS R2)."""
    decision = decide_fields(
        parking_fields("parking.coupon_accepted", ticket_price=17500, coupon_split=None)
    )
    assert "coupon_rounded_up" in decision.notices
    accepted = next(t for t in decision.texts if t.key == "a1.4.coupon_accepted")
    assert "차액 12,500원에 대해 13,000원 쿠폰으로 발급 가능하며" in accepted.body
    assert catalog.guide(PARKING).settings["coupon_rounding"] == "up"


def test_parking_sms_uses_the_inquiry_date_and_waits_for_the_department(
    decide_fields, parking_fields
):
    """Article A1 ⑤: "현장결제 취소 접수 후 회신 시 등록된 연락처로 문자 안내해 드리겠습니다." and
    the SMS "O월 O일 문의하신 …": the date is the inquiry date, the SMS comes after the reply."""
    base = parking_fields(
        "parking.cancel_onsite_payment", inquiry_date="2026-11-22", onsite_payment_method="card"
    )
    before = decide_fields(base)
    assert "sms.onsite_payment_cancelled" not in [t.key for t in before.texts]
    assert "cancel_sms_after_department_reply" in before.notices
    after = decide_fields({**base, "cancel_confirmed": True})
    sms = next(t for t in after.texts if t.key == "sms.onsite_payment_cancelled")
    assert "11월 22일 문의하신" in sms.body
    assert "11월 20일" not in sms.body  # the usage date is not the inquiry date
    assert "카드결제 건으로" in sms.body


def test_cash_payment_gets_no_card_wording(decide_fields, parking_fields):
    """Article SMS: "카드결제 건으로 카드사마다 상이하나 …" — only for a card payment."""
    fields = parking_fields(
        "parking.cancel_onsite_payment", cancel_confirmed=True, onsite_payment_method="cash"
    )
    decision = decide_fields(fields)
    sms = next(t for t in decision.texts if t.kind == "sms")
    assert "카드" not in sms.body
    assert sms.from_article is False
    assert "cash_refund_wording_not_in_article" in decision.notices


def test_fare_change_order_agreed_fare_then_estimate_then_consents(decide_fields, reconnect_fields):
    """Article Q2 ③: "혹시 합의한 요금이 있으면 말씀해 주시겠습니까?" → "(합의 요금 없을 경우)
    어드민 요금계산기로 예상 요금 조회 → 기사/고객 요금 조정 동의 확인" (RULINGS R1)."""
    branch = "reconnect.together.fare_change"
    steps = [
        ({"agreed_fare": None, "driver_fare_consent": None, "customer_consent": None},
         "q2.3.ask_agreed_fare"),
        ({"agreed_fare": None, "estimated_fare": 31000, "driver_fare_consent": None,
          "customer_consent": None}, "fare.estimate"),
        ({"agreed_fare": None, "estimated_fare": 31000, "customer_consent": None},
         "q2.3.fare_change_unpaid"),
    ]  # fmt: skip
    for overrides, first in steps:
        decision = decide_fields(reconnect_fields(branch, **overrides))
        assert decision.texts[0].key == first
    last = decide_fields(reconnect_fields(branch, customer_consent=None))
    assert [t.kind for t in last.texts][-2:] == ["outbound", "outbound"]
    assert "meter_not_running_use_fare_calculator" in last.notices


@pytest.mark.parametrize(
    "branch", ["reconnect.together.fare_change", "reconnect.customer_outbound"]
)
def test_nothing_is_said_to_be_cancelled_before_anything_was_charged(
    branch, decide_fields, reconnect_fields
):
    """Article ③ [어드민]: "배정후 취소 : 결제가 안된 상태(운행완료후 상담사가 수기 결제 필요)" —
    so no script says the old fare "is cancelled" (Q2 ③ "기존 결제금액은 취소할 예정")
    (RULINGS R2)."""
    fields = reconnect_fields(
        branch,
        admin_status="cancelled_after_assignment",
        fare_adjustment=True,
        agreed_fare=28000,
        customer_consent=None,
    )
    decision = decide_fields(fields)
    assert decision.texts
    for text in decision.texts:
        assert "결제 취소" not in text.body, text.key
        assert "취소할 예정" not in text.body, text.key
    assert "manual_payment_after_completion" in decision.notices


@pytest.mark.parametrize(
    "branch",
    ["reconnect.customer_outbound", TOGETHER, "reconnect.together.fare_change",
     "reconnect.separated.no_fare_change"],
)  # fmt: skip
def test_unreachable_customer_sms_in_every_presence_state(branch, decide_fields, reconnect_fields):
    """Article Q3: "[고객 OB] … > 부재 시, SMS 발송 2차 진행(재 인입 유도) → 아지트 작성(히스토리
    누적)" — wherever the customer OB step applies, not only when separated (RULINGS R3)."""
    decision = decide_fields(reconnect_fields(branch, customer_consent="unreachable"))
    keys = [t.key for t in decision.texts]
    assert keys[:3] == ["sms.customer_unreachable", "sms.driver_delay", "memo.agit"]
    assert "customer_unreachable_sms_agit" in decision.notices


def test_recall_script_speaks_to_the_customer(decide_fields, reconnect_fields):
    """Article ② 불가 기준: "[재호출 중]이라면 고객에게 앱에서 호출 중인 콜 취소 요청" and the
    script "현재 고객님께서 앱에서 다시 호출하기를 진행하셔서 …" — an outbound text (RULINGS R4)."""
    decision = decide_fields(
        reconnect_fields(TOGETHER, customer_recalling=True, customer_consent="pending")
    )
    recall = next(t for t in decision.texts if t.key == "recall.cancel_request")
    assert recall.kind == "outbound"
    assert "recall_script_to_customer" in decision.notices


def test_settings_placeholders_are_marked_setting_needed(decide_fields, reconnect_fields):
    """ERRATA 2: "A setting still at a placeholder (상황실 000-0000-0000, example URLs) … shown
    to the agent as 설정 필요"; the 상담사 OOO is the agent's own name slot (C1 kind agent)."""
    partner = decide_fields(reconnect_fields(TOGETHER, call_type="partner"))
    room = partner.texts[0]
    assert [(p.kind, p.name) for p in room.placeholders] == [("setting", "situation_room_phone")]
    assert "000-0000-0000" not in room.body
    ob = decide_fields(reconnect_fields(TOGETHER, customer_consent=None))
    greeting = next(t for t in ob.texts if t.key == "ob.1.greeting")
    agent = [p for p in greeting.placeholders if p.kind == "agent"]
    assert [greeting.body[p.start : p.end] for p in agent] == ["OOO"]
    assert agent[0].name == "agent_name"


def test_answered_questions_are_not_repeated(decide_fields, reconnect_fields):
    """ERRATA 2 / issue: "Scripts already answered (a question whose fact is known) are not
    repeated" — Q2 ① "경유지 추가나 목적지 변경이 있었을까요?" disappears once answered."""
    asked = decide_fields(reconnect_fields(TOGETHER, fare_adjustment=None))
    assert [t.key for t in asked.texts] == ["q2.1.ask_fare_change"]
    assert asked.texts[0].asks == ["fare_adjustment"]
    answered = decide_fields(reconnect_fields(TOGETHER, customer_consent=None))
    assert "q2.1.ask_fare_change" not in [t.key for t in answered.texts]


@pytest.mark.parametrize("consent", ["refused", "pending", "unreachable"])
def test_a_refused_or_missing_consent_is_never_shown_as_given(
    consent, decide_fields, reconnect_fields
):
    """ERRATA 2 "Checks never claim what is unknown": "✔ 고객 동의 확인됨" was shown next to
    "✖ 고객이 동의하지 않았습니다" — an `ok` line about a fact another line blocks on is dropped."""
    decision = decide_fields(reconnect_fields(TOGETHER, customer_consent=consent))
    states = {check.id: check.state for check in decision.checks}
    consent_checks = {k: v for k, v in states.items() if k.startswith("customer_")}
    assert "ok" not in {v for k, v in consent_checks.items() if k != "customer_recalling"}
    assert "blocked" in consent_checks.values()
