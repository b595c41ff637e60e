"""The Liquid subset used to render macro comments."""

from __future__ import annotations

import pytest

from backend.emulator.liquid import LiquidError, render

VARIABLES: dict[str, object] = {
    "ticket.id": 7,
    "ticket.ticket_field_1": "kind_a",
    "ticket.ticket_field_2": None,
    "ticket.ticket_field_3": "1200",
    "current_user.name": "Agent",
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("#{{ticket.id}} by {{ current_user.name }}", "#7 by Agent"),
        ("[{{ticket.unknown}}]", "[]"),
        ("{% if ticket.ticket_field_1 == 'kind_a' %}A{% else %}B{% endif %}", "A"),
        ("{% if ticket.ticket_field_1 != 'kind_a' %}A{% else %}B{% endif %}", "B"),
        (
            "{% if ticket.ticket_field_1 == 'x' %}X{% elsif ticket.ticket_field_1 == 'kind_a' %}"
            "{% if ticket.ticket_field_2 %}set{% else %}unset{% endif %}{% endif %}",
            "unset",
        ),
        ("{% if ticket.ticket_field_2 %}Y{% endif %}", ""),
        ("{% unless ticket.ticket_field_2 %}empty{% endunless %}", "empty"),
        ("{% if ticket.ticket_field_3 >= 1000 and ticket.id == 7 %}big{% endif %}", "big"),
        ('{% if ticket.ticket_field_1 contains "kind" or false %}c{% endif %}', "c"),
        ("a\n  {%- if ticket.id -%}\n  b\n{%- endif %}", "ab"),
        ("{{ ticket.id | plus: 1 }}", "7"),
    ],
)
def test_render(template: str, expected: str) -> None:
    assert render(template, VARIABLES) == expected


@pytest.mark.parametrize(
    "template",
    ["{% if ticket.id %}open", "{% endif %}", "{% else %}", "{% for x in y %}{% endfor %}"],
)
def test_syntax_errors(template: str) -> None:
    with pytest.raises(LiquidError):
        render(template, VARIABLES)
