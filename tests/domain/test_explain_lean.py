"""`guidepost explain` on a cached catalog imports and builds only what a decision needs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fresh_process import run_fresh_python

from backend.cli import build_parser, run_explain

ROOT = Path(__file__).resolve().parents[2]
TICKET = {
    "fields": {
        "consult_type": "driver_force_rerun_own_normal",
        "identity_verified": True,
        "customer_presence": "together",
        "payment_method": "card",
    }
}
EXPLAIN_URL = "https://admin.example/calls/{call_id}"
PROBE = """
import io, json, sys, warnings
import jinja2
from backend.cli import main
parsed = []
real_parse = jinja2.Environment._parse
def counting_parse(self, source, name, filename):
    parsed.append(name)
    return real_parse(self, source, name, filename)
jinja2.Environment._parse = counting_parse
out, err = io.StringIO(), io.StringIO()
code = main(["explain", sys.argv[1]], out, err)
imported = sorted(m for m in ("yaml", "logging", "pydantic", "pydantic_core") if m in sys.modules)
warnings.warn("contact (010) 9876-5432", UserWarning, stacklevel=1)
print(json.dumps({
    "code": code,
    "decision": json.loads(out.getvalue()),
    "imported": imported,
    "parsed": len(parsed),
    "stderr": err.getvalue(),
}))
"""


def run_probe(tmp_path: Path) -> dict[str, object]:
    """Explain in a fresh interpreter with its own cache folder; what it did, as JSON."""
    ticket = tmp_path / "ticket.json"
    ticket.write_text(json.dumps(TICKET), encoding="utf-8")
    stdout = run_fresh_python(
        ["-c", PROBE, str(ticket)], tmp_path, tmp_path / "cache", drop=("GUIDEPOST_", "PYDANTIC_")
    )
    result = json.loads(stdout)
    assert isinstance(result, dict)
    return result


def test_a_cached_explain_parses_no_yaml_and_imports_no_pydantic(tmp_path):
    fresh = run_probe(tmp_path)
    # A miss parses the YAML and validates it with pydantic (and fills the cache).
    assert fresh["imported"] == ["pydantic", "pydantic_core", "yaml"]
    cached = run_probe(tmp_path)
    assert (cached["code"], cached["imported"]) == (0, [])
    # Every template analysed when the cache was filled; none parsed once it is warm
    # (what each reads is cached, its compiled code is in Jinja's bytecode cache).
    templates = list((ROOT / "macros").glob("*/templates/*.j2"))
    assert int(str(fresh["parsed"])) > len(templates)
    assert cached["parsed"] == 0
    # Logging is set up on the first Python warning: still a masked JSON line, never bare text.
    (line,) = str(cached["stderr"]).splitlines()
    assert json.loads(line)["logger"] == "py.warnings"
    assert "9876" not in line
    # The same decision as the uncached path, in process.
    expected = run_explain(json.dumps(TICKET), ROOT / "macros", None, EXPLAIN_URL)
    assert cached["decision"] == fresh["decision"] == expected


@pytest.mark.parametrize("argv", [["explain"], ["explain", "-"], ["explain", "ticket.json"]])
def test_the_explain_only_parser_reads_explain_as_the_full_one(argv):
    full = build_parser().parse_args(argv)
    alone = build_parser(explain_only=True).parse_args(argv)
    assert vars(alone) == vars(full)


def test_the_explain_only_parser_knows_no_other_command(capsys):
    with pytest.raises(SystemExit) as exited:
        build_parser(explain_only=True).parse_args(["serve"])
    assert exited.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
