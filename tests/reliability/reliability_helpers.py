"""Helpers of the reliability suite: a fast loopback stack, log capture, figures."""

from __future__ import annotations

import io
import logging
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from backend.demo import DEMO_CASES
from backend.settings import REPO_ROOT
from tooling import testing
from tooling.testing import Stack, run_stack

ARTIFACTS = REPO_ROOT / "test-artifacts"
FIGURES_PATH = ARTIFACTS / "reliability.json"
LOG_PATH = ARTIFACTS / "reliability-logs.txt"
TICKET_PATH = r"^/api/v2/tickets/\d+(\.json)?$"

# Records one item's figures for docs/RELIABILITY.md (the `figures` fixture).
Recorder = Callable[[str, Mapping[str, Any]], None]


def _bind_tcp_socket(host: str) -> socket.socket:
    """`tooling.testing._bind_free_socket`, but with proto=IPPROTO_TCP.

    asyncio only sets TCP_NODELAY on accepted sockets whose listening socket says
    proto == IPPROTO_TCP; `socket.socket(AF_INET, SOCK_STREAM)` says 0, so every
    response of the test backend waits ~40 ms for a delayed ACK (reported as a finding).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


@contextmanager
def start_stack(tmp_path: Path, **overrides: Any) -> Iterator[Stack]:
    """Emulator + fields + demo tickets + backend; `reset()` returns to the demo state."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(testing, "_bind_free_socket", _bind_tcp_socket)
        with run_stack(tmp_path, settings_overrides=overrides or None) as stack:
            stack.emulator.store.mark_initial()
            yield stack


def demo_ids(stack: Stack, *, applicable: bool = False) -> list[int]:
    """Ids of the demo tickets (with `applicable`, only those a guide applies to)."""
    return [
        ident
        for case, ident in zip(DEMO_CASES, stack.ticket_ids, strict=True)
        if not applicable or (case.guide is not None and case.branch != "none")
    ]


class LogCapture:
    """Every log line written while reliability tests run (structlog and stdlib logging)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer = io.StringIO()

    def write(self, text: str) -> int:
        """Append text (structlog's PrintLogger writes here)."""
        with self._lock:
            return self._buffer.write(text)

    def flush(self) -> None:
        """Nothing to flush."""

    def lines(self) -> list[str]:
        """The captured lines so far."""
        with self._lock:
            return [line for line in self._buffer.getvalue().splitlines() if line.strip()]

    def dump(self, path: Path) -> None:
        """Write the captured lines to a file (test-artifacts) for inspection."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            path.write_text(self._buffer.getvalue(), encoding="utf-8")


# The tests' own HTTP clients: their request lines quote what the tests send on purpose.
CLIENT_LOGGERS = ("httpx", "httpcore")


class CaptureHandler(logging.Handler):
    """A stdlib logging handler that formats records (tracebacks included) into a capture.

    Records of the tests' HTTP clients (httpx) are left out: the backend never uses
    httpx, and those lines quote the attack URLs the tests build themselves.
    """

    def __init__(self, capture: LogCapture) -> None:
        super().__init__(level=logging.DEBUG)
        self.capture = capture
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        """Format and keep one record."""
        if record.name.split(".")[0] in CLIENT_LOGGERS:
            return
        try:
            self.capture.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)
