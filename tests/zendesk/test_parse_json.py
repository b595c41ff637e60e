"""parse_json: orjson's speed, json.loads' answers (values, types, errors) for any input."""

from __future__ import annotations

import json
import math
import types
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from backend.zendesk import wire_answer
from backend.zendesk.wire import WireResponse
from backend.zendesk.wire_answer import WireAnswer, parse_json


def _same(left: Any, right: Any) -> bool:
    """Equal values of the same types, keys in the same order; NaN is NaN, -0.0 is not 0.0."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return list(left) == list(right) and all(_same(left[key], right[key]) for key in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(_same, left, right))
    if isinstance(left, float):
        if math.isnan(left):
            return math.isnan(right)
        return left == right and math.copysign(1.0, left) == math.copysign(1.0, right)
    return bool(left == right)


def _outcome(parse: Any, document: bytes) -> tuple[str, Any]:
    try:
        return "value", parse(document)
    except Exception as exc:  # the error raised is part of the outcome compared
        return "error", (type(exc), str(exc))


def _assert_as_json_loads(document: bytes) -> None:
    ours, theirs = _outcome(parse_json, document), _outcome(json.loads, document)
    if theirs[0] == "value":
        assert ours[0] == "value", (document, ours)
        assert _same(ours[1], theirs[1]), (document, ours, theirs)
    else:
        assert ours == theirs, document


# Every JSON value json.dumps writes, including the ones orjson would not read the same.
values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()  # NaN and ±Infinity included
    | st.text(),  # lone surrogates included
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=20,
)

# Number literals as written by hand, valid JSON or not (leading zeros, bare dots, long runs).
number_literals = st.from_regex(
    r"\A[-+]?(0|[0-9]{0,30})(\.[0-9]{0,25})?([eE][-+]?[0-9]{0,4})?\Z", fullmatch=True
)


@settings(max_examples=300)
@given(values, st.booleans(), st.sampled_from(["", " ", "\n\t ", "  \r\n"]))
def test_documents_parse_as_json_loads_parses_them(
    value: Any, ascii_only: bool, space: str
) -> None:
    """Any document json.dumps writes (ASCII or UTF-8, spaced or not): json.loads' value."""
    text = json.dumps(value, ensure_ascii=ascii_only, indent=1 if space else None)
    _assert_as_json_loads((space + text + space).encode("utf-8", "surrogatepass"))


@settings(max_examples=300)
@given(number_literals)
@example("0.1")
@example("1e400")
@example("-0")
@example("-0.0")
@example("01")
@example("1.")
@example(".5")
@example("+1")
@example("2.2250738585072011e-308")
@example("9007199254740993")
@example("1234567890123456789012345678901234567890")
def test_number_literals_read_as_json_loads_reads_them(literal: str) -> None:
    """Numbers (and would-be numbers): same int/float, same rounding, same refusal."""
    for document in (literal, f"[{literal}]", f'{{"n": {literal}}}'):
        _assert_as_json_loads(document.encode("ascii"))


@settings(max_examples=300)
@given(values, st.data())
def test_damaged_documents_parse_or_fail_as_json_loads(value: Any, data: st.DataObject) -> None:
    """A document with bytes cut, inserted or changed: json.loads' value or its very error."""
    document = json.dumps(value).encode("utf-8", "surrogatepass")
    at = data.draw(st.integers(min_value=0, max_value=len(document)))
    cut = data.draw(st.integers(min_value=0, max_value=3))
    inserted = data.draw(st.binary(max_size=3))
    _assert_as_json_loads(document[:at] + inserted + document[at + cut :])


ODD_DOCUMENTS = [
    b"NaN",
    b"[NaN, Infinity, -Infinity]",
    b"1e400",
    b"-1e400",
    b"1.7976931348623157e309",
    b"5e-324",
    b"1e-400",
    b"18446744073709551615",  # the largest integer orjson reads as an integer
    b"18446744073709551616",  # one more: orjson would read a float
    b"-9223372036854775808",
    b"-9223372036854775809",
    b'{"id": 123456789012345678901234567890}',
    b'"\\ud800"',  # a lone surrogate, escaped
    b'"\xed\xa0\x80"',  # a lone surrogate in (surrogatepass) UTF-8
    b'"\\ud83d\\ude00"',  # a pair: one character
    b'{"a": 1, "a": 2, "b": 3}',  # a repeated key: the last value, the first place
    b"\xef\xbb\xbf{}",  # a UTF-8 byte order mark
    '{"a": "ü"}'.encode("utf-16-le"),
    '{"a": "ü"}'.encode("utf-16"),
    '{"a": "ü"}'.encode("utf-32-be"),
    b'"\xff"',  # not UTF-8
    b'"tab\there"',  # a raw control character in a string
    b'"\x7f"',
    b"[1,]",
    b'{"a": 1,}',
    b"[1] x",
    b"[1]\x00",
    b"",
    b" ",
    b"nul",
    b"true false",
    b"[" * 5000 + b"]" * 5000,  # deeper than either parser goes
    b'{"a": [1, 2.5, "x", null, true, false, {}, []]}',
]


@pytest.mark.parametrize("document", ODD_DOCUMENTS)
def test_odd_documents_parse_or_fail_as_json_loads(document: bytes) -> None:
    """Values orjson reads differently or refuses, and invalid documents: json.loads' outcome."""
    _assert_as_json_loads(document)


def test_an_ordinary_answer_skips_json_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path is taken for a Zendesk-like answer (json.loads is never called)."""

    def refuse(document: bytes) -> Any:
        raise AssertionError("json.loads called")

    monkeypatch.setattr(wire_answer, "json", types.SimpleNamespace(loads=refuse))
    document = b'{"ticket": {"id": 360000000001, "tags": ["a"], "subject": "\xec\x95\x88"}}'
    assert parse_json(document) == {
        "ticket": {"id": 360000000001, "tags": ["a"], "subject": "\uc548"}
    }


def test_a_wire_response_parses_with_parse_json() -> None:
    """WireResponse.json(): parse_json's value; a body that is not JSON is a ValueError."""
    headers = wire_answer.Headers()
    good = WireResponse(WireAnswer(200, "OK", headers, b'{"n": 18446744073709551616}'), "u", None)
    assert good.json() == {"n": 18446744073709551616}
    bad = WireResponse(WireAnswer(200, "OK", headers, b"<html>"), "u", None)
    with pytest.raises(ValueError, match="Expecting value"):
        bad.json()
