"""GUIDES.md §3 — the decision table, checks and notices of guide `force_reconnect`.

Every test starts from a fully known, eligible own-call ticket (conftest
`reconnect_fields`) and changes the facts one row or one check is about.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spec_ids import SPEC_BRANCHES as ALL_SPEC_BRANCHES
from table_helpers import build_expected, read_outcome

from backend.domain.decision import Decision

GUIDE = "force_reconnect"

SPEC_BRANCHES = ALL_SPEC_BRANCHES[GUIDE]
# Rows 8, 9, 10, 12, 13: "action + checks".
CHECK_BRANCHES = [
    "reconnect.customer_outbound",
    "reconnect.together.no_fare_change",
    "reconnect.together.fare_change",
    "reconnect.separated.no_fare_change",
    "reconnect.separated.fare_change",
]
FARE_CHANGE_BRANCHES = ["reconnect.together.fare_change", "reconnect.separated.fare_change"]
# The checks' order of GUIDES.md §3 (blocks in this order, missing in "Missing, in order").
CHECK_ORDER = [
    "admin_status_not_reconnectable",
    "customer_consent_required",
    "customer_refused",
    "driver_off_duty",
    "customer_recalling",
    "already_reconnected_once",
    "fare_not_agreed",
]
# RULINGS.md R1: the fare comes first (agreed fare → estimate → driver consent), then the
# admin facts, then the customer OB.
CHECKS_MISSING_ORDER = [
    "agreed_fare",
    "driver_fare_consent",
    "admin_status",
    "origin_call_id",
    "payment_method",
    "customer_consent",
    "driver_on_duty",
    "customer_recalling",
]
ADMIN_MISSING = CHECKS_MISSING_ORDER[2:]
# §1: consult code → implied call_type.
CONSULT_CALL_TYPES = {
    "driver_force_rerun_own_normal": "own_normal",
    "driver_force_rerun_own_vip": "own_vip",
    "driver_force_rerun_partner": "partner",
    "driver_force_rerun_consigned": "consigned",
    "driver_force_rerun_reserved": "reserved",
    "driver_force_rerun_delivery": "delivery",
    "driver_force_rerun_custom": "custom",
    "driver_force_rerun_other": "other",
}
OWN_FLOW_NOTICE = "call_type_follows_own_call_flow"
ONCE = "reconnect_only_once"
METER = "meter_not_running_use_fare_calculator"
PARTNER_ROOM = "situation_room_per_partner"
UNREACHABLE = "customer_unreachable_sms_agit"
RECALL = "recall_script_to_customer"
TOGETHER = "reconnect.together.no_fare_change"


def outcome(decision: Decision) -> dict[str, Any]:
    """The five things a table row decides."""
    return read_outcome(decision, GUIDE)


def expect(branch: str, **spec: Any) -> dict[str, Any]:
    """The spec's outcome for this guide."""
    return build_expected(branch, eligible_notices=(ONCE,), **spec)


def fare_notices(branch: str) -> list[str]:
    """The 미터기 caution every fare-change branch shows (RULINGS.md R1)."""
    return [METER] if branch in FARE_CHANGE_BRANCHES else []


@pytest.mark.parametrize("branch", CHECK_BRANCHES)
def test_fully_known_action_branch_is_eligible(branch, decide_fields, reconnect_fields):
    decision = decide_fields(reconnect_fields(branch))
    assert outcome(decision) == expect(branch, eligible=True, notices=[*fare_notices(branch), ONCE])


# --- row 1: identity ------------------------------------------------------------------------


def test_row1_identity_unknown(decide_fields, reconnect_fields):
    decision = decide_fields(reconnect_fields(TOGETHER, identity_verified=None))
    assert outcome(decision) == expect("reconnect.verify_identity", missing=["identity_verified"])


def test_row1_identity_no_is_block(decide_fields, reconnect_fields):
    decision = decide_fields(reconnect_fields(TOGETHER, identity_verified=False))
    assert outcome(decision) == expect(
        "reconnect.verify_identity", blocks=["identity_not_verified"]
    )


@pytest.mark.parametrize("identity", [None, False], ids=["unknown", "no"])
def test_row1_wins_over_partner_and_consigned(identity, decide_fields, reconnect_fields):
    for call_type in ("partner", "consigned"):
        fields = reconnect_fields(TOGETHER, identity_verified=identity, call_type=call_type)
        assert decide_fields(fields).branch == "reconnect.verify_identity"


def test_row1_with_nothing_but_the_consult_type(decide_fields):
    decision = decide_fields({"consult_type": "driver_force_rerun_own_normal"}, prior=None)
    assert outcome(decision) == expect("reconnect.verify_identity", missing=["identity_verified"])


# --- row 2: partner calls ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"consult_type": "driver_force_rerun_partner"}, id="consult-partner"),
        pytest.param({"call_type": "partner"}, id="explicit-partner"),
        pytest.param({"call_type": "delivery_partner"}, id="explicit-delivery-partner"),
        pytest.param(
            {"consult_type": "driver_force_rerun_delivery", "call_type": "delivery_partner"},
            id="delivery-leaf-overridden-by-delivery-partner",
        ),
    ],
)
def test_row2_partner_calls_go_to_the_situation_room(overrides, decide_fields, reconnect_fields):
    decision = decide_fields(reconnect_fields(TOGETHER, **overrides))
    assert outcome(decision) == expect(
        "reconnect.partner_situation_room",
        blocks=["partner_call_use_situation_room"],
        notices=[PARTNER_ROOM],
    )


def test_row2_does_not_read_the_presence(decide_fields, reconnect_fields):
    fields = reconnect_fields(TOGETHER, call_type="partner", customer_presence=None)
    assert outcome(decide_fields(fields)) == expect(
        "reconnect.partner_situation_room",
        blocks=["partner_call_use_situation_room"],
        notices=[PARTNER_ROOM],
    )


# --- rows 3–5: consigned calls ----------------------------------------------------------------


@pytest.mark.parametrize(
    "consigned",
    [
        pytest.param({"consult_type": "driver_force_rerun_consigned"}, id="consult-consigned"),
        pytest.param({"call_type": "consigned"}, id="explicit-consigned"),
    ],
)
@pytest.mark.parametrize(
    ("trip_started", "expected"),
    [
        pytest.param(
            False,
            expect("reconnect.consigned_not_started", blocks=["consigned_call_not_reconnectable"]),
            id="row3-not-started",
        ),
        pytest.param(
            True,
            expect(
                "reconnect.consigned_already_driven",
                blocks=["consigned_call_not_reconnectable"],
                notices=["no_insurance_collect_cash"],
            ),
            id="row4-already-driven",
        ),
        pytest.param(
            None,
            # A consigned call is never reconnectable: blocked, the wording waits for the fact.
            expect(
                "reconnect.consigned_not_started",
                blocks=["consigned_call_not_reconnectable"],
                missing=["trip_started"],
            ),
            id="row5-unknown",
        ),
    ],
)
def test_rows_3_to_5_consigned(consigned, trip_started, expected, decide_fields, reconnect_fields):
    fields = reconnect_fields(TOGETHER, trip_started=trip_started, **consigned)
    assert outcome(decide_fields(fields)) == expected


def test_trip_started_matters_only_for_consigned_calls(decide_fields, reconnect_fields):
    for trip_started in (True, False):
        fields = reconnect_fields(TOGETHER, trip_started=trip_started)
        assert outcome(decide_fields(fields)) == expect(TOGETHER, eligible=True)


# --- rows 6–8: presence and the before-meeting branches -------------------------------------


def test_row6_presence_unknown(decide_fields, reconnect_fields):
    decision = decide_fields(reconnect_fields(TOGETHER, customer_presence=None))
    assert outcome(decision) == expect("reconnect.ask_presence", missing=["customer_presence"])


def test_row6_asks_the_presence_and_the_reason(decide_fields):
    """Q1 ③ asks both: 실례지만, 현재 고객님을 만나 함께 계신가요? /
    실례지만, 강제연결 사유에 대해 여쭤봐도 될까요?"""
    fields = {"consult_type": "driver_force_rerun_own_normal", "identity_verified": True}
    assert outcome(decide_fields(fields)) == expect(
        "reconnect.ask_presence", missing=["customer_presence", "reason"]
    )


@pytest.mark.parametrize("refuses", [False, None], ids=["no", "unknown"])
def test_row7_before_meeting_call_back_when_together(refuses, decide_fields, reconnect_fields):
    fields = reconnect_fields("reconnect.customer_outbound", driver_refuses_callback=refuses)
    assert outcome(decide_fields(fields)) == expect(
        "reconnect.call_back_when_together", blocks=["wait_until_together"]
    )


def test_row8_before_meeting_driver_refuses_callback(decide_fields, reconnect_fields):
    fields = reconnect_fields("reconnect.customer_outbound")
    assert outcome(decide_fields(fields)) == expect("reconnect.customer_outbound", eligible=True)


def test_row8_fare_change_needs_the_fare_facts(decide_fields, reconnect_fields):
    fields = reconnect_fields(
        "reconnect.customer_outbound",
        fare_adjustment=True,
        agreed_fare=None,
        driver_fare_consent=None,
    )
    # The agreed fare first; the driver's consent only once an estimate replaces it.
    assert outcome(decide_fields(fields)) == expect(
        "reconnect.customer_outbound",
        missing=["agreed_fare"],
        notices=[METER, "before_meeting_fare_change_wording"],
    )


def test_row8_fare_adjustment_unknown_is_asked(decide_fields, reconnect_fields):
    # The check fare_not_agreed (fare_adjustment = yes and consent = no) is undecided.
    fields = reconnect_fields("reconnect.customer_outbound", fare_adjustment=None)
    assert outcome(decide_fields(fields)) == expect(
        "reconnect.customer_outbound", missing=["fare_adjustment"]
    )


# --- rows 9–13 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("presence", "fare", "branch"),
    [
        pytest.param("together", False, "reconnect.together.no_fare_change", id="row9"),
        pytest.param("together", True, "reconnect.together.fare_change", id="row10"),
        pytest.param("separated", False, "reconnect.separated.no_fare_change", id="row12"),
        pytest.param("separated", True, "reconnect.separated.fare_change", id="row13"),
    ],
)
def test_rows_9_10_12_13(presence, fare, branch, decide_fields, reconnect_fields):
    fields = reconnect_fields(
        "reconnect.together.fare_change", customer_presence=presence, fare_adjustment=fare
    )
    assert outcome(decide_fields(fields)) == expect(
        branch, eligible=True, notices=[*fare_notices(branch), ONCE]
    )


@pytest.mark.parametrize(
    ("presence", "branch"),
    [
        pytest.param("together", "reconnect.together.no_fare_change", id="rows9-10"),
        pytest.param("separated", "reconnect.separated.no_fare_change", id="rows12-13"),
    ],
)
def test_fare_adjustment_unknown_lands_on_no_fare_change(
    presence, branch, decide_fields, reconnect_fields
):
    fields = reconnect_fields(
        "reconnect.together.fare_change", customer_presence=presence, fare_adjustment=None
    )
    assert outcome(decide_fields(fields)) == expect(branch, missing=["fare_adjustment"])


@pytest.mark.parametrize("fare", [False, True, None], ids=["no-fare", "fare", "fare-unknown"])
def test_row11_separated_customer_unreachable(fare, decide_fields, reconnect_fields):
    fields = reconnect_fields(
        "reconnect.separated.fare_change", fare_adjustment=fare, customer_consent="unreachable"
    )
    assert outcome(decide_fields(fields)) == expect(
        "reconnect.customer_unreachable",
        blocks=["customer_consent_required"],
        # The final checks run (RULINGS R10): the fare change is asked like everywhere else.
        missing=["fare_adjustment"] if fare is None else [],
        notices=[METER, UNREACHABLE] if fare else [UNREACHABLE],
    )


def test_row11_runs_the_checks(decide_fields, reconnect_fields):
    # RULINGS R10 ("강제 연결은 한 번만 가능"): row 11 runs the final checks as the
    # together rows do; known-bad admin facts block, unknown ones are missing.
    fields = reconnect_fields(
        "reconnect.separated.no_fare_change",
        customer_consent="unreachable",
        admin_status="in_progress",
        origin_call_id=None,
        payment_method=None,
        driver_on_duty=False,
    )
    assert outcome(decide_fields(fields)) == expect(
        "reconnect.customer_unreachable",
        blocks=["admin_status_not_reconnectable", "customer_consent_required", "driver_off_duty"],
        missing=["origin_call_id", "payment_method"],
        notices=[UNREACHABLE],
    )


def test_unreachable_while_together_is_the_check_not_row11(decide_fields, reconnect_fields):
    fields = reconnect_fields(TOGETHER, customer_consent="unreachable")
    assert outcome(decide_fields(fields)) == expect(
        TOGETHER, blocks=["customer_consent_required"], notices=[UNREACHABLE]
    )


def test_separated_consent_unknown_is_missing(decide_fields, reconnect_fields):
    fields = reconnect_fields("reconnect.separated.no_fare_change", customer_consent=None)
    assert outcome(decide_fields(fields)) == expect(
        "reconnect.separated.no_fare_change", missing=["customer_consent"]
    )


# --- checks: one block at a time, on every check row -----------------------------------------

ONE_BLOCK = [
    pytest.param(
        {"admin_status": "in_progress"}, "admin_status_not_reconnectable", id="in_progress"
    ),
    pytest.param({"admin_status": "other"}, "admin_status_not_reconnectable", id="admin-other"),
    pytest.param({"customer_consent": "pending"}, "customer_consent_required", id="pending"),
    pytest.param(
        {"customer_consent": "unreachable"}, "customer_consent_required", id="unreachable"
    ),
    pytest.param({"customer_consent": "refused"}, "customer_refused", id="refused"),
    pytest.param({"driver_on_duty": False}, "driver_off_duty", id="off-duty"),
    pytest.param({"customer_recalling": True}, "customer_recalling", id="recalling"),
]


@pytest.mark.parametrize("branch", CHECK_BRANCHES)
@pytest.mark.parametrize(("overrides", "block"), ONE_BLOCK)
def test_check_blocks_one_at_a_time(branch, overrides, block, decide_fields, reconnect_fields):
    if branch.startswith("reconnect.separated") and overrides.get("customer_consent") == (
        "unreachable"
    ):
        branch = "reconnect.customer_unreachable"  # row 11 comes first
        fields = reconnect_fields("reconnect.separated.no_fare_change", **overrides)
    else:
        fields = reconnect_fields(branch, **overrides)
    notices = fare_notices(branch)
    if overrides.get("customer_consent") == "unreachable":
        notices = [*notices, UNREACHABLE]
    if overrides.get("customer_recalling"):
        notices = [*notices, RECALL]
    assert outcome(decide_fields(fields)) == expect(branch, blocks=[block], notices=notices)


@pytest.mark.parametrize("prior", [1, 2, 7])
@pytest.mark.parametrize("branch", CHECK_BRANCHES)
def test_check_already_reconnected_once(prior, branch, decide_fields, reconnect_fields):
    decision = decide_fields(reconnect_fields(branch), prior=prior)
    assert outcome(decision) == expect(
        branch, blocks=["already_reconnected_once"], notices=fare_notices(branch)
    )


@pytest.mark.parametrize("where", ["top-level", "fields", "absent"])
def test_prior_reconnections_input_forms(where, decide_fields, reconnect_fields):
    fields = reconnect_fields(TOGETHER)
    if where == "fields":
        decision = decide_fields({**fields, "prior_reconnections": 1}, prior=None)
        assert decision.blocks == ["already_reconnected_once"]
    elif where == "top-level":
        assert decide_fields(fields, prior=1).blocks == ["already_reconnected_once"]
    else:
        decision = decide_fields(fields, prior=None)  # default 0, never missing
        assert outcome(decision) == expect(TOGETHER, eligible=True, notices=[ONCE])


@pytest.mark.parametrize("branch", [*FARE_CHANGE_BRANCHES, "reconnect.customer_outbound"])
def test_check_fare_not_agreed(branch, decide_fields, reconnect_fields):
    fields = reconnect_fields(
        branch, fare_adjustment=True, agreed_fare=28000, driver_fare_consent=False
    )
    notices = [METER]
    if branch == "reconnect.customer_outbound":
        notices.append("before_meeting_fare_change_wording")
    assert outcome(decide_fields(fields)) == expect(
        branch, blocks=["fare_not_agreed"], notices=notices
    )


@pytest.mark.parametrize(
    "branch", ["reconnect.together.no_fare_change", "reconnect.separated.no_fare_change"]
)
def test_driver_fare_consent_irrelevant_without_fare_change(
    branch, decide_fields, reconnect_fields
):
    for consent in (False, None):
        fields = reconnect_fields(branch, driver_fare_consent=consent, agreed_fare=None)
        decision = decide_fields(fields)
        assert outcome(decision) == expect(branch, eligible=True, notices=[ONCE])
        # A check that does not apply claims nothing, not even "ok".
        assert "fare_not_agreed" not in [check.id for check in decision.checks]


@pytest.mark.parametrize("branch", [*FARE_CHANGE_BRANCHES, "reconnect.customer_outbound"])
def test_all_six_blocks_in_check_order(branch, decide_fields, reconnect_fields):
    fields = reconnect_fields(
        branch,
        admin_status="in_progress",
        customer_consent="refused",
        driver_on_duty=False,
        customer_recalling=True,
        fare_adjustment=True,
        agreed_fare=28000,
        driver_fare_consent=False,
    )
    blocks = [
        "admin_status_not_reconnectable",
        "customer_refused",
        "driver_off_duty",
        "customer_recalling",
        "already_reconnected_once",
        "fare_not_agreed",
    ]
    assert blocks == [b for b in CHECK_ORDER if b in blocks]
    notices = [METER, RECALL]
    if branch == "reconnect.customer_outbound":
        notices = [METER, "before_meeting_fare_change_wording", RECALL]
    assert outcome(decide_fields(fields, prior=1)) == expect(branch, blocks=blocks, notices=notices)


def test_blocks_and_missing_together(decide_fields, reconnect_fields):
    fields = reconnect_fields(
        "reconnect.together.fare_change",
        customer_consent="pending",
        customer_recalling=True,
        origin_call_id=None,
        driver_fare_consent=None,
    )
    # With an agreed fare the driver's consent is not asked (RULINGS.md R1).
    assert outcome(decide_fields(fields)) == expect(
        "reconnect.together.fare_change",
        blocks=["customer_consent_required", "customer_recalling"],
        missing=["origin_call_id"],
        notices=[METER, RECALL],
    )


@pytest.mark.parametrize(
    ("status", "eligible", "notices"),
    [
        pytest.param(
            "cancelled_after_assignment",
            True,
            ["manual_payment_after_completion", ONCE],
            id="cancelled_after_assignment",
        ),
        pytest.param("completed", True, [ONCE], id="completed"),
        pytest.param("stopped_by_report", True, [ONCE], id="stopped_by_report"),
        pytest.param("in_progress", False, [], id="in_progress"),
        pytest.param("other", False, [], id="other"),
    ],
)
def test_every_admin_status(status, eligible, notices, decide_fields, reconnect_fields):
    decision = decide_fields(reconnect_fields(TOGETHER, admin_status=status))
    blocks = [] if eligible else ["admin_status_not_reconnectable"]
    assert outcome(decision) == expect(TOGETHER, eligible=eligible, blocks=blocks, notices=notices)


# --- checks: unknown facts are missing, in order ------------------------------------------------


@pytest.mark.parametrize(
    "fact",
    [
        "admin_status",
        "origin_call_id",
        "payment_method",
        "customer_consent",
        "driver_on_duty",
        "customer_recalling",
    ],
)
@pytest.mark.parametrize("branch", CHECK_BRANCHES)
def test_check_fact_unknown_is_missing(fact, branch, decide_fields, reconnect_fields):
    decision = decide_fields(reconnect_fields(branch, **{fact: None}))
    assert outcome(decision) == expect(branch, missing=[fact], notices=fare_notices(branch))


@pytest.mark.parametrize("branch", [*FARE_CHANGE_BRANCHES, "reconnect.customer_outbound"])
def test_checks_missing_order_with_fare_change(branch, decide_fields, reconnect_fields):
    fields = reconnect_fields(
        branch,
        fare_adjustment=True,
        **dict.fromkeys(CHECKS_MISSING_ORDER),
    )
    decision = decide_fields(fields, prior=None)
    notices = [METER]
    if branch == "reconnect.customer_outbound":
        notices.append("before_meeting_fare_change_wording")
    assert outcome(decision) == expect(
        branch, missing=["agreed_fare", *ADMIN_MISSING], notices=notices
    )


@pytest.mark.parametrize(
    "branch", ["reconnect.together.no_fare_change", "reconnect.separated.no_fare_change"]
)
def test_checks_missing_order_without_fare_change(branch, decide_fields, reconnect_fields):
    fields = reconnect_fields(branch, **dict.fromkeys(CHECKS_MISSING_ORDER))
    decision = decide_fields(fields, prior=None)
    assert outcome(decision) == expect(branch, missing=ADMIN_MISSING)


@pytest.mark.parametrize("branch", FARE_CHANGE_BRANCHES)
def test_agreed_fare_not_missing_when_estimated_fare_known(branch, decide_fields, reconnect_fields):
    fields = reconnect_fields(branch, agreed_fare=None, estimated_fare=31000)
    assert outcome(decide_fields(fields)) == expect(branch, eligible=True, notices=[METER, ONCE])
    fields = reconnect_fields(branch, agreed_fare=None, estimated_fare=None)
    assert outcome(decide_fields(fields)) == expect(
        branch, missing=["agreed_fare"], notices=[METER]
    )


@pytest.mark.parametrize("branch", FARE_CHANGE_BRANCHES)
def test_driver_fare_consent_needed_only_without_an_agreed_fare(
    branch, decide_fields, reconnect_fields
):
    """ERRATA 2 / article Q2 ③: "(합의 요금 없을 경우) 어드민 요금계산기로 예상 요금 조회 →
    기사/고객 요금 조정 동의 확인" — with an agreed fare the driver's consent is not asked."""
    with_agreed = reconnect_fields(branch, driver_fare_consent=None)
    assert outcome(decide_fields(with_agreed)) == expect(
        branch, eligible=True, notices=[METER, ONCE]
    )
    with_estimate = reconnect_fields(
        branch, agreed_fare=None, estimated_fare=31000, driver_fare_consent=None
    )
    assert outcome(decide_fields(with_estimate)) == expect(
        branch, missing=["driver_fare_consent"], notices=[METER]
    )


def test_fare_unknown_row_orders_fare_adjustment_first(decide_fields, reconnect_fields):
    fields = reconnect_fields(TOGETHER, fare_adjustment=None, **dict.fromkeys(CHECKS_MISSING_ORDER))
    assert outcome(decide_fields(fields, prior=None)) == expect(
        TOGETHER, missing=["fare_adjustment", *ADMIN_MISSING]
    )


# --- call types (§1 implied call_type, §3 own-call flow) --------------------------------------


@pytest.mark.parametrize(
    ("consult", "expected"),
    [
        pytest.param(
            "driver_force_rerun_own_normal", expect(TOGETHER, eligible=True), id="own_normal"
        ),
        pytest.param("driver_force_rerun_own_vip", expect(TOGETHER, eligible=True), id="own_vip"),
        pytest.param(
            "driver_force_rerun_partner",
            expect(
                "reconnect.partner_situation_room",
                blocks=["partner_call_use_situation_room"],
                notices=[PARTNER_ROOM],
            ),
            id="partner",
        ),
        pytest.param(
            "driver_force_rerun_consigned",
            expect(
                "reconnect.consigned_not_started",
                blocks=["consigned_call_not_reconnectable"],
                missing=["trip_started"],
            ),
            id="consigned",
        ),
        *(
            pytest.param(
                f"driver_force_rerun_{kind}",
                expect(TOGETHER, eligible=True, notices=[OWN_FLOW_NOTICE, ONCE]),
                id=kind,
            )
            for kind in ("reserved", "delivery", "custom", "other")
        ),
    ],
)
def test_consult_code_implies_the_call_type(consult, expected, decide_fields, reconnect_fields):
    decision = decide_fields(reconnect_fields(TOGETHER, consult_type=consult))
    assert outcome(decision) == expected


@pytest.mark.parametrize(
    ("consult", "call_type", "expected"),
    [
        pytest.param(
            "driver_force_rerun_partner",
            "own_normal",
            expect(TOGETHER, eligible=True),
            id="partner-leaf-own-call",
        ),
        pytest.param(
            "driver_force_rerun_reserved",
            "own_vip",
            expect(TOGETHER, eligible=True),
            id="reserved-leaf-own-vip-no-notice",
        ),
        pytest.param(
            "driver_force_rerun_own_normal",
            "custom",
            expect(TOGETHER, eligible=True, notices=[OWN_FLOW_NOTICE, ONCE]),
            id="own-leaf-custom-notice",
        ),
        pytest.param(
            "driver_force_rerun_consigned",
            "reserved",
            expect(TOGETHER, eligible=True, notices=[OWN_FLOW_NOTICE, ONCE]),
            id="consigned-leaf-reserved",
        ),
    ],
)
def test_explicit_call_type_overrides_the_implied_one(
    consult, call_type, expected, decide_fields, reconnect_fields
):
    fields = reconnect_fields(TOGETHER, consult_type=consult, call_type=call_type)
    assert outcome(decide_fields(fields)) == expected


@pytest.mark.parametrize("consult", sorted(CONSULT_CALL_TYPES))
def test_implied_call_type_is_written_back_when_empty(consult, decide_fields, reconnect_fields):
    # macros/README.md: `sets: {field: call_type, from: implied_call_type}`.
    decision = decide_fields(reconnect_fields(TOGETHER, consult_type=consult))
    assert decision.fields_set == {"call_type": CONSULT_CALL_TYPES[consult]}
    explicit = decide_fields(reconnect_fields(TOGETHER, consult_type=consult, call_type="own_vip"))
    assert explicit.fields_set == {}


@pytest.mark.parametrize("kind", ["reserved", "delivery", "custom", "other"])
def test_own_flow_notice_on_ineligible_decisions_too(kind, decide_fields, reconnect_fields):
    fields = reconnect_fields(TOGETHER, call_type=kind, driver_on_duty=False)
    assert outcome(decide_fields(fields)) == expect(
        TOGETHER, blocks=["driver_off_duty"], notices=[OWN_FLOW_NOTICE]
    )


# --- notices ------------------------------------------------------------------------------------


def test_notice_manual_payment_on_blocked_decision(decide_fields, reconnect_fields):
    fields = reconnect_fields(
        TOGETHER, admin_status="cancelled_after_assignment", driver_on_duty=False
    )
    assert outcome(decide_fields(fields)) == expect(
        TOGETHER, blocks=["driver_off_duty"], notices=["manual_payment_after_completion"]
    )


@pytest.mark.parametrize("branch", FARE_CHANGE_BRANCHES)
@pytest.mark.parametrize(
    ("status", "payment", "notices"),
    [
        pytest.param("completed", "card", ["repayment_required", METER, ONCE], id="completed-card"),
        pytest.param("completed", "cash", [METER, ONCE], id="completed-cash"),
        pytest.param(
            "cancelled_after_assignment",
            "card",
            ["manual_payment_after_completion", METER, ONCE],
            id="cancelled-card",
        ),
        pytest.param("stopped_by_report", "card", [METER, ONCE], id="stopped-card"),
    ],
)
def test_notice_repayment_required(
    status, payment, notices, branch, decide_fields, reconnect_fields
):
    fields = reconnect_fields(branch, admin_status=status, payment_method=payment)
    assert outcome(decide_fields(fields)) == expect(branch, eligible=True, notices=notices)


@pytest.mark.parametrize(
    "branch", ["reconnect.together.no_fare_change", "reconnect.separated.no_fare_change"]
)
def test_no_repayment_without_fare_change(branch, decide_fields, reconnect_fields):
    fields = reconnect_fields(branch, admin_status="completed", payment_method="card")
    assert outcome(decide_fields(fields)) == expect(branch, eligible=True, notices=[ONCE])


def test_repayment_required_on_blocked_decision(decide_fields, reconnect_fields):
    fields = reconnect_fields(
        "reconnect.together.fare_change", admin_status="completed", customer_consent="refused"
    )
    assert outcome(decide_fields(fields)) == expect(
        "reconnect.together.fare_change",
        blocks=["customer_refused"],
        notices=["repayment_required", METER],
    )


def test_notice_reconnect_only_once_never_on_ineligible(decide_fields, reconnect_fields):
    missing_only = decide_fields(reconnect_fields(TOGETHER, origin_call_id=None))
    assert outcome(missing_only) == expect(TOGETHER, missing=["origin_call_id"])
    not_action = decide_fields(reconnect_fields(TOGETHER, customer_presence=None))
    assert ONCE not in not_action.notices


# --- property: any combination of dropdown / tri-state values -----------------------------

TRI = st.sampled_from([True, False, None])


def _options(*codes: str) -> st.SearchStrategy[str | None]:
    return st.sampled_from([None, *codes])


RECONNECT_INPUTS = st.fixed_dictionaries(
    {
        "consult_type": st.sampled_from(sorted(CONSULT_CALL_TYPES)),
        "call_type": _options(
            "own_normal",
            "own_vip",
            "partner",
            "delivery_partner",
            "consigned",
            "reserved",
            "delivery",
            "custom",
            "other",
        ),
        "requester_role": _options("driver", "customer"),
        "identity_verified": TRI,
        "admin_status": _options(
            "cancelled_after_assignment", "completed", "stopped_by_report", "in_progress", "other"
        ),
        "trip_started": TRI,
        "customer_presence": _options("before_meeting", "together", "separated"),
        "driver_refuses_callback": TRI,
        "fare_adjustment": TRI,
        "driver_fare_consent": TRI,
        "payment_method": _options("card", "cash"),
        "customer_consent": _options("pending", "agreed", "refused", "unreachable"),
        "driver_on_duty": TRI,
        "customer_recalling": TRI,
        "agreed_fare": st.sampled_from([None, 28000]),
        "estimated_fare": st.sampled_from([None, 31000]),
        "origin_call_id": st.sampled_from([None, "1234567"]),
        "forced_call_id": st.sampled_from([None, "7654321"]),
    }
)


@settings(max_examples=300, deadline=None)
@given(fields=RECONNECT_INPUTS, prior=st.sampled_from([None, 0, 1]))
def test_any_combination_gives_a_sound_decision(fields, prior, decide_fields, catalog):
    decision = decide_fields(fields, prior=prior)
    order = list(catalog.guide(GUIDE).response_order)
    assert decision.guide == GUIDE
    assert decision.branch in SPEC_BRANCHES
    assert decision.eligible == (
        decision.branch in CHECK_BRANCHES and not decision.blocks and not decision.missing
    )
    if decision.eligible:
        assert decision.blocks == []
        assert decision.missing == []
    assert (ONCE in decision.notices) == decision.eligible
    assert len(set(decision.missing)) == len(decision.missing)
    assert all(fact in order for fact in decision.missing)
    assert decision.missing == sorted(decision.missing, key=order.index)
    assert "prior_reconnections" not in decision.missing
    checks = [m for m in decision.missing if m in CHECKS_MISSING_ORDER]
    assert checks == [m for m in CHECKS_MISSING_ORDER if m in checks]
    assert [b for b in CHECK_ORDER if b in decision.blocks] == [
        b for b in decision.blocks if b in CHECK_ORDER
    ]
