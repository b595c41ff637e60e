"""URL templates that fact values can fill but never redirect, and the host allow-list.

A template is `scheme://host[:port]/path?query` with `{fact_key}` placeholders allowed
in the path and the query only. Each value is percent-encoded with no safe characters
(`/ ? # @ : % &` all encoded), dot segments are refused, and the filled URL is split
again to prove its scheme, host and port are the template's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import httpx

PLACEHOLDER_RE = re.compile(r"\{([a-z][a-z0-9_]*)\}")
DEFAULT_PORTS = {"http": 80, "https": 443}
# Plain http would carry a connector's secret in clear text: only to this machine.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_DOT_SEGMENTS = frozenset({".", ".."})


class UnsafeUrlError(ValueError):
    """A template or a value that could change where a request goes."""


def placeholders(text: str) -> tuple[str, ...]:
    """The fact keys a template text names, in order, without repeats."""
    return tuple(dict.fromkeys(PLACEHOLDER_RE.findall(text)))


def check_braces(text: str) -> None:
    """Refuse braces that are not a `{fact_key}` placeholder."""
    rest = PLACEHOLDER_RE.sub("", text)
    if "{" in rest or "}" in rest:
        raise UnsafeUrlError("a brace that is not a {fact_key} placeholder (lower_snake_case)")


@dataclass(frozen=True)
class UrlTemplate:
    """A parsed URL template: a fixed origin and a path/query with placeholders."""

    text: str
    scheme: str
    host: str
    port: int
    origin: str
    rest: str
    keys: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> UrlTemplate:
        """Parse and vet a template (UnsafeUrlError says what is wrong)."""
        check_braces(text)
        if any(ch.isspace() or ord(ch) < 0x20 for ch in text):
            raise UnsafeUrlError("the URL contains whitespace or a control character")
        parts = urlsplit(text)
        if parts.scheme not in DEFAULT_PORTS:
            raise UnsafeUrlError("the URL must start with https:// (or http:// on loopback)")
        if PLACEHOLDER_RE.search(parts.netloc) or PLACEHOLDER_RE.search(parts.scheme):
            raise UnsafeUrlError("placeholders may not appear in the scheme, host or port")
        if not parts.netloc or "@" in parts.netloc:
            raise UnsafeUrlError("the URL needs a host and no user:password@ part")
        if parts.fragment or "#" in text:
            raise UnsafeUrlError("the URL may not have a #fragment")
        try:
            host, port = parts.hostname, parts.port
        except ValueError as exc:
            raise UnsafeUrlError(f"the port is not a number ({exc})") from None
        if not host:
            raise UnsafeUrlError("the URL needs a host")
        origin = f"{parts.scheme}://{parts.netloc}"
        rest = text[len(origin) :]
        # The host as httpx will send it (lower case, IDNA), so fill() compares like with like.
        host = httpx.URL(origin).host
        if rest and not rest.startswith(("/", "?")):
            raise UnsafeUrlError("the path must start with /")
        return cls(
            text=text,
            scheme=parts.scheme,
            host=host,
            port=port or DEFAULT_PORTS[parts.scheme],
            origin=origin,
            rest=rest,
            keys=placeholders(rest),
        )

    def fill(self, values: Mapping[str, str]) -> str:
        """Fill the placeholders with encoded values; the origin can never change."""
        filled = PLACEHOLDER_RE.sub(lambda match: encode_value(values[match.group(1)]), self.rest)
        url = self.origin + filled
        target = httpx.URL(url)
        if (target.scheme, target.host, target.port or DEFAULT_PORTS[target.scheme]) != (
            self.scheme,
            self.host,
            self.port,
        ):
            raise UnsafeUrlError("a filled value changed the URL's scheme, host or port")
        return url


def encode_value(value: str) -> str:
    """Percent-encode one value for a path segment or a query value (nothing left raw)."""
    if value.strip() in _DOT_SEGMENTS or not value:
        raise UnsafeUrlError(f"the value {value!r} cannot be put in a URL")
    return quote(value, safe="")


def parse_host_entry(entry: str) -> tuple[str, int | None]:
    """Read an allow-list entry `host` or `host:port` (IPv6 in brackets)."""
    parts = urlsplit("//" + entry.strip())
    try:
        port = parts.port
    except ValueError:
        raise UnsafeUrlError(f"allowed host {entry!r}: the port is not a number") from None
    if not parts.hostname or parts.path or parts.query or "@" in parts.netloc:
        raise UnsafeUrlError(f"allowed host {entry!r}: expected host or host:port")
    return parts.hostname.lower(), port


def host_allowed(template: UrlTemplate, allowed: Iterable[str]) -> bool:
    """True when an entry names the template's host and port (no port = the default one)."""
    for entry in allowed:
        try:
            host, port = parse_host_entry(entry)
        except UnsafeUrlError:
            continue
        if host == template.host and (port or DEFAULT_PORTS[template.scheme]) == template.port:
            return True
    return False


def transport_problem(template: UrlTemplate) -> str | None:
    """Why this template's scheme is refused (plain http off loopback), or None."""
    if template.scheme == "http" and template.host not in LOOPBACK_HOSTS:
        return "plain http is allowed only on loopback (127.0.0.1, localhost, ::1); use https"
    return None
