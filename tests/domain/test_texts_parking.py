"""Golden tests: the words of guide parking_onsite_payment against its seed.

The seed (a Help Center article) is the source of truth for wording. The expected
sentences are written out below, and a test proves they are the seed's own lines.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from table_helpers import load_repo_catalog, load_repo_renderer

from backend.domain.decision import Decision, RenderedText
from backend.domain.engine import EngineOptions, FactEnv, decide
from backend.domain.facts import parse_input

ROOT = Path(__file__).resolve().parents[2]
# The seed article as shipped with the emulator (tests/emulator checks it equals the shared seed).
SEED = ROOT / "backend/emulator/seed_articles" / "000_c205ebaffaece5dd.txt"
GUIDE = "parking_onsite_payment"

catalog = load_repo_catalog()
renderer = load_repo_renderer()

# --- the seed's sentences -------------------------------------------------------

# Each block: the seed's lines from its first to its last sentence (markdown, "(예시)"
# markers and headings dropped, runs of spaces collapsed).
SEED_BLOCKS: dict[str, list[str]] = {
    "a1.1.basic": [
        "현장결제가 발생되어 당황스러우셨을 텐데요.",
        "정확한 확인을 위해 문의하시는 카카오 T 계정의 가입자 본인이 맞으신가요?",
        "소중한 정보확인 감사합니다.",
        "OOO 주차장 주차권 예약하신 내역 확인됩니다.",
    ],
    "a1.1.find_usage": [
        "네, 고객님. 실례지만 OO월 OO일 OOO주차장 이용건 말씀하실까요?",
    ],
    "a1.2.entry_and_receipt": [
        "실례지만 대략적인 입차시간과 차량번호를 말씀해 주시겠습니까?",
        "차량번호 입차 인식이 정상적으로 이루어지지 않아 "
        "주차권 적용이 되지 않은 것으로 확인됩니다.",
        "편리한 이용을 기대하셨을 텐데, 이용에 불편을 드려 죄송합니다.",
        "번거로우시겠지만 현장에서 결제하신 영수증 또는 카드내역 첨부 가능하실까요?",
    ],
    "a1.3.offer_coupon": [
        "첨부 감사합니다.",
        "현장 결제와 주차권의 차액은 N원으로 확인됩니다.",
        "안타깝게도 현장에서 결제한 내역은 카카오 T 앱을 통해 결제된 금액이 아니다 보니, "
        "저희가 바로 결제 변경으로 도움드리기 어렵습니다.",
        "결제변경은 어렵지만, 주차 이용 시 사용할 수 있는 OOO원 주차쿠폰으로 "
        "발급해 드리는 것은 어떠실까요?",
    ],
    "a1.3.after_ticket_cancel": [
        "이용 중인/ 결제된 주차권은 취소 후, 주차 이용 시 사용할 수 있는 OOO원 주차쿠폰으로 "
        "발급해 드리는 것은 어떠실까요?",
    ],
    "a1.4.coupon_accepted": [
        "네, 고객님. 양해해 주셔서 감사드립니다.",
        "쿠폰 이용 시 참고하실 수 있도록 유의사항에 대해 안내해 드릴게요.",
        "■ 유효기간은 1년이며, 기한 내 사용이 어려울 경우 고객센터로 문의해 주세요.",
        "■ 주차 서비스 1건 당 하나의 쿠폰을 사용할 수 있어요.",
        "■ 쿠폰 금액보다 결제 금액이 적을 경우, 차액은 소멸됩니다.",
        "쿠폰은 원하시는 금액만큼 분할 발급이 가능해요.",
        "차액 OOO원에 대해 원하시는 권종과 수량 말씀 부탁드립니다.",
        "※ 발급 가능 쿠폰 권종 : 1,000원~8,000원까지 1,000원 단위권 / 10,000원권",
        "└ 예) 10,000원 쿠폰이라면 5,000원 2장 또는 2,000원 5장 등",
    ],
    "a1.4.coupon_issue": [
        "확인 감사합니다. 말씀해 주신 권종과 수량으로 쿠폰 발급 요청하겠습니다.",
        "쿠폰 발급까지는 최대 영업일 기준 1-2일 정도 소요될 수 있는 점 양해부탁드립니다.",
        "쿠폰은 아래 링크를 통해 확인할 수 있어요.",
        "<https://t.kakao.com/launch?page=coupon>",
        "최대한 빠르게 지급될 수 있도록 제가 더 신경 쓰겠습니다.",
    ],
    "a1.5.cancel_onsite_payment": [
        "원활한 주차 서비스를 기대하셨을 텐데, 번거롭게 해 드려 정말 죄송합니다.",
        "제가 직접 취소 도움드리고 싶으나, 당사에서 이뤄진 결제 건이 아니다 보니 취소 처리가 "
        "어려워 부득이하게 쿠폰 지급으로 안내드리게 되었습니다.",
        "실례지만 주차권 결제 진행 후 담당부서로 전달하여 현장결제 취소 진행하여도 괜찮으실까요?",
    ],
    "a1.5.cancel_requested": [
        "주차권 결제 완료 후 담당부서로 전달하여 현장결제 취소 요청하겠습니다.",
        "담당부서에서 순차적으로 확인하고 있어 시일 소요되는 점 양해부탁드립니다.",
        "현장결제 취소 접수 후 회신 시 등록된 연락처로 문자 안내해 드리겠습니다.",
        "다시 한번 이용에 불편을 드려 깊이 사과드립니다.",
    ],
    "sms.onsite_payment_cancelled": [
        "카카오 T 고객센터입니다.",
        "O월 O일 문의하신 OOO 주차장 관련하여 안내드립니다.",
        "현장에서 결제하셨던 0,000원은 담당부서 전달하여 취소 접수되었습니다.",
        "카드결제 건으로 카드사마다 상이하나 영업일 기준 3-5일 이내 취소 처리되는 점 "
        "양해 부탁드립니다.",
        "서비스 이용에 불편을 드려 대단히 죄송합니다.",
        "더 나은 서비스를 위해 노력하겠습니다.",
    ],
}

# The seed's cautions (1️⃣ 가이드 3. 주의사항), kept verbatim inside our polite sentences.
CAUTIONS = {
    "entry_before_window": "이용시간 전 입차 시 주차권 적용 불가",
    "reserved_after_entry": "입차 후 예약 시 주차권 적용 불가",
    "overtime": "이용시간 초과할 경우 출차 시 주차권 +초과금액 결제",
}


def _seed_lines(raw: str) -> list[str]:
    """The seed as clean lines: bold runs split apart, markup and "(예시)" dropped."""
    lines: list[str] = []
    for line in raw.splitlines():
        for part in line.split("**"):
            text = part.replace("*", "").replace("\\", "").replace("(예시)", "")
            text = re.sub(r"\s+", " ", text).strip()
            if text and text != "```":
                lines.append(text)
    return lines


def _is_heading(line: str) -> bool:
    return line.startswith((">", "①", "②", "③", "④", "⑤", "―", "-"))


def _extract(lines: list[str], first: str, last: str) -> list[str]:
    """The seed lines from the one equal to `first` to the one equal to `last`."""
    start = lines.index(first)
    end = lines.index(last, start)
    return [line for line in lines[start : end + 1] if not _is_heading(line)]


def _read_blocks_from_seed() -> dict[str, list[str]]:
    lines = _seed_lines(SEED.read_text(encoding="utf-8"))
    return {key: _extract(lines, block[0], block[-1]) for key, block in SEED_BLOCKS.items()}


def seed_block(key: str) -> list[str]:
    """A block of seed sentences (the literals, proven equal to the seed file below)."""
    return SEED_BLOCKS[key]


def test_literals_are_the_seed_sentences() -> None:
    """The literal blocks are exactly the seed's own lines (the seed ships in the repo)."""
    assert _read_blocks_from_seed() == SEED_BLOCKS
    lines = _seed_lines(SEED.read_text(encoding="utf-8"))
    for caution in CAUTIONS.values():
        assert any(caution in line for line in lines), caution


# --- helpers ----------------------------------------------------------------------


def _squash(text: str) -> str:
    """Whitespace and line breaks may differ from the seed: compare without them."""
    return re.sub(r"\s+", "", text)


def _fill(line: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        line = line.replace(placeholder, value)
    return line.strip("<>")  # the seed writes the coupon link as a Markdown autolink


def assert_seed_lines_in(body: str, key: str, values: dict[str, str] | None = None) -> None:
    """Every seed sentence of a block, with the ticket's values filled, is in the body."""
    for line in seed_block(key):
        expected = _fill(line, values or {})
        assert _squash(expected) in _squash(body), f"{key}: missing {expected!r} in\n{body}"


def run(fields: dict[str, Any]) -> Decision:
    """A decision through the real engine."""
    data = {"consult_type": "parking_integration_onsite_payment", **fields}
    return decide(parse_input({"fields": data}, catalog.fields), catalog, renderer)


def texts_by_key(decision: Decision) -> dict[str, RenderedText]:
    """Every text of the decision's branch (all variants), rendered with the ticket's values.

    The golden tests read the words; which texts are *offered* is tested in
    test_texts_offered.py (ERRATA 2: texts chosen by the decision).
    """
    guide = catalog.guide(GUIDE)
    ticket = parse_input({"fields": decision.facts}, catalog.fields)
    env = FactEnv(guide, ticket, catalog)
    context = renderer.context(guide, env.known_values(), EngineOptions().admin_call_url)
    out: dict[str, RenderedText] = {}
    for text in guide.branches[decision.branch].texts:
        cases = {"": text.template or ""} if text.variants is None else text.variants.cases
        for case, template in cases.items():
            key = f"{text.key}.{case}" if case else text.key
            out[key] = RenderedText(
                key=key,
                kind=text.kind,
                title=text.title,
                body=renderer.render(GUIDE, template, context),
                from_seed=text.from_seed,
            )
    return out


def joined(texts: dict[str, RenderedText], *keys: str) -> str:
    """Several texts read as one (an article step split where a fact must be known first)."""
    return "\n".join(texts[key].body for key in keys)


LOT = "강남역 공영주차장"

# A ticket that passes rows 1-5 (12,000원 difference, no overtime).
READY: dict[str, Any] = {
    "identity_verified": True,
    "usage_date": "2024-11-20",
    "parking_lot": LOT,
    "car_number": "12가3456",
    "entry_time": "2024-11-20T09:00",
    "receipt_attached": True,
    "receipt_lot_matches": True,
    "ticket_start": "2024-11-20T08:00",
    "ticket_end": "2024-11-20T18:00",
    "exit_time": "2024-11-20T17:00",
    "reserved_at": "2024-11-19T20:00",
    "onsite_amount": "20,000원",
    "ticket_price": 8000,
}

BRANCH_TICKETS: dict[str, dict[str, Any]] = {
    "parking.collect_info": {},
    "parking.lot_mismatch": {**READY, "receipt_lot_matches": False},
    "parking.ineligible_entry_before_window": {**READY, "entry_time": "2024-11-20T07:30"},
    "parking.ineligible_reserved_after_entry": {
        **READY,
        "reserved_at": "2024-11-20T09:10",
        "post_entry_purchase_allowed": False,
    },
    "parking.no_difference": {
        **READY,
        "ticket_status": "cancelled",
        "exit_time": "2024-11-20T19:00",
        "overtime_fee": 12000,
    },
    "parking.cancel_paid_ticket": {**READY, "ticket_status": "paid", "onsite_amount": 8000},
    "parking.offer_coupon_after_ticket_cancel": {**READY, "ticket_status": "paid"},
    "parking.offer_coupon": {**READY, "ticket_status": "cancelled"},
    "parking.coupon_accepted": {
        **READY,
        "ticket_status": "cancelled",
        "coupon_response": "accepted",
        "coupon_split": "5,000원 2장, 2,000원 1장",
    },
    "parking.cancel_onsite_payment": {
        **READY,
        "ticket_status": "cancelled",
        "coupon_response": "refused",
        "operator": "nicepark",
        "approval_number": "30012345",
        "cancel_consent": True,
        "ticket_repaid": True,
    },
    "parking.offer_t_points": {
        **READY,
        "ticket_status": "cancelled",
        "coupon_response": "refused",
        "operator": "other",
    },
}

# Branches whose texts name the parking lot.
LOT_BRANCHES = {
    "parking.collect_info",
    "parking.lot_mismatch",
    "parking.ineligible_reserved_after_entry",
    "parking.cancel_onsite_payment",
    "parking.offer_t_points",
}

NOT_FROM_SEED = {
    "memo.cs_notes",
    "memo.receipt_check",
    "block.identity_not_verified",
    "block.invalid_coupon_split",
    "memo.example_split",
    "memo.department_transfer",
    "paid.cancel_ticket",
    "sms.onsite_payment_cancelled_cash",
    "caution.different_parking_lot",
    "caution.entry_before_usage_time",
    "caution.reserved_after_entry",
    "memo.post_entry_purchase_check",
    "memo.operator_check",
    "memo.ticket_repayment",
    "caution.no_price_difference",
    "caution.overtime",
    "t_points.offer",
}


# --- every branch -----------------------------------------------------------------


def test_every_branch_of_the_guide_is_covered() -> None:
    assert set(BRANCH_TICKETS) == set(catalog.guide(GUIDE).branch_ids())


@pytest.mark.parametrize("branch", sorted(BRANCH_TICKETS))
def test_every_branch_renders_its_texts(branch: str) -> None:
    decision = run(BRANCH_TICKETS[branch])
    assert decision.branch == branch
    assert decision.texts, f"{branch} offers no text"
    for text in texts_by_key(decision).values():
        assert text.body.strip(), text.key
        assert "None" not in text.body, text.key
        assert text.from_seed is (text.key not in NOT_FROM_SEED), text.key
        assert text.title


@pytest.mark.parametrize("branch", sorted(BRANCH_TICKETS))
def test_every_branch_renders_an_unknown_lot_as_a_placeholder(branch: str) -> None:
    """Unknown values render seed-style placeholders, never None."""
    ticket = {k: v for k, v in BRANCH_TICKETS[branch].items() if k != "parking_lot"}
    decision = run(ticket)
    assert decision.branch == branch
    texts = texts_by_key(decision).values()
    for text in texts:
        assert "None" not in text.body, text.key
        assert LOT not in text.body, text.key
    if branch in LOT_BRANCHES:
        assert any("OOO" in text.body for text in texts), branch


# --- collect_info (A1 ① ②) ----------------------------------------------------------


def test_collect_info_golden_with_unknown_values() -> None:
    texts = texts_by_key(run({}))
    basic = joined(texts, "a1.1.ask_identity", "a1.1.identity_confirmed")
    assert_seed_lines_in(basic, "a1.1.basic")
    # Unknown date and lot keep the seed's placeholders.
    assert_seed_lines_in(texts["a1.1.find_usage"].body, "a1.1.find_usage")
    assert "OO월 OO일 OOO주차장" in texts["a1.1.find_usage"].body
    entry = joined(texts, "a1.2.ask_entry", "a1.2.receipt")
    assert_seed_lines_in(entry, "a1.2.entry_and_receipt")


def test_collect_info_golden_with_values() -> None:
    texts = texts_by_key(run({"usage_date": "2024-11-20", "parking_lot": LOT}))
    basic = joined(texts, "a1.1.ask_identity", "a1.1.identity_confirmed")
    assert_seed_lines_in(basic, "a1.1.basic", {"OOO 주차장": LOT})
    assert_seed_lines_in(
        texts["a1.1.find_usage"].body,
        "a1.1.find_usage",
        {"OO월 OO일": "11월 20일", "OOO주차장": LOT},
    )
    assert "11월 20일 강남역 공영주차장 이용건" in texts["a1.1.find_usage"].body


def test_lot_name_without_suffix_gets_the_seed_word_parking_lot() -> None:
    texts = texts_by_key(run({"parking_lot": "강남역"}))
    assert "강남역 주차장 주차권 예약하신 내역 확인됩니다." in texts["a1.1.identity_confirmed"].body


# --- offer_coupon (A1 ③) -----------------------------------------------------------


def test_offer_coupon_golden() -> None:
    decision = run(BRANCH_TICKETS["parking.offer_coupon"])
    body = texts_by_key(decision)["a1.3.offer_coupon"].body
    assert_seed_lines_in(body, "a1.3.offer_coupon", {"N원": "12,000원", "OOO원": "12,000원"})
    assert "차액은 12,000원으로" in body
    assert "12,000원 주차쿠폰" in body
    assert "caution.overtime" not in [t.key for t in decision.texts]


def test_offer_coupon_fills_difference_and_rounded_coupon_apart() -> None:
    body = texts_by_key(run({**READY, "ticket_status": "cancelled", "onsite_amount": 20500}))[
        "a1.3.offer_coupon"
    ].body
    assert "차액은 12,500원으로" in body
    assert "13,000원 주차쿠폰" in body


def test_offer_coupon_unknown_amounts_keep_placeholders() -> None:
    ticket = {k: v for k, v in READY.items() if k not in ("onsite_amount", "ticket_price")}
    decision = run(ticket)
    assert decision.branch == "parking.offer_coupon"
    body = texts_by_key(decision)["a1.3.offer_coupon"].body
    assert_seed_lines_in(body, "a1.3.offer_coupon")  # N원 / OOO원 as in the seed
    assert "None" not in body


def test_offer_coupon_with_overtime_explains_the_fee() -> None:
    decision = run(
        {
            **READY,
            "ticket_status": "cancelled",
            "exit_time": "2024-11-20T19:00",
            "overtime_fee": 3000,
        }
    )
    texts = texts_by_key(decision)
    assert "차액은 9,000원으로" in texts["a1.3.offer_coupon"].body
    caution = texts["caution.overtime"]
    assert caution.kind == "reply"
    assert caution.from_seed is False
    assert CAUTIONS["overtime"] in caution.body
    assert "3,000원" in caution.body


@pytest.mark.parametrize(("status", "words"), [("in_use", "이용 중인"), ("paid", "결제된")])
def test_offer_coupon_after_ticket_cancel_golden(status: str, words: str) -> None:
    decision = run({**READY, "ticket_status": status})
    assert decision.branch == "parking.offer_coupon_after_ticket_cancel"
    body = texts_by_key(decision)["a1.3.offer_coupon_after_ticket_cancel"].body
    values = {"N원": "12,000원", "OOO원": "12,000원"}
    # ③'s situation sentences, then the variant instead of "결제변경은 어렵지만, …".
    for line in seed_block("a1.3.offer_coupon")[:-1]:
        assert _squash(_fill(line, values)) in _squash(body)
    assert "결제변경은 어렵지만" not in body
    assert_seed_lines_in(body, "a1.3.after_ticket_cancel", {"이용 중인/ 결제된": words, **values})


# --- coupon_accepted (A1 ④) ---------------------------------------------------------


def test_coupon_accepted_golden() -> None:
    texts = texts_by_key(run(BRANCH_TICKETS["parking.coupon_accepted"]))
    accepted = texts["a1.4.coupon_accepted"].body
    assert_seed_lines_in(accepted, "a1.4.coupon_accepted", {"차액 OOO원": "차액 12,000원"})
    issue = texts["a1.4.coupon_issue"].body
    split = "말씀해 주신 권종과 수량(5,000원 2장, 2,000원 1장)으로"
    assert split in issue
    assert_seed_lines_in(issue.replace("(5,000원 2장, 2,000원 1장)", ""), "a1.4.coupon_issue")
    assert "https://t.kakao.com/launch?page=coupon" in issue


def test_coupon_accepted_without_a_split_asks_for_it_first() -> None:
    """Article A1 ④: "차액 OOO원에 대해 원하시는 권종과 수량 말씀 부탁드립니다." comes before
    "말씀해 주신 권종과 수량으로 쿠폰 발급 요청하겠습니다." — the issue waits for the split."""
    fields = {k: v for k, v in BRANCH_TICKETS["parking.coupon_accepted"].items()}
    del fields["coupon_split"]
    decision = run(fields)
    offered = [t.key for t in decision.texts]
    assert "a1.4.coupon_accepted" in offered
    assert "a1.4.coupon_issue" not in offered
    issue = texts_by_key(decision)["a1.4.coupon_issue"].body
    assert "말씀해 주신 권종과 수량(OOO원 O장)으로" in issue


def test_coupon_accepted_with_an_invalid_split_shows_no_split() -> None:
    fields = {**BRANCH_TICKETS["parking.coupon_accepted"], "coupon_split": "9000x1, 3000x1"}
    decision = run(fields)
    assert decision.blocks == ["invalid_coupon_split"]
    assert [t.key for t in decision.texts] == ["block.invalid_coupon_split"]
    issue = texts_by_key(decision)["a1.4.coupon_issue"].body
    assert "9,000원" not in issue


# --- cancel_onsite_payment (A1 ⑤, SMS, department memo) --------------------------------


def test_cancel_onsite_payment_golden() -> None:
    decision = run(BRANCH_TICKETS["parking.cancel_onsite_payment"])
    texts = texts_by_key(decision)
    assert_seed_lines_in(texts["a1.5.cancel_onsite_payment"].body, "a1.5.cancel_onsite_payment")
    assert_seed_lines_in(texts["a1.5.cancel_requested"].body, "a1.5.cancel_requested")

    sms = texts["sms.onsite_payment_cancelled"]
    assert sms.kind == "sms"
    assert_seed_lines_in(
        sms.body,
        "sms.onsite_payment_cancelled",
        {"O월 O일": "O월 O일", "OOO 주차장": LOT, "0,000원": "20,000원"},
    )
    # The inquiry date is not known here: the article's placeholder, never the usage date.
    assert "O월 O일 문의하신 강남역 공영주차장 관련하여" in sms.body
    assert "현장에서 결제하셨던 20,000원은" in sms.body


def test_department_memo_is_an_internal_note_with_the_transfer_facts() -> None:
    decision = run(BRANCH_TICKETS["parking.cancel_onsite_payment"])
    memo = texts_by_key(decision)["memo.department_transfer"]
    assert memo.kind == "note"
    for value in ("12가3456", "30012345", LOT, "11월 20일", "20,000원", "나이스파크"):
        assert value in memo.body
    # The write-back's internal note carries the memo.
    assert memo.body in decision.note


def test_cancel_onsite_payment_unknown_values_render_placeholders() -> None:
    decision = run(
        {
            "identity_verified": True,
            "usage_date": "2024-11-20",
            "entry_time": "2024-11-20T09:00",
            "car_number": "12가3456",
            "receipt_attached": True,
            "coupon_response": "refused",
        }
    )
    assert decision.branch == "parking.cancel_onsite_payment"
    assert decision.eligible is False
    texts = texts_by_key(decision)
    assert "sms.onsite_payment_cancelled" not in [t.key for t in decision.texts]
    sms = texts["sms.onsite_payment_cancelled"].body
    assert "OOO 주차장 관련하여" in sms
    assert "현장에서 결제하셨던 0,000원은" in sms
    memo = texts["memo.department_transfer"].body
    assert "승인번호: OOO" in memo
    assert "운영사: OOO" in memo
    assert "현장결제 금액: OOO원" in memo
    for text in decision.texts:
        assert "None" not in text.body


# --- offer_t_points and the ineligible branches (not from the seed) ------------------------


def test_offer_t_points_is_marked_not_from_seed() -> None:
    decision = run(BRANCH_TICKETS["parking.offer_t_points"])
    (text,) = decision.texts
    assert text.key == "t_points.offer"
    assert text.kind == "reply"
    assert text.from_seed is False
    assert "T포인트" in text.body


def test_entry_before_window_states_the_seed_caution() -> None:
    decision = run(BRANCH_TICKETS["parking.ineligible_entry_before_window"])
    (text,) = decision.texts
    assert text.from_seed is False
    assert CAUTIONS["entry_before_window"] in text.body
    assert "11월 20일 07:30에 입차하신" in text.body
    assert "11월 20일 08:00부터" in text.body


def test_reserved_after_entry_states_the_caution_and_the_checked_lot_setting() -> None:
    decision = run(BRANCH_TICKETS["parking.ineligible_reserved_after_entry"])
    texts = texts_by_key(decision)
    reply = texts["caution.reserved_after_entry"]
    assert reply.from_seed is False
    assert CAUTIONS["reserved_after_entry"] in reply.body
    assert f"{LOT}은 입차 후 주차권 예약이 허용되지 않는 주차장으로 확인되어" in reply.body
    memo = texts["memo.post_entry_purchase_check"]
    assert memo.kind == "note"
    assert "입차 후 주차권 예약 허용 여부" in memo.body


def test_no_difference_states_the_amounts_and_the_overtime_caution() -> None:
    decision = run(BRANCH_TICKETS["parking.no_difference"])
    (text,) = decision.texts
    assert text.from_seed is False
    assert "20,000원으로, 주차권 금액 8,000원과 초과요금 12,000원을 제외하면" in text.body
    assert CAUTIONS["overtime"] in text.body


def test_no_difference_without_overtime_has_no_overtime_caution() -> None:
    decision = run({**READY, "onsite_amount": 8000, "ticket_status": "cancelled"})
    assert decision.branch == "parking.no_difference"
    (text,) = decision.texts
    assert "주차권 금액 8,000원을 제외하면" in text.body
    assert "초과" not in text.body


def test_lot_mismatch_names_the_reserved_lot() -> None:
    decision = run(BRANCH_TICKETS["parking.lot_mismatch"])
    (text,) = decision.texts
    assert text.from_seed is False
    assert f"예약하신 {LOT}이 아닌 다른 주차장" in text.body
