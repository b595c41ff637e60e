"""Sessions: Zendesk vouches for the agent (signed app token), Guidepost mints its own token.

- `POST /app/sidebar` is the app's signed URL: Zendesk posts the form field `token`
  (ZAF JWT, RS256) when it loads the sidebar; we verify it, mint a session and redirect
  to the app page with the session in the URL fragment (never sent to a server).
- `POST /v1/session` does the same exchange as JSON, `POST /v1/session/refresh` renews a
  still-valid session until its maximum age.
"""

from __future__ import annotations

import time
from typing import Annotated
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Body, Request
from fastapi.responses import RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials

from backend.api.auth import Session, issue_session, refresh_session, verify_zendesk_token
from backend.api.deps import SettingsDep, bearer_scheme
from backend.api.problems import document_problems
from backend.api.schemas import SessionRequest, SessionResponse
from backend.errors import AuthError, InputError
from backend.logs import bind_request

router = APIRouter(tags=["session"])
# Query parameters Zendesk adds to the app URL that the app page needs (ZAF handshake).
PASSED_QUERY = ("origin", "app_guid")


def _answer(session: Session) -> SessionResponse:
    bind_request(agent_id=session.agent.user_id)
    return SessionResponse(
        session_token=session.token,
        expires_at=session.expires_at,
        expires_in=max(0, session.expires_at - int(time.time())),
        user_id=session.agent.user_id,
    )


@router.post(
    "/v1/session",
    response_model=SessionResponse,
    # The body limit (413) counts bytes: 8,192 characters JSON-escaped (up to 12 bytes each)
    # pass the token's schema but not the limit.
    responses=document_problems(401, 413, 422, 500),
)
async def create_session(
    body: Annotated[SessionRequest, Body()], settings: SettingsDep
) -> SessionResponse:
    """Exchange Zendesk's signed app token for a Guidepost session token."""
    agent = verify_zendesk_token(body.token, settings)
    return _answer(issue_session(agent, settings))


@router.post(
    "/v1/session/refresh", response_model=SessionResponse, responses=document_problems(401, 500)
)
async def renew_session(request: Request, settings: SettingsDep) -> SessionResponse:
    """Renew a still-valid session (bounded by the maximum age since Zendesk vouched)."""
    credentials: HTTPAuthorizationCredentials | None = await bearer_scheme(request)
    if credentials is None:
        raise AuthError("missing bearer token")
    return _answer(refresh_session(credentials.credentials, settings))


@router.post("/app/sidebar", status_code=303, include_in_schema=False)
async def open_sidebar(request: Request, settings: SettingsDep) -> RedirectResponse:
    """The signed URL Zendesk posts to: verify, mint a session, redirect to the app page."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"), max_num_fields=20)
    tokens = form.get("token") or []
    if len(tokens) != 1:
        raise InputError("token: Zendesk's signed app token is required", field="token")
    agent = verify_zendesk_token(tokens[0], settings)
    session = issue_session(agent, settings)
    query = urlencode([(k, v) for k in PASSED_QUERY for v in request.query_params.getlist(k)])
    # gp_expires_in: the lifetime, so the app counts it on its own clock (a PC clock that is
    # off would misread the absolute gp_expires, kept for older app versions).
    answer = _answer(session)
    fragment = urlencode(
        {
            "gp_session": session.token,
            "gp_expires": session.expires_at,
            "gp_expires_in": answer.expires_in,
        }
    )
    target = settings.app_page_url + (f"?{query}" if query else "") + f"#{fragment}"
    return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
