"""The processes of the HTTP sections: the timed emulator and the backend under uvicorn."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal

import httpx
from pydantic import SecretStr

from backend.settings import REPO_ROOT, Settings
from tooling.bench.common import (
    PYTHON,
    child_pids,
    cpu_seconds,
    free_port,
    stop_process,
    wait_for_http,
)
from tooling.bench.server import PER_REQUEST_GATEWAY_ENV
from tooling.harness.proxy import ZendeskSigner

BENCH_SHARED_SECRET = "bench-shared-secret-0123456789"  # noqa: S105 (local bench only)
BENCH_SESSION_SECRET = "bench-session-secret-0123456789-abcdefghij"  # noqa: S105 (local bench only)
BENCH_ZENDESK_TOKEN = "emulator-bench-token"  # noqa: S105 (the emulator accepts any)


class EmulatorProcess:
    """`python -m tooling.bench.emulator` as a child process, driven over HTTP and stdin."""

    def __init__(self, workdir: Path) -> None:
        self.field_map_path = workdir / "field_map.json"
        self._log = (workdir / "emulator.log").open("w", encoding="utf-8")
        self.process = subprocess.Popen(  # noqa: S603 (our own module)
            [PYTHON, "-m", "tooling.bench.emulator", "--field-map", str(self.field_map_path)],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        line = self._stdout.readline()
        if not line:
            stop_process(self.process)
            raise RuntimeError(f"the emulator did not start (see {workdir / 'emulator.log'})")
        ready = json.loads(line)
        self.url: str = ready["url"]
        self.ticket_ids: list[int] = [int(i) for i in ready["ticket_ids"]]
        self.field_map: dict[str, int] = {
            str(k): int(v)
            for k, v in json.loads(self.field_map_path.read_text(encoding="utf-8")).items()
        }
        self.http = httpx.Client(base_url=self.url, timeout=30.0)

    @property
    def _stdout(self) -> IO[str]:
        assert self.process.stdout is not None
        return self.process.stdout

    @property
    def _stdin(self) -> IO[str]:
        assert self.process.stdin is not None
        return self.process.stdin

    def counters(self) -> dict[str, Any]:
        """The emulator's request counters (total, by_route, writes, …)."""
        data: dict[str, Any] = self.http.get("/__emulator/counters").json()
        return data

    def reset_counters(self) -> None:
        """Zero the request counters."""
        self.http.post("/__emulator/counters/reset").raise_for_status()

    def set_latency(self, milliseconds: int) -> None:
        """Inject `milliseconds` of latency into every API request (0 = none)."""
        if milliseconds <= 0:
            self.http.delete("/__emulator/faults").raise_for_status()
            return
        rule = {"kind": "latency", "ms": milliseconds, "method": "*", "path": ".*"}
        self.http.post("/__emulator/faults", json={"faults": [rule]}).raise_for_status()

    def api_headers(self) -> dict[str, str]:
        """Basic auth as the emulator accepts it."""
        return {"Authorization": "Bearer " + BENCH_ZENDESK_TOKEN}

    def close(self) -> None:
        """Stop the emulator."""
        self.http.close()
        if self.process.poll() is None:
            try:
                self._stdin.write("quit\n")
                self._stdin.flush()
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        stop_process(self.process)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        self._log.close()

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def backend_settings(emulator: EmulatorProcess) -> Settings:
    """The settings the backend process runs with (also used to mint tokens)."""
    return Settings(
        _env_file=None,
        zendesk_url=emulator.url,
        zendesk_token=SecretStr(BENCH_ZENDESK_TOKEN),
        shared_secret=SecretStr(BENCH_SHARED_SECRET),
        session_secret=SecretStr(BENCH_SESSION_SECRET),
        zaf_public_key=ZendeskSigner.process_public_pem(),
        zaf_installation_id=ZendeskSigner.DEFAULT_INSTALLATION,
        field_map=emulator.field_map_path,
    )


def backend_env(emulator: EmulatorProcess) -> dict[str, str]:
    """GUIDEPOST_* variables pointing the backend at the emulator."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUIDEPOST_")}
    env.update(
        {
            "GUIDEPOST_ZENDESK_URL": emulator.url,
            "GUIDEPOST_ZENDESK_TOKEN": BENCH_ZENDESK_TOKEN,
            "GUIDEPOST_SHARED_SECRET": BENCH_SHARED_SECRET,
            "GUIDEPOST_SESSION_SECRET": BENCH_SESSION_SECRET,
            "GUIDEPOST_ZAF_PUBLIC_KEY": ZendeskSigner.process_public_pem(),
            "GUIDEPOST_ZAF_INSTALLATION_ID": str(ZendeskSigner.DEFAULT_INSTALLATION),
            "GUIDEPOST_FIELD_MAP": str(emulator.field_map_path),
            "GUIDEPOST_LOG_LEVEL": "INFO",
        }
    )
    return env


# timed: production app + stopwatch; plain: `guidepost serve` itself; per_request: the
# what-if of the old code, a new gateway per request (see tooling.bench.server).
Variant = Literal["timed", "plain", "per_request"]


class BackendProcess:
    """The backend under uvicorn in a child process (see `Variant`)."""

    def __init__(
        self,
        emulator: EmulatorProcess,
        *,
        workers: int = 1,
        variant: Variant = "timed",
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.variant = variant
        env = backend_env(emulator)
        if variant == "per_request":
            env[PER_REQUEST_GATEWAY_ENV] = "1"
        env.update(extra_env or {})
        if variant == "plain":
            command = [PYTHON, "-m", "backend", "serve", "--port", str(self.port)]
        else:
            command = [
                PYTHON,
                "-m",
                "tooling.bench.server",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
            ]
        # The access log (one JSON line per request) is written as in production, unread.
        self.process = subprocess.Popen(  # noqa: S603 (our own module)
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_http(self.url + "/healthz", self.process)
            if workers > 1:
                # Every worker must be up, not only the first one to accept.
                time.sleep(1.0)
        except BaseException:
            stop_process(self.process)
            raise

    def cpu_seconds(self) -> float:
        """CPU seconds used so far by uvicorn and every worker process."""
        pids = [self.process.pid, *child_pids(self.process.pid)]
        return sum(cpu_seconds(pid) for pid in pids)

    def close(self) -> None:
        """Stop uvicorn (and its workers)."""
        stop_process(self.process, timeout=15)

    def __enter__(self) -> BackendProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
