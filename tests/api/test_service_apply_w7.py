"""The apply path's option tags: computed once per field catalog, equal to the plain set."""

from __future__ import annotations

from backend.domain.fields import FieldCatalog, option_tag
from backend.domain.guides import GuideCatalog, load_catalog
from backend.settings import REPO_ROOT

CATALOG: GuideCatalog = load_catalog(REPO_ROOT / "macros")


def plain_option_tags(fields: FieldCatalog) -> frozenset[str]:
    """Every gp_<key>_<code> a field value can be, computed from scratch."""
    return frozenset(
        option_tag(field.key, code)
        for field in fields.fields()
        for code in (*field.options, "yes", "no")
    )


def test_option_tags_are_the_computed_ones_and_computed_once() -> None:
    """The set equals the plain computation; the second read gives the very same object."""
    first = CATALOG.fields.option_tags
    assert first == plain_option_tags(CATALOG.fields)
    assert CATALOG.fields.option_tags is first
    assert "gp_call_type_partner" in first


def test_another_catalog_gets_its_own_tags() -> None:
    """A different field catalog (fewer fields) never shares another's set."""
    smaller = FieldCatalog(list(CATALOG.fields.fields())[:2])
    assert smaller.option_tags == plain_option_tags(smaller)
    assert smaller.option_tags != CATALOG.fields.option_tags
