"""parse_datetime remembers parsed text: the remembered value is what parsing gives."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.domain import values as v
from backend.domain.values import FieldValueError

STAMPS = st.one_of(
    st.datetimes().map(lambda d: d.isoformat()),
    st.builds(
        "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}{}".format,
        st.integers(1, 9999),
        st.integers(0, 13),
        st.integers(0, 32),
        st.integers(0, 24),
        st.integers(0, 60),
        st.sampled_from(["", ":59", ":07.1234567", "Z", "+09:00", "-05:30", "+24:00", " "]),
    ),
    st.text(alphabet="0123456789-T:+Z. ", max_size=30),
)


def outcome(key: str, raw: str) -> tuple[str, ...]:
    """What parsing gives, comparable: the ISO text and zone, or the error."""
    try:
        stamp = v.parse_datetime(key, raw)
    except FieldValueError as exc:
        return ("error", str(exc))
    return ("none",) if stamp is None else (stamp.isoformat(), str(stamp.tzinfo))


def plain(key: str, raw: str) -> tuple[str, ...]:
    """The same, without the memo."""
    try:
        stamp = v.parse_datetime_plain(key, raw)
    except FieldValueError as exc:
        return ("error", str(exc))
    return ("none",) if stamp is None else (stamp.isoformat(), str(stamp.tzinfo))


@given(STAMPS)
def test_remembered_and_plain_parses_agree(raw: str) -> None:
    """First and second sight equal the plain parse (errors too, each naming its field)."""
    expected = plain("entry_time", raw)
    assert outcome("entry_time", raw) == expected
    assert outcome("entry_time", raw) == expected
    if expected[0] == "error":
        assert outcome("exit_time", raw) == plain("exit_time", raw)


def test_the_memo_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """More distinct stamps than the bound never grow it past the bound."""
    monkeypatch.setattr(v, "MAX_PARSED_DATETIMES", 8)
    for minute in range(20):
        v.parse_datetime("entry_time", f"2024-05-01T10:{minute:02d}:00+09:00")
        assert len(v._PARSED_DATETIMES) <= 8
