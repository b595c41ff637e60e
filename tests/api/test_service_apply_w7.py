"""The apply path's remembered option tags equal the computed ones; applies still write once."""

from __future__ import annotations

from backend.domain.engine import EngineOptions
from backend.domain.fields import FieldCatalog
from backend.domain.guides import GuideCatalog, load_catalog
from backend.domain.render import TextRenderer
from backend.service import ServiceContext, _field_option_tags, field_option_tags_plain
from backend.settings import REPO_ROOT

CATALOG: GuideCatalog = load_catalog(REPO_ROOT / "macros")


def context(catalog: GuideCatalog) -> ServiceContext:
    """A context over this catalog (no field map needed for option tags)."""
    return ServiceContext(
        catalog=catalog, renderer=TextRenderer(catalog), options=EngineOptions(), field_map=None
    )


def test_remembered_option_tags_are_the_computed_ones() -> None:
    """Every call gives the computed set; the second call the very same object."""
    ctx = context(CATALOG)
    first = _field_option_tags(ctx)
    assert first == field_option_tags_plain(CATALOG.fields)
    assert _field_option_tags(ctx) is first
    assert "gp_call_type_partner" in first


def test_another_catalog_gets_its_own_tags() -> None:
    """A different field catalog (fewer fields) is never answered from another's entry."""
    fields = list(CATALOG.fields.fields())
    smaller = FieldCatalog(fields[:2])
    other = GuideCatalog.__new__(GuideCatalog)
    object.__setattr__(other, "fields", smaller)
    tags = _field_option_tags(
        ServiceContext(
            catalog=other,
            renderer=None,
            options=EngineOptions(),
            field_map=None,  # type: ignore[arg-type]
        )
    )
    assert tags == field_option_tags_plain(smaller)
    assert tags != _field_option_tags(context(CATALOG))
