"""`GET /v1/guides/{guide_id}/graph.svg`: the decision table, the ticket's branch highlighted."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from backend.api.deps import CatalogDep, require_agent
from backend.api.problems import document_problems
from backend.domain.graph import guide_svg
from backend.errors import InputError, NotFoundError

router = APIRouter(tags=["guides"], dependencies=[Depends(require_agent)])


@router.get(
    "/v1/guides/{guide_id}/graph.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}, **document_problems(401, 404, 422, 500)},
)
async def guide_graph(
    guide_id: str,
    catalog: CatalogDep,
    branch: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The guide's flowchart as SVG; the rows choosing `branch` are drawn thicker."""
    guide = catalog.guides.get(guide_id)
    if guide is None:
        raise NotFoundError(f"unknown guide {guide_id!r}")
    if branch is not None and branch not in guide.branch_ids():
        raise InputError(f"branch: {guide_id} has no branch {branch!r}")
    svg = guide_svg(guide, catalog.labels, highlight_branch=branch)
    # The SVG holds no script and every text is escaped; nosniff keeps it an image.
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=300"}
    return Response(svg, media_type="image/svg+xml", headers=headers)
