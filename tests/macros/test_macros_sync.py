"""Sync against the emulator: 250 managed + 30 unmanaged macros, idempotence, retire, faults.

The guides produce fewer than 250 macros (158), so `bulk_desired` adds synthetic ones:
copies of the generated macros under keys `synthetic/copy-NNN/<text key>` with a
numbered title, until there are 250.
"""

from __future__ import annotations

import io
import math
import time
from collections import Counter
from typing import Any

import pytest
import requests
from macro_helpers import Zendesk

from backend.demo import DEMO_CASES
from backend.domain.guides import GuideCatalog
from backend.macro_sync.commands import run_sync_once
from backend.macro_sync.generator import DesiredMacro, build_desired, generate_macros, read_key
from backend.macro_sync.sync import sync_macros
from backend.zendesk.gateway import MacroAction, MacroRecord, MacroSpec, ZendeskGateway

MANAGED = 250
UNMANAGED = 30


def _generated(zendesk: Zendesk, catalog: GuideCatalog) -> list[DesiredMacro]:
    """The repo's macros for the emulator's field map."""
    return generate_macros(
        catalog, zendesk.field_map, admin_call_url=zendesk.settings.admin_call_url
    )


def _bulk(generated: list[DesiredMacro], total: int = MANAGED) -> list[DesiredMacro]:
    """The generated macros plus synthetic copies under their own keys, `total` in all."""
    desired = list(generated)
    index = 0
    while len(desired) < total:
        source = generated[index % len(generated)]
        text_key = source.key.rsplit("/", 1)[1]
        desired.append(
            build_desired(
                f"synthetic/copy-{index:03d}/{text_key}",
                f"{source.spec.title} #{index}",
                source.spec.actions,
            )
        )
        index += 1
    return desired


def _add_unmanaged(gateway: ZendeskGateway, count: int = UNMANAGED) -> None:
    """Macros nobody here wrote: no key, or a key-like text not on the first line."""
    descriptions: list[str | None] = [None, "", "팀에서 만든 매크로", "see\nguidepost:a/b/c"]
    for i in range(count):
        gateway.create_macro(
            MacroSpec(
                title=f"팀 매크로::{i:02d}",
                description=descriptions[i % len(descriptions)] or "",
                actions=(MacroAction("comment_value", f"직접 쓴 답변 {i}"),),
            )
        )


def _macros(zendesk: Zendesk) -> list[dict[str, Any]]:
    """Every macro the emulator holds, as Zendesk JSON."""
    return zendesk.store.macros()


def _unmanaged_snapshot(zendesk: Zendesk) -> list[dict[str, Any]]:
    """The unmanaged macros, whole (updated_at included)."""
    return [m for m in _macros(zendesk) if read_key(m["description"]) is None]


def _managed_keys(zendesk: Zendesk) -> Counter[str]:
    """How many macros the emulator holds per Guidepost key."""
    keys = (read_key(m["description"]) for m in _macros(zendesk))
    return Counter(key for key in keys if key is not None)


@pytest.fixture
def bulk(zendesk: Zendesk, generated: list[DesiredMacro]) -> list[DesiredMacro]:
    """250 desired macros, and 30 unmanaged ones already in the account."""
    _add_unmanaged(zendesk.gateway())
    zendesk.store.reset_counters()
    return _bulk(generated)


def test_first_sync_creates_all_second_writes_nothing(
    zendesk: Zendesk, bulk: list[DesiredMacro]
) -> None:
    before = _unmanaged_snapshot(zendesk)
    assert len(before) == UNMANAGED
    gateway = zendesk.gateway()
    first = sync_macros(gateway, bulk)
    assert first.ok, first.summary_lines()
    assert len(first.done) == MANAGED
    assert all(item.action == "create" for item in first.done)
    list_calls = math.ceil(UNMANAGED / 100)  # the list before the first sync: 30 macros
    assert zendesk.write_counts() == {
        "GET /api/v2/macros": list_calls,
        "POST /api/v2/macros": MANAGED,
        "writes": MANAGED,
        "total": list_calls + MANAGED,
    }
    assert _managed_keys(zendesk) == Counter({m.key: 1 for m in bulk})

    zendesk.store.reset_counters()
    calls_before = gateway.calls
    second = sync_macros(gateway, bulk)
    pages = math.ceil((MANAGED + UNMANAGED) / 100)
    assert second.ok
    assert second.done == []
    assert zendesk.write_counts() == {"GET /api/v2/macros": pages, "writes": 0, "total": pages}
    assert gateway.calls - calls_before == pages == 3
    assert second.plan is not None
    assert second.plan.count_actions()["unchanged"] == MANAGED
    assert second.plan.unmanaged == UNMANAGED
    assert _unmanaged_snapshot(zendesk) == before


def test_k_changes_cost_k_writes(zendesk: Zendesk, bulk: list[DesiredMacro]) -> None:
    gateway = zendesk.gateway()
    assert sync_macros(gateway, bulk).ok
    changed = list(bulk)
    for index in (5, 100, 200):
        macro = changed[index]
        body = MacroAction("comment_value_html", f"{macro.spec.actions[0].value}<br>추가 문장")
        changed[index] = build_desired(macro.key, macro.spec.title, (body, *macro.spec.actions[1:]))
    zendesk.store.reset_counters()
    report = sync_macros(gateway, changed)
    assert report.ok
    assert [(i.action, i.changes) for i in report.done] == [
        ("update", ("description", "actions"))
    ] * 3
    assert zendesk.write_counts() == {
        "GET /api/v2/macros": 3,
        "PUT /api/v2/macros/{id}": 3,
        "writes": 3,
        "total": 6,
    }
    # The PUT replaced the whole actions list.
    stored = {read_key(m["description"]): m for m in _macros(zendesk)}
    assert stored[changed[100].key]["actions"] == [
        {"field": a.field, "value": a.value} for a in changed[100].spec.actions
    ]


def test_hand_edit_in_zendesk_is_overwritten(zendesk: Zendesk, bulk: list[DesiredMacro]) -> None:
    gateway = zendesk.gateway()
    assert sync_macros(gateway, bulk).ok
    victim = next(m for m in _macros(zendesk) if read_key(m["description"]) == bulk[0].key)
    zendesk.store.update_macro(
        victim["id"], {"actions": [{"field": "comment_value", "value": "손"}]}
    )
    report = sync_macros(gateway, bulk)
    assert [(i.macro_id, i.changes) for i in report.done] == [(victim["id"], ("actions",))]
    assert "edited in Zendesk" in report.done[0].reason
    assert sync_macros(gateway, bulk).done == []


def test_removed_texts_are_deactivated_reactivated_and_pruned(
    zendesk: Zendesk, bulk: list[DesiredMacro]
) -> None:
    gateway = zendesk.gateway()
    assert sync_macros(gateway, bulk).ok
    unmanaged = _unmanaged_snapshot(zendesk)
    gone = {bulk[3].key, bulk[120].key}
    fewer = [m for m in bulk if m.key not in gone]

    zendesk.store.reset_counters()
    report = sync_macros(gateway, fewer)
    assert sorted((i.action, i.key) for i in report.done) == sorted(("deactivate", k) for k in gone)
    assert zendesk.write_counts()["PUT /api/v2/macros/{id}"] == 2
    inactive = {read_key(m["description"]) for m in _macros(zendesk) if not m["active"]}
    assert inactive & set(_managed_keys(zendesk)) == gone
    assert sync_macros(gateway, fewer).done == []  # already inactive: nothing to do

    back = sync_macros(gateway, bulk)
    assert sorted((i.action, i.changes) for i in back.done) == [("update", ("active",))] * 2

    zendesk.store.reset_counters()
    pruned = sync_macros(gateway, fewer, prune=True)
    assert sorted((i.action, i.key) for i in pruned.done) == sorted(("delete", k) for k in gone)
    assert zendesk.write_counts()["DELETE /api/v2/macros/{id}"] == 2
    assert set(_managed_keys(zendesk)) == {m.key for m in fewer}
    assert _unmanaged_snapshot(zendesk) == unmanaged


def test_429_storm_converges_honouring_retry_after(
    zendesk: Zendesk, bulk: list[DesiredMacro]
) -> None:
    zendesk.store.set_faults(
        [
            {
                "kind": "rate_limit",
                "method": "GET",
                "path": "^/api/v2/macros",
                "retry_after": 1,
                "times": 1,
            },
            {
                "kind": "rate_limit",
                "method": "POST",
                "path": "^/api/v2/macros",
                "retry_after": 1,
                "times": 2,
                "probability": 0.05,
                "seed": 7,
            },
        ]
    )
    gateway = zendesk.gateway()
    started = time.monotonic()
    report = sync_macros(gateway, bulk)
    elapsed = time.monotonic() - started
    assert report.ok, report.summary_lines()
    injected = zendesk.store.counters()["faults_injected"]
    assert injected == 3
    assert elapsed >= injected * 1.0  # every Retry-After was waited out
    assert _managed_keys(zendesk) == Counter({m.key: 1 for m in bulk})
    zendesk.store.reset_counters()
    assert sync_macros(gateway, bulk).done == []
    assert zendesk.write_counts()["writes"] == 0


class _FailAfter:
    """A gateway that breaks after `n` creates: Zendesk starts answering 500 to every POST."""

    def __init__(self, inner: ZendeskGateway, zendesk: Zendesk, n: int) -> None:
        self.inner = inner
        self.zendesk = zendesk
        self.n = n
        self.creates = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def create_macro(self, spec: MacroSpec) -> MacroRecord:
        if self.creates == self.n:
            self.zendesk.store.set_faults(
                [{"kind": "status", "status": 500, "method": "POST", "path": "^/api/v2/macros"}]
            )
        self.creates += 1
        return self.inner.create_macro(spec)


class _KilledAfter(_FailAfter):
    """A gateway whose process is killed (Ctrl-C) after `n` creates."""

    def create_macro(self, spec: MacroSpec) -> MacroRecord:
        if self.creates == self.n:
            raise KeyboardInterrupt
        self.creates += 1
        return self.inner.create_macro(spec)


def test_failure_between_writes_reports_then_rerun_converges(
    zendesk: Zendesk, generated: list[DesiredMacro]
) -> None:
    out, err = io.StringIO(), io.StringIO()
    broken = _FailAfter(zendesk.gateway(), zendesk, n=21)  # the lease marker, then 20 macros
    code = run_sync_once(zendesk.settings, out, err, gateway_factory=lambda s: broken)
    assert code == 1
    text = out.getvalue()
    total = len(generated)
    assert f"macros sync: FAILED — 25 of {total} write(s) attempted: 20 done, 5 failed, " in text
    assert f"{total - 25} not attempted (5 writes in a row failed)" in text
    assert "failed: create force_reconnect/" in text
    assert "ZendeskUnavailableError" in text
    assert "not attempted: create" in text
    assert sum(_managed_keys(zendesk).values()) == 20

    zendesk.store.clear_faults()
    out = io.StringIO()
    assert (
        run_sync_once(zendesk.settings, out, io.StringIO(), gateway_factory=zendesk.factory()) == 0
    )
    assert f"create {total - 20}; 20 unchanged" in out.getvalue()
    keys = _managed_keys(zendesk)
    assert len(keys) == total
    assert set(keys.values()) == {1}  # no duplicates


def test_killed_run_then_rerun_converges(zendesk: Zendesk, generated: list[DesiredMacro]) -> None:
    desired = generated
    with pytest.raises(KeyboardInterrupt):
        sync_macros(_KilledAfter(zendesk.gateway(), zendesk, n=33), desired)  # type: ignore[arg-type]
    assert sum(_managed_keys(zendesk).values()) == 33
    # A create whose answer was lost: Zendesk made the macro, the run never knew.
    created = next(m for m in _macros(zendesk) if read_key(m["description"]))
    zendesk.store.create_macro({key: created[key] for key in ("title", "description", "actions")})
    report = sync_macros(zendesk.gateway(), desired)
    assert report.ok
    assert Counter(i.action for i in report.done) == {"create": len(desired) - 33, "deactivate": 1}
    twin = next(i for i in report.done if i.action == "deactivate")
    assert twin.reason == f"duplicate of macro {created['id']}"
    active = Counter(read_key(m["description"]) for m in _macros(zendesk) if m["active"])
    assert active == Counter({m.key: 1 for m in desired})
    assert sync_macros(zendesk.gateway(), desired).done == []


def _preview(zendesk: Zendesk, ticket_id: int, macro_id: int) -> dict[str, Any]:
    """The emulator's macro apply preview on a ticket."""
    response = requests.get(
        f"{zendesk.server.url}/api/v2/tickets/{ticket_id}/macros/{macro_id}/apply.json",
        auth=("agent@example.com/token", "test-token"),
        timeout=5,
    )
    response.raise_for_status()
    result: dict[str, Any] = response.json()["result"]
    return result


def _ticket(zendesk: Zendesk, case_name: str) -> int:
    """The id of the demo ticket of a case."""
    index = next(i for i, case in enumerate(DEMO_CASES) if case.name == case_name)
    return zendesk.ticket_ids[index]


def test_applied_macro_shows_the_tickets_values(zendesk: Zendesk, catalog: GuideCatalog) -> None:
    assert (
        run_sync_once(
            zendesk.settings, io.StringIO(), io.StringIO(), gateway_factory=zendesk.factory()
        )
        == 0
    )
    ids = {read_key(m["description"]): m["id"] for m in _macros(zendesk)}

    cash = _ticket(zendesk, "강제재연결: 동행, 요금조정 없음 (현금, 배정후취소)")
    result = _preview(
        zendesk, cash, ids["force_reconnect/reconnect.together.no_fare_change/q2.2.no_fare_change"]
    )
    html = result["comment"]["html_body"]
    assert "23000원을 현장에서 현금으로 수령" in html
    assert "결제를 진행하고" not in html  # the card variant is not shown
    assert result["comment"]["public"] is True
    assert "{{" not in html
    assert "{%" not in html
    assert "gp_branch_reconnect_together_no_fare_change" in result["ticket"]["tags"]

    memo_ticket = _ticket(zendesk, "강제재연결: 헤어짐, 요금조정 없음 (운영메모)")
    memo = _preview(
        zendesk, memo_ticket, ids["force_reconnect/reconnect.separated.no_fare_change/memo.link"]
    )["comment"]
    assert "원콜 ID 880000505" in memo["body"]
    assert "admin.example/calls/880000506" in memo["body"]
    assert memo["public"] is False

    parking = _ticket(zendesk, "주차: 쿠폰 거절 → 현장결제 취소")
    key = next(
        k for k in ids if k and k.endswith("parking.cancel_onsite_payment/memo.department_transfer")
    )
    body = _preview(zendesk, parking, ids[key])["comment"]["body"]
    assert "30012345" in body  # approval number
    assert "나이스파크" in body  # the operator dropdown shows its option title
    assert "12가3456" in body


def test_unmanaged_only_account_is_left_alone(zendesk: Zendesk) -> None:
    _add_unmanaged(zendesk.gateway(), 5)
    before = _unmanaged_snapshot(zendesk)
    zendesk.store.reset_counters()
    report = sync_macros(zendesk.gateway(), [], prune=True)
    assert report.ok
    assert report.done == []
    assert zendesk.write_counts()["writes"] == 0
    assert _unmanaged_snapshot(zendesk) == before


def test_listing_failure_writes_nothing(zendesk: Zendesk, bulk: list[DesiredMacro]) -> None:
    zendesk.store.set_faults([{"kind": "status", "status": 500, "method": "GET", "path": "macros"}])
    report = sync_macros(zendesk.gateway(), bulk)
    assert not report.ok
    assert report.summary_lines()[0].startswith("macros sync: FAILED before any write: could not")
    assert zendesk.write_counts()["writes"] == 0


def test_summary_of_a_clean_run_and_of_a_dry_run(
    zendesk: Zendesk, generated: list[DesiredMacro]
) -> None:
    report = sync_macros(zendesk.gateway(), generated[:3])
    assert report.summary_lines() == [
        "macros sync: OK — create 3; 0 unchanged; 0 unmanaged macro(s) left untouched"
    ]
    zendesk.store.reset_counters()
    dry = sync_macros(zendesk.gateway(), generated[:5], dry_run=True)
    assert dry.summary_lines() == [
        "macros sync: dry run, nothing written (create 2); 0 unmanaged macro(s) left untouched"
    ]
    assert zendesk.write_counts()["writes"] == 0


def test_modified_clone_survives_prune(zendesk: Zendesk, generated: list[DesiredMacro]) -> None:
    settings, factory = zendesk.settings, zendesk.factory()
    assert run_sync_once(settings, io.StringIO(), io.StringIO(), gateway_factory=factory) == 0
    original = next(m for m in _macros(zendesk) if read_key(m["description"]) == generated[0].key)
    # Zendesk's clone copies everything, description (key, hash) included; one is edited.
    copy = {key: original[key] for key in ("title", "description", "actions", "restriction")}
    edited = zendesk.store.create_macro(
        {
            **copy,
            "title": f"{original['title']} (우리 팀)",
            "actions": [{"field": "comment_value_html", "value": "<p>팀이 고친 안내</p>"}],
        }
    )
    unedited = zendesk.store.create_macro(copy)
    out = io.StringIO()
    assert run_sync_once(settings, out, io.StringIO(), prune=True, gateway_factory=factory) == 0, (
        out.getvalue()
    )
    text = out.getvalue()
    assert "macros sync: OK — delete 1;" in text  # the unedited copy is a twin
    assert f"left alone: macro {edited['id']}" in text
    after = {m["id"]: m for m in _macros(zendesk)}
    assert unedited["id"] not in after
    assert after[edited["id"]] == edited  # not deactivated, not deleted, not rewritten
    assert after[original["id"]]["active"]
    # Later runs keep leaving it alone.
    zendesk.store.reset_counters()
    assert (
        run_sync_once(settings, io.StringIO(), io.StringIO(), prune=True, gateway_factory=factory)
        == 0
    )
    assert {m["id"]: m for m in _macros(zendesk)} == after
    assert zendesk.write_counts()["writes"] == 2  # the lease marker's create and delete
