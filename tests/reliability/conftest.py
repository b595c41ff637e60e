"""Fixtures of the reliability suite: log capture, recorded figures, the generated report."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import structlog
from reliability_helpers import FIGURES_PATH, LOG_PATH, CaptureHandler, LogCapture, Recorder

from backend.logs import configure_logging
from tooling.reliability_report import record_figures, write_report

HERE = Path(__file__).resolve().parent
PRIVACY_TEST = HERE / "test_privacy.py"
# Loggers that do not propagate to the root logger (uvicorn configures its own).
EXTRA_LOGGERS = ("uvicorn", "uvicorn.access")

_CAPTURE = LogCapture()
_STATE: dict[str, bool] = {"recorded": False}


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Run the privacy scan after every other reliability test (it reads their logs)."""
    ours = [i for i, item in enumerate(items) if Path(str(item.path)).parent == HERE]
    privacy = [item for item in items if Path(str(item.path)) == PRIVACY_TEST]
    if not ours or not privacy:
        return
    last = max(ours)
    rest = [item for item in items[: last + 1] if item not in privacy]
    items[:] = rest + privacy + items[last + 1 :]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write docs/RELIABILITY.md from the figures this session recorded."""
    if _STATE["recorded"]:
        write_report(FIGURES_PATH)
        _CAPTURE.dump(LOG_PATH)


@pytest.fixture(scope="session")
def log_capture() -> LogCapture:
    """Every log line written while reliability tests ran."""
    return _CAPTURE


@pytest.fixture(scope="module", autouse=True)
def _capture_logs(log_capture: LogCapture) -> Iterator[None]:
    """Route structlog and stdlib logging (INFO and up) into the capture, per test module.

    Module scope: set up before the module's stack, so its start and stop are captured too.
    """
    was_configured = structlog.is_configured()
    saved = structlog.get_config()
    configure_logging("INFO", stream=log_capture)  # type: ignore[arg-type]
    handler = CaptureHandler(log_capture)
    root = logging.getLogger()
    saved_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    extra = [logging.getLogger(name) for name in EXTRA_LOGGERS]
    for logger in extra:
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger in extra:
            logger.removeHandler(handler)
        root.removeHandler(handler)
        root.setLevel(saved_level)
        if was_configured:
            structlog.configure(**saved)
        else:
            structlog.reset_defaults()


@pytest.fixture(scope="session")
def figures() -> Recorder:
    """Record one item's figures for docs/RELIABILITY.md."""

    def record(key: str, values: Mapping[str, Any]) -> None:
        record_figures(FIGURES_PATH, key, values)
        _STATE["recorded"] = True

    return record
