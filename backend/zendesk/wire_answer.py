"""Reading one HTTP/1.1 answer off the wire: httptools' callbacks, headers, body codings, JSON.

Shared by the blocking client (`wire.py`) and the event-loop one (`async_wire.py`): an
answer is collected by `AnswerReader`, its headers decoded once (`read_headers`), its body
decoded (`decode_body`: gzip/deflate, bounded) and parsed by `parse_json` (orjson, with
json.loads' answers). Failures are the `requests` errors the retry rules know.

Never imports `backend.domain`.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

import httptools
import orjson
import requests

# Bounds of one answer: its head (status line + headers), and its body (read and decoded).
MAX_HEAD_BYTES = 64 * 1024
MAX_HEADERS = 100  # http.client's limit
MAX_BODY_BYTES = 64 * 1024 * 1024
GZIP_WBITS = 16 + zlib.MAX_WBITS
# parse_json: every digit read as "0", so that a run of 19 digits is one `in` test.
DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
LONG_DIGIT_RUN = b"0" * 19  # -9223372036854775808 .. 18446744073709551615 have fewer


class AnswerTooLargeError(requests.RequestException):
    """An answer over the size bound: unreadable, not a network failure (never retried)."""


class AnswerComplete(Exception):
    """Raised by the reader when bytes follow a complete answer: parsing stops there."""


class Headers(dict[str, str]):
    """Answer headers by lower-cased name; repeated headers joined with ", " (as requests)."""

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def get(self, name: str, default: Any = None) -> Any:
        """The header's value, or `default`."""
        return super().get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())


@dataclass(slots=True)
class WireAnswer:
    """One answer as read off the wire (body decoded)."""

    status: int
    reason: str
    headers: Headers
    body: bytes


class AnswerReader:
    """httptools callbacks collecting one answer (interim 1xx answers skipped)."""

    def __init__(self, head_only: bool) -> None:
        self.head_only = head_only
        self.reason = b""
        # Raw (name, value) pairs of the head being read: decoded once, when it is complete
        # (a Python callback per header is the reader's main cost: it does only this).
        self.fields: list[tuple[bytes, bytes]] = []
        self.headers = Headers()
        self.chunks: list[bytes] = []
        self.size = 0
        self.head_done = False
        self.done = False
        self.extra = False  # bytes after the answer: the connection cannot be reused
        self.until_close = False
        self.keep_alive = False
        self.status = 0
        self.too_large: str | None = None
        self.parser = httptools.HttpResponseParser(self)

    def on_message_begin(self) -> None:
        if self.done:
            # Bytes of a second answer nobody asked for: keep the first, trust nothing more
            # (the connection is dropped); stop before its status or headers overwrite ours.
            self.extra = True
            raise AnswerComplete

    def on_status(self, reason: bytes) -> None:
        self.reason = reason

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.head_done:  # after the head: a chunked body's trailer, ignored as requests does
            self.fields.append((name, value))

    def on_headers_complete(self) -> None:
        fields = self.fields
        if len(fields) > MAX_HEADERS:
            raise ValueError("too many headers")
        status = self.parser.get_status_code()
        if 100 <= status < 200:
            return  # interim (100 Continue): the real answer follows
        self.status = status
        self.head_done = True
        headers = self.headers = read_headers(fields)
        length = dict.get(headers, "content-length")
        has_body = not self.head_only and status != 204 and status != 304
        if has_body and length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            self.too_large = f"the answer announces {length} bytes"
            raise ValueError(self.too_large)
        if self.head_only:
            self.done = True
            self.keep_alive = self.parser.should_keep_alive()
        elif (
            length is None
            and has_body
            and "chunked" not in dict.get(headers, "transfer-encoding", "").lower()
        ):
            self.until_close = True  # no length: the body ends when the server closes

    def on_body(self, data: bytes) -> None:
        if self.done:
            return  # HEAD: a body the server should not have sent
        self.size += len(data)
        if self.size > MAX_BODY_BYTES:
            self.too_large = f"the answer is over {MAX_BODY_BYTES} bytes"
            raise ValueError(self.too_large)
        self.chunks.append(data)

    def on_message_complete(self) -> None:
        if not self.head_done:  # the end of an interim answer
            self.reason = b""
            self.fields = []
            return
        # Read it now: llhttp forgets the answer's flags once this callback returns.
        self.keep_alive = self.parser.should_keep_alive()
        self.done = True

    def answer(self) -> WireAnswer:
        """The answer read, its body decoded (the reader is spent afterwards)."""
        chunks = self.chunks
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        # The parser holds our bound callbacks: without this the body lives until a GC.
        self.chunks = []
        self.parser = None  # type: ignore[assignment]
        headers = self.headers
        coding = dict.get(headers, "content-encoding")
        if coding and not self.head_only:
            body = decode_body(body, coding)
        return WireAnswer(self.status, self.reason.decode("latin-1"), headers, body)


def read_headers(fields: list[tuple[bytes, bytes]]) -> Headers:
    """Headers from raw (name, value) pairs: names lower-cased, repeats joined with ", "."""
    headers = Headers(
        {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in fields}
    )
    if len(headers) < len(fields):  # a name repeated: join its values in order
        joined: dict[str, str] = {}
        for name, value in fields:
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            known = joined.get(key)
            joined[key] = text if known is None else f"{known}, {text}"
        headers = Headers(joined)
    return headers


def decode_body(body: bytes, coding: str) -> bytes:
    """Undo gzip/deflate Content-Encoding (as urllib3; an unknown coding passes through)."""
    codings = [part.strip().lower() for part in coding.split(",") if part.strip()]
    if any(part not in ("gzip", "x-gzip", "deflate", "identity") for part in codings):
        return body
    try:
        for part in reversed(codings):  # the last coding applied is undone first
            if part in ("gzip", "x-gzip"):
                body = _gunzip(body)
            elif part == "deflate":
                body = _inflate(body)
    except zlib.error as exc:
        raise requests.exceptions.ContentDecodingError(
            f"undecodable {coding} body: {exc}"
        ) from None
    return body


def _gunzip(data: bytes) -> bytes:
    """Decompress every gzip member of `data`, bounded."""
    out: list[bytes] = []
    size = 0
    while data:
        decoder = zlib.decompressobj(GZIP_WBITS)
        piece = decoder.decompress(data, MAX_BODY_BYTES + 1 - size)
        size += len(piece)
        if size > MAX_BODY_BYTES or decoder.unconsumed_tail:
            raise AnswerTooLargeError(f"the decoded answer is over {MAX_BODY_BYTES} bytes")
        if not decoder.eof:
            raise zlib.error("truncated gzip stream")
        out.append(piece)
        data = decoder.unused_data
    return b"".join(out)


def _inflate(data: bytes) -> bytes:
    """Decompress deflate: zlib-wrapped, or raw as some servers send it (as urllib3)."""
    for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):
        decoder = zlib.decompressobj(wbits)
        try:
            piece = decoder.decompress(data, MAX_BODY_BYTES + 1)
        except zlib.error:
            if wbits < 0:
                raise
            continue
        if len(piece) > MAX_BODY_BYTES or decoder.unconsumed_tail:
            raise AnswerTooLargeError(f"the decoded answer is over {MAX_BODY_BYTES} bytes")
        return piece + decoder.flush()
    raise zlib.error("undecodable deflate stream")  # pragma: no cover (the loop returns)


def parse_json(body: bytes) -> Any:
    """`json.loads(body)`, faster: orjson (~2.5x on a ticket), json.loads where they differ.

    orjson refuses some documents json.loads accepts (NaN/Infinity, 1e400, lone
    surrogates, UTF-16/32 bytes, a BOM): json.loads decides those, and the invalid ones,
    so odd values and the error raised stay json.loads' own. It reads an integer past
    64 bits as a float: a run of 19 digits or more (a rare id-free answer has none)
    goes to json.loads too.
    """
    if LONG_DIGIT_RUN in body.translate(DIGITS_AS_ZERO):
        return json.loads(body)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)
