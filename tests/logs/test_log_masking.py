"""Masking fails closed: every Korean phone form, e-mails and secrets, wherever they appear.

Hypothesis writes phone numbers (national and +82 forms, any separator, raw or
URL-encoded), e-mail addresses and secret values into URL paths, query strings,
exception texts and event keys; no log line may keep them.
"""

from __future__ import annotations

import io
import json
import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote, quote_plus

import pytest
import structlog
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from backend import logs
from backend.logs import (
    EMAIL_MASK,
    PHONE_MASK,
    REDACTED,
    configure_logging,
    get_logger,
    install_log_masking,
    mask_text,
    register_env_secrets,
    register_secrets,
)
from backend.settings import Settings

MOBILE = ("10", "11", "16", "17", "18", "19")
AREA = ("2", "31", "32", "33", "41", "42", "43", "44", "51", "52", "53", "54", "55", "61")
AREA += ("62", "63", "64", "70", "505")
SEPARATORS = ("", "-", " ", ".", " - ", "%20", "%2D", "+", "\u2010")


@st.composite
def phones(draw: st.DrawFn) -> tuple[str, str]:
    """A Korean phone number in one of its written forms, and its subscriber digits."""
    prefix = draw(st.sampled_from(MOBILE + AREA))
    middle = draw(st.from_regex(r"[1-9][0-9]{2,3}", fullmatch=True))
    last = draw(st.from_regex(r"[0-9]{4}", fullmatch=True))
    sep = draw(st.sampled_from(SEPARATORS))
    style = draw(st.sampled_from(["national", "paren", "intl", "intl0", "00", "encoded+"]))
    if style == "national":
        head = f"0{prefix}"
    elif style == "paren":
        head = f"(0{prefix}) "
    elif style == "intl":
        head = f"+82{draw(st.sampled_from(['-', ' ', '']))}{prefix}"
    elif style == "intl0":
        head = f"+82 (0){prefix}"
    elif style == "00":
        head = f"0082-{prefix}"
    else:
        head = f"%2B82%20{prefix}"
    text = f"{head}{sep}{middle}{sep}{last}"
    return text, middle + last


@st.composite
def emails(draw: st.DrawFn) -> str:
    """An e-mail address (ASCII or Korean local part)."""
    local = draw(st.from_regex(r"[a-z][a-z0-9._+-]{0,15}[a-z0-9]|[가-힣]{2,4}", fullmatch=True))
    labels = draw(
        st.lists(
            st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z]", fullmatch=True), min_size=1, max_size=3
        )
    )
    tld = draw(st.sampled_from(["com", "kr", "co.kr", "net", "한국"]))
    return f"{local}@{'.'.join(labels)}.{tld}"


def _places(value: str) -> list[str]:
    """A value where a log line may carry it: path, query (encoded), exception, JSON."""
    return [
        f"/v1/tickets/{value}/guidance",
        f"/v1/tickets/{quote(value, safe='')}/guidance",
        f"/v1/guides?q={quote_plus(value)}&x=1",
        f"GET /api/v2/search.json?query={quote(value)} answered 500",
        f"ValueError: invalid literal for int() with base 10: '{value}'",
        json.dumps({"detail": f"연락처 {value} 확인"}, ensure_ascii=False),
    ]


def _digits(text: str) -> str:
    """Only the digits of a text."""
    return re.sub(r"\D", "", text)


@given(phones())
@settings(max_examples=200, deadline=None)
def test_every_phone_form_is_masked_wherever_it_appears(phone: tuple[str, str]) -> None:
    text, subscriber = phone
    for place in _places(text):
        masked = mask_text(place)
        assert PHONE_MASK in masked, (place, masked)
        assert subscriber not in _digits(masked), (place, masked)


@given(emails())
@settings(max_examples=200, deadline=None)
def test_every_email_is_masked_wherever_it_appears(address: str) -> None:
    local = address.split("@", 1)[0]
    for place in _places(address):
        masked = mask_text(place)
        assert EMAIL_MASK in masked, (place, masked)
        assert f"{local}@" not in masked
        assert quote(f"{local}@", safe="") not in masked


SECRET_TEXT = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=12, max_size=40
)


@given(SECRET_TEXT)
@settings(max_examples=200, deadline=None)
def test_registered_secrets_are_masked_in_every_encoding(secret: str) -> None:
    with _only_secret(secret):
        for place in _places(secret):
            masked = mask_text(place)
            assert secret not in masked, (place, masked)
            assert quote(secret, safe="") not in masked
            assert REDACTED in masked


@contextmanager
def _only_secret(secret: str) -> Iterator[None]:
    """Register one secret for a block, then restore the process's registry."""
    saved, saved_re = set(logs._SECRETS), list(logs._SECRET_RE)
    logs._SECRETS.clear()
    try:
        register_secrets([secret])
        yield
    finally:
        logs._SECRETS.clear()
        logs._SECRETS.update(saved)
        logs._SECRET_RE[:] = saved_re


def test_settings_secrets_are_registered_when_settings_are_built() -> None:
    Settings(
        _env_file=None,  # type: ignore[call-arg]
        zendesk_token=SecretStr("zd-token-1a2b3c4d5e"),
        shared_secret=SecretStr("shared-secret-9z8y7x6w"),
    )
    text = mask_text("/v1/tickets/zd-token-1a2b3c4d5e?s=shared-secret-9z8y7x6w")
    assert "1a2b3c4d5e" not in text
    assert "9z8y7x6w" not in text


def test_each_connector_secret_is_registered_when_settings_are_built() -> None:
    """The secrets in `connector_secrets` (a mapping) are masked one by one (security review)."""
    Settings(
        _env_file=None,  # type: ignore[call-arg]
        connector_secrets={"admin": SecretStr("conn-secret-5q6w7e8r"), "b": SecretStr("cs-2x9")},
    )
    text = mask_text("GET /facts?key=conn-secret-5q6w7e8r token=cs-2x9")
    assert "5q6w7e8r" not in text
    assert "cs-2x9" not in text


def test_guidepost_env_secrets_are_registered() -> None:
    register_env_secrets(
        {"GUIDEPOST_SESSION_KEY": "session-key-from-env", "GUIDEPOST_LOG_LEVEL": "INFO"}
    )
    assert mask_text("x session-key-from-env y") == f"x {REDACTED} y"
    assert mask_text("level INFO") == "level INFO"


@pytest.mark.parametrize(
    "text",
    [
        "파트너센터 1644-8830, 긴급 1599-9400, 원콜 ID 7001, 금액 12,000원",
        "/v1/tickets/23040102927711845835924832256/guidance",
        "2026-11-30T06:55:00.123456Z latency_ms 12.5 version 1.2.3",
        "pip@23.1 requires setuptools>=80",
    ],
)
def test_ids_amounts_and_times_stay_readable(text: str) -> None:
    assert mask_text(text) == text


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """structlog and the stdlib root logger into a buffer, restored afterwards."""
    was_configured = structlog.is_configured()
    previous = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        if was_configured:
            structlog.configure(**previous)
        else:
            structlog.reset_defaults()


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    """Every line written, each one JSON."""
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_event_keys_values_and_tracebacks_are_masked(log_stream: io.StringIO) -> None:
    log = get_logger("test")
    try:
        raise ValueError("bad ticket 010 9876 5432 from kim@example.com")
    except ValueError:
        log.exception("failed", **{"+82-10-9876-5432": "key", "path": "/v1/tickets/010.9876.5432"})
    text = log_stream.getvalue()
    assert "9876" not in text
    assert "kim@example.com" not in text
    (line,) = _lines(log_stream)
    assert PHONE_MASK in line
    assert "ValueError" in str(line["exception"])


def test_stdlib_records_and_warnings_become_masked_json_lines(log_stream: io.StringIO) -> None:
    gateway_log = logging.getLogger("backend.zendesk.zenpy_gateway")
    gateway_log.warning(
        "zendesk %s answered 500; retrying", "GET /api/v2/users/search?query=hong%40example.com"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        install_log_masking()  # pytest replaced showwarning for this test: take it back
        warnings.warn("contact (010) 9876-5432", UserWarning, stacklevel=1)
    lines = _lines(log_stream)
    assert [line.get("logger") for line in lines] == [
        "backend.zendesk.zenpy_gateway",
        "py.warnings",
    ]
    text = log_stream.getvalue()
    assert "hong" not in text
    assert "9876" not in text


def test_a_handler_of_its_own_still_gets_masked_records() -> None:
    """uvicorn and others install their own handlers: the record itself is masked."""
    install_log_masking()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("tests.own_handler")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        try:
            raise RuntimeError("token for 010-9876-5432")
        except RuntimeError:
            logger.error("GET %s from %r", "/v1/tickets/01098765432", "a@b.co", exc_info=True)
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "9876" not in text
    assert "a@b.co" not in text
    assert "RuntimeError" in text
