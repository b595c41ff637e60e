"""A small HTTP/1.1 client for the raw JSON path: one kept-alive socket per endpoint.

Why: a raw GET through urllib3's pool (http.client, `email` header parsing, HTTPResponse)
cost ~0.55 ms of CPU against the loopback emulator; on a kept-alive socket with httptools'
C parser it costs ~0.17 ms (0.66 → 0.22 ms over TLS; A/B rounds, wave 6). What it does:

- One `WireClient` per thread (the transport's threads each own one): one connection
  per (scheme, host, port), TCP_NODELAY, TLS with verification on (`tls_context`: the
  CA bundle requests would use, or the session's `verify` path; SNI and hostname check),
  one handshake per connection.
- An idle connection the server closed is detected before reuse (a zero-timeout poll,
  as urllib3 does) and reopened; a connection that fails mid-request is closed.
- Answers: Content-Length, chunked, no body (1xx/204/304/HEAD), `Connection: close`,
  a body read until close; gzip/deflate decoded (the headers advertise them); head and
  body bounded in size.
- Answers are read by `wire_answer.py`'s reader (shared with `async_wire.py`): headers
  decoded once per head, JSON bodies parsed by orjson with json.loads' answers.
- Failures are raised as the `requests` errors `HTTPAdapter.send` raises for the same
  failure (ConnectionError, ConnectTimeout, ReadTimeout, SSLError, ContentDecodingError),
  so the transport's retry rules see what they saw before.

Never imports `backend.domain`.
"""

from __future__ import annotations

import contextlib
import functools
import os
import select
import socket
import ssl
import weakref
from typing import Any, NamedTuple

import httptools
import requests
from requests.utils import DEFAULT_CA_BUNDLE_PATH, get_encoding_from_headers

from backend.errors import ZendeskError
from backend.zendesk.wire_answer import (
    MAX_HEAD_BYTES,
    AnswerReader,
    AnswerTooLargeError,
    WireAnswer,
    parse_json,
)

RECV_BYTES = 64 * 1024
DEFAULT_PORTS = {"http": 80, "https": 443}


class WireClosedError(ZendeskError):
    """An exchange on a closed client (the gateway was closed): not a network failure."""


class Endpoint(NamedTuple):
    """Where a connection goes: scheme, host, port.

    A NamedTuple: hashed in C (a frozen dataclass's Python __hash__ cost ~0.5 µs on each
    of the three lookups a request makes).
    """

    scheme: str
    host: str
    port: int

    @classmethod
    def from_base(cls, base: str) -> Endpoint:
        """`scheme://host[:port]` → Endpoint."""
        scheme, _, netloc = base.partition("://")
        scheme = scheme.lower()
        if scheme not in DEFAULT_PORTS or not netloc:
            raise requests.exceptions.InvalidURL(f"not an http(s) base URL: {base!r}")
        if netloc.startswith("["):  # an IPv6 literal
            host, _, rest = netloc[1:].partition("]")
            port_text = rest.removeprefix(":")
        else:
            host, _, port_text = netloc.partition(":")
        try:
            port = int(port_text) if port_text else DEFAULT_PORTS[scheme]
        except ValueError:
            raise requests.exceptions.InvalidURL(f"bad port in {base!r}") from None
        return cls(scheme, host, port)

    @property
    def host_header(self) -> str:
        """The Host header http.client sends: the port only when it is not the default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


@functools.lru_cache(maxsize=8)
def tls_context(verify: bool | str, cert: str | tuple[str, str] | None) -> ssl.SSLContext:
    """The client TLS context for a session's `verify` and `cert` (made once per process)."""
    if verify is False:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        where = DEFAULT_CA_BUNDLE_PATH if verify is True else verify
        if not os.path.exists(where):
            # requests' own words for it (HTTPAdapter.cert_verify), an OSError as there.
            raise OSError(
                f"Could not find a suitable TLS CA certificate bundle, invalid path: {where}"
            )
        if os.path.isdir(where):
            context = ssl.create_default_context(capath=where)
        else:
            context = ssl.create_default_context(cafile=where)
    # As urllib3: TLS 1.2 at least, and HTTP/1.1 named in ALPN (no h2 answer).
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    if isinstance(cert, tuple):
        context.load_cert_chain(*cert)
    elif cert:
        context.load_cert_chain(cert)
    return context


class WireConnection:
    """One kept-alive (TLS) socket to one endpoint."""

    def __init__(self, endpoint: Endpoint, timeout: float, context: ssl.SSLContext | None) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        try:
            sock = socket.create_connection((endpoint.host, endpoint.port), timeout)
        except TimeoutError as exc:
            raise requests.ConnectTimeout(f"connecting to {endpoint.host}: {exc}") from None
        except OSError as exc:
            raise requests.ConnectionError(f"connecting to {endpoint.host}: {exc}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if context is not None:
            try:
                sock = context.wrap_socket(sock, server_hostname=endpoint.host)
            except BaseException as exc:
                sock.close()
                raise _handshake_error(exc, endpoint) from None
        self.sock = sock
        self._poll = select.poll()
        self._poll.register(sock.fileno(), select.POLLIN)

    def dropped(self) -> bool:
        """True when the idle connection is readable: closed by the server (or garbage)."""
        return bool(self._poll.poll(0))

    def exchange(self, data: bytes, head_only: bool) -> tuple[WireAnswer, bool]:
        """Send one request and read its answer; (answer, reusable)."""
        sock = self.sock
        try:
            sock.sendall(data)
        except TimeoutError as exc:
            raise requests.ReadTimeout(f"sending: {exc}") from None
        except OSError:
            pass  # a reset/closed peer may still have answered (as urllib3): read it
        reader = AnswerReader(head_only)
        parser = reader.parser
        head_bytes = 0
        while not reader.done:
            try:
                data = sock.recv(RECV_BYTES)
            except TimeoutError as exc:
                raise requests.ReadTimeout(f"reading the answer: {exc}") from None
            except ssl.SSLError as exc:
                raise requests.exceptions.SSLError(f"reading the answer: {exc}") from None
            except OSError as exc:
                raise requests.ConnectionError(f"reading the answer: {exc}") from None
            if not data:
                if reader.until_close:
                    return reader.answer(), False
                problem = "closed mid-answer" if head_bytes else "closed without an answer"
                raise requests.ConnectionError(f"the server {problem}")
            head_bytes += len(data)
            try:
                parser.feed_data(data)
            except httptools.HttpParserError as exc:
                if reader.done:
                    # Stray bytes after a complete answer: the answer stands (as urllib3),
                    # the connection is not reused.
                    return reader.answer(), False
                if reader.too_large is not None:
                    raise AnswerTooLargeError(reader.too_large) from None
                raise requests.ConnectionError(f"unreadable answer: {exc}") from None
            if not reader.head_done and head_bytes > MAX_HEAD_BYTES:
                # Every byte read so far belongs to the head (it is not complete yet).
                raise requests.ConnectionError(f"answer head over {MAX_HEAD_BYTES} bytes")
        return reader.answer(), reader.keep_alive and not reader.extra

    def close(self) -> None:
        """Close the socket (idempotent)."""
        with contextlib.suppress(OSError):
            self.sock.close()


def _handshake_error(exc: BaseException, endpoint: Endpoint) -> BaseException:
    """The requests error for a failed TLS handshake."""
    if isinstance(exc, TimeoutError):
        return requests.ConnectTimeout(f"TLS handshake with {endpoint.host}: {exc}")
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return requests.exceptions.SSLError(f"TLS with {endpoint.host}: {exc}")
    if isinstance(exc, OSError):
        return requests.ConnectionError(f"TLS handshake with {endpoint.host}: {exc}")
    return exc


class WireClient:
    """One thread's kept-alive connections, one per endpoint."""

    def __init__(self) -> None:
        self._connections: dict[Endpoint, WireConnection] = {}
        self._closed = False
        # A client dropped without close() closes its sockets when collected (as urllib3's
        # pools do), instead of leaving them to the garbage collector's warnings.
        weakref.finalize(self, _close_all, self._connections)

    def exchange(
        self,
        endpoint: Endpoint,
        data: bytes,
        *,
        timeout: float,
        tls: ssl.SSLContext | None,
        head_only: bool = False,
    ) -> WireAnswer:
        """Send `data` (a whole request) to `endpoint` and read the answer."""
        if self._closed:
            # Closed by the gateway (shutdown): never reopen a connection nobody would close.
            raise WireClosedError("the Zendesk wire client is closed")
        connection = self._connections.get(endpoint)
        if connection is not None and connection.dropped():
            self._forget(endpoint)
            connection = None
        if connection is None:
            connection = WireConnection(endpoint, timeout, tls)
            self._connections[endpoint] = connection
        elif connection.timeout != timeout:
            connection.sock.settimeout(timeout)
            connection.timeout = timeout
        try:
            answer, reusable = connection.exchange(data, head_only)
        except BaseException:
            self._forget(endpoint)
            raise
        if not reusable:
            self._forget(endpoint)
        return answer

    def connections(self) -> int:
        """Count the open connections (tests, the bench)."""
        return len(self._connections)

    def _forget(self, endpoint: Endpoint) -> None:
        connection = self._connections.pop(endpoint, None)
        if connection is not None:
            connection.close()

    def close(self) -> None:
        """Close every connection; later exchanges raise WireClosedError."""
        self._closed = True
        _close_all(self._connections)


def _close_all(connections: dict[Endpoint, WireConnection]) -> None:
    """Close and forget every connection of a client."""
    for connection in list(connections.values()):
        connection.close()
    connections.clear()


class WireResponse:
    """An answer as the transport reads it: requests.Response's names, lighter."""

    __slots__ = ("content", "headers", "reason", "request", "status_code", "url")

    def __init__(self, answer: WireAnswer, url: str, request: Any) -> None:
        self.status_code = answer.status
        self.reason = answer.reason
        self.headers = answer.headers
        self.content = answer.body
        self.url = url
        self.request = request

    @property
    def encoding(self) -> str | None:
        """The charset of Content-Type (requests' rule)."""
        return get_encoding_from_headers(self.headers)

    @property
    def text(self) -> str:
        """The body as text."""
        return self.content.decode(self.encoding or "utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON (ValueError when it is not JSON)."""
        return parse_json(self.content)

    def close(self) -> None:
        """Nothing to release: the body is read and the connection back in its client."""
