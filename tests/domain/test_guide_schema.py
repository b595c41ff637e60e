"""`macros/{guide,fields,labels}.schema.json` are generated from the models (drift test)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml

from backend.cli import main
from backend.domain.catalog_schema import (
    DOCUMENTS,
    FieldsDocument,
    LabelsDocument,
    fields_schema,
    labels_schema,
    schema_file,
)
from backend.domain.conditions import FACT_OPS
from backend.domain.fields import _RawField
from backend.domain.guide_schema import guide_schema
from backend.domain.guides import Guide, Row, yaml_keys

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "macros" / "guide.schema.json"


def test_committed_schema_is_regenerated_identically() -> None:
    out = io.StringIO()
    assert main(["guides", "schema"], out=out, err=io.StringIO()) == 0
    assert out.getvalue() == COMMITTED.read_text(encoding="utf-8"), (
        "run: guidepost guides schema --out macros/guide.schema.json"
    )


def test_schema_out_file(tmp_path: Path) -> None:
    target = tmp_path / "s.json"
    assert main(["guides", "schema", "--out", str(target)], out=io.StringIO()) == 0
    assert json.loads(target.read_text(encoding="utf-8"))["$ref"] == "#/$defs/Guide"


def test_schema_keys_follow_the_models() -> None:
    defs = guide_schema()["$defs"]
    assert set(defs["Guide"]["properties"]) == set(yaml_keys(Guide))
    assert set(defs["Row"]["properties"]) == set(yaml_keys(Row))
    assert defs["Guide"]["additionalProperties"] is False
    assert "^x-" in defs["Guide"]["patternProperties"]


def test_conditions_are_typed_not_any() -> None:
    defs = guide_schema()["$defs"]
    for model in ("Row", "Rule", "Require", "TextSpec"):
        when = defs[model]["properties"]["when"]
        assert {"$ref": "#/$defs/Condition"} in when["anyOf"], model
    assert {"$ref": "#/$defs/Condition"} in defs["Rule"]["properties"]["applies"]["anyOf"]
    shapes = defs["Condition"]["oneOf"]
    test = shapes[-1]
    assert set(test["properties"]) == {"fact", *FACT_OPS}
    assert test["maxProperties"] == 2
    assert [s["required"] for s in shapes[:3]] == [["all"], ["any"], ["not"]]
    assert shapes[0]["properties"]["all"]["minItems"] == 1


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_committed_schema_is_regenerated_identically(document: str) -> None:
    out = io.StringIO()
    assert main(["guides", "schema", "--document", document], out=out, err=io.StringIO()) == 0
    committed = ROOT / "macros" / schema_file(document)  # type: ignore[arg-type]
    assert out.getvalue() == committed.read_text(encoding="utf-8"), (
        f"run: guidepost guides schema --document {document} --out macros/{committed.name}"
    )


def test_real_catalog_files_fit_their_document_models() -> None:
    fields = yaml.safe_load((ROOT / "macros" / "fields.yaml").read_text(encoding="utf-8"))
    labels = yaml.safe_load((ROOT / "macros" / "labels.yaml").read_text(encoding="utf-8"))
    assert len(FieldsDocument.model_validate(fields).fields) == len(fields["fields"])
    assert set(LabelsDocument.model_validate(labels).model_fields_set) == set(labels)


def test_fields_schema_follows_the_loader_model_and_its_hand_rules() -> None:
    schema = fields_schema()
    entry = schema["$defs"]["Field"]
    assert set(entry["properties"]) == set(yaml_keys(_RawField))
    assert entry["additionalProperties"] is False
    assert entry["properties"]["type"]["enum"][:2] == ["tristate", "dropdown"]
    assert entry["then"]["required"] == ["options"]
    assert entry["else"] == {"not": {"required": ["options"]}}
    mapping = schema["properties"]["fields"]
    assert list(mapping["patternProperties"]) == ["^[a-z][a-z0-9_]*$"]
    assert mapping["additionalProperties"] is False
    assert "_RawField" not in json.dumps(schema)


def test_labels_schema_requires_both_languages() -> None:
    schema = labels_schema()
    assert set(schema["properties"]) == {"blocks", "notices"}
    assert schema["additionalProperties"] is False
    assert schema["$defs"]["Label"]["required"] == ["ko", "en"]
