"""FakeGateway: a thin adapter over the emulator's store, with test set-up helpers."""

from __future__ import annotations

import pytest

from backend.errors import (
    ConflictError,
    NotFoundError,
    TicketNotFoundError,
    ZendeskRejectedError,
    ZendeskUnavailableError,
)
from backend.zendesk.fake_gateway import FakeGateway
from backend.zendesk.gateway import (
    FieldOption,
    FieldSpec,
    MacroAction,
    MacroSpec,
    NewTicket,
    TicketUpdate,
)


def test_fake_has_no_model_of_its_own() -> None:
    """The fake keeps no Zendesk state: every ticket lives in the emulator's store.

    Fails on the code before this change: the fake re-implemented Zendesk in dicts.
    """
    fake = FakeGateway()
    ticket = fake.add_ticket("s", "d", tags=["a"])
    assert fake.store.get_ticket(ticket.id) is not None
    assert fake.store.get_ticket(ticket.id)["tags"] == ["a"]
    assert [t.id for t in fake.search_tickets("tags:a")] == [ticket.id]


def test_update_replaces_tags_merges_fields_adds_private_note_and_bumps_stamp() -> None:
    fake = FakeGateway()
    ticket = fake.add_ticket(
        "콜이 취소됐어요", "강제 재연결 부탁", tags=["vip", "a"], custom_fields={7: "x"}
    )
    updated = fake.update_ticket(
        TicketUpdate(
            ticket.id,
            ticket.updated_at,
            tags=("a", "gp_eligible"),
            custom_fields={8: "y"},
            note_body="메모",
        )
    )
    assert updated.tags == ("a", "gp_eligible")
    assert dict(updated.custom_fields) == {7: "x", 8: "y"}
    assert updated.updated_at > ticket.updated_at
    comments = fake.list_comments(ticket.id)
    assert [(c.body, c.public) for c in comments] == [("강제 재연결 부탁", True), ("메모", False)]
    assert fake.get_ticket(ticket.id) == updated
    assert fake.calls == 3


def test_stale_stamp_is_a_conflict_and_writes_nothing() -> None:
    fake = FakeGateway()
    ticket = fake.add_ticket("s", "d")
    fake.touch_ticket(ticket.id, tags=("someone_else",))
    with pytest.raises(ConflictError):
        fake.update_ticket(TicketUpdate(ticket.id, ticket.updated_at, tags=("mine",)))
    assert fake.get_ticket(ticket.id).tags == ("someone_else",)
    assert fake.updates == []


def test_update_without_tags_keeps_them() -> None:
    fake = FakeGateway()
    ticket = fake.add_ticket("s", "d", tags=["keep"])
    assert fake.update_ticket(TicketUpdate(ticket.id, ticket.updated_at)).tags == ("keep",)


def test_missing_ticket_and_resources_raise_not_found() -> None:
    fake = FakeGateway()
    with pytest.raises(TicketNotFoundError):
        fake.get_ticket(404)
    with pytest.raises(TicketNotFoundError):
        fake.update_ticket(TicketUpdate(404, "x"))
    with pytest.raises(NotFoundError):
        fake.get_article("ko", 1)
    with pytest.raises(NotFoundError):
        fake.delete_macro(1)
    assert not isinstance(NotFoundError("x"), TicketNotFoundError)


def test_search_follows_zendesk_rules() -> None:
    fake = FakeGateway()
    a = fake.add_ticket("a", "주차권 문의", tags=["fr_origin_1", "fr_forced"])
    b = fake.add_ticket("b", "d", tags=["fr_origin_1"])
    fake.add_ticket("c", "d", tags=["other"])
    assert [t.id for t in fake.search_tickets("type:ticket tags:fr_origin_1")] == [a.id, b.id]
    assert [t.id for t in fake.search_tickets("type:ticket tags:fr_forced")] == [a.id]
    assert [t.id for t in fake.search_tickets("type:ticket 주차권")] == [a.id]
    assert fake.search_tickets("type:user tags:fr_forced") == []


def test_search_counts_one_call_per_page() -> None:
    fake = FakeGateway()
    for n in range(250):
        fake.add_ticket(f"t{n}", "d", tags=["bulk"])
    assert len(fake.search_tickets("type:ticket tags:bulk")) == 250
    assert fake.calls == 3


def test_create_ticket_and_fields_and_option_validation() -> None:
    fake = FakeGateway()
    field = fake.create_ticket_field(
        FieldSpec(
            "tagger",
            "콜 유형",
            "guidepost:call_type",
            (FieldOption("제휴콜", "gp_call_type_partner"),),
        )
    )
    assert field in fake.list_ticket_fields()
    ticket = fake.create_ticket(NewTicket("s", "d", ("x",), {field.id: "gp_call_type_partner"}))
    assert ticket.status == "new"
    # Zendesk drops a dropdown value that is no option and answers 201 all the same.
    dropped = fake.create_ticket(NewTicket("s", "d", (), {field.id: "nope"}))
    assert dropped.custom_fields[field.id] is None
    with pytest.raises(ZendeskRejectedError):
        fake.create_ticket_field(
            FieldSpec("tagger", "dup", "", (FieldOption("x", "gp_call_type_partner"),))
        )
    renamed = fake.update_ticket_field(
        field.id, FieldSpec("tagger", "콜 유형2", "guidepost:call_type", field.options)
    )
    assert renamed.title == "콜 유형2"
    # Like the real adapter, a replace never sends `type` (Zendesk cannot change it).
    assert fake.update_ticket_field(field.id, FieldSpec("text", "x")).type == "tagger"


def test_macros_are_paged_lazily_and_replaced_whole() -> None:
    fake = FakeGateway()
    action = (MacroAction("comment_value_html", "<p>x</p>"),)
    ids = [fake.create_macro(MacroSpec(f"m{n}", "", action)).id for n in range(205)]
    fake.calls = 0
    macros = fake.list_macros()
    assert fake.calls == 0
    assert [m.id for m in macros] == ids
    assert fake.calls == 3
    updated = fake.update_macro(
        ids[0], MacroSpec("m0", "d", (MacroAction("current_tags", "a"),), active=False)
    )
    assert updated.actions == (MacroAction("current_tags", "a"),)
    assert not updated.active
    fake.delete_macro(ids[0])
    assert ids[0] not in fake.macros


def test_fail_next_injects_one_error_then_recovers() -> None:
    fake = FakeGateway()
    ticket = fake.add_ticket("s", "d")
    fake.fail_next(ZendeskUnavailableError("boom"), method="update_ticket")
    assert fake.get_ticket(ticket.id) == ticket
    with pytest.raises(ZendeskUnavailableError):
        fake.update_ticket(TicketUpdate(ticket.id, ticket.updated_at))
    assert fake.update_ticket(TicketUpdate(ticket.id, ticket.updated_at)).id == ticket.id
    fake.fail_next(ZendeskUnavailableError("any"))
    with pytest.raises(ZendeskUnavailableError):
        fake.get_ticket(ticket.id)


def test_articles() -> None:
    fake = FakeGateway()
    fake.add_article("ko", 1001, "제목", "<p>본문</p>")
    assert fake.get_article("ko", 1001).body == "<p>본문</p>"
    with pytest.raises(NotFoundError):
        fake.get_article("en-us", 1001)


def test_dropdown_values_and_their_tags_move_together() -> None:
    fake = FakeGateway()
    options = (FieldOption("예", "gp_x_yes"), FieldOption("아니오", "gp_x_no"))
    field = fake.create_ticket_field(FieldSpec("tagger", "x", "guidepost:x", options))
    ticket = fake.create_ticket(NewTicket("s", "d", ("keep",), {field.id: "gp_x_yes"}))
    assert ticket.tags == ("keep", "gp_x_yes")
    ticket = fake.update_ticket(
        TicketUpdate(ticket.id, ticket.updated_at, (), {field.id: "gp_x_no"})
    )
    assert ticket.tags == ("gp_x_no",)
    ticket = fake.update_ticket(TicketUpdate(ticket.id, ticket.updated_at, tags=("other",)))
    assert ticket.custom_fields[field.id] is None
    ticket = fake.update_ticket(TicketUpdate(ticket.id, ticket.updated_at, tags=("gp_x_yes",)))
    assert ticket.custom_fields[field.id] == "gp_x_yes"
