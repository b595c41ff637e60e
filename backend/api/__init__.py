"""The HTTP API: FastAPI app, JWT auth, problem+json errors and dependencies."""
