"""The OpenAPI document: problem+json errors and the value schema of every field key."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from backend.api.problems import use_problem_media_type
from backend.domain.fields import FieldCatalog, FieldDef, option_tag
from backend.domain.values import (
    MAX_AMOUNT,
    MAX_CALL_ID_DIGITS,
    MAX_INTEGER,
    MAX_TEXT,
    PLATE_LETTERS,
    PLATE_REGIONS,
)

NULL: dict[str, Any] = {"type": "null"}
# Days 01-28 only: every such date exists, so a generated example is always real.
_DATE = r"[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"
DATE_PATTERN = rf"^{_DATE}$"
DATETIME_PATTERN = rf"^{_DATE}T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?(Z|[+]09:00)?$"
AMOUNT_PATTERN = r"^([0-9]{1,3}(,[0-9]{3}){0,2}|[0-9]{1,9}) ?원?$"
PLATE_PATTERN = (
    rf"^({'|'.join(PLATE_REGIONS)})?[0-9]{{2,3}}[{''.join(sorted(PLATE_LETTERS))}][0-9]{{4}}$"
)
CALL_ID_PATTERN = rf"^[0-9]{{1,{MAX_CALL_ID_DIGITS}}}$"
SPLIT_PATTERN = r"^([1-9]|10)000x[1-9]$"
# Free text: no control characters other than tab and newline.
TEXT_PATTERN = r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$"
BLANK: dict[str, Any] = {"type": "string", "pattern": r"^\s*$"}
TRISTATE_WORDS = ("true", "false", "yes", "no", "예", "아니오", "아니요")


def describe_field_value(field: FieldDef) -> dict[str, Any]:
    """JSON Schema of the values one field accepts (null = unknown)."""
    match field.type:
        case "tristate":
            words = [*TRISTATE_WORDS, option_tag(field.key, "yes"), option_tag(field.key, "no")]
            variants: list[dict[str, Any]] = [{"type": "boolean"}, {"enum": words}]
        case "dropdown":
            codes = list(field.options)
            variants = [{"enum": codes + [option_tag(field.key, code) for code in codes]}]
        case "date":
            variants = [{"type": "string", "pattern": DATE_PATTERN}]
        case "datetime":
            variants = [{"type": "string", "pattern": DATETIME_PATTERN}]
        case "amount" | "integer":
            maximum = MAX_AMOUNT if field.type == "amount" else MAX_INTEGER
            variants = [{"type": "integer", "minimum": 0, "maximum": maximum}]
            if field.type == "amount":
                variants.append({"type": "string", "pattern": AMOUNT_PATTERN})
        case "plate":
            variants = [{"type": "string", "pattern": PLATE_PATTERN}]
        case "call_id":
            variants = [{"type": "string", "pattern": CALL_ID_PATTERN}]
        case "coupon_split":
            variants = [{"type": "string", "pattern": SPLIT_PATTERN}]
        case _:
            variants = [{"type": "string", "maxLength": MAX_TEXT, "pattern": TEXT_PATTERN}]
            # An approval or trip number often arrives typed as a JSON number.
            variants.append({"type": "integer"})
    return {
        # A blank string means "unknown" for every field, like null (values.is_blank).
        "anyOf": [*variants, BLANK, NULL],
        "title": field.label_en,
        "description": f"{field.label_ko} ({field.type})",
    }


def describe_fields(fields: FieldCatalog) -> dict[str, Any]:
    """JSON Schema of the `fields` object of an `explain` input: known keys only."""
    return {
        "anyOf": [
            {
                "type": "object",
                # Server-computed facts (prior_reconnections) are given at the top level.
                "properties": {
                    field.key: describe_field_value(field)
                    for field in fields.fields()
                    if field.zendesk
                },
                "additionalProperties": False,
            },
            NULL,
        ],
        "title": "Fields",
        "description": "field key → value (option codes, true/false/null, won, ISO dates)",
    }


def build_openapi(app: FastAPI, fields: FieldCatalog | None) -> dict[str, Any]:
    """Generate the schema once: errors as problem+json, field values from the catalog."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    schema = use_problem_media_type(schema)
    semantic = schema.get("components", {}).get("schemas", {}).get("SemanticInput")
    if fields is not None and semantic is not None:
        semantic["properties"]["fields"] = describe_fields(fields)
    app.openapi_schema = schema
    return schema
