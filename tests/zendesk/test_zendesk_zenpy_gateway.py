"""ZenpyGateway against a real emulator over loopback: shapes, errors, retries, waits."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from backend.emulator.server import EmulatorServer
from backend.errors import (
    ConflictError,
    NotFoundError,
    RateLimitedError,
    SettingsError,
    TicketNotFoundError,
    ZendeskRejectedError,
    ZendeskUnavailableError,
)
from backend.settings import Settings
from backend.zendesk.gateway import (
    FieldOption,
    FieldSpec,
    MacroAction,
    MacroSpec,
    NewTicket,
    TicketUpdate,
)
from backend.zendesk.shapes import parse_zendesk_time
from backend.zendesk.zenpy_gateway import ZenpyGateway

# The `make_gateway` fixture (conftest.py); conftest modules are not imported by name.
GatewayFactory = Callable[..., ZenpyGateway]


def _routes(emulator: EmulatorServer) -> dict[str, int]:
    by_route: dict[str, int] = emulator.store.counters()["by_route"]
    return by_route


def _ticket(gateway: ZenpyGateway, tags: tuple[str, ...] = ("vip",)) -> Any:
    return gateway.create_ticket(NewTicket("콜이 취소됐어요", "강제 재연결 부탁드립니다", tags))


def test_read_update_replaces_tags_sets_fields_and_adds_private_note(
    gateway: ZenpyGateway, emulator: EmulatorServer
) -> None:
    field = gateway.create_ticket_field(FieldSpec("text", "강콜 ID", "guidepost:forced_call_id"))
    ticket = _ticket(gateway, tags=("vip", "keep"))
    read = gateway.get_ticket(ticket.id)
    assert read == ticket
    assert read.subject == "콜이 취소됐어요"
    assert read.description == "강제 재연결 부탁드립니다"
    updated = gateway.update_ticket(
        TicketUpdate(
            ticket.id,
            read.updated_at,
            tags=("keep", "gp_eligible"),
            custom_fields={field.id: "1234567"},
            note_body="가이드: 강제재연결",
        )
    )
    assert updated.tags == ("keep", "gp_eligible")
    assert updated.custom_fields[field.id] == "1234567"
    comments = gateway.list_comments(ticket.id)
    assert [(c.body, c.public) for c in comments][-1] == ("가이드: 강제재연결", False)
    assert emulator.store.get_ticket(ticket.id)["tags"] == ["keep", "gp_eligible"]


def test_update_without_tags_sends_no_tags(gateway: ZenpyGateway) -> None:
    ticket = _ticket(gateway, tags=("vip",))
    updated = gateway.update_ticket(TicketUpdate(ticket.id, ticket.updated_at, note_body="x"))
    assert updated.tags == ("vip",)


def test_stale_stamp_is_a_conflict(gateway: ZenpyGateway, emulator: EmulatorServer) -> None:
    ticket = _ticket(gateway)
    emulator.store.touch_ticket(ticket.id)
    with pytest.raises(ConflictError):
        gateway.update_ticket(TicketUpdate(ticket.id, ticket.updated_at, tags=("x",)))
    assert gateway.get_ticket(ticket.id).tags == ("vip",)


def test_concurrent_edit_between_read_and_write_is_a_conflict(
    gateway: ZenpyGateway, emulator: EmulatorServer
) -> None:
    ticket = _ticket(gateway)
    emulator.store.set_faults([{"kind": "conflict", "method": "PUT", "times": 1}])
    with pytest.raises(ConflictError):
        gateway.update_ticket(TicketUpdate(ticket.id, ticket.updated_at, tags=("x",)))


def test_missing_resources(gateway: ZenpyGateway) -> None:
    with pytest.raises(TicketNotFoundError):
        gateway.get_ticket(987654)
    with pytest.raises(TicketNotFoundError):
        gateway.update_ticket(TicketUpdate(987654, "2024-01-01T00:00:00Z", tags=("x",)))
    with pytest.raises(TicketNotFoundError):
        gateway.list_comments(987654)
    with pytest.raises(NotFoundError) as info:
        gateway.update_macro(987654, MacroSpec("m", "", (MacroAction("current_tags", "x"),)))
    assert not isinstance(info.value, TicketNotFoundError)
    with pytest.raises(NotFoundError):
        gateway.get_article("ko", 987654)


def test_search_follows_every_page(gateway: ZenpyGateway, emulator: EmulatorServer) -> None:
    for n in range(130):
        emulator.store.create_ticket(
            {"subject": f"t{n}", "comment": {"body": "d"}, "tags": ["bulk"]}
        )
    emulator.store.create_ticket({"subject": "other", "comment": {"body": "d"}, "tags": ["x"]})
    gateway.calls = 0
    found = gateway.search_tickets("type:ticket tags:bulk")
    assert len(found) == 130
    assert len({t.id for t in found}) == 130
    assert gateway.calls == _routes(emulator)["GET /api/v2/search"] == 2


def test_fields_create_list_update(gateway: ZenpyGateway) -> None:
    options = (
        FieldOption("대리_기사::배정/운행::강제재운행::제휴콜", "gp_consult_type_partner"),
        FieldOption("주차_고객::결제", "gp_consult_type_parking"),
    )
    created = gateway.create_ticket_field(
        FieldSpec("tagger", "상담유형", "guidepost:consult_type", options)
    )
    assert created.options == options
    assert created.description == "guidepost:consult_type"
    listed = {f.id: f for f in gateway.list_ticket_fields()}
    assert listed[created.id] == created
    assert any(f.type == "subject" for f in listed.values())
    renamed = gateway.update_ticket_field(
        created.id,
        FieldSpec("tagger", "상담 유형", "guidepost:consult_type", options[:1], active=False),
    )
    assert (renamed.title, renamed.options, renamed.active) == ("상담 유형", options[:1], False)


def test_rejected_field_carries_details(gateway: ZenpyGateway) -> None:
    with pytest.raises(ZendeskRejectedError) as info:
        gateway.create_ticket_field(FieldSpec("tagger", "빈 드롭다운", "x"))
    assert info.value.upstream_status == 422
    assert "422" in info.value.detail
    assert "test-token" not in info.value.detail


def test_macros_are_listed_lazily_over_cursor_pages(
    gateway: ZenpyGateway, emulator: EmulatorServer
) -> None:
    for n in range(205):
        emulator.store.create_macro(
            {"title": f"가이드::m{n:03}", "actions": [{"field": "current_tags", "value": "a"}]}
        )
    gateway.calls = 0
    macros = gateway.list_macros()
    assert gateway.calls == 0
    first = next(macros)
    assert first.title == "가이드::m000"
    assert gateway.calls == 1
    rest = list(macros)
    assert len(rest) == 204
    assert gateway.calls == _routes(emulator)["GET /api/v2/macros"] == 3


def test_macro_create_replace_delete(gateway: ZenpyGateway, emulator: EmulatorServer) -> None:
    spec = MacroSpec(
        "가이드::강제재연결",
        "generated",
        (
            MacroAction("comment_value_html", "<p>안녕하세요</p>"),
            MacroAction("comment_mode_is_public", "false"),
        ),
        restriction={"type": "Group", "ids": [1]},
    )
    created = gateway.create_macro(spec)
    assert created.actions == spec.actions
    assert created.restriction == {"type": "Group", "ids": [1]}
    replaced = gateway.update_macro(
        created.id,
        MacroSpec("가이드::강제재연결", "", (MacroAction("current_tags", "gp_x"),), active=False),
    )
    assert replaced.actions == (MacroAction("current_tags", "gp_x"),)
    assert replaced.restriction is None
    assert not replaced.active
    assert replaced.description == ""
    emulator.store.set_faults([{"kind": "drop", "method": "DELETE", "times": 1}])
    gateway.delete_macro(created.id)
    assert _routes(emulator)["DELETE /api/v2/macros/{id}"] == 2
    with pytest.raises(NotFoundError):
        gateway.delete_macro(created.id)


def test_article_in_locale(gateway: ZenpyGateway, emulator: EmulatorServer) -> None:
    emulator.store.set_article(1002, "ko", "[채팅] 강제재연결 요청", "본문")
    article = gateway.get_article("ko", 1002)
    assert (article.id, article.locale, article.title, article.body) == (
        1002,
        "ko",
        "[채팅] 강제재연결 요청",
        "본문",
    )
    assert article.updated_at


def test_short_rate_limit_is_waited_out(gateway: ZenpyGateway, emulator: EmulatorServer) -> None:
    ticket = _ticket(gateway)
    emulator.store.set_faults([{"kind": "rate_limit", "retry_after": 1, "times": 1}])
    gateway.calls = 0
    started = time.monotonic()
    assert gateway.get_ticket(ticket.id).id == ticket.id
    assert time.monotonic() - started >= 1.0
    assert gateway.calls == 2


def test_long_rate_limit_raises_at_once(gateway: ZenpyGateway, emulator: EmulatorServer) -> None:
    ticket = _ticket(gateway)
    emulator.store.set_faults([{"kind": "rate_limit", "retry_after": 30}])
    started = time.monotonic()
    with pytest.raises(RateLimitedError) as info:
        gateway.get_ticket(ticket.id)
    # Far below the 30 s asked for: the call did not sit out the rate limit.
    assert time.monotonic() - started < 15
    assert info.value.retry_after == 30
    assert info.value.status == 503


def test_interactive_budget_is_total_not_per_request(
    gateway: ZenpyGateway, emulator: EmulatorServer
) -> None:
    ticket = _ticket(gateway)
    # Two 2 s waits would exceed the 3 s budget: the second 429 must raise.
    emulator.store.set_faults([{"kind": "rate_limit", "retry_after": 2, "times": 2}])
    gateway.calls = 0
    started = time.monotonic()
    with pytest.raises(RateLimitedError):
        gateway.get_ticket(ticket.id)
    assert time.monotonic() - started >= 2.0
    # The first 429 was waited out, the second raised without a third request.
    assert gateway.calls == 2


def test_batch_policy_waits_longer(make_gateway: GatewayFactory, emulator: EmulatorServer) -> None:
    gateway = make_gateway(wait_policy="batch", max_wait=10.0)
    emulator.store.set_faults(
        [{"kind": "rate_limit", "method": "POST", "retry_after": 1, "times": 1}]
    )
    gateway.calls = 0
    # A 429 means Zendesk did not process the request, so even a create is re-sent.
    ticket = _ticket(gateway)
    assert gateway.calls == 2
    assert emulator.store.get_ticket(ticket.id) is not None


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retried_then_succeed(
    gateway: ZenpyGateway, emulator: EmulatorServer, status: int
) -> None:
    ticket = _ticket(gateway)
    emulator.store.set_faults([{"kind": "status", "status": status, "times": 2}])
    gateway.calls = 0
    assert gateway.get_ticket(ticket.id).id == ticket.id
    assert gateway.calls == 3


def test_safe_update_put_is_retried(gateway: ZenpyGateway, emulator: EmulatorServer) -> None:
    ticket = _ticket(gateway)
    emulator.store.set_faults([{"kind": "status", "status": 502, "method": "PUT", "times": 1}])
    updated = gateway.update_ticket(TicketUpdate(ticket.id, ticket.updated_at, tags=("a",)))
    assert updated.tags == ("a",)
    assert _routes(emulator)["PUT /api/v2/tickets/{id}"] == 2


def test_persistent_server_errors_give_up(gateway: ZenpyGateway, emulator: EmulatorServer) -> None:
    ticket = _ticket(gateway)
    emulator.store.set_faults([{"kind": "status", "status": 503}])
    gateway.calls = 0
    with pytest.raises(ZendeskUnavailableError) as info:
        gateway.get_ticket(ticket.id)
    assert "503" in info.value.detail
    assert gateway.calls == 3  # 1 + settings.retries (2)


def test_dropped_connection_is_retried(gateway: ZenpyGateway, emulator: EmulatorServer) -> None:
    ticket = _ticket(gateway)
    emulator.store.set_faults([{"kind": "drop", "times": 1}])
    gateway.calls = 0
    assert gateway.get_ticket(ticket.id).id == ticket.id
    assert gateway.calls == 2


def test_timeout_gives_up(make_gateway: GatewayFactory, emulator: EmulatorServer) -> None:
    gateway = make_gateway(timeout=0.2, retries=1)
    emulator.store.set_faults([{"kind": "latency", "ms": 700, "times": 2}])
    with pytest.raises(ZendeskUnavailableError) as info:
        gateway.get_ticket(1)
    assert "timed out" in info.value.detail
    assert gateway.calls == 2


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "status", "status": 500, "method": "POST"},
        {"kind": "drop", "method": "POST"},
    ],
)
def test_creates_are_never_retried(
    gateway: ZenpyGateway, emulator: EmulatorServer, fault: dict[str, Any]
) -> None:
    emulator.store.set_faults([fault])
    with pytest.raises(ZendeskUnavailableError) as info:
        _ticket(gateway)
    assert "not retried" in info.value.detail
    assert _routes(emulator)["POST /api/v2/tickets"] == 1
    assert gateway.calls == 1


def test_call_counter_is_exact(gateway: ZenpyGateway, emulator: EmulatorServer) -> None:
    ticket = _ticket(gateway)
    gateway.get_ticket(ticket.id)
    gateway.update_ticket(TicketUpdate(ticket.id, ticket.updated_at, tags=("a",)))
    gateway.list_comments(ticket.id)
    gateway.search_tickets("tags:a")
    gateway.list_ticket_fields()
    assert gateway.calls == emulator.store.counters()["total"] == 6


def test_one_client_per_thread(gateway: ZenpyGateway) -> None:
    tickets = [_ticket(gateway, tags=(f"t{n}",)) for n in range(4)]
    seen: dict[int, tuple[str, ...]] = {}
    errors: list[BaseException] = []

    counts: list[int] = []

    def read(ticket_id: int) -> None:
        try:
            for _ in range(5):
                seen[ticket_id] = gateway.get_ticket(ticket_id).tags
            counts.append(gateway.thread_calls)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=read, args=(t.id,)) for t in tickets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert seen == {t.id: t.tags for t in tickets}
    assert counts == [5, 5, 5, 5]
    assert gateway.calls == 24


def test_from_settings_points_zenpy_at_the_emulator(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An http loopback URL reaches the emulator without touching Zenpy's env override."""
    monkeypatch.delenv("ZENPY_FORCE_NETLOC")
    monkeypatch.delenv("ZENPY_FORCE_SCHEME")
    settings = Settings(
        zendesk_url=emulator.url, zendesk_token="test-token", retries=1,
        zendesk_timeout_seconds=4.0, interactive_max_wait_seconds=2.0,
    )  # fmt: skip
    with ZenpyGateway.from_settings(settings, wait_policy="interactive") as gateway:
        assert gateway.timeout == 4.0
        assert gateway.policy.retries == 1
        assert gateway.policy.max_wait_seconds == 2.0
        assert gateway.search_tickets("tags:none") == []
    assert "ZENPY_FORCE_NETLOC" not in os.environ
    batch = ZenpyGateway.from_settings(settings, wait_policy="batch")
    assert batch.policy.max_wait_seconds == settings.batch_max_wait_seconds
    batch.close()


def test_bad_credentials_are_rejected_with_a_hint(
    gateway: ZenpyGateway, emulator: EmulatorServer
) -> None:
    emulator.store.set_faults([{"kind": "status", "status": 401, "times": 1}])
    with pytest.raises(ZendeskRejectedError) as info:
        gateway.get_ticket(1)
    assert info.value.upstream_status == 401
    assert "GUIDEPOST_ZENDESK_TOKEN" in info.value.detail
    assert gateway.calls == 1


def test_missing_token_fails_fast() -> None:
    with pytest.raises(SettingsError):
        ZenpyGateway(subdomain="acme", email="agent@example.com", token="")


def test_back_to_back_concurrent_edits_leave_one_writer(
    gateway: ZenpyGateway, emulator: EmulatorServer
) -> None:
    """Two edits by others in a row, then two writers with the stamp they read: one note.

    Zendesk stamps an edit with the second it happened, never a later one. Fails on the
    code before this change: the emulator's touch pushed `updated_at` a second past the
    last one on each edit, so two quick edits put it ahead of the clock; the first
    writer's wait past the stamp (capped) then wrote within the stamp's own second, and
    the second writer holding that stamp passed `safe_update` (the fault soak's rare
    "decision written twice in a row").
    """
    ticket = _ticket(gateway)
    emulator.store.touch_ticket(ticket.id)
    emulator.store.touch_ticket(ticket.id)
    read = gateway.get_ticket(ticket.id)
    stamp = parse_zendesk_time(read.updated_at)
    assert stamp is not None
    assert stamp <= time.time()
    gateway.update_ticket(TicketUpdate(ticket.id, read.updated_at, tags=read.tags, note_body="one"))
    with pytest.raises(ConflictError):
        gateway.update_ticket(
            TicketUpdate(ticket.id, read.updated_at, tags=read.tags, note_body="two")
        )
    notes = [c.body for c in gateway.list_comments(ticket.id) if not c.public]
    assert notes == ["one"]
