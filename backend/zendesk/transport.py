"""Transport of the Zenpy gateway: one guarded `requests` session per thread.

Zenpy's traps (see shared/notes/ZENDESK.md) and what this module does about them:

- Zenpy keeps the object being sent on the shared API object and caches mutable
  objects: one client per thread (`threading.local`) and `disable_cache=True`, each on
  its own kept-alive, pooled session; `close()` closes them all.
- `requests` re-reads proxy settings from the environment on every call: `trust_env`
  is off unless a proxy is configured in the environment when the gateway is made.
- On 429 Zenpy sleeps `Retry-After` in an unbounded blocking loop, and retries 5xx
  only for 503/413 over https without backoff. We hand Zenpy a session whose
  `_GuardedAdapter` handles 429, 5xx, timeouts and dropped connections *before*
  Zenpy sees a response (`retries.py`): it waits within the caller's budget or raises
  our own errors, so Zenpy's loop never runs and nothing hangs. Retry warnings go
  through structlog.
- Zenpy always builds `https://{subdomain}.zendesk.com`: a gateway made for the local
  emulator rewrites its own requests' scheme and host in its adapter — scoped to this
  gateway, never the process environment (Zenpy's `ZENPY_FORCE_*`).
- Zenpy's default timeout is 60 s: we pass our own.
- Raw JSON requests (the hot ticket read and safe-update write, the ledger, search, Help
  Center, the agent directory) skip requests and urllib3 altogether when no proxy is
  configured: `raw_path.py` sends the session's headers and auth (prepared once per
  thread) on `wire.py`'s kept-alive HTTP/1.1 connections, under the same retry rules,
  TLS verification and response hooks. With a proxy they go through `Session.request`.

Never imports `backend.domain`.
"""

from __future__ import annotations

import email.utils
import os
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from zenpy import Zenpy
from zenpy.lib.exception import APIException, ZenpyException

from backend.errors import (
    GuidepostError,
    RateLimitedError,
    SettingsError,
    ZendeskError,
    ZendeskUnavailableError,
)
from backend.logs import get_logger
from backend.zendesk.async_wire import AsyncWirePool
from backend.zendesk.raw_path import RawPath
from backend.zendesk.retries import (
    NETWORK_ERRORS,
    Answer,
    OperationState,
    RetryPolicy,
    retry_after,
    send_with_retries,
)
from backend.zendesk.shapes import Resource, error_for_status
from backend.zendesk.wire import WireResponse
from backend.zendesk.wire_answer import parse_json

__all__ = ["NETWORK_ERRORS", "GatewayTransport", "RetryPolicy", "error_for_response"]

log = get_logger("guidepost.zendesk")

PROXY_VARIABLES = (
    *("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"),
    *("https_proxy", "http_proxy", "all_proxy"),
)
# Never sleep longer than this to move past a safe_update stamp's second.
MAX_STAMP_WAIT = 2.0


class _GuardedAdapter(HTTPAdapter):
    """Zenpy's transport: counts every request and owns 429 / 5xx / network retries."""

    def __init__(self, gateway: GatewayTransport) -> None:
        # No urllib3 retries: every attempt must pass through (and be counted by) send().
        super().__init__(max_retries=0)
        self._gateway = gateway

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send with retries; never returns a 429 or a 5xx (raises instead)."""
        gateway = self._gateway
        method = (request.method or "GET").upper()
        where = f"{method} {urlsplit(request.url or '').path}"
        if timeout is None:
            timeout = gateway.timeout
        canonical = None
        if gateway.base_url is not None:
            # Emulator mode, scoped to this gateway: Zenpy built https://<sub>.zendesk.com
            # (or followed a page link); send it to the emulator's scheme and host instead,
            # and hand Zenpy back the URL it expects (it matches answers by URL).
            target = urlsplit(gateway.base_url)
            parts = urlsplit(request.url or "")
            # Zenpy knows an answer as its own by its base host (its env override wins).
            own_host = os.environ.get("ZENPY_FORCE_NETLOC") or gateway.zendesk_host
            canonical = urlunsplit(("https", own_host, *parts[2:]))
            request.url = urlunsplit((target.scheme, target.netloc, *parts[2:]))

        def attempt() -> requests.Response:
            response = super(_GuardedAdapter, self).send(
                request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
            )
            if not stream:
                # Read the body here, so a connection dropped mid-body is retried too
                # (requests would otherwise read it after send(), out of our reach).
                try:
                    _ = response.content
                except NETWORK_ERRORS:
                    response.close()
                    raise
            return response

        response = send_with_retries(gateway, method, where, attempt)
        if canonical is not None:
            response.url = canonical
            request.url = canonical
        return response


class _Operation:
    """Context of one gateway call: translates Zenpy/requests failures on the way out."""

    def __init__(self, resource: Resource, what: str) -> None:
        self.resource = resource
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None or isinstance(exc, GuidepostError):
            return
        if isinstance(exc, APIException | requests.HTTPError):
            raise error_for_response(exc.response, self.resource, self.what) from None
        if isinstance(exc, requests.RequestException):
            raise ZendeskUnavailableError(f"{self.what}: {type(exc).__name__}") from None
        if isinstance(exc, ZenpyException | ValueError | KeyError | TypeError):
            # An answer we cannot read (not JSON, wrong shape). Only the type name: some
            # Zenpy messages embed the client's locals(), API token included.
            raise ZendeskUnavailableError(
                f"{self.what}: unexpected answer ({type(exc).__name__})"
            ) from None


class GatewayTransport:
    """Per-thread Zenpy clients on guarded sessions; counts calls, bounds waits."""

    def __init__(
        self,
        *,
        subdomain: str,
        email: str,
        token: str,
        timeout: float = 10.0,
        policy: RetryPolicy | None = None,
        base_url: str | None = None,
        ca_bundle: str | None = None,
    ) -> None:
        if not subdomain:
            raise SettingsError("the Zendesk subdomain must not be empty (Zenpy refuses it)")
        if not email or not token:
            raise SettingsError("GUIDEPOST_ZENDESK_EMAIL and GUIDEPOST_ZENDESK_TOKEN are required")
        self._subdomain = subdomain
        self._email = email
        self._token = token
        self.timeout = timeout
        self.policy = policy or RetryPolicy("interactive", max_wait_seconds=3.0, retries=3)
        # Set for the local emulator only (http on loopback, checked by Settings).
        self.base_url = base_url.rstrip("/") if base_url else None
        # Extra CA file to trust (a bench/test emulator over HTTPS); verification stays on.
        self._ca_bundle = ca_bundle
        # Read the environment once: with no proxy configured, requests must not re-read
        # it (proxies, netrc, CA bundle) on every call.
        self._trust_env = any(os.environ.get(name) for name in PROXY_VARIABLES)
        self.state = OperationState()
        self._local = threading.local()
        self._lock = threading.Lock()
        # Weak: a thread's session and raw path live in its threading.local and end with
        # the thread (anyio retires idle workers after 10 s), their sockets closed, instead
        # of piling up in CLOSE_WAIT until shutdown.
        self._sessions: weakref.WeakSet[requests.Session] = weakref.WeakSet()
        self._raw_paths: weakref.WeakSet[RawPath] = weakref.WeakSet()
        # One-attempt raw reads on the event loop (`send_nowait`), its own connections.
        self.loop_wire = AsyncWirePool()
        self._calls = 0
        self._closed = False
        # Lower bound of (Zendesk's clock − ours), from `Date` headers (whole seconds).
        self._clock_offset: float | None = None
        self._last_date: str | None = None

    @property
    def zendesk_host(self) -> str:
        """The account's API host, `<subdomain>.zendesk.com`."""
        return f"{self._subdomain}.zendesk.com"

    @property
    def api_base(self) -> str:
        """scheme://host this gateway's requests are built on (rewritten in emulator mode)."""
        netloc = os.environ.get("ZENPY_FORCE_NETLOC")
        if self.base_url is None and netloc:
            # Zenpy itself follows its process-wide override for the requests it builds;
            # raw requests must go to the same place. Guidepost never sets it.
            return f"{os.environ.get('ZENPY_FORCE_SCHEME', 'https')}://{netloc}"
        return f"https://{self.zendesk_host}"

    # ---- bookkeeping -------------------------------------------------------------

    @property
    def calls(self) -> int:
        """Count the HTTP requests actually sent (retries included)."""
        return self._calls

    @calls.setter
    def calls(self, value: int) -> None:
        with self._lock:
            self._calls = value

    @property
    def thread_calls(self) -> int:
        """Count the HTTP requests sent by the calling thread (per-request logging)."""
        return self.state.calls

    def count_call(self) -> None:
        """Count one HTTP request (called by the transport)."""
        with self._lock:
            self._calls += 1
        self.state.calls += 1

    def wait_for_rate_limit(self, where: str, retry_after: float) -> None:
        """Sleep out a 429 within this operation's budget, else raise RateLimitedError."""
        state = self.state
        budget = self.policy.max_wait_seconds - state.waited
        if retry_after > budget:
            raise RateLimitedError(
                f"Zendesk rate limit on {where}: retry after {retry_after:g}s "
                f"(this {self.policy.wait_policy} call may wait {budget:g}s more)",
                retry_after=retry_after,
            )
        log.warning("zendesk rate-limited", where=where, wait_seconds=retry_after)
        state.waited += retry_after
        time.sleep(retry_after)

    def observe_server_date(self, header: str | None) -> None:
        """Learn Zendesk's clock from a `Date` header (a lower bound of its offset)."""
        if not header or header == self._last_date:
            return  # the same whole second again: nothing new to learn
        self._last_date = header
        try:
            server = email.utils.parsedate_to_datetime(header).timestamp()
        except (TypeError, ValueError):
            return
        offset = server - time.time()
        with self._lock:
            if self._clock_offset is None or offset > self._clock_offset:
                self._clock_offset = offset

    def wait_past_stamp(self, stamp_epoch: float) -> None:
        """Sleep until Zendesk's clock has left the second of a safe_update stamp.

        Zendesk's `updated_at` has whole seconds: a write within the stamp's own second
        would leave `updated_at` unchanged, and a second writer holding the same stamp
        would pass `safe_update` too (a double note). Writing only once the second has
        passed makes every write move `updated_at`, so the second writer gets its 409.
        """
        if self.base_url is not None or self._clock_offset is None:
            offset = 0.0  # the loopback emulator runs on this machine's clock
        else:
            offset = self._clock_offset
        wait = stamp_epoch + 1.0 - (time.time() + offset)
        if wait > 0:
            time.sleep(min(wait, MAX_STAMP_WAIT))

    def close(self) -> None:
        """Close every thread's session and raw connections (sockets included)."""
        with self._lock:
            sessions, self._sessions = list(self._sessions), weakref.WeakSet()
            raw_paths, self._raw_paths = list(self._raw_paths), weakref.WeakSet()
            self._closed = True
        for session in sessions:
            session.close()
        for raw_path in raw_paths:
            raw_path.close()
        self.loop_wire.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _client(self) -> Zenpy:
        """Return this thread's Zenpy client, creating it (and its session) on first use."""
        if self._closed:
            raise ZendeskError("the Zendesk gateway is closed")
        client: Zenpy | None = getattr(self._local, "client", None)
        if client is not None:
            return client
        session = requests.Session()
        session.trust_env = self._trust_env
        if self._ca_bundle:
            session.verify = self._ca_bundle
        # Kept-alive pooled connections: one pool per thread's session.
        adapter = _GuardedAdapter(self)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        client = Zenpy(
            subdomain=self._subdomain,
            email=self._email,
            token=self._token,
            session=session,
            timeout=self.timeout,
            disable_cache=True,
        )
        # Made once Zenpy has set the session's headers and auth (the raw path sends them).
        raw_path = RawPath(session)
        with self._lock:
            if self._closed:
                session.close()
                raise ZendeskError("gateway is closed")
            self._sessions.add(session)
            self._raw_paths.add(raw_path)
        self._local.client = client
        self._local.session = session
        self._local.adapter = adapter
        self._local.raw_path = raw_path
        return client

    def _session(self) -> requests.Session:
        """Return this thread's guarded requests session (the one its Zenpy client uses)."""
        self._client()
        session: requests.Session = self._local.session
        return session

    def _operation(self, resource: Resource, what: str) -> _Operation:
        """Start one gateway operation: fresh wait budget, Zenpy/requests errors → ours."""
        state = self.state
        if state.carry_wait:
            state.carry_wait = False  # the wait of a failed loop attempt counts in its budget
        else:
            state.waited = 0.0
        state.retried = False
        return _Operation(resource, what)

    def request_json(
        self,
        method: str,
        path: str,
        resource: Resource,
        what: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> Any:
        """Send one raw API request through the guarded session; the parsed JSON or None."""
        with self._operation(resource, what):
            session = self._session()
            response: requests.Response | WireResponse
            if self._trust_env or session.proxies:
                # A proxy is configured: requests' own path resolves it per URL.
                response = session.request(
                    method, self.api_base + path, params=params, json=body, timeout=self.timeout
                )
            else:
                response = self._send_direct(session, method, path, params, body)
            if response.status_code >= 300:
                raise error_for_response(response, resource, what)
            content = response.content
            return parse_json(content) if content else None

    def _send_direct(
        self,
        session: requests.Session,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        body: Any,
    ) -> WireResponse:
        """Send on this thread's raw path (wire.py), not through `Session.request`."""
        raw_path: RawPath = self._local.raw_path
        target, known = self._raw_targets()
        return raw_path.send(self, target, known, method, path, params, body, self.timeout)

    def _raw_targets(self) -> tuple[str, str]:
        """Where raw requests go, and the base URL their answers are known by."""
        if self.base_url is None:
            return self.api_base, self.api_base
        # Emulator mode: sent to the emulator, known by the URL Zenpy would have built.
        return self.base_url, "https://" + (
            os.environ.get("ZENPY_FORCE_NETLOC") or self.zendesk_host
        )

    async def send_nowait(self, path: str, params: Mapping[str, str] | None = None) -> LoopAttempt:
        """ONE attempt of a raw GET (path, query `params`) on the event loop.

        No answer means "make it on the blocking path" (`request_json`, full retry
        rules): a proxy is configured, the gateway is closed, or the attempt met a 429, a
        5xx, a network failure or the timeout (`retry_after` / `problem` say which, for
        `after_nowait`). The attempt is counted (in `calls`, not in the thread's count:
        the caller adds it to its request) and the session's hooks see the answer it
        returns, as on the blocking path. Other answers (2xx, 3xx, 4xx) are returned.
        """
        try:
            session = self._session()  # the loop thread's: its headers, auth and hooks
        except ZendeskError:
            return LoopAttempt(None, 0, "")
        if self._trust_env or session.proxies:
            return LoopAttempt(None, 0, "")
        raw_path: RawPath = self._local.raw_path
        target, known = self._raw_targets()
        try:
            prepared = raw_path.prepare(target, known, "GET", path, params, None)
        except (requests.RequestException, ValueError):
            return LoopAttempt(None, 0, "")  # the blocking path raises its own error for it
        where = prepared.where
        with self._lock:
            self._calls += 1
        try:
            answer = await self.loop_wire.exchange(
                prepared.endpoint, prepared.data, timeout=self.timeout, tls=prepared.tls
            )
        except TimeoutError:
            return LoopAttempt(None, 1, where, problem="timed out")
        except (requests.Timeout, requests.ConnectionError):
            return LoopAttempt(None, 1, where, problem="connection failed")
        except Exception:  # an unreadable answer: the blocking path names its error
            return LoopAttempt(None, 1, where)
        response = WireResponse(answer, prepared.request.url, prepared.request)
        self.observe_server_date(response.headers.get("Date"))
        status = response.status_code
        if status == 429:
            return LoopAttempt(None, 1, where, retry_after=retry_after(response))
        if status >= 500:
            return LoopAttempt(None, 1, where, problem=f"answered {status}")
        return LoopAttempt(raw_path.run_hooks(response), 1, where)

    def after_nowait(self, where: str, retry_after: float | None, problem: str | None) -> None:
        """Before the blocking read that follows a failed loop attempt: what a retry waits.

        A 429 is sat out within the operation's budget (RateLimitedError past it, as on
        the blocking path), and the read that follows continues that budget; a 5xx or a
        network failure backs off as before a first retry.
        """
        state = self.state
        if retry_after is not None:
            state.waited = 0.0
            self.wait_for_rate_limit(where, retry_after)
            state.carry_wait = True
        elif problem is not None:
            seconds = self.policy.backoff(1)
            log.warning(
                "zendesk retry", where=where, problem=problem, wait_seconds=round(seconds, 2)
            )
            time.sleep(seconds)


@dataclass(frozen=True, slots=True)
class LoopAttempt:
    """One raw GET tried on the event loop: its answer (None: not usable) and its calls."""

    response: WireResponse | None
    calls: int
    where: str
    retry_after: float | None = None
    problem: str | None = None


def error_for_response(response: Answer | None, resource: Resource, what: str) -> ZendeskError:
    """Build the GuidepostError matching an error answer."""
    if response is None:
        return ZendeskUnavailableError(f"{what}: no answer")
    try:
        body = response.json()
    except ValueError:
        body = None
    wait = retry_after(response) if response.status_code == 429 else 1.0
    return error_for_status(response.status_code, body, resource, what, wait)
