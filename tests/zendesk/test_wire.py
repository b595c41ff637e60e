"""The raw path's HTTP/1.1 client: framing, decoding, keep-alive, faults, TLS, bounds."""

from __future__ import annotations

import gzip
import itertools
import socket
import ssl
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.zendesk import wire, wire_answer
from backend.zendesk.raw_path import raw_headers
from backend.zendesk.retries import NETWORK_ERRORS
from backend.zendesk.wire import Endpoint, WireClient, tls_context
from backend.zendesk.wire_answer import AnswerTooLargeError, WireAnswer, decode_body
from tests.zendesk.wire_server import Action, ScriptedServer, answer
from tooling.bench.tls import make_local_ca

JSON = b'{"ticket": {"id": 7, "subject": "\xec\x95\x88\xeb\x85\x95"}}'


@pytest.fixture(autouse=True)
def _closed_clients(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every WireClient a test makes is closed after it (no socket left to the collector)."""
    made: list[WireClient] = []
    init = WireClient.__init__

    def tracked(self: WireClient) -> None:
        init(self)
        made.append(self)

    monkeypatch.setattr(WireClient, "__init__", tracked)
    yield
    for client in made:
        client.close()


def _request(method: str = "GET", path: str = "/x") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode()


def _exchange(
    client: WireClient,
    server: ScriptedServer,
    method: str = "GET",
    *,
    timeout: float = 2.0,
    tls: ssl.SSLContext | None = None,
    host: str = "127.0.0.1",
) -> WireAnswer:
    endpoint = Endpoint(server.url.split("://")[0], host, server.port)
    return client.exchange(
        endpoint, _request(method), timeout=timeout, tls=tls, head_only=method == "HEAD"
    )


def _always(*actions: Action) -> ScriptedServer:
    return ScriptedServer(lambda index, request: actions)


def _chunked(body: bytes, size: int) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def test_a_content_length_answer_keeps_its_connection() -> None:
    """Status, reason, headers (case-insensitive) and body; one connection for three calls."""
    with _always(answer(body=JSON, headers=["Content-Type: application/json"])) as server:
        client = WireClient()
        for _ in range(3):
            got = _exchange(client, server)
            assert (got.status, got.reason, got.body) == (200, "OK", JSON)
            assert got.headers["CONTENT-TYPE"] == got.headers.get("content-type")
        assert server.connections == 1
        assert client.connections() == 1
        (connection,) = client._connections.values()
        assert connection.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        client.close()
        assert client.connections() == 0


def test_a_chunked_answer_is_joined() -> None:
    """Chunks joined, a trailer ignored, the connection kept."""
    head = answer(headers=["Transfer-Encoding: chunked"], body=b"", length=False)
    trailed = _chunked(JSON, 5).removesuffix(b"\r\n") + b"X-Trailer: t\r\n\r\n"
    with _always(head + trailed) as server:
        client = WireClient()
        got = _exchange(client, server)
        assert (got.body, "x-trailer" in got.headers) == (JSON, False)
        assert _exchange(client, server).body == JSON
        assert server.connections == 1


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data, wbits=-zlib.MAX_WBITS)),
        ("gzip", lambda data: gzip.compress(data[:9]) + gzip.compress(data[9:])),
        ("gzip, deflate", lambda data: zlib.compress(gzip.compress(data))),
        ("br", lambda data: data),  # not advertised, not decoded (as urllib3)
    ],
)
def test_a_compressed_answer_is_decoded(coding: str, encode: object) -> None:
    body = encode(JSON)  # type: ignore[operator]
    assert isinstance(body, bytes)
    with _always(answer(body=body, headers=[f"Content-Encoding: {coding}"])) as server:
        got = _exchange(WireClient(), server)
    assert got.body == JSON
    assert got.headers["content-encoding"] == coding


def test_an_undecodable_body_is_not_a_network_failure() -> None:
    """Bad gzip is what requests calls ContentDecodingError: never retried."""
    bad = answer(body=b"not gzip", headers=["Content-Encoding: gzip"])
    with _always(bad) as server, pytest.raises(requests.exceptions.ContentDecodingError) as info:
        _exchange(WireClient(), server)
    assert not isinstance(info.value, NETWORK_ERRORS)


@pytest.mark.parametrize("status", ["204 No Content", "304 Not Modified"])
def test_answers_without_a_body_end_at_their_head(status: str) -> None:
    """204/304 carry no body even with a length-less head; the connection stays."""
    with _always(answer(status, body=b"", length=False)) as server:
        client = WireClient()
        assert _exchange(client, server).body == b""
        assert _exchange(client, server).body == b""
        assert server.connections == 1


def test_a_head_answer_has_no_body_despite_its_length() -> None:
    with _always(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n") as server:
        client = WireClient()
        assert _exchange(client, server, "HEAD").body == b""
        assert _exchange(client, server, "HEAD").status == 200
        assert server.connections == 1


def test_an_interim_answer_is_skipped() -> None:
    with _always(b"HTTP/1.1 100 Continue\r\n\r\n" + answer(body=JSON)) as server:
        got = _exchange(WireClient(), server)
    assert (got.status, got.body) == (200, JSON)


def test_a_connection_close_answer_is_not_reused() -> None:
    with _always(answer(body=JSON, headers=["Connection: close"]), None) as server:
        client = WireClient()
        assert _exchange(client, server).body == JSON
        assert client.connections() == 0
        assert _exchange(client, server).body == JSON
        assert server.connections == 2


def test_a_body_without_length_ends_when_the_server_closes() -> None:
    with _always(answer(body=JSON, length=False), None) as server:
        client = WireClient()
        assert _exchange(client, server).body == JSON
        assert client.connections() == 0


def test_a_stale_kept_alive_connection_is_reopened_before_use() -> None:
    """The server closes an idle connection (no Connection: close): detected, reopened."""
    with _always(answer(body=JSON), 0.05, None) as server:
        client = WireClient()
        assert _exchange(client, server).body == JSON
        stale = client._connections[Endpoint("http", "127.0.0.1", server.port)]
        for _ in range(200):  # until the server's FIN has arrived
            if stale.dropped():
                break
            time.sleep(0.01)
        assert stale.dropped()
        assert _exchange(client, server).body == JSON  # no error: a fresh connection
        assert server.connections == 2
        assert stale.sock.fileno() == -1  # the stale socket was closed, not leaked


def _requests_error(url: str, timeout: float = 2.0) -> Exception:
    """What requests' own path raises against the same server."""
    with requests.Session() as session:
        session.trust_env = False
        try:
            session.get(url + "/x", timeout=timeout)
        except requests.RequestException as exc:
            return exc
    raise AssertionError("no error")


def _same_kind(ours: Exception, theirs: Exception) -> None:
    """Both retried (or not) alike, and named alike ("timed out" / "connection failed")."""
    assert isinstance(ours, NETWORK_ERRORS) == isinstance(theirs, NETWORK_ERRORS)
    assert isinstance(ours, requests.Timeout) == isinstance(theirs, requests.Timeout)


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        ((None,), requests.ConnectionError),  # closed without an answer
        ((answer(body=JSON)[:-10], None), requests.ConnectionError),  # closed mid-body
        ((b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", None), requests.ConnectionError),
        ((b"NOT HTTP\r\n\r\n", None), requests.ConnectionError),
        ((0.5, answer(body=JSON)), requests.ReadTimeout),  # slow answer
    ],
)
def test_faults_raise_the_requests_errors(
    actions: tuple[Action, ...], expected: type[Exception]
) -> None:
    """Each fault closes the connection and raises what the retry rules expect."""
    with _always(*actions) as server:
        client = WireClient()
        with pytest.raises(expected) as info:
            _exchange(client, server, timeout=0.2)
        assert client.connections() == 0
        _same_kind(info.value, _requests_error(server.url, timeout=0.2))


def test_a_kept_connection_takes_the_new_timeout() -> None:
    """The timeout is the caller's on every request, also on a connection made earlier."""
    with ScriptedServer(lambda index, request: [0.5 * index, answer(body=JSON)]) as server:
        client = WireClient()
        assert _exchange(client, server, timeout=2.0).body == JSON
        with pytest.raises(requests.ReadTimeout):
            _exchange(client, server, timeout=0.2)
        assert server.connections == 1


def test_a_refused_connection_is_a_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = Endpoint("http", "127.0.0.1", port)
    with pytest.raises(requests.ConnectionError) as info:
        WireClient().exchange(endpoint, _request(), timeout=1.0, tls=None)
    assert not isinstance(info.value, requests.Timeout)
    _same_kind(info.value, _requests_error(f"http://127.0.0.1:{port}"))


def test_a_connect_that_hangs_is_a_connect_timeout() -> None:
    """A full accept queue drops SYNs (Linux): the connect times out, as requests names it."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)):  # fills the queue
            endpoint = Endpoint("http", "127.0.0.1", port)
            with pytest.raises(requests.ConnectTimeout) as info:
                WireClient().exchange(endpoint, _request(), timeout=0.2, tls=None)
            _same_kind(info.value, _requests_error(f"http://127.0.0.1:{port}", timeout=0.2))


def test_an_oversized_head_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wire, "MAX_HEAD_BYTES", 1024)
    monkeypatch.setattr(wire, "RECV_BYTES", 256)
    endless = b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"a" * 4000 + b"\r\n\r\n"
    with _always(endless) as server, pytest.raises(requests.ConnectionError) as info:
        _exchange(WireClient(), server)
    assert "head over 1024 bytes" in str(info.value)


def test_too_many_headers_are_refused() -> None:
    head = answer(headers=[f"X-{n}: v" for n in range(150)])
    with _always(head) as server, pytest.raises(requests.ConnectionError):
        _exchange(WireClient(), server)


@pytest.mark.parametrize("announced", [True, False])
def test_an_oversized_body_is_refused_and_not_retried(
    monkeypatch: pytest.MonkeyPatch, announced: bool
) -> None:
    monkeypatch.setattr(wire_answer, "MAX_BODY_BYTES", 1000)
    big = b"x" * 5000
    head = answer(headers=["Transfer-Encoding: chunked"], body=b"", length=False)
    sent = answer(body=big) if announced else head + _chunked(big, 700)
    with _always(sent) as server, pytest.raises(AnswerTooLargeError) as info:
        _exchange(WireClient(), server)
    assert not isinstance(info.value, NETWORK_ERRORS)


def test_a_compression_bomb_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wire_answer, "MAX_BODY_BYTES", 10_000)
    bomb = gzip.compress(b"\0" * 1_000_000)
    with pytest.raises(AnswerTooLargeError):
        decode_body(bomb, "gzip")
    with pytest.raises(AnswerTooLargeError):
        decode_body(zlib.compress(b"\0" * 1_000_000), "deflate")


def _tls_server(tmp_path: Path, host: str = "127.0.0.1") -> tuple[ScriptedServer, Path, list[str]]:
    """An HTTPS server with a certificate for localhost and 127.0.0.1 (the bench's CA)."""
    ca, cert, key = make_local_ca(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    names: list[str] = []

    def sni(sock: ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> None:
        names.append(name or "")

    context.sni_callback = sni  # type: ignore[assignment]
    server = ScriptedServer(lambda index, request: [answer(body=JSON)], tls=context, host=host)
    return server, ca, names


def test_tls_verifies_and_keeps_one_handshake(tmp_path: Path) -> None:
    """Trusted CA: one handshake for many calls, SNI sent; an untrusted CA: SSLError."""
    server, ca, names = _tls_server(tmp_path)
    with server:
        client = WireClient()
        for _ in range(5):
            got = _exchange(client, server, tls=tls_context(str(ca), None), host="localhost")
            assert got.body == JSON
        assert server.connections == 1
        assert names == ["localhost"]
        with pytest.raises(requests.exceptions.SSLError) as info:
            _exchange(WireClient(), server, tls=tls_context(True, None), host="localhost")
        _same_kind(info.value, _requests_error(server.url))


def test_tls_checks_the_host_name(tmp_path: Path) -> None:
    """A certificate for 127.0.0.1 and localhost does not hold for 127.0.0.2."""
    server, ca, _ = _tls_server(tmp_path, host="127.0.0.2")
    with server, pytest.raises(requests.exceptions.SSLError) as info:
        _exchange(WireClient(), server, tls=tls_context(str(ca), None), host="127.0.0.2")
    assert "127.0.0.2" in str(info.value)


def test_an_unknown_ca_bundle_path_fails_as_requests_does() -> None:
    with pytest.raises(OSError, match=r"invalid path: /nowhere/ca\.pem"):
        tls_context("/nowhere/ca.pem", None)


FRAMINGS = st.sampled_from(["length", "chunked", "close"])
CODINGS = st.sampled_from(["identity", "gzip", "deflate"])


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=3000),
    framing=FRAMINGS,
    coding=CODINGS,
    chunk=st.integers(1, 700),
    cuts=st.lists(st.integers(0, 4000), max_size=6),
)
def test_any_split_of_any_answer_reads_the_same(
    body: bytes, framing: str, coding: str, chunk: int, cuts: list[int]
) -> None:
    """However the bytes arrive, the reader yields the body that was sent."""
    encoded = {"identity": body, "gzip": gzip.compress(body), "deflate": zlib.compress(body)}
    payload = encoded[coding]
    headers = [f"Content-Encoding: {coding}"]
    if framing == "length":
        raw = answer(body=payload, headers=headers)
    elif framing == "chunked":
        raw = answer(headers=[*headers, "Transfer-Encoding: chunked"], body=b"", length=False)
        raw += _chunked(payload, chunk)
    else:
        raw = answer(body=payload, headers=headers, length=False)
    reader = wire_answer.AnswerReader(head_only=False)
    points = sorted({min(cut, len(raw)) for cut in cuts} | {0, len(raw)})
    for start, end in itertools.pairwise(points):
        reader.parser.feed_data(raw[start:end])
    assert reader.done == (framing != "close")
    assert reader.until_close == (framing == "close")
    assert reader.answer().body == body


@pytest.mark.parametrize(
    ("base", "host_header"),
    [
        ("https://acme.zendesk.com", "acme.zendesk.com"),
        ("https://acme.zendesk.com:8443", "acme.zendesk.com:8443"),
        ("http://127.0.0.1:80", "127.0.0.1"),
        ("http://[::1]:8080", "[::1]:8080"),
    ],
)
def test_the_host_header_is_http_clients(base: str, host_header: str) -> None:
    """The port only when it is not the scheme's default; IPv6 literals in brackets."""
    assert Endpoint.from_base(base).host_header == host_header


@pytest.mark.parametrize("base", ["ftp://x", "https://", "http://h:port"])
def test_a_bad_base_url_is_refused(base: str) -> None:
    with pytest.raises(requests.exceptions.InvalidURL):
        Endpoint.from_base(base)


def test_a_second_answer_in_the_same_read_does_not_overwrite_the_first() -> None:
    """A 200 followed by an unasked 503 in one send: the 200 stands, the connection is dropped."""
    sent = answer(body=b'{"ok": 1}') + answer("503 Service Unavailable", body=b"{}")
    with _always(sent) as server:
        client = WireClient()
        got = _exchange(client, server)
        assert (got.status, got.reason, got.body) == (200, "OK", b'{"ok": 1}')
        assert client.connections() == 0


def test_stray_bytes_after_a_complete_answer_keep_the_answer() -> None:
    """A 201 followed by garbage (as urllib3: the answer is returned, the connection dropped)."""
    with _always(answer("201 Created", body=b'{"id": 5}') + b"\x00junk") as server:
        client = WireClient()
        got = _exchange(client, server)
        assert (got.status, got.body) == (201, b'{"id": 5}')
        assert client.connections() == 0


def test_a_head_or_304_may_announce_a_large_length(monkeypatch: pytest.MonkeyPatch) -> None:
    """The body bound applies to bodies: a HEAD or 304 states the representation's length."""
    monkeypatch.setattr(wire_answer, "MAX_BODY_BYTES", 1000)
    with _always(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n") as server:
        assert _exchange(WireClient(), server, "HEAD").status == 200
    with _always(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5000\r\n\r\n") as server:
        assert _exchange(WireClient(), server).status == 304


def test_a_read_answer_leaves_no_reference_cycle() -> None:
    """The reader lets go of its parser and chunks: a body does not wait for the collector."""
    reader = wire_answer.AnswerReader(head_only=False)
    reader.parser.feed_data(answer(body=JSON))
    assert reader.answer().body == JSON
    assert (reader.parser, reader.chunks) == (None, [])


def test_a_closed_client_refuses_instead_of_reopening() -> None:
    """After close() (the gateway's shutdown) no connection is opened that nobody would close."""
    with _always(answer(body=JSON)) as server:
        client = WireClient()
        assert _exchange(client, server).body == JSON
        client.close()
        with pytest.raises(wire.WireClosedError) as info:
            _exchange(client, server)
        assert not isinstance(info.value, NETWORK_ERRORS)
        assert client.connections() == 0
        assert server.connections == 1


def test_raw_requests_ask_only_for_codings_the_wire_decodes() -> None:
    """requests' default grows with what is installed (br, zstd); the raw path asks for two."""
    session = requests.Session()
    session.headers["Accept-Encoding"] = "gzip, deflate, br, zstd"
    assert raw_headers(session)["Accept-Encoding"] == "gzip, deflate"
    session.close()


def _headers_one_by_one(fields: list[tuple[str, str]]) -> dict[str, str]:
    """The plain rule, one header at a time: lower-cased names, repeats joined with ", "."""
    headers: dict[str, str] = {}
    for name, value in fields:
        key = name.lower()
        headers[key] = value if key not in headers else f"{headers[key]}, {value}"
    return headers


HEADER_NAMES = st.sampled_from(["Date", "date", "DATE", "Vary", "vary", "Set-Cookie", "X-a_b"])
HEADER_VALUES = st.text(  # visible ASCII and obs-text (latin-1), inner spaces
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=12
).map(str.strip)


@settings(max_examples=200, deadline=None)
@given(
    fields=st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=wire_answer.MAX_HEADERS - 1),
    cut=st.integers(0, 600),
)
def test_headers_read_at_once_are_the_header_by_header_ones(
    fields: list[tuple[str, str]], cut: int
) -> None:
    """The reader's headers (decoded once the head is complete) match the per-header rule."""
    raw = answer(body=b"{}", headers=[f"{name}: {value}" for name, value in fields])
    reader = wire_answer.AnswerReader(head_only=False)
    reader.parser.feed_data(raw[:cut])
    reader.parser.feed_data(raw[cut:])
    got = reader.answer()
    expected = _headers_one_by_one([*fields, ("Content-Length", "2")])
    assert (dict(got.headers), list(got.headers)) == (expected, list(expected))
    assert got.body == b"{}"


def test_an_interim_answers_headers_are_not_the_answers() -> None:
    """103 Early Hints' headers are dropped with it; the answer keeps only its own."""
    hints = b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\nVary: x\r\n\r\n"
    with _always(hints + answer(body=JSON, headers=["Vary: y"])) as server:
        got = _exchange(WireClient(), server)
    assert (got.status, got.body, "link" in got.headers, got.headers["vary"]) == (
        200,
        JSON,
        False,
        "y",
    )


def test_too_many_headers_in_an_interim_answer_are_refused() -> None:
    interim = answer("100 Continue", headers=[f"X-{n}: v" for n in range(150)], length=False)
    with _always(interim + answer(body=JSON)) as server, pytest.raises(requests.ConnectionError):
        _exchange(WireClient(), server)
