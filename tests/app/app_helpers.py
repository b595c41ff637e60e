"""Helpers for the sidebar tests: the harness handle, the browser run, demo ticket lookup."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from backend.demo import DEMO_CASES
from tooling.testing import Stack, make_token

APP_READY = "[data-state], [data-error], .gp-empty, .gp-status"
TIMEOUT_MS = 10_000


def ticket_id(stack: Stack, name: str) -> int:
    """The id of the demo ticket whose DemoCase is called `name`."""
    for case, ident in zip(DEMO_CASES, stack.ticket_ids, strict=True):
        if case.name == name:
            return ident
    raise KeyError(name)


def backend_headers(stack: Stack, **claims: Any) -> dict[str, str]:
    """A fresh Guidepost session for the emulator's agent (what POST /v1/session mints)."""
    return {"Authorization": f"Bearer {make_token(stack.settings, **claims)}"}


def guidance(stack: Stack, ident: int) -> dict[str, Any]:
    """The backend's guidance for a ticket, fetched directly (the expected values)."""
    response = httpx.get(
        f"{stack.backend_url}/v1/tickets/{ident}/guidance",
        headers=backend_headers(stack),
        timeout=15.0,
    )
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


def guides(stack: Stack) -> dict[str, Any]:
    """The backend's /v1/guides (labels)."""
    response = httpx.get(
        f"{stack.backend_url}/v1/guides", headers=backend_headers(stack), timeout=15.0
    )
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


def set_field(stack: Stack, ident: int, key: str, value: str | None) -> None:
    """Change one custom field of a ticket straight in the emulator (another agent's edit)."""
    stack.emulator.store.update_ticket(
        ident, {"custom_fields": [{"id": stack.field_map[key], "value": value}]}
    )


@dataclass
class Harness:
    """A running harness and what the tests do to it."""

    url: str
    app_origin: str
    http: httpx.Client
    stack: Stack

    def settings(self, **values: str) -> None:
        """Change the app installation's settings (as a Zendesk admin would)."""
        self.http.post("/harness/settings", json=values).raise_for_status()

    def restore_settings(self) -> None:
        """Back to the real backend URL and secret."""
        self.settings(
            backend_url=self.stack.backend_url,
            shared_secret=self.stack.settings.shared_secret.get_secret_value(),
        )

    def proxy_log(self) -> list[dict[str, Any]]:
        """What the proxy forwarded."""
        data: list[dict[str, Any]] = self.http.get("/harness/proxy-log").json()["requests"]
        return data


@dataclass
class BrowserRun:
    """One page in a fresh context, plus what it reported."""

    page: Any
    harness: Harness
    screenshots: Path
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def on_dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    @property
    def app(self) -> Any:
        """A frame locator for the app's iframe."""
        return self.page.frame_locator("#app-frame")

    def app_frame(self) -> Any:
        """The app's Frame (for evaluate)."""
        frame = self.page.frame(name="app-frame")
        assert frame is not None
        return frame

    def open(
        self, ident: int, *, locale: str | None = None, state: str | None = None, extra: str = ""
    ) -> None:
        """Open a ticket in the harness and wait for the sidebar to show `state`."""
        query = f"?ticket={ident}" + (f"&locale={locale}" if locale else "") + extra
        self.page.goto(self.harness.url + "/" + query)
        self.page.wait_for_function("window.harness && window.harness.ready", timeout=TIMEOUT_MS)
        if state is not None:
            self.wait_state(state)

    def reload_app(self, state: str | None = None) -> None:
        """Reload the app iframe (a new app instance on the same ticket)."""
        self.page.evaluate("window.harness.reloadApp()")
        if state is not None:
            self.wait_state(state)

    def wait_state(self, state: str) -> None:
        """Wait until the sidebar shows a view: guidance, suggested, no-guide or an error."""
        selector = (
            f'[data-error="{state.removeprefix("error:")}"]'
            if state.startswith("error:")
            else f'[data-state="{state}"]'
        )
        try:
            self.app.locator(selector).first.wait_for(timeout=TIMEOUT_MS)
        except Exception:
            import sys

            sys.stderr.write("SIDEBAR SHOWS: " + self.app.locator("body").inner_text()[:600] + "\n")
            raise
        self.page.wait_for_timeout(150)  # let the resize message land

    def events(self) -> list[str]:
        """Names of the ZAF events the host fired at the app, in order."""
        return [e["detail"]["name"] for e in self.log("event")]

    def log(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The host's record of ZAF messages."""
        entries: list[dict[str, Any]] = self.page.evaluate("window.harness.log")
        return [e for e in entries if kind is None or e["kind"] == kind]

    def shot(self, name: str, *, full: bool = False) -> Path:
        """Save a screenshot of the sidebar (or the whole page) under test-artifacts/."""
        self.screenshots.mkdir(parents=True, exist_ok=True)
        path = self.screenshots / f"{name}.png"
        if full:
            self.page.screenshot(path=str(path), full_page=True)
        else:
            self.page.locator(".hz-apps").screenshot(path=str(path))
        return path


def answer_through_proxy(
    run: BrowserRun,
    method: str,
    suffix: str,
    payload: dict[str, Any],
    *,
    status: int = 200,
    status_text: str = "OK",
    content_type: str = "application/json",
    once: bool = False,
) -> None:
    """Make Zendesk's proxy (the harness) answer a backend route with `payload`.

    Every matching request, or with `once` only the next one; the rest pass through.
    """
    done: list[bool] = []

    def handle(route: Any) -> None:
        options = (route.request.post_data_json or {}).get("options", {})
        url = str(options.get("url", ""))
        if not (once and done) and options.get("type") == method and url.endswith(suffix):
            done.append(True)
            answer = {
                "status": status,
                "statusText": status_text,
                "headers": {"content-type": content_type},
                "responseText": json.dumps(payload),
            }
            route.fulfill(status=200, content_type="application/json", body=json.dumps(answer))
        else:
            route.continue_()

    run.page.route(f"{run.harness.url}/proxy", handle)


def answer_problem(
    run: BrowserRun,
    method: str,
    suffix: str,
    status: int,
    slug: str,
    *,
    once: bool = False,
    **extra: Any,
) -> None:
    """Make the proxy answer a backend route with Guidepost's problem+json for `slug`."""
    body = {"type": f"https://guidepost.dev/problems/{slug}", "title": slug, "status": status}
    body.update(extra)
    answer_through_proxy(
        run,
        method,
        suffix,
        body,
        status=status,
        status_text=slug,
        content_type="application/problem+json",
        once=once,
    )


def serve_guidance_as(run: BrowserRun, doctored: dict[str, Any]) -> None:
    """Answer the sidebar's GET guidance through the proxy with `doctored`; pass the rest."""
    answer_through_proxy(run, "GET", "/guidance", doctored)
