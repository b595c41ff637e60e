"""Structured logging: one JSON line per request, personal data masked, secrets never written."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TextIO

import structlog

# Korean plates (optional region prefix), e.g. 12가3456, 123 가 4567, 서울12가3456.
PLATE_RE = re.compile(r"(?<!\d)(?:[가-힣]{2}\s?)?\d{2,3}\s?[가-힣]\s?\d{4}(?!\d)")
# Mobile numbers (010-1234-5678, 01012345678) and area-code landlines (02-123-4567).
# 15xx/16xx-xxxx service numbers are public company numbers and stay readable.
PHONE_RES = (
    re.compile(r"(?<!\d)01[016789]-?\d{3,4}-?\d{4}(?!\d)"),
    re.compile(r"(?<!\d)0\d{1,2}-\d{3,4}-\d{4}(?!\d)"),
)
# A JWT anywhere in a string (three base64url segments, header starting with {").
JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
BEARER_RE = re.compile(r"(?i)\bbearer\s+\S+")
SECRET_KEY_RE = re.compile(
    r"(?i)(authorization|token|secret|password|passwd|api[_-]?key|jwt|cookie|credential)"
)

PLATE_MASK = "[plate]"
PHONE_MASK = "[phone]"
REDACTED = "[redacted]"

_REQUEST: ContextVar[dict[str, Any] | None] = ContextVar("guidepost_request", default=None)


def mask_text(text: str) -> str:
    """Replace plates, phone numbers, bearer credentials and JWTs inside a string."""
    text = BEARER_RE.sub(f"Bearer {REDACTED}", text)
    text = JWT_RE.sub(REDACTED, text)
    text = PLATE_RE.sub(PLATE_MASK, text)
    for pattern in PHONE_RES:
        text = pattern.sub(PHONE_MASK, text)
    return text


def mask_value(value: Any) -> Any:
    """Mask every string inside a value (dicts, lists and tuples walked recursively)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {
            key: REDACTED if _is_secret_key(key) else mask_value(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_value(item) for item in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    # Anything else (exceptions, paths, SecretStr…) is logged through its masked text.
    return mask_text(str(value))


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and SECRET_KEY_RE.search(key) is not None


def mask_processor(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Structlog processor: redact secret-named keys and mask personal data in every value."""
    for key in list(event_dict):
        if _is_secret_key(key):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = mask_value(event_dict[key])
    return event_dict


class _CurrentStdout:
    """A file that writes to whatever sys.stdout is at write time (it may be swapped)."""

    def write(self, text: str) -> int:
        """Write to the current stdout."""
        return sys.stdout.write(text)

    def flush(self) -> None:
        """Flush the current stdout."""
        sys.stdout.flush()


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Configure structlog to write masked JSON lines to `stream` (stdout by default)."""
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            # Masking runs last before rendering so tracebacks are masked too.
            mask_processor,
            structlog.processors.JSONRenderer(ensure_ascii=False, sort_keys=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=stream or _CurrentStdout()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )


def get_logger(name: str = "guidepost") -> Any:
    """Return a lazy structlog logger carrying a component name (follows reconfiguration)."""
    return structlog.get_logger(component=name)


@contextmanager
def open_request_scope() -> Iterator[dict[str, Any]]:
    """Open the per-request log context that handlers fill with `bind_request`."""
    context: dict[str, Any] = {}
    token = _REQUEST.set(context)
    try:
        yield context
    finally:
        _REQUEST.reset(token)


def bind_request(**values: Any) -> None:
    """Add keys to the current request's access-log line (no-op outside a request)."""
    # Mutating the shared dict (not re-setting the var) lets worker threads report back.
    context = _REQUEST.get()
    if context is not None:
        context.update(values)
