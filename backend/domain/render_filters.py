"""The pieces of the guides' Jinja2 environment: placeholder marks, filters, the sandbox.

An unfilled value prints as the articles' placeholder (OOO, OO월 OO일), framed by
private-use marks while rendering so the decision can say where each one is (C1).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from jinja2.sandbox import ImmutableSandboxedEnvironment

from backend.domain.coupon import format_split, format_won
from backend.domain.decision import PlaceholderKind, TextPlaceholder
from backend.domain.korean import month_day, month_day_time, particle, read_date_text

# Private-use characters framing a placeholder while rendering (the macro generator's
# tokens use U+E000/U+E001, so these must differ).
_OPEN, _SEP, _BODY, _CLOSE = "\ue010", "\ue011", "\ue012", "\ue013"
_MARK_RE = re.compile(f"{_OPEN}([a-z]+){_SEP}([^{_BODY}]*){_BODY}([^{_CLOSE}]*){_CLOSE}")
_ANY_MARK = re.compile(f"[{_OPEN}{_SEP}{_BODY}{_CLOSE}]")
# A setting still at its example value: all-zero phone numbers, example URLs, OOO.
_PLACEHOLDER_SETTING = re.compile(r"^[0\-\s]*0[0\-\s]*$|[./]example[./]|OOO")
SETTING_NEEDED = "설정 필요"


class Placeholder(str):
    """A value that stands for a Zendesk placeholder (macros): filters pass it through."""

    __slots__ = ()


def mark(text: str, kind: PlaceholderKind, name: str) -> str:
    """Frame an unfilled placeholder so its offsets can be reported after rendering."""
    return f"{_OPEN}{kind}{_SEP}{name}{_BODY}{text}{_CLOSE}"


def _has_mark_char(text: str) -> bool:
    # Four substring tests: a regex character class scans Korean text ~100x slower.
    return _OPEN in text or _SEP in text or _BODY in text or _CLOSE in text


def plain_text(text: str) -> str:
    """The text `unmark` returns, without listing the placeholders (for filters)."""
    if not _has_mark_char(text):
        return text
    plain = _MARK_RE.sub(r"\3", text)
    return _ANY_MARK.sub("", plain) if _has_mark_char(plain) else plain


def unmark(text: str) -> tuple[str, list[TextPlaceholder]]:
    """Remove the frames; return the plain text and where each placeholder sits in it."""
    if not _has_mark_char(text):
        return text, []
    plain: list[str] = []
    found: list[TextPlaceholder] = []
    length = 0
    last = 0
    start = text.find(_OPEN)
    while start != -1:
        # Frames start with _OPEN: trying the pattern only there finds what finditer would.
        match = _MARK_RE.match(text, start)
        if match is None:
            start = text.find(_OPEN, start + 1)
            continue
        before = text[last:start]
        plain.append(before)
        length += len(before)
        body = match.group(3)
        kind: Any = match.group(1)
        found.append(
            TextPlaceholder(start=length, end=length + len(body), kind=kind, name=match.group(2))
        )
        plain.append(body)
        length += len(body)
        last = match.end()
        start = text.find(_OPEN, last)
    plain.append(text[last:])
    joined = "".join(plain)
    # A stray frame character (a broken frame) is dropped, as before.
    return (_ANY_MARK.sub("", joined) if _has_mark_char(joined) else joined), found


def is_placeholder_setting(value: object) -> bool:
    """Tell whether a setting still holds an example value (000-0000-0000, example URLs)."""
    return value is None or (isinstance(value, str) and bool(_PLACEHOLDER_SETTING.search(value)))


def filter_won(value: Any, name: str = "", placeholder: str = "OOO원") -> str:
    """12000 → '12,000원'; unknown → 'OOO원' (marked)."""
    if isinstance(value, Placeholder):
        return f"{value}원"
    if value is None:
        return mark(placeholder, "fact", name)
    return format_won(int(value))


def filter_md(value: Any, name: str = "", placeholder: str = "OO월 OO일") -> str:
    """A date or datetime → '11월 20일' (never the time); ISO text too; unknown → 'OO월 OO일'
    (marked)."""
    if isinstance(value, Placeholder):
        return str(value)
    if isinstance(value, datetime | date):
        return month_day(value)
    if isinstance(value, str) and value:
        return read_date_text(value, with_time=False)
    return mark(placeholder, "fact", name)


def filter_md_hm(value: Any, name: str = "", placeholder: str = "OO월 OO일 OO:OO") -> str:
    """A datetime → '11월 20일 14:30'; ISO text too; a date → '11월 20일'; unknown marked."""
    if isinstance(value, Placeholder):
        return str(value)
    if isinstance(value, datetime):
        return month_day_time(value)
    if isinstance(value, date):
        return month_day(value)
    if isinstance(value, str) and value:
        return read_date_text(value)
    return mark(placeholder, "fact", name)


def filter_hm(value: Any, name: str = "") -> str:
    """A datetime → '14:30'; unknown → 'OO:OO' (marked)."""
    if isinstance(value, Placeholder):
        return str(value)
    if isinstance(value, datetime):
        return value.strftime("%H:%M")
    return mark("OO:OO", "fact", name)


def filter_or_blank(value: Any, placeholder: str = "OOO", name: str = "") -> str:
    """The value as text, or the article's placeholder (marked) while unknown."""
    if value is None or value == "":
        return mark(placeholder, "fact", name)
    return str(value)


def filter_split(value: Any) -> str:
    """Coupon pieces → '5,000원 2장, 1,000원 3장'; unknown → 'OOO원 O장'."""
    if isinstance(value, Placeholder):
        return str(value)
    if not value:
        return mark("OOO원 O장", "fact", "coupon_split")
    return format_split(value)


def filter_particle(value: Any, form: str) -> str:
    """The value followed by the particle its last syllable takes ("1599-9400" → "…으로")."""
    text = str(value)
    if isinstance(value, Placeholder):
        return text + particle("", form)
    return text + particle(plain_text(text), form)


def agent_name() -> str:
    """The agent's own name slot (the sidebar fills it from the current user)."""
    return mark("OOO", "agent", "agent_name")


# Exact types of attribute values that are data, never a bound `str.format` to wrap.
_PLAIN_VALUE_TYPES = frozenset({str, int, bool, float, type(None), list, tuple, dict})


class GuideSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, its attribute verdicts remembered per (type, attribute).

    Jinja's checks read only the attribute name and `isinstance` tests of the object (the
    value is unused), so the verdict is a function of the object's type: computing it once
    per pair instead of per access keeps every check and refusal, at a dict lookup's cost.
    Classes themselves (`isinstance(obj, type)`) are always checked afresh.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._safe_attributes: dict[tuple[type, str], bool] = {}

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        """The sandbox's verdict, remembered for instances of ordinary classes."""
        if isinstance(obj, type):
            return super().is_safe_attribute(obj, attr, value)
        key = (type(obj), attr)
        verdict = self._safe_attributes.get(key)
        if verdict is None:
            verdict = self._safe_attributes[key] = super().is_safe_attribute(obj, attr, value)
        return verdict

    def getattr(self, obj: Any, attribute: str) -> Any:
        """`obj.attribute` from a template: the sandbox's `getattr`, one call instead of three.

        Jinja's steps in its order: the attribute, else the item, else undefined; a
        `str.format` method comes back wrapped; an unsafe attribute is refused. A value of
        a plain data type is never a method (`wrap_str_format` returns None for it), and
        the verdict is read from `is_safe_attribute`'s memory in line.
        """
        try:
            value = getattr(obj, attribute)
        except AttributeError:
            try:
                return obj[attribute]
            except (TypeError, LookupError):
                return self.undefined(obj=obj, name=attribute)
        if type(value) not in _PLAIN_VALUE_TYPES:
            wrapped = self.wrap_str_format(value)
            if wrapped is not None:
                return wrapped
        verdict = (
            None if isinstance(obj, type) else self._safe_attributes.get((type(obj), attribute))
        )
        if verdict is None:
            verdict = self.is_safe_attribute(obj, attribute, value)
        return value if verdict else self.unsafe_undefined(obj, attribute)
