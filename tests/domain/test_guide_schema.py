"""`macros/guide.schema.json` is generated from the models (drift test) and types conditions."""

from __future__ import annotations

import io
import json
from pathlib import Path

from backend.cli import main
from backend.domain.conditions import FACT_OPS
from backend.domain.guide_schema import guide_schema
from backend.domain.guides import Guide, Row

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
    assert set(defs["Guide"]["properties"]) == {
        info.alias or name for name, info in Guide.model_fields.items()
    }
    assert set(defs["Row"]["properties"]) == set(Row.model_fields)
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
