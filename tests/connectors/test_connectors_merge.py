"""merge_facts: a value the agent typed wins over a fetched one; every clash is reported."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from backend.connectors import fields_to_fill, merge_facts
from backend.connectors.result import ConnectorFacts, FactSource
from backend.domain.fields import FieldCatalog

AT = datetime(2024, 11, 20, 14, 35, tzinfo=UTC)
ADMIN = FactSource(kind="connector", connector="calls", label="대리 어드민", fetched_at=AT)


def fetched(**values: object) -> ConnectorFacts:
    """A fetch result in which every value came from the `calls` connector."""
    return ConnectorFacts(values=values, provenance=dict.fromkeys(values, ADMIN))


def test_typed_wins_fetched_fills_and_clashes_are_reported(fields: FieldCatalog) -> None:
    """Typed known values stay; unknown ones are filled; differing ones are disagreements."""
    typed = {"admin_status": "in_progress", "original_fare": 23000, "driver_on_duty": None}
    values, provenance, disagreements = merge_facts(
        typed,
        fetched(admin_status="completed", original_fare=23000, driver_on_duty=True),
        agent_source="form",
    )
    assert values == {"admin_status": "in_progress", "original_fare": 23000, "driver_on_duty": True}
    assert provenance["admin_status"] == FactSource(kind="form")
    assert provenance["original_fare"] == FactSource(kind="form")
    assert provenance["driver_on_duty"] == ADMIN
    [clash] = disagreements
    assert clash.to_json(fields) == {
        "fact": "admin_status",
        "typed": "in_progress",
        "fetched": "completed",
        "source": {
            "kind": "connector",
            "connector": "calls",
            "label": "대리 어드민",
            "fetched_at": "2024-11-20T14:35:00+00:00",
            "cached": False,
        },
    }


def test_equal_values_of_different_spelling_agree(fields: FieldCatalog) -> None:
    """Both sides are typed by the same parsers, so one instant in two zones agrees."""
    typed = {"ticket_start": fields.parse("ticket_start", "2024-11-20T14:00")}
    admin = {"ticket_start": fields.parse("ticket_start", "2024-11-20T05:00:00Z")}
    assert merge_facts(typed, fetched(**admin))[2] == ()


def test_fields_to_fill_only_fetched_zendesk_fields(fields: FieldCatalog) -> None:
    """Write-back fills fetched facts (Zendesk-encoded), never the agent's own values."""
    values, provenance, _ = merge_facts(
        {"original_fare": 23000},
        fetched(admin_status="completed", driver_on_duty=True, original_fare=25000),
    )
    assert fields_to_fill(values, provenance, fields) == {
        "admin_status": "gp_admin_status_completed",
        "driver_on_duty": "gp_driver_on_duty_yes",
    }


KEYS = ("admin_status", "original_fare", "driver_on_duty", "customer_recalling")
VALUE = st.one_of(st.none(), st.integers(0, 3))


@given(
    st.fixed_dictionaries({}, optional=dict.fromkeys(KEYS, VALUE)),
    st.dictionaries(st.sampled_from(KEYS), st.integers(0, 3)),
)
def test_merge_invariants(typed: dict[str, object], admin: dict[str, object]) -> None:
    """Property: known typed values always survive; a clash is exactly known ≠ fetched."""
    values, provenance, disagreements = merge_facts(typed, fetched(**admin))
    known = {key: value for key, value in typed.items() if value is not None}
    assert {key: values[key] for key in known} == known
    assert set(values) == set(known) | set(admin)
    assert all(provenance[key].kind == "ticket" for key in known)
    assert all(provenance[key] == ADMIN for key in set(admin) - set(known))
    clashing = {key for key in admin if key in known and known[key] != admin[key]}
    assert {d.fact for d in disagreements} == clashing
