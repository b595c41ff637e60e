"""GUIDES.md §2 — the decision table of guide `parking_onsite_payment`, row by row.

Every test starts from a fully known, eligible ticket (conftest `parking_fields`) and
changes the facts the table's row is about, then compares branch, eligible, blocks,
missing (exact, in response order) and notices (exact) with the specification.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spec_ids import SPEC_BRANCHES as ALL_SPEC_BRANCHES
from table_helpers import build_expected, read_outcome

from backend.domain.coupon import parse_coupon_split
from backend.domain.decision import Decision

GUIDE = "parking_onsite_payment"

# GUIDES.md §2: every branch of the table, and those whose eligible column is "action".
SPEC_BRANCHES = ALL_SPEC_BRANCHES[GUIDE]
ACTION_BRANCHES = {
    "parking.cancel_paid_ticket",
    "parking.offer_coupon_after_ticket_cancel",
    "parking.offer_coupon",
    "parking.coupon_accepted",
    "parking.cancel_onsite_payment",
    "parking.offer_t_points",
}
# Row 1 order (A1 ①②), then the response order "after row 1".
ROW1_ORDER = ["identity_verified", "usage_date", "entry_time", "car_number", "receipt_attached"]
RESPONSE_ORDER_AFTER_ROW1 = [
    "receipt_lot_matches",
    "ticket_start",
    "ticket_end",
    "entry_time",
    "exit_time",
    "reserved_at",
    "post_entry_purchase_allowed",
    "onsite_amount",
    "ticket_price",
    "overtime_fee",
    "ticket_status",
    "coupon_split",
    "operator",
    "approval_number",
    "cancel_consent",
    "ticket_repaid",
]
PAID_TWICE = "paid_ticket_cancel"
SMS_WAITS = "cancel_sms_after_department_reply"
CANCELLABLE_OPERATORS = [
    "kakaomobility_direct",
    "kmpns_direct",
    "kmpark",
    "nicepark",
    "hiparking",
    "amano",
    "urbanport",
    "sk_shieldus",
]


def outcome(decision: Decision) -> dict[str, Any]:
    """The five things a table row decides."""
    return read_outcome(decision, GUIDE)


def expect(branch: str, **spec: Any) -> dict[str, Any]:
    """The spec's outcome; on-site cancellations say the SMS waits for the department (R5)."""
    expected = build_expected(branch, **spec)
    if branch == "parking.cancel_onsite_payment" and SMS_WAITS not in expected["notices"]:
        expected["notices"] = [*expected["notices"], SMS_WAITS]
    return expected


def coupon_amount(decision: Decision) -> int:
    """The coupon amount the coupon-accepted decision's texts name."""
    issue = next(t for t in decision.texts if t.key == "a1.4.coupon_issue")
    match = re.search(r"\(([^)]*)\)으로 쿠폰 발급", issue.body)
    assert match is not None, issue.body
    pieces = parse_coupon_split("coupon_split", match.group(1))
    assert pieces is not None
    return sum(p.denomination * p.count for p in pieces)


# --- the baselines themselves: each action branch, fully known, is eligible ------------


@pytest.mark.parametrize("branch", sorted(ACTION_BRANCHES))
def test_fully_known_action_branch_is_eligible(branch, decide_fields, parking_fields):
    notices = {
        "parking.offer_t_points": ["operator_not_onsite_cancellable"],
        "parking.offer_coupon_after_ticket_cancel": [PAID_TWICE],
        "parking.cancel_paid_ticket": [PAID_TWICE],
    }.get(branch, [])
    decision = decide_fields(parking_fields(branch))
    assert outcome(decision) == expect(branch, eligible=True, notices=notices)
    assert decision.tags[:3] == [
        f"gp_guide_{GUIDE}",
        f"gp_branch_{branch.replace('.', '_')}",
        "gp_eligible",
    ]


# --- row 1: parking.collect_info --------------------------------------------------------


@pytest.mark.parametrize("fact", ROW1_ORDER)
def test_row1_one_basic_fact_unknown_collects_it(fact, decide_fields, parking_fields):
    decision = decide_fields(parking_fields("parking.offer_coupon", **{fact: None}))
    assert outcome(decision) == expect("parking.collect_info", missing=[fact])


def test_row1_nothing_known_asks_in_a1_order(decide_fields):
    decision = decide_fields({"consult_type": "parking_integration_onsite_payment"})
    # Rows 2–10 are not read: nothing after row 1 is asked yet.
    assert outcome(decision) == expect("parking.collect_info", missing=ROW1_ORDER)


def test_row1_receipt_not_attached_is_not_yet_yes(decide_fields, parking_fields):
    decision = decide_fields(parking_fields("parking.offer_coupon", receipt_attached=False))
    assert outcome(decision) == expect("parking.collect_info", missing=["receipt_attached"])


def test_row1_identity_no_is_block_identity_not_verified(decide_fields, parking_fields):
    decision = decide_fields(parking_fields("parking.offer_coupon", identity_verified=False))
    assert outcome(decision) == expect("parking.collect_info", blocks=["identity_not_verified"])


def test_row1_identity_no_with_the_rest_unknown(decide_fields):
    decision = decide_fields(
        {"consult_type": "parking_integration_onsite_payment", "identity_verified": False}
    )
    assert outcome(decision) == expect(
        "parking.collect_info", blocks=["identity_not_verified"], missing=ROW1_ORDER[1:]
    )


def test_row1_wins_over_every_later_row(decide_fields, parking_fields):
    fields = parking_fields(
        "parking.offer_coupon",
        identity_verified=None,
        receipt_lot_matches=False,
        entry_time="2026-11-20T08:00",
        onsite_amount=1000,
    )
    assert outcome(decide_fields(fields)) == expect(
        "parking.collect_info", missing=["identity_verified"]
    )


# --- rows 2–5: the ineligible branches ----------------------------------------------------


def test_row2_receipt_from_another_lot(decide_fields, parking_fields):
    decision = decide_fields(parking_fields("parking.offer_coupon", receipt_lot_matches=False))
    assert outcome(decision) == expect("parking.lot_mismatch", blocks=["different_parking_lot"])


def test_row2_wins_over_row3(decide_fields, parking_fields):
    fields = parking_fields(
        "parking.offer_coupon",
        receipt_lot_matches=False,
        entry_time="2026-11-20T08:30",
        reserved_at="2026-11-20T08:00",
    )
    assert outcome(decide_fields(fields)) == expect(
        "parking.lot_mismatch", blocks=["different_parking_lot"]
    )


def test_row3_entered_before_the_ticket_window(decide_fields, parking_fields):
    fields = parking_fields(
        "parking.offer_coupon", entry_time="2026-11-20T08:30", reserved_at="2026-11-20T08:00"
    )
    assert outcome(decide_fields(fields)) == expect(
        "parking.ineligible_entry_before_window", blocks=["entry_before_usage_time"]
    )


def test_row3_entry_exactly_at_window_start_is_not_before(decide_fields, parking_fields):
    fields = parking_fields("parking.offer_coupon", entry_time="2026-11-20T09:00")
    assert outcome(decide_fields(fields)) == expect("parking.offer_coupon", eligible=True)


def test_row3_compares_instants_across_offsets(decide_fields, parking_fields):
    # 00:30Z is 09:30 in Seoul: after a 09:00 (Seoul) window start.
    fields = parking_fields("parking.offer_coupon", entry_time="2026-11-20T00:30:00Z")
    assert outcome(decide_fields(fields)) == expect("parking.offer_coupon", eligible=True)


@pytest.mark.parametrize(
    ("allowed", "expected"),
    [
        pytest.param(
            False,
            expect("parking.ineligible_reserved_after_entry", blocks=["reserved_after_entry"]),
            id="not-allowed-blocks",
        ),
        pytest.param(True, expect("parking.offer_coupon", eligible=True), id="allowed-excused"),
        pytest.param(
            None,
            expect("parking.offer_coupon", missing=["post_entry_purchase_allowed"]),
            id="unknown-missing-instead-of-block",
        ),
    ],
)
def test_row4_reserved_after_entry(allowed, expected, decide_fields, parking_fields):
    fields = parking_fields(
        "parking.offer_coupon",
        reserved_at="2026-11-20T11:00",
        post_entry_purchase_allowed=allowed,
    )
    assert outcome(decide_fields(fields)) == expected


@pytest.mark.parametrize("allowed", [False, None], ids=["allowed-no", "allowed-unknown"])
def test_row4_reserved_before_entry_never_reads_allowed(allowed, decide_fields, parking_fields):
    fields = parking_fields("parking.offer_coupon", post_entry_purchase_allowed=allowed)
    assert outcome(decide_fields(fields)) == expect("parking.offer_coupon", eligible=True)


def test_row4_reserved_exactly_at_entry_is_not_after(decide_fields, parking_fields):
    fields = parking_fields(
        "parking.offer_coupon",
        reserved_at="2026-11-20T10:00",
        post_entry_purchase_allowed=False,
    )
    assert outcome(decide_fields(fields)) == expect("parking.offer_coupon", eligible=True)


@pytest.mark.parametrize(
    "onsite", [18000, 15000, 0], ids=["equal-to-ticket", "below-ticket", "nothing-paid"]
)
def test_row5_no_price_difference(onsite, decide_fields, parking_fields):
    fields = parking_fields("parking.offer_coupon", onsite_amount=onsite)
    assert outcome(decide_fields(fields)) == expect(
        "parking.no_difference", blocks=["no_price_difference"]
    )


def test_row5_one_won_difference_is_a_difference(decide_fields, parking_fields):
    fields = parking_fields("parking.offer_coupon", onsite_amount=18001)
    assert outcome(decide_fields(fields)) == expect(
        "parking.offer_coupon", eligible=True, notices=["coupon_rounded_up"]
    )


# --- rows 6–10: the action branches ---------------------------------------------------------


@pytest.mark.parametrize("status", ["in_use", "paid"])
def test_row6_ticket_in_use_or_paid_offers_coupon_after_cancel(
    status, decide_fields, parking_fields
):
    fields = parking_fields("parking.offer_coupon", ticket_status=status)
    assert outcome(decide_fields(fields)) == expect(
        "parking.offer_coupon_after_ticket_cancel", eligible=True, notices=[PAID_TWICE]
    )


@pytest.mark.parametrize("status", ["in_use", "paid"])
@pytest.mark.parametrize("onsite", [18000, 15000], ids=["equal", "below"])
def test_paid_ticket_without_difference_is_cancelled_not_refused(
    status, onsite, decide_fields, parking_fields
):
    """Article A1 ③: "이용 중인/ 결제된 주차권은 취소 후, …" — paid twice, so the ticket is
    cancelled whatever the difference (ERRATA 2); no_price_difference only for a cancelled one."""
    fields = parking_fields("parking.offer_coupon", ticket_status=status, onsite_amount=onsite)
    decision = decide_fields(fields)
    assert outcome(decision) == expect(
        "parking.cancel_paid_ticket", eligible=True, notices=[PAID_TWICE]
    )
    assert decision.outcome == "eligible"
    assert [t.key for t in decision.texts] == ["paid.cancel_ticket"]
    assert "차액이 없어 주차쿠폰" not in decision.texts[0].body


def test_row7_ticket_cancelled_offers_coupon(decide_fields, parking_fields):
    fields = parking_fields("parking.offer_coupon", ticket_status="cancelled")
    assert outcome(decide_fields(fields)) == expect("parking.offer_coupon", eligible=True)


def test_row7_ticket_status_unknown_is_missing(decide_fields, parking_fields):
    fields = parking_fields("parking.offer_coupon", ticket_status=None)
    decision = decide_fields(fields)
    assert outcome(decision) == expect("parking.offer_coupon", missing=["ticket_status"])
    # The label of a branch never asserts what is unknown.
    assert decision.branch_label == "차액 쿠폰 제시 전 › 영수증·주차권 정보 확인"


@pytest.mark.parametrize("status", ["in_use", "paid", "cancelled", None])
def test_row8_coupon_accepted_whatever_the_ticket_status(status, decide_fields, parking_fields):
    """Accepted is eligible; a paid / in-use ticket is still cancelled (R1, R10)."""
    fields = parking_fields("parking.coupon_accepted", ticket_status=status)
    notices = [PAID_TWICE] if status in ("in_use", "paid") else []
    assert outcome(decide_fields(fields)) == expect(
        "parking.coupon_accepted", eligible=True, notices=notices
    )


@pytest.mark.parametrize(
    ("onsite", "split", "valid"),
    [
        pytest.param(27000, "9000x1", False, id="9000-is-no-denomination"),
        pytest.param(28000, "5000x2", True, id="5000x2-valid"),
        pytest.param(28000, "5,000원 2장", True, id="korean-form-valid"),
        pytest.param(28000, "5000x1", False, id="sum-too-small"),
        pytest.param(28000, "10000x1, 1000x1", False, id="sum-too-large"),
        pytest.param(37000, "10000x1, 8000x1, 1000x1", True, id="three-pieces-valid"),
        pytest.param(37000, "5000x3, 4000x1", True, id="customer-choice-valid"),
    ],
)
def test_row8_invalid_coupon_split(onsite, split, valid, decide_fields, parking_fields):
    fields = parking_fields("parking.coupon_accepted", onsite_amount=onsite, coupon_split=split)
    blocks = [] if valid else ["invalid_coupon_split"]
    assert outcome(decide_fields(fields)) == expect(
        "parking.coupon_accepted", eligible=valid, blocks=blocks
    )


def test_row8_no_split_given_waits_for_the_customer(decide_fields, parking_fields):
    """Article A1 ④: "차액 OOO원에 대해 원하시는 권종과 수량 말씀 부탁드립니다." — the split is the
    customer's choice: nothing is proposed into the ticket, the decision waits for it."""
    decision = decide_fields(parking_fields("parking.coupon_accepted", coupon_split=None))
    assert outcome(decision) == expect(
        "parking.coupon_accepted",
        missing=["coupon_split"],
        notices=["coupon_split_customer_choice"],
    )
    assert decision.outcome == "pending"
    assert decision.fields_set == {}


@pytest.mark.parametrize("operator", CANCELLABLE_OPERATORS)
def test_row9_refused_at_cancellable_operator(operator, decide_fields, parking_fields):
    fields = parking_fields("parking.cancel_onsite_payment", operator=operator)
    assert outcome(decide_fields(fields)) == expect("parking.cancel_onsite_payment", eligible=True)


@pytest.mark.parametrize(
    ("overrides", "missing"),
    [
        pytest.param({"operator": None}, ["operator"], id="operator-unknown"),
        pytest.param({"approval_number": None}, ["approval_number"], id="approval-unknown"),
        # The operator is asked first: only a cancellable one goes on (RULINGS R11).
        pytest.param({"operator": None, "approval_number": None}, ["operator"], id="both-unknown"),
    ],
)
def test_row9_operator_or_approval_unknown(overrides, missing, decide_fields, parking_fields):
    fields = parking_fields("parking.cancel_onsite_payment", **overrides)
    assert outcome(decide_fields(fields)) == expect(
        "parking.cancel_onsite_payment", missing=missing
    )


def test_row10_refused_at_operator_other_offers_t_points(decide_fields, parking_fields):
    fields = parking_fields("parking.cancel_onsite_payment", operator="other")
    assert outcome(decide_fields(fields)) == expect(
        "parking.offer_t_points", eligible=True, notices=["operator_not_onsite_cancellable"]
    )


def test_row10_needs_no_approval_number(decide_fields, parking_fields):
    fields = parking_fields("parking.offer_t_points", approval_number=None)
    assert outcome(decide_fields(fields)) == expect(
        "parking.offer_t_points", eligible=True, notices=["operator_not_onsite_cancellable"]
    )


# --- rows 2–5 unknown: the agent stays on the branch they are at, not eligible -----------


@pytest.mark.parametrize(
    "fact",
    [
        "receipt_lot_matches",
        "ticket_start",
        "ticket_end",
        "exit_time",
        "reserved_at",
        "onsite_amount",
        "ticket_price",
    ],
)
@pytest.mark.parametrize(
    "branch",
    ["parking.offer_coupon", "parking.coupon_accepted", "parking.cancel_onsite_payment"],
)
def test_unknown_fact_of_rows_2_to_5_lands_on_the_agents_branch(
    fact, branch, decide_fields, parking_fields
):
    decision = decide_fields(parking_fields(branch, **{fact: None}))
    assert outcome(decision) == expect(branch, missing=[fact])


def test_missing_order_after_row1_before_the_coupon_offer(decide_fields, parking_fields):
    fields = parking_fields(
        "parking.offer_coupon",
        **dict.fromkeys(
            [
                "receipt_lot_matches",
                "ticket_start",
                "ticket_end",
                "exit_time",
                "reserved_at",
                "post_entry_purchase_allowed",
                "onsite_amount",
                "ticket_price",
                "overtime_fee",
                "ticket_status",
                "operator",
                "approval_number",
            ]
        ),
    )
    missing = [
        "receipt_lot_matches",
        "ticket_start",
        "ticket_end",
        "exit_time",
        "reserved_at",
        "onsite_amount",
        "ticket_price",
    ]
    # ticket_status is asked once the difference is known (rows 5–8 read the difference first).
    assert missing == [f for f in RESPONSE_ORDER_AFTER_ROW1 if f in missing]
    assert outcome(decide_fields(fields)) == expect("parking.offer_coupon", missing=missing)


def test_missing_order_after_row1_once_refused(decide_fields, parking_fields):
    # Overtime and a reservation after entry, with everything they raise still unknown.
    fields = parking_fields(
        "parking.cancel_onsite_payment",
        receipt_lot_matches=None,
        exit_time="2026-11-20T19:00",
        reserved_at="2026-11-20T11:00",
        post_entry_purchase_allowed=None,
        onsite_amount=None,
        ticket_price=None,
        overtime_fee=None,
        ticket_status=None,
        operator=None,
        approval_number=None,
    )
    missing = [
        "receipt_lot_matches",
        "post_entry_purchase_allowed",
        "onsite_amount",
        "ticket_price",
        "overtime_fee",
        "operator",  # asked before the approval number (RULINGS R11)
    ]
    assert missing == [f for f in RESPONSE_ORDER_AFTER_ROW1 if f in missing]
    assert outcome(decide_fields(fields)) == expect(
        "parking.cancel_onsite_payment", missing=missing, notices=["overtime_fee_applies"]
    )


# --- notices --------------------------------------------------------------------------------


def test_notice_overtime_fee_applies(decide_fields, parking_fields):
    fields = parking_fields("parking.offer_coupon", exit_time="2026-11-20T19:00", overtime_fee=3000)
    assert outcome(decide_fields(fields)) == expect(
        "parking.offer_coupon", eligible=True, notices=["overtime_fee_applies"]
    )


def test_overtime_fee_is_missing_only_when_overtime(decide_fields, parking_fields):
    overtime = parking_fields("parking.offer_coupon", exit_time="2026-11-20T19:00")
    assert outcome(decide_fields(overtime)) == expect(
        "parking.offer_coupon", missing=["overtime_fee"], notices=["overtime_fee_applies"]
    )
    in_time = parking_fields("parking.offer_coupon", exit_time="2026-11-20T18:00")
    assert outcome(decide_fields(in_time)) == expect("parking.offer_coupon", eligible=True)


def test_notice_overtime_shown_on_ineligible_branches_too(decide_fields, parking_fields):
    fields = parking_fields(
        "parking.offer_coupon",
        receipt_lot_matches=False,
        exit_time="2026-11-20T19:00",
        overtime_fee=3000,
    )
    assert outcome(decide_fields(fields)) == expect(
        "parking.lot_mismatch", blocks=["different_parking_lot"], notices=["overtime_fee_applies"]
    )


def test_notice_coupon_rounded_up(decide_fields, parking_fields):
    decision = decide_fields(parking_fields("parking.offer_coupon", ticket_price=17500))
    assert outcome(decision) == expect(
        "parking.offer_coupon", eligible=True, notices=["coupon_rounded_up"]
    )
    offer = next(t for t in decision.texts if t.key == "a1.3.offer_coupon")
    assert "12,500원" in offer.body
    assert "13,000원" in offer.body


def test_coupon_rounded_up_amount_is_named_as_the_coupon_amount(decide_fields, parking_fields):
    decision = decide_fields(
        parking_fields("parking.coupon_accepted", ticket_price=17500, coupon_split="13000x1")
    )
    # 13,000원 is not a denomination: the customer's split must be 10,000 + 3,000 or the like.
    assert decision.blocks == ["invalid_coupon_split"]
    decision = decide_fields(
        parking_fields(
            "parking.coupon_accepted", ticket_price=17500, coupon_split="10000x1, 3000x1"
        )
    )
    assert outcome(decision) == expect(
        "parking.coupon_accepted", eligible=True, notices=["coupon_rounded_up"]
    )
    assert coupon_amount(decision) == 13000
    assert decision.fields_set == {}


def test_notice_operator_not_cancellable_only_on_row10(decide_fields, parking_fields):
    # operator = other without a refusal: row 7, no notice.
    fields = parking_fields("parking.offer_coupon", operator="other")
    assert outcome(decide_fields(fields)) == expect("parking.offer_coupon", eligible=True)


def test_several_notices_row_notice_first(decide_fields, parking_fields):
    fields = parking_fields(
        "parking.offer_t_points",
        exit_time="2026-11-20T19:00",
        overtime_fee=2500,
    )
    assert outcome(decide_fields(fields)) == expect(
        "parking.offer_t_points",
        eligible=True,
        notices=["operator_not_onsite_cancellable", "overtime_fee_applies", "coupon_rounded_up"],
    )


# --- coupon maths through the engine --------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "coupon"),
    [
        pytest.param({}, 12000, id="no-overtime"),
        pytest.param({"overtime_fee": 5000}, 12000, id="fee-ignored-without-overtime"),
        pytest.param(
            {"exit_time": "2026-11-20T19:00", "overtime_fee": 5000}, 7000, id="minus-overtime-fee"
        ),
        pytest.param(
            {"exit_time": "2026-11-20T19:00", "overtime_fee": 4500}, 8000, id="overtime-rounded"
        ),
    ],
)
def test_difference_is_onsite_minus_price_minus_overtime_fee(
    overrides, coupon, decide_fields, parking_fields
):
    split = {7000: "7000x1", 8000: "8000x1", 12000: "10000x1, 2000x1"}[coupon]
    decision = decide_fields(
        parking_fields("parking.coupon_accepted", coupon_split=split, **overrides)
    )
    assert decision.branch == "parking.coupon_accepted"
    assert decision.eligible is True
    assert coupon_amount(decision) == coupon


@pytest.mark.parametrize(
    ("onsite", "fee"),
    [pytest.param(20000, 2000, id="exactly-zero"), pytest.param(20000, 3000, id="negative")],
)
def test_overtime_fee_can_leave_no_difference(onsite, fee, decide_fields, parking_fields):
    fields = parking_fields(
        "parking.coupon_accepted",
        onsite_amount=onsite,
        exit_time="2026-11-20T19:00",
        overtime_fee=fee,
    )
    decision = decide_fields(fields)
    assert outcome(decision) == expect(
        "parking.no_difference", blocks=["no_price_difference"], notices=["overtime_fee_applies"]
    )
    assert decision.fields_set == {}


@pytest.mark.parametrize(
    "branch",
    [
        "parking.offer_coupon",
        "parking.coupon_accepted",
        "parking.cancel_onsite_payment",
        "parking.cancel_paid_ticket",
    ],
)
@pytest.mark.parametrize("split", [None, "5000x2, 2000x1"])
def test_the_split_is_never_written_back(branch, split, decide_fields, parking_fields):
    """ERRATA 2: the split is "never proposed into the ticket, never written back unless the
    agent entered it" (article A1 ④: "원하시는 권종과 수량 말씀 부탁드립니다")."""
    decision = decide_fields(parking_fields(branch, coupon_split=split))
    assert decision.fields_set == {}
    assert "쿠폰 권종" not in decision.note or "예시" in decision.note


def test_example_split_is_shown_to_the_agent_labelled_as_an_example(decide_fields, parking_fields):
    # 37,000 − 18,000 = 19,000 → 10,000 + 8,000 + 1,000 (fewest pieces, larger first).
    fields = parking_fields("parking.coupon_accepted", onsite_amount=37000, coupon_split=None)
    decision = decide_fields(fields)
    example = next(t for t in decision.texts if t.key == "memo.example_split")
    assert example.kind == "note"
    assert example.from_article is False
    assert "예시" in example.body
    assert "티켓에 입력되지 않음" in example.body
    assert "10,000원 1장, 8,000원 1장, 1,000원 1장" in example.body
    assert decision.fields_set == {}


# --- property: any combination of dropdown / tri-state values -----------------------------

TRI = st.sampled_from([True, False, None])
TIMES = st.sampled_from(
    [None, "2026-11-20T08:00", "2026-11-20T09:00", "2026-11-20T10:00", "2026-11-20T18:00"]
)
AMOUNTS = st.sampled_from([None, 0, 12500, 18000, 30000])
PARKING_INPUTS = st.fixed_dictionaries(
    {
        "consult_type": st.just("parking_integration_onsite_payment"),
        "identity_verified": TRI,
        "receipt_attached": TRI,
        "receipt_lot_matches": TRI,
        "post_entry_purchase_allowed": TRI,
        "operator": st.sampled_from([None, *CANCELLABLE_OPERATORS, "other"]),
        "ticket_status": st.sampled_from([None, "in_use", "paid", "cancelled"]),
        "coupon_response": st.sampled_from([None, "accepted", "refused"]),
        "usage_date": st.sampled_from([None, "2026-11-20"]),
        "car_number": st.sampled_from([None, "12가3456"]),
        "approval_number": st.sampled_from([None, "30012345"]),
        "coupon_split": st.sampled_from([None, "5000x2", "9000x1"]),
        "ticket_start": TIMES,
        "ticket_end": TIMES,
        "entry_time": TIMES,
        "exit_time": TIMES,
        "reserved_at": TIMES,
        "onsite_amount": AMOUNTS,
        "ticket_price": AMOUNTS,
        "overtime_fee": AMOUNTS,
    }
)


@settings(max_examples=300, deadline=None)
@given(fields=PARKING_INPUTS)
def test_any_combination_gives_a_sound_decision(fields, decide_fields, catalog):
    decision = decide_fields(fields)
    order = list(catalog.guide(GUIDE).response_order)
    assert decision.guide == GUIDE
    assert decision.branch in SPEC_BRANCHES
    assert decision.eligible == (
        decision.branch in ACTION_BRANCHES and not decision.blocks and not decision.missing
    )
    if decision.eligible:
        assert decision.blocks == []
        assert decision.missing == []
    assert len(set(decision.missing)) == len(decision.missing)
    assert all(fact in order for fact in decision.missing)
    assert decision.missing == sorted(decision.missing, key=order.index)
    assert "prior_reconnections" not in decision.missing
    if decision.branch != "parking.collect_info":
        # The response order of GUIDES.md §2 "after row 1".
        assert [f for f in RESPONSE_ORDER_AFTER_ROW1 if f in decision.missing] == decision.missing
