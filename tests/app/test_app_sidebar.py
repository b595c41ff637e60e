"""The sidebar in headless Chromium: real app + real SDK + harness + real backend + emulator."""

from __future__ import annotations

import json
import re
import socket
from typing import Any

import pytest
from app_helpers import BrowserRun, guidance, guides, set_field, ticket_id

from tooling.harness.proxy import ZendeskSigner
from tooling.testing import Stack

pytestmark = pytest.mark.browser

TICKET_PATH = r"^/api/v2/tickets/\d+(\.json)?$"
PARKING_E2E = "주차: 쿠폰 거절 → 현장결제 취소"
RECONNECT_E2E = "강제재연결: 헤어짐, 요금조정 없음 (운영메모)"
XSS = "<img src=x onerror=alert(1)>"


def texts(locator: Any) -> list[str]:
    """Text of each match, also inside a closed foldout (the rest is one click away)."""
    return [t.strip() for t in locator.all_text_contents()]


def invocations(run: BrowserRun) -> list[dict[str, Any]]:
    """get/set/invoke messages the app sent, in order."""
    return [e for e in run.log() if e["kind"] in ("get", "set", "invoke")]


def field_line(labels: dict[str, Any], key: str, value: Any) -> str:
    info = labels["fields"][key]
    shown = info["options"][value]["ko"] if value in info["options"] else str(value)
    return f"{info['label']['ko']}: {shown}"


# ---------------------------------------------------------------- states


def test_loading_then_guidance_with_blocks_missing_and_notices(
    browser_run: BrowserRun, stack: Stack
) -> None:
    run = browser_run
    ident = ticket_id(stack, "강제재연결: 동행, 요금조정 여부 모름")
    run.open(ident, state="guidance")
    stack.emulator.store.set_faults(
        [{"kind": "latency", "method": "GET", "path": TICKET_PATH, "ms": 1500}]
    )
    run.reload_app()
    run.app.get_by_text("가이드를 불러오는 중…").wait_for()
    assert run.app.locator("#app").get_attribute("aria-busy") == "true"
    run.shot("01-loading")
    run.wait_state("guidance")
    stack.emulator.store.clear_faults()
    expected = guidance(stack, ident)
    labels = guides(stack)
    # branch label + path + eligibility
    branch = next(
        b for g in labels["guides"] for b in g["branches"] if b["id"] == expected["branch"]
    )
    assert run.app.locator(".gp-branch__label").inner_text() == branch["label"]["ko"]
    assert run.app.locator(".gp-outcome__label").inner_text() == "확인 필요"
    assert run.app.locator(".gp-branch__path").inner_text() == expected["branch"].replace(
        ".", " › "
    )
    assert run.app.locator("[data-eligibility]").get_attribute("data-eligibility") == "missing"
    # checklist: one item per check, ✔ / ?
    states = [
        run.app.locator("[data-check]").nth(i).get_attribute("data-state")
        for i in range(run.app.locator("[data-check]").count())
    ]
    assert states == [c["state"] for c in expected["checks"]]
    unknown = run.app.locator('[data-state="unknown"] .gp-check__detail').text_content()
    assert labels["fields"]["fare_adjustment"]["label"]["ko"] in unknown
    # the next question(s), in order, by label
    assert texts(run.app.locator(".gp-missing li")) == [
        labels["fields"][key]["label"]["ko"] for key in expected["missing"]
    ]
    run.shot("04-guidance-missing")

    blocked = ticket_id(stack, "강제재연결: 차단 여러 개 (요금 미합의·동의 미확인)")
    run.open(blocked, state="guidance")
    expected = guidance(stack, blocked)
    assert run.app.locator("[data-eligibility]").get_attribute("data-eligibility") == "blocked"
    assert run.app.locator(".gp-outcome__label").inner_text() == "진행 불가"
    assert texts(run.app.locator("[data-block]")) == [
        labels["blocks"][b]["ko"] for b in expected["blocks"]
    ]
    blocked_texts = texts(run.app.locator('[data-state="blocked"] .gp-check__text'))
    for block in expected["blocks"]:
        assert any(labels["blocks"][block]["ko"] in t for t in blocked_texts)
    assert texts(run.app.locator(".gp-notice")) == [
        labels["notices"][n]["ko"] for n in expected["notices"]
    ]
    assert run.app.locator('[data-state="ok"]').count() == sum(
        1 for c in expected["checks"] if c["state"] == "ok"
    )
    run.shot("05-guidance-blocked")


def test_no_guide(browser_run: BrowserRun, stack: Stack) -> None:
    browser_run.open(ticket_id(stack, "가이드 없음"), state="no-guide")
    assert browser_run.app.get_by_text("맞는 가이드가 없습니다").is_visible()
    assert browser_run.app.locator('[data-action="apply"]').count() == 0
    browser_run.shot("02-no-guide")


def test_suggested_guide_asks_to_set_the_consultation_type(
    browser_run: BrowserRun, stack: Stack
) -> None:
    run = browser_run
    run.open(ticket_id(stack, "상담유형 없음: 주차 가이드 제안"), state="suggested")
    labels = guides(stack)
    assert run.app.locator(".gp-badge--suggested").is_visible()
    assert (
        run.app.locator(".gp-title")
        .inner_text()
        .startswith(
            next(g["title"] for g in labels["guides"] if g["id"] == "parking_onsite_payment")
        )
    )
    notice = run.app.locator('[data-notice="guide_suggested_set_consult_type"]').inner_text()
    assert notice == labels["notices"]["guide_suggested_set_consult_type"]["ko"]
    assert run.app.locator('[data-action="apply"]').count() == 0
    run.shot("03-suggested-guide")


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_backend_down(browser_run: BrowserRun, stack: Stack) -> None:
    run = browser_run
    run.harness.settings(backend_url=f"http://127.0.0.1:{_dead_port()}")
    run.open(ticket_id(stack, "주차: 기본 정보 수집"), state="error:down")
    assert run.app.get_by_text("Guidepost 서버에 연결할 수 없습니다").is_visible()
    run.shot("06-error-backend-down")
    run.harness.restore_settings()
    run.reload_app(state="guidance")  # settings reach an app when it (re)loads


def test_unauthorized_when_zendesk_signature_is_refused(
    browser_run: BrowserRun, stack: Stack
) -> None:
    run = browser_run
    # The backend no longer trusts the key Zendesk (the harness) signs with: no session.
    trusted = stack.settings.zaf_public_key
    stack.settings.zaf_public_key = ZendeskSigner(
        "https://x.zendesk.com", fresh_key=True
    ).public_pem
    try:
        run.open(ticket_id(stack, "주차: 기본 정보 수집"), state="error:unauthorized")
        message = run.app.locator('[data-error="unauthorized"] .gp-alert__body').inner_text()
        assert "인증" in message
        assert "domainWhitelist" not in message
        run.shot("07-error-401")
    finally:
        stack.settings.zaf_public_key = trusted


def test_rate_limited_shows_the_retry_time(browser_run: BrowserRun, stack: Stack) -> None:
    run = browser_run
    run.open(ticket_id(stack, "주차: 기본 정보 수집"), state="guidance")
    stack.emulator.store.set_faults(
        [{"kind": "rate_limit", "method": "GET", "path": TICKET_PATH, "retry_after": 3}]
    )
    run.reload_app(state="error:rate_limited")
    message = run.app.locator('[data-error="rate_limited"] .gp-alert__body').inner_text()
    assert re.search(r"[0-3]초 후 다시 시도할 수 있습니다", message)
    assert run.app.locator('[data-action="retry"]').is_disabled()
    run.shot("09-error-503-retry")
    stack.emulator.store.clear_faults()
    # the countdown runs to 0, then the retry button comes alive
    run.app.locator('[data-countdown="0"]').wait_for(timeout=6000)
    assert run.app.locator('[data-action="retry"]').is_enabled()
    run.app.locator('[data-action="retry"]').click()
    run.wait_state("guidance")


def test_conflict_on_apply_offers_a_reload(browser_run: BrowserRun, stack: Stack) -> None:
    run = browser_run
    ident = ticket_id(stack, "강제재연결: 동행, 요금조정 없음 (현금, 배정후취소)")
    run.open(ident, state="guidance")
    run.app.locator('[data-fold="checks"] > summary').click()  # the agent's place
    # another agent changes the ticket so the branch no longer holds
    set_field(stack, ident, "customer_presence", "gp_customer_presence_before_meeting")
    run.app.locator('[data-action="apply"]').click()
    run.app.locator('[data-action="apply-confirm"]').click()
    run.wait_state("error:conflict")
    assert run.app.get_by_text("티켓이 변경되어").is_visible()
    assert run.app.locator(".gp-title__link").is_visible()  # guide and article stay in view
    run.shot("08-error-409-conflict")
    assert not [c for c in stack.emulator.store.comments(ident) if not c["public"]]
    run.app.locator('[data-action="reload"]').click()
    run.wait_state("guidance")
    assert run.app.locator('[data-fold="checks"]').get_attribute("open") is not None
    assert (
        run.app.locator(".gp-branch__path").inner_text() != "reconnect › together › no_fare_change"
    )


# ---------------------------------------------------------------- end to end, one per guide


@pytest.mark.parametrize("name", [PARKING_E2E, RECONNECT_E2E], ids=["parking", "reconnect"])
def test_open_insert_apply_and_apply_again(
    browser_run: BrowserRun, stack: Stack, name: str
) -> None:
    run = browser_run
    ident = ticket_id(stack, name)
    expected = guidance(stack, ident)
    labels = guides(stack)
    run.open(ident, state="guidance")

    # the first text is the thing to do now; every other one is one click away
    assert run.app.locator(".gp-card").count() == len(expected["texts"])
    assert (
        run.app.locator(".gp-now .gp-card").get_attribute("data-text")
        == (expected["texts"][0]["key"])
    )
    assert run.app.locator('[data-fold="rest"] .gp-card').count() == len(expected["texts"]) - 1
    run.app.locator('[data-fold="rest"] > summary').click()

    # Insert a reply: the body reaches the public reply through comment.appendText
    reply = next(t for t in expected["texts"] if t["kind"] == "reply")
    card = run.app.locator(f'[data-text="{reply["key"]}"]')
    card.locator('[data-action="insert"]').click()
    card.get_by_text("공개 답변 창에 삽입했습니다").wait_for()
    appended = [
        e["detail"]["comment.appendText"][0]
        for e in run.log("invoke")
        if "comment.appendText" in e["detail"]
    ]
    assert appended == [reply["body"].replace("운영센터 OOO", "운영센터 Harness Agent")]
    assert run.page.input_value("#composer") == appended[0]

    # A note is not inserted while the public reply holds text: no type switch, say why
    note = next((t for t in expected["texts"] if t["kind"] == "note"), None)
    if note is not None:
        note_card = run.app.locator(f'[data-text="{note["key"]}"]')
        note_card.locator('[data-action="insert"]').click()
        note_card.get_by_text("작성 중인 공개 답변이 있어").wait_for()
        assert run.page.locator("#composer-type").inner_text() == "Public reply"
        assert run.page.input_value("#composer") == appended[0]
        # with an empty composer, the note switches it to an internal note first
        run.page.fill("#composer", "")
        note_card.locator('[data-action="insert"]').click()
        note_card.get_by_text("내부 메모에 삽입했습니다").wait_for()
        calls = invocations(run)
        set_at = next(
            i
            for i, e in enumerate(calls)
            if e["kind"] == "set" and e["detail"] == {"comment.type": "internalNote"}
        )
        append_at = max(
            i
            for i, e in enumerate(calls)
            if e["kind"] == "invoke" and e["detail"].get("comment.appendText") == [note["body"]]
        )
        assert set_at < append_at
        assert run.page.locator("#composer-type").inner_text() == "Internal note"

    # Copy: clipboard API or the textarea fallback; the feedback is at the button
    card.locator('[data-action="copy"]').click()
    card.get_by_text("클립보드에 복사했습니다").wait_for()
    run.shot(f"10-guidance-{'parking' if name == PARKING_E2E else 'reconnect'}")

    # Apply: the confirmation lists exactly what will be written
    run.app.locator('[data-action="apply"]').click()
    confirm = run.app.locator("[data-confirm]")
    confirm.wait_for()
    assert texts(confirm.locator(".gp-confirm__tags li")) == expected["tags"]
    assert confirm.locator(".gp-confirm__note").inner_text() == expected["note"].strip()
    fields_shown = texts(confirm.locator(".gp-confirm__fields li"))
    assert fields_shown == [field_line(labels, k, v) for k, v in expected["fields_set"].items()]
    if not expected["fields_set"]:
        assert confirm.locator(".gp-none").count() >= 1
    run.shot(f"11-apply-confirm-{'parking' if name == PARKING_E2E else 'reconnect'}")
    run.app.locator('[data-action="apply-confirm"]').click()
    run.app.locator('[data-applied="true"]').wait_for()
    run.shot(f"12-applied-{'parking' if name == PARKING_E2E else 'reconnect'}")

    notes = [c for c in stack.emulator.store.comments(ident) if not c["public"]]
    assert len(notes) == 1
    first_line = expected["note"].strip().splitlines()[0]
    assert first_line in (notes[0].get("plain_body") or notes[0]["body"])
    ticket = stack.emulator.store.get_ticket(ident)
    assert ticket is not None
    assert set(expected["tags"]) <= set(ticket["tags"])
    tag_calls = [
        e["detail"]["ticket.tags.add"]
        for e in run.log("invoke")
        if "ticket.tags.add" in e["detail"]
    ]
    assert tag_calls
    assert set(expected["tags"]) <= set(tag_calls[0][0])

    # the harness shows the note in the conversation
    run.page.click(f'[data-ticket-id="{ident}"]')
    run.page.wait_for_function("window.harness && window.harness.ready")
    assert run.page.locator('.hz-comment[data-public="false"]').count() == 1
    run.wait_state("guidance")
    run.shot(f"16-harness-{'parking' if name == PARKING_E2E else 'reconnect'}", full=True)

    # a second Apply writes nothing and says so
    run.wait_state("guidance")
    run.app.locator("[data-already-applied]").wait_for()
    assert run.app.locator("[data-already-applied]").is_visible()
    run.app.locator('[data-action="apply"]').click()
    run.app.locator('[data-action="apply-confirm"]').click()
    result = run.app.locator('[data-applied="false"]')
    result.wait_for()
    assert "이미 적용된 결정입니다" in result.inner_text()
    assert len([c for c in stack.emulator.store.comments(ident) if not c["public"]]) == 1
    run.shot(f"13-already-applied-{'parking' if name == PARKING_E2E else 'reconnect'}")


# ---------------------------------------------------------------- refresh


def test_an_unsaved_edit_is_decided_on_the_open_form(browser_run: BrowserRun, stack: Stack) -> None:
    run = browser_run
    ident = ticket_id(stack, "강제재연결: 동행, 요금조정 여부 모름")
    run.open(ident, state="guidance")
    assert run.app.locator(".gp-missing li").count() == 1
    field_id = stack.field_map["fare_adjustment"]
    assert f"ticket.custom_field_{field_id}.changed" in run.page.evaluate(
        "Object.keys(window.harness.subscriptions)"
    )
    requests_before = len(run.log("request"))
    run.page.select_option("#field-fare_adjustment", "gp_fare_adjustment_no")
    run.app.locator('[data-state="guidance"][data-source="form"]').wait_for()
    assert run.app.locator("[data-eligibility]").get_attribute("data-eligibility") == "eligible"
    assert run.app.locator(".gp-missing").count() == 0
    assert run.app.locator('[data-source="form"].gp-badge').is_visible()
    # the change event came before any save, and the app asked with the form's values
    assert f"ticket.custom_field_{field_id}.changed" in run.events()
    assert "ticket.save" not in run.events()
    asked = [(r["detail"]["type"], r["detail"]["url"]) for r in run.log("request")]
    assert asked[requests_before:] == [("POST", f"{stack.backend_url}/v1/tickets/{ident}/guidance")]
    saved = stack.emulator.store.get_ticket(ident)
    assert saved is not None
    assert {f["id"]: f["value"] for f in saved["custom_fields"]}.get(field_id) is None
    # Apply waits for Submit: it would write the saved ticket, not what the form shows
    assert run.app.locator('[data-action="apply"]').is_disabled()
    assert run.app.locator("[data-dirty]").is_visible()
    run.shot("17-unsaved-edit")
    # back to the saved value: the saved guidance again, without another request
    run.page.select_option("#field-fare_adjustment", "")
    run.app.locator('[data-state="guidance"][data-source="ticket"]').wait_for()
    run.page.wait_for_timeout(300)
    assert len(run.log("request")) == requests_before + 1
    assert run.app.locator('[data-action="apply"]').is_enabled()


def test_submit_saves_and_the_saved_ticket_is_read_again(
    browser_run: BrowserRun, stack: Stack
) -> None:
    run = browser_run
    ident = ticket_id(stack, "강제재연결: 고객과 함께 있는지 확인")
    run.open(ident, state="guidance")
    assert run.app.locator(".gp-branch__path").inner_text() == "reconnect › ask_presence"
    run.page.select_option("#field-customer_presence", "gp_customer_presence_together")
    run.page.select_option("#field-fare_adjustment", "gp_fare_adjustment_no")
    run.app.locator(".gp-branch__path", has_text="reconnect › together › no_fare_change").wait_for()
    assert run.app.locator('[data-state="guidance"]').get_attribute("data-source") == "form"
    run.page.wait_for_timeout(300)  # a burst's trailing ask has landed
    requests_before = len(run.log("request"))
    run.page.click("#save-ticket")
    run.app.locator('[data-state="guidance"][data-source="ticket"]').wait_for()
    assert "ticket.save" in run.events()
    assert "ticket.saved" in run.events()
    assert run.app.locator(".gp-branch__path").inner_text() == (
        "reconnect › together › no_fare_change"
    )
    assert run.app.locator('[data-action="apply"]').is_enabled()
    run.page.wait_for_timeout(300)
    asked = [(r["detail"]["type"], r["detail"]["url"]) for r in run.log("request")]
    assert asked[requests_before:] == [("GET", f"{stack.backend_url}/v1/tickets/{ident}/guidance")]


# ---------------------------------------------------------------- safety, keyboard, locale


def test_html_in_a_field_value_is_shown_as_text(browser_run: BrowserRun, stack: Stack) -> None:
    run = browser_run
    ident = ticket_id(stack, PARKING_E2E)
    set_field(stack, ident, "parking_lot", XSS)  # the SMS and the note quote the lot's name
    run.open(ident, state="guidance")
    bodies = texts(run.app.locator(".gp-card__body"))
    assert any(XSS in body for body in bodies)
    run.app.locator('[data-action="apply"]').click()
    assert XSS in run.app.locator(".gp-confirm__note").inner_text()
    frame = run.app_frame()
    assert frame.evaluate("document.querySelectorAll('img').length") == 0
    assert frame.evaluate("document.body.innerHTML.indexOf('<img') === -1")
    run.shot("14-html-as-text")

    # a malformed value: the backend's 422 names it, and the sidebar quotes it as text
    set_field(stack, ident, "car_number", XSS)
    run.reload_app(state="error:invalid")
    detail = run.app.locator('[data-error="invalid"] .gp-alert__body').inner_text()
    assert "차량번호" in detail
    assert XSS not in detail  # the sidebar's own words, never the server's message
    assert run.app_frame().evaluate("document.querySelectorAll('img').length") == 0
    run.shot("14b-error-422-field-value")

    # the host page shows the demo ticket whose subject carries the same probe as text
    run.open(ticket_id(stack, "주차: HTML 주입 시도 (escape 확인)"), state="guidance")
    assert XSS in run.page.locator("#ticket-title").inner_text()
    assert run.page.evaluate("document.querySelectorAll('img').length") == 0
    run.page.wait_for_timeout(200)
    assert run.dialogs == []


def test_tab_reaches_insert_copy_and_apply(browser_run: BrowserRun, stack: Stack) -> None:
    run = browser_run
    run.open(ticket_id(stack, PARKING_E2E), state="guidance")
    run.app.locator(".gp-title__link").focus()
    reached: list[str] = []  # in DOM order: the next step's buttons, then the apply bar
    frame = run.app_frame()
    for _ in range(40):
        run.page.keyboard.press("Tab")
        action = frame.evaluate(
            "document.activeElement && document.activeElement.dataset "
            "? document.activeElement.dataset.action || '' : ''"
        )
        if action:
            reached.append(action)
        if action == "apply":
            break
    assert {"insert", "copy", "apply"} <= set(reached)
    assert reached.index("insert") < reached.index("copy") < reached.index("apply")
    run.page.keyboard.press("Enter")  # opens the confirmation, focus moves into it
    run.app.locator("[data-confirm]").wait_for()
    assert frame.evaluate("document.activeElement.id") == "gp-confirm-title"
    run.page.keyboard.press("Escape")
    run.app.locator("[data-confirm]").wait_for(state="detached")
    assert frame.evaluate("document.activeElement.dataset.action") == "apply"
    labelled = frame.evaluate(
        "Array.from(document.querySelectorAll('button')).every(b => b.getAttribute('aria-label')"
        " || b.textContent.trim())"
    )
    assert labelled


def test_english_from_the_agents_locale(browser_run: BrowserRun, stack: Stack) -> None:
    run = browser_run
    ident = ticket_id(stack, "강제재연결: 동행, 요금조정 여부 모름")
    run.open(ident, locale="en-US", state="guidance")
    labels = guides(stack)
    expected = guidance(stack, ident)
    assert run.app.locator(".gp-outcome__label").inner_text() == "Needs checking"
    assert texts(run.app.locator(".gp-missing li")) == [
        labels["fields"][key]["label"]["en"] for key in expected["missing"]
    ]
    assert run.app.locator('[data-action="apply"]').inner_text() == "Apply…"
    assert run.app_frame().evaluate("document.documentElement.lang") == "en"
    run.shot("15-english")


def test_the_secret_never_reaches_the_browser(browser_run: BrowserRun, stack: Stack) -> None:
    run = browser_run
    ident = ticket_id(stack, RECONNECT_E2E)
    run.open(ident, state="guidance")
    secret = stack.settings.shared_secret.get_secret_value()
    assert secret not in json.dumps(run.log())
    assert secret not in run.page.content()
    assert secret not in run.app_frame().content()
    settings = run.page.evaluate("fetch('/harness/config.json').then(r => r.json())")["settings"]
    assert settings["shared_secret"] == "{{setting.shared_secret}}"
    requests = [e["detail"] for e in run.log("request")]
    assert {r["url"] for r in requests} == {
        f"{stack.backend_url}/v1/guides",
        f"{stack.backend_url}/v1/tickets/{ident}/guidance",
    }
    forwarded = [r for r in run.harness.proxy_log() if r.get("url", "").endswith("/guidance")]
    # The app asks Zendesk's proxy to sign nothing: it sends the session the backend minted.
    assert forwarded[-1]["jwt_claims"] == {}
    assert forwarded[-1]["secure"] is False
    # the app cannot call the backend itself: its page only may connect to its own origin
    blocked = run.app_frame().evaluate(
        f"fetch('{stack.backend_url}/healthz').then(() => 'reached', () => 'blocked')"
    )
    assert blocked == "blocked"


def test_make_run_serves_the_sdk_itself(chromium: Any, stack: Stack) -> None:
    """`make run`: iframe.html comes with the SDK URL swapped for the harness's npm copy."""
    from tooling.harness import serve_harness

    with serve_harness(stack.backend_url, stack.emulator.url, stack.settings) as harness:
        context = chromium.new_context()
        cdn_requests: list[str] = []

        def refuse(route: Any) -> None:
            cdn_requests.append(route.request.url)
            route.abort()

        context.route("https://static.zdassets.com/**", refuse)
        try:
            page = context.new_page()
            ident = ticket_id(stack, "주차: 기본 정보 수집")
            page.goto(f"{harness.url}/?ticket={ident}")
            frame = page.frame_locator("#app-frame")
            frame.locator('[data-state="guidance"]').wait_for(timeout=10_000)
        finally:
            context.close()
        assert cdn_requests == []
