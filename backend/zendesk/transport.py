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
  Zenpy sees a response: it waits within the caller's budget or raises our own
  errors, so Zenpy's loop never runs and nothing hangs. Retry warnings go through
  structlog.
- Zenpy always builds `https://{subdomain}.zendesk.com`: a gateway made for the local
  emulator rewrites its own requests' scheme and host in its adapter — scoped to this
  gateway, never the process environment (Zenpy's `ZENPY_FORCE_*`).
- Zenpy's default timeout is 60 s: we pass our own.
- Raw JSON requests (the hot ticket read and safe-update write, the ledger, search, Help
  Center, the agent directory) skip `Session.request`: it re-merges session settings,
  cookies and auth into a new `PreparedRequest` on every call (~1 ms of CPU per read).
  With no proxy configured they skip `HTTPAdapter.send` too (pool lookup, a stat() of the
  CA bundle, cookie extraction per call): the guarded adapter sends them to the very
  urllib3 pool requests would pick (same kept-alive connections, TLS settings applied
  once), under the same retry loop. Headers and auth are computed once per thread; the
  session's response hooks still run. Cookies are neither sent nor kept (the API
  authenticates by the Authorization header), redirects are not followed (the API
  answers JSON, never a redirect, for these paths).

Never imports `backend.domain`.
"""

from __future__ import annotations

import email.utils
import json
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.auth import HTTPBasicAuth
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from urllib3 import HTTPConnectionPool
from urllib3.util import Timeout
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
from backend.zendesk.gateway import WaitPolicy
from backend.zendesk.shapes import Resource, error_for_status

log = get_logger("guidepost.zendesk")

# Methods safe to send twice. Every PUT Guidepost sends is: ticket updates carry
# safe_update + updated_stamp (a replay answers 409), field/macro PUTs replace whole.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Zendesk rounds Retry-After to whole seconds; 0 or a missing header still means "later".
MIN_RETRY_AFTER = 1.0
# Failures before or while reading an answer; Timeout covers connect and read timeouts.
NETWORK_ERRORS = (
    requests.Timeout,
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
)
PROXY_VARIABLES = (
    *("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"),
    *("https_proxy", "http_proxy", "all_proxy"),
)
# Never sleep longer than this to move past a safe_update stamp's second.
MAX_STAMP_WAIT = 2.0


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait out a 429 and how to retry 5xx / network failures."""

    wait_policy: WaitPolicy
    max_wait_seconds: float
    retries: int
    backoff_base: float = 0.2
    backoff_cap: float = 5.0

    def backoff(self, attempt: int) -> float:
        """Compute the sleep before retry `attempt` (1-based): exponential, equal jitter."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


class _OperationState(threading.local):
    """Per-thread bookkeeping of the gateway operation in progress."""

    waited: float = 0.0
    # True once a request of this operation was re-sent after a 5xx / network failure.
    retried: bool = False
    calls: int = 0


class _GuardedAdapter(HTTPAdapter):
    """Transport that counts every request and owns 429 / 5xx / network retries."""

    def __init__(self, gateway: GatewayTransport) -> None:
        # No urllib3 retries: every attempt must pass through (and be counted by) send().
        super().__init__(max_retries=0)
        self._gateway = gateway
        # The urllib3 pool of each (base URL, verify, cert) the raw path has used.
        self._raw_pools: dict[tuple[str, Any, Any], HTTPConnectionPool] = {}

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

        response = self._with_retries(method, where, attempt)
        if canonical is not None:
            response.url = canonical
            request.url = canonical
        return response

    def send_raw(
        self,
        request: requests.PreparedRequest,
        base: str,
        path: str,
        verify: bool | str,
        cert: Any,
    ) -> requests.Response:
        """Send a raw API request (no proxy) straight to its pooled urllib3 pool, guarded.

        What `HTTPAdapter.send` does per request, done once per pool here: pool lookup and
        TLS settings (`cert_verify`: verification stays on). Per request: one `urlopen`
        with the body read in it (a drop mid-body is a network failure, retried like
        send()'s), urllib3 errors mapped as requests maps them, and a `requests.Response`
        built as `build_response` builds it (minus cookies: the raw path keeps none).
        `request.url` is the URL the caller knows (Zenpy's https one in emulator mode);
        `base + path` is where it goes.
        """
        method = (request.method or "GET").upper()
        pool = self._raw_pool(base, verify, cert)
        timeout = self._gateway.urllib3_timeout
        headers = request.headers
        body = request.body

        def attempt() -> requests.Response:
            try:
                raw = pool.urlopen(
                    method,
                    path,
                    body=body,
                    headers=headers,
                    redirect=False,
                    assert_same_host=False,
                    preload_content=True,
                    decode_content=True,
                    retries=False,
                    timeout=timeout,
                    chunked=False,
                )
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise _requests_error(exc, request) from exc
            response = requests.Response()
            response.status_code = raw.status
            response.headers = CaseInsensitiveDict(raw.headers)
            response.encoding = get_encoding_from_headers(response.headers)
            response.raw = raw
            response.reason = raw.reason or ""
            response.url = request.url or ""
            response.request = request
            response.connection = self
            response._content = raw.data
            return response

        return self._with_retries(method, f"{method} {path.partition('?')[0]}", attempt)

    def _raw_pool(self, base: str, verify: bool | str, cert: Any) -> HTTPConnectionPool:
        """The pool `HTTPAdapter.send` would pick for `base` (the same one: kept-alive)."""
        key = (base, verify, cert)
        pool = self._raw_pools.get(key)
        # One base URL per gateway: the pool manager (10 pools) never evicts this one.
        if pool is None:
            probe = requests.PreparedRequest()
            probe.url = base + "/"
            found = self.get_connection_with_tls_context(probe, verify, proxies=None, cert=cert)
            if not isinstance(found, HTTPConnectionPool):
                raise ZendeskError(f"no HTTP connection pool for {base}")
            self.cert_verify(found, probe.url, verify, cert)  # type: ignore[no-untyped-call]
            self._raw_pools[key] = pool = found
        return pool

    def close(self) -> None:
        """Close the pools and their sockets (urllib3's pool manager only forgets them)."""
        pools, self._raw_pools = list(self._raw_pools.values()), {}
        super().close()
        for pool in pools:
            pool.close()

    def _with_retries(
        self, method: str, where: str, attempt: Callable[[], requests.Response]
    ) -> requests.Response:
        """Run `attempt` until it answers below 500 and not 429, within the retry rules."""
        gateway = self._gateway
        retryable = method in IDEMPOTENT_METHODS
        failures = 0
        while True:
            gateway.count_call()
            try:
                response = attempt()
            except NETWORK_ERRORS as exc:
                failures += 1
                self._retry_or_raise(failures, retryable, where, _network_problem(exc))
                continue
            gateway.observe_server_date(response.headers.get("Date"))
            status = response.status_code
            if status == 429:
                retry_after = _retry_after(response)
                response.close()
                gateway.wait_for_rate_limit(where, retry_after)
                continue
            if status >= 500:
                response.close()
                failures += 1
                self._retry_or_raise(failures, retryable, where, f"answered {status}")
                continue
            return response

    def _retry_or_raise(self, failures: int, retryable: bool, where: str, problem: str) -> None:
        """Sleep before the next attempt, or raise when retrying is not allowed / used up."""
        policy = self._gateway.policy
        if not retryable or failures > policy.retries:
            raise _unavailable(where, problem, failures, retryable)
        self._pause(policy.backoff(failures), where, problem)

    def _pause(self, seconds: float, where: str, problem: str) -> None:
        """Sleep before a retry and note that this operation retried."""
        log.warning("zendesk retry", where=where, problem=problem, wait_seconds=round(seconds, 2))
        self._gateway.state.retried = True
        time.sleep(seconds)


def _network_problem(exc: Exception) -> str:
    """Name a transport failure without its (possibly long) message."""
    return "timed out" if isinstance(exc, requests.Timeout) else "connection failed"


def _requests_error(
    exc: BaseException, request: requests.PreparedRequest
) -> requests.RequestException:
    """The requests error `HTTPAdapter.send` raises for a urllib3 / socket failure."""
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        exc = exc.reason
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return requests.ConnectionError(exc, request=request)
    if isinstance(exc, urllib3.exceptions.ConnectTimeoutError):
        return requests.ConnectTimeout(exc, request=request)
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError | TimeoutError):
        return requests.ReadTimeout(exc, request=request)
    if isinstance(exc, urllib3.exceptions.SSLError):
        return requests.exceptions.SSLError(exc, request=request)
    if isinstance(exc, urllib3.exceptions.DecodeError):
        # requests raises it while reading the body: an unreadable answer, not retried.
        return requests.exceptions.ContentDecodingError(exc, request=request)
    # ProtocolError (a dropped connection, an incomplete body), OSError, and the rest.
    return requests.ConnectionError(exc, request=request)


def _unavailable(
    where: str, problem: str, attempts: int, retryable: bool
) -> ZendeskUnavailableError:
    """Build the error for a request that failed for good."""
    if retryable:
        return ZendeskUnavailableError(f"Zendesk {where} {problem} ({attempts} attempt(s))")
    # A create that failed may still have happened on Zendesk's side: never replay it.
    return ZendeskUnavailableError(
        f"Zendesk {where} {problem}; not retried (not idempotent, may or may not have applied)"
    )


def _retry_after(response: requests.Response) -> float:
    """Read Retry-After (seconds or an HTTP date) from a 429."""
    raw = (response.headers.get("Retry-After") or "").strip()
    if not raw:
        return MIN_RETRY_AFTER
    try:
        return max(float(raw), MIN_RETRY_AFTER)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return MIN_RETRY_AFTER
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), MIN_RETRY_AFTER)


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
        self.state = _OperationState()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._sessions: list[requests.Session] = []
        self._calls = 0
        self._closed = False
        # Lower bound of (Zendesk's clock − ours), from `Date` headers (whole seconds).
        self._clock_offset: float | None = None
        self._last_date: str | None = None
        self._urllib3_timeout: tuple[float, Timeout] | None = None

    @property
    def urllib3_timeout(self) -> Timeout:
        """`timeout` as the urllib3 Timeout `HTTPAdapter.send` builds (connect and read)."""
        made = self._urllib3_timeout
        if made is None or made[0] != self.timeout:
            made = (self.timeout, Timeout(connect=self.timeout, read=self.timeout))
            self._urllib3_timeout = made
        return made[1]

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
        """Close every thread's session (sockets included)."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
            self._closed = True
        for session in sessions:
            session.close()

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
        with self._lock:
            if self._closed:
                session.close()
                raise ZendeskError("gateway is closed")
            self._sessions.append(session)
        client = Zenpy(
            subdomain=self._subdomain,
            email=self._email,
            token=self._token,
            session=session,
            timeout=self.timeout,
            disable_cache=True,
        )
        self._local.client = client
        self._local.session = session
        self._local.adapter = adapter
        self._local.raw_headers = _raw_headers(session)
        return client

    def _session(self) -> requests.Session:
        """Return this thread's guarded requests session (the one its Zenpy client uses)."""
        self._client()
        session: requests.Session = self._local.session
        return session

    def _operation(self, resource: Resource, what: str) -> _Operation:
        """Start one gateway operation: fresh wait budget, Zenpy/requests errors → ours."""
        self.state.waited = 0.0
        self.state.retried = False
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
            return json.loads(content) if content else None

    def _send_direct(
        self,
        session: requests.Session,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        body: Any,
    ) -> requests.Response:
        """Send through this thread's guarded adapter without `Session.request`'s merging."""
        if params:
            path += ("&" if "?" in path else "?") + urlencode(params)
        prepared = requests.PreparedRequest()
        prepared.method = method
        if self.base_url is None:
            target = self.api_base
            prepared.url = target + path
        else:
            # Emulator mode: sent to the emulator, known by the URL Zenpy would have built.
            target = self.base_url
            own_host = os.environ.get("ZENPY_FORCE_NETLOC") or self.zendesk_host
            prepared.url = f"https://{own_host}{path}"
        headers: CaseInsensitiveDict[str] = self._local.raw_headers.copy()
        if body is not None:
            encoded = json.dumps(body, allow_nan=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
            headers["Content-Length"] = str(len(encoded))
            prepared.body = encoded
        elif method not in ("GET", "HEAD"):
            headers["Content-Length"] = "0"
        prepared.headers = headers
        adapter: _GuardedAdapter = self._local.adapter
        verify = session.verify if session.verify is not None else True
        response = adapter.send_raw(prepared, target, path, verify, session.cert)
        # The session's response hooks (none in production) still see every answer.
        for hook in session.hooks.get("response", ()):
            hooked = hook(response)
            if hooked is not None:
                response = hooked
        return response


def _raw_headers(session: requests.Session) -> CaseInsensitiveDict[str]:
    """The headers every raw request of this session carries: its own, plus its auth."""
    prepared = requests.PreparedRequest()
    prepared.headers = CaseInsensitiveDict(
        {
            name: value if isinstance(value, str) else value.decode("latin-1")
            for name, value in session.headers.items()
        }
    )
    auth = session.auth
    if isinstance(auth, tuple):
        auth = HTTPBasicAuth(*auth)
    if auth is not None:
        prepared = auth(prepared)
    return prepared.headers


def error_for_response(
    response: requests.Response | None, resource: Resource, what: str
) -> ZendeskError:
    """Build the GuidepostError matching an error answer."""
    if response is None:
        return ZendeskUnavailableError(f"{what}: no answer")
    try:
        body = response.json()
    except ValueError:
        body = None
    retry_after = _retry_after(response) if response.status_code == 429 else 1.0
    return error_for_status(response.status_code, body, resource, what, retry_after)
