"""Scheduling: intervals, the jittered loop, the single-instance lock, and the CLI wiring."""

from __future__ import annotations

import argparse
import io
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from macro_helpers import Zendesk

from backend.cli import main
from backend.errors import InputError, ZendeskUnavailableError
from backend.macro_sync.commands import sync_command
from backend.macro_sync.lease import LEASE_TITLE
from backend.macro_sync.schedule import (
    LockHeldError,
    hold_single_instance,
    parse_interval,
    run_every,
)


def _args(**overrides: object) -> argparse.Namespace:
    """Arguments as `guidepost macros sync` parses them."""
    values: dict[str, object] = {
        "dry_run": False,
        "prune": False,
        "every": None,
        "lock_file": None,
    }
    values.update(overrides)
    return argparse.Namespace(**values)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("1h", 3600), ("2h", 7200), ("1h30m", 5400), (" 1H ", 3600)],
)
def test_intervals(text: str, seconds: float) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["", "1", "h", "1x", "0s", "-1h", "1h 30"])
def test_bad_intervals(text: str) -> None:
    with pytest.raises(InputError, match="--every"):
        parse_interval(text)


def test_loop_runs_n_times_with_jitter_and_survives_failures() -> None:
    outcomes: list[object] = [0, ZendeskUnavailableError("down"), RuntimeError("bug"), 3]
    runs: list[int] = []
    sleeps: list[float] = []

    def run_once() -> int:
        runs.append(len(runs))
        outcome = outcomes[len(runs) - 1]
        if isinstance(outcome, Exception):
            raise outcome
        assert isinstance(outcome, int)
        return outcome

    log = io.StringIO()
    code = run_every(
        run_once, 3600, log=log, sleep=sleeps.append, rng=random.Random(4), max_iterations=4
    )
    assert code == 3
    assert len(runs) == 4
    assert len(sleeps) == 3
    assert all(3240 <= pause <= 3960 for pause in sleeps)
    assert len(set(sleeps)) == 3  # add_jitter, not a fixed beat
    text = log.getvalue()
    assert "run 2 failed: zendesk-unavailable: down" in text
    assert "run 3 crashed: RuntimeError: bug" in text


def test_second_scheduler_is_refused_at_once(tmp_path: Path) -> None:
    lock = tmp_path / "sync.lock"
    with hold_single_instance(lock):
        with pytest.raises(LockHeldError), hold_single_instance(lock):
            pass
        err = io.StringIO()
        code = sync_command(_args(every="1h", lock_file=str(lock)), None, io.StringIO(), err)  # type: ignore[arg-type]
        assert code == 1
        assert f"another macro sync or scheduler holds {lock}; not starting" in err.getvalue()
    with hold_single_instance(lock):  # released: the next one may start
        pass


def test_lock_held_by_another_process_refuses(tmp_path: Path) -> None:
    lock = tmp_path / "sync.lock"
    script = (
        "import sys, time; from pathlib import Path\n"
        "from backend.macro_sync.schedule import hold_single_instance\n"
        "with hold_single_instance(Path(sys.argv[1])):\n"
        "    print('held', flush=True); time.sleep(30)\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", script, str(lock)], stdout=subprocess.PIPE, text=True
    ) as holder:
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "held"
            err = io.StringIO()
            code = sync_command(_args(lock_file=str(lock)), None, io.StringIO(), err)  # type: ignore[arg-type]
            assert code == 1
            assert "holds" in err.getvalue()
        finally:
            holder.kill()
    with hold_single_instance(lock):  # the kernel dropped the dead holder's lock
        pass


def test_scheduled_sync_loops_and_a_failed_run_does_not_stop_it(
    zendesk: Zendesk, tmp_path: Path
) -> None:
    # The first run cannot list the macros (500 on every attempt); the next ones can.
    zendesk.store.set_faults(
        [{"kind": "status", "status": 500, "method": "GET", "path": "^/api/v2/macros", "times": 3}]
    )
    sleeps: list[float] = []
    out, err = io.StringIO(), io.StringIO()
    code = sync_command(
        _args(every="90s", lock_file=str(tmp_path / "sync.lock")),
        zendesk.settings,
        out,
        err,
        gateway_factory=zendesk.factory(),
        sleep=sleeps.append,
        max_iterations=3,
    )
    assert code == 0
    summaries = [line for line in out.getvalue().splitlines() if " — " in line or "FAILED" in line]
    assert summaries[0].startswith("macros sync: FAILED before any write: could not list")
    assert summaries[1].startswith("macros sync: OK — create 158;")
    assert summaries[2].startswith("macros sync: OK — no writes; 158 unchanged")
    assert len(sleeps) == 2
    assert all(81 <= pause <= 99 for pause in sleeps)
    assert "run 1 exited 1" in err.getvalue()
    # 158 creates, and per run the lease marker's create and delete.
    assert zendesk.store.counters()["writes"] == 158 + 3 * 2
    assert not [m for m in zendesk.store.macros() if m["title"] == LEASE_TITLE]


def test_dry_run_writes_nothing(zendesk: Zendesk) -> None:
    out = io.StringIO()
    code = sync_command(
        _args(dry_run=True), zendesk.settings, out, io.StringIO(), gateway_factory=zendesk.factory()
    )
    assert code == 0
    assert "macros plan: create 158" in out.getvalue()
    assert zendesk.store.counters()["writes"] == 0


def test_cli_end_to_end(zendesk: Zendesk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = zendesk.settings
    monkeypatch.setenv("GUIDEPOST_ZENDESK_URL", settings.zendesk_url)
    monkeypatch.setenv("GUIDEPOST_ZENDESK_TOKEN", settings.zendesk_token.get_secret_value())
    monkeypatch.setenv("GUIDEPOST_FIELD_MAP", str(settings.field_map))
    monkeypatch.setenv("GUIDEPOST_ARTICLE_IDS", json.dumps(settings.article_ids))
    lock = str(tmp_path / "cli.lock")
    out, err = io.StringIO(), io.StringIO()
    assert main(["macros", "sync", "--lock-file", lock], out, err) == 0, err.getvalue()
    assert "macros sync: OK — create 158" in out.getvalue()
    out = io.StringIO()
    assert main(["macros", "plan", "--json"], out, io.StringIO()) == 0
    counts = json.loads(out.getvalue())
    assert {k: counts[k] for k in ("create", "update", "deactivate", "unchanged")} == {
        "create": 0,
        "update": 0,
        "deactivate": 0,
        "unchanged": 158,
    }
    err = io.StringIO()
    assert main(["macros", "sync", "--every", "soon", "--lock-file", lock], out, err) == 2
    assert "--every 'soon'" in err.getvalue()
