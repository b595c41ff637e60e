"""Fixtures of the guide-engine specification tests (GUIDES.md, CONTRACTS.md).

`decide_fields(fields, prior=0, …)` runs the real engine on semantic fields, the way
`explain` does. `parking_fields(branch, **overrides)` / `reconnect_fields(branch, …)`
build a *fully known, eligible* ticket for an action branch; a test overrides one fact
(None = unknown) so the table's distinguishing condition is the only thing that changes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from table_helpers import load_repo_catalog, load_repo_renderer

from backend.domain.decision import Decision
from backend.domain.engine import EngineOptions, decide
from backend.domain.facts import parse_input
from backend.domain.guides import GuideCatalog
from backend.domain.render import TextRenderer

ROOT = Path(__file__).resolve().parents[2]

Fields = dict[str, Any]
DecideFields = Callable[..., Decision]
BuildFields = Callable[..., Fields]

# --- parking_onsite_payment --------------------------------------------------------
# Everything known; the ticket window 09:00–18:00 covers the stay 10:00–17:00, the ticket
# was bought before entry, 30,000원 paid on site for an 18,000원 ticket: difference 12,000원
# (a multiple of 1,000: no rounding notice), ticket already cancelled (row 7, not row 6).
PARKING_ELIGIBLE: Fields = {
    "consult_type": "parking_integration_onsite_payment",
    "identity_verified": True,
    "usage_date": "2026-11-20",
    "parking_lot": "강남역 공영주차장",
    "car_number": "12가3456",
    "receipt_attached": True,
    "receipt_lot_matches": True,
    "ticket_start": "2026-11-20T09:00",
    "ticket_end": "2026-11-20T18:00",
    "entry_time": "2026-11-20T10:00",
    "exit_time": "2026-11-20T17:00",
    "reserved_at": "2026-11-20T08:00",
    "onsite_amount": 30000,
    "ticket_price": 18000,
    "ticket_status": "cancelled",
    "operator": "kmpark",
    "approval_number": "30012345",
}
PARKING_BRANCH_FACTS: dict[str, Fields] = {
    "parking.offer_coupon": {},
    "parking.offer_coupon_after_ticket_cancel": {"ticket_status": "in_use"},
    # Paid twice (ticket paid + on site) with no difference: cancel only (RULINGS R1).
    "parking.cancel_paid_ticket": {"ticket_status": "paid", "onsite_amount": 18000},
    # The split is the customer's choice (RULINGS R4): the action waits for it.
    "parking.coupon_accepted": {"coupon_response": "accepted", "coupon_split": "10000x1, 2000x1"},
    # The customer agreed to the ticket payment + on-site cancellation (RULINGS R9).
    "parking.cancel_onsite_payment": {
        "coupon_response": "refused",
        "cancel_consent": True,
        # A cancelled ticket is charged before the hand-off (RULINGS R12).
        "ticket_repaid": True,
    },
    "parking.offer_t_points": {"coupon_response": "refused", "operator": "other"},
}

# --- force_reconnect -----------------------------------------------------------------
# An own call (일반), identity checked, every check passing: stopped_by_report needs no
# notice (cancelled_after_assignment / completed each bring one), the customer agreed, the
# driver is on duty, the customer is not calling again, 원콜 ID known, card call.
RECONNECT_ELIGIBLE: Fields = {
    "consult_type": "driver_force_rerun_own_normal",
    "requester_role": "driver",
    "identity_verified": True,
    "trip_datetime": "11월 20일 22시",
    "departure": "강남역",
    "destination": "판교역",
    "reason": "앱 조작 실수",
    "admin_status": "stopped_by_report",
    "payment_method": "card",
    "customer_consent": "agreed",
    "driver_on_duty": True,
    "customer_recalling": False,
    "origin_call_id": "1234567",
    "original_fare": 23000,
}
RECONNECT_BRANCH_FACTS: dict[str, Fields] = {
    "reconnect.customer_outbound": {
        "customer_presence": "before_meeting",
        "driver_refuses_callback": True,
        "fare_adjustment": False,
    },
    "reconnect.together.no_fare_change": {
        "customer_presence": "together",
        "fare_adjustment": False,
    },
    "reconnect.together.fare_change": {
        "customer_presence": "together",
        "fare_adjustment": True,
        "agreed_fare": 28000,
        "driver_fare_consent": True,
    },
    "reconnect.separated.no_fare_change": {
        "customer_presence": "separated",
        "fare_adjustment": False,
    },
    "reconnect.separated.fare_change": {
        "customer_presence": "separated",
        "fare_adjustment": True,
        "agreed_fare": 28000,
        "driver_fare_consent": True,
    },
}


def _builder(base: Fields, per_branch: dict[str, Fields]) -> BuildFields:
    def build(branch: str, /, **overrides: Any) -> Fields:
        return {**base, **per_branch[branch], **overrides}

    return build


@pytest.fixture(scope="session")
def catalog() -> GuideCatalog:
    """The repo's guides (macros/)."""
    return load_repo_catalog()


@pytest.fixture(scope="session")
def renderer(catalog: GuideCatalog) -> TextRenderer:
    """The text renderer over the repo's templates."""
    return load_repo_renderer()


@pytest.fixture(scope="session")
def decide_fields(catalog: GuideCatalog, renderer: TextRenderer) -> DecideFields:
    """Decide one ticket given as semantic fields (the `explain` input shape)."""

    def run(
        fields: Fields,
        *,
        prior: int | None = 0,
        subject: str | None = None,
        description: str | None = None,
        options: EngineOptions | None = None,
    ) -> Decision:
        data: dict[str, Any] = {"fields": fields}
        if prior is not None:
            data["prior_reconnections"] = prior
        if subject is not None:
            data["subject"] = subject
        if description is not None:
            data["description"] = description
        return decide(parse_input(data, catalog.fields), catalog, renderer, options)

    return run


@pytest.fixture(scope="session")
def parking_fields() -> BuildFields:
    """`build(branch, **overrides)`: a fully known, eligible parking ticket for `branch`."""
    return _builder(PARKING_ELIGIBLE, PARKING_BRANCH_FACTS)


@pytest.fixture(scope="session")
def reconnect_fields() -> BuildFields:
    """`build(branch, **overrides)`: a fully known, eligible force_reconnect ticket."""
    return _builder(RECONNECT_ELIGIBLE, RECONNECT_BRANCH_FACTS)
