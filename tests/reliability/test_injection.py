"""Injection: HTML, script and template syntax in ticket data stay inert everywhere.

- Internal notes: written as a plain-text `body` (never `html_body`), so Zendesk escapes
  them; the payloads arrive literally, template syntax is not evaluated.
- Macros: the generator escapes every text it renders into `comment_value_html`; the only
  markup is its own `<br>` and the Liquid placeholders it puts in.
- Templates: rendered in Jinja2's immutable sandbox; reading internals, mutating values
  and `str.format` tricks are refused.
- Sidebar (browser): the payloads render as text in headless Chromium; nothing runs.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from jinja2 import TemplateError
from reliability_helpers import Recorder, start_stack

from backend.demo import DEMO_CASES
from backend.domain.fields import FieldCatalog, load_field_catalog
from backend.domain.guides import load_catalog
from backend.domain.render import TextRenderer
from backend.errors import GuideDataError
from backend.settings import REPO_ROOT
from tooling.testing import Stack, make_token

# Each payload carries a marker so the tests can find where it went.
PAYLOADS = (
    "<script>window.__gp_xss=1</script>",
    '<img src=x onerror="window.__gp_xss=2">',
    '"><svg/onload="window.__gp_xss=3">',
    '<a href="javascript:window.__gp_xss=4">click</a>',
    "{{ 7*7 }}{% if true %}ssti{% endif %}",
    "{{ticket.requester.email}}",
    "&lt;b&gt;already escaped&lt;/b&gt; & <b>bold</b>",
)
# A live tag from a payload (escaped text such as `&lt;img onerror=…` is inert).
RAW_TAG = re.compile(r"<\s*/?\s*(script|img|svg|a|b|iframe)\b", re.IGNORECASE)
FIGURES: Counter[str] = Counter()
PARKING_CASE = "주차: 쿠폰 거절 → 현장결제 취소"
RECONNECT_CASE = "강제재연결: 헤어짐, 요금조정 없음 (운영메모)"


def case_ticket(stack: Stack, name: str) -> int:
    """The id of the demo ticket of a DemoCase."""
    return next(
        ident for case, ident in zip(DEMO_CASES, stack.ticket_ids, strict=True) if case.name == name
    )


def text_fields(catalog: FieldCatalog) -> list[str]:
    """Every free-text field of the catalog."""
    return [field.key for field in catalog.fields() if field.type == "text" and field.zendesk]


def poison_ticket(stack: Stack, ticket_id: int, fields: list[str]) -> dict[str, str]:
    """Put a payload in every text field (round robin); return field → payload."""
    chosen = {key: PAYLOADS[index % len(PAYLOADS)] for index, key in enumerate(fields)}
    stack.emulator.store.update_ticket(
        ticket_id,
        {
            "subject": "문의 " + PAYLOADS[0],
            "custom_fields": [
                {"id": stack.field_map[key], "value": value} for key, value in chosen.items()
            ],
        },
    )
    return chosen


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The real backend in front of the emulator with the demo tickets."""
    with start_stack(tmp_path_factory.mktemp("injection")) as running:
        yield running


@pytest.fixture(scope="module")
def catalog_fields() -> FieldCatalog:
    """The field catalog of the repo."""
    return load_field_catalog(REPO_ROOT / "macros" / "fields.yaml")


# ---------------------------------------------------------------- internal notes


@pytest.mark.parametrize("case_name", [PARKING_CASE, RECONNECT_CASE])
def test_notes_are_plain_text_and_payloads_arrive_literally(
    stack: Stack, catalog_fields: FieldCatalog, case_name: str
) -> None:
    """Apply on a ticket whose every text field is a payload: the note is a plain body."""
    store = stack.emulator.store
    store.reset()
    ticket_id = case_ticket(stack, case_name)
    fields = text_fields(catalog_fields)
    chosen = poison_ticket(stack, ticket_id, fields)
    FIGURES["fields"] = max(FIGURES["fields"], len(fields) + 1)
    sent: list[dict[str, Any]] = []
    original = store.update_ticket

    def spy(ident: int, data: Any, **kwargs: Any) -> Any:
        sent.append(data)
        return original(ident, data, **kwargs)

    store.update_ticket = spy  # type: ignore[method-assign]
    headers = {"Authorization": f"Bearer {make_token(stack.settings)}"}
    try:
        with httpx.Client(base_url=stack.backend_url, timeout=15.0) as http:
            guidance = http.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers)
            assert guidance.status_code == 200, guidance.text
            body = guidance.json()
            applied = http.post(
                f"/v1/tickets/{ticket_id}/apply",
                headers=headers,
                json={
                    "branch": body["branch"],
                    "ticket_updated_at": body["ticket_updated_at"],
                    "fingerprint": body["fingerprint"],
                },
            )
            assert applied.status_code == 200, applied.text
    finally:
        del store.update_ticket
    note = applied.json()["note"]
    texts = " ".join(text["body"] for text in body["texts"])
    # The payloads reach the note or the texts literally (the probe reached the output).
    assert any(payload in note + texts for payload in chosen.values()), note
    # Template syntax in data is data: never evaluated.
    assert "ssti" not in note + texts.replace(PAYLOADS[4], "")
    comments = [data["comment"] for data in sent if "comment" in data]
    assert len(comments) == 1
    assert "html_body" not in comments[0]
    assert comments[0]["public"] in (False, "false")
    notes = [c for c in store.comments(ticket_id) if not c["public"]]
    assert len(notes) == 1
    FIGURES["notes_checked"] += 1
    html_body = notes[0]["html_body"]
    assert RAW_TAG.search(html_body) is None, html_body
    if any(payload in note for payload in chosen.values()):
        assert "&lt;" in html_body


@pytest.mark.parametrize("case_name", [PARKING_CASE, RECONNECT_CASE])
def test_guidance_texts_carry_payloads_as_data(
    stack: Stack, catalog_fields: FieldCatalog, case_name: str
) -> None:
    """The decision JSON quotes payloads verbatim (the sidebar must render them as text)."""
    store = stack.emulator.store
    store.reset()
    ticket_id = case_ticket(stack, case_name)
    poison_ticket(stack, ticket_id, text_fields(catalog_fields))
    headers = {"Authorization": f"Bearer {make_token(stack.settings)}"}
    with httpx.Client(base_url=stack.backend_url, timeout=15.0) as http:
        response = http.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    bodies = " ".join(text["body"] for text in response.json()["texts"])
    assert any(payload in bodies for payload in PAYLOADS), bodies
    assert "ssti" not in bodies.replace(PAYLOADS[4], "")


# ---------------------------------------------------------------- macros


def poisoned_guides(tmp_path: Path) -> Path:
    """A copy of macros/ whose templates and labels contain HTML and script."""
    target = tmp_path / "macros"
    shutil.copytree(REPO_ROOT / "macros", target)
    for template in sorted(target.glob("*/templates/*.j2")):
        text = template.read_text(encoding="utf-8")
        template.write_text(f"{PAYLOADS[0]} {PAYLOADS[1]}\n{text}", encoding="utf-8")
    for guide_file in sorted(target.glob("*/guide.yaml")):
        data = yaml.safe_load(guide_file.read_text(encoding="utf-8"))
        for branch in data.get("branches", {}).values():
            if isinstance(branch, dict) and isinstance(branch.get("label"), dict):
                branch["label"]["ko"] = f"{branch['label']['ko']} {PAYLOADS[2]}"
        guide_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return target


def macro_html(macros: list[Any]) -> list[str]:
    """Every comment_value_html of the generated macros."""
    return [
        str(action.value)
        for macro in macros
        for action in macro.spec.actions
        if action.field == "comment_value_html"
    ]


def strip_liquid(html: str) -> str:
    """The HTML without the generator's own Liquid tags and placeholders."""
    return re.sub(r"\{\{[^{}]*\}\}|\{%[^{}]*%\}", "", html)


def test_macros_escape_every_text(tmp_path: Path, catalog_fields: FieldCatalog) -> None:
    """Macros from guides whose templates start with HTML/script: all of it escaped."""
    from backend.macro_sync.generator import generate_macros

    field_map = {
        field.key: 360_000_000 + index
        for index, field in enumerate(catalog_fields.fields())
        if field.zendesk
    }
    for guides_dir, poisoned in ((REPO_ROOT / "macros", False), (poisoned_guides(tmp_path), True)):
        catalog = load_catalog(guides_dir)
        macros = generate_macros(
            catalog, field_map, admin_call_url="https://admin.example/{call_id}"
        )
        htmls = macro_html(macros)
        assert htmls
        for html in htmls:
            plain = strip_liquid(html).replace("<br>", "")
            assert "<" not in plain, html[:300]
            assert ">" not in plain, html[:300]
            if poisoned:
                assert "&lt;script&gt;" in html
        # Liquid in the HTML is only the generator's own placeholders and conditions.
        for html in htmls:
            for tag in re.findall(r"\{\{[^{}]*\}\}", html):
                assert re.fullmatch(
                    r"\{\{\s*ticket\.ticket_field_(option_title_)?\d+[^{}]*\}\}", tag
                ), tag
        FIGURES["macros_checked"] += len(htmls)


# ---------------------------------------------------------------- sandbox

SANDBOX_PROBES = {
    "class_walk": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "function_globals": "{{ call_link.__globals__ }}",
    "jinja_globals": "{{ cycler.__init__.__globals__.os }}",
    "format_string": "{{ '{0.__class__.__init__.__globals__}'.format(guide) }}",
    "mutate_list": "{{ denominations.append(1) }}",
    "mutate_dict": "{{ guide.settings.update({'x': 1}) }}",
    "private_attribute": "{{ guide._private }}{{ guide.__dict__ }}",
    "import": "{% import 'os' as os %}{{ os }}",
}


@pytest.mark.parametrize("name", sorted(SANDBOX_PROBES))
def test_templates_cannot_reach_internals(tmp_path: Path, name: str) -> None:
    """A template that reads internals or mutates data fails to render (GuideDataError)."""
    target = tmp_path / "macros"
    shutil.copytree(REPO_ROOT / "macros", target)
    catalog = load_catalog(target)
    guide = next(iter(catalog.guides.values()))
    (catalog.templates_dir(guide.id) / "evil.j2").write_text(SANDBOX_PROBES[name], "utf-8")
    renderer = TextRenderer(catalog)
    context = renderer.context(guide, {}, "https://admin.example/{call_id}")
    with pytest.raises(GuideDataError) as caught:
        renderer.render(guide.id, "evil.j2", context)
    # Refused by the sandbox (SecurityError), or the attribute is simply not there.
    assert isinstance(caught.value.__cause__, TemplateError), caught.value.__cause__
    FIGURES["sandbox_probes"] += 1


# ---------------------------------------------------------------- sidebar (browser)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
TIMEOUT_MS = 15_000
# Elements or attributes a payload would create if the sidebar rendered it as HTML.
INJECTED_JS = """() => {
  const hits = [];
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.getAttributeNames()) {
      if (attr.startsWith('on')) hits.push(el.tagName + '[' + attr + ']');
    }
    const href = el.getAttribute('href') || el.getAttribute('src') || '';
    if (href.startsWith('javascript:') || href === 'x') hits.push(el.tagName + ' ' + href);
  }
  for (const script of document.querySelectorAll('script')) {
    if (script.textContent.includes('__gp_xss')) hits.push('script');
  }
  if (window.__gp_xss !== undefined) hits.push('executed ' + window.__gp_xss);
  return hits;
}"""


def check_sidebar(browser: Any, harness_url: str, ticket_id: int) -> list[str]:
    """Open a poisoned ticket, check guidance and apply; return the dialogs that opened."""
    dialogs: list[str] = []
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="ko-KR")
    try:
        page = context.new_page()
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{harness_url}/?ticket={ticket_id}")
        page.wait_for_function("window.harness && window.harness.ready", timeout=TIMEOUT_MS)
        app = page.frame_locator("#app-frame")
        app.locator('[data-state="guidance"]').first.wait_for(timeout=TIMEOUT_MS)
        frame = page.frame(name="app-frame")
        assert frame is not None
        shown = frame.evaluate("document.body.textContent")
        assert any(payload in shown for payload in PAYLOADS), shown[:500]
        assert frame.evaluate(INJECTED_JS) == []
        assert page.evaluate(INJECTED_JS) == []
        FIGURES["sidebar_checked"] += 1
        # The confirmation quotes the note that will be written, as text.
        app.locator('[data-action="apply"]').click()
        app.locator("[data-confirm]").wait_for(timeout=TIMEOUT_MS)
        assert frame.evaluate(INJECTED_JS) == []
        app.locator('[data-action="apply-confirm"]').click()
        app.locator('[data-applied="true"]').wait_for(timeout=TIMEOUT_MS)
        page.wait_for_timeout(300)
        assert frame.evaluate(INJECTED_JS) == []
        assert page.evaluate(INJECTED_JS) == []
        FIGURES["sidebar_checked"] += 2
    finally:
        context.close()
    assert errors == []
    return dialogs


def run_browser(check: Callable[[Any], None]) -> None:
    """Run `check(browser)` with headless Chromium on a thread of its own.

    Playwright's sync API refuses to start on a thread where an asyncio loop runs, which
    is the case in a full `make test` session once another folder's session-scoped
    Playwright is open (see the report); a fresh thread has no loop.
    """
    from playwright.sync_api import sync_playwright

    def work() -> None:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                check(browser)
            finally:
                browser.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(work).result(timeout=180)


@pytest.mark.browser
def test_sidebar_renders_payloads_as_text(stack: Stack, catalog_fields: FieldCatalog) -> None:
    """Guidance and the apply confirmation show the payloads as text; nothing runs."""
    pytest.importorskip("playwright")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    from tooling.harness import serve_harness

    store = stack.emulator.store
    store.reset()
    tickets = [case_ticket(stack, name) for name in (PARKING_CASE, RECONNECT_CASE)]
    for ticket_id in tickets:
        poison_ticket(stack, ticket_id, text_fields(catalog_fields))
    dialogs: list[str] = []
    with serve_harness(
        stack.backend_url, stack.emulator.url, stack.settings, serve_sdk_locally=True
    ) as harness:

        def check(browser: Any) -> None:
            for ticket_id in tickets:
                dialogs.extend(check_sidebar(browser, harness.url, ticket_id))

        run_browser(check)
    FIGURES["executed"] += len(dialogs)
    assert dialogs == []
    for ticket_id in tickets:
        notes = [c for c in store.comments(ticket_id) if not c["public"]]
        assert len(notes) == 1
        assert RAW_TAG.search(notes[0]["html_body"]) is None


@pytest.fixture(scope="module", autouse=True)
def _record_figures(figures: Recorder) -> Iterator[None]:
    """After the module: record what its injection tests checked (a fixture, not a test)."""
    yield
    figures(
        "injection",
        {
            "payloads": len(PAYLOADS),
            "fields": FIGURES["fields"],
            "notes_checked": FIGURES["notes_checked"],
            "macros_checked": FIGURES["macros_checked"],
            "sandbox_probes": FIGURES["sandbox_probes"],
            "sidebar_checked": FIGURES["sidebar_checked"],
            "executed": FIGURES["executed"],
        },
    )
