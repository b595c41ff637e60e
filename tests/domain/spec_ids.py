"""The public identifiers of GUIDES.md (and CONTRACTS.md's example), written once for the tests.

ERRATA item 2 adds `parking.cancel_paid_ticket` (a paid ticket with no difference is cancelled)
and one notice per RULINGS.md entry.

Deliberately not imported from backend.domain.check: the tests check the code against
the spec, so the spec's ids must not come from the code under test.
"""

from __future__ import annotations

SPEC_BRANCHES = {
    "parking_onsite_payment": {
        "parking.collect_info",
        "parking.lot_mismatch",
        "parking.ineligible_entry_before_window",
        "parking.ineligible_reserved_after_entry",
        "parking.no_difference",
        "parking.cancel_paid_ticket",
        "parking.offer_coupon_after_ticket_cancel",
        "parking.offer_coupon",
        "parking.coupon_accepted",
        "parking.cancel_onsite_payment",
        "parking.offer_t_points",
    },
    "force_reconnect": {
        "reconnect.verify_identity",
        "reconnect.partner_situation_room",
        "reconnect.consigned_not_started",
        "reconnect.consigned_already_driven",
        "reconnect.ask_presence",
        "reconnect.call_back_when_together",
        "reconnect.customer_outbound",
        "reconnect.together.no_fare_change",
        "reconnect.together.fare_change",
        "reconnect.customer_unreachable",
        "reconnect.separated.no_fare_change",
        "reconnect.separated.fare_change",
    },
}
SPEC_BLOCKS = {
    "parking_onsite_payment": {
        "identity_not_verified",
        "different_parking_lot",
        "entry_before_usage_time",
        "reserved_after_entry",
        "no_price_difference",
        "invalid_coupon_split",
    },
    "force_reconnect": {
        "identity_not_verified",
        "partner_call_use_situation_room",
        "consigned_call_not_reconnectable",
        "wait_until_together",
        "admin_status_not_reconnectable",
        "customer_consent_required",
        "customer_refused",
        "driver_off_duty",
        "customer_recalling",
        "already_reconnected_once",
        "fare_not_agreed",
    },
}
SPEC_NOTICES = {
    "parking_onsite_payment": {
        "overtime_fee_applies",
        "coupon_rounded_up",
        "operator_not_onsite_cancellable",
        "paid_ticket_cancel",
        "post_entry_purchase_excuses_early_entry",
        "coupon_split_customer_choice",
        "cancel_sms_after_department_reply",
        "cash_refund_wording_not_in_article",
        # RULINGS.md R9 and R10 (consent before the hand-off; a paid ticket, coupon refused).
        "cancel_consent_refused",
        "paid_ticket_kept_onsite_cancelled",
    },
    "force_reconnect": {
        "call_type_follows_own_call_flow",
        "no_insurance_collect_cash",
        "manual_payment_after_completion",
        "repayment_required",
        "reconnect_only_once",
        "situation_room_per_partner",
        "meter_not_running_use_fare_calculator",
        "before_meeting_fare_change_wording",
        "customer_unreachable_sms_agit",
        "recall_script_to_customer",
    },
}

# CONTRACTS.md's own `explain` example input.
CONTRACT_EXAMPLE = {
    "fields": {
        "consult_type": "driver_force_rerun_own_normal",
        "identity_verified": True,
        "customer_presence": "together",
        "fare_adjustment": False,
        "payment_method": "card",
        "original_fare": 23000,
    },
    "subject": "콜이 취소됐어요",
    "description": "…",
    "prior_reconnections": 0,
}
