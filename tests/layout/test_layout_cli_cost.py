"""`guidepost explain` imports no settings unless GUIDEPOST_* or .env could change them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from backend.cli import EXPLAIN_DEFAULTS, explain_settings
from backend.settings import Settings

PROBE = """
import io, sys
from backend.cli import main
out = io.StringIO()
code = main(["explain", sys.argv[1]], out, io.StringIO())
print(code, json.loads(out.getvalue())["guide"], "pydantic_settings" in sys.modules,
      "backend.settings" in sys.modules)
"""


def run_probe(tmp_path: Path, env: dict[str, str]) -> list[str]:
    """Run explain in a fresh interpreter; report exit code, guide, settings imported."""
    ticket = tmp_path / "ticket.json"
    ticket.write_text(json.dumps({"fields": {"consult_type": "driver_force_rerun_own_normal"}}))
    result = subprocess.run(
        [sys.executable, "-c", "import json\n" + PROBE, str(ticket)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return result.stdout.split()


def clean_env() -> dict[str, str]:
    """This environment without any GUIDEPOST_* variable."""
    return {k: v for k, v in os.environ.items() if not k.startswith("GUIDEPOST_")}


def test_explain_defaults_equal_the_settings_defaults(monkeypatch) -> None:
    for name in list(os.environ):
        if name.startswith("GUIDEPOST_"):
            monkeypatch.delenv(name)
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (
        defaults.guides_dir,
        defaults.field_map,
        defaults.admin_call_url,
    ) == EXPLAIN_DEFAULTS


def test_explain_reads_no_settings_when_nothing_could_change_them(tmp_path: Path) -> None:
    assert run_probe(tmp_path, clean_env()) == ["0", "force_reconnect", "False", "False"]


def test_explain_reads_settings_when_a_variable_is_set(tmp_path: Path, monkeypatch) -> None:
    env = {**clean_env(), "GUIDEPOST_ADMIN_CALL_URL": "https://admin.test/c/{call_id}"}
    assert run_probe(tmp_path, env) == ["0", "force_reconnect", "True", "True"]
    monkeypatch.setenv("GUIDEPOST_ADMIN_CALL_URL", "https://admin.test/c/{call_id}")
    assert explain_settings()[2] == "https://admin.test/c/{call_id}"


def test_explain_reads_settings_when_a_dotenv_file_exists(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / ".env").write_text("GUIDEPOST_ADMIN_CALL_URL=https://env.test/{call_id}\n")
    assert run_probe(tmp_path, clean_env())[2:] == ["True", "True"]
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("GUIDEPOST_"):
            monkeypatch.delenv(name)
    assert explain_settings()[2] == "https://env.test/{call_id}"
