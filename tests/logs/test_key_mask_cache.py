"""Masked keys are cached per key, and a secret registered later still masks a cached key."""

from __future__ import annotations

import secrets

from backend.logs import REDACTED, mask_processor, mask_value, register_secrets


def test_a_key_cached_before_a_secret_was_registered_is_masked_after() -> None:
    """register_secrets empties the key cache: the next line masks the new secret."""
    secret = "sk-" + secrets.token_hex(12)
    key = f"seen_{secret}"
    assert mask_processor(None, "info", {key: 1}) == {key: 1}
    register_secrets([secret])
    assert mask_processor(None, "info", {key: 1}) == {f"seen_{REDACTED}": 1}


def test_cached_keys_mask_as_uncached_ones() -> None:
    """Personal data in keys is masked on first and later sight; secret-named keys redact."""
    line = {"010-9876-5432": "a", "api_key": "value", "ticket_id": 7}
    for _ in range(3):
        masked = mask_value(line)
        assert "9876" not in str(masked)
        assert masked["api_key"] == REDACTED
        assert masked["ticket_id"] == 7
