"""Local Zendesk emulator: a stdlib HTTP server speaking a Zendesk Support API subset.

``EmulatorStore`` holds the state, ``EmulatorServer`` serves it over real HTTP,
``serve_forever`` runs it in the foreground and ``load_seed_articles`` loads the
Help Center seeds. Pure stdlib; imports nothing else from the project.
"""

from backend.emulator.articles import load_seed_articles
from backend.emulator.server import EmulatorServer, serve_forever
from backend.emulator.store import ApiError, EmulatorStore

__all__ = ["ApiError", "EmulatorServer", "EmulatorStore", "load_seed_articles", "serve_forever"]
