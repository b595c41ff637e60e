"""A form load that reads nothing from Zendesk is decided on the event loop (issue 16, wave 6).

It answers exactly as the threadpool path, and a load that must read (an uncached 원콜
history) still reads it, once, from a thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from api_helpers import PARKING_OFFER, RECONNECT_ELIGIBLE, TicketFactory
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hop_counter import HopCounter

from backend.api.routers import form_guidance as form_router
from backend.demo import DEMO_CASES
from backend.domain.fields import FieldCatalog
from backend.zendesk.fake_gateway import FakeGateway


@pytest.fixture
def loop_client(async_app: FastAPI) -> Iterator[TestClient]:
    """A client of the async-overridden app."""
    with TestClient(async_app, raise_server_exceptions=False) as client:
        yield client


def form_of(
    values: dict[str, Any], field_map: dict[str, int], fields: FieldCatalog
) -> dict[str, Any]:
    """The open form as the sidebar posts it, from semantic values."""
    return {
        "custom_fields": [
            {"id": field_map[key], "value": fields.zendesk_value(key, value)}
            for key, value in values.items()
            if key in field_map
        ],
        "tags": [],
        "subject": "문의",
        "description": "문의드립니다",
    }


def test_a_form_load_that_reads_nothing_makes_no_hop(
    loop_client: TestClient,
    headers: dict[str, str],
    tickets: TicketFactory,
    field_map: dict[str, int],
    catalog_fields: FieldCatalog,
    gateway: FakeGateway,
    hops: HopCounter,
) -> None:
    """A parking form (no history asked): no thread, no Zendesk call, after the first."""
    ticket_id = tickets.add(PARKING_OFFER)
    url = f"/v1/tickets/{ticket_id}/guidance"
    body = form_of(PARKING_OFFER, field_map, catalog_fields)
    assert loop_client.post(url, headers=headers, json=body).status_code == 200
    before, calls = hops.hops, gateway.calls
    answer = loop_client.post(url, headers=headers, json=body)
    assert answer.status_code == 200
    assert answer.json()["branch"].startswith("parking.")
    assert (hops.hops - before, gateway.calls - calls) == (0, 0)


def test_a_form_load_that_must_read_the_history_reads_it_from_a_thread(
    loop_client: TestClient,
    headers: dict[str, str],
    tickets: TicketFactory,
    field_map: dict[str, int],
    catalog_fields: FieldCatalog,
    gateway: FakeGateway,
    hops: HopCounter,
) -> None:
    """An uncached 원콜: one hop and the history read; then cached: no hop, no read."""
    ticket_id = tickets.add(RECONNECT_ELIGIBLE)
    url = f"/v1/tickets/{ticket_id}/guidance"
    body = form_of(RECONNECT_ELIGIBLE, field_map, catalog_fields)
    loop_client.get(url, headers=headers)  # permissions cached; history read and kept
    async_app_cache = loop_client.app.state.read_cache  # type: ignore[attr-defined]
    async_app_cache.clear()
    before, calls = hops.hops, gateway.calls
    first = loop_client.post(url, headers=headers, json=body)
    assert first.status_code == 200
    assert hops.hops - before == 1
    assert gateway.calls > calls
    before, calls = hops.hops, gateway.calls
    second = loop_client.post(url, headers=headers, json=body)
    assert (hops.hops - before, gateway.calls - calls) == (0, 0)
    assert second.json() == first.json()


@pytest.mark.parametrize("case", DEMO_CASES, ids=[case.name for case in DEMO_CASES])
def test_a_loop_side_answer_is_the_threadpool_answer(
    case: Any,
    loop_client: TestClient,
    headers: dict[str, str],
    tickets: TicketFactory,
    field_map: dict[str, int],
    catalog_fields: FieldCatalog,
    monkeypatch: pytest.MonkeyPatch,
    hops: HopCounter,
) -> None:
    """Every demo form: the same answer with the loop-side attempt as without it."""
    values = case.ticket.get("fields", {})
    ticket_id = tickets.add(values, subject=case.ticket["subject"])
    url = f"/v1/tickets/{ticket_id}/guidance"
    body = form_of(values, field_map, catalog_fields)
    body["subject"] = case.ticket["subject"]
    body["description"] = case.ticket["description"]
    loop_client.get(url, headers=headers)  # the GET load: history cached
    on_loop = loop_client.post(url, headers=headers, json=body)

    def no_attempt() -> Any:
        raise form_router.ZendeskNeededError("forced")

    # Every loop-side attempt now gives up at once: the load is made in the threadpool.
    monkeypatch.setattr(form_router, "NoZendesk", no_attempt)
    before = hops.hops
    in_thread = loop_client.post(url, headers=headers, json=body)
    assert hops.hops - before == 1
    assert (on_loop.status_code, on_loop.json()) == (in_thread.status_code, in_thread.json())
