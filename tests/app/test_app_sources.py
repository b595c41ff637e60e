"""The sidebar shows where facts came from, and the guide's picture for the current step.

Real headless Chromium, real ZAF SDK, the harness, the real backend, the Zendesk emulator
and the admin emulator (the connectors' 주차 어드민 / 대리 어드민), all on loopback.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from app_helpers import BrowserRun, Harness, backend_headers, guidance

from backend.connectors.fetch import DEFAULT_CACHE
from backend.settings import Settings
from backend.zendesk.gateway import ReconnectionClaim
from backend.zendesk.zenpy_gateway import ZenpyGateway
from tooling.admin_emulator import (
    ADMIN_DEMO_TICKETS,
    CALLS,
    FETCH_ONLY_CALL_ID,
    RestartableAdmin,
    settings_for,
)
from tooling.devstack import seed_admin_demo
from tooling.harness import serve_harness
from tooling.testing import Stack, run_stack

pytestmark = pytest.mark.browser

RECONNECT = "강제재연결: 어드민 정보는 자동 조회 (원콜 ID만 입력)"
XSS = "<img src=x onerror=alert(1)>"
# Checks of the force_reconnect guide resting on a 대리 어드민 fact, and one that does not.
FETCHED_CHECKS = ("admin_status_not_reconnectable", "driver_off_duty", "customer_recalling")
TYPED_CHECK = "customer_consent_required"


@pytest.fixture(scope="module")
def admin() -> Iterator[RestartableAdmin]:
    """The admin emulator for this module."""
    holder = RestartableAdmin()
    yield holder
    holder.server.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, admin: RestartableAdmin) -> Iterator[Stack]:
    """The stack with connectors calling the admin emulator, and the admin demo tickets."""
    workdir = tmp_path_factory.mktemp("app-sources")
    connected = settings_for(admin.server, Settings(_env_file=None), workdir)  # type: ignore[call-arg]
    overrides = {
        name: getattr(connected, name)
        for name in ("connectors_file", "connector_hosts", "connector_secrets")
    }
    with run_stack(Path(workdir), settings_overrides=overrides) as running:
        ids = seed_admin_demo(running.settings, running.emulator)
        running.extra["admin_tickets"] = dict(zip(ADMIN_DEMO_TICKETS, ids, strict=True))
        yield running


@pytest.fixture(scope="module")
def harness_server(stack: Stack) -> Iterator[Harness]:
    """The harness over this module's stack."""
    with (
        serve_harness(
            stack.backend_url, stack.emulator.url, stack.settings, serve_sdk_locally=False
        ) as running,
        httpx.Client(base_url=running.url, timeout=15.0) as client,
    ):
        yield Harness(url=running.url, app_origin=running.app_origin, http=client, stack=stack)


@pytest.fixture(autouse=True)
def fresh_fetches() -> Iterator[None]:
    """Each test fetches for real (the TTL cache would answer from an earlier test)."""
    DEFAULT_CACHE.clear()
    yield
    DEFAULT_CACHE.clear()


def admin_ticket(stack: Stack) -> int:
    """The demo ticket whose admin facts come only from the 대리 어드민."""
    ident: int = stack.extra["admin_tickets"][RECONNECT]
    return ident


def mark_of(run: BrowserRun, selector: str) -> Any:
    """The "어드민" mark inside an element of the sidebar."""
    return run.app.locator(f"{selector} .gp-fetched")


def test_fetched_facts_carry_the_admin_mark_with_source_and_time(
    browser_run: BrowserRun, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checks resting on a fetched fact are marked; the tooltip names the source and time."""
    run = browser_run
    # A hostile value in the admin system: shown as text, never as markup.
    monkeypatch.setitem(CALLS[FETCH_ONLY_CALL_ID]["call"], "departure", XSS)
    ident = admin_ticket(stack)
    run.open(ident, state="guidance")
    expected = guidance(stack, ident)
    assert expected["eligible"] is True
    assert run.app.locator("[data-eligibility]").get_attribute("data-eligibility") == "eligible"
    run.app.locator('[data-fold="checks"] > summary').click()
    for check in FETCHED_CHECKS:
        found = mark_of(run, f'[data-check="{check}"]')
        assert found.count() == 1, check
        assert found.get_attribute("data-fetched") == "driver_admin_call"
        assert found.locator('[aria-hidden="true"]').inner_text() == "어드민"
        title = found.get_attribute("title")
        assert "대리 어드민에서 조회" in title
        assert title in found.locator(".gp-sr-only").inner_text()  # read out too
        source = expected["fact_sources"][expected["fetched_check_facts"][check][0]]
        assert source["fetched_at"]  # the time the tooltip shows
    assert mark_of(run, f'[data-check="{TYPED_CHECK}"]').count() == 0
    # Every fetched fact is listed with its value and the same mark.
    run.app.locator('[data-fold="fetched"] > summary').click()
    fetched = [key for key, s in expected["fact_sources"].items() if s["kind"] == "connector"]
    assert run.app.locator("[data-fetched-fact]").count() == len(fetched)
    departure = run.app.locator('[data-fetched-fact="departure"]')
    assert XSS in departure.inner_text()
    assert run.app.locator("#app img").count() == 0  # the hostile value stayed text
    assert departure.locator(".gp-fetched").get_attribute("title").count("대리 어드민") == 1
    assert run.app.locator(".gp-source-failures").count() == 0
    run.shot("sources-01-fetched")


def test_a_failed_source_is_told_and_its_facts_asked(
    browser_run: BrowserRun, stack: Stack, admin: RestartableAdmin
) -> None:
    """대리 어드민 down: one line says so, the facts it would give are the next questions."""
    run = browser_run
    ident = admin_ticket(stack)
    admin.server.stop()
    try:
        run.open(ident, state="guidance")
        expected = guidance(stack, ident)
    finally:
        admin.restart()
    assert run.app.locator("[data-eligibility]").get_attribute("data-eligibility") == "missing"
    line = run.app.locator('[data-connector-failure="driver_admin_call"]')
    assert line.inner_text() == "대리 어드민 응답 없음 — 직접 확인"
    assert line.get_attribute("data-failure-kind") == "unavailable"
    assert expected["missing"][0] == "admin_status"
    first = run.app.locator('.gp-missing li[data-field="admin_status"]')
    assert first.locator("[data-unfetched]").inner_text() == "대리 어드민에서 직접 확인"
    assert run.app.locator("[data-check] .gp-fetched").count() == 0
    run.shot("sources-02-failed")


def test_a_changed_decision_is_shown_from_the_409_with_its_sources(
    browser_run: BrowserRun, stack: Stack
) -> None:
    """Another ticket reconnects this 원콜 first: apply's 409 shows the new decision at once."""
    run = browser_run
    ident = admin_ticket(stack)
    run.open(ident, state="guidance")
    assert run.app.locator("[data-eligibility]").get_attribute("data-eligibility") == "eligible"
    with ZenpyGateway.from_settings(stack.settings, wait_policy="batch") as gateway:
        gateway.create_reconnection(ReconnectionClaim(FETCH_ONLY_CALL_ID, "7999", 999_001))
    run.app.locator('[data-action="apply"]').click()
    run.app.locator('[data-action="apply-confirm"]').click()
    run.app.locator('[data-error="decision_changed"]').wait_for()
    # The 409's decision is on screen: blocked, and its admin facts still marked.
    assert run.app.locator("[data-eligibility]").get_attribute("data-eligibility") == "blocked"
    assert run.app.locator('[data-block="already_reconnected_once"]').count() == 1
    run.app.locator('[data-fold="checks"] > summary').click()
    assert mark_of(run, '[data-check="driver_off_duty"]').count() == 1
    assert "gp_eligible" not in stack.emulator.store.get_ticket(ident)["tags"]
    run.shot("sources-04-decision-changed")


def svg_from(data_url: str) -> str:
    """The SVG text of a data:image/svg+xml URL."""
    prefix = "data:image/svg+xml;charset=utf-8,"
    assert data_url.startswith(prefix)
    return urllib.parse.unquote(data_url[len(prefix) :])


def test_current_step_opens_the_guide_picture_with_its_row_highlighted(
    browser_run: BrowserRun, stack: Stack
) -> None:
    """The picture comes through the proxy with the session and shows as an <img> only."""
    run = browser_run
    ident = admin_ticket(stack)
    run.open(ident, state="guidance")
    expected = guidance(stack, ident)
    button = run.app.locator('[data-action="graph"]')
    assert button.inner_text() == "현재 단계 그림 보기"
    button.click()
    run.app.locator('[data-graph="shown"]').wait_for()
    img = run.app.locator("[data-graph] img")
    assert img.get_attribute("data-graph-branch") == expected["branch"]
    run.app_frame().wait_for_function("document.querySelector('[data-graph] img').naturalWidth > 0")
    picture = svg_from(img.get_attribute("src"))
    served = httpx.get(
        f"{stack.backend_url}/v1/guides/{expected['guide']}/graph.svg",
        params={"branch": expected["branch"]},
        headers=backend_headers(stack),
        timeout=15.0,
    )
    assert picture == served.text
    assert 'stroke-width="4"' in picture  # the ticket's row drawn thicker
    # Never markup in the page: no <svg> element, no script from the picture.
    assert run.app_frame().evaluate("document.querySelectorAll('svg, object, iframe').length") == 0
    asked = [entry["url"] for entry in run.harness.proxy_log()]
    assert any(
        url.endswith(f"/v1/guides/{expected['guide']}/graph.svg?branch={expected['branch']}")
        for url in asked
    )
    # The picture opens at full size, scrolled so the ticket's branch is in view.
    in_view = run.app_frame().wait_for_function(
        """() => {
          const frame = document.querySelector('.gp-graph__frame');
          const img = frame.querySelector('img');
          const at = window.GuidepostParts.state.graph.at;
          const box = img.getBoundingClientRect();
          const x = at.x * box.width, y = at.y * box.height;
          return frame.scrollTop > 0 && y >= frame.scrollTop &&
            y <= frame.scrollTop + frame.clientHeight && x >= frame.scrollLeft &&
            x <= frame.scrollLeft + frame.clientWidth;
        }"""
    )
    assert in_view.json_value() is True
    run.shot("sources-03-graph")
    run.app.locator('[data-action="graph-size"]').click()
    assert "gp-graph__img--full" not in (img.get_attribute("class") or "")
    run.app.locator('[data-action="graph-close"]').click()
    assert run.app.locator("[data-graph]").count() == 0
    focused = run.app_frame().evaluate("document.activeElement.getAttribute('data-action')")
    assert focused == "graph"


def test_the_picture_needs_the_session(browser_run: BrowserRun, stack: Stack) -> None:
    """Without a valid session the backend refuses the picture; the sidebar says so."""
    run = browser_run
    run.open(ticket_id_of_any(stack), state="guidance")
    # The session expires in the sidebar: the refresh and the picture are refused.
    run.app_frame().evaluate("window.GuidepostParts.state.session.token = 'not-a-session'")
    run.app.locator('[data-action="graph"]').click()
    run.app.locator('[data-graph="failed"]').wait_for()
    assert run.app.locator("[data-graph] [data-error]").count() == 1
    assert run.app.locator("[data-graph] img").count() == 0


def ticket_id_of_any(stack: Stack) -> int:
    """A demo ticket with a guide (the first one the emulator holds)."""
    for ident in stack.ticket_ids:
        if guidance(stack, ident).get("guide") and not guidance(stack, ident)["suggested"]:
            return ident
    raise AssertionError("no demo ticket with a guide")
