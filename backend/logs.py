"""Structured logging: one JSON line per request, personal data masked, secrets never written."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TextIO
from urllib.parse import quote, quote_plus, unquote

# Korean plates (optional region prefix), e.g. 12가3456, 123 가 4567, 서울12가3456.
PLATE_RE = re.compile(r"(?<!\d)(?:[가-힣]{2}\s?)?\d{2,3}\s?[가-힣]\s?\d{4}(?!\d)")
# Korean phone numbers in every written form: mobile (010…019), area codes (02, 031…064),
# VoIP 070 and the 050x safe numbers; national (010-1234-5678, 010 1234 5678,
# 010.1234.5678, (010) 1234-5678, 01012345678) or international (+82-10-…, +82 10 …,
# +82 (0)10 …, 0082…), separators raw or URL-encoded (%20, %2D, %2E, + in a query).
# 15xx/16xx service numbers are public company numbers and stay readable.
_PHONE_SEP = r"(?:[ \t.\-\u2010-\u2015\u00a0+]|%20|%2[dDeE])"
_PHONE_GAP = rf"{_PHONE_SEP}{{0,4}}"
_PHONE_AREA = r"(?:1[016789]|2|3[1-3]|4[1-4]|5[1-5]|6[1-4]|70|50[2-8])"
_PHONE_NATIONAL = rf"(?:0{_PHONE_AREA}|\(\s*0{_PHONE_AREA}\s*\))"
_PHONE_INTL = (
    rf"(?:\(?\s*(?:\+|%2[bB]|00)\s*82\s*\)?{_PHONE_GAP}(?:\(\s*0\s*\)|0)?{_PHONE_GAP}"
    rf"\(?{_PHONE_AREA}\)?)"
)
PHONE_RES = (
    re.compile(
        rf"(?<!\d)(?:{_PHONE_INTL}|{_PHONE_NATIONAL}){_PHONE_GAP}\d{{3,4}}{_PHONE_GAP}\d{{4}}(?!\d)"
    ),
)
# E-mail addresses, the @ raw or URL-encoded.
EMAIL_RE = re.compile(r"[\w.%+\-]+(?:@|%40)[\w\-]+(?:\.[\w\-]+)*\.[^\W\d_]{2,}")
# A JWT anywhere in a string (three base64url segments, header starting with {").
JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
BEARER_RE = re.compile(r"(?i)\bbearer\s+\S+")
SECRET_KEY_RE = re.compile(
    r"(?i)(authorization|token|secret|password|passwd|api[_-]?key|jwt|cookie|credential)"
)
# GUIDEPOST_ variables holding secrets by their name (SESSION_KEY, ZENDESK_TOKEN…).
ENV_SECRET_NAME_RE = re.compile(r"(?i)(token|secret|password|passwd|key|credential)")
# Secret values shorter than this are not real secrets (require_secrets refuses them);
# masking them would blank common words in every line.
MIN_SECRET_LENGTH = 4

PLATE_MASK = "[plate]"
PHONE_MASK = "[phone]"
EMAIL_MASK = "[email]"
REDACTED = "[redacted]"

_REQUEST: ContextVar[dict[str, Any] | None] = ContextVar("guidepost_request", default=None)
# Every secret value the process knows (settings' SecretStr values, GUIDEPOST_ secrets).
_SECRETS: set[str] = set()
_SECRET_RE: list[re.Pattern[str] | None] = [None]
# Masked form and secret-ness of mapping keys seen so far: the same dozen keys come in
# every line, each through every pattern. Emptied when a secret is registered.
_KEY_MASKS: dict[str, tuple[str, bool]] = {}
MAX_KEY_MASKS = 1024
# Masked form of short string values seen so far (method, path, guide, branch, level…):
# an access line's values mostly repeat, each through every pattern otherwise. A new
# dict (never emptied in place) when a secret is registered, so a masking that started
# before stores into the dropped one.
_TEXT_MASKS: list[dict[str, str]] = [{}]
MAX_TEXT_MASKS = 4096
MAX_CACHED_TEXT = 256


def register_secrets(values: Iterable[str]) -> None:
    """Add secret values that must never appear in a log line, in any encoding."""
    added = False
    for value in values:
        if len(value) >= MIN_SECRET_LENGTH and value not in _SECRETS:
            _SECRETS.add(value)
            added = True
    if added:
        forms = {form for value in _SECRETS for form in _encoded_forms(value)}
        alternation = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
        _SECRET_RE[0] = re.compile(alternation)
        _KEY_MASKS.clear()
        _TEXT_MASKS[0] = {}


def _encoded_forms(value: str) -> set[str]:
    """A secret as it may be written: raw, URL-encoded (path and query), JSON-escaped."""
    return {value, quote(value, safe=""), quote(value), quote_plus(value), json.dumps(value)[1:-1]}


def register_env_secrets(environ: Mapping[str, str] | None = None) -> None:
    """Register every GUIDEPOST_ variable whose name says it holds a secret."""
    environ = os.environ if environ is None else environ
    register_secrets(
        value
        for name, value in environ.items()
        if name.upper().startswith("GUIDEPOST_") and ENV_SECRET_NAME_RE.search(name)
    )


def _mask_plain(text: str) -> str:
    """Mask one string as it is written."""
    secret_re = _SECRET_RE[0]
    if secret_re is not None:
        text = secret_re.sub(REDACTED, text)
    text = BEARER_RE.sub(f"Bearer {REDACTED}", text)
    text = JWT_RE.sub(REDACTED, text)
    text = EMAIL_RE.sub(EMAIL_MASK, text)
    text = PLATE_RE.sub(PLATE_MASK, text)
    for pattern in PHONE_RES:
        text = pattern.sub(PHONE_MASK, text)
    return text


def mask_text(text: str) -> str:
    """Replace secrets, bearer credentials, JWTs, e-mails, plates and phone numbers.

    A URL-encoded string is also read decoded: when that reveals something to mask,
    the decoded, masked text is kept (fails closed: %30%31%30… is a phone number too).
    """
    masked = _mask_plain(text)
    if "%" in text:
        decoded = unquote(text)
        if decoded != text:
            masked_decoded = _mask_plain(decoded)
            if masked_decoded != decoded:
                return masked_decoded
    return masked


def _mask_cached(text: str) -> str:
    """mask_text, remembered for short strings (the same result: masking is pure)."""
    if len(text) > MAX_CACHED_TEXT:
        return mask_text(text)
    cache = _TEXT_MASKS[0]
    masked = cache.get(text)
    if masked is None:
        masked = mask_text(text)
        if len(cache) >= MAX_TEXT_MASKS:
            cache.clear()  # bound memory (paths carry ticket ids; most values repeat)
        cache[text] = masked
    return masked


def mask_value(value: Any) -> Any:
    """Mask every string inside a value (dicts, lists and tuples walked recursively)."""
    kind = type(value)
    # Exact types first: the ABC check below is slow, and a line is mostly str and int.
    if kind is str:
        return _mask_cached(value)
    if kind is int or kind is float or kind is bool or value is None:
        return value
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        masked: dict[Any, Any] = {}
        for key, item in value.items():
            masked_key, secret = _key_facts(key)
            masked[masked_key] = REDACTED if secret else mask_value(item)
        return masked
    if isinstance(value, list | tuple):
        return [mask_value(item) for item in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    # Anything else (exceptions, paths, SecretStr…) is logged through its masked text.
    return mask_text(str(value))


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and SECRET_KEY_RE.search(key) is not None


def _key_facts(key: Any) -> tuple[Any, bool]:
    """A key's masked form (keys are written too) and whether it names a secret; cached."""
    if not isinstance(key, str):
        return key, False
    facts = _KEY_MASKS.get(key)
    if facts is None:
        facts = (mask_text(key), _is_secret_key(key))
        if len(_KEY_MASKS) >= MAX_KEY_MASKS:
            _KEY_MASKS.clear()  # bound memory (keys are names from code, rarely new)
        _KEY_MASKS[key] = facts
    return facts


def mask_processor(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Structlog processor: redact secret-named keys, mask personal data in keys and values."""
    # mask_value and _key_facts inlined for the common case (a known key, a short str or
    # a number): one access line per request; the same results (tests compare them).
    key_masks = _KEY_MASKS
    text_masks = _TEXT_MASKS[0]
    masked: dict[str, Any] = {}
    for key, value in event_dict.items():
        facts = key_masks.get(key)
        masked_key, secret = facts if facts is not None else _key_facts(key)
        if secret:
            masked[masked_key] = REDACTED
            continue
        kind = type(value)
        if kind is str:
            text = text_masks.get(value)
            masked[masked_key] = _mask_cached(value) if text is None else text
        elif kind is int or kind is float or kind is bool or value is None:
            masked[masked_key] = value
        else:
            masked[masked_key] = mask_value(value)
    return masked


def _mask_arg(arg: Any) -> Any:
    """Mask one %-format argument of a stdlib record (numbers keep their type for %d)."""
    if isinstance(arg, int | float | bool) or arg is None:
        return arg
    return mask_text(arg if isinstance(arg, str) else str(arg))


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask a stdlib record in place: message, arguments, traceback and stack."""
    record.msg = mask_text(record.msg if isinstance(record.msg, str) else str(record.msg))
    if isinstance(record.args, Mapping):
        record.args = {key: _mask_arg(arg) for key, arg in record.args.items()}
    elif isinstance(record.args, tuple):
        record.args = tuple(_mask_arg(arg) for arg in record.args)
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = mask_text(record.exc_text)
    if record.stack_info:
        record.stack_info = mask_text(record.stack_info)
    return record


class _MaskingRecordFactory:
    """A log record factory that masks every record, whoever logs it and whatever handles it.

    Handlers come and go (uvicorn's dictConfig replaces its own; pytest adds some); the
    record factory is the one place every stdlib record passes, so masking there fails
    closed.
    """

    def __init__(self, inner: Callable[..., logging.LogRecord]) -> None:
        self.inner = inner

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        return mask_record(self.inner(*args, **kwargs))


class _StructuredHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The root handler writing stdlib records (warnings included) as masked JSON lines.

    Its formatter is built on the first record: importing structlog costs a third of a
    one-shot command such as `guidepost explain`, which usually logs nothing.
    """

    def format(self, record: logging.LogRecord) -> str:
        """Format as masked JSON (the formatter is made on first use, under the handler lock)."""
        if self.formatter is None:
            self.setFormatter(_json_formatter())
        return super().format(record)


def _json_formatter() -> logging.Formatter:
    """The structlog formatter of stdlib records: logger, level, time, masked, JSON."""
    import structlog

    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_logger_name,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            mask_processor,
            structlog.processors.JSONRenderer(ensure_ascii=False, sort_keys=False),
        ],
    )


def install_log_masking() -> None:
    """Mask every stdlib record from now on, and send `warnings` through logging."""
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, _MaskingRecordFactory):
        logging.setLogRecordFactory(_MaskingRecordFactory(factory))
    # Off and on again: whoever replaced `warnings.showwarning` since, logging gets it back.
    logging.captureWarnings(False)
    logging.captureWarnings(True)
    register_env_secrets()


def route_stdlib_logging(stream: Any, level: int = logging.INFO) -> None:
    """Write the stdlib records reaching the root logger as structured JSON lines."""
    handler = _StructuredHandler(stream)
    handler.setLevel(level)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StructuredHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)


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
    import structlog

    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.format_exc_info,
            # Masking runs after format_exc_info so tracebacks are masked too.
            mask_processor,
            # Our own clock's value, added after masking: nothing to mask, never repeats.
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(ensure_ascii=False, sort_keys=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=stream or _CurrentStdout()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    install_log_masking()
    route_stdlib_logging(stream or _CurrentStdout(), numeric)


def get_logger(name: str = "guidepost") -> Any:
    """Return a lazy structlog logger carrying a component name (follows reconfiguration)."""
    import structlog

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
