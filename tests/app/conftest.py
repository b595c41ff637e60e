"""Fixtures for the sidebar tests: the real stack, the harness and headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from app_helpers import BrowserRun, Harness

from backend.settings import REPO_ROOT
from tooling.harness import serve_harness
from tooling.harness.sdk import bundle_zaf_sdk
from tooling.testing import CHROMIUM, CHROMIUM_ARGS, Stack, run_stack

SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Emulator (bootstrapped fields + demo tickets) and the real backend."""
    with run_stack(tmp_path_factory.mktemp("app-stack")) as running:
        # reset() between tests goes back to the seeded demo state
        running.emulator.store.mark_initial()
        yield running


@pytest.fixture(scope="session")
def harness_server(stack: Stack) -> Iterator[Harness]:
    """The harness on two free ports, serving iframe.html exactly as it ships."""
    with (
        serve_harness(
            stack.backend_url, stack.emulator.url, stack.settings, serve_sdk_locally=False
        ) as running,
        httpx.Client(base_url=running.url, timeout=15.0) as client,
    ):
        yield Harness(url=running.url, app_origin=running.app_origin, http=client, stack=stack)


@pytest.fixture
def harness(harness_server: Harness, stack: Stack) -> Iterator[Harness]:
    """Every test starts from the seeded tickets, no faults and the real app settings."""
    store = stack.emulator.store
    store.clear_faults()
    store.reset()
    harness_server.restore_settings()
    yield harness_server
    store.clear_faults()
    harness_server.restore_settings()


@pytest.fixture(scope="session")
def sdk_js() -> str:
    """The npm SDK, served in place of https://static.zdassets.com/…/zaf_sdk.min.js."""
    return bundle_zaf_sdk()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Chromium per test module (Debian's build; nothing is downloaded).

    Module scope, not session: Playwright's sync API keeps an event loop running while
    it is open, which would break later tests that run asyncio themselves.
    """
    pytest.importorskip("playwright")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_run(chromium: Any, sdk_js: str, harness: Harness) -> Iterator[BrowserRun]:
    """A fresh browser context and page; the CDN SDK URL is routed to the npm copy."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000}, locale="ko-KR")
    context.route(
        "https://static.zdassets.com/**",
        lambda route: route.fulfill(status=200, content_type="text/javascript", body=sdk_js),
    )
    page = context.new_page()
    run = BrowserRun(page=page, harness=harness, screenshots=SCREENSHOTS)
    page.on("pageerror", lambda error: run.page_errors.append(str(error)))
    page.on("dialog", run.on_dialog)
    try:
        yield run
    finally:
        context.close()
    assert run.page_errors == [], run.page_errors
    assert run.dialogs == [], run.dialogs
