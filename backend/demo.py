"""Demo tickets for the emulator: one per branch of both guides, plus the edge cases.

Every entry of `DEMO_TICKETS` is an `explain` input (semantic field keys, CONTRACTS.md),
so `guidepost explain` and the emulator show the same decision. Plates, phone numbers,
call ids and approval numbers are made up.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pydantic import SecretStr

from backend.zendesk.gateway import JSONScalar, NewTicket, ZendeskGateway

if TYPE_CHECKING:
    from backend.domain.fields import FieldCatalog
    from backend.emulator.server import EmulatorServer
    from backend.emulator.store import EmulatorStore
    from backend.settings import Settings

# The seed articles ship with the emulator (a copy of the project's shared seeds).
SEEDS_DIR = Path(__file__).resolve().parent / "emulator" / "seed_articles"
# The call whose earlier forced reconnection the history ticket records.
HISTORY_ORIGIN_CALL_ID = "880000417"
HISTORY_FORCED_CALL_ID = "880000952"
XSS_PROBE = "<img src=x onerror=alert(1)>"


@dataclass(frozen=True)
class DemoCase:
    """One demo ticket: its `explain` input and the decision it is meant to show."""

    name: str
    guide: str | None
    branch: str
    ticket: dict[str, Any]
    blocks: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()
    eligible: bool | None = None


def _parking(subject: str, description: str, **fields: Any) -> dict[str, Any]:
    """Build a parking ticket: a complete, eligible-looking base with `fields` on top."""
    base: dict[str, Any] = {
        "consult_type": "parking_integration_onsite_payment",
        "identity_verified": True,
        "usage_date": "2024-11-20",
        "parking_lot": "역삼 센터필드 주차장",
        "operator": "nicepark",
        "car_number": "12가3456",
        "ticket_start": "2024-11-20T14:00",
        "ticket_end": "2024-11-20T18:00",
        "entry_time": "2024-11-20T14:10",
        "exit_time": "2024-11-20T17:40",
        "reserved_at": "2024-11-20T13:30",
        "post_entry_purchase_allowed": False,
        "receipt_attached": True,
        "receipt_lot_matches": True,
        "onsite_amount": 18000,
        "ticket_price": 8500,
        "ticket_status": "cancelled",
    }
    merged = {key: value for key, value in {**base, **fields}.items() if value is not None}
    return {"subject": subject, "description": description, "fields": merged}


def _reconnect(subject: str, description: str, prior: int = 0, **fields: Any) -> dict[str, Any]:
    """Build a 강제재연결 ticket: an own call whose checks pass, with `fields` on top."""
    base: dict[str, Any] = {
        "consult_type": "driver_force_rerun_own_normal",
        "requester_role": "driver",
        "identity_verified": True,
        "trip_datetime": "2024-11-20 23:40",
        "departure": "서울 강남구 테헤란로 152",
        "destination": "경기 성남시 분당구 판교역로 235",
        "trip_number": "T2411200042",
        "reason": "운행 중 앱 오류로 콜이 취소됨",
        "original_fare": 23000,
        "payment_method": "card",
        "admin_status": "completed",
        "customer_consent": "agreed",
        "driver_on_duty": True,
        "customer_recalling": False,
    }
    merged = {key: value for key, value in {**base, **fields}.items() if value is not None}
    ticket: dict[str, Any] = {"subject": subject, "description": description, "fields": merged}
    if prior:
        ticket["prior_reconnections"] = prior
    return ticket


DEMO_CASES: tuple[DemoCase, ...] = (
    # ---- parking_onsite_payment ------------------------------------------------------
    DemoCase(
        "주차: 기본 정보 수집",
        "parking_onsite_payment",
        "parking.collect_info",
        _parking(
            "주차권을 샀는데 현장에서 또 결제했어요",
            "어제 주차권 구매하고 들어갔는데 출차할 때 요금이 또 나왔습니다. 환불 부탁드려요.",
            entry_time=None,
            car_number=None,
            receipt_attached=None,
        ),
        eligible=False,
    ),
    DemoCase(
        "주차: 본인 아님 (상담 제한)",
        "parking_onsite_payment",
        "parking.collect_info",
        _parking(
            "남편 계정으로 산 주차권 문의",
            "남편이 예약한 주차권인데 제가 대신 문의드립니다. 현장결제 금액 돌려받을 수 있나요?",
            identity_verified=False,
        ),
        blocks=("identity_not_verified",),
        eligible=False,
    ),
    DemoCase(
        "주차: 다른 주차장 영수증",
        "parking_onsite_payment",
        "parking.lot_mismatch",
        _parking(
            "현장결제 영수증 첨부합니다",
            "영수증 보내드려요. 주차장 이름이 조금 다르게 찍혀 있는데 같은 건물이에요.",
            receipt_lot_matches=False,
        ),
        blocks=("different_parking_lot",),
        eligible=False,
    ),
    DemoCase(
        "주차: 이용시간 전 입차",
        "parking_onsite_payment",
        "parking.ineligible_entry_before_window",
        _parking(
            "주차권이 적용이 안 됐어요",
            "오후 2시부터 쓰는 주차권인데 조금 일찍 들어갔더니 전부 현장에서 결제됐습니다.",
            entry_time="2024-11-20T13:40",
            reserved_at="2024-11-20T13:00",
        ),
        blocks=("entry_before_usage_time",),
        eligible=False,
    ),
    DemoCase(
        "주차: 입차 후 예약",
        "parking_onsite_payment",
        "parking.ineligible_reserved_after_entry",
        _parking(
            "들어가서 주차권 샀는데 적용 안 됨",
            "주차장 들어간 다음에 앱으로 주차권을 샀어요. 출차할 때 현장 결제가 됐습니다.",
            reserved_at="2024-11-20T14:30",
        ),
        blocks=("reserved_after_entry",),
        eligible=False,
    ),
    DemoCase(
        "주차: 차액 없음",
        "parking_onsite_payment",
        "parking.no_difference",
        _parking(
            "현장결제 차액 환불 요청",
            "현장에서 8,000원 결제했어요. 주차권 금액은 8,500원이었습니다.",
            onsite_amount=8000,
        ),
        blocks=("no_price_difference",),
        eligible=False,
    ),
    DemoCase(
        "주차: 결제된 주차권 + 현장결제, 차액 없음 → 주차권 취소",
        "parking_onsite_payment",
        "parking.cancel_paid_ticket",
        _parking(
            "주차권도 결제되고 현장에서도 결제됐어요",
            "앱에서 주차권 8,500원 결제했는데 출차할 때 현장에서 8,000원을 또 냈습니다.",
            onsite_amount=8000,
            ticket_status="paid",
        ),
        notices=("paid_ticket_cancel",),
        eligible=True,
    ),
    DemoCase(
        "주차: 이용중 주차권 취소 후 쿠폰",
        "parking_onsite_payment",
        "parking.offer_coupon_after_ticket_cancel",
        _parking(
            "주차권이 아직 이용중으로 나와요",
            "출차했는데 앱에는 주차권이 이용중으로 떠 있고 현장에서 18,000원 냈습니다.",
            ticket_status="in_use",
        ),
        notices=("coupon_rounded_up",),
        eligible=True,
    ),
    DemoCase(
        "주차: 차액 쿠폰 제시 (초과요금 포함)",
        "parking_onsite_payment",
        "parking.offer_coupon",
        _parking(
            "주차 쿠폰으로라도 보상해 주세요",
            "시간을 조금 넘겨서 나왔는데 현장 결제 금액이 너무 많이 나왔어요.",
            exit_time="2024-11-20T18:30",
            overtime_fee=2000,
        ),
        notices=("overtime_fee_applies", "coupon_rounded_up"),
        eligible=True,
    ),
    DemoCase(
        "주차: 쿠폰 수긍 (권종 지정)",
        "parking_onsite_payment",
        "parking.coupon_accepted",
        _parking(
            "쿠폰으로 받을게요",
            "5,000원짜리 두 장으로 부탁드립니다.",
            coupon_response="accepted",
            coupon_split="5,000원 2장",
        ),
        eligible=True,
    ),
    DemoCase(
        "주차: 쿠폰 권종 오류",
        "parking_onsite_payment",
        "parking.coupon_accepted",
        _parking(
            "쿠폰 3,000원권으로 주세요",
            "3,000원짜리 세 장으로 받고 싶어요.",
            coupon_response="accepted",
            coupon_split="3000x3",
        ),
        blocks=("invalid_coupon_split",),
        eligible=False,
    ),
    DemoCase(
        "주차: 쿠폰 거절 → 현장결제 취소",
        "parking_onsite_payment",
        "parking.cancel_onsite_payment",
        _parking(
            "쿠폰 말고 결제 취소해 주세요",
            "쿠폰은 필요 없고 현장에서 결제한 카드 승인을 취소해 주세요. 승인번호 30012345입니다.",
            coupon_response="refused",
            approval_number="30012345",
        ),
        eligible=True,
    ),
    DemoCase(
        "주차: 쿠폰 거절 → T포인트",
        "parking_onsite_payment",
        "parking.offer_t_points",
        _parking(
            "쿠폰 안 쓸 거예요",
            "주차 쿠폰은 쓸 일이 없어서 다른 방법으로 보상받고 싶습니다.",
            coupon_response="refused",
            operator="other",
            parking_lot="성수 카페거리 노상주차장",
        ),
        notices=("operator_not_onsite_cancellable",),
        eligible=True,
    ),
    DemoCase(
        "주차: HTML 주입 시도 (escape 확인)",
        "parking_onsite_payment",
        "parking.offer_coupon",
        _parking(
            f"주차장 이름이 이상해요 {XSS_PROBE}",
            f"영수증에 찍힌 주차장 이름: {XSS_PROBE}",
            parking_lot=XSS_PROBE,
        ),
        eligible=True,
    ),
    # ---- force_reconnect ---------------------------------------------------------------
    DemoCase(
        "강제재연결: 본인확인 전",
        "force_reconnect",
        "reconnect.verify_identity",
        _reconnect(
            "콜이 취소됐어요",
            "손님 태우고 가는 중에 콜이 취소됐습니다. 다시 연결해 주세요. 010-1234-5678",
            identity_verified=None,
            requester_role="customer",
        ),
        eligible=False,
    ),
    DemoCase(
        "강제재연결: 본인 아님",
        "force_reconnect",
        "reconnect.verify_identity",
        _reconnect(
            "친구 대신 문의해요",
            "친구가 기사님이랑 통화가 안 된대서 대신 채팅 남깁니다. 재연결 부탁드려요.",
            identity_verified=False,
            requester_role="customer",
        ),
        blocks=("identity_not_verified",),
        eligible=False,
    ),
    DemoCase(
        "강제재연결: 제휴콜 → 상황실",
        "force_reconnect",
        "reconnect.partner_situation_room",
        _reconnect(
            "제휴콜 강제 재연결 요청",
            "제휴사 콜인데 운행 중 취소됐습니다.",
            consult_type="driver_force_rerun_partner",
        ),
        blocks=("partner_call_use_situation_room",),
        eligible=False,
    ),
    DemoCase(
        "강제재연결: 탁송제휴콜 (콜 유형 직접 지정)",
        "force_reconnect",
        "reconnect.partner_situation_room",
        _reconnect(
            "탁송 콜 재연결",
            "탁송제휴 콜이 중간에 끊겼어요.",
            consult_type="driver_force_rerun_other",
            call_type="delivery_partner",
        ),
        blocks=("partner_call_use_situation_room",),
        eligible=False,
    ),
    DemoCase(
        "강제재연결: 위탁콜 운행 전",
        "force_reconnect",
        "reconnect.consigned_not_started",
        _reconnect(
            "위탁콜 다시 연결해 주세요",
            "출발 전에 콜이 취소됐습니다.",
            consult_type="driver_force_rerun_consigned",
            trip_started=False,
            requester_role="customer",
        ),
        blocks=("consigned_call_not_reconnectable",),
        eligible=False,
    ),
    DemoCase(
        "강제재연결: 위탁콜 이미 운행",
        "force_reconnect",
        "reconnect.consigned_already_driven",
        _reconnect(
            "위탁콜 운행 완료 후 취소됨",
            "목적지까지 다 갔는데 콜이 취소돼서 요금을 못 받았어요.",
            consult_type="driver_force_rerun_consigned",
            trip_started=True,
        ),
        blocks=("consigned_call_not_reconnectable",),
        notices=("no_insurance_collect_cash",),
        eligible=False,
    ),
    DemoCase(
        "강제재연결: 위탁콜 운행 여부 모름",
        "force_reconnect",
        "reconnect.consigned_not_started",
        _reconnect(
            "위탁콜 문의",
            "위탁 콜이 취소됐는데 어떻게 하나요?",
            consult_type="driver_force_rerun_consigned",
        ),
        eligible=False,
    ),
    DemoCase(
        "강제재연결: 고객과 함께 있는지 확인",
        "force_reconnect",
        "reconnect.ask_presence",
        _reconnect("콜이 갑자기 취소됐어요", "재연결 가능할까요?"),
        eligible=False,
    ),
    DemoCase(
        "강제재연결: 만나기 전 → 만난 후 재연락",
        "force_reconnect",
        "reconnect.call_back_when_together",
        _reconnect(
            "손님 만나기 전에 콜 취소",
            "손님 위치로 가는 중에 콜이 취소됐어요.",
            customer_presence="before_meeting",
        ),
        blocks=("wait_until_together",),
        eligible=False,
    ),
    DemoCase(
        "강제재연결: 만나기 전, 재연락 거부 → 고객 OB",
        "force_reconnect",
        "reconnect.customer_outbound",
        _reconnect(
            "다시 연락하기 어렵습니다",
            "손님 만나기 전인데 나중에 다시 연락하기는 어려워요. 지금 처리해 주세요.",
            customer_presence="before_meeting",
            driver_refuses_callback=True,
            fare_adjustment=False,
            origin_call_id="880000101",
        ),
        notices=("reconnect_only_once",),
        eligible=True,
    ),
    DemoCase(
        "강제재연결: 동행, 요금조정 없음 (현금, 배정후취소)",
        "force_reconnect",
        "reconnect.together.no_fare_change",
        _reconnect(
            "손님이랑 같이 있어요",
            "손님 옆에 계시고 경유지 변경은 없습니다. 현금 콜이에요.",
            customer_presence="together",
            fare_adjustment=False,
            payment_method="cash",
            admin_status="cancelled_after_assignment",
            origin_call_id="880000202",
        ),
        notices=("manual_payment_after_completion", "reconnect_only_once"),
        eligible=True,
    ),
    DemoCase(
        "강제재연결: 동행, 요금조정 여부 모름",
        "force_reconnect",
        "reconnect.together.no_fare_change",
        _reconnect(
            "운행 중 콜 취소",
            "손님이랑 같이 차에 있습니다.",
            customer_presence="together",
            origin_call_id="880000203",
        ),
        eligible=False,
    ),
    DemoCase(
        "강제재연결: 동행, 요금조정 (카드 재결제)",
        "force_reconnect",
        "reconnect.together.fare_change",
        _reconnect(
            "경유지 추가 후 콜 취소",
            "손님이 경유지를 추가하셔서 요금 28,000원으로 합의했는데 콜이 취소됐어요.",
            customer_presence="together",
            fare_adjustment=True,
            agreed_fare=28000,
            driver_fare_consent=True,
            origin_call_id="880000303",
        ),
        notices=("repayment_required", "reconnect_only_once"),
        eligible=True,
    ),
    DemoCase(
        "강제재연결: 헤어짐, 고객 부재",
        "force_reconnect",
        "reconnect.customer_unreachable",
        _reconnect(
            "운행 끝났는데 콜이 취소됨",
            "운행 완료하고 손님 내리셨는데 콜이 취소로 떠요. 손님이 전화를 안 받으세요.",
            customer_presence="separated",
            customer_consent="unreachable",
            origin_call_id="880000404",
        ),
        blocks=("customer_consent_required",),
        eligible=False,
    ),
    DemoCase(
        "강제재연결: 헤어짐, 요금조정 없음 (운영메모)",
        "force_reconnect",
        "reconnect.separated.no_fare_change",
        _reconnect(
            "운행이 종료됐는데 요금이 안 들어왔어요",
            "손님 내려드렸고 요금 변동은 없습니다.",
            customer_presence="separated",
            fare_adjustment=False,
            origin_call_id="880000505",
            forced_call_id="880000506",
        ),
        notices=("reconnect_only_once",),
        eligible=True,
    ),
    DemoCase(
        "강제재연결: 헤어짐, 요금조정 (예상요금)",
        "force_reconnect",
        "reconnect.separated.fare_change",
        _reconnect(
            "목적지 변경 후 콜 취소",
            "목적지가 바뀌어서 요금계산기로 27,000원 나왔습니다.",
            customer_presence="separated",
            fare_adjustment=True,
            estimated_fare=27000,
            driver_fare_consent=True,
            origin_call_id="880000606",
        ),
        notices=("repayment_required", "reconnect_only_once"),
        eligible=True,
    ),
    DemoCase(
        "강제재연결: 차단 여러 개 (운행중·고객 거부·퇴근·재호출)",
        "force_reconnect",
        "reconnect.together.no_fare_change",
        _reconnect(
            "강제연결 해주세요 급해요",
            "손님이랑 같이 있는데 콜이 취소됐어요. 손님은 다시 부르고 계세요.",
            customer_presence="together",
            fare_adjustment=False,
            admin_status="in_progress",
            customer_consent="refused",
            driver_on_duty=False,
            customer_recalling=True,
            origin_call_id="880000707",
        ),
        blocks=(
            "admin_status_not_reconnectable",
            "customer_refused",
            "driver_off_duty",
            "customer_recalling",
        ),
        eligible=False,
    ),
    DemoCase(
        "강제재연결: 차단 여러 개 (요금 미합의·동의 미확인)",
        "force_reconnect",
        "reconnect.separated.fare_change",
        _reconnect(
            "요금 조정 건 재연결",
            "경유지가 추가됐는데 요금 합의가 안 됐어요.",
            customer_presence="separated",
            fare_adjustment=True,
            agreed_fare=30000,
            driver_fare_consent=False,
            customer_consent="pending",
            origin_call_id="880000808",
        ),
        blocks=("customer_consent_required", "fare_not_agreed"),
        eligible=False,
    ),
    DemoCase(
        "강제재연결: 이미 한 번 강제연결한 원콜",
        "force_reconnect",
        "reconnect.together.no_fare_change",
        _reconnect(
            "또 콜이 취소됐어요",
            "아까 한 번 다시 연결해 주셨는데 또 취소됐습니다.",
            prior=1,
            customer_presence="together",
            fare_adjustment=False,
            origin_call_id=HISTORY_ORIGIN_CALL_ID,
        ),
        blocks=("already_reconnected_once",),
        eligible=False,
    ),
    DemoCase(
        "강제재연결: 예약콜 (자사콜 흐름)",
        "force_reconnect",
        "reconnect.together.no_fare_change",
        _reconnect(
            "예약콜 취소됨",
            "예약 콜로 운행 중인데 콜이 취소됐어요.",
            consult_type="driver_force_rerun_reserved",
            customer_presence="together",
            fare_adjustment=False,
            origin_call_id="880000909",
        ),
        notices=("call_type_follows_own_call_flow", "reconnect_only_once"),
        eligible=True,
    ),
    # ---- no consult type ---------------------------------------------------------------
    DemoCase(
        "상담유형 없음: 주차 가이드 제안",
        "parking_onsite_payment",
        "none",
        {
            "subject": "주차권 샀는데 현장결제가 또 됐어요",
            "description": "영수증 첨부합니다. 주차장에서 출차할 때 결제됐어요.",
            "fields": {},
        },
        notices=("guide_suggested_set_consult_type",),
    ),
    DemoCase(
        "상담유형 없음: 강제재연결 가이드 제안",
        "force_reconnect",
        "none",
        {
            "subject": "콜이 취소됐어요 다시 연결해 주세요",
            "description": "운행 중에 콜이 취소됐습니다. 강제 재연결 가능할까요?",
            "fields": {"identity_verified": True},
        },
        notices=("guide_suggested_set_consult_type",),
    ),
    DemoCase(
        "가이드 없음",
        None,
        "none",
        {
            "subject": "앱 로그인이 안 돼요",
            "description": "비밀번호 재설정 메일이 오지 않습니다. 확인 부탁드립니다.",
            "fields": {},
        },
    ),
)

DEMO_TICKETS: list[dict[str, Any]] = [case.ticket for case in DEMO_CASES]

# An earlier, already applied forced reconnection of HISTORY_ORIGIN_CALL_ID: its tags are
# what the server's search counts as a prior 강콜.
HISTORY_TICKET: dict[str, Any] = _reconnect(
    "[처리완료] 콜이 취소됐어요",
    "운행 중 콜이 취소되어 강제 재연결로 처리했습니다.",
    customer_presence="together",
    fare_adjustment=False,
    origin_call_id=HISTORY_ORIGIN_CALL_ID,
    forced_call_id=HISTORY_FORCED_CALL_ID,
)
HISTORY_TAGS = (
    f"fr_origin_{HISTORY_ORIGIN_CALL_ID}",
    "fr_forced",
    "gp_guide_force_reconnect",
    "gp_branch_reconnect_together_no_fare_change",
    "gp_eligible",
)


def build_new_ticket(
    ticket: Mapping[str, Any],
    fields: FieldCatalog,
    field_map: Mapping[str, int],
    tags: tuple[str, ...] = (),
) -> NewTicket:
    """Convert an `explain` input into a ticket to create (semantic values → Zendesk)."""
    custom: dict[int, JSONScalar] = {}
    for key, value in ticket.get("fields", {}).items():
        if not fields.get(key).zendesk or key not in field_map:
            continue
        encoded = fields.zendesk_value(key, value)
        if encoded is not None:
            custom[field_map[key]] = encoded
    return NewTicket(
        subject=str(ticket.get("subject") or ""),
        description=str(ticket.get("description") or ""),
        tags=tags,
        custom_fields=custom,
    )


def seed_demo(
    gateway: ZendeskGateway, fields: FieldCatalog, field_map: Mapping[str, int]
) -> list[int]:
    """Create the history ticket, then every demo ticket; return the demo ids in order."""
    gateway.create_ticket(build_new_ticket(HISTORY_TICKET, fields, field_map, HISTORY_TAGS))
    return [
        gateway.create_ticket(build_new_ticket(ticket, fields, field_map)).id
        for ticket in DEMO_TICKETS
    ]


def print_demo(url: str, ids: list[int], out: TextIO) -> None:
    """Print the emulator URL and every demo ticket with the branch it shows."""
    out.write(f"Zendesk emulator: {url}\n")
    out.write(f"{'ticket':>7}  {'guide':<24} {'branch':<44} case\n")
    for ticket_id, case in zip(ids, DEMO_CASES, strict=True):
        guide = case.guide or "-"
        if case.guide and case.branch == "none":
            guide = f"{case.guide}?"  # suggested from the text, 상담유형 empty
        out.write(f"{ticket_id:>7}  {guide:<24} {case.branch:<44} {case.name}\n")
    out.write(
        f"History: an earlier ticket carries fr_origin_{HISTORY_ORIGIN_CALL_ID} + fr_forced "
        f"(원콜 {HISTORY_ORIGIN_CALL_ID} was already reconnected once).\n"
    )
    out.flush()


def start_emulator_with_demo(
    settings: Settings, host: str, port: int
) -> tuple[EmulatorServer, list[int]]:
    """Start the emulator and fill it: articles, custom fields (field map), demo tickets."""
    from backend.bootstrap import bootstrap_fields
    from backend.domain.fields import load_field_catalog
    from backend.emulator import server as emulator_server
    from backend.zendesk.zenpy_gateway import ZenpyGateway

    server = emulator_server.EmulatorServer(host=host, port=port).start()
    try:
        _load_articles(server.store, settings)
        local = settings.model_copy(
            update={"zendesk_url": server.url, "zendesk_token": SecretStr("emulator-demo-token")}
        )
        catalog = load_field_catalog(settings.guides_dir / "fields.yaml")
        with ZenpyGateway.from_settings(local, wait_policy="batch") as gateway:
            field_map = bootstrap_fields(gateway, catalog, settings.field_map, log=sys.stderr)
            ids = seed_demo(gateway, catalog, field_map)
        # `POST /__emulator/reset` now returns to the demo data, not to an empty account.
        server.store.mark_initial()
    except BaseException:
        server.stop()
        raise
    return server, ids


def run_emulator_with_demo(settings: Settings, host: str, port: int) -> None:
    """Serve the emulator with seeded articles, fields and demo tickets until Ctrl-C."""
    server, ids = start_emulator_with_demo(settings, host, port)
    try:
        print_demo(server.url, ids, sys.stdout)
        sys.stdout.write(f"field map: {settings.field_map}\nCtrl-C to stop.\n")
        sys.stdout.flush()
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def _load_articles(store: EmulatorStore, settings: Settings) -> None:
    """Load the seed Help Center articles under the deployment's article ids, if present."""
    try:
        from backend.emulator.articles import load_seed_articles
    except ImportError:  # an emulator without article seeding: run without articles
        return
    if not SEEDS_DIR.is_dir():
        return
    ids = settings.article_ids
    by_title = {
        "주차권": ids.get("parking_onsite_payment", 1001),
        "강제재연결": ids.get("force_reconnect", 1002),
    }
    load_seed_articles(store, SEEDS_DIR, by_title, settings.help_center_locale)
