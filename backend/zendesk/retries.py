"""Retry rules shared by Zenpy's requests and the raw JSON path: 429, 5xx, network failures.

One loop (`send_with_retries`) for both: every attempt is counted; a 429 is waited out
within the operation's budget (or raised as RateLimitedError); 5xx answers and network
failures are retried with jittered exponential backoff, only for methods safe to send
twice (a POST is never replayed). Never imports `backend.domain`.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import requests

from backend.errors import ZendeskUnavailableError
from backend.logs import get_logger
from backend.zendesk.gateway import WaitPolicy

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


class Answer(Protocol):
    """What the retry loop and the error mapping read of an answer (requests' names)."""

    @property
    def status_code(self) -> int:
        """The HTTP status."""

    @property
    def headers(self) -> Mapping[str, str]:
        """The headers, case-insensitive."""

    def json(self) -> Any:
        """The body as JSON (ValueError when it is not)."""

    def close(self) -> None:
        """Release the answer."""


AnswerT = TypeVar("AnswerT", bound=Answer)


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


class OperationState(threading.local):
    """Per-thread bookkeeping of the gateway operation in progress."""

    waited: float = 0.0
    # True when the next operation continues a wait already sat out (`after_nowait`).
    carry_wait: bool = False
    # True once a request of this operation was re-sent after a 5xx / network failure.
    retried: bool = False
    calls: int = 0


class RetryHost(Protocol):
    """The transport as the retry loop sees it."""

    policy: RetryPolicy
    state: OperationState

    def count_call(self) -> None:
        """Count one HTTP request."""

    def observe_server_date(self, header: str | None) -> None:
        """Learn Zendesk's clock from a Date header."""

    def wait_for_rate_limit(self, where: str, retry_after: float) -> None:
        """Sleep out a 429 within the budget, or raise."""


def send_with_retries(
    host: RetryHost, method: str, where: str, attempt: Callable[[], AnswerT]
) -> AnswerT:
    """Run `attempt` until it answers below 500 and not 429, within the retry rules."""
    retryable = method in IDEMPOTENT_METHODS
    failures = 0
    while True:
        host.count_call()
        try:
            response = attempt()
        except NETWORK_ERRORS as exc:
            failures += 1
            _retry_or_raise(host, failures, retryable, where, _network_problem(exc))
            continue
        host.observe_server_date(response.headers.get("Date"))
        status = response.status_code
        if status == 429:
            wait = retry_after(response)
            response.close()
            host.wait_for_rate_limit(where, wait)
            continue
        if status >= 500:
            response.close()
            failures += 1
            _retry_or_raise(host, failures, retryable, where, f"answered {status}")
            continue
        return response


def _retry_or_raise(
    host: RetryHost, failures: int, retryable: bool, where: str, problem: str
) -> None:
    """Sleep before the next attempt, or raise when retrying is not allowed / used up."""
    policy = host.policy
    if not retryable or failures > policy.retries:
        raise _unavailable(where, problem, failures, retryable)
    seconds = policy.backoff(failures)
    log.warning("zendesk retry", where=where, problem=problem, wait_seconds=round(seconds, 2))
    host.state.retried = True
    time.sleep(seconds)


def _network_problem(exc: Exception) -> str:
    """Name a transport failure without its (possibly long) message."""
    return "timed out" if isinstance(exc, requests.Timeout) else "connection failed"


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


def retry_after(response: Answer) -> float:
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
