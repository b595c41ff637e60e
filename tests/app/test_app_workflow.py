"""The sidebar under queue pressure: first screen, channels, placeholders, problems, keys, theme."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from app_helpers import (
    BrowserRun,
    answer_problem,
    guidance,
    serve_guidance_as,
    set_field,
    ticket_id,
)

from tooling.testing import Stack

pytestmark = pytest.mark.browser

ELIGIBLE = "강제재연결: 동행, 요금조정 없음 (현금, 배정후취소)"
OUTBOUND = "강제재연결: 만나기 전, 재연락 거부 → 고객 OB"
ALREADY = "강제재연결: 이미 한 번 강제연결한 원콜"
SUGGESTED = "상담유형 없음: 주차 가이드 제안"
SERVER_WORDS = "SERVER-SIDE DETAIL THAT MUST NOT SHOW"


def answer_with_problem(
    run: BrowserRun, method: str, suffix: str, status: int, slug: str, **extra: Any
) -> None:
    """Make Zendesk's proxy (the harness) answer one backend route with a problem."""
    answer_problem(run, method, suffix, status, slug, **{"detail": SERVER_WORDS, **extra})


def box_bottom(locator: Any) -> float:
    box = locator.bounding_box()
    assert box is not None
    return float(box["y"] + box["height"])


# ---------------------------------------------------------------- first screen


def test_first_screen_shows_outcome_next_script_and_apply(
    browser_run: BrowserRun, stack: Stack
) -> None:
    """320×800: the outcome, the next action's script and Apply, without scrolling."""
    run = browser_run
    run.page.set_viewport_size({"width": 320, "height": 800})
    run.open(ticket_id(stack, ELIGIBLE), state="guidance", extra="&apps=only")
    assert run.app.locator(".gp-outcome__label").inner_text() == "진행 가능"
    for part in (".gp-outcome__label", ".gp-now .gp-card__body", '[data-action="apply"]'):
        assert box_bottom(run.app.locator(part)) <= 800, part
    assert run.page.evaluate("document.scrollingElement.scrollTop") == 0
    preview = run.app.locator("[data-preview]").inner_text()
    expected = guidance(stack, ticket_id(stack, ELIGIBLE))
    assert f"태그 {len(expected['tags'])}개" in preview
    assert f"필드 {len(expected['fields_set'])}개" in preview
    run.shot("20-first-screen-320", full=True)


def test_korean_words_never_break_inside(browser_run: BrowserRun, stack: Stack) -> None:
    run = browser_run
    run.open(ticket_id(stack, ELIGIBLE), state="guidance")
    style = run.app_frame().evaluate(
        "getComputedStyle(document.querySelector('.gp-card__body')).wordBreak"
    )
    assert style == "keep-all"


# ---------------------------------------------------------------- channels


@contextmanager
def consent_not_yet_asked(stack: Stack) -> Iterator[int]:
    """The OUTBOUND ticket before the customer OB: its consent unknown, so the OB is next."""
    ident = ticket_id(stack, OUTBOUND)
    agreed = stack.emulator.store.get_ticket(ident)
    saved = next(
        f["value"]
        for f in agreed["custom_fields"]
        if f["id"] == stack.field_map["customer_consent"]
    )
    set_field(stack, ident, "customer_consent", None)
    try:
        yield ident
    finally:
        set_field(stack, ident, "customer_consent", saved)


def test_outbound_and_sms_are_copy_only_and_inserting_never_flips_the_composer(
    browser_run: BrowserRun, stack: Stack
) -> None:
    with consent_not_yet_asked(stack) as ident:
        _check_copy_only_and_composer(browser_run, stack, ident)


def _check_copy_only_and_composer(run: BrowserRun, stack: Stack, ident: int) -> None:
    run.open(ident, state="guidance")
    expected = guidance(stack, ident)
    kinds = {t["key"]: t["kind"] for t in expected["texts"]}
    assert "outbound" in kinds.values()
    for key, kind in kinds.items():
        card = run.app.locator(f'[data-text="{key}"]')
        has_insert = card.locator('[data-action="insert"]').count() == 1
        assert has_insert == (kind in ("reply", "note")), (key, kind)
        assert card.locator('[data-action="copy"]').count() == 1
    copy_only = next(k for k, kind in kinds.items() if kind in ("outbound", "sms"))
    channel = run.app.locator(f'[data-text="{copy_only}"] .gp-channel').text_content() or ""
    assert ("통화" in channel) if kinds[copy_only] == "outbound" else ("복사" in channel)
    # Enter on a copy-only card copies (there is nothing to insert)
    copy_card = run.app.locator(f'[data-text="{copy_only}"]')
    if not copy_card.is_visible():
        run.app.locator('[data-fold="rest"] > summary').click()
    copy_card.focus()
    run.page.keyboard.press("Enter")
    copy_card.get_by_text("클립보드에 복사했습니다").wait_for()
    assert run.page.input_value("#composer") == ""
    # the agent is writing an internal note; a reply script must not turn it public
    reply = next((k for k, kind in kinds.items() if kind == "reply"), None)
    if reply is not None:
        run.page.evaluate("window.harness.composer.type = 'internalNote'")
        run.page.fill("#composer", "기사님과 통화함")
        if run.app.locator('[data-fold="rest"]').get_attribute("open") is None:
            run.app.locator('[data-fold="rest"] > summary').click()
        card = run.app.locator(f'[data-text="{reply}"]')
        card.locator('[data-action="insert"]').click()
        card.get_by_text("작성 중인 내부 메모가 있어").wait_for()
        assert run.page.input_value("#composer") == "기사님과 통화함"
        assert run.page.evaluate("window.harness.composer.type") == "internalNote"
        assert not [e for e in run.log("set") if "comment.type" in e["detail"]]


# ---------------------------------------------------------------- placeholders


def test_placeholders_are_marked_the_agent_slot_is_filled_and_blanks_are_reachable(
    browser_run: BrowserRun, stack: Stack
) -> None:
    with consent_not_yet_asked(stack) as ident:
        _check_placeholders(browser_run, stack, ident)


def _check_placeholders(run: BrowserRun, stack: Stack, ident: int) -> None:
    run.open(ident, state="guidance")
    expected = guidance(stack, ident)
    greeting = next(t for t in expected["texts"] if "운영센터 OOO" in t["body"])
    card = run.app.locator(f'[data-text="{greeting["key"]}"]')
    # the 상담사 slot carries the agent's own name (currentUser.name)
    assert card.locator('[data-filled="agent"]').text_content() == "Harness Agent"
    assert "운영센터 Harness Agent입니다" in (card.locator(".gp-card__body").text_content() or "")
    # a fact still unknown is highlighted, and one click puts the caret on it, selected
    blanks = [t for t in expected["texts"] if "OOO 사유" in t["body"] or "OOO으로" in t["body"]]
    if blanks:
        blank_card = run.app.locator(f'[data-text="{blanks[0]["key"]}"]')
        if not blank_card.is_visible():
            run.app.locator('[data-fold="rest"] > summary').click()
        mark = blank_card.locator('mark[data-placeholder="fact"]').first
        assert mark.text_content() == "OOO"
        blank_card.locator('[data-action="next-placeholder"]').click()
        assert run.app_frame().evaluate("String(window.getSelection())") == "OOO"
        run.page.keyboard.type("경유지 추가")
        body = blank_card.locator(".gp-card__body").text_content() or ""
        assert "경유지 추가 사유" in body or "경유지 추가으로" in body
        blank_card.locator('[data-action="copy"]').click()
        blank_card.get_by_text("클립보드에 복사했습니다").wait_for()


def test_a_setting_placeholder_is_named_and_flagged(browser_run: BrowserRun, stack: Stack) -> None:
    """A C1 `setting` placeholder shows "설정 필요" with the setting's name, never as real text."""
    run = browser_run
    ident = ticket_id(stack, ELIGIBLE)
    real = guidance(stack, ident)
    first = real["texts"][0]
    body = "상황실 설정 필요 (상황실 번호)로 연락 주세요."
    start = body.index("설정 필요")
    doctored = {
        **real,
        "outcome": "eligible",
        "texts": [
            {
                **first,
                "body": body,
                "placeholders": [
                    {
                        "start": start,
                        "end": body.index(")") + 1,
                        "kind": "setting",
                        "name": "situation_room_phone",
                    }
                ],
                "from_article": False,
                "asks": ["fare_adjustment"],
            }
        ],
    }

    serve_guidance_as(run, doctored)
    run.open(ident, state="guidance")
    card = run.app.locator(f'[data-text="{first["key"]}"]')
    mark = card.locator('mark[data-placeholder="setting"]')
    assert mark.text_content() == "설정 필요 (상황실 번호)"
    assert mark.get_attribute("data-name") == "situation_room_phone"
    assert "situation_room_phone" in card.locator("[data-setting]").inner_text()
    assert card.locator("[data-not-from-article]").is_visible()
    # C1 `asks`: the facts this script asks for, by label
    assert card.locator("[data-asks]").get_attribute("data-asks") == "fare_adjustment"
    assert "경유지 추가·목적지 변경" in card.locator("[data-asks]").inner_text()


# ---------------------------------------------------------------- problems


@pytest.mark.parametrize(
    ("method", "suffix", "status", "slug", "kind", "words"),
    [
        ("GET", "/guidance", 403, "forbidden", "forbidden", "권한이 없어"),
        ("GET", "/guidance", 401, "session-expired", "session_expired", "세션이 만료"),
        ("GET", "/guidance", 503, "zendesk-unavailable", "zendesk_down", "Zendesk에 연결할"),
        ("GET", "/guidance", 500, "internal", "server", "Guidepost 서버에서 문제가"),
        ("POST", "/apply", 409, "ticket-closed", "ticket_closed", "종료(closed)된 티켓"),
        ("POST", "/apply", 403, "forbidden-edit", "forbidden_edit", "수정 권한이 없어"),
        ("POST", "/apply", 409, "decision-changed", "decision_changed", "결정이 다릅니다"),
        ("POST", "/apply", 409, "branch-changed", "conflict", "티켓이 변경되어"),
    ],
)
def test_problems_are_shown_in_the_agents_words(
    browser_run: BrowserRun,
    stack: Stack,
    method: str,
    suffix: str,
    status: int,
    slug: str,
    kind: str,
    words: str,
) -> None:
    """Each problem slug has its own message; the server's detail never shows."""
    run = browser_run
    answer_with_problem(run, method, suffix, status, slug)
    ident = ticket_id(stack, ELIGIBLE)
    if method == "GET":
        run.open(ident, state=f"error:{kind}")
    else:
        run.open(ident, state="guidance")
        run.app.locator('[data-action="apply"]').click()
        run.app.locator('[data-action="apply-confirm"]').click()
        run.wait_state(f"error:{kind}")
        assert run.app.locator(".gp-title__link").is_visible()  # guide + article stay
        assert not [c for c in stack.emulator.store.comments(ident) if not c["public"]]
    alert = run.app.locator(f'[data-error="{kind}"]')
    assert words in alert.inner_text()
    assert SERVER_WORDS not in run.app_frame().content()
    if kind in ("conflict", "decision_changed"):
        assert alert.locator('[data-action="reload"]').is_visible()
    if kind == "session_expired":  # only Zendesk can vouch again: reload the apps, no button
        assert alert.locator("button").count() == 0
        assert "Reload all apps" in alert.inner_text()


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_backend_host_outside_the_domain_whitelist_does_not_matter_to_sessions(
    browser_run: BrowserRun, stack: Stack
) -> None:
    """Zendesk applies domainWhitelist to secure settings only; a session request has none.

    The sidebar no longer sends a secure setting (ERRATA 3: the session is Guidepost's own,
    minted after Zendesk's signed URL), so a backend host missing from the whitelist is not
    a failure any more: the proxy forwards the request and the guidance shows.
    """
    run = browser_run
    port = stack.backend_url.rsplit(":", 1)[1]
    run.harness.settings(backend_url=f"http://localhost:{port}")  # not in domainWhitelist
    run.open(ticket_id(stack, ELIGIBLE), state="guidance")
    assert run.harness.proxy_log()[-1]["status"] == 200
    assert run.app.locator('[data-error="whitelist"]').count() == 0


# ---------------------------------------------------------------- form, Zendesk events


def test_a_write_by_apply_reaches_the_form_and_unsaved_edits_survive_an_outside_update(
    browser_run: BrowserRun, stack: Stack
) -> None:
    run = browser_run
    ident = ticket_id(stack, ELIGIBLE)
    run.open(ident, state="guidance")
    expected = guidance(stack, ident)
    run.app.locator('[data-action="apply"]').click()
    run.app.locator('[data-action="apply-confirm"]').click()
    run.app.locator('[data-applied="true"]').wait_for()
    # Zendesk pushes the backend's write to the open ticket: ticket.updated, fields in the form
    run.page.wait_for_function(
        "window.harness.log.some(e => e.detail && e.detail.name === 'ticket.updated')"
    )
    for key, value in expected["fields_set"].items():
        shown = run.page.input_value(f"#field-{key}")
        assert shown.endswith(str(value)), (key, shown)
    run.app.locator("[data-already-applied], [data-applied]").first.wait_for()
    # an unsaved edit, then someone else saves another field: the edit stays unsaved
    run.page.select_option("#field-driver_on_duty", "gp_driver_on_duty_no")
    run.app.locator('[data-state="guidance"][data-source="form"]').wait_for()
    set_field(stack, ident, "customer_recalling", "gp_customer_recalling_no")
    run.page.evaluate("window.harness.outsideUpdate()")
    run.page.wait_for_function(
        "window.harness.log.filter(e => e.detail && e.detail.name === 'ticket.updated').length >= 2"
    )
    assert run.page.evaluate("window.harness.dirty()") == [stack.field_map["driver_on_duty"]]
    run.app.locator('[data-state="guidance"][data-source="form"]').wait_for()
    assert run.app.locator('[data-action="apply"]').is_disabled()


def test_earlier_forced_call_tickets_open_in_zendesk(browser_run: BrowserRun, stack: Stack) -> None:
    run = browser_run
    ident = ticket_id(stack, ALREADY)
    run.open(ident, state="guidance")
    link = run.app.locator("[data-ticket-link]").first
    link.wait_for()
    target = int(link.get_attribute("data-ticket-link") or "0")
    assert target not in (0, ident)
    link.click()
    run.page.wait_for_function(f"new URL(location.href).searchParams.get('ticket') === '{target}'")
    assert run.page.evaluate("window.harness.routes") == [["ticket", target]]


def test_a_suggested_guide_sets_the_consultation_type_in_one_click(
    browser_run: BrowserRun, stack: Stack
) -> None:
    run = browser_run
    ident = ticket_id(stack, SUGGESTED)
    run.open(ident, state="suggested")
    choice = run.app.locator('[data-action="set-consult-type"]')
    choice.wait_for()
    assert "주차_고객::결제::입출차 오/미인식::연동" in run.app.locator(".gp-choice").inner_text()
    choice.click()
    run.app.locator('[data-state="guidance"][data-source="form"]').wait_for()
    assert run.page.input_value("#field-consult_type").endswith(
        "parking_integration_onsite_payment"
    )
    sets = [e["detail"] for e in run.log("set")]
    field = f"ticket.customField:custom_field_{stack.field_map['consult_type']}"
    assert any(field in detail for detail in sets)
    assert run.app.locator('[data-action="apply"]').is_disabled()  # submit first


# ---------------------------------------------------------------- keyboard, theme


def test_j_k_move_between_cards_c_copies_enter_inserts(
    browser_run: BrowserRun, stack: Stack
) -> None:
    run = browser_run
    ident = ticket_id(stack, ELIGIBLE)
    run.open(ident, state="guidance")
    expected = guidance(stack, ident)
    frame = run.app_frame()
    run.app.locator(".gp-outcome").click()
    active: Callable[[], Any] = lambda: frame.evaluate(  # noqa: E731
        "document.activeElement.closest('.gp-card') && "
        "document.activeElement.closest('.gp-card').dataset.text"
    )
    run.page.keyboard.press("j")
    assert active() == expected["texts"][0]["key"]
    run.page.keyboard.press("j")
    assert active() == expected["texts"][1]["key"]
    assert run.app.locator('[data-fold="rest"]').get_attribute("open") is not None
    run.page.keyboard.press("k")
    assert active() == expected["texts"][0]["key"]
    run.page.keyboard.press("c")
    run.app.get_by_text("클립보드에 복사했습니다").wait_for()
    run.page.keyboard.press("Enter")
    run.app.get_by_text("공개 답변 창에 삽입했습니다").wait_for()
    assert run.page.input_value("#composer").startswith(expected["texts"][0]["body"][:10])


def test_dark_theme_follows_the_host(browser_run: BrowserRun, stack: Stack) -> None:
    run = browser_run
    run.open(ticket_id(stack, ELIGIBLE), state="guidance", extra="&colorScheme=dark")
    frame = run.app_frame()
    assert frame.evaluate("document.documentElement.dataset.colorScheme") == "dark"
    background = frame.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(27, 31, 34)"
    run.shot("21-dark")
    run.page.evaluate("window.harness.setColorScheme('light')")
    run.page.wait_for_timeout(200)
    assert frame.evaluate("document.documentElement.dataset.colorScheme") == "light"


def test_the_guide_and_its_article_stay_named_when_the_backend_goes_down(
    browser_run: BrowserRun, stack: Stack
) -> None:
    run = browser_run
    ident = ticket_id(stack, ELIGIBLE)
    run.open(ident, state="guidance")
    title = run.app.locator(".gp-title__link").inner_text()
    href = run.app.locator(".gp-title__link").get_attribute("href")
    run.harness.settings(backend_url=f"http://127.0.0.1:{_dead_port()}")
    run.reload_app(state="error:down")
    assert run.app.locator(".gp-title__link").inner_text() == title
    assert run.app.locator(".gp-title__link").get_attribute("href") == href
    assert run.app.locator(".gp-title__link").get_attribute("target") == "_blank"


def test_a_burst_of_edits_is_asked_once_after_the_first(
    browser_run: BrowserRun, stack: Stack
) -> None:
    """A burst of three edits costs at most two asks, and the sidebar shows the last values."""
    run = browser_run
    ident = ticket_id(stack, "강제재연결: 고객과 함께 있는지 확인")
    run.open(ident, state="guidance")
    before = len(run.log("request"))
    fm = stack.field_map
    run.page.evaluate(
        "([a, b, c]) => { window.harness.edit(a, 'gp_customer_presence_together');"
        " window.harness.edit(b, 'gp_fare_adjustment_yes');"
        " window.harness.edit(c, 'gp_fare_adjustment_no'); }",
        [fm["customer_presence"], fm["fare_adjustment"], fm["fare_adjustment"]],
    )
    run.app.locator(".gp-branch__path", has_text="reconnect › together › no_fare_change").wait_for()
    run.page.wait_for_timeout(400)
    asked = [r["detail"]["type"] for r in run.log("request")[before:]]
    # the first edit asks at once; the tail asks once more only if the form moved on since
    assert asked in (["POST"], ["POST", "POST"])
    assert run.app.locator('[data-state="guidance"]').get_attribute("data-source") == "form"
