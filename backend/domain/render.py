"""The words: a sandboxed Jinja2 environment over macros/<guide>/templates (render_filters.py).

Unfilled values stay visible as the articles' placeholders (OOO, OO월 OO일) and are
marked while rendering, so the decision can tell the sidebar where each one is (C1).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import (
    BytecodeCache,
    ChoiceLoader,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
)
from jinja2 import nodes as jinja_nodes
from jinja2.runtime import new_context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import concat

from backend.domain.coupon import DENOMINATIONS
from backend.domain.decision import TextPlaceholder
from backend.domain.derived import DERIVED
from backend.domain.guides import Guide, GuideCatalog
from backend.domain.render_filters import (
    SETTING_NEEDED,
    GuideSandbox,
    Placeholder,
    agent_name,
    filter_hm,
    filter_md,
    filter_md_hm,
    filter_or_blank,
    filter_particle,
    filter_split,
    filter_won,
    is_placeholder_setting,
    mark,
    unmark,
)
from backend.domain.template_facts import TemplateFacts, TemplateFactsByGuide, analyse_template
from backend.errors import GuideDataError


@dataclass(frozen=True)
class PreparedContext:
    """One decision's template variables, merged once over the environment's globals."""

    guide: Guide
    variables: dict[str, Any]
    # All the context holds besides the guide (its settings and title) and the ticket's
    # facts: a text that reads no fact renders the same for every ticket with the same guide
    # object and URL.
    admin_call_url: str


@dataclass(frozen=True)
class FactsRead:
    """The facts a guide's templates may read: catalog fields, and derived facts besides."""

    fields: tuple[str, ...]
    derived: tuple[str, ...]


# Context names that are not facts: the helpers `context` adds (besides the settings).
_HELPERS = frozenset({"guide_title", "denominations", "call_link", "setting", "situation_room"})


class TextRenderer:
    """Renders guide templates; one sandboxed environment per guide, templates cached."""

    def __init__(
        self,
        catalog: GuideCatalog,
        template_facts: TemplateFactsByGuide | None = None,
        bytecode_cache: BytecodeCache | None = None,
    ) -> None:
        """`template_facts`: what `template_facts()` said for these same template files before;
        `bytecode_cache`: where Jinja keeps compiled templates between processes (explain)."""
        self.catalog = catalog
        self._bytecode_cache = bytecode_cache
        common = catalog.root / "_common"
        self._envs: dict[str, ImmutableSandboxedEnvironment] = {}
        # Compiled templates, loaded once (guide files are read once per process).
        self._templates: dict[tuple[str, str], Template] = {}
        # Per template: it and the names of its globals, for a render's context.
        self._contexts: dict[tuple[str, str], tuple[Template, frozenset[str]]] = {}
        self._names_read: dict[str, frozenset[str] | None] = {}
        self._facts_read: dict[str, FactsRead | None] = {}
        # Whether a template reads no fact, and the texts of those already rendered.
        self._fact_free: dict[tuple[str, str], bool] = {}
        # Each template is parsed once: its facts kept, its tree kept until it is compiled.
        self._facts: TemplateFactsByGuide = {
            guide_id: dict(by_name) for guide_id, by_name in (template_facts or {}).items()
        }
        self._trees: dict[tuple[str, str], tuple[jinja_nodes.Template, str | None]] = {}
        # Both kept per guide id with the guide object they were made from: a changed copy
        # of a guide (other settings) replaces them instead of reading the old ones.
        self._helper_sets: dict[tuple[str, str], tuple[Guide, dict[str, Any]]] = {}
        self._fact_free_texts: dict[
            tuple[str, str, str], tuple[Guide, str, list[TextPlaceholder]]
        ] = {}
        for guide_id in catalog.guides:
            self._envs[guide_id] = self._make_env([catalog.templates_dir(guide_id), common])

    def _make_env(self, folders: list[Path]) -> ImmutableSandboxedEnvironment:
        env = GuideSandbox(
            loader=ChoiceLoader([FileSystemLoader(str(folder)) for folder in folders]),
            undefined=StrictUndefined,
            # Texts are plain text; HTML is escaped where it is built (notes, macros, sidebar).
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            # Guide files are read once per process: a template another one includes or
            # imports is not checked against the disk (a stat per render) on every use.
            auto_reload=False,
            bytecode_cache=self._bytecode_cache,
        )
        env.filters.update(
            won=filter_won,
            md=filter_md,
            md_hm=filter_md_hm,
            hm=filter_hm,
            or_blank=filter_or_blank,
            split=filter_split,
            josa=filter_particle,
        )
        env.filters["option"] = self._option_label
        env.globals["agent_name"] = agent_name
        return env

    def _option_label(self, value: Any, key: str) -> str:
        if isinstance(value, Placeholder):
            return str(value)
        if value is None:
            return mark("OOO", "fact", key)
        field = self.catalog.fields.get(key)
        label = field.options.get(value)
        return label.ko.split("::")[-1] if label is not None else str(value)

    def context(self, guide: Guide, values: dict[str, Any], admin_call_url: str) -> dict[str, Any]:
        """Template variables: every fact, the guide's settings, and helpers."""
        return {**guide.settings, **values, **self._helpers(guide, admin_call_url)}

    def _helpers(self, guide: Guide, admin_call_url: str) -> dict[str, Any]:
        """The context's helpers: they read the guide's settings and the URL, never a ticket."""
        key = (guide.id, admin_call_url)
        found = self._helper_sets.get(key)
        if found is None or found[0] is not guide:
            found = self._helper_sets[key] = (guide, self._make_helpers(guide, admin_call_url))
        return found[1]

    @staticmethod
    def _make_helpers(guide: Guide, admin_call_url: str) -> dict[str, Any]:
        settings = guide.settings

        def call_link(call_id: Any) -> str:
            if isinstance(call_id, Placeholder):
                link = admin_call_url.replace("{call_id}", call_id)
            elif call_id is None:
                link = admin_call_url.replace("{call_id}", mark("OOO", "fact", "forced_call_id"))
            else:
                link = admin_call_url.format(call_id=call_id)
            if is_placeholder_setting(admin_call_url):
                # Still the example URL: kept visible, followed by a marked "(설정 필요)".
                return f"{link} {mark(f'({SETTING_NEEDED})', 'setting', 'admin_call_url')}"
            return link

        def setting(name: str, label: str) -> str:
            value = settings.get(name)
            if is_placeholder_setting(value):
                return mark(f"{SETTING_NEEDED} ({label})", "setting", name)
            return str(value)

        def situation_room(company: Any) -> str:
            phones = settings.get("situation_room_phones")
            by_company: Mapping[str, Any] = phones if isinstance(phones, Mapping) else {}
            value = by_company.get(str(company)) if company else None
            if value is None:
                value = settings.get("situation_room_phone")
            if isinstance(company, Placeholder) or is_placeholder_setting(value):
                return mark(f"{SETTING_NEEDED} (상황실 번호)", "setting", "situation_room_phone")
            return str(value)

        return {
            "guide_title": guide.title,
            "denominations": DENOMINATIONS,
            "call_link": call_link,
            "setting": setting,
            "situation_room": situation_room,
        }

    def prepare(self, guide: Guide, values: dict[str, Any], admin_call_url: str) -> PreparedContext:
        """A decision's `context` over the globals, for every text it renders.

        `Template.render` copies its context twice per render (the argument, then under the
        globals); a decision renders several templates from one context, so it merges once.
        """
        variables = {
            **self._env(guide.id).globals,
            **guide.settings,
            **values,
            **self._helpers(guide, admin_call_url),
        }
        return PreparedContext(guide, variables, admin_call_url)

    def _with_globals(self, guide_id: str, context: Mapping[str, Any]) -> dict[str, Any]:
        return {**self._env(guide_id).globals, **context}

    def render_marked(
        self, guide_id: str, template: str, context: dict[str, Any]
    ) -> tuple[str, list[TextPlaceholder]]:
        """Render one template; return the text and its unfilled placeholders."""
        return self._render(guide_id, template, self._with_globals(guide_id, context))

    def render_prepared(
        self, template: str, prepared: PreparedContext
    ) -> tuple[str, list[TextPlaceholder]]:
        """Render one template of a decision; a text that reads no fact is rendered once."""
        guide = prepared.guide
        if not self.is_fact_free(guide.id, template):
            return self._render(guide.id, template, prepared.variables)
        key = (guide.id, template, prepared.admin_call_url)
        found = self._fact_free_texts.get(key)
        if found is None or found[0] is not guide:
            body, placeholders = self._render(guide.id, template, prepared.variables)
            found = self._fact_free_texts[key] = (guide, body, placeholders)
        return found[1], list(found[2])

    def render_for(
        self,
        template: str,
        guide: Guide,
        admin_call_url: str,
        variables: Callable[[], dict[str, Any]],
    ) -> tuple[str, list[TextPlaceholder]]:
        """Render one template of a decision; `variables()` is asked only for one reading a fact.

        `variables()` returns what `prepare(...).variables` holds for the decision: a
        decision whose texts read no fact (each rendered once, then kept) never builds it.
        """
        if not self.is_fact_free(guide.id, template):
            return self._render(guide.id, template, variables())
        key = (guide.id, template, admin_call_url)
        found = self._fact_free_texts.get(key)
        if found is None or found[0] is not guide:
            # Reading no fact, the text renders alike from the guide's context without facts.
            context = self.prepare(guide, {}, admin_call_url)
            body, placeholders = self._render(guide.id, template, context.variables)
            found = self._fact_free_texts[key] = (guide, body, placeholders)
        return found[1], list(found[2])

    def is_fact_free(self, guide_id: str, template: str) -> bool:
        """Whether a template reads no fact: only settings, helpers and Jinja's globals.

        Such a text is the same for every ticket of the guide (the context's other names
        depend on the guide and `admin_call_url` only). A template that includes, imports
        or extends another, calls `lipsum` (random words) or reads a name of its own (a
        loop variable) never counts as fact-free: a false "no" only costs a render.
        """
        key = (guide_id, template)
        known = self._fact_free.get(key)
        if known is None:
            known = self._fact_free[key] = self._find_fact_free(guide_id, template)
        return known

    def _find_fact_free(self, guide_id: str, template: str) -> bool:
        env = self._env(guide_id)
        found = self._template_facts(guide_id, template)
        if found is None or found.uses_templates:
            return False
        read = found.names
        settings = self.catalog.guide(guide_id).settings
        not_facts = set(settings) | _HELPERS | (set(env.globals) - {"lipsum"})
        # A fact shadows a setting of the same name (`context` puts the facts last).
        facts = set(self.catalog.fields) | set(DERIVED)
        return read <= not_facts and not read & facts

    def _render(
        self, guide_id: str, template: str, variables: dict[str, Any]
    ) -> tuple[str, list[TextPlaceholder]]:
        """Render one template from variables already over the globals (read, never changed)."""
        try:
            key = (guide_id, template)
            found = self._contexts.get(key)
            if found is None:
                compiled = self._templates.get(key) or self._load(guide_id, template)
                found = self._contexts[key] = (compiled, frozenset(compiled.globals))
            compiled, globals_keys = found
            # `compiled.new_context(variables, shared=True)`, less its set of the template's
            # globals' names (a ChainMap walked per render): the same names, taken once.
            context = new_context(
                compiled.environment, compiled.name, compiled.blocks, variables, True
            )
            context.globals_keys = globals_keys  # type: ignore[assignment]
            return unmark(concat(compiled.root_render_func(context)).strip())
        except TemplateError as exc:
            raise GuideDataError(f"{guide_id}/templates/{template}: {exc}") from exc

    def render(self, guide_id: str, template: str, context: dict[str, Any]) -> str:
        """Render one template as plain text; GuideDataError names the template when it fails."""
        return self.render_marked(guide_id, template, context)[0]

    def names_read(self, guide_id: str) -> frozenset[str] | None:
        """Every variable a guide's templates may read; None when that cannot be told.

        A decision's template context then computes only the derived facts some template
        reads. Jinja resolves names statically (no template can look a variable up by a
        computed name), so the union over every file the guide's loader serves is complete.
        """
        if guide_id not in self._names_read:
            self._names_read[guide_id] = self._find_names_read(guide_id)
        return self._names_read[guide_id]

    def facts_read(self, guide_id: str) -> FactsRead | None:
        """The catalog fields and the derived facts a guide's templates may read, or None."""
        if guide_id not in self._facts_read:
            names = self.names_read(guide_id)
            fields = self.catalog.fields
            self._facts_read[guide_id] = (
                None
                if names is None
                else FactsRead(
                    fields=tuple(sorted(n for n in names if n in fields)),
                    derived=tuple(sorted(n for n in names if n in DERIVED and n not in fields)),
                )
            )
        return self._facts_read[guide_id]

    def _find_names_read(self, guide_id: str) -> frozenset[str] | None:
        names: set[str] = set()
        try:
            templates = self._env(guide_id).list_templates()
        except OSError:
            return None
        for name in templates:
            facts = self._template_facts(guide_id, name)
            if facts is None:
                # A file Jinja cannot read or parse: every fact stays in the context.
                return None
            names |= facts.names
        return frozenset(names)

    def template_facts(self) -> TemplateFactsByGuide:
        """Every template of every guide, analysed (parsed once each): for the explain cache."""
        for guide_id in self.catalog.guides:
            self.names_read(guide_id)
            for name in self._env(guide_id).list_templates():
                self._template_facts(guide_id, name)
        return {guide_id: dict(by_name) for guide_id, by_name in self._facts.items()}

    def _template_facts(self, guide_id: str, template: str) -> TemplateFacts | None:
        """A template's facts, from one parse whose tree `_load` then compiles."""
        known = self._facts.setdefault(guide_id, {})
        if template in known:
            return known[template]
        env = self._env(guide_id)
        try:
            source, filename, _ = env.loader.get_source(env, template)  # type: ignore[union-attr]
            tree = env.parse(source, template, filename)
        except (TemplateError, OSError, UnicodeDecodeError):
            known[template] = None
            return None
        facts = known[template] = analyse_template(tree)
        self._trees[(guide_id, template)] = (tree, filename)
        return facts

    def _env(self, guide_id: str) -> ImmutableSandboxedEnvironment:
        env = self._envs.get(guide_id)
        if env is None:
            raise GuideDataError(f"no templates for guide {guide_id!r}")
        return env

    def _load(self, guide_id: str, template: str) -> Template:
        """Compile a template on first use and keep it (no per-render file checks).

        A template the analysis parsed is compiled from that tree, as `get_template` would
        from its source (Jinja's loader: parse, compile, `from_code`): one parse, not two.
        """
        env = self._env(guide_id)
        parsed = self._trees.pop((guide_id, template), None)
        if parsed is None or env.bytecode_cache is not None:
            # The loader reads Jinja's bytecode cache (and fills it).
            compiled = env.get_template(template)
        else:
            tree, filename = parsed
            code = env.compile(tree, template, filename)
            compiled = env.template_class.from_code(env, code, env.make_globals(None), None)
        self._templates[(guide_id, template)] = compiled
        return compiled
