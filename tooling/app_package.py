"""Build the Zendesk app package (`python -m tooling app package`, `make app`).

The app is `manifest.json` (top level of the repo) + `zendesk_app/assets/` and
`zendesk_app/translations/`. The zip
Zendesk installs holds exactly these, plus two things added at build time:

- `assets/vendor/<name>.css`: Zendesk Garden CSS copied from `zendesk_app/node_modules`
  (`npm ci` runs first when they are missing) — the app has no bundler;
- `assets/translations/<locale>.json`: a copy of `translations/`, because an iframe app
  only sees its `assets/` at run time and loads its UI strings from there;
- for a deployment (not `--dev`), the packaged manifest's sidebar is the backend's signed
  URL (`signed_manifest`): `location.support.ticket_sidebar` = `{"url":
  "<GUIDEPOST_BACKEND_URL>/app/sidebar", "flexible": true}`, `"signedUrls": true` (Zendesk
  POSTs its RS256 app token there, the backend mints the session — docs/SECURITY.md),
  `domainWhitelist` = [backend host], and no `shared_secret` / `jwt_*` parameters (the app
  never signs anything itself any more). `--dev` keeps the repo manifest, which loads
  `assets/iframe.html` for the harness.

`build_app_zip` checks the staged app with `tooling.app_validate.validate_app` (Zendesk's
validator rules) before it writes the zip.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from backend.app_files import GARDEN_CSS, asset_files, files_under
from backend.errors import GuidepostError
from backend.settings import REPO_ROOT
from tooling.app_validate import OBSOLETE_SIGNED_PARAMETERS, png_size, validate_app

__all__ = [
    "APP_DIR",
    "DEFAULT_ZIP",
    "GARDEN_CSS",
    "ZAF_SDK_CDN_URL",
    "AppPackageError",
    "app_files",
    "build_app_zip",
    "domain_whitelist",
    "ensure_node_modules",
    "manifest_path",
    "png_size",
    "signed_manifest",
    "signed_sidebar_url",
    "stage_app",
    "unpacked_path",
    "validate_app",
]

APP_DIR = REPO_ROOT / "zendesk_app"
DEFAULT_ZIP = REPO_ROOT / "dist" / "guidepost-app.zip"
ZAF_SDK_CDN_URL = "https://static.zdassets.com/zendesk_app_framework_sdk/2.0/zaf_sdk.min.js"

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class AppPackageError(GuidepostError):
    """The app package cannot be built, or it breaks a Zendesk validator rule."""

    title = "App package error"
    slug = "app-package"


# ------------------------------------------------------------------ whitelist

# Hosts that are never a deployment's backend (RFC 2606 / RFC 6761 names, loopback).
RESERVED_SUFFIXES = (".example", ".test", ".invalid", ".localhost", ".local")
EXAMPLE_DOMAINS = ("example.com", "example.net", "example.org")
LOOPBACK_HOSTS = frozenset({"localhost", "0.0.0.0", "::", "::1"})  # noqa: S104 - a name, not a bind


def _is_example_or_loopback(host: str) -> bool:
    """True for loopback, example and other reserved hosts that no real backend has."""
    if host in LOOPBACK_HOSTS or host.startswith("127.") or host.endswith(RESERVED_SUFFIXES):
        return True
    return any(host == d or host.endswith("." + d) for d in EXAMPLE_DOMAINS)


def domain_whitelist(backend_url: str, dev: bool = False) -> list[str] | None:
    """The packaged `domainWhitelist`: [backend host]; None = keep the manifest's (dev only).

    Raises AppPackageError for a missing or malformed URL, and for plain http, example or
    loopback hosts unless `dev` (the local harness).
    """
    if not backend_url.strip():
        if dev:
            return None
        raise AppPackageError(
            "GUIDEPOST_BACKEND_URL is not set: the app's domainWhitelist must name your "
            "backend's host (e.g. https://guidepost.acme.com); use --dev for a local package"
        )
    parts = urlsplit(backend_url.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme not in {"http", "https"} or not host:
        raise AppPackageError(f"GUIDEPOST_BACKEND_URL {backend_url!r} is not an http(s) URL")
    if not dev and _is_example_or_loopback(host):
        raise AppPackageError(
            f"GUIDEPOST_BACKEND_URL host {host!r} is an example or loopback host; set your "
            "backend's real host, or use --dev for a local package"
        )
    if not dev and parts.scheme != "https":
        raise AppPackageError(
            f"GUIDEPOST_BACKEND_URL {backend_url!r} must be https (Zendesk's proxy sends the "
            "signed JWT to it); use --dev for a local package"
        )
    return [host]


# The backend route Zendesk POSTs its signed app token to (backend/api/routers/session.py).
SIGNED_SIDEBAR_PATH = "/app/sidebar"


def signed_sidebar_url(backend_url: str) -> str:
    """The sidebar's signed URL: `<backend>/app/sidebar` (query and fragment dropped)."""
    parts = urlsplit(backend_url.strip())
    base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
    return base + SIGNED_SIDEBAR_PATH


def signed_manifest(manifest: dict[str, Any], backend_url: str) -> dict[str, Any]:
    """The deployment manifest: sidebar at the backend's signed URL, signedUrls on.

    Zendesk's manifest reference: a location's `url` may be an absolute https URL (a
    server-side app) and `signedUrls: true` makes Zendesk load it with a POST carrying
    a signed JWT. Key order is kept; `signedUrls` is added after `domainWhitelist`.
    """
    whitelist = domain_whitelist(backend_url)
    result: dict[str, Any] = {}
    for key, value in manifest.items():
        if key == "location":
            value = {
                "support": {
                    "ticket_sidebar": {"url": signed_sidebar_url(backend_url), "flexible": True}
                }
            }
        elif key == "domainWhitelist":
            value = whitelist
        elif key == "parameters":
            value = [p for p in value if p.get("name") not in OBSOLETE_SIGNED_PARAMETERS]
        elif key == "signedUrls":
            continue
        result[key] = value
        if key == "domainWhitelist":
            result["signedUrls"] = True
    result.setdefault("signedUrls", True)
    return result


def _rewrite_manifest(staged: Path, whitelist: list[str] | None, backend_url: str | None) -> None:
    """Apply the whitelist and/or the signed-URL form to the staged manifest."""
    path = staged / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if backend_url is not None:
        manifest = signed_manifest(manifest, backend_url)
    elif whitelist is not None:
        manifest["domainWhitelist"] = whitelist
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# ------------------------------------------------------------------ files


def ensure_node_modules(app_dir: Path = APP_DIR) -> None:
    """Run `npm ci` in `app_dir` when a Garden CSS file is missing from node_modules."""
    modules = app_dir / "node_modules"
    if all((modules / rel).is_file() for rel in GARDEN_CSS.values()):
        return
    npm = shutil.which("npm")
    if npm is None:
        raise AppPackageError(
            f"{modules} is incomplete and npm is not installed; run `npm ci` in {app_dir}"
        )
    result = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=app_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise AppPackageError("npm ci failed in " + str(app_dir) + ": " + " | ".join(tail))
    missing = [rel for rel in GARDEN_CSS.values() if not (modules / rel).is_file()]
    if missing:
        raise AppPackageError(f"npm ci did not install {', '.join(missing)}")


_files_under = files_under


def manifest_path(app_dir: Path = APP_DIR) -> Path:
    """The app's manifest: top level of the repo (fixed layout), or inside a copied app dir."""
    inside = app_dir / "manifest.json"
    return inside if inside.is_file() else app_dir.parent / "manifest.json"


def app_files(app_dir: Path = APP_DIR) -> dict[str, Path]:
    """Map every path inside the package to the source file it is copied from.

    The harness serves the app through this same map and the backend its `assets/` part
    (`backend.app_files.asset_files`), so what they serve is what ships. Garden CSS is
    looked up in node_modules (missing files are simply absent here; `build_app_zip`
    installs them first).
    """
    files: dict[str, Path] = {"manifest.json": manifest_path(app_dir)}
    # the assets/ part is the map the backend serves under /app/assets/ (backend/app_files.py)
    for rel, source in asset_files(app_dir / "assets").items():
        files[f"assets/{rel}"] = source
    translations = app_dir / "translations"
    if translations.is_dir():
        for path in sorted(translations.glob("*.json")):
            files[f"translations/{path.name}"] = path
    return dict(sorted(files.items()))


def stage_app(dest: Path, app_dir: Path = APP_DIR) -> Path:
    """Copy the package's files into `dest` (an unpacked app) and return it."""
    for rel, source in app_files(app_dir).items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return dest


def build_app_zip(
    out_path: Path = DEFAULT_ZIP,
    app_dir: Path = APP_DIR,
    whitelist: list[str] | None = None,
    backend_url: str | None = None,
) -> Path:
    """Build the installable zip (deterministic: sorted entries, fixed timestamps).

    `backend_url` (a deployment) turns the manifest into its signed-URL form
    (`signed_manifest`); otherwise `whitelist` (from `domain_whitelist`) replaces the
    manifest's domainWhitelist and None keeps it (dev). Raises AppPackageError when
    node_modules cannot be installed or the package breaks a validator rule (the message
    lists every problem). The unpacked package is left next to the zip (`unpacked_path`).
    """
    ensure_node_modules(app_dir)
    with tempfile.TemporaryDirectory(prefix="guidepost-app-") as tmp:
        staged = stage_app(Path(tmp) / "app", app_dir)
        if whitelist is not None or backend_url is not None:
            _rewrite_manifest(staged, whitelist, backend_url)
        problems = validate_app(staged)
        if problems:
            raise AppPackageError("; ".join(problems))
        out_path.parent.mkdir(parents=True, exist_ok=True)
        partial = out_path.with_name(out_path.name + ".partial")
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in _files_under(staged):
                info = zipfile.ZipInfo(path.relative_to(staged).as_posix(), date_time=_ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, path.read_bytes())
        partial.replace(out_path)
        _publish_unpacked(staged, unpacked_path(out_path))
    return out_path


def unpacked_path(out_path: Path) -> Path:
    """Where `build_app_zip` leaves the unpacked package: dist/guidepost-app/ next to the zip.

    Its `assets/` is a complete folder for GUIDEPOST_APP_ASSETS_DIR (translations and Garden
    CSS inside), for a backend host without node_modules.
    """
    return out_path.with_name(
        out_path.name.removesuffix(".zip") + ("" if out_path.suffix == ".zip" else ".d")
    )


def _publish_unpacked(staged: Path, dest: Path) -> None:
    """Replace `dest` with a copy of the staged package (never a half-written folder)."""
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(staged, partial)
    old = dest.with_name(dest.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if dest.exists():
        dest.replace(old)
    partial.replace(dest)
    shutil.rmtree(old, ignore_errors=True)


# ------------------------------------------------------------------ validation
