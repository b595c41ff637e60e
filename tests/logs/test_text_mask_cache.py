"""Masked string values are remembered; the remembered form is always what masking gives."""

from __future__ import annotations

import io
import json
import secrets
from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from backend import logs
from backend.logs import (
    MAX_CACHED_TEXT,
    MAX_TEXT_MASKS,
    REDACTED,
    configure_logging,
    get_logger,
    mask_text,
    mask_value,
    register_secrets,
)

# Text that looks like what the masks look for (digits, @, %, Hangul, separators).
LOG_TEXT = st.text(alphabet="0123456789가나서울 -.+%@()abcXYZeyJ_/", max_size=60)


@given(LOG_TEXT)
def test_a_cached_value_masks_as_mask_text(text: str) -> None:
    """First sight and later sights give mask_text's result (the cache changes nothing)."""
    expected = mask_text(text)
    assert mask_value(text) == expected
    assert mask_value(text) == expected
    assert mask_value({"value": text}) == {"value": expected}


def test_a_value_cached_before_a_secret_was_registered_is_masked_after() -> None:
    """register_secrets starts a new cache: the next line masks the new secret."""
    secret = "sk-" + secrets.token_hex(12)
    value = f"seen {secret}"
    assert mask_value(value) == value
    register_secrets([secret])
    assert mask_value(value) == f"seen {REDACTED}"


def test_personal_data_is_masked_on_every_sight() -> None:
    """A phone number in a repeated value is masked the first time and every time after."""
    for _ in range(3):
        assert mask_value("call 010-1234-5678") == "call [phone]"


def test_long_values_are_masked_without_the_cache() -> None:
    """Values past MAX_CACHED_TEXT are masked each time and never kept."""
    text = "x" * MAX_CACHED_TEXT + " 010-1234-5678"
    assert mask_value(text) == mask_text(text)
    assert text not in logs._TEXT_MASKS[0]


def test_the_cache_stays_bounded() -> None:
    """More distinct values than MAX_TEXT_MASKS never grow it past the bound."""
    for index in range(MAX_TEXT_MASKS + 10):
        mask_value(f"/v1/tickets/{index}/guidance")
    assert len(logs._TEXT_MASKS[0]) <= MAX_TEXT_MASKS


def test_a_line_keeps_its_timestamp_and_masks_its_values() -> None:
    """The timestamp (added after masking) is an ISO UTC time; values are still masked."""
    stream = io.StringIO()
    configure_logging("INFO", stream)
    try:
        get_logger("guidepost.test").info("request", path="/v1/x/010-1234-5678", status=200)
    finally:
        configure_logging("INFO")
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line["path"] == "/v1/x/[phone]"
    assert line["status"] == 200
    assert datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00")).tzinfo is not None
