"""The sidebar over a long shift: sessions, failed refreshes, races with Zendesk's events.

Each test reproduces a finding of the sidebar review (the session that could not be
recovered, a refresh that wiped the guidance, the apply answer that got lost, the confirm
panel and caret a refresh dropped, Apply looking usable while the form was being read,
placeholders inserted into a public reply).
"""

from __future__ import annotations

import json
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

# The app's clock, shifted by window.__gpShift ms (only inside the app's frame).
SHIFTABLE_CLOCK = """
if (location.pathname.indexOf('/app/assets/') !== -1) {
  window.__gpShift = window.__gpShift || 0;
  var realNow = Date.now;
  Date.now = function () { return realNow() + window.__gpShift; };
}
"""


def shift_clock(run: BrowserRun, seconds: float) -> None:
    run.app_frame().evaluate(f"window.__gpShift = {int(seconds * 1000)}")


def requests(run: BrowserRun, suffix: str) -> list[dict[str, Any]]:
    return [e for e in run.log("request") if str(e["detail"]["url"]).endswith(suffix)]


def fire(run: BrowserRun, name: str) -> None:
    run.page.evaluate(f"window.harness.fire({json.dumps(name)}, {{}})")


def problem_once(run: BrowserRun, method: str, suffix: str, status: int, slug: str) -> None:
    """The proxy answers the next matching backend request with a problem, then passes."""
    answer_problem(run, method, suffix, status, slug, once=True)


# ---------------------------------------------------------------- sessions (finding 2)


def test_the_session_is_renewed_at_half_its_life_when_the_app_is_shown_again(
    browser_run: BrowserRun, stack: Stack
) -> None:
    run = browser_run
    run.page.context.add_init_script(SHIFTABLE_CLOCK)
    lifetime = stack.settings.session_lifetime_seconds
    run.open(ticket_id(stack, ELIGIBLE), state="guidance")
    assert requests(run, "/v1/session/refresh") == []
    shift_clock(run, lifetime * 0.6)  # idle past half the lifetime, no sidebar call since
    fire(run, "app.activated")  # the agent comes back to the ticket
    run.page.wait_for_function(
        "window.harness.log.some(function (e) { return e.kind === 'request' && "
        "/\\/v1\\/session\\/refresh$/.test(e.detail.url); })"
    )
    run.page.wait_for_timeout(300)
    # past the first session's end: the renewed one carries on, no error
    shift_clock(run, lifetime * 1.2)
    fire(run, "ticket.updated")
    run.page.wait_for_timeout(800)
    assert run.app.locator("[data-error]").count() == 0
    run.wait_state("guidance")


def test_a_pc_clock_that_is_off_does_not_expire_the_session(
    browser_run: BrowserRun, stack: Stack
) -> None:
    """The session's end is counted from the lifetime the backend sends, on the PC's clock."""
    run = browser_run
    run.page.context.add_init_script(SHIFTABLE_CLOCK.replace("|| 0", "|| 1200000"))
    run.open(ticket_id(stack, ELIGIBLE), state="guidance")  # the PC is 20 minutes ahead
    fire(run, "ticket.updated")
    run.page.wait_for_timeout(800)
    assert run.app.locator("[data-error]").count() == 0
    assert requests(run, "/v1/session/refresh") == []  # nothing to renew yet


def test_an_expired_session_keeps_the_guidance_and_says_how_to_recover(
    browser_run: BrowserRun, stack: Stack
) -> None:
    run = browser_run
    run.page.context.add_init_script(SHIFTABLE_CLOCK)
    run.open(ticket_id(stack, ELIGIBLE), state="guidance")
    cards = run.app.locator(".gp-card").count()
    shift_clock(run, stack.settings.session_lifetime_seconds + 60)  # 16 idle minutes
    sent = len(run.log("request"))
    fire(run, "ticket.updated")
    run.wait_state("error:session_expired")
    banner = run.app.locator('[data-error="session_expired"]')
    # what actually works in Zendesk: reloading the apps (Zendesk signs a new token)
    assert "Reload all apps" in banner.inner_text()
    assert "앱 다시 로드" in banner.inner_text()
    assert banner.locator("button").count() == 0  # no button that cannot work
    # the guidance stays on screen under the banner
    assert run.app.locator('[data-state="guidance"]').count() == 1
    assert run.app.locator(".gp-card").count() == cards
    assert len(run.log("request")) == sent  # nothing was sent with a dead session


# ---------------------------------------------------------------- failed refresh (finding 3)


def test_a_failed_refresh_keeps_the_guidance_under_a_banner(
    browser_run: BrowserRun, stack: Stack
) -> None:
    run = browser_run
    run.open(ticket_id(stack, ELIGIBLE), state="guidance")
    cards = run.app.locator(".gp-card").count()
    assert cards > 0
    problem_once(run, "GET", "/guidance", 503, "zendesk-unavailable")
    fire(run, "ticket.updated")
    run.wait_state("error:zendesk_down")
    banner = run.app.locator('[data-error="zendesk_down"]')
    assert banner.get_attribute("data-stale") == "true"
    assert "마지막으로 불러온 안내" in banner.inner_text()
    assert run.app.locator('[data-state="guidance"]').count() == 1
    assert run.app.locator(".gp-card").count() == cards
    banner.locator('[data-action="retry"]').click()
    run.page.wait_for_timeout(800)
    assert run.app.locator("[data-error]").count() == 0
    run.wait_state("guidance")


def test_the_first_load_failing_still_blocks_the_view(
    browser_run: BrowserRun, stack: Stack
) -> None:
    run = browser_run
    problem_once(run, "GET", "/guidance", 503, "zendesk-unavailable")
    run.open(ticket_id(stack, ELIGIBLE), state="error:zendesk_down")
    assert run.app.locator('[data-state="guidance"]').count() == 0
    assert run.app.locator("[data-stale]").count() == 0


# ---------------------------------------------------------------- apply races (findings 4, 6)


def test_the_apply_answer_counts_when_ticket_updated_arrives_first(
    browser_run: BrowserRun, stack: Stack
) -> None:
    run = browser_run
    ident = ticket_id(stack, ELIGIBLE)
    expected = guidance(stack, ident)
    run.open(ident, state="guidance")
    run.page.evaluate("window.harness.updateBeforeAnswerMs = 1500")
    run.app.locator('[data-action="apply"]').click()
    run.app.locator('[data-action="apply-confirm"]').click()
    # Zendesk's push of the write lands first and the saved ticket is read again...
    run.page.wait_for_function(
        "window.harness.log.some(function (e) { return e.kind === 'event' && "
        "e.detail.name === 'ticket.updated'; })"
    )
    run.page.wait_for_timeout(700)
    # ...while the apply is still in flight: it stays busy, nothing to click again
    assert run.app.locator('[data-action="apply"]').count() == 0
    assert run.app.locator('[data-action="apply-confirm"]').is_disabled()
    # the answer arrives: the result shows and the form gets the written tags
    run.app.locator('[data-applied="true"]').wait_for()
    form_tags = run.page.evaluate("window.harness.formTags")
    assert set(expected["tags"]) <= set(form_tags)
    assert [e for e in run.log("invoke") if "ticket.tags.add" in json.dumps(e["detail"])]


def test_apply_waits_while_an_edit_is_being_decided(browser_run: BrowserRun, stack: Stack) -> None:
    run = browser_run
    ident = ticket_id(stack, ELIGIBLE)
    run.open(ident, state="guidance")
    assert run.app.locator('[data-action="apply"]').is_enabled()
    run.page.evaluate("window.harness.delays.push({type: 'POST', suffix: '/guidance', ms: 1500})")
    field = stack.field_map["fare_adjustment"]
    run.page.evaluate(f"window.harness.edit({field}, 'gp_fare_adjustment_yes')")
    run.page.wait_for_timeout(400)  # the form's guidance is still on its way
    apply = run.app.locator('[data-action="apply"]')
    assert apply.is_disabled()
    run.app.locator('[data-source="form"]').first.wait_for()
    assert apply.is_disabled()


def test_an_older_answer_for_the_saved_ticket_writes_nothing(
    browser_run: BrowserRun, stack: Stack
) -> None:
    run = browser_run
    ident = ticket_id(stack, ELIGIBLE)
    run.open(ident, state="guidance")
    # a first re-read whose answer is slow to arrive...
    run.page.evaluate("window.harness.delays.push({type: 'GET', suffix: '/guidance', ms: 2000})")
    fire(run, "ticket.updated")
    run.page.wait_for_timeout(500)
    # ...then another agent changes the branch and a second re-read answers at once
    run.page.evaluate("window.harness.delays.length = 0")
    set_field(stack, ident, "customer_presence", "gp_customer_presence_before_meeting")
    fire(run, "ticket.updated")
    new_branch = guidance(stack, ident)["branch"]
    run.page.wait_for_timeout(2500)  # the first, older answer has arrived by now
    shown = run.app.locator(".gp-branch__path").get_attribute("data-branch")
    saved = run.app_frame().evaluate("window.GuidepostParts.state.savedGuidance.branch")
    assert shown == saved == new_branch


# ---------------------------------------------------------------- place on refresh (finding 5)


def test_a_refresh_keeps_the_confirm_panel_and_the_caret(
    browser_run: BrowserRun, stack: Stack
) -> None:
    run = browser_run
    run.open(ticket_id(stack, ELIGIBLE), state="guidance")
    run.app.locator('[data-action="apply"]').click()
    run.app.locator("[data-confirm]").wait_for()
    frame = run.app_frame()
    assert frame.evaluate("document.activeElement.id") == "gp-confirm-title"
    fire(run, "ticket.updated")
    run.page.wait_for_timeout(800)
    assert run.app.locator("[data-confirm]").count() == 1
    assert frame.evaluate("document.activeElement.id") == "gp-confirm-title"
    run.app.locator('[data-action="apply-cancel"]').click()
    # typing in a script body: a refresh keeps the focus and the caret where they were
    body = run.app.locator(".gp-card--now .gp-card__body")
    body.click()
    frame.evaluate(
        "(function () { var b = document.querySelector('.gp-card--now .gp-card__body');"
        " var r = document.createRange(); r.selectNodeContents(b); r.collapse(false);"
        " var s = window.getSelection(); s.removeAllRanges(); s.addRange(r); })()"
    )
    run.page.keyboard.type("AB")
    fire(run, "ticket.updated")
    run.page.wait_for_timeout(800)
    assert "gp-card__body" in frame.evaluate("document.activeElement.className")
    run.page.keyboard.type("CD")
    assert (body.text_content() or "").endswith("ABCD")


# ---------------------------------------------------------------- placeholders (finding 7)


def answer_guidance_with(run: BrowserRun, stack: Stack, ident: int, text: dict[str, Any]) -> None:
    """The backend's GET guidance for the ticket, its first script replaced by `text`."""
    doctored = {**guidance(stack, ident), "texts": [text]}

    serve_guidance_as(run, doctored)


def reply(body: str, *placeholders: tuple[str, str, str]) -> dict[str, Any]:
    """A reply script whose placeholders are (text, kind, name) found in `body`."""
    return {
        "key": "reply_test",
        "kind": "reply",
        "title": "안내",
        "body": body,
        "placeholders": [
            {"start": body.index(t), "end": body.index(t) + len(t), "kind": k, "name": n}
            for t, k, n in placeholders
        ],
    }


def composer_text(run: BrowserRun) -> str:
    return str(run.page.evaluate("window.harness.composer.text"))


def test_a_reply_needing_a_setting_is_never_inserted(browser_run: BrowserRun, stack: Stack) -> None:
    run = browser_run
    ident = ticket_id(stack, ELIGIBLE)
    setting = "설정 필요 (상황실 번호)"
    answer_guidance_with(
        run,
        stack,
        ident,
        reply(f"상황실 {setting}로 연락 주세요.", (setting, "setting", "situation_room_phone")),
    )
    run.open(ident, state="guidance")
    card = run.app.locator('[data-text="reply_test"]')
    for _ in range(2):  # a second click does not insert it either
        card.locator('[data-action="insert"]').click()
        card.get_by_text("삽입하지 않았습니다").wait_for()
    assert "situation_room_phone" in card.locator("[data-feedback]").inner_text()
    assert composer_text(run) == ""


def test_a_reply_with_blanks_is_inserted_only_on_a_second_click(
    browser_run: BrowserRun, stack: Stack
) -> None:
    run = browser_run
    ident = ticket_id(stack, ELIGIBLE)
    answer_guidance_with(
        run, stack, ident, reply("조정 요금은 OOO원입니다.", ("OOO원", "fact", "agreed_fare"))
    )
    run.open(ident, state="guidance")
    card = run.app.locator('[data-text="reply_test"]')
    card.locator('[data-action="insert"]').click()
    card.get_by_text("한 번 더 누르세요").wait_for()
    assert "OOO원" in card.locator("[data-feedback]").inner_text()
    assert composer_text(run) == ""
    card.locator('[data-action="insert"]').click()
    card.get_by_text("공개 답변 창에 삽입했습니다").wait_for()
    assert "OOO원" in composer_text(run)


def test_a_reply_whose_blanks_are_filled_goes_in_at_once(
    browser_run: BrowserRun, stack: Stack
) -> None:
    run = browser_run
    ident = ticket_id(stack, ELIGIBLE)
    answer_guidance_with(
        run, stack, ident, reply("조정 요금은 OOO원입니다.", ("OOO원", "fact", "agreed_fare"))
    )
    run.open(ident, state="guidance")
    card = run.app.locator('[data-text="reply_test"]')
    card.locator('[data-action="next-placeholder"]').click()
    run.page.keyboard.type("12,000원")
    card.locator('[data-action="insert"]').click()
    card.get_by_text("공개 답변 창에 삽입했습니다").wait_for()
    assert "조정 요금은 12,000원입니다." in composer_text(run)
