"""RFC 9457 problem+json: every error the API answers with, and the handlers that build them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend.errors import (
    AuthError,
    DecisionChangedError,
    GuidepostError,
    InputError,
    RateLimitedError,
)
from backend.logs import bind_request

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://guidepost.dev/problems/"
# Tags of the preview body's two shapes; validation errors name fields without them.
SEMANTIC_TAG = "semantic"
ZENDESK_TAG = "zendesk"
_LOCATION_PARTS = frozenset({"body", "path", "query", "header", "cookie"})

_HTTP_SLUGS = {
    400: ("bad-request", "Bad request"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
}


# The largest request body read: an `explain`-shaped ticket is a few KiB at most.
MAX_BODY_BYTES = 64 * 1024
# Set in the ASGI scope by the body limit middleware when a streamed body passes it.
BODY_TOO_LARGE_FLAG = "guidepost.body_too_large"


class Problem(BaseModel):
    """An error answer (application/problem+json)."""

    type: str = Field(description="URI naming the kind of problem")
    title: str
    status: int
    detail: str
    field: str | None = Field(default=None, description="the offending field (422 only)")
    retry_after: int | None = Field(
        default=None, description="seconds to wait before retrying (503 only; as Retry-After)"
    )
    decision: dict[str, Any] | None = Field(
        default=None, description="the current decision (409 decision-changed only)"
    )


class ProblemResponse(JSONResponse):
    """A JSON response with the problem+json media type."""

    media_type = PROBLEM_MEDIA_TYPE


def build_problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    retry_after: int | None = None,
    decision: dict[str, Any] | None = None,
) -> ProblemResponse:
    """Build one problem+json response (the `field` key only when there is one)."""
    body = Problem(
        type=PROBLEM_BASE + slug,
        title=title,
        status=status,
        detail=detail,
        field=field,
        retry_after=retry_after,
        decision=decision,
    )
    bind_request(problem=slug)
    return ProblemResponse(
        body.model_dump(exclude_none=True), status_code=status, headers=headers or None
    )


def build_error_response(exc: GuidepostError) -> ProblemResponse:
    """Map a GuidepostError to its problem response, with the headers its status needs."""
    headers: dict[str, str] = {}
    if isinstance(exc, AuthError):
        headers["WWW-Authenticate"] = "Bearer"
    retry_after = None
    if isinstance(exc, RateLimitedError):
        # In the body too: Zendesk's proxy may not hand a failed request's headers to the app.
        retry_after = max(1, math.ceil(exc.retry_after))
        headers["Retry-After"] = str(retry_after)
    field = exc.field if isinstance(exc, InputError) else None
    decision = exc.decision if isinstance(exc, DecisionChangedError) else None
    return build_problem_response(
        exc.status, exc.slug, exc.title, exc.detail, field, headers, retry_after, decision
    )


def build_body_too_large_response(limit: int = MAX_BODY_BYTES) -> ProblemResponse:
    """The 413 answer for a request body over the limit."""
    slug, title = _HTTP_SLUGS[413]
    return build_problem_response(
        413, slug, title, f"the request body must not exceed {limit} bytes"
    )


def build_internal_error_response() -> ProblemResponse:
    """The 500 answer for an unexpected exception: no internals leak out."""
    return build_problem_response(
        500, "internal", "Internal error", "an unexpected error occurred; it has been logged"
    )


def _name_field(loc: Sequence[Any]) -> str:
    """Name a validation error's field: drop the body/path/query prefix, join the rest."""
    parts = [str(part) for part in loc]
    if parts and parts[0] in _LOCATION_PARTS:
        parts = parts[1:] or parts[:1]
    if parts[:1] in ([SEMANTIC_TAG], [ZENDESK_TAG]):
        parts = parts[1:] or ["body"]
    return ".".join(parts) or "body"


async def _handle_guidepost_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, GuidepostError)
    return build_error_response(exc)


async def _handle_validation_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    first = errors[0] if errors else {"loc": ("body",), "msg": "invalid request"}
    field = _name_field(first.get("loc", ("body",)))
    message = str(first.get("msg", "invalid value"))
    if first.get("type") == "json_invalid":
        field, message = "body", "invalid JSON"
    return build_problem_response(
        422, "invalid-input", "Invalid input", f"{field}: {message}", field
    )


async def _handle_http_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StarletteHTTPException)
    if request.scope.get(BODY_TOO_LARGE_FLAG):
        return build_body_too_large_response()
    if exc.status_code == 400:
        # FastAPI's only 400 is a body it cannot decode (not UTF-8, not JSON): a 422 here.
        return build_problem_response(
            422, "invalid-input", "Invalid input", "body: not valid JSON", "body"
        )
    slug, title = _HTTP_SLUGS.get(exc.status_code, ("http-error", "HTTP error"))
    detail = exc.detail if isinstance(exc.detail, str) else title
    headers = dict(exc.headers) if exc.headers else None
    return build_problem_response(exc.status_code, slug, title, detail, headers=headers)


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers that turn known errors into problem+json."""
    app.add_exception_handler(GuidepostError, _handle_guidepost_error)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_error)


def document_problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting problem+json answers for these statuses."""
    descriptions = {
        401: "Missing, expired, forged or misaddressed token (session-expired: reload the app)",
        403: "The agent may not see this ticket in Zendesk, or (apply) their Zendesk role "
        "may not edit tickets (forbidden)",
        404: "Unknown ticket",
        409: "The decision changed since it was shown (decision-changed, with `decision`), "
        "the branch no longer holds (branch-changed), or the ticket is closed (ticket-closed)",
        422: "Invalid input (names the field)",
        500: "Misconfiguration (e.g. no field map yet) or an unexpected error",
        502: "Zendesk failed or refused the request",
        503: "Zendesk rate-limits longer than the request may wait (see Retry-After)",
    }
    entries: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        entry: dict[str, Any] = {
            "model": Problem,
            "description": descriptions.get(status, "Error"),
        }
        if status == 401:
            entry["headers"] = {
                "WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}
            }
        if status == 503:
            entry["headers"] = {
                "Retry-After": {"schema": {"type": "string"}, "description": "seconds"}
            }
        entries[status] = entry
    return entries


def use_problem_media_type(schema: dict[str, Any]) -> dict[str, Any]:
    """Rewrite every error response of an OpenAPI document to application/problem+json."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                content = response.get("content")
                if not str(status).startswith(("4", "5")) or not content:
                    continue
                if "application/json" in content:
                    content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
    return schema
