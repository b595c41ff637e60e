"""Check an unpacked Zendesk app the way Zendesk's validator does (`validate_app`).

`zcli apps:validate` needs live Zendesk credentials, so this re-implements the checks of
Zendesk's validator (the `zendesk_apps_support` gem: validations/manifest.rb,
secure_settings.rb, translations.rb, source.rb, marketplace.rb, mime.rb) that matter for
this app, plus a few stricter ones of our own (logo sizes, ko/en key parity, files the
iframe page references).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ["png_size", "validate_app"]

# --- the validator's vocabulary (zendesk_apps_support) -------------------------------
REQUIRED_MANIFEST_KEYS = (
    "name",
    "author",
    "defaultLocale",
    "location",
    "frameworkVersion",
    "version",
)
FRAMEWORK_VERSIONS = ("2.0",)  # AppVersion::VALID_FOR_CREATE
PARAMETER_TYPES = frozenset(
    {"text", "password", "checkbox", "url", "number", "multiline", "hidden", "oauth"}
)
# secure_settings.rb flags token|key|pwd|password; we also flag "secret".
SECURABLE_NAME = re.compile(r"token|key|pwd|password|secret", re.IGNORECASE)
VALID_LOCALE = re.compile(r"^[a-z]{2}(-\w{2,3})?$")
# The old browser-signed JWT scheme's parameters (no use once Zendesk signs the URL).
OBSOLETE_SIGNED_PARAMETERS = frozenset({"shared_secret", "jwt_issuer", "jwt_audience"})
BOOLEAN_KEYS = ("requirementsOnly", "marketingOnly", "singleInstall", "signedUrls", "private")
STRING_KEYS = (
    "defaultLocale",
    "version",
    "frameworkVersion",
    "remoteInstallationURL",
    "termsConditionsURL",
    "gaID",
)
PRODUCT_LOCATIONS: dict[str, frozenset[str]] = {
    "support": frozenset(
        {
            "ticket_sidebar",
            "new_ticket_sidebar",
            "user_sidebar",
            "organization_sidebar",
            "top_bar",
            "nav_bar",
            "background",
            "modal",
            "ticket_editor",
            "system_top_bar",
        }
    ),
    "chat": frozenset({"chat_sidebar", "background", "modal"}),
    "sell": frozenset(
        {
            "deal_card",
            "lead_card",
            "person_card",
            "company_card",
            "top_bar",
            "background",
            "modal",
            "note_editor",
            "call_log_editor",
            "email_editor",
        }
    ),
}
LEGACY_PRODUCT_NAMES = {"zendesk": "support", "zopim": "chat"}
UNSUPPORTED_EXTENSIONS = frozenset(
    {
        "rar",
        "zip",
        "gz",
        "gzip",
        "pdf",
        "doc",
        "docx",
        "avi",
        "bin",
        "bz",
        "bz2",
        "csh",
        "sh",
        "jar",
        "mp3",
        "mpeg",
        "odt",
        "pptx",
        "ppt",
        "xls",
        "xlsx",
        "7z",
    }
)
LOGO_SIZES = {"assets/logo.png": (320, 320), "assets/logo-small.png": (128, 128)}
_REFERENCE = re.compile(
    r"""<(?:script|link|img)\b[^>]*?\b(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE
)


class _DuplicateKeyError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def _load_json(path: Path, label: str, problems: list[str]) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_no_duplicates)
    except _DuplicateKeyError as exc:
        problems.append(f"{label}: duplicate key {exc}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        problems.append(f"{label}: not valid JSON ({exc})")
    return None


def png_size(path: Path) -> tuple[int, int] | None:
    """Width and height of a PNG file (read from its IHDR chunk), None if not a PNG."""
    head = path.read_bytes()[:24]
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(value, dict):
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, child in value.items():
        flat.update(_flatten(child, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def _check_types(manifest: dict[str, Any], problems: list[str]) -> None:
    for key in BOOLEAN_KEYS:
        if key in manifest and not isinstance(manifest[key], bool):
            problems.append(f"manifest: {key} must be true or false")
    for key in STRING_KEYS:
        if key in manifest and not isinstance(manifest[key], str):
            problems.append(f"manifest: {key} must be a string")
    if "name" in manifest and (not isinstance(manifest["name"], str) or not manifest["name"]):
        problems.append("manifest: name must be a non-empty string")
    author = manifest.get("author")
    if "author" in manifest:
        if not isinstance(author, dict):
            problems.append("manifest: author must be an object with name, email and url")
        else:
            for field in ("name", "email", "url"):
                if not isinstance(author.get(field), str) or not author[field]:
                    problems.append(f"manifest: author {field} must be a non-empty string")
            url = author.get("url")
            if isinstance(url, str) and not re.match(r"^https?://", url):
                problems.append("manifest: author url must start with http:// or https://")
    if "experiments" in manifest and not isinstance(manifest["experiments"], dict):
        problems.append("manifest: experiments must be an object")


def _check_locations(manifest: dict[str, Any], root: Path, problems: list[str]) -> list[str]:
    """Validate `location`; return the relative asset URLs it points at."""
    urls: list[str] = []
    location = manifest.get("location")
    if location is None:
        return urls
    if not isinstance(location, dict) or not location:
        problems.append("manifest: location must be an object of product -> location -> options")
        return urls
    for product, places in location.items():
        product_name = LEGACY_PRODUCT_NAMES.get(str(product), str(product))
        known = PRODUCT_LOCATIONS.get(product_name)
        if known is None:
            problems.append(f"manifest: location: unknown host {product}")
            continue
        if not isinstance(places, dict) or not places:
            problems.append(f"manifest: location.{product} must be an object of locations")
            continue
        for place, options in places.items():
            where = f"location.{product}.{place}"
            if place not in known:
                problems.append(f"manifest: {where}: unknown location for {product_name}")
            url = options.get("url") if isinstance(options, dict) else options
            if (
                isinstance(options, dict)
                and "flexible" in options
                and not isinstance(options["flexible"], bool)
            ):
                problems.append(f"manifest: {where}.flexible must be true or false")
            if not isinstance(url, str) or not url:
                problems.append(f"manifest: {where}: url is missing (iframe apps need one)")
                continue
            if "{{setting." in url:
                continue
            parts = urlsplit(url)
            if parts.scheme:
                if parts.scheme != "https" and parts.hostname != "localhost":
                    problems.append(f"manifest: {where}: absolute url must be https: {url}")
            elif not parts.path.startswith("assets/"):
                problems.append(f"manifest: {where}: url must be under assets/: {url}")
            elif not (root / parts.path).is_file():
                problems.append(f"manifest: {where}: {parts.path} is not in the package")
            else:
                urls.append(parts.path)
    return urls


def _check_parameters(manifest: dict[str, Any], problems: list[str]) -> list[dict[str, Any]]:
    raw = manifest.get("parameters", [])
    if not isinstance(raw, list):
        problems.append("manifest: parameters must be an array")
        return []
    params = [p for p in raw if isinstance(p, dict)]
    if len(params) != len(raw):
        problems.append("manifest: every parameter must be an object")
    names = [str(p.get("name")) for p in params]
    for duplicate in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"manifest: duplicate parameter {duplicate}")
    oauth_count = 0
    for param in params:
        name = param.get("name")
        if not isinstance(name, str) or not name:
            problems.append("manifest: a parameter has no name")
            continue
        where = f"manifest: parameter {name}"
        kind = param.get("type", "text")
        secure = param.get("secure", False)
        if name == "name":
            problems.append(f"{where}: 'name' is reserved")
        if kind not in PARAMETER_TYPES:
            problems.append(
                f"{where}: type {kind!r} is not one of {', '.join(sorted(PARAMETER_TYPES))}"
            )
        for flag in ("required", "secure"):
            if flag in param and not isinstance(param[flag], bool):
                problems.append(f"{where}: {flag} must be true or false")
        if kind == "hidden" and param.get("required"):
            problems.append(f"{where}: hidden parameters cannot be required")
        if kind == "oauth":
            oauth_count += 1
            if secure:
                problems.append(f"{where}: oauth parameters cannot be secure")
        if (secure or kind == "hidden") and "default" in param:
            problems.append(f"{where}: secure and hidden parameters must not have a default")
        scopes = param.get("scopes")
        if secure:
            if (
                not isinstance(scopes, list)
                or not scopes
                or not all(isinstance(s, str) for s in scopes)
            ):
                problems.append(f"{where}: secure parameters must declare scopes")
        elif scopes is not None:
            problems.append(f"{where}: scopes only apply to secure parameters")
        if not secure and kind in ("text", "password") and SECURABLE_NAME.search(name):
            problems.append(
                f"{where}: looks like a secret (token/key/password/secret) but is not secure"
            )
    if oauth_count > 1:
        problems.append("manifest: at most one oauth parameter")
    shared = next((p for p in params if p.get("name") == "shared_secret"), None)
    if shared is not None and (
        not shared.get("secure") or shared.get("scopes") != ["jwt_secret_key"]
    ):
        problems.append(
            'manifest: parameter shared_secret must be secure with scopes ["jwt_secret_key"]'
        )
    return params


def _remote_urls(manifest: dict[str, Any]) -> list[str]:
    """The location URLs that are absolute (a server-side app's pages)."""
    urls: list[str] = []
    location = manifest.get("location")
    for places in location.values() if isinstance(location, dict) else []:
        for options in places.values() if isinstance(places, dict) else []:
            url = options.get("url") if isinstance(options, dict) else options
            if isinstance(url, str) and urlsplit(url).scheme:
                urls.append(url)
    return urls


def _check_signed_urls(manifest: dict[str, Any], problems: list[str]) -> None:
    """Remote locations + signedUrls (Zendesk manifest reference; docs/SECURITY.md).

    Zendesk signs only the load of a remote (absolute https) location URL, POSTing its
    app token there; Guidepost's backend accepts no other identity, so a remote sidebar
    without signedUrls could never get a session, and signedUrls on an assets/ page
    signs nothing. The signed URL's host must be the whitelisted backend host, and the
    browser-signed JWT parameters of the old scheme must be gone.
    """
    remote = _remote_urls(manifest)
    signed = manifest.get("signedUrls") is True
    if remote and not signed:
        problems.append(
            "manifest: remote location " + remote[0] + " needs signedUrls: true "
            "(the backend only accepts Zendesk-signed app tokens)"
        )
    if signed and not remote:
        problems.append(
            "manifest: signedUrls only signs remote (https) location urls; none is remote"
        )
    whitelist = manifest.get("domainWhitelist")
    hosts = {str(d).lower() for d in whitelist} if isinstance(whitelist, list) else set()
    for url in remote:
        host = (urlsplit(url).hostname or "").lower()
        if host not in hosts:
            problems.append(f"manifest: remote location host {host} is not in domainWhitelist")
    if signed:
        names = [
            str(p.get("name"))
            for p in manifest.get("parameters", []) or []
            if isinstance(p, dict) and p.get("name") in OBSOLETE_SIGNED_PARAMETERS
        ]
        if names:
            problems.append(
                "manifest: with signedUrls the app signs nothing itself; remove parameters "
                + ", ".join(names)
            )


def _check_translations(
    manifest: dict[str, Any], params: list[dict[str, Any]], root: Path, problems: list[str]
) -> None:
    folder = root / "translations"
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    default = manifest.get("defaultLocale")
    if isinstance(default, str):
        if not VALID_LOCALE.match(default):
            problems.append(f"manifest: defaultLocale {default!r} is not a valid locale")
        elif not (folder / f"{default}.json").is_file():
            problems.append(f"translations/{default}.json (the default locale) is missing")
    for required in ("ko", "en"):
        if not (folder / f"{required}.json").is_file():
            problems.append(f"translations/{required}.json is missing")
    flat: dict[str, dict[str, Any]] = {}
    for path in files:
        locale = path.stem
        label = f"translations/{path.name}"
        if not VALID_LOCALE.match(locale):
            problems.append(f"{label}: invalid locale name")
        data = _load_json(path, label, problems)
        if data is None:
            continue
        if not isinstance(data, dict):
            problems.append(f"{label}: must be a JSON object")
            continue
        entries = _flatten(data)
        flat[locale] = entries
        for key, value in entries.items():
            if not isinstance(value, str):
                problems.append(f"{label}: {key} must be a string")
        if not entries.get("app.name"):
            problems.append(f"{label}: app.name is missing")
        # translations.rb accepts `description` for `short_description`
        if not (entries.get("app.short_description") or entries.get("app.description")):
            problems.append(f"{label}: app.short_description (or app.description) is missing")
        for param in params:
            name = param.get("name")
            if isinstance(name, str) and not entries.get(f"app.parameters.{name}.label"):
                problems.append(f"{label}: app.parameters.{name}.label is missing")
    if flat:
        every_key: set[str] = set().union(*flat.values())
        for locale, entries in sorted(flat.items()):
            for key in sorted(every_key - set(entries)):
                problems.append(f"translations/{locale}.json: key {key} is missing")


def _check_files(root: Path, pages: list[str], problems: list[str]) -> None:
    for rel, size in LOGO_SIZES.items():
        path = root / rel
        if not path.is_file():
            problems.append(f"{rel} is missing")
            continue
        actual = png_size(path)
        if actual is None:
            problems.append(f"{rel} is not a PNG file")
        elif actual != size:
            problems.append(
                f"{rel} must be {size[0]}x{size[1]} pixels, not {actual[0]}x{actual[1]}"
            )
    # source.rb: an iframe-only app carries no top-level app.js, app.css, lib/ or templates/
    for rel in ("app.js", "app.css"):
        if (root / rel).exists():
            problems.append(f"{rel} at the top level is not allowed in an iframe-only app")
    for folder, pattern in (("lib", "*.js"), ("templates", "*.hdbs")):
        if (root / folder).is_dir() and any((root / folder).rglob(pattern)):
            problems.append(f"{folder}/ is not allowed in an iframe-only app")
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            problems.append(f"{rel}: symlinks are not allowed")
        elif path.is_file() and path.suffix.lstrip(".").lower() in UNSUPPORTED_EXTENSIONS:
            problems.append(f"{rel}: unsupported file type")
    for page in pages:
        html = (root / page).read_text(encoding="utf-8")
        base = (root / page).parent
        for ref in _REFERENCE.findall(html):
            parts = urlsplit(ref)
            if parts.scheme or ref.startswith(("//", "#", "data:")):
                if parts.scheme == "http":
                    problems.append(f"{page}: loads {ref} over plain http")
                continue
            if not (base / parts.path).is_file():
                problems.append(f"{page}: references {ref}, which is not in the package")


def validate_app(root: Path) -> list[str]:
    """Check an unpacked app (what the zip holds) against Zendesk's validator rules.

    Returns the problems found, one readable line each; an empty list means valid.
    """
    problems: list[str] = []
    manifest_path = root / "manifest.json"
    if not manifest_path.is_file():
        nested = sorted(root.glob("*/manifest.json"))
        if nested:
            return [f"manifest.json must be at the top level, found {nested[0].relative_to(root)}"]
        return ["manifest.json is missing"]
    manifest = _load_json(manifest_path, "manifest.json", problems)
    if manifest is None:
        return problems
    if not isinstance(manifest, dict):
        return ["manifest.json must be a JSON object"]
    missing = [key for key in REQUIRED_MANIFEST_KEYS if manifest.get(key) is None]
    if missing:
        problems.append(f"manifest: missing keys {', '.join(missing)}")
    _check_types(manifest, problems)
    version = manifest.get("frameworkVersion")
    if version is not None and version not in FRAMEWORK_VERSIONS:
        problems.append(
            f"manifest: frameworkVersion {version!r} is not one of {', '.join(FRAMEWORK_VERSIONS)}"
        )
    if manifest.get("requirementsOnly") or manifest.get("marketingOnly"):
        problems.append("manifest: this app must not be requirementsOnly or marketingOnly")
    if "noTemplate" in manifest:
        problems.append("manifest: noTemplate is not allowed in framework version 2")
    whitelist = manifest.get("domainWhitelist")
    if (
        not isinstance(whitelist, list)
        or not whitelist
        or not all(isinstance(d, str) and d for d in whitelist)
    ):
        problems.append("manifest: domainWhitelist must list the backend host(s)")
    pages = _check_locations(manifest, root, problems)
    params = _check_parameters(manifest, problems)
    _check_signed_urls(manifest, problems)
    _check_translations(manifest, params, root, problems)
    _check_files(root, pages, problems)
    return problems
