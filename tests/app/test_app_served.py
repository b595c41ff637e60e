"""What the backend serves is what ships: the production page, not the harness's file map.

In production Zendesk posts its signed token to the backend's POST /app/sidebar, which
redirects to the page the backend serves itself under /app/assets/. These tests go that
way (the harness's `?app_from=backend`) or straight at the backend's files.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from app_helpers import BrowserRun, ticket_id
from starlette.exceptions import StarletteDeprecationWarning

from backend.api.app import create_app
from backend.app_files import GARDEN_CSS, REQUIRED_ASSETS, asset_files
from backend.errors import SettingsError
from backend.settings import Settings
from tooling.app_package import APP_DIR, app_files, build_app_zip, unpacked_path
from tooling.testing import Stack

# Starlette 1.x warns that it prefers httpx2 for its TestClient; httpx is what we have.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

KO = json.loads((APP_DIR / "translations" / "ko.json").read_text(encoding="utf-8"))["ui"]


def test_the_backend_serves_the_packages_assets() -> None:
    client = TestClient(create_app(Settings(_env_file=None)))
    package = app_files()
    for rel in REQUIRED_ASSETS:
        answer = client.get(f"/app/assets/{rel}")
        assert answer.status_code == 200, rel
        assert answer.content == package[f"assets/{rel}"].read_bytes(), rel
    assert client.get("/app/assets/translations/ko.json").json()["ui"]["loading"] == KO["loading"]
    # only the package's files: nothing else of the repository
    assert client.get("/app/assets/../backend/settings.py").status_code == 404
    assert client.get("/app/assets/vendor/../../manifest.json").status_code == 404


def test_assets_without_translations_stop_the_backend(tmp_path: Path) -> None:
    assets = tmp_path / "app" / "assets"
    assets.mkdir(parents=True)
    for name in ("iframe.html", "app.js"):
        (assets / name).write_text("x", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"translations/ko\.json"):
        create_app(Settings(_env_file=None, app_assets_dir=assets))
    # an empty value serves no app files (API only), never the working directory
    app = create_app(Settings(_env_file=None, app_assets_dir=""))
    assert TestClient(app).get("/app/assets/iframe.html").status_code == 404


def test_the_unpacked_package_is_complete_without_node_modules(tmp_path: Path) -> None:
    """`make app` leaves dist/guidepost-app/: a backend host without npm serves it."""
    out = build_app_zip(tmp_path / "guidepost-app.zip")
    assets = unpacked_path(out) / "assets"
    assert not (assets.parent / "node_modules").exists()
    files = asset_files(assets)
    assert set(REQUIRED_ASSETS) <= set(files)
    assert {f"vendor/{name}.css" for name in GARDEN_CSS} <= set(files)
    client = TestClient(create_app(Settings(_env_file=None, app_assets_dir=assets)))
    assert client.get("/app/assets/vendor/css-buttons.css").status_code == 200
    assert client.get("/app/assets/translations/ko.json").json()["ui"]["loading"] == KO["loading"]


@pytest.mark.browser
def test_the_page_the_backend_serves_shows_korean_and_garden_css(
    browser_run: BrowserRun, stack: Stack
) -> None:
    run = browser_run
    ident = ticket_id(stack, "강제재연결: 동행, 요금조정 여부 모름")
    run.open(ident, state="guidance", extra="&app_from=backend")
    frame = run.app_frame()
    assert frame.url.startswith(stack.backend_url + "/app/assets/iframe.html")
    body = run.app.locator("#gp-content").inner_text()
    assert KO["now_heading"] in body
    assert "now_heading" not in body
    assert "apply_preview" not in body
    assert run.app.locator('[data-action="apply"]').inner_text() == KO["apply"]
    # every Garden stylesheet iframe.html links loaded, with rules, from the backend
    sheets = frame.evaluate(
        "Array.from(document.styleSheets).filter(function (s) { return s.href; })"
        ".map(function (s) { return [s.href.split('/assets/')[1], s.cssRules.length]; })"
    )
    loaded = dict(sheets)
    for name in GARDEN_CSS:
        assert loaded.get(f"vendor/{name}.css", 0) > 0, name
    # Garden's button look is applied (not the browser's default button)
    radius = frame.evaluate(
        "getComputedStyle(document.querySelector('[data-action=\"apply\"]')).borderRadius"
    )
    assert radius not in ("", "0px")
