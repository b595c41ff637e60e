"""Golden tests: the words of guide force_reconnect against its seed.

The seed (a Help Center article) is the source of truth for wording. The expected
sentences are written out below, and a test proves they are the seed's own lines.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from table_helpers import load_repo_catalog, load_repo_renderer

from backend.domain.decision import Decision, RenderedText
from backend.domain.engine import EngineOptions, FactEnv, decide
from backend.domain.facts import parse_input

ROOT = Path(__file__).resolve().parents[2]
# The seed article as shipped with the emulator (tests/emulator checks it equals the shared seed).
SEED = ROOT / "backend/emulator/seed_articles" / "004_d88a9bf861b2af20.txt"
GUIDE = "force_reconnect"

catalog = load_repo_catalog()
renderer = load_repo_renderer()

# --- the seed's sentences -------------------------------------------------------

# Each block: the seed's lines from its first to its last sentence (markdown,
# blockquote marks, ⓐ/ⓑ and 카드 콜/현금 콜 headings dropped, runs of spaces collapsed).
# Where a first line occurs several times in the seed, the first occurrence is meant.
SEED_BLOCKS: dict[str, list[str]] = {
    "q1.1.empathy": [
        "그러셨군요, 다시 운행하게 되어 다행입니다.",
        "콜이 취소되어 많이 놀라셨겠습니다. 제가 몇 가지 확인 후 신속하게 안내해 드리겠습니다.",
        "운행이 종료되어 많이 놀라셨겠습니다. 제가 몇 가지 확인 후 신속하게 안내해 드리겠습니다.",
    ],
    "q1.2.trip_info": ["정확한 안내를 위해 [운행일시, 출발지, 도착지] 말씀 부탁드려요."],
    "q1.2.trip_number": [
        "정확한 안내를 위해 [운행번호] 확인 부탁드려요.",
        "운행번호는 기사 앱 - 오른쪽 위 [메뉴] - 내 운행 정보 [수입 및 운행내역] 에서 "
        "확인할 수 있어요.",
    ],
    "partner.situation_room": [
        "문의하신 호출 건은 제휴콜로 발주사를 통해 요청하실 수 있어요.",
        "발주사 상황실로 문의해 보실 수 있도록 번호 안내해 드리겠습니다.",
        "상황실 번호는 000-0000-0000번입니다.",
        "번거로우시겠지만, 안내해 드린 번호로 문의 부탁드립니다.",
    ],
    "consigned.not_started.driver": [
        "안타깝게도 위탁콜은 고객님과 다시 운행하실 수 있도록 연결하기 어렵습니다. "
        "도움을 드리지 못해 정말 죄송합니다. 해당 호출 건은 취소되어 보험이 적용되지 않으니 "
        "운행을 시작하지 마시고, 고객님에게는 다시 호출하시도록 안내 부탁드립니다.",
    ],
    "consigned.not_started.customer": [
        "호출이 취소되어 다시 운행할 수 있도록 연결 요청을 해주셨는데요. "
        "안타깝게도 제휴 기사님 배정 건으로 해당 기사님과 다시 운행 연결이 어렵습니다. "
        "도움을 드리지 못해 정말 죄송합니다. 취소된 호출 건은 보험이 적용되지 않으니, "
        "번거로우시겠지만 앱을 통해 다시 호출 부탁드립니다.",
    ],
    "consigned.already_driven.driver": [
        "안타깝게도 위탁콜은 재연결이 어렵습니다. 도움을 드리지 못해 정말 죄송합니다. "
        "이미 운행하셨다면 목적지 도착 후 반드시 현금을 수령해 주세요. "
        "취소된 호출 건으로 보험이 적용되지 않는 점 참고 부탁드립니다.",
    ],
    "consigned.already_driven.customer": [
        "호출이 취소되어 기사님이 운행할 수 있도록 연결 요청을 해주셨는데요. "
        "안타깝게도 제휴 기사님 배정 건으로 해당 기사님과 다시 운행 연결이 어렵습니다. "
        "도움을 드리지 못해 정말 죄송합니다. 현재 취소되어 자동결제가 진행되지 않으니 "
        "이용 완료되면 기사님에게 현금 지급을 부탁드립니다. "
        "취소된 호출 건으로 보험이 적용되지 않는 점 참고 부탁드립니다.",
    ],
    "q1.3.ask_presence": [
        "실례지만, 현재 고객님을 만나 함께 계신가요?",
        "실례지만, 강제연결 사유에 대해 여쭤봐도 될까요?",
    ],
    "q1.4.call_back": [
        "그러시군요. 강제 연결의 경우 고객님의 동의가 필요해요.",
        "번거로우시겠지만, 고객님과 함께 계실 때, 카카오 T 파트너운영센터(☎1644-8830)로 "
        "연락해 주시면 빠르게 연결 도와드리겠습니다.",
        "혹시라도 강제 연결 없이 운행하실 경우 과태료나 사고 발생 시 도움드리기 어려우니, "
        "고객님과 만난 후 꼭 다시 연락 부탁드립니다.",
    ],
    "q1.5.ask_fare_change": [
        "그러시다면, 고객님 동의가 필요하여 확인 후 강제연결을 진행하겠습니다.",
        "혹시 경유지 추가 또는 목적지 변경 요청이 있었을까요?",
    ],
    "q1.5.no_fare_change": [
        "강제 연결은 한 번만 가능하기 때문에 추후 앱 조작 시 유의 부탁드려요.",
        "고객님과 연락이 닿지 않는 경우 시간이 소요될 수 있으니 기다려주시면 감사하겠습니다.",
        "강제 연결 없이 운행하실 경우 과태료나 사고 발생 시 도움드리기 어려우니 "
        "꼭 연결된 이후 운행해 주시고, 요금결제는 운행완료 후 순차적으로 처리될 예정으로 "
        "기다려 주시면 감사하겠습니다.",
    ],
    "ob.1.greeting": [
        "안녕하세요. 카카오 T 파트너 운영센터 OOO입니다.",
        "실례지만, OO(출발지)에서 OO(도착지)까지 카카오 T 대리 호출하신 고객님 본인 맞으신가요?",
    ],
    "ob.2.consent": [
        "OOO 사유로 해당 운행 건에 대해 강제 연결을 요청해 주셨는데요.",
        "강제 연결 후, 기존 호출 요금 000원으로 결제 진행하면 될까요?",
    ],
    "ob.2.consent.card": ["강제연결 후 운행이 완료되면 000원으로 결제가 진행될 예정이에요."],
    "ob.2.consent.cash": ["강제연결 후 운행이 완료되면 기사님께 000원 현금으로 지불 부탁드려요."],
    "ob.2.consent.together": [
        "기사님께서 OOO 사유로 해당 운행 건에 대해 강제 연결을 요청해 주셨는데요.",
        "연결 후, 기존 호출 요금 0,000원으로 결제 진행하면 될까요?",
    ],
    "ask_fare_change": ["그러셨군요. 실례지만, 운행 중 경유지 추가나 목적지 변경이 있었을까요?"],
    "q2.2.no_fare_change.card": [
        "강제연결 후 운행이 완료되면 000원으로 결제를 진행하고 포인트가 적립될 예정이에요.",
        "수기로 연결하여 순차적으로 결제가 진행되기 때문에 포인트 적립까지 시간이 "
        "소요될 수 있습니다.",
        "너그러운 마음으로 기다려 주시면 감사하겠습니다.",
    ],
    "q2.2.no_fare_change.cash": [
        "강제연결 후 운행이 완료되면 000원을 현장에서 현금으로 수령 부탁드려요.",
        "수기로 연결하여 순차적으로 결제가 진행되기 때문에 포인트 적립까지 시간이 "
        "소요될 수 있습니다.",
        "너그러운 마음으로 기다려 주시면 감사하겠습니다.",
    ],
    "q2.common": [
        "강제 연결은 한 번만 가능하니 앱 조작 시 유의 부탁드립니다.",
        "고객님 동의도 필요하여 확인 후 처리해 드리겠습니다.",
        "상담 종료 후 연락드릴 예정으로 고객님께서 전화받으실 수 있도록 말씀 전달 부탁드려요.",
    ],
    "q2.3.ask_agreed_fare": [
        "혹시 합의한 요금이 있으면 말씀해 주시겠습니까?",
        "별도의 합의 요금이 없는 경우, 변경된 목적지(추가된 경유지)를 말씀해주시면 "
        "예상 요금을 확인해 보겠습니다.",
    ],
    "estimate": [
        "(변경 목적지/추가 경유지) OOO으로 요금 조회 시, 예상 요금은 000원으로 확인되는데요.",
        "해당 요금으로 조정 도와드릴까요?",
    ],
    "q2.3.fare_change.card": [
        "확인 감사합니다.",
        "강제연결 후 운행이 완료되면 0000원으로 재결제를 진행하고 기존 결제금액은 "
        "취소할 예정이에요.",
        "재결제 시 포인트 적립 내역도 변경되니 참고 부탁드려요.",
        "수기로 연결하여 순차적으로 결제가 진행되기 때문에 포인트 적립까지 시간이 "
        "소요될 수 있습니다.",
        "너그러운 마음으로 기다려 주시면 감사하겠습니다.",
    ],
    "q2.3.fare_change.cash": [
        "강제연결 후 운행이 완료되면 0000원을 현장에서 현금으로 수령 부탁드려요.",
        "수기로 연결하여 순차적으로 결제가 진행되기 때문에 포인트 적립까지 시간이 "
        "소요될 수 있습니다.",
        "너그러운 마음으로 기다려 주시면 감사하겠습니다.",
    ],
    "ob.2.consent_fare_change.together": [
        "OOO 사유로 해당 운행 건에 대해 강제 연결 및 요금조정을 요청해 주셨는데요.",
        "강제 연결 후, 예상 요금(합의 요금) 0000원으로 결제 진행하면 될까요?",
    ],
    "ob.2.consent_fare_change.together.card": [
        "강제연결 후 운행이 완료되면 000원은 결제 취소하고 0000원으로 재결제가 진행될 예정이에요.",
    ],
    "ob.2.consent_fare_change.together.cash": [
        "강제연결 후 운행이 완료되면 기사님께 0000원 현금으로 지불 부탁드려요.",
    ],
    "q3.2.no_fare_change": [
        "고객님 동의가 필요하여 확인 후 강제연결을 진행하겠습니다.",
        "강제 연결은 한 번만 가능하기 때문에 추후 앱 조작 시 유의 부탁드려요.",
        "고객님과 연락이 닿지 않는 경우 시간이 소요될 수 있으니 기다려주시면 감사하겠습니다.",
        "혹시라도 추가 확인사항이 있거나 안내가 필요한 경우 문자로 안내해 드릴게요.",
    ],
    "q3.3.ask_agreed_fare": [
        "혹시 합의된 요금이 있으면 말씀해 주시겠습니까?",
        "별도의 합의 요금이 없는 경우, 변경된 목적지(추가된 경유지)를 말씀해주시면 "
        "예상 요금을 확인해 보겠습니다.",
    ],
    "q3.3.fare_change": [
        "고객님 통화 후 동의 확인하여 강제 연결 및 요금조정 진행하겠습니다.",
        "강제 연결은 한 번만 가능하기 때문에 추후 앱 조작 시 유의 부탁드려요.",
        "고객님과 전화 연결이 어려울 경우 시간이 소요될 수 있으니 기다려주시면 감사하겠습니다.",
    ],
    "ob.2.consent_fare_change.separated": [
        "OOO 사유로 해당 운행 건에 대해 강제 연결 및 요금조정을 요청해 주셨는데요.",
    ],
    "ob.2.consent_fare_change.separated.card": [
        "강제연결 후 기존 요금 000원은 결제 취소하고 0000원으로 재 결제가 진행될 예정이에요.",
    ],
    "ob.2.consent_fare_change.separated.cash": [
        "강제연결 후 현금결제 금액 0000원으로 변경하겠습니다.",
    ],
    "recall.cancel_request": [
        "확인해 보니, 현재 고객님께서 앱에서 다시 호출하기를 진행하셔서 "
        "강제 연결이 어려운 상황이에요.",
        "번거로우시겠지만, 앱 화면 상단의 '호출 취소' 버튼을 눌러 취소해 주시면 "
        "바로 강제 연결 진행하겠습니다.",
    ],
    "sms.customer_unreachable": [
        "카카오 T 긴급신고센터 입니다.",
        "00월 00일 ‘출발지’ > ‘도착지’까지 이용하신 건 관련하여",
        "확인할 사항이 있어 연락드렸으나 연결되지 않아 부득이하게 메시지로 내용 전달드리는 점 "
        "양해부탁드립니다.",
        "메시지 확인하시면 번거로우시더라도 카카오 T 긴급신고센터 1599-9400로 연락 부탁드립니다.",
        "더 나은 서비스로 보답하겠습니다.",
    ],
    "sms.driver_delay": [
        "카카오 T 파트너 운영센터입니다.",
        "00월 00일 ‘출발지’ > ‘도착지’까지 운행 건 관련하여 안내드릴 사항이 있어 연락드렸어요.",
        "요청하신 내용을 신속하게 처리하고자 고객님에게 연락 시도하고 있으나, "
        "부재로 확인이 지연되고 있어 양해 말씀드립니다.",
        "고객님과 연락이 되는대로 신속하게 요청하신 내용 처리하도록 하겠습니다.",
        "언제나 기사님의 편리한 운행을 위해 노력하겠습니다.",
    ],
}

# Seed markup that is not a sentence: ⓐ/ⓑ markers and the 카드 콜/현금 콜 headings.
_NOISE = {"ⓐ", "ⓑ", ":", "카드 콜", "현금 콜"}


def _seed_lines(raw: str) -> list[str]:
    """The seed as clean lines: table cells and bold runs split apart, markup dropped."""
    lines: list[str] = []
    for raw_line in raw.splitlines():
        line = re.sub(r"^\s*>\s*", "", raw_line)  # blockquote
        parts = line.split("|") if line.lstrip().startswith("|") else line.split("**")
        for part in parts:
            text = part.replace("*", "").replace("\\", "")
            text = re.sub(r"\s+", " ", text).strip()
            if text and text != "```" and text not in _NOISE:
                lines.append(text)
    return lines


def _extract(lines: list[str], first: str, last: str) -> list[str]:
    """The seed lines from the first one equal to `first` to the next one equal to `last`."""
    start = lines.index(first)
    end = lines.index(last, start)
    return lines[start : end + 1]


def _read_blocks_from_seed() -> dict[str, list[str]]:
    lines = _seed_lines(SEED.read_text(encoding="utf-8"))
    return {key: _extract(lines, block[0], block[-1]) for key, block in SEED_BLOCKS.items()}


def seed_block(key: str) -> list[str]:
    """A block of seed sentences (the literals, proven equal to the seed file below)."""
    return SEED_BLOCKS[key]


def test_literals_are_the_seed_sentences() -> None:
    """The literal blocks are exactly the seed's own lines (the seed ships in the repo)."""
    assert _read_blocks_from_seed() == SEED_BLOCKS


# --- helpers ----------------------------------------------------------------------

_FARE_TOKEN = re.compile(r"(?<![0-9,])(0,000|0000|000)원")


def _squash(text: str) -> str:
    """Whitespace and line breaks may differ from the seed: compare without them."""
    return re.sub(r"\s+", "", text)


def _fill(line: str, values: dict[str, str]) -> str:
    """Seed placeholders → values. Fare tokens (000원, 0,000원, 0000원) are keyed by token."""
    line = _FARE_TOKEN.sub(lambda m: values.get(m.group(0), m.group(0)), line)
    for placeholder, value in values.items():
        if not _FARE_TOKEN.fullmatch(placeholder):
            line = line.replace(placeholder, value)
    return line


def assert_seed_lines_in(body: str, key: str, values: dict[str, str] | None = None) -> None:
    """Every seed sentence of a block, with the ticket's values filled, is in the body."""
    for line in seed_block(key):
        expected = _fill(line, values or {})
        assert _squash(expected) in _squash(body), f"{key}: missing {expected!r} in\n{body}"


def run(fields: dict[str, Any], options: EngineOptions | None = None) -> Decision:
    """A decision through the real engine (자사콜(일반), 본인확인 완료 unless overridden)."""
    data = {
        "consult_type": "driver_force_rerun_own_normal",
        "identity_verified": True,
        **fields,
    }
    return decide(parse_input({"fields": data}, catalog.fields), catalog, renderer, options)


def texts_by_key(
    decision: Decision, options: EngineOptions | None = None
) -> dict[str, RenderedText]:
    """Every text of the decision's branch, every variant, rendered with the ticket's values.

    The golden tests read the words; which texts are *offered* is tested in
    test_texts_offered.py (ERRATA 2: texts chosen by the decision).
    """
    return every_text(decision, options)


def every_text(decision: Decision, options: EngineOptions | None = None) -> dict[str, RenderedText]:
    """Render all texts (all variant cases) of the decision's branch."""
    guide = catalog.guide(GUIDE)
    ticket = parse_input({"fields": decision.facts}, catalog.fields)
    env = FactEnv(guide, ticket, catalog)
    url = (options or EngineOptions()).admin_call_url
    context = renderer.context(guide, env.known_values(), url)
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


TRIP: dict[str, Any] = {
    "trip_datetime": "11월 20일",
    "departure": "강남역",
    "destination": "판교역",
    "reason": "앱 조작 실수",
    "original_fare": "23,000원",
}
PLACES = {
    "OO(출발지)": "강남역",
    "OO(도착지)": "판교역",
    "‘출발지’": "‘강남역’",
    "‘도착지’": "‘판교역’",
    "00월 00일": "11월 20일",
    "OOO 사유로": "앱 조작 실수 사유로",
}
FARES = {"000원": "23,000원", "0,000원": "23,000원", "0000원": "27,000원"}

BRANCH_TICKETS: dict[str, dict[str, Any]] = {
    "reconnect.verify_identity": {"identity_verified": None},
    "reconnect.partner_situation_room": {"consult_type": "driver_force_rerun_partner"},
    "reconnect.consigned_not_started": {
        "consult_type": "driver_force_rerun_consigned",
        "trip_started": False,
    },
    "reconnect.consigned_already_driven": {
        "consult_type": "driver_force_rerun_consigned",
        "trip_started": True,
    },
    "reconnect.ask_presence": {},
    "reconnect.call_back_when_together": {"customer_presence": "before_meeting"},
    "reconnect.customer_outbound": {
        "customer_presence": "before_meeting",
        "driver_refuses_callback": True,
    },
    "reconnect.together.no_fare_change": {
        "customer_presence": "together",
        "fare_adjustment": False,
    },
    "reconnect.together.fare_change": {"customer_presence": "together", "fare_adjustment": True},
    "reconnect.customer_unreachable": {
        "customer_presence": "separated",
        "customer_consent": "unreachable",
    },
    "reconnect.separated.no_fare_change": {
        "customer_presence": "separated",
        "fare_adjustment": False,
    },
    "reconnect.separated.fare_change": {
        "customer_presence": "separated",
        "fare_adjustment": True,
    },
}

# Rows 8-13 that lead to the forced reconnection (customer OB, recall script).
ACTION_BRANCHES = {
    "reconnect.customer_outbound",
    "reconnect.together.no_fare_change",
    "reconnect.together.fare_change",
    "reconnect.separated.no_fare_change",
    "reconnect.separated.fare_change",
}


def branch_run(branch: str, **extra: Any) -> Decision:
    decision = run({**BRANCH_TICKETS[branch], **extra})
    assert decision.branch == branch
    return decision


# --- every branch -----------------------------------------------------------------


def test_every_branch_of_the_guide_is_covered() -> None:
    assert set(BRANCH_TICKETS) == set(catalog.guide(GUIDE).branch_ids())


@pytest.mark.parametrize("branch", sorted(BRANCH_TICKETS))
def test_every_branch_renders_its_texts(branch: str) -> None:
    texts = every_text(
        branch_run(
            branch, **TRIP, payment_method="card", requester_role="driver", customer_recalling=False
        )
    )
    assert texts
    for text in texts.values():
        assert text.title, text.key
        assert text.body.strip(), text.key


@pytest.mark.parametrize("branch", sorted(BRANCH_TICKETS))
@pytest.mark.parametrize("filled", [False, True], ids=["unknown", "known"])
def test_no_none_in_any_body(branch: str, filled: bool) -> None:
    """Unknown values render seed-style placeholders, never None or template syntax."""
    extra: dict[str, Any] = {
        "origin_call_id": "1001",
        "forced_call_id": "2002",
        "customer_recalling": True,
    }
    if filled:
        extra.update(TRIP, estimated_fare=27000, payment_method="cash", admin_status="completed")
    decision = branch_run(branch, **extra)
    assert decision.texts
    for text in decision.texts:
        assert "None" not in text.body, text.key
        assert "{{" not in text.body, text.key
        assert "{%" not in text.body, text.key
    assert "None" not in decision.note


# --- Q1: verify identity, partner, consigned, presence, call back -----------------


def test_verify_identity_golden_and_no_information_mentioned_first() -> None:
    decision = branch_run("reconnect.verify_identity", **TRIP)
    texts = texts_by_key(decision)
    for key in ("q1.1.empathy", "q1.2.trip_info", "q1.2.trip_number"):
        assert_seed_lines_in(texts[key].body, key)
    # 정보 선언급 금지: the request for trip details never names the ticket's values.
    for text in decision.texts:
        for value in ("강남역", "판교역", "11월 20일"):
            assert value not in text.body, text.key


@pytest.mark.parametrize(
    ("status", "cancelled", "ended"),
    [
        (None, True, True),
        ("cancelled_after_assignment", True, False),
        ("completed", False, True),
    ],
)
def test_empathy_line_follows_the_admin_status(
    status: str | None, cancelled: bool, ended: bool
) -> None:
    body = texts_by_key(branch_run("reconnect.verify_identity", admin_status=status))[
        "q1.1.empathy"
    ].body
    assert ("콜이 취소되어 많이 놀라셨겠습니다." in body) is cancelled
    assert ("운행이 종료되어 많이 놀라셨겠습니다." in body) is ended
    assert body.startswith("그러셨군요, 다시 운행하게 되어 다행입니다.")


@pytest.mark.parametrize("consult", ["driver_force_rerun_partner", None])
def test_partner_situation_room_golden(consult: str | None) -> None:
    """ERRATA 2: a setting still at its placeholder (상황실 000-0000-0000) is shown as
    "설정 필요", never printed into a customer script as if real."""
    fields: dict[str, Any] = {"consult_type": consult or "driver_force_rerun_other"}
    if consult is None:
        fields["call_type"] = "delivery_partner"  # 탁송제휴콜 has no 상담유형 leaf
    decision = run(fields)
    assert decision.branch == "reconnect.partner_situation_room"
    text = next(t for t in decision.texts if t.key == "partner.situation_room")
    assert catalog.guide(GUIDE).settings["situation_room_phone"] == "000-0000-0000"
    assert_seed_lines_in(
        text.body, "partner.situation_room", {"000-0000-0000": "설정 필요 (상황실 번호)"}
    )
    assert "000-0000-0000" not in text.body
    [slot] = text.placeholders
    assert (slot.kind, slot.name) == ("setting", "situation_room_phone")
    assert text.body[slot.start : slot.end] == "설정 필요 (상황실 번호)"


def test_situation_room_number_per_partner() -> None:
    """The article's "발주사 상황실로 문의" — each 발주사 has its own number (a guide setting)."""
    guide = catalog.guide(GUIDE)
    configured = replace(
        guide, settings={**guide.settings, "situation_room_phones": {"A대리": "1588-0001"}}
    )
    for company, expected in (("A대리", "1588-0001"), ("B대리", "설정 필요 (상황실 번호)")):
        values = {name: None for name in catalog.fields} | {"partner_company": company}
        context = renderer.context(configured, values, "https://admin.test/{call_id}")
        body = renderer.render(GUIDE, "partner_situation_room.j2", context)
        assert f"상황실 번호는 {expected}번입니다." in body


@pytest.mark.parametrize(
    ("branch", "block"),
    [
        ("reconnect.consigned_not_started", "consigned.not_started"),
        ("reconnect.consigned_already_driven", "consigned.already_driven"),
    ],
)
@pytest.mark.parametrize(
    ("role", "roles"),
    [("driver", {"driver"}), ("customer", {"customer"}), (None, {"driver", "customer"})],
)
def test_consigned_text_by_requester_role(
    branch: str, block: str, role: str | None, roles: set[str]
) -> None:
    decision = branch_run(branch, requester_role=role)
    offered = {t.key for t in decision.texts if t.key.startswith(block)}
    assert offered == {f"{block}.{r}" for r in roles}
    texts = texts_by_key(decision)
    for r in roles:
        key = f"{block}.{r}"
        assert texts[key].kind == "reply"
        assert_seed_lines_in(texts[key].body, key)
        assert _squash(texts[key].body) == _squash(seed_block(key)[0])


def test_consigned_with_unknown_trip_start_asks_before_choosing_the_wording() -> None:
    decision = run({"consult_type": "driver_force_rerun_consigned", "requester_role": "driver"})
    assert decision.branch == "reconnect.consigned_not_started"
    assert decision.missing == ["trip_started"]
    assert decision.outcome == "blocked"
    assert [t.key for t in decision.texts if t.kind == "reply"] == ["ask.trip_started"]


def test_ask_presence_golden() -> None:
    texts = texts_by_key(branch_run("reconnect.ask_presence"))
    both = texts["q1.3.ask_presence"].body + "\n" + texts["ask.reason"].body
    assert_seed_lines_in(both, "q1.3.ask_presence")


def test_call_back_when_together_golden_with_partner_center_phone() -> None:
    body = texts_by_key(branch_run("reconnect.call_back_when_together"))["q1.4.call_back"].body
    assert catalog.guide(GUIDE).settings["partner_center_phone"] == "1644-8830"
    assert_seed_lines_in(body, "q1.4.call_back")
    assert "카카오 T 파트너운영센터(☎1644-8830)로" in body


# --- Q1 ⑤: customer outbound ------------------------------------------------------------


def test_customer_outbound_golden() -> None:
    decision = branch_run("reconnect.customer_outbound", **TRIP, payment_method="cash")
    texts = texts_by_key(decision)
    assert_seed_lines_in(texts["q1.5.ask_fare_change"].body, "q1.5.ask_fare_change")
    assert_seed_lines_in(texts["q1.5.no_fare_change"].body, "q1.5.no_fare_change")
    assert_seed_lines_in(texts["ob.1.greeting"].body, "ob.1.greeting", PLACES)
    consent = texts["ob.2.consent.cash"].body
    assert_seed_lines_in(consent, "ob.2.consent", {**PLACES, **FARES})
    assert_seed_lines_in(consent, "ob.2.consent.cash", FARES)
    assert "앱 조작 실수 사유로" in consent
    assert "기사님께 23,000원 현금으로 지불 부탁드려요." in consent


def test_customer_outbound_with_fare_change_asks_for_the_adjusted_fare_consent() -> None:
    """Q1 ⑤ says only "(요금 조정 필요 시 추가 동의 필요)": its fare-change reply is ours
    (from_article false, ERRATA 2); the OB consent uses the article's 요금조정 wording."""
    decision = branch_run(
        "reconnect.customer_outbound",
        **TRIP,
        payment_method="card",
        admin_status="completed",
        fare_adjustment=True,
        agreed_fare=30000,
    )
    offered = {t.key: t for t in decision.texts}
    assert "q1.5.no_fare_change" not in offered
    assert "fare.estimate" not in offered  # an agreed fare is known
    assert offered["q1.5.fare_change"].from_article is False
    assert "30,000원은" in offered["q1.5.fare_change"].body
    assert_seed_lines_in(
        texts_by_key(decision)["ob.2.consent_fare_change.card"].body,
        "ob.2.consent_fare_change.separated.card",
        {"000원": "23,000원", "0000원": "30,000원"},
    )
    assert "before_meeting_fare_change_wording" in decision.notices


def test_unknown_trip_values_keep_the_seed_placeholders() -> None:
    texts = texts_by_key(branch_run("reconnect.customer_outbound", payment_method="card"))
    assert_seed_lines_in(texts["ob.1.greeting"].body, "ob.1.greeting")
    consent = texts["ob.2.consent.card"].body
    assert "OOO 사유로" in consent
    assert "OOO원" in consent


# --- Q2: together --------------------------------------------------------------------


def test_together_no_fare_change_card_golden() -> None:
    decision = branch_run("reconnect.together.no_fare_change", **TRIP, payment_method="card")
    texts = texts_by_key(decision)
    assert_seed_lines_in(texts["q2.1.ask_fare_change"].body, "ask_fare_change")
    body = texts["q2.2.no_fare_change.card"].body
    assert_seed_lines_in(body, "q2.2.no_fare_change.card", FARES)
    assert "23,000원으로 결제를 진행하고 포인트가 적립될 예정이에요." in body
    assert_seed_lines_in(texts["q2.common"].body, "q2.common")
    assert_seed_lines_in(texts["ob.1.greeting"].body, "ob.1.greeting", PLACES)
    assert "강남역에서 판교역까지 카카오 T 대리 호출하신" in texts["ob.1.greeting"].body
    consent = texts["ob.2.consent.card"].body
    assert_seed_lines_in(consent, "ob.2.consent.together", {**PLACES, **FARES})
    assert_seed_lines_in(consent, "ob.2.consent.card", FARES)


def test_together_no_fare_change_cash_golden() -> None:
    texts = texts_by_key(
        branch_run("reconnect.together.no_fare_change", **TRIP, payment_method="cash")
    )
    body = texts["q2.2.no_fare_change.cash"].body
    assert_seed_lines_in(body, "q2.2.no_fare_change.cash", FARES)
    assert "23,000원을 현장에서 현금으로 수령 부탁드려요." in body
    assert_seed_lines_in(texts["ob.2.consent.cash"].body, "ob.2.consent.cash", FARES)


def test_together_fare_change_golden_with_estimated_fare() -> None:
    decision = branch_run(
        "reconnect.together.fare_change", **TRIP, estimated_fare=27000, payment_method="card"
    )
    texts = texts_by_key(decision)
    assert_seed_lines_in(texts["q2.3.ask_agreed_fare"].body, "q2.3.ask_agreed_fare")
    assert_seed_lines_in(texts["fare.estimate"].body, "estimate", {"000원": "27,000원"})
    assert_seed_lines_in(texts["q2.3.fare_change.card"].body, "q2.3.fare_change.card", FARES)
    assert_seed_lines_in(texts["q2.common"].body, "q2.common")
    consent = texts["ob.2.consent_fare_change.card"].body
    assert_seed_lines_in(consent, "ob.2.consent_fare_change.together", {**PLACES, **FARES})
    assert_seed_lines_in(consent, "ob.2.consent_fare_change.together.card", FARES)
    assert "23,000원은 결제 취소하고 27,000원으로 재결제가 진행될 예정이에요." in consent


def test_together_fare_change_prefers_the_agreed_fare() -> None:
    decision = branch_run(
        "reconnect.together.fare_change",
        **TRIP,
        agreed_fare=30000,
        estimated_fare=27000,
        payment_method="cash",
    )
    texts = texts_by_key(decision)
    assert "fare.estimate" not in {t.key for t in decision.texts}  # (합의 요금 없을 경우) only
    agreed = {**FARES, "0000원": "30,000원"}
    assert_seed_lines_in(texts["q2.3.fare_change.cash"].body, "q2.3.fare_change.cash", agreed)
    consent = texts["ob.2.consent_fare_change.cash"].body
    assert_seed_lines_in(consent, "ob.2.consent_fare_change.together.cash", agreed)
    assert "27,000원" not in consent


# --- Q3: separated -------------------------------------------------------------------


def test_separated_no_fare_change_golden() -> None:
    texts = texts_by_key(
        branch_run("reconnect.separated.no_fare_change", **TRIP, payment_method="card")
    )
    assert_seed_lines_in(texts["q3.1.ask_fare_change"].body, "ask_fare_change")
    assert_seed_lines_in(texts["q3.2.no_fare_change"].body, "q3.2.no_fare_change")
    consent = texts["ob.2.consent.card"].body
    assert_seed_lines_in(consent, "ob.2.consent", {**PLACES, **FARES})
    assert_seed_lines_in(consent, "ob.2.consent.card", FARES)


def test_separated_fare_change_golden_with_unknown_payment_method() -> None:
    decision = branch_run("reconnect.separated.fare_change", **TRIP, estimated_fare=27000)
    texts = texts_by_key(decision)
    assert_seed_lines_in(texts["q3.3.ask_agreed_fare"].body, "q3.3.ask_agreed_fare")
    assert_seed_lines_in(texts["fare.estimate"].body, "estimate", {"000원": "27,000원"})
    assert texts["q3.3.fare_change"].body.startswith("확인 감사합니다.")
    assert_seed_lines_in(texts["q3.3.fare_change"].body, "q3.3.fare_change")
    for method in ("card", "cash"):
        consent = texts[f"ob.2.consent_fare_change.{method}"].body
        assert_seed_lines_in(consent, "ob.2.consent_fare_change.separated", PLACES)
        assert_seed_lines_in(consent, f"ob.2.consent_fare_change.separated.{method}", FARES)
    assert (
        "현금결제 금액 27,000원으로 변경하겠습니다." in texts["ob.2.consent_fare_change.cash"].body
    )


# --- variants -------------------------------------------------------------------------


def test_card_and_cash_bodies_differ_as_in_the_seed() -> None:
    texts = texts_by_key(branch_run("reconnect.together.no_fare_change", **TRIP))
    assert "현금" not in texts["q2.2.no_fare_change.card"].body
    assert "현금으로 수령" in texts["q2.2.no_fare_change.cash"].body
    assert "결제가 진행될 예정이에요." in texts["ob.2.consent.card"].body
    assert "현금으로 지불" in texts["ob.2.consent.cash"].body


# --- OB, SMS, recall, link memo -----------------------------------------------------


@pytest.mark.parametrize("branch", sorted(BRANCH_TICKETS))
def test_outbound_texts_exactly_on_the_action_branches(branch: str) -> None:
    texts = texts_by_key(branch_run(branch, **TRIP))
    outbound = {k for k, t in texts.items() if t.kind == "outbound"}
    if branch in ACTION_BRANCHES:
        assert "ob.1.greeting" in outbound
        assert any(k.startswith("ob.2.") for k in outbound)
        # The recall script speaks to the customer (ERRATA 2): an outbound text.
        assert "recall.cancel_request" in outbound
    else:
        assert outbound == set()


def test_customer_unreachable_sms_golden() -> None:
    """ERRATA 2, Korean forms: the particle follows the number read aloud — the article's
    "1599-9400로" reads "1599-9400으로" (구사공공 → 영)."""
    texts = texts_by_key(branch_run("reconnect.customer_unreachable", **TRIP))
    fixed = {**PLACES, "1599-9400로": "1599-9400으로"}
    for key in ("sms.customer_unreachable", "sms.driver_delay"):
        assert_seed_lines_in(texts[key].body, key, fixed)
    assert "11월 20일 ‘강남역’ > ‘판교역’까지 이용하신 건" in texts["sms.customer_unreachable"].body
    assert "카카오 T 긴급신고센터 1599-9400으로" in texts["sms.customer_unreachable"].body


def test_customer_unreachable_sms_dates_read_in_korean() -> None:
    """ERRATA 2: SMS dates read in Korean, never "2024-11-20 23:10"; the article's "00월 00일"
    is a day, so no time (force_reconnect R12)."""
    texts = texts_by_key(
        branch_run(
            "reconnect.customer_unreachable", **{**TRIP, "trip_datetime": "2024-11-20 23:10"}
        )
    )
    body = texts["sms.customer_unreachable"].body
    assert "11월 20일 ‘강남역’" in body
    assert "2024-11-20" not in body
    assert "23:10" not in body


def test_customer_unreachable_sms_placeholders_as_in_the_seed() -> None:
    texts = texts_by_key(branch_run("reconnect.customer_unreachable"))
    fixed = {"1599-9400로": "1599-9400으로"}
    for key in ("sms.customer_unreachable", "sms.driver_delay"):
        assert_seed_lines_in(texts[key].body, key, fixed)


def test_link_memo_golden_when_both_ids_known() -> None:
    options = EngineOptions(admin_call_url="https://admin.test/calls/{call_id}")
    decision = run(
        {
            **BRANCH_TICKETS["reconnect.together.no_fare_change"],
            "origin_call_id": "1001",
            "forced_call_id": "2002",
        },
        options,
    )
    memo = texts_by_key(decision, options)["memo.link"]
    assert memo.kind == "note"
    original, forced = memo.body.split("\n\n")[-2:]
    # 원콜 어드민 ← 강콜 ID + 콜링크; 강콜 어드민 ← 원콜 ID.
    assert original.startswith("원콜 어드민(원콜 ID 1001)")
    assert "강콜 ID 2002 (https://admin.test/calls/2002)" in original
    assert forced.startswith("강콜 어드민(강콜 ID 2002)")
    assert forced.endswith("원콜 ID 1001")
