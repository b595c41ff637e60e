"""The local "play Zendesk" harness: a host page around the real sidebar app.

Routes (all on one ASGI app; `run_harness` serves it on two ports so the app's iframe
has its own origin, as in Zendesk):

- `/`                        the host page (static/host.html): ticket list, ticket view
                             with Guidepost fields, comments, composer, and the app iframe;
                             its script plays Zendesk's side of the ZAF postMessage protocol
- `/app/<path>`              the app package's files (the map `build_app_zip` zips), so
                             `/app/assets/iframe.html` is the manifest's location url
- `SDK_PATH`                 the ZAF SDK from npm (`make run` swaps the CDN URL for it)
- `POST /proxy`              Zendesk's request proxy: secure settings, JWT, forwarding
- `SIGNED_APP_PATH`          Zendesk's signed-URL load; `?app_from=backend` posts to the
                             backend's own `/app/sidebar` and loads the page it serves
- `/harness/config.json`     what the host page needs (app url, settings, user)
- `POST /harness/settings`   change the installation settings (backend_url, secret…)
- `/harness/proxy-log`       what the proxy forwarded (claims, never the secret)
- `/harness/api/...`         the emulator's tickets, fields and comments; the backend's
                             /v1/guides (labels for the ticket view)
"""

from __future__ import annotations

import json
import mimetypes
import ssl
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from backend.api.auth import issue_session
from backend.authz import Agent
from backend.settings import Settings
from tooling.app_package import APP_DIR, ZAF_SDK_CDN_URL, app_files, manifest_path
from tooling.harness.proxy import ProxyError, ZendeskProxy, ZendeskSigner
from tooling.harness.sdk import SDK_DIR, SDK_PATH, bundle_zaf_sdk

__all__ = ["HarnessState", "create_harness_app"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_FILES = {"host.js": "text/javascript", "host.css": "text/css"}
SECRET_PLACEHOLDER = "{{setting.shared_secret}}"  # noqa: S105 - a placeholder, not a secret
APP_PAGE = "assets/iframe.html"
# The app's signed URL in the harness (Zendesk signs, the backend mints the session).
SIGNED_APP_PATH = "/harness/signed-app"
# The emulator's agent: the Zendesk user the harness signs app tokens for.
HARNESS_AGENT_ID = 1_001_001
EDITABLE_TICKET_KEYS = frozenset({"custom_fields", "tags"})
NO_STORE = {"Cache-Control": "no-store"}
# The app may fetch only its own assets; every backend call must go through
# client.request (the proxy), so a direct fetch/XHR to the backend fails here.
APP_CSP = (
    "default-src 'self'; script-src 'self' https://static.zdassets.com; "
    "style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; frame-ancestors http://127.0.0.1:* http://localhost:*"
)


@dataclass
class HarnessState:
    """Everything the harness routes share."""

    backend_url: str
    emulator_url: str
    settings: Settings
    app_dir: Path
    app_origin: str | None
    serve_sdk_locally: bool
    locale: str
    install: dict[str, str] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    proxy_log: list[dict[str, Any]] = field(default_factory=list)

    @property
    def secure_names(self) -> frozenset[str]:
        """Names of the manifest's secure parameters."""
        return frozenset(
            str(p.get("name")) for p in self.manifest.get("parameters", []) if p.get("secure")
        )

    def public_settings(self) -> dict[str, str]:
        """The settings the app sees in `metadata.settings` (secure ones as placeholders)."""
        return {
            name: (f"{{{{setting.{name}}}}}" if name in self.secure_names else value)
            for name, value in self.install.items()
        }

    def proxy(self) -> ZendeskProxy:
        """A proxy bound to the current installation settings."""
        return ZendeskProxy(
            settings=dict(self.install),
            secure_names=self.secure_names,
            domain_whitelist=list(self.manifest.get("domainWhitelist", [])),
            zendesk_url=self.emulator_url,
            zendesk_auth=self.emulator_auth(),
        )

    def emulator_auth(self) -> tuple[str, str]:
        """Basic credentials for the emulator (any well-formed pair is accepted)."""
        token = self.settings.zendesk_token.get_secret_value() or "harness"
        return (f"{self.settings.zendesk_email}/token", token)

    def backend_token(self) -> str:
        """A session for the harness's own /v1/guides call (the ticket view's labels)."""
        agent = Agent(user_id=HARNESS_AGENT_ID, account=self.settings.zaf_issuer)
        return issue_session(agent, self.settings).token

    def signer(self) -> ZendeskSigner:
        """Zendesk's app signer for this installation (the process's test key)."""
        return ZendeskSigner(self.settings.zendesk_url, self.settings.zaf_installation_id)


@lru_cache(maxsize=1)
def _tls() -> ssl.SSLContext:
    """One verifying TLS context for every outgoing client (building one costs ~0.1 s)."""
    return ssl.create_default_context()


def _client(**kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(verify=_tls(), **kwargs)


def _json_response(status: int, content: bytes) -> Response:
    return Response(content, status_code=status, media_type="application/json", headers=NO_STORE)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=NO_STORE)


def create_harness_app(
    backend_url: str,
    emulator_url: str,
    settings: Settings,
    *,
    app_origin: str | None = None,
    serve_sdk_locally: bool = True,
    app_dir: Path = APP_DIR,
    locale: str = "ko",
) -> Starlette:
    """Build the harness ASGI app.

    `backend_url`: the Guidepost backend (becomes the app's `backend_url` setting).
    `emulator_url`: the Zendesk emulator whose tickets the host page shows.
    `settings`: the backend's settings (the shared secret is the app's secure setting;
    `jwt_issuer`/`jwt_audience` its non-secret settings; the Zendesk email/token log
    in to the emulator).
    `app_origin`: where the host page loads the app iframe from (e.g. the second port
    `run_harness` serves); None = the host page's own origin.
    `serve_sdk_locally`: serve iframe.html with the CDN SDK URL swapped for the npm copy
    served at the same path on the app's origin (`make run`). Browser tests pass False
    and route the CDN URL to the npm copy with Playwright instead, so the HTML under test
    is byte-for-byte the shipped one.
    """
    manifest = json.loads(manifest_path(app_dir).read_text(encoding="utf-8"))
    state = HarnessState(
        backend_url=backend_url.rstrip("/"),
        emulator_url=emulator_url.rstrip("/"),
        settings=settings,
        app_dir=app_dir,
        app_origin=app_origin.rstrip("/") if app_origin else None,
        serve_sdk_locally=serve_sdk_locally,
        locale=locale,
        manifest=manifest,
        install={
            "backend_url": backend_url.rstrip("/"),
            "shared_secret": settings.shared_secret.get_secret_value(),
            "jwt_issuer": settings.jwt_issuer,
            "jwt_audience": settings.jwt_audience,
        },
    )

    async def host_page(request: Request) -> Response:
        return FileResponse(STATIC_DIR / "host.html", media_type="text/html", headers=NO_STORE)

    async def static_file(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC_FILES:
            return _error(404, "not found")
        return FileResponse(STATIC_DIR / name, media_type=STATIC_FILES[name], headers=NO_STORE)

    async def vendor_css(request: Request) -> Response:
        source = app_files(state.app_dir).get(f"assets/vendor/{request.path_params['name']}")
        if source is None:
            return _error(404, "not found (run npm ci in zendesk_app)")
        return FileResponse(source, media_type="text/css", headers=NO_STORE)

    async def app_file(request: Request) -> Response:
        path = request.path_params["path"]
        source = app_files(state.app_dir).get(path)
        if source is None:
            return _error(404, f"{path} is not part of the app package")
        if path == APP_PAGE:
            html = source.read_text(encoding="utf-8")
            if state.serve_sdk_locally:
                # make run: load the npm copy of the SDK from this origin, same path as the CDN
                html = html.replace(ZAF_SDK_CDN_URL, SDK_PATH)
            return Response(
                html,
                media_type="text/html",
                headers={**NO_STORE, "Content-Security-Policy": APP_CSP},
            )
        media_type = mimetypes.guess_type(source.name)[0] or "application/octet-stream"
        if source.suffix == ".js":
            media_type = "text/javascript"
        return FileResponse(source, media_type=media_type, headers=NO_STORE)

    async def sdk(request: Request) -> Response:
        try:
            code = bundle_zaf_sdk(state.app_dir / "node_modules" / SDK_DIR.name)
        except FileNotFoundError as exc:
            return _error(404, str(exc))
        return Response(code, media_type="text/javascript", headers=NO_STORE)

    async def signed_app(request: Request) -> Response:
        # Zendesk's part of a signed URL: sign the agent's app token, hand it to the
        # backend's session exchange, then load the app page with the session in the
        # fragment — what the backend's POST /app/sidebar entry answers in production.
        page = f"/app/{APP_PAGE}"
        from_backend = request.query_params.get("app_from") == "backend"
        query = urlencode(
            [(k, v) for k, v in request.query_params.multi_items() if k != "app_from"]
        )
        target = page + (f"?{query}" if query else "")
        token = state.signer().sign(HARNESS_AGENT_ID)
        if from_backend:
            return await via_backend_entry(token, query)
        try:
            async with _client() as client:
                answer = await client.post(
                    state.backend_url + "/v1/session", json={"token": token}, timeout=15.0
                )
        except httpx.HTTPError:
            return RedirectResponse(target, status_code=303, headers=NO_STORE)
        if answer.status_code != 200:
            return RedirectResponse(target, status_code=303, headers=NO_STORE)
        session = answer.json()
        fragment = urlencode(
            {
                "gp_session": session["session_token"],
                "gp_expires": session["expires_at"],
                "gp_expires_in": session["expires_in"],
            }
        )
        return RedirectResponse(f"{target}#{fragment}", status_code=303, headers=NO_STORE)

    async def via_backend_entry(token: str, query: str) -> Response:
        # `?app_from=backend`: exactly the production path — Zendesk posts its signed token
        # to the backend's POST /app/sidebar, which answers 303 to the page it serves itself
        # (/app/assets/…, the backend's own files, not this harness's file map).
        entry = state.backend_url + "/app/sidebar" + (f"?{query}" if query else "")
        try:
            async with _client() as client:
                answer = await client.post(entry, data={"token": token}, timeout=15.0)
        except httpx.HTTPError as exc:
            return _error(502, f"backend unreachable: {exc}")
        location = answer.headers.get("location")
        if answer.status_code != 303 or not location:
            return _json_response(answer.status_code, answer.content)
        target = location if "://" in location else state.backend_url + location
        return RedirectResponse(target, status_code=303, headers=NO_STORE)

    async def config(request: Request) -> Response:
        return JSONResponse(
            {
                "app_url": (state.app_origin or "") + SIGNED_APP_PATH,
                "app_name": manifest.get("name", "app"),
                "app_version": manifest.get("version", ""),
                "settings": state.public_settings(),
                "locale": state.locale,
                "emulator_url": state.emulator_url,
                "backend_url": state.backend_url,
            },
            headers=NO_STORE,
        )

    async def update_settings(request: Request) -> Response:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error(400, "body must be JSON")
        if not isinstance(body, dict):
            return _error(400, "body must be an object")
        for name, value in body.items():
            if name not in state.install:
                return _error(400, f"unknown setting {name}")
            if not isinstance(value, str):
                return _error(400, f"{name} must be a string")
        state.install.update(body)
        return JSONResponse({"settings": state.public_settings()}, headers=NO_STORE)

    async def proxy(request: Request) -> Response:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error(400, "body must be JSON")
        options = body.get("options") if isinstance(body, dict) else None
        if not isinstance(options, dict):
            return _error(400, 'body must be {"options": {...}}')
        try:
            async with _client() as client:
                outcome = await state.proxy().forward(options, client)
        except ProxyError as exc:
            state.proxy_log.append(
                {"url": options.get("url"), "error": exc.message, "status": exc.status}
            )
            payload = {
                "status": exc.status,
                "statusText": "Proxy refused",
                "headers": {"content-type": "application/json"},
                "responseText": json.dumps({"error": exc.message}),
            }
            return JSONResponse(payload, headers=NO_STORE)
        state.proxy_log.append(outcome.log)
        return JSONResponse(outcome.as_json(), headers=NO_STORE)

    async def proxy_log(request: Request) -> Response:
        return JSONResponse({"requests": state.proxy_log}, headers=NO_STORE)

    async def emulator(method: str, path: str, body: Any = None) -> Response:
        try:
            async with _client(base_url=state.emulator_url, auth=state.emulator_auth()) as client:
                response = await client.request(method, path, json=body, timeout=15.0)
        except httpx.HTTPError as exc:
            return _error(502, f"emulator unreachable: {exc}")
        return _json_response(response.status_code, response.content)

    async def list_tickets(request: Request) -> Response:
        return await emulator("GET", "/api/v2/tickets.json?per_page=100")

    async def show_ticket(request: Request) -> Response:
        return await emulator("GET", f"/api/v2/tickets/{request.path_params['id']}.json")

    async def update_ticket(request: Request) -> Response:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error(400, "body must be JSON")
        ticket = body.get("ticket") if isinstance(body, dict) else None
        if not isinstance(ticket, dict) or not set(ticket) <= EDITABLE_TICKET_KEYS:
            return _error(400, 'body must be {"ticket": {"custom_fields": [...]}}')
        return await emulator(
            "PUT", f"/api/v2/tickets/{request.path_params['id']}.json", {"ticket": ticket}
        )

    async def comments(request: Request) -> Response:
        return await emulator("GET", f"/api/v2/tickets/{request.path_params['id']}/comments.json")

    async def ticket_fields(request: Request) -> Response:
        return await emulator("GET", "/api/v2/ticket_fields.json?per_page=100")

    async def guides(request: Request) -> Response:
        try:
            async with _client() as client:
                response = await client.get(
                    state.backend_url + "/v1/guides",
                    headers={"Authorization": f"Bearer {state.backend_token()}"},
                    timeout=15.0,
                )
        except httpx.HTTPError as exc:
            return _error(502, f"backend unreachable: {exc}")
        return _json_response(response.status_code, response.content)

    routes = [
        Route("/", host_page),
        Route("/harness/static/{name}", static_file),
        Route("/harness/vendor/{name}", vendor_css),
        Route("/harness/config.json", config),
        Route("/harness/settings", update_settings, methods=["POST"]),
        Route("/harness/proxy-log", proxy_log),
        Route("/harness/api/tickets", list_tickets),
        Route("/harness/api/tickets/{id:int}", show_ticket),
        Route("/harness/api/tickets/{id:int}", update_ticket, methods=["PUT"]),
        Route("/harness/api/tickets/{id:int}/comments", comments),
        Route("/harness/api/ticket_fields", ticket_fields),
        Route("/harness/api/guides", guides),
        Route(SIGNED_APP_PATH, signed_app),
        Route("/proxy", proxy, methods=["POST"]),
        Route(SDK_PATH, sdk),
        Route("/app/{path:path}", app_file),
    ]
    return Starlette(routes=routes)
