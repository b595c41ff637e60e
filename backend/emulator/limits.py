"""Request counters, the account's per-minute budget, and injected faults."""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

from backend.emulator.faults import TERMINAL_KINDS, Fault, parse_faults
from backend.emulator.shapes import (
    JSON,
    RateDecision,
)
from backend.emulator.state import StoreBase, _State


class LimitsMixin(StoreBase):
    """Counters, rate limits and faults."""

    _counters: JSON
    _faults: list[Fault]
    _window_start: float | None
    _window_count: int
    _initial: _State

    # ---------------------------------------------------- counters and limits

    def counters(self) -> JSON:
        """Return request counters: total, by_route, writes, ignored_tag_ops, …"""
        with self._lock:
            return copy.deepcopy(self._counters)

    def reset_counters(self) -> None:
        """Zero every counter."""
        with self._lock:
            self._counters = self._make_zero_counters()

    def record_request(self, route: str) -> None:
        """Count one API request under its route template."""
        with self._lock:
            self._counters["total"] += 1
            by_route: dict[str, int] = self._counters["by_route"]
            by_route[route] = by_route.get(route, 0) + 1

    def record_write(self) -> None:
        """Count one successful state-changing API request."""
        with self._lock:
            self._counters["writes"] += 1

    def record_ignored_tag_ops(self) -> None:
        """Count one single-ticket update that carried additional_tags / remove_tags."""
        with self._lock:
            self._counters["ignored_tag_ops"] += 1

    def set_rate_limit(self, per_minute: int, *, as_default: bool = False) -> None:
        """Change the per-minute request budget and start a fresh window.

        With ``as_default`` the value also becomes what reset() restores.
        """
        if not isinstance(per_minute, int) or isinstance(per_minute, bool) or per_minute < 1:
            raise ValueError("per_minute must be a positive integer")
        with self._lock:
            self._state.rate_limit_per_minute = per_minute
            if as_default:
                self._initial.rate_limit_per_minute = per_minute
            self._window_start = None
            self._window_count = 0

    @property
    def rate_limit_per_minute(self) -> int:
        """The configured per-minute request budget."""
        return self._state.rate_limit_per_minute

    def take_rate_token(self) -> RateDecision:
        """Spend one request from the current one-minute window (started by its first request)."""
        with self._lock:
            now = time.monotonic()
            if self._window_start is None or now - self._window_start >= 60.0:
                self._window_start = now
                self._window_count = 0
            limit = self._state.rate_limit_per_minute
            if self._window_count >= limit:
                self._counters["rate_limited"] += 1
                retry_after = max(1, math.ceil(60.0 - (now - self._window_start)))
                return RateDecision(False, limit, 0, retry_after)
            self._window_count += 1
            return RateDecision(True, limit, limit - self._window_count, 0)

    def peek_rate_budget(self) -> RateDecision:
        """Peek at the budget without spending (for control API responses)."""
        with self._lock:
            limit = self._state.rate_limit_per_minute
            expired = self._window_start is None or time.monotonic() - self._window_start >= 60.0
            used = 0 if expired else self._window_count
            return RateDecision(True, limit, max(0, limit - used), 0)

    # ----------------------------------------------------------------- faults

    def set_faults(self, faults: list[JSON], *, seed: int | None = None) -> None:
        """Replace the fault rules (ValueError on invalid specs)."""
        parsed = parse_faults(faults, seed)
        with self._lock:
            self._faults = parsed

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        with self._lock:
            self._faults = []

    def list_faults(self) -> list[JSON]:
        """Describe the fault rules and their remaining budgets."""
        with self._lock:
            return [f.describe() for f in self._faults]

    def consume_faults(self, method: str, path: str) -> list[Fault]:
        """Pick the faults that fire for a request, in order, up to the first terminal one."""
        fired: list[Fault] = []
        with self._lock:
            for fault in self._faults:
                if not fault.applies_to(method, path) or not fault.roll():
                    continue
                fired.append(fault)
                self._counters["faults_injected"] += 1
                if fault.kind in TERMINAL_KINDS:
                    break
        return fired

    @staticmethod
    def _make_zero_counters() -> JSON:
        """Fresh counter dict."""
        return {
            "total": 0,
            "by_route": {},
            "writes": 0,
            "ignored_tag_ops": 0,
            "rate_limited": 0,
            "faults_injected": 0,
        }


# Zendesk's endpoint limits on Update Ticket (PUT /tickets/{id}), on top of the account's
# per-minute budget: "100 requests per min per account / 300 requests per min per account
# with the High Volume add-on" and "30 updates per 10 minutes per user per ticket".
# https://developer.zendesk.com/api-reference/introduction/rate-limits/
UPDATE_TICKET_PER_ACCOUNT = (100, 60.0)
UPDATE_TICKET_PER_ACCOUNT_HIGH_VOLUME = (300, 60.0)
UPDATE_TICKET_PER_USER_TICKET = (30, 600.0)
# No real plan allows more than 2,500 requests/min: a larger budget marks a test account
# without limits (benchmarks, soak tests), where the endpoint limits are off too.
HIGHEST_PLAN_PER_MINUTE = 2_500


@dataclass(frozen=True)
class EndpointDecision:
    """Outcome of one Update Ticket request against its endpoint limits."""

    allowed: bool
    limit: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        """Zendesk's rate-limit headers for this endpoint (`ratelimit-*` and its own)."""
        headers = {
            "ratelimit-limit": str(self.limit),
            "ratelimit-remaining": str(self.remaining),
            "ratelimit-reset": str(self.reset),
            # Modelled on the documented `zendesk-ratelimit-tickets-index` header.
            "zendesk-ratelimit-update-ticket": (
                f"total={self.limit}; remaining={self.remaining}; resets={self.reset}"
            ),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, self.reset))
        return headers


class EndpointLimitsMixin(StoreBase):
    """Sliding-window limits of the Update Ticket endpoint (per account, per user+ticket)."""

    _endpoint_hits: dict[str, list[float]]
    _counters: JSON

    def take_update_ticket_token(self, ticket_id: int, user: str) -> EndpointDecision | None:
        """Spend one Update Ticket request; None when the account has no endpoint limits."""
        with self._lock:
            if self._state.rate_limit_per_minute > HIGHEST_PLAN_PER_MINUTE:
                return None
            now = time.monotonic()
            # The High Volume add-on (included in Enterprise Plus) is the 2,500/min budget.
            high_volume = self._state.rate_limit_per_minute == HIGHEST_PLAN_PER_MINUTE
            per_account = (
                UPDATE_TICKET_PER_ACCOUNT_HIGH_VOLUME if high_volume else UPDATE_TICKET_PER_ACCOUNT
            )
            windows = (
                ("account", *per_account),
                (f"ticket:{ticket_id}:user:{user}", *UPDATE_TICKET_PER_USER_TICKET),
            )
            decisions: list[EndpointDecision] = []
            for key, limit, seconds in windows:
                hits = [t for t in self._endpoint_hits.get(key, []) if now - t < seconds]
                self._endpoint_hits[key] = hits
                reset = math.ceil(seconds - (now - hits[0])) if hits else int(seconds)
                decisions.append(
                    EndpointDecision(len(hits) < limit, limit, limit - len(hits), reset)
                )
            refused = [d for d in decisions if not d.allowed]
            if refused:
                self._counters["rate_limited"] += 1
                return max(refused, key=lambda d: d.reset)
            for key, _, _ in windows:
                self._endpoint_hits[key].append(now)
            account = decisions[0]
            return EndpointDecision(True, account.limit, account.remaining - 1, account.reset)
