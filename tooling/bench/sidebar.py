"""Section 4: the sidebar in headless Chromium — `app.registered` to guidance on screen."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.demo import DEMO_CASES
from tooling.bench.common import percentile
from tooling.bench.stack import BackendProcess, EmulatorProcess, backend_settings
from tooling.harness import serve_harness
from tooling.testing import CHROMIUM, CHROMIUM_ARGS

try:
    from playwright.sync_api import Error as PlaywrightError
except ImportError:  # pragma: no cover
    PlaywrightError = RuntimeError  # type: ignore[assignment,misc]

P95_TARGET_MS = 300.0
LOAD_TIMEOUT_MS = 15_000
# Runs in every frame before its scripts; in the app's iframe it notes (performance.now(),
# the iframe's own clock) when Zendesk's `zaf.app.registered` message arrives and when the
# guidance view is first in the DOM, and the next animation frame after it (painted).
PROBE = """
(() => {
  if (window.top === window) { return; }
  const marks = window.__gpBench = { registered: null, rendered: null, painted: null };
  window.addEventListener('message', (event) => {
    let data = event.data;
    if (typeof data === 'string') { try { data = JSON.parse(data); } catch (e) { return; } }
    if (data && data.key === 'zaf.app.registered' && marks.registered === null) {
      marks.registered = performance.now();
    }
  }, true);
  const observer = new MutationObserver(() => {
    if (marks.rendered === null && document.querySelector('[data-state="guidance"]')) {
      marks.rendered = performance.now();
      observer.disconnect();
      requestAnimationFrame(() => { marks.painted = performance.now(); });
    }
  });
  observer.observe(document, { childList: true, subtree: true });
})();
"""


@dataclass
class SidebarLoad:
    """One sidebar load (ms on the iframe's clock)."""

    ticket_id: int
    boot_ms: float
    registered_to_dom_ms: float
    registered_to_paint_ms: float


@dataclass
class SidebarResult:
    """What the sidebar section measured."""

    loads: list[SidebarLoad] = field(default_factory=list)
    skipped: str = ""
    chromium: str = ""

    def stat(self, name: str, q: float) -> float:
        """A percentile of one measure over the loads."""
        return percentile([getattr(load, name) for load in self.loads], q)

    def to_json(self) -> dict[str, Any]:
        """The result as JSON."""
        return {
            "loads": [vars(load) for load in self.loads],
            "skipped": self.skipped,
            "chromium": self.chromium,
        }


def guidance_tickets(emulator: EmulatorProcess) -> list[int]:
    """The demo tickets whose sidebar shows a guidance view (a guide, not suggested)."""
    return [
        ticket_id
        for case, ticket_id in zip(DEMO_CASES, emulator.ticket_ids, strict=True)
        if case.guide is not None and case.branch != "none"
    ]


def wait_for_marks(page: Any) -> dict[str, float]:
    """Poll the app frame until the probe saw the guidance painted (the CSP forbids eval)."""
    deadline = time.monotonic() + LOAD_TIMEOUT_MS / 1000
    marks: Any = None
    while time.monotonic() < deadline:
        # The app iframe is the host page's child frame (its name is not always reported).
        for frame in page.main_frame.child_frames:
            if frame.is_detached():
                continue
            try:
                marks = frame.evaluate("() => window.__gpBench || null")
            except PlaywrightError:  # navigated or replaced while asking
                marks = None
            if marks and marks.get("painted") is not None:
                return {key: float(value) for key, value in marks.items()}
        time.sleep(0.02)
    raise RuntimeError(f"the sidebar showed no guidance in time: {marks}")


def run_sidebar(emulator: EmulatorProcess, loads: int, progress: Any = print) -> SidebarResult:
    """Open `loads` tickets (one fresh page each) and time the sidebar's first guidance."""
    result = SidebarResult()
    if not Path(CHROMIUM).exists():
        result.skipped = f"{CHROMIUM} is not installed"
        return result
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover (playwright is a dev dependency)
        result.skipped = "playwright is not installed"
        return result
    tickets = guidance_tickets(emulator)
    settings = backend_settings(emulator)
    with (
        BackendProcess(emulator) as backend,
        serve_harness(backend.url, emulator.url, settings) as harness,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        result.chromium = str(browser.version)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="ko-KR")
            context.add_init_script(PROBE)
            page = context.new_page()
            for index in range(loads + 1):  # the first load warms caches and is dropped
                ticket_id = tickets[index % len(tickets)]
                page.goto(f"{harness.url}/?ticket={ticket_id}")
                page.wait_for_function(
                    "window.harness && window.harness.ready", timeout=LOAD_TIMEOUT_MS
                )
                marks = wait_for_marks(page)
                if index == 0:
                    continue
                result.loads.append(
                    SidebarLoad(
                        ticket_id=ticket_id,
                        boot_ms=float(marks["registered"]),
                        registered_to_dom_ms=float(marks["rendered"] - marks["registered"]),
                        registered_to_paint_ms=float(marks["painted"] - marks["registered"]),
                    )
                )
            context.close()
        finally:
            browser.close()
    progress(
        f"  sidebar: {len(result.loads)} loads, registered → guidance p50 "
        f"{result.stat('registered_to_paint_ms', 50):.0f} ms, "
        f"p95 {result.stat('registered_to_paint_ms', 95):.0f} ms"
    )
    return result
