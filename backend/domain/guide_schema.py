"""JSON Schema of `guide.yaml`, generated from the pydantic models (`macros/guide.schema.json`).

The models keep `when`/`applies` as plain JSON values (compiled by conditions.py); the schema
types them as the condition grammar, and accepts the plain-name shorthand of `collect` and
`requires` entries and the `x-…` anchor keys the loader drops.
"""

from __future__ import annotations

import json
from typing import Any

from backend.domain.conditions import FACT_OPS
from backend.domain.guides import guide_adapter

SCHEMA_ID = "https://guidepost.dev/schemas/guide.schema.json"
_REF = {"$ref": "#/$defs/Condition"}
_LIST_OPS = ("in", "not_in")
_COMPARE_OPS = ("lt", "le", "gt", "ge")


def _operand(op: str) -> dict[str, Any]:
    if op in _LIST_OPS:
        return {"type": "array", "minItems": 1}
    if op in _COMPARE_OPS:
        fact_ref: dict[str, Any] = {"type": "object", "properties": {"fact": {"type": "string"}}}
        fact_ref |= {"required": ["fact"], "additionalProperties": False}
        return {"anyOf": [{"type": "number"}, {"type": "string"}, fact_ref]}
    if op in ("is_known", "is_unknown"):
        return {"type": "boolean"}
    return {}


def condition_schema() -> dict[str, Any]:
    """The condition grammar: all/any (non-empty lists), not, or one test on one fact."""
    ops = {op: _operand(op) for op in FACT_OPS}
    test = {
        "type": "object",
        "properties": {"fact": {"type": "string", "minLength": 1}, **ops},
        "required": ["fact"],
        "minProperties": 2,
        "maxProperties": 2,
        "additionalProperties": False,
    }
    group = {
        key: {
            "type": "object",
            "properties": {key: {"type": "array", "minItems": 1, "items": _REF}},
            "required": [key],
            "additionalProperties": False,
        }
        for key in ("all", "any")
    }
    negation = {
        "type": "object",
        "properties": {"not": _REF},
        "required": ["not"],
        "additionalProperties": False,
    }
    return {"oneOf": [group["all"], group["any"], negation, test]}


def _retype(defs: dict[str, Any]) -> None:
    for model in defs.values():
        for name, prop in model.get("properties", {}).items():
            if name in ("when", "applies"):
                title = prop.get("title") or name.capitalize()
                prop.clear()
                prop.update({"anyOf": [_REF, {"type": "null"}], "title": title})
    # `when: eligible` on a notice: shown on every eligible decision.
    defs["Rule"]["properties"]["when"]["anyOf"].append({"const": "eligible"})
    # The loader's shorthand: a plain fact name for a collect/requires entry.
    for model, prop, item in (("Row", "collect", "Collect"), ("Guide", "requires", "Require")):
        target = defs[model]["properties"][prop]
        target["items"] = {"anyOf": [{"type": "string"}, {"$ref": f"#/$defs/{item}"}]}


def guide_schema() -> dict[str, Any]:
    """The JSON Schema of one guide.yaml."""
    schema = guide_adapter().json_schema(by_alias=True)
    defs: dict[str, Any] = schema.setdefault("$defs", {})
    defs["Guide"] = {k: v for k, v in schema.items() if k != "$defs"}
    _retype(defs)
    defs["Guide"]["patternProperties"] = {"^x-": {"description": "YAML anchors; ignored"}}
    defs["Condition"] = condition_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Guidepost guide (macros/<guide>/guide.yaml)",
        "$ref": "#/$defs/Guide",
        "$defs": dict(sorted(defs.items())),
    }


def guide_schema_text() -> str:
    """The schema as the committed file holds it."""
    return json.dumps(guide_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
