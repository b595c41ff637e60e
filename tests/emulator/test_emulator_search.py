"""Search: query subset, OR within a keyword, AND across keywords, offset pages."""

from __future__ import annotations

from typing import Any

import pytest
from emulator_helpers import Api
from zenpy import Zenpy

from backend.emulator import EmulatorStore


@pytest.fixture
def tickets(store: EmulatorStore) -> dict[str, int]:
    """A few tickets with distinct tags, statuses and words."""
    specs: dict[str, dict[str, Any]] = {
        "alpha": {"subject": "Parking refund", "tags": ["parking", "refund"], "status": "open"},
        "beta": {"subject": "Driver reconnect", "tags": ["driver"], "status": "pending"},
        "gamma": {"subject": "Parking coupon", "tags": ["parking"], "status": "solved"},
        "delta": {"subject": "Other", "tags": ["misc"], "status": "new"},
    }
    return {
        name: store.create_ticket({**spec, "comment": {"body": f"Body of {name}"}})["id"]
        for name, spec in specs.items()
    }


def _search_ids(api: Api, query: str) -> list[int]:
    """Ticket ids a search returns (first page)."""
    response = api.get("/search.json", params={"query": query})
    assert response.status_code == 200
    results = response.json()["results"]
    assert all(r["result_type"] == "ticket" for r in results)
    return sorted(r["id"] for r in results)


def test_tags_same_keyword_is_or(api: Api, tickets: dict[str, int]) -> None:
    assert _search_ids(api, "type:ticket tags:refund tags:driver") == sorted(
        [tickets["alpha"], tickets["beta"]]
    )


def test_different_keywords_are_and(api: Api, tickets: dict[str, int]) -> None:
    assert _search_ids(api, "type:ticket tags:parking status:open") == [tickets["alpha"]]


def test_negated_tag_excludes(api: Api, tickets: dict[str, int]) -> None:
    assert _search_ids(api, "type:ticket tags:parking -tags:refund") == [tickets["gamma"]]


def test_status_ordering_and_free_words(api: Api, tickets: dict[str, int]) -> None:
    assert _search_ids(api, "status<solved parking") == [tickets["alpha"]]
    assert _search_ids(api, "PARKING coupon") == [tickets["gamma"]]
    assert _search_ids(api, '"body of delta"') == [tickets["delta"]]


def test_other_types_find_no_tickets(api: Api, tickets: dict[str, int]) -> None:
    assert _search_ids(api, "type:user parking") == []


def test_search_count(api: Api, tickets: dict[str, int]) -> None:
    response = api.get("/search/count.json", params={"query": "tags:parking"})
    assert response.json() == {"count": 2}


def test_search_pages_with_absolute_urls(api: Api, store: EmulatorStore) -> None:
    for number in range(5):
        store.create_ticket({"subject": f"Paged {number}", "comment": {"body": "x"}})
    first = api.get("/search.json", params={"query": "paged", "per_page": 2}).json()
    assert first["count"] == 5
    assert first["previous_page"] is None
    assert first["next_page"].startswith(f"{api.base}/api/v2/search.json?")
    seen = [r["id"] for r in first["results"]]
    page = first
    while page["next_page"]:
        page = api.get(page["next_page"]).json()
        seen += [r["id"] for r in page["results"]]
    assert len(seen) == len(set(seen)) == 5


def test_zenpy_search_follows_pages(zenpy_client: Zenpy, store: EmulatorStore) -> None:
    for number in range(120):
        store.create_ticket(
            {"subject": f"Bulk {number}", "tags": ["bulk"], "comment": {"body": "x"}}
        )
    found = list(zenpy_client.search(type="ticket", tags="bulk"))
    assert len(found) == 120


def test_search_beyond_result_limit_is_invalid(api: Api) -> None:
    response = api.get("/search.json", params={"query": "x", "page": 11, "per_page": 100})
    assert response.status_code == 422
    assert response.json()["error"] == "invalid"


def test_dates_ids_and_unsupported_keywords(api: Api, store: EmulatorStore) -> None:
    mine = store.create_ticket({"subject": "Mine", "comment": {"body": "x"}, "assignee_id": 5})
    other = store.create_ticket({"subject": "Other", "comment": {"body": "x"}})
    assert _search_ids(api, "created>1hours") == sorted([mine["id"], other["id"]])
    assert _search_ids(api, "created<2000-01-01") == []
    assert _search_ids(api, f"updated>={mine['created_at'][:10]} assignee_id:5") == [mine["id"]]
    assert _search_ids(api, "assignee:none") == [other["id"]]
    response = api.get("/search.json", params={"query": "via:email mine"})
    assert response.headers["X-Emulator-Unsupported"] == "via"
    assert [r["id"] for r in response.json()["results"]] == [mine["id"]]
