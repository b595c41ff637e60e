"""Typed models and JSON Schemas of `fields.yaml` and `labels.yaml` (`macros/*.schema.json`).

The field entry is the loader's own model (fields.py), so the schema cannot drift from what
`load_field_catalog` accepts; the two rules the loader checks by hand (key patterns, options
on dropdowns only) are added to the schema here.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from backend.domain.fields import Label
from backend.domain.fields import _RawField as FieldEntry

SCHEMA_BASE = "https://guidepost.dev/schemas"
FIELD_KEY_PATTERN = r"^[a-z][a-z0-9_]*$"
OPTION_CODE_PATTERN = r"^[a-z0-9][a-z0-9_]*$"
# Label kinds the engine reads (GuideCatalog.label): a block's or a notice's wording.
LABEL_KINDS = ("blocks", "notices")
Document = Literal["guide", "fields", "labels"]
DOCUMENTS: tuple[Document, ...] = ("guide", "fields", "labels")

FieldKey = Annotated[str, StringConstraints(pattern=FIELD_KEY_PATTERN)]


class FieldsDocument(BaseModel):
    """`macros/fields.yaml`: one top-level `fields:` mapping, key → field entry."""

    model_config = ConfigDict(extra="forbid", strict=True)

    fields: dict[FieldKey, FieldEntry]


class LabelsDocument(BaseModel):
    """`macros/labels.yaml`: the Korean/English wording of every block and notice id."""

    model_config = ConfigDict(extra="forbid", strict=True)

    blocks: dict[str, Label] = {}
    notices: dict[str, Label] = {}


def _document_schema(model: type[BaseModel], name: str, title: str) -> dict[str, Any]:
    schema = model.model_json_schema(by_alias=True)
    defs: dict[str, Any] = schema.pop("$defs", {})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{SCHEMA_BASE}/{name}.schema.json",
        **schema,
        "title": title,
        "$defs": dict(sorted(defs.items())),
    }


def fields_schema() -> dict[str, Any]:
    """The JSON Schema of fields.yaml."""
    schema = _document_schema(FieldsDocument, "fields", "Guidepost field catalog (fields.yaml)")
    entry = schema["$defs"]["_RawField"]
    entry["title"] = "Field"
    entry["properties"]["options"]["propertyNames"] = {"pattern": OPTION_CODE_PATTERN}
    # fields.py: "options are required for dropdowns and only there".
    dropdown = {"properties": {"type": {"const": "dropdown"}}, "required": ["type"]}
    entry["if"] = dropdown
    entry["then"] = {"required": ["options"], "properties": {"options": {"minProperties": 1}}}
    entry["else"] = {"not": {"required": ["options"]}}
    schema["properties"]["fields"]["additionalProperties"] = False  # keys are lower_snake_case
    schema["$defs"]["Field"] = schema["$defs"].pop("_RawField")
    text = json.dumps(schema).replace("#/$defs/_RawField", "#/$defs/Field")
    result: dict[str, Any] = json.loads(text)
    result["$defs"] = dict(sorted(result["$defs"].items()))
    return result


def labels_schema() -> dict[str, Any]:
    """The JSON Schema of labels.yaml."""
    return _document_schema(LabelsDocument, "labels", "Guidepost block/notice labels (labels.yaml)")


def schema_text(document: Document = "guide") -> str:
    """One document's schema as the committed `macros/<document>.schema.json` holds it."""
    from backend.domain.guide_schema import guide_schema

    builders = {"guide": guide_schema, "fields": fields_schema, "labels": labels_schema}
    return json.dumps(builders[document](), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def schema_file(document: Document) -> str:
    """The file name of one document's schema under macros/."""
    return f"{document}.schema.json"
