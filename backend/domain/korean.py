"""Korean forms: particles after a filled value (은/는, 이/가, …) and dates as people write them."""

from __future__ import annotations

import re
from datetime import date, datetime

# Particle pairs: (after a final consonant, after a vowel). 으로/로 also takes 로 after ㄹ.
PARTICLES: dict[str, tuple[str, str]] = {
    "은": ("은", "는"),
    "는": ("은", "는"),
    "이": ("이", "가"),
    "가": ("이", "가"),
    "을": ("을", "를"),
    "를": ("을", "를"),
    "과": ("과", "와"),
    "와": ("과", "와"),
    "으로": ("으로", "로"),
    "로": ("으로", "로"),
    "이에요": ("이에요", "예요"),
    "예요": ("이에요", "예요"),
}
# How digits are read aloud: 영 일 이 삼 사 오 육 칠 팔 구 → does the reading end in a
# consonant, and is it ㄹ (which takes 로, not 으로)?
_DIGIT_FINAL = {
    "0": "ㅇ",
    "1": "ㄹ",
    "2": "",
    "3": "ㅁ",
    "4": "",
    "5": "",
    "6": "ㄱ",
    "7": "ㄹ",
    "8": "ㄹ",
    "9": "",
}
# Latin letters read as their Korean names (엘, 엠, 엔, 알 end in a consonant; "O" is the
# articles' own placeholder letter, written "OOO으로", so it reads as 영).
_LATIN_FINAL = {"l": "ㄹ", "m": "ㅁ", "n": "ㄴ", "r": "ㄹ", "o": "ㅇ"}
_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3
_RIEUL_INDEX = 8
_ISO_DATETIME = re.compile(
    r"^\s*(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})(?:[T ](?P<h>\d{1,2}):(?P<mi>\d{2}).*)?\s*$"
)


def final_consonant(word: str) -> str | None:
    """The final consonant of the word's last readable character ('' = vowel; None = unreadable)."""
    for char in reversed(word.strip()):
        code = ord(char)
        if _HANGUL_FIRST <= code <= _HANGUL_LAST:
            index = (code - _HANGUL_FIRST) % 28
            if index == 0:
                return ""
            return "ㄹ" if index == _RIEUL_INDEX else "ㅇ"
        if char in _DIGIT_FINAL:
            return _DIGIT_FINAL[char]
        if char.isalpha() and char.isascii():
            return _LATIN_FINAL.get(char.lower(), "")
        if char.isspace() or char in ")]}'\"’”.,":
            continue
        return None
    return None


def particle(word: str, form: str) -> str:
    """The particle of the pair `form` belongs to that reads right after `word`."""
    try:
        consonant_form, vowel_form = PARTICLES[form]
    except KeyError:
        raise ValueError(f"unknown particle {form!r}") from None
    final = final_consonant(word)
    if final is None:
        return "(으)로" if consonant_form == "으로" else f"{consonant_form}({vowel_form})"
    if consonant_form == "으로" and final == "ㄹ":
        return vowel_form
    return consonant_form if final else vowel_form


def month_day(value: date) -> str:
    """2월 14일."""
    return f"{value.month}월 {value.day}일"


def month_day_time(value: datetime) -> str:
    """2월 14일 22:35."""
    return f"{month_day(value)} {value:%H:%M}"


def read_date_text(text: str, *, with_time: bool = True) -> str:
    """A free-text date that is an ISO date (time) reads as 2월 14일 (22:35); other text as is.

    `with_time=False` drops an ISO time: the `md` filter's "00월 00일" is a day, not a moment.
    """
    match = _ISO_DATETIME.match(text)
    if match is None:
        return text
    try:
        day = date(int(match["y"]), int(match["mo"]), int(match["d"]))
    except ValueError:
        return text
    if match["h"] is None or not with_time:
        return month_day(day)
    return f"{month_day(day)} {int(match['h']):02d}:{match['mi']}"
