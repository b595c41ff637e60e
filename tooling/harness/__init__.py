"""Local "play Zendesk" harness: a host page that runs the real sidebar app and SDK.

`make run` starts it with `run_harness(backend_url, emulator_url, settings)`; tests use
`serve_harness(...)` (a context manager on free ports) or `create_harness_app(...)`.
"""

from tooling.harness.app import create_harness_app
from tooling.harness.server import RunningHarness, run_harness, serve_harness

__all__ = ["RunningHarness", "create_harness_app", "run_harness", "serve_harness"]
