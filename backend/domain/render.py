"""The words: a sandboxed Jinja2 environment over macros/<guide>/templates and its filters."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, Template, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from backend.domain.coupon import DENOMINATIONS, format_split, format_won
from backend.domain.guides import Guide, GuideCatalog
from backend.errors import GuideDataError


class Placeholder(str):
    """A value that stands for a Zendesk placeholder (macros): filters pass it through."""

    __slots__ = ()


def filter_won(value: Any) -> str:
    """12000 → '12,000원'; unknown → 'OOO원'."""
    if isinstance(value, Placeholder):
        return f"{value}원"
    if value is None:
        return "OOO원"
    return format_won(int(value))


def filter_md(value: Any) -> str:
    """A date or datetime → '11월 20일'; unknown → 'OO월 OO일'."""
    if isinstance(value, Placeholder):
        return str(value)
    if isinstance(value, datetime | date):
        return f"{value.month}월 {value.day}일"
    return "OO월 OO일"


def filter_hm(value: Any) -> str:
    """A datetime → '14:30'; unknown → 'OO:OO'."""
    if isinstance(value, Placeholder):
        return str(value)
    if isinstance(value, datetime):
        return value.strftime("%H:%M")
    return "OO:OO"


def filter_or_blank(value: Any, placeholder: str = "OOO") -> str:
    """The value as text, or the seed-style placeholder while unknown."""
    if value is None or value == "":
        return placeholder
    return str(value)


def filter_split(value: Any) -> str:
    """Coupon pieces → '5,000원 2장, 1,000원 3장'; unknown → 'OOO원 O장'."""
    if isinstance(value, Placeholder):
        return str(value)
    if not value:
        return "OOO원 O장"
    return format_split(value)


class TextRenderer:
    """Renders guide templates; one sandboxed environment per guide, templates cached."""

    def __init__(self, catalog: GuideCatalog) -> None:
        self.catalog = catalog
        common = catalog.root / "_common"
        self._envs: dict[str, ImmutableSandboxedEnvironment] = {}
        # Compiled templates, loaded once (guide files are read once per process).
        self._templates: dict[tuple[str, str], Template] = {}
        for guide_id in catalog.guides:
            self._envs[guide_id] = self._make_env([catalog.templates_dir(guide_id), common])

    def _make_env(self, folders: list[Path]) -> ImmutableSandboxedEnvironment:
        env = ImmutableSandboxedEnvironment(
            loader=ChoiceLoader([FileSystemLoader(str(folder)) for folder in folders]),
            undefined=StrictUndefined,
            # Texts are plain text; HTML is escaped where it is built (notes, macros, sidebar).
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        env.filters.update(
            won=filter_won, md=filter_md, hm=filter_hm, or_blank=filter_or_blank, split=filter_split
        )
        env.filters["option"] = self._option_label
        return env

    def _option_label(self, value: Any, key: str) -> str:
        if isinstance(value, Placeholder):
            return str(value)
        if value is None:
            return "OOO"
        field = self.catalog.fields.get(key)
        label = field.options.get(value)
        return label.ko.split("::")[-1] if label is not None else str(value)

    def context(self, guide: Guide, values: dict[str, Any], admin_call_url: str) -> dict[str, Any]:
        """Template variables: every fact, the guide's settings, and helpers."""

        def call_link(call_id: Any) -> str:
            if isinstance(call_id, Placeholder):
                return admin_call_url.replace("{call_id}", call_id)
            if call_id is None:
                return admin_call_url.replace("{call_id}", "OOO")
            return admin_call_url.format(call_id=call_id)

        return {
            **guide.settings,
            **values,
            "guide_title": guide.title,
            "denominations": DENOMINATIONS,
            "call_link": call_link,
        }

    def render(self, guide_id: str, template: str, context: dict[str, Any]) -> str:
        """Render one template; GuideDataError names the template when it fails."""
        try:
            compiled = self._templates.get((guide_id, template)) or self._load(guide_id, template)
            return compiled.render(context).strip()
        except TemplateError as exc:
            raise GuideDataError(f"{guide_id}/templates/{template}: {exc}") from exc

    def _load(self, guide_id: str, template: str) -> Template:
        """Compile a template on first use and keep it (no per-render file checks)."""
        env = self._envs.get(guide_id)
        if env is None:
            raise GuideDataError(f"no templates for guide {guide_id!r}")
        compiled = env.get_template(template)
        # A flat snapshot of the (never modified) environment globals: Jinja hands each
        # template a ChainMap, which every render would walk key by key.
        compiled.globals = dict(compiled.globals)
        self._templates[(guide_id, template)] = compiled
        return compiled
