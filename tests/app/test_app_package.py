"""The app package: zip contents, and every validator rule with a case that breaks it."""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tooling.app_package import (
    APP_DIR,
    GARDEN_CSS,
    AppPackageError,
    app_files,
    build_app_zip,
    manifest_path,
    png_size,
    signed_manifest,
    signed_sidebar_url,
    stage_app,
    validate_app,
)

Manifest = dict[str, Any]


@pytest.fixture
def staged(tmp_path: Path) -> Path:
    """A fresh unpacked copy of the app (what the zip holds)."""
    return stage_app(tmp_path / "app")


def edit_manifest(root: Path, change: Callable[[Manifest], None]) -> None:
    path = root / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    change(manifest)
    path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")


def param(manifest: Manifest, name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(p for p in manifest["parameters"] if p["name"] == name)
    return found


def edit_translation(root: Path, locale: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = root / "translations" / f"{locale}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_the_staged_app_is_valid(staged: Path) -> None:
    assert validate_app(staged) == []


def test_the_zip_holds_exactly_the_package(tmp_path: Path) -> None:
    out = build_app_zip(tmp_path / "dist" / "guidepost-app.zip")
    names = zipfile.ZipFile(out).namelist()
    assert names == sorted(names)
    assert "manifest.json" in names
    assert {
        "assets/iframe.html",
        "assets/app.js",
        "assets/app.css",
        "assets/logo.png",
        "assets/logo-small.png",
        "translations/ko.json",
        "translations/en.json",
        "assets/translations/ko.json",
        "assets/translations/en.json",
    } <= set(names)
    assert {f"assets/vendor/{name}.css" for name in GARDEN_CSS} <= set(names)
    assert not [n for n in names if "node_modules" in n or n.endswith(("package.json", ".py"))]
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(out).extractall(unpacked)
    assert validate_app(unpacked) == []


def test_the_zip_is_deterministic(tmp_path: Path) -> None:
    first = build_app_zip(tmp_path / "a.zip").read_bytes()
    second = build_app_zip(tmp_path / "b.zip").read_bytes()
    assert first == second


def test_the_vendor_css_is_the_pinned_garden_css() -> None:
    files = app_files()
    for name, rel in GARDEN_CSS.items():
        assert files[f"assets/vendor/{name}.css"] == APP_DIR / "node_modules" / rel
    lock = json.loads((APP_DIR / "package-lock.json").read_text(encoding="utf-8"))
    pinned = {
        key.removeprefix("node_modules/"): value["version"]
        for key, value in lock["packages"].items()
        if key
    }
    assert pinned["zendesk_app_framework_sdk"] == "2.0.11"
    assert pinned["@zendeskgarden/css-bedrock"] == "10.0.1"
    assert pinned["@zendeskgarden/css-buttons"] == "9.0.1"
    assert pinned["@zendeskgarden/css-forms"] == "8.0.1"
    assert pinned["@zendeskgarden/css-variables"] == "7.0.0"
    package = json.loads((APP_DIR / "package.json").read_text(encoding="utf-8"))
    assert all(not v.startswith(("^", "~")) for v in package["dependencies"].values())


def test_a_broken_package_does_not_build(tmp_path: Path) -> None:
    app = tmp_path / "app"
    stage_app(app)
    (app / "node_modules").symlink_to(APP_DIR / "node_modules", target_is_directory=True)
    edit_manifest(app, lambda m: m.pop("domainWhitelist"))
    with pytest.raises(AppPackageError, match="domainWhitelist"):
        build_app_zip(tmp_path / "out.zip", app_dir=app)
    assert not (tmp_path / "out.zip").exists()


def test_the_logos_have_zendesks_sizes() -> None:
    assert png_size(APP_DIR / "assets" / "logo.png") == (320, 320)
    assert png_size(APP_DIR / "assets" / "logo-small.png") == (128, 128)


def test_the_manifest_declares_what_the_app_needs() -> None:
    manifest = json.loads(manifest_path(APP_DIR).read_text(encoding="utf-8"))
    assert manifest["defaultLocale"] == "ko"
    assert manifest["private"] is True
    assert manifest["frameworkVersion"] == "2.0"
    assert manifest["location"] == {
        "support": {"ticket_sidebar": {"url": "assets/iframe.html", "flexible": True}}
    }
    assert param(manifest, "backend_url") == {
        "name": "backend_url",
        "type": "url",
        "required": True,
    }
    secret = param(manifest, "shared_secret")
    assert secret["secure"] is True
    assert "default" not in secret
    assert secret["scopes"] == ["jwt_secret_key"]
    assert param(manifest, "jwt_issuer")["default"] == "guidepost-zendesk-app"
    assert param(manifest, "jwt_audience")["default"] == "guidepost-backend"
    assert "127.0.0.1" in manifest["domainWhitelist"]


def test_the_defaults_match_the_backend_settings() -> None:
    from backend.settings import Settings

    manifest = json.loads(manifest_path(APP_DIR).read_text(encoding="utf-8"))
    defaults = Settings.model_fields
    assert param(manifest, "jwt_issuer")["default"] == defaults["jwt_issuer"].default
    assert param(manifest, "jwt_audience")["default"] == defaults["jwt_audience"].default


def _drop(key: str) -> Callable[[Manifest], None]:
    return lambda m: m.pop(key)


def _set(key: str, value: Any) -> Callable[[Manifest], None]:
    return lambda m: m.__setitem__(key, value)


def _param(name: str, **changes: Any) -> Callable[[Manifest], None]:
    def change(m: Manifest) -> None:
        target = param(m, name)
        for key, value in changes.items():
            if value is None:
                target.pop(key, None)
            else:
                target[key] = value

    return change


def _add_param(spec: dict[str, Any]) -> Callable[[Manifest], None]:
    return lambda m: m["parameters"].append(spec)


def _location(options: Any) -> Callable[[Manifest], None]:
    return lambda m: m.__setitem__("location", {"support": {"ticket_sidebar": options}})


MANIFEST_CASES: list[tuple[str, Callable[[Manifest], None], str]] = [
    ("no name", _drop("name"), "missing keys name"),
    ("no author", _drop("author"), "missing keys author"),
    ("no defaultLocale", _drop("defaultLocale"), "missing keys defaultLocale"),
    ("no location", _drop("location"), "missing keys location"),
    ("no frameworkVersion", _drop("frameworkVersion"), "missing keys frameworkVersion"),
    ("no version", _drop("version"), "missing keys version"),
    ("old framework", _set("frameworkVersion", "1.0"), "frameworkVersion '1.0'"),
    ("author not object", _set("author", "me"), "author must be an object"),
    ("author without email", lambda m: m["author"].pop("email"), "author email"),
    ("author url not http", lambda m: m["author"].__setitem__("url", "ftp://x"), "author url"),
    ("private not boolean", _set("private", "yes"), "private must be true or false"),
    ("version not string", _set("version", 1), "version must be a string"),
    ("bad default locale", _set("defaultLocale", "korean"), "not a valid locale"),
    ("default locale file missing", _set("defaultLocale", "ja"), "translations/ja.json"),
    ("no domainWhitelist", _drop("domainWhitelist"), "domainWhitelist"),
    ("empty domainWhitelist", _set("domainWhitelist", []), "domainWhitelist"),
    ("location not assets", _location({"url": "iframe.html"}), "must be under assets/"),
    ("location file missing", _location({"url": "assets/missing.html"}), "not in the package"),
    ("location http", _location({"url": "http://example.com/app"}), "must be https"),
    (
        "location flexible not boolean",
        _location({"url": "assets/iframe.html", "flexible": "y"}),
        "flexible must be true or false",
    ),
    (
        "unknown location",
        lambda m: m.__setitem__(
            "location", {"support": {"ticket_sidebarr": {"url": "assets/iframe.html"}}}
        ),
        "unknown location",
    ),
    (
        "unknown host",
        lambda m: m.__setitem__(
            "location", {"guide": {"ticket_sidebar": {"url": "assets/iframe.html"}}}
        ),
        "unknown host",
    ),
    ("parameter type", _param("backend_url", type="string"), "type 'string' is not one of"),
    ("required not boolean", _param("backend_url", required="yes"), "required must be true"),
    ("secure default", _param("shared_secret", default="s3cret-value"), "must not have a default"),
    ("secure without scopes", _param("shared_secret", scopes=None), "must declare scopes"),
    (
        "secret with another scope",
        _param("shared_secret", scopes=["header"]),
        'scopes ["jwt_secret_key"]',
    ),
    ("secret not secure", _param("shared_secret", secure=None, scopes=None), "looks like a secret"),
    (
        "remote location not signed",
        _location({"url": "https://guidepost.example.com/app/sidebar"}),
        "needs signedUrls: true",
    ),
    ("signedUrls on a local page", _set("signedUrls", True), "none is remote"),
    (
        "signed host not whitelisted",
        lambda m: m.update(
            signedUrls=True,
            location={"support": {"ticket_sidebar": {"url": "https://other.acme.io/app/sidebar"}}},
        ),
        "other.acme.io is not in domainWhitelist",
    ),
    (
        "signed app keeps the browser-signed secret",
        lambda m: m.update(
            signedUrls=True,
            location={
                "support": {"ticket_sidebar": {"url": "https://guidepost.example.com/app/sidebar"}}
            },
        ),
        "remove parameters shared_secret, jwt_issuer, jwt_audience",
    ),
    (
        "insecure token parameter",
        _add_param({"name": "api_token", "type": "text"}),
        "looks like a secret",
    ),
    (
        "insecure password parameter",
        _add_param({"name": "password", "type": "text"}),
        "looks like a secret",
    ),
    (
        "hidden with default",
        _add_param({"name": "mode", "type": "hidden", "default": "x"}),
        "must not have a default",
    ),
    (
        "hidden required",
        _add_param({"name": "mode", "type": "hidden", "required": True}),
        "hidden parameters cannot be required",
    ),
    (
        "duplicate parameter",
        _add_param({"name": "backend_url", "type": "url"}),
        "duplicate parameter backend_url",
    ),
    ("parameter named name", _add_param({"name": "name", "type": "text"}), "reserved"),
    (
        "scopes on a plain parameter",
        _param("jwt_issuer", scopes=["header"]),
        "scopes only apply to secure",
    ),
    ("parameters not a list", _set("parameters", {}), "parameters must be an array"),
    ("noTemplate", _set("noTemplate", True), "noTemplate"),
]


@pytest.mark.parametrize(
    ("change", "expected"),
    [(c, e) for _, c, e in MANIFEST_CASES],
    ids=[name for name, _, _ in MANIFEST_CASES],
)
def test_each_manifest_rule_rejects_a_broken_copy(
    staged: Path, change: Callable[[Manifest], None], expected: str
) -> None:
    edit_manifest(staged, change)
    problems = validate_app(staged)
    assert any(expected in p for p in problems), problems


ACME = "https://guidepost.acme.io"


def test_the_signed_manifest_points_the_sidebar_at_the_backend(staged: Path) -> None:
    edit_manifest(staged, lambda m: m.update(signed_manifest(m, ACME + "/")))
    manifest = json.loads((staged / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["location"] == {
        "support": {"ticket_sidebar": {"url": ACME + "/app/sidebar", "flexible": True}}
    }
    assert manifest["signedUrls"] is True
    assert manifest["domainWhitelist"] == ["guidepost.acme.io"]
    assert [p["name"] for p in manifest["parameters"]] == ["backend_url"]
    assert validate_app(staged) == []


def test_the_signed_url_keeps_a_backend_path_and_drops_query() -> None:
    assert signed_sidebar_url("https://acme.io/gp/?x=1#f") == "https://acme.io/gp/app/sidebar"


def test_the_built_zip_loads_the_signed_url(tmp_path: Path) -> None:
    out = build_app_zip(tmp_path / "app.zip", backend_url=ACME)
    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        names = archive.namelist()
    sidebar = manifest["location"]["support"]["ticket_sidebar"]
    assert sidebar == {"url": ACME + "/app/sidebar", "flexible": True}
    assert manifest["signedUrls"] is True
    assert manifest["domainWhitelist"] == ["guidepost.acme.io"]
    assert not {"shared_secret", "jwt_issuer", "jwt_audience"} & {
        p["name"] for p in manifest["parameters"]
    }
    # The backend serves the page it redirects to; the zip still ships it for the harness.
    assert "assets/iframe.html" in names


def test_a_missing_manifest_is_reported(staged: Path) -> None:
    (staged / "manifest.json").unlink()
    assert validate_app(staged) == ["manifest.json is missing"]


def test_a_nested_manifest_is_reported(staged: Path, tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    outer.mkdir()
    staged.rename(outer / "app")
    assert "must be at the top level" in validate_app(outer)[0]


def test_invalid_json_is_reported(staged: Path) -> None:
    (staged / "manifest.json").write_text("{", encoding="utf-8")
    assert "not valid JSON" in validate_app(staged)[0]


def test_duplicate_manifest_keys_are_reported(staged: Path) -> None:
    text = (staged / "manifest.json").read_text(encoding="utf-8")
    (staged / "manifest.json").write_text(
        text.replace('"private": true', '"private": true, "private": false'), encoding="utf-8"
    )
    assert any("duplicate key private" in p for p in validate_app(staged))


FILE_CASES: list[tuple[str, Callable[[Path], None], str]] = [
    ("logo missing", lambda r: (r / "assets/logo.png").unlink(), "assets/logo.png is missing"),
    (
        "small logo missing",
        lambda r: (r / "assets/logo-small.png").unlink(),
        "assets/logo-small.png is missing",
    ),
    (
        "logo wrong size",
        lambda r: Image.new("RGBA", (300, 300)).save(r / "assets/logo.png"),
        "must be 320x320 pixels, not 300x300",
    ),
    (
        "small logo wrong size",
        lambda r: Image.new("RGBA", (128, 64)).save(r / "assets/logo-small.png"),
        "must be 128x128",
    ),
    ("logo not png", lambda r: (r / "assets/logo.png").write_bytes(b"GIF89a"), "not a PNG"),
    ("top-level app.js", lambda r: (r / "app.js").write_text("x"), "app.js at the top level"),
    (
        "lib folder",
        lambda r: ((r / "lib").mkdir(), (r / "lib/a.js").write_text("x")),
        "lib/ is not allowed",
    ),
    (
        "templates",
        lambda r: ((r / "templates").mkdir(), (r / "templates/l.hdbs").write_text("")),
        "templates/ is not allowed",
    ),
    ("zip inside", lambda r: (r / "assets/old.zip").write_bytes(b"PK"), "unsupported file type"),
    (
        "symlink",
        lambda r: os.symlink(r / "assets/app.js", r / "assets/link.js"),
        "symlinks are not allowed",
    ),
    (
        "vendor css missing",
        lambda r: (r / "assets/vendor/css-buttons.css").unlink(),
        "references vendor/css-buttons.css",
    ),
    ("app.js missing", lambda r: (r / "assets/app.js").unlink(), "references app.js"),
    (
        "plain http script",
        lambda r: (r / "assets/iframe.html").write_text(
            (r / "assets/iframe.html")
            .read_text()
            .replace("https://static.zdassets.com", "http://static.zdassets.com")
        ),
        "over plain http",
    ),
    (
        "en.json missing",
        lambda r: (r / "translations/en.json").unlink(),
        "translations/en.json is missing",
    ),
    (
        "ko.json missing",
        lambda r: (r / "translations/ko.json").unlink(),
        "translations/ko.json is missing",
    ),
    (
        "bad locale file name",
        lambda r: (r / "translations/korean.json").write_text(
            (r / "translations/ko.json").read_text()
        ),
        "invalid locale name",
    ),
    (
        "translation not json",
        lambda r: (r / "translations/en.json").write_text("{"),
        "translations/en.json: not valid JSON",
    ),
]


@pytest.mark.parametrize(
    ("change", "expected"),
    [(c, e) for _, c, e in FILE_CASES],
    ids=[name for name, _, _ in FILE_CASES],
)
def test_each_file_rule_rejects_a_broken_copy(
    staged: Path, change: Callable[[Path], None], expected: str
) -> None:
    change(staged)
    problems = validate_app(staged)
    assert any(expected in p for p in problems), problems


TRANSLATION_CASES: list[tuple[str, str, Callable[[dict[str, Any]], None], str]] = [
    (
        "en lacks a ui key",
        "en",
        lambda d: d["ui"].pop("apply"),
        "translations/en.json: key ui.apply is missing",
    ),
    (
        "ko lacks a ui key",
        "ko",
        lambda d: d["ui"].pop("retry"),
        "translations/ko.json: key ui.retry is missing",
    ),
    (
        "en has an extra key",
        "en",
        lambda d: d["ui"].__setitem__("extra", "x"),
        "translations/ko.json: key ui.extra is missing",
    ),
    ("no app name", "en", lambda d: d["app"].pop("name"), "app.name is missing"),
    (
        "no short description",
        "ko",
        lambda d: d["app"].pop("short_description"),
        "app.short_description (or app.description) is missing",
    ),
    (
        "no parameter label",
        "en",
        lambda d: d["app"]["parameters"]["backend_url"].pop("label"),
        "app.parameters.backend_url.label is missing",
    ),
    (
        "value not a string",
        "en",
        lambda d: d["ui"].__setitem__("apply", 3),
        "ui.apply must be a string",
    ),
]


@pytest.mark.parametrize(
    ("locale", "change", "expected"),
    [(loc, c, e) for _, loc, c, e in TRANSLATION_CASES],
    ids=[name for name, _, _, _ in TRANSLATION_CASES],
)
def test_each_translation_rule_rejects_a_broken_copy(
    staged: Path, locale: str, change: Callable[[dict[str, Any]], None], expected: str
) -> None:
    edit_translation(staged, locale, change)
    problems = validate_app(staged)
    assert any(expected in p for p in problems), problems


def test_description_is_accepted_for_short_description(staged: Path) -> None:
    def rename(data: dict[str, Any]) -> None:
        data["app"]["description"] = data["app"].pop("short_description")

    for locale in ("ko", "en"):
        edit_translation(staged, locale, rename)
    assert validate_app(staged) == []
