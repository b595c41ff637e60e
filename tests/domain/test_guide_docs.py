"""macros/README.md documents every key of the three schemas and every template filter/global."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from jinja2.sandbox import ImmutableSandboxedEnvironment

from backend.domain.catalog_schema import DOCUMENTS, schema_text
from backend.domain.fields import FieldType
from backend.domain.guides import GuideCatalog
from backend.domain.render import TextRenderer

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "macros" / "README.md"


def schema_keys(schema: Any) -> set[str]:
    """Every property name anywhere in a JSON Schema (its $defs included)."""
    found: set[str] = set()
    if isinstance(schema, dict):
        found |= set(schema.get("properties", {}))
        for value in schema.values():
            found |= schema_keys(value)
    elif isinstance(schema, list):
        for value in schema:
            found |= schema_keys(value)
    return found


def documented(name: str, text: str) -> bool:
    """In backticks (`name`, `name(…)`, `name: …`) or written as a YAML key (`name:`)."""
    quoted = re.search(rf"`{re.escape(name)}(`|\(|:| )", text)
    return bool(quoted or re.search(rf"(^|[\s{{\[,]){re.escape(name)}:", text, re.M))


def template_names(catalog: GuideCatalog) -> dict[str, set[str]]:
    """Filters and globals the renderer gives templates, beyond Jinja2's own."""
    renderer = TextRenderer(catalog)
    guide = next(iter(catalog.guides.values()))
    env = renderer._envs[guide.id]  # the environment the renderer built for this guide
    plain = ImmutableSandboxedEnvironment()
    context = renderer.context(guide, {}, "https://admin.example/calls/{call_id}")
    helpers = set(context) - set(guide.settings)
    return {
        "filter": set(env.filters) - set(plain.filters),
        "global": (set(env.globals) - set(plain.globals)) | helpers,
    }


def missing_docs(catalog: GuideCatalog, text: str) -> list[str]:
    """Every key, field type, filter and global macros/README.md does not mention."""
    missing = []
    for document in DOCUMENTS:
        keys = schema_keys(json.loads(schema_text(document)))
        missing += [f"{document}.yaml key `{k}`" for k in sorted(keys) if not documented(k, text)]
    types = FieldType.__args__
    missing += [f"fields.yaml type `{t}`" for t in types if not documented(t, text)]
    for kind, names in template_names(catalog).items():
        missing += [f"template {kind} `{n}`" for n in sorted(names) if not documented(n, text)]
    return missing


def test_every_key_filter_and_global_is_documented(catalog: GuideCatalog) -> None:
    missing = missing_docs(catalog, README.read_text(encoding="utf-8"))
    assert missing == [], "document these in macros/README.md:\n" + "\n".join(missing)


def test_the_collection_is_not_empty(catalog: GuideCatalog) -> None:
    names = template_names(catalog)
    assert {"won", "md", "md_hm", "hm", "or_blank", "split", "option", "josa"} <= names["filter"]
    assert {"agent_name", "call_link", "setting", "situation_room"} <= names["global"]
    assert {"when", "from", "unless_known"} <= schema_keys(json.loads(schema_text("guide")))
    assert {"zendesk", "options"} <= schema_keys(json.loads(schema_text("fields")))


def test_an_undocumented_key_is_named(catalog: GuideCatalog) -> None:
    text = README.read_text(encoding="utf-8")
    stripped = text.replace("`zendesk`", "zendesk").replace("zendesk:", "")
    stripped = re.sub(r"`split(\(|`)", "split", stripped)
    missing = missing_docs(catalog, stripped)
    assert "fields.yaml key `zendesk`" in missing
    assert "template filter `split`" in missing
