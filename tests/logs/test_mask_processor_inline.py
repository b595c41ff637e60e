"""mask_processor's inlined common case gives what masking each key and value gives."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from backend.logs import REDACTED, SECRET_KEY_RE, mask_processor, mask_text, mask_value

LOG_TEXT = st.text(alphabet="0123456789가나서울 -.+%@()abcXYZeyJ_/", max_size=40)
KEYS = st.one_of(
    st.sampled_from(["path", "status", "token", "api_key", "guide", "note 010-1234-5678"]),
    LOG_TEXT,
)


class Text(str):
    """A str subclass: not the exact type the inlined path takes."""


VALUES: st.SearchStrategy[Any] = st.recursive(
    st.one_of(
        LOG_TEXT,
        LOG_TEXT.map(Text),
        st.integers(),
        st.floats(allow_nan=False),
        st.booleans(),
        st.none(),
        st.text(min_size=257, max_size=300),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(LOG_TEXT, inner, max_size=3)
    ),
    max_leaves=6,
)


def plain_mask(event: dict[str, Any]) -> dict[str, Any]:
    """The plain path: each key masked, each value through mask_value (secret keys redacted)."""
    return {
        mask_text(key): REDACTED if SECRET_KEY_RE.search(key) else mask_value(value)
        for key, value in event.items()
    }


@given(st.dictionaries(KEYS, VALUES, max_size=8))
def test_the_inlined_processor_masks_as_the_plain_path(event: dict[str, Any]) -> None:
    """First sight and a repeated sight (cached keys and texts) give the plain result."""
    expected = plain_mask(event)
    assert mask_processor(None, "info", dict(event)) == expected
    assert mask_processor(None, "info", dict(event)) == expected


def test_an_access_line_is_masked_field_by_field() -> None:
    """The usual access line: phone in the path masked, numbers kept, secrets redacted."""
    line = {"path": "/v1/x/010-1234-5678", "status": 200, "latency_ms": 1.5, "token": "abc"}
    masked = mask_processor(None, "info", dict(line))
    assert masked == plain_mask(line)
    # Keys as masking writes them (an earlier test may have registered a secret).
    assert masked[mask_text("path")] == "/v1/x/[phone]"
    assert masked[mask_text("status")] == 200
    assert masked[mask_text("latency_ms")] == 1.5
    assert masked[mask_text("token")] == REDACTED
