"""What a template's source says, told from one parse: the names it reads, its includes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import meta
from jinja2 import nodes as jinja_nodes


def names_loaded(tree: jinja_nodes.Template) -> set[str]:
    """Every name a template reads: context variables, globals, and its own locals.

    Not `meta.find_undeclared_variables`: it leaves out names the environment has as
    globals (a fact named like one, `lipsum`). Locals are in too: a superset is safe.
    """
    return {node.name for node in tree.find_all(jinja_nodes.Name) if node.ctx == "load"}


@dataclass(frozen=True)
class TemplateFacts:
    """What one template's source says: every name it loads, whether it uses another file."""

    names: frozenset[str]
    # Includes, imports or extends another template (its reads are not all in `names`).
    uses_templates: bool

    def to_json(self) -> dict[str, Any]:
        """The facts as JSON (the explain cache keeps them between processes)."""
        return {"names": sorted(self.names), "uses_templates": self.uses_templates}

    @classmethod
    def from_json(cls, data: Any) -> TemplateFacts:
        """Read `to_json()`'s output back (ValueError when it is not that shape)."""
        if not isinstance(data, dict) or set(data) != {"names", "uses_templates"}:
            raise ValueError("not a template's facts")
        names, uses = data["names"], data["uses_templates"]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ValueError("names: expected a list of strings")
        if not isinstance(uses, bool):
            raise ValueError("uses_templates: expected a boolean")
        return cls(frozenset(names), uses)


# Per guide: template name → its facts, or None when Jinja cannot read or parse it.
TemplateFactsByGuide = dict[str, dict[str, TemplateFacts | None]]


def analyse_template(tree: jinja_nodes.Template) -> TemplateFacts:
    """The facts of one parsed template."""
    uses = any(True for _ in meta.find_referenced_templates(tree))
    return TemplateFacts(frozenset(names_loaded(tree)), uses)
