"""The eight demo situations at sidebar size (320 px): each renders its state, and its picture.

`make screenshots` writes the pictures to docs/sidebar/ (GUIDEPOST_SIDEBAR_SHOTS); a plain
test run writes them under test-artifacts/, so `make test` leaves the tree clean.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from app_helpers import BrowserRun, set_field, ticket_id

from backend.settings import REPO_ROOT
from tooling.testing import Stack

pytestmark = pytest.mark.browser

SHOTS = Path(
    os.environ.get("GUIDEPOST_SIDEBAR_SHOTS")
    or REPO_ROOT / "test-artifacts" / "screenshots" / "sidebar"
)
CONFLICT_TICKET = "강제재연결: 동행, 요금조정 없음 (현금, 배정후취소)"
# situation → (demo ticket, the state the sidebar must show)
SITUATIONS = {
    "eligible": ("강제재연결: 동행, 요금조정 없음 (현금, 배정후취소)", "guidance"),
    "blocked": ("강제재연결: 차단 여러 개 (요금 미합의·동의 미확인)", "guidance"),
    "pending": ("강제재연결: 동행, 요금조정 여부 모름", "guidance"),
    "suggested": ("상담유형 없음: 주차 가이드 제안", "suggested"),
    "no-guide": ("가이드 없음", "no-guide"),
    "already-reconnected": ("강제재연결: 이미 한 번 강제연결한 원콜", "guidance"),
    "conflict": (CONFLICT_TICKET, "guidance"),
    "backend-down": ("주차: 기본 정보 수집", "guidance"),
}
OUTCOMES = {"eligible": "진행 가능", "blocked": "진행 불가", "pending": "확인 필요"}


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize("situation", list(SITUATIONS))
def test_demo_situation(browser_run: BrowserRun, stack: Stack, situation: str) -> None:
    run = browser_run
    name, state = SITUATIONS[situation]
    ident = ticket_id(stack, name)
    run.page.set_viewport_size({"width": 320, "height": 800})
    run.open(ident, state=state, extra="&apps=only")
    if situation == "backend-down":  # the sidebar was open, then the backend went away
        run.harness.settings(backend_url=f"http://127.0.0.1:{_dead_port()}")
        run.reload_app(state="error:down")
        assert run.app.locator(".gp-title__link").is_visible()
    if situation in OUTCOMES:
        assert run.app.locator(".gp-outcome__label").inner_text() == OUTCOMES[situation]
    if situation == "already-reconnected":
        run.app.locator("[data-ticket-link]").first.wait_for()
    if situation == "conflict":
        set_field(stack, ident, "customer_presence", "gp_customer_presence_before_meeting")
        run.app.locator('[data-action="apply"]').click()
        run.app.locator('[data-action="apply-confirm"]').click()
        run.wait_state("error:conflict")
    if situation == "suggested":
        run.app.locator('[data-action="set-consult-type"]').wait_for()
    run.page.wait_for_timeout(200)  # the iframe's resize lands
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{situation}.png"
    run.page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000
