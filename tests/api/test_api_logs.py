"""Logging: one JSON line per request, plates/phones masked, secrets never written."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from api_helpers import PARKING_OFFER, TicketFactory
from fastapi.testclient import TestClient

from backend.logs import configure_logging, get_logger, mask_text
from tooling.testing import TEST_SHARED_SECRET


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Route structlog output into a buffer for the test, then restore the configuration."""
    was_configured = structlog.is_configured()
    previous = structlog.get_config()
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    yield stream
    if was_configured:
        structlog.configure(**previous)
    else:
        structlog.reset_defaults()


def _read_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("차량 12가3456 입니다", "12가3456"),
        ("차량 123가 4567", "123가 4567"),
        ("서울12가3456 차량", "서울12가3456"),
        ("경기 123 바 4567", "123 바 4567"),
        ("연락처 010-1234-5678", "010-1234-5678"),
        ("연락처 01012345678", "01012345678"),
        ("유선 02-123-4567", "02-123-4567"),
        ("유선 031-1234-5678", "031-1234-5678"),
    ],
)
def test_mask_text_hides_plates_and_phones(text: str, hidden: str) -> None:
    """Plates (with region prefixes) and phone numbers never survive masking."""
    masked = mask_text(text)
    assert hidden not in masked
    assert "[plate]" in masked or "[phone]" in masked


def test_mask_text_keeps_service_numbers_and_ids() -> None:
    """Company service numbers (15xx/16xx) and plain call IDs stay readable."""
    text = "파트너센터 1644-8830, 긴급 1599-9400, 원콜 ID 7001, 금액 12,000원"
    assert mask_text(text) == text


def test_processor_redacts_secret_keys_and_tokens(log_stream: io.StringIO) -> None:
    """Secret-named keys and JWT/Bearer strings are redacted wherever they appear."""
    get_logger("test").info(
        "event",
        authorization="Bearer abc.def.ghi",
        shared_secret=TEST_SHARED_SECRET,
        detail="header was Bearer eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl",
        nested={"phone": "010-9876-5432", "token": "xyz"},
    )
    text = log_stream.getvalue()
    assert TEST_SHARED_SECRET not in text
    assert "abc.def.ghi" not in text
    assert "eyJzdWIiOi" not in text
    assert "010-9876-5432" not in text
    assert "xyz" not in text


def test_one_masked_json_line_per_request(
    log_stream: io.StringIO,
    client: TestClient,
    headers: dict[str, str],
    tickets: TicketFactory,
) -> None:
    """An access line carries method, path, status, ticket, guide, branch, calls, latency."""
    ticket_id = tickets.add(
        {**PARKING_OFFER, "car_number": "서울12가3456"},
        subject="010-1234-5678로 연락주세요",
        description="차량 12가3456",
    )
    client.get(f"/v1/tickets/{ticket_id}/guidance", headers=headers)
    client.post("/v1/preview", headers=headers, json={"fields": {"car_number": "99가9999x"}})
    lines = [line for line in _read_lines(log_stream) if line.get("event") == "request"]
    assert len(lines) == 2
    guidance, preview = lines
    assert guidance["method"] == "GET"
    assert guidance["path"] == f"/v1/tickets/{ticket_id}/guidance"
    assert guidance["status"] == 200
    assert guidance["ticket_id"] == ticket_id
    assert guidance["guide"] == "parking_onsite_payment"
    assert guidance["branch"] == "parking.offer_coupon"
    assert guidance["zendesk_calls"] == 1
    assert isinstance(guidance["latency_ms"], float)
    assert preview["status"] == 422
    text = log_stream.getvalue()
    for secret in ("12가3456", "010-1234-5678", "99가9999", headers["Authorization"][7:]):
        assert secret not in text
