"""The sidebar's files as the app package holds them, for the zip and for the API.

One map, two users: `tooling/app_package.py` zips it (`make app`) and the API serves its
`assets/` part under `/app/assets/` — the page Zendesk opens through the signed URL. So
what runs in production is what ships: the UI strings (`assets/translations/<locale>.json`,
copied from `translations/`) and Zendesk Garden CSS (`assets/vendor/<name>.css`, copied
from `node_modules`) are in both, not only in the zip.

An assets folder is either the source (`zendesk_app/assets`: translations and Garden CSS
next to it, in `../translations` and `../node_modules`) or an unpacked package (`make app`
writes `dist/guidepost-app/`, which holds them inside `assets/` and needs no node_modules).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from backend.errors import SettingsError

__all__ = ["GARDEN_CSS", "REQUIRED_ASSETS", "asset_files", "check_served_assets", "files_under"]

# assets/vendor/<name>.css  <-  node_modules/<path>
GARDEN_CSS: dict[str, str] = {
    "css-variables": "@zendeskgarden/css-variables/dist/index.css",
    "css-bedrock": "@zendeskgarden/css-bedrock/dist/index.css",
    "css-buttons": "@zendeskgarden/css-buttons/dist/index.css",
    "css-forms": "@zendeskgarden/css-forms/dist/index.css",
}

# What the sidebar page cannot run without (paths under assets/): its page, its UI strings
# (app.js shows raw string keys without them) and the Garden CSS iframe.html links.
REQUIRED_ASSETS: tuple[str, ...] = (
    "iframe.html",
    "app.js",
    "translations/ko.json",
    "translations/en.json",
    *(f"vendor/{name}.css" for name in GARDEN_CSS),
)


def files_under(folder: Path) -> Iterator[Path]:
    """Every non-hidden file under `folder`, sorted."""
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            yield path


def asset_files(assets_dir: Path) -> dict[str, Path]:
    """Map every path under the package's `assets/` to the file it comes from.

    Source layout: the folder's own files, `translations/*.json` from the sibling
    `translations/` and Garden CSS from the sibling `node_modules/` (a stale copy inside
    the folder is ignored when the source is there). Unpacked package: its own
    `translations/` and `vendor/`. Missing Garden CSS is simply absent from the map.
    """
    root = assets_dir.parent
    translations = root / "translations"
    modules = root / "node_modules"
    vendor_names = {f"{name}.css" for name in GARDEN_CSS}
    files: dict[str, Path] = {}
    if assets_dir.is_dir():
        for path in files_under(assets_dir):
            rel = path.relative_to(assets_dir).as_posix()
            if rel.startswith("translations/") and translations.is_dir():
                continue
            if rel.startswith("vendor/") and rel.removeprefix("vendor/") not in vendor_names:
                continue
            files[rel] = path
    if translations.is_dir():
        for path in sorted(translations.glob("*.json")):
            files[f"translations/{path.name}"] = path
    for name, rel in GARDEN_CSS.items():
        source = modules / rel
        if source.is_file():
            files[f"vendor/{name}.css"] = source
    return dict(sorted(files.items()))


def check_served_assets(assets_dir: Path) -> dict[str, Path]:
    """The map the API serves; SettingsError (at startup) when the sidebar could not run."""
    files = asset_files(assets_dir)
    missing = [rel for rel in REQUIRED_ASSETS if rel not in files]
    if missing:
        raise SettingsError(
            f"GUIDEPOST_APP_ASSETS_DIR={assets_dir} lacks {', '.join(missing)}: the sidebar "
            "would show raw string keys or no Garden CSS. Point it at the unpacked package "
            "`make app` writes (dist/guidepost-app/assets), or run `npm ci` in zendesk_app next to "
            "the source assets; an empty value serves no app files (API only)."
        )
    return files
