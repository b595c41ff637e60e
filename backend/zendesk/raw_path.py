"""The raw JSON path: one thread's API requests sent on the wire, skipping requests/urllib3.

Raw requests (the hot ticket read and safe-update write, the ledger, search, Help Center,
the agent directory) carry the bytes Zenpy's session would send — its headers and Basic
auth, computed once per thread — and go to `wire.WireClient` (one kept-alive connection
per endpoint) under the transport's retry rules (`retries.send_with_retries`). The
session's `verify`/`cert` choose the TLS settings and its response hooks still see every
answer. Cookies are neither sent nor kept (the API authenticates by the Authorization
header); redirects are not followed (the API answers JSON, never a redirect, for these
paths). Used only when no proxy is configured: a proxy keeps requests' own path.

Never imports `backend.domain`.
"""

from __future__ import annotations

import json
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests
from requests.auth import HTTPBasicAuth
from requests.structures import CaseInsensitiveDict

from backend.zendesk.retries import RetryHost, send_with_retries
from backend.zendesk.wire import Endpoint, WireClient, WireResponse, tls_context

# What http.client refuses in a request target or a header value (it would split lines).
BAD_TARGET = re.compile("[\x00-\x20\x7f]")
BAD_HEADER_VALUE = re.compile(r"\n(?![ \t])|\r(?![ \t\n])")
JSON_HEAD = b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
ACCEPT_ENCODING = "gzip, deflate"
EMPTY_BODY_HEAD = b"Content-Length: 0\r\n\r\n"


class SentRequest:
    """The request as the session's hooks see it (`response.request`): requests' names."""

    __slots__ = ("_base", "_extra", "body", "method", "url")

    def __init__(
        self,
        method: str,
        url: str,
        body: bytes | None,
        base: CaseInsensitiveDict[str],
        extra: tuple[tuple[str, str], ...],
    ) -> None:
        self.method = method
        self.url = url
        self.body = body
        self._base = base
        self._extra = extra

    @property
    def headers(self) -> CaseInsensitiveDict[str]:
        """The headers sent (Host aside), in the order sent; built when asked for."""
        headers = self._base.copy()
        for name, value in self._extra:
            headers[name] = value
        return headers


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs ~1 µs more per request
class PreparedRaw:
    """One raw request ready to send: where, its bytes, its TLS settings, the hooks' view."""

    endpoint: Endpoint
    data: bytes
    request: SentRequest
    tls: ssl.SSLContext | None
    head_only: bool
    where: str  # "GET /api/v2/…" for retry logs and errors


class RawPath:
    """One thread's raw requests: the session's headers prepared once, its own wire client."""

    def __init__(self, session: requests.Session) -> None:
        self.session = session
        self.headers = raw_headers(session)
        self.wire = WireClient()
        self._endpoints: dict[str, Endpoint] = {}
        self._blocks: dict[Endpoint, bytes] = {}

    def prepare(
        self,
        target: str,
        known_base: str,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        body: Any,
    ) -> PreparedRaw:
        """The request's bytes, endpoint, TLS settings and hooks' view (no I/O).

        `known_base` is the base of the URL the caller knows the answer by (Zenpy's https
        one in emulator mode); `target` is where it goes.
        """
        if params:
            path += ("&" if "?" in path else "?") + urlencode(params)
        if BAD_TARGET.search(path):
            raise requests.exceptions.InvalidURL(f"bad request target {path!r}")
        endpoint = self._endpoint(target)
        encoded: bytes | None = None
        if body is not None:
            encoded = json.dumps(body, allow_nan=False).encode("utf-8")
            extra: tuple[tuple[str, str], ...] = (
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(encoded))),
            )
            data = b"".join((self._head(method, path, endpoint), JSON_HEAD % len(encoded), encoded))
        elif method in ("GET", "HEAD"):
            extra = ()
            data = self._head(method, path, endpoint) + b"\r\n"
        else:
            extra = (("Content-Length", "0"),)
            data = self._head(method, path, endpoint) + EMPTY_BODY_HEAD
        request = SentRequest(method, known_base + path, encoded, self.headers, extra)
        session = self.session
        tls = None
        if endpoint.scheme == "https":
            verify = session.verify if session.verify is not None else True
            cert = tuple(session.cert) if isinstance(session.cert, list) else session.cert
            tls = tls_context(verify, cert)
        where = f"{method} {path.partition('?')[0]}"
        return PreparedRaw(endpoint, data, request, tls, method == "HEAD", where)

    def send(
        self,
        host: RetryHost,
        target: str,
        known_base: str,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        body: Any,
        timeout: float,
    ) -> WireResponse:
        """Send one request to `target` + path, guarded; the answer after the hooks."""
        prepared = self.prepare(target, known_base, method, path, params, body)
        endpoint, data, request = prepared.endpoint, prepared.data, prepared.request
        tls, head_only = prepared.tls, prepared.head_only
        wire = self.wire

        def attempt() -> WireResponse:
            answer = wire.exchange(endpoint, data, timeout=timeout, tls=tls, head_only=head_only)
            return WireResponse(answer, request.url, request)

        response = send_with_retries(host, method, prepared.where, attempt)
        return self.run_hooks(response)

    def run_hooks(self, response: WireResponse) -> WireResponse:
        """The session's response hooks (none in production) on an answer, as requests runs them.

        They see a WireResponse (requests.Response's names, lighter).
        """
        for hook in self.session.hooks.get("response", ()):
            hooked = hook(response)  # type: ignore[arg-type]
            if hooked is not None:
                response = hooked
        return response

    def close(self) -> None:
        """Close this thread's connections."""
        self.wire.close()

    def _endpoint(self, target: str) -> Endpoint:
        endpoint = self._endpoints.get(target)
        if endpoint is None:
            endpoint = self._endpoints[target] = Endpoint.from_base(target)
        return endpoint

    def _head(self, method: str, path: str, endpoint: Endpoint) -> bytes:
        """Request line, Host and the session's headers, in http.client's order."""
        block = self._blocks.get(endpoint)
        if block is None:
            lines = [f"Host: {endpoint.host_header}\r\n"]
            for name, value in self.headers.items():
                if BAD_HEADER_VALUE.search(value) or BAD_TARGET.search(name):
                    raise requests.exceptions.InvalidHeader(f"bad header {name!r}")
                lines.append(f"{name}: {value}\r\n")
            block = self._blocks[endpoint] = "".join(lines).encode("latin-1")
        return f"{method} {path} HTTP/1.1\r\n".encode("ascii") + block


def raw_headers(session: requests.Session) -> CaseInsensitiveDict[str]:
    """The headers every raw request of this session carries: its own, plus its auth."""
    prepared = requests.PreparedRequest()
    prepared.headers = CaseInsensitiveDict(
        {
            name: value if isinstance(value, str) else value.decode("latin-1")
            for name, value in session.headers.items()
        }
    )
    auth = session.auth
    if isinstance(auth, tuple):
        auth = HTTPBasicAuth(*auth)
    if auth is not None:
        prepared = auth(prepared)
    # Only the codings `wire_answer.decode_body` undoes: requests' default grows with what is
    # installed (br with brotli, zstd on Python 3.14), and an answer in one of those
    # would reach json.loads still compressed.
    prepared.headers["Accept-Encoding"] = ACCEPT_ENCODING
    return prepared.headers
