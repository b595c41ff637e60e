"""`GET /healthz`: liveness, no auth, no Zendesk call."""

from __future__ import annotations

from fastapi import APIRouter

from backend.api.schemas import Health

router = APIRouter(tags=["ops"])


@router.get("/healthz", response_model=Health)
async def read_health() -> Health:
    """Answer liveness (no auth, no Zendesk call)."""
    return Health()
