"""Privacy: no phone number, car plate, token or secret in clear in any log line.

Every log line written while the reliability suite ran (the backend's structlog lines,
stdlib logging of the gateway, uvicorn and the HTTP clients) was captured by
`conftest._capture_logs`. This module runs last in the folder: it first provokes the
backend with personal data on purpose (in tickets, bodies, tokens and errors), then
scans everything captured.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote, unquote

import httpx
import pytest
from reliability_helpers import TICKET_PATH, LogCapture, Recorder, demo_ids, start_stack

from tooling.testing import TEST_SHARED_SECRET, TEST_ZENDESK_TOKEN, Stack, make_token

# Digit boundaries: a fuzzed ticket id such as 23040102927711845835 is not a phone number.
PLATE = re.compile(r"(?<!\d)\d{2,3}\s?[가-힣]\s?\d{4}(?!\d)")
PHONE = re.compile(r"(?<!\d)01[016789]-?\d{3,4}-?\d{4}(?!\d)")
# The probes' subscriber digits in any written form (separators, encodings) — a detector
# independent of the masking's own patterns.
PROBE_DIGITS = re.compile(r"9876(?:\D{1,6})?5432")
JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.")
PHONE_PROBE = "010-9876-5432"
PLATE_PROBE = "34나5678"
# Every Korean phone form the issue lists, sent where a log keeps URLs.
PHONE_FORMS = (
    "+82-10-9876-5432",
    "+82 10 9876 5432",
    "010 9876 5432",
    "010.9876.5432",
    "(010) 9876-5432",
    "01098765432",
)
EMAIL_PROBE = "hong.gildong@example.co.kr"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The real backend and emulator (quick timeouts so failures are logged fast)."""
    overrides = {"zendesk_timeout_seconds": 0.5, "retries": 1, "interactive_max_wait_seconds": 1.0}
    with start_stack(tmp_path_factory.mktemp("privacy"), **overrides) as running:
        yield running


def provoke(stack: Stack) -> int:
    """Requests that carry personal data and secrets where a careless log would keep them."""
    store = stack.emulator.store
    ticket_id = demo_ids(stack, applicable=True)[0]
    token = make_token(stack.settings, ticket_id=ticket_id, note=f"{PHONE_PROBE} {PLATE_PROBE}")
    headers = {"Authorization": f"Bearer {token}", "X-Debug": f"{PHONE_PROBE} {token}"}
    field = stack.field_map
    sent = 0
    with httpx.Client(base_url=stack.backend_url, timeout=30.0) as http:

        def call(method: str, path: str, **kwargs: object) -> None:
            nonlocal sent
            http.request(method, path, **kwargs)  # type: ignore[arg-type]
            sent += 1

        # Personal data in a ticket the backend reads and decides on.
        store.update_ticket(
            ticket_id,
            {
                "subject": f"차량 {PLATE_PROBE} 연락처 {PHONE_PROBE}",
                "comment": {"body": f"전화 {PHONE_PROBE}", "public": True},
                "custom_fields": [{"id": field["parking_lot"], "value": f"{PLATE_PROBE} 앞"}],
            },
        )
        call("GET", f"/v1/tickets/{ticket_id}/guidance", headers=headers)
        # A malformed plate carrying a phone number: a 422 that names the value.
        store.update_ticket(
            ticket_id,
            {
                "custom_fields": [
                    {"id": field["car_number"], "value": f"{PLATE_PROBE} {PHONE_PROBE}"}
                ]
            },
        )
        call("GET", f"/v1/tickets/{ticket_id}/guidance", headers=headers)
        call(
            "POST",
            "/v1/preview",
            headers=headers,
            json={"fields": {"car_number": PHONE_PROBE, "parking_lot": PLATE_PROBE}},
        )
        call("POST", "/v1/preview", headers=headers, content=f'{{"subject": "{PHONE_PROBE}"')
        # Tokens where they do not belong: query string, wrong ticket, expired, forged.
        call("GET", f"/v1/guides?token={token}&phone={PHONE_PROBE}", headers=headers)
        call("GET", f"/v1/tickets/{ticket_id + 1}/guidance", headers=headers)
        expired = make_token(stack.settings, iat=1, exp=2)
        call("GET", "/v1/guides", headers={"Authorization": f"Bearer {expired}"})
        call("GET", "/v1/guides", headers={"Authorization": f"Bearer {TEST_SHARED_SECRET}"})
        # Phone forms, an e-mail and the secrets in paths and query strings.
        for form in PHONE_FORMS:
            call("GET", f"/v1/tickets/{quote(form, safe='')}/guidance", headers=headers)
            call("GET", "/v1/guides", params={"phone": form, "email": EMAIL_PROBE}, headers=headers)
        call("GET", f"/v1/tickets/{quote(EMAIL_PROBE)}/guidance", headers=headers)
        call("GET", f"/v1/tickets/{TEST_ZENDESK_TOKEN}/guidance", headers=headers)
        call("GET", f"/v1/{TEST_SHARED_SECRET}", params={"s": TEST_SHARED_SECRET})
        call(
            "POST",
            "/v1/preview",
            headers=headers,
            json={"fields": {"car_number": EMAIL_PROBE, "parking_lot": PHONE_FORMS[0]}},
        )
        # Zendesk failing: the gateway logs its retries and the backend its 5xx answers.
        store.set_faults([{"kind": "status", "path": TICKET_PATH, "status": 500}])
        call("GET", f"/v1/tickets/{ticket_id}/guidance", headers=headers)
        store.set_faults([{"kind": "drop", "path": TICKET_PATH}])
        call("GET", f"/v1/tickets/{ticket_id}/guidance", headers=headers)
        store.set_faults([{"kind": "rate_limit", "path": TICKET_PATH, "retry_after": 30}])
        call("GET", f"/v1/tickets/{ticket_id}/guidance", headers=headers)
        store.clear_faults()
    return sent


def find_leaks(lines: list[str]) -> dict[str, list[str]]:
    """Lines with a plate, phone number, JWT, the shared secret or the Zendesk token."""
    leaks: dict[str, list[str]] = {
        "plates": [],
        "phones": [],
        "emails": [],
        "tokens": [],
        "secrets": [],
    }
    secrets = {
        form
        for secret in (TEST_SHARED_SECRET, TEST_ZENDESK_TOKEN)
        for form in (secret, quote(secret, safe=""))
    }
    for line in lines:
        if PLATE.search(line):
            leaks["plates"].append(line)
        if PHONE.search(line) or PROBE_DIGITS.search(unquote(line)):
            leaks["phones"].append(line)
        if "hong.gildong" in unquote(line):
            leaks["emails"].append(line)
        if JWT.search(line):
            leaks["tokens"].append(line)
        if any(secret in line for secret in secrets):
            leaks["secrets"].append(line)
    return leaks


def test_no_personal_data_or_secret_in_the_logs(
    stack: Stack, log_capture: LogCapture, figures: Recorder
) -> None:
    """Scan every captured line of the suite after provoking the backend on purpose."""
    before = len(log_capture.lines())
    sent = provoke(stack)
    lines = log_capture.lines()
    assert len(lines) - before >= sent, "the provoking requests were not logged"
    leaks = find_leaks(lines)
    figures(
        "privacy",
        {
            "lines": len(lines),
            "provoking_requests": sent,
            **{kind: len(found) for kind, found in leaks.items()},
            "leaks": sum(len(found) for found in leaks.values()),
        },
    )
    shown = {kind: found[:3] for kind, found in leaks.items() if found}
    assert shown == {}, shown


def test_scan_finds_what_it_looks_for(stack: Stack) -> None:
    """The positive control: each kind of leak is found, masked text and ids are not."""
    token = make_token(stack.settings)
    leaks = find_leaks(
        [
            f"plate {PLATE_PROBE}",
            "plate 123 가 4567",
            f"phone {PHONE_PROBE}",
            "phone 01012345678",
            f"token {token}",
            f"secret {TEST_SHARED_SECRET}",
            f"zendesk {TEST_ZENDESK_TOKEN}",
            f"path /v1/{quote(TEST_SHARED_SECRET, safe='')}",
            "phone +82%2010%209876%205432",
            "phone (010) 9876-5432",
            f"mail {EMAIL_PROBE}",
            "mail hong.gildong%40example.co.kr",
            "masked [plate] [phone] [email] [redacted]",
            "ticket /v1/tickets/23040102927711845835924832256/guidance",
        ]
    )
    assert {kind: len(found) for kind, found in leaks.items()} == {
        "plates": 2,
        "phones": 4,
        "emails": 2,
        "tokens": 1,
        "secrets": 3,
    }
