"""Input fuzzing: `guidepost explain` answers a decision or one clean line, never a traceback.

Hypothesis feeds the CLI (in process, through `backend.cli.main` and stdin) arbitrary JSON,
both input shapes with arbitrary field values (Korean, emoji, control characters, huge
strings, NaN/Infinity, huge integers, wrong types) and text that is not JSON. Exit codes
are only 0 (a decision JSON on stdout, nothing on stderr) or 2 (nothing on stdout, one
line on stderr). A sample of nasty inputs also runs in a real `python -m backend` process.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_helpers import Recorder

from backend import catalog_cache
from backend.api.openapi import TRISTATE_WORDS
from backend.cli import EXIT_BAD_INPUT, EXIT_OK, main
from backend.demo import DEMO_TICKETS
from backend.domain import guides, render
from backend.domain.fields import FieldCatalog, FieldDef, load_field_catalog, option_tag
from backend.settings import REPO_ROOT

CATALOG: FieldCatalog = load_field_catalog(REPO_ROOT / "macros" / "fields.yaml")
FIELD_MAP = {
    key: 360_000_000 + index for index, key in enumerate(CATALOG.keys()) if CATALOG.get(key).zendesk
}
KEYS = CATALOG.keys()
DECISION_KEYS = {"guide", "suggested", "branch", "eligible", "blocks", "missing", "notices"}
STATS: Counter[str] = Counter()
STARTED: dict[str, float] = {}

# ---------------------------------------------------------------- strategies

KOREAN = st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)
EMOJI = st.sampled_from(["😀", "🚗", "\U0001f3fd", "\U0001f1f0", "\u200d", "\ufe0f", "🅿"])
EMOJI_SEQUENCES = st.sampled_from(["👍🏽", "🇰🇷", "👨‍👩‍👧", "🅿️", "🚗💨"])
CONTROL = st.characters(codec="utf-8", categories=["Cc", "Cf", "Zl", "Zp"])
NASTY_CHARS = st.one_of(KOREAN, EMOJI, CONTROL, st.characters(codec="utf-8"))


def repeat(pair: tuple[str, int]) -> str:
    """A huge string (built lazily: a strategy's repr must stay small)."""
    return pair[0] * pair[1]


HUGE_STRINGS = st.sampled_from(
    [
        ("가", 100_000),
        ("9", 5_000),
        ("A", 3_000),
        ("<script>", 2_000),
        (" ", 10_000),
        ("\n", 2_001),
        ("12가3456 ", 500),
        ("010-1234-5678", 300),
    ]
).map(repeat)
NASTY_TEXT = st.one_of(
    st.text(NASTY_CHARS, max_size=40), st.text(max_size=20), EMOJI_SEQUENCES, HUGE_STRINGS
)
NUMBERS = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 2**53, 2**63, 10**18, 0.5, -0.0, 1e308, 12000.0]),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, NASTY_TEXT)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)


def near_valid(field: FieldDef) -> st.SearchStrategy[Any]:
    """Values close to what the field accepts (and some that just miss)."""
    codes = list(field.options)
    match field.type:
        case "tristate":
            words = [*TRISTATE_WORDS, option_tag(field.key, "yes"), option_tag(field.key, "no")]
            return st.sampled_from([True, False, None, "YES", " 예 ", "maybe", "1", *words])
        case "dropdown":
            tags = [option_tag(field.key, code) for code in codes]
            return st.sampled_from([*codes, *tags, "", " ", codes[0].upper(), codes[0] + "\x00"])
        case "date":
            return st.sampled_from(
                ["2024-11-20", "2024-02-30", "0000-01-01", "9999-12-31", "2024/11/20", "20241120"]
            )
        case "datetime":
            return st.sampled_from(
                [
                    "2024-11-20T14:00",
                    "2024-11-20 14:00:00+09:00",
                    "2024-11-20T25:00",
                    "0001-01-01T00:00+14:00",
                    "9999-12-31T23:59:59-23:59",
                    "2024-11-20T14:00:00.1234567890Z",
                    "2024-11-20T14:00+99:99",
                ]
            )
        case "amount" | "integer":
            return st.sampled_from(
                [0, 12000, "12,000원", "12,000 원", "１２０００", "-5", "1,2,3", 10**12, 3.0, 3.5]
            )
        case "plate":
            return st.sampled_from(
                ["12가3456", "서울12가3456", "123 가 4567", "12갛3456", "12A3456"]
            )
        case "call_id":
            return st.sampled_from(["880000417", 880000417, "0", "1" * 21, -1, "８８０"])
        case "coupon_split":
            return st.sampled_from(["5,000원 2장", "3000x3", "5000x2", "0원 1장", "1000x999999"])
        case _:
            return st.sampled_from(["역삼 센터필드", "<b>x</b>", "a\x00b", "\r\n", "가가"])


def field_value(key: str) -> st.SearchStrategy[Any]:
    """Any JSON value for a field, biased towards nasty and near-valid ones."""
    return st.one_of(near_valid(CATALOG.get(key)), SCALARS, JSON_VALUES)


FIELD_PAIRS = st.lists(
    st.one_of(
        st.sampled_from(KEYS).flatmap(lambda key: st.tuples(st.just(key), field_value(key))),
        st.tuples(st.text(max_size=12), JSON_VALUES),
    ),
    max_size=10,
)
TEXT_OR_ANY = st.one_of(NASTY_TEXT, SCALARS, JSON_VALUES)

SEMANTIC = st.fixed_dictionaries(
    {},
    optional={
        "fields": st.one_of(FIELD_PAIRS.map(dict), JSON_VALUES),
        "subject": TEXT_OR_ANY,
        "description": TEXT_OR_ANY,
        "prior_reconnections": st.one_of(NUMBERS, SCALARS),
    },
)


def perturb(ticket: dict[str, Any], changes: list[tuple[str, Any]]) -> dict[str, Any]:
    """A demo ticket with a few fields changed (mostly decisions, some errors)."""
    fields = dict(ticket.get("fields", {}))
    for key, value in changes:
        fields[key] = value
    return {**ticket, "fields": fields}


DEMO_PERTURBED = st.builds(
    perturb,
    st.integers(min_value=0, max_value=len(DEMO_TICKETS) - 1).map(DEMO_TICKETS.__getitem__),
    st.lists(
        st.sampled_from(KEYS).flatmap(
            lambda key: st.tuples(st.just(key), st.one_of(near_valid(CATALOG.get(key)), SCALARS))
        ),
        max_size=3,
    ),
)

CUSTOM_FIELD = st.fixed_dictionaries(
    {
        "id": st.one_of(st.sampled_from(sorted(FIELD_MAP.values())), NUMBERS, SCALARS),
        "value": st.one_of(SCALARS, JSON_VALUES),
    }
)
ZENDESK = st.fixed_dictionaries(
    {
        "ticket": st.one_of(
            st.fixed_dictionaries(
                {},
                optional={
                    "subject": TEXT_OR_ANY,
                    "description": TEXT_OR_ANY,
                    "custom_fields": st.one_of(st.lists(CUSTOM_FIELD, max_size=8), JSON_VALUES),
                    "id": NUMBERS,
                    "tags": JSON_VALUES,
                },
            ),
            JSON_VALUES,
        )
    },
    optional={"prior_reconnections": NUMBERS, "fields": st.just({})},
)

RAW_TEXT = st.one_of(
    st.text(max_size=60),
    st.text(NASTY_CHARS, max_size=60),
    st.integers(min_value=0, max_value=4_000).map(lambda digits: "[" + "1" * digits + "]"),
    st.integers(min_value=1, max_value=500).map(lambda depth: "[" * depth + "]" * depth),
    st.sampled_from(
        [
            "",
            " ",
            "\ufeff{}",
            "{",
            "NaN",
            '{"fields": {"original_fare": Infinity}}',
            "null",
            '"text"',
            "[]",
            '{"fields": {}, "fields": []}',
        ]
    ),
)


def dump(value: Any) -> str:
    """JSON text of a generated value (NaN/Infinity written as Python's json does)."""
    return json.dumps(value, ensure_ascii=False)


# ---------------------------------------------------------------- running explain


@pytest.fixture(scope="module", autouse=True)
def explain_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A field map for Zendesk-shaped inputs; guides loaded once, not once per input.

    `run_explain` reads the guide files on every call (0.8 s), as a one-shot CLI may; the
    fuzz keeps one catalog and renderer so it can try thousands of inputs. The real,
    unpatched entry point runs in `test_real_process_exit_codes`.
    """
    STARTED["at"] = time.monotonic()
    path = tmp_path_factory.mktemp("explain") / "field_map.json"
    path.write_text(json.dumps(FIELD_MAP), encoding="utf-8")
    catalog = guides.load_catalog(REPO_ROOT / "macros")
    renderer = render.TextRenderer(catalog)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GUIDEPOST_FIELD_MAP", str(path))
        patch.setenv("GUIDEPOST_GUIDES_DIR", str(REPO_ROOT / "macros"))
        patch.setattr(guides, "load_catalog", lambda guides_dir: catalog)
        patch.setattr(catalog_cache, "load_catalog_cached", lambda guides_dir: catalog)
        patch.setattr(render, "TextRenderer", lambda loaded: renderer)
        patch.setattr(catalog_cache, "cached_renderer", lambda loaded: renderer)
        yield path


def run_explain_cli(text: str) -> tuple[int, str, str]:
    """Run `guidepost explain -` in process with `text` on stdin."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    sys.stdin = io.StringIO(text)
    try:
        code = main(["explain", "-"], out=out, err=err)
    finally:
        sys.stdin = saved
    return code, out.getvalue(), err.getvalue()


def check_outcome(code: int, stdout: str, stderr: str) -> None:
    """A decision (exit 0) or one clean line (exit 2); never a traceback."""
    STATS["inputs"] += 1
    assert "Traceback" not in stderr, stderr[-2000:]
    assert code in (EXIT_OK, EXIT_BAD_INPUT), (code, stderr[-500:])
    if code == EXIT_OK:
        STATS["decisions"] += 1
        assert stderr == ""
        decision = json.loads(stdout)
        assert set(decision) >= DECISION_KEYS
        assert isinstance(decision["branch"], str)
    else:
        STATS["validation_errors"] += 1
        assert stdout == ""
        assert stderr.endswith("\n")
        assert stderr.count("\n") == 1, stderr
        assert stderr.strip(), "an empty error line"
        assert len(stderr) < 1_000, f"error line of {len(stderr)} characters"


def explain_and_check(text: str) -> None:
    """Run explain on `text` and check the outcome; an escaping exception fails the test."""
    try:
        code, stdout, stderr = run_explain_cli(text)
    except BaseException as exc:
        STATS["tracebacks"] += 1
        raise AssertionError(f"explain raised {type(exc).__name__}: {exc!s:.300}") from exc
    if code not in (EXIT_OK, EXIT_BAD_INPUT):
        STATS["other_exit_codes"] += 1
    check_outcome(code, stdout, stderr)


FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(data=JSON_VALUES)
def test_arbitrary_json(data: Any) -> None:
    """Any JSON document at all."""
    explain_and_check(dump(data))


@FUZZ
@given(data=SEMANTIC)
def test_semantic_input_with_arbitrary_values(data: dict[str, Any]) -> None:
    """The semantic shape with arbitrary keys and values."""
    explain_and_check(dump(data))


@FUZZ
@given(data=DEMO_PERTURBED)
def test_demo_tickets_with_changed_fields(data: dict[str, Any]) -> None:
    """Real tickets with one to three fields changed: mostly decisions."""
    explain_and_check(dump(data))


@FUZZ
@given(data=ZENDESK)
def test_zendesk_shaped_input(data: dict[str, Any]) -> None:
    """A Zendesk ticket read through the field map, with arbitrary custom field values."""
    explain_and_check(dump(data))


@settings(max_examples=100, deadline=None, database=None)
@given(text=RAW_TEXT)
def test_text_that_is_not_json(text: str) -> None:
    """Invalid JSON, deep nesting, huge numbers, BOMs."""
    explain_and_check(text)


# ---------------------------------------------------------------- a real process

PROCESS_INPUTS: list[bytes] = [
    dump(DEMO_TICKETS[0]).encode(),
    b"{",
    b'{"fields": {"car_number": "12\xea\xb0\x80345"}}',
    b'{"fields": {"parking_lot": "\\u0000\\ud800"}}',
    b'{"subject": "\xf0\x9f\x9a\x97 \\ud83d", "fields": {"original_fare": NaN}}',
    b'{"ticket": {"custom_fields": [{"id": 1e400, "value": []}]}}',
    b"\xff\xfe{}",
]

# Inputs that once crashed explain (RecursionError / ValueError out of json.loads).
KNOWN_CRASHES = {
    "deep_nesting": b"[" * 100_000,
    "int_over_4300_digits": b'{"prior_reconnections": ' + b"9" * 5_000 + b"}",
}


def run_process(data: bytes, tmp_path: Path, index: int) -> tuple[int, str, str]:
    """`python -m backend explain FILE` in a subprocess (the real exit code and stderr)."""
    path = tmp_path / f"input-{index}.json"
    path.write_bytes(data)
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    result = subprocess.run(
        [sys.executable, "-m", "backend", "explain", str(path)],
        capture_output=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=120,
        check=False,
    )
    return (
        result.returncode,
        result.stdout.decode("utf-8", "replace"),
        result.stderr.decode("utf-8", "replace"),
    )


def test_real_process_exit_codes(tmp_path: Path) -> None:
    """The installed entry point: exit 0 or 2 and one line, also for bytes that are not UTF-8."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(
            pool.map(
                lambda pair: run_process(pair[1], tmp_path, pair[0]), enumerate(PROCESS_INPUTS)
            )
        )
    problems = []
    for data, (code, stdout, stderr) in zip(PROCESS_INPUTS, results, strict=True):
        STATS["subprocess_inputs"] += 1
        try:
            check_outcome(code, stdout, stderr)
        except AssertionError as exc:
            if code not in (EXIT_OK, EXIT_BAD_INPUT) or "Traceback" in stderr:
                STATS["tracebacks"] += 1
            problems.append(f"{data[:40]!r}…: exit {code}: {str(exc)[:300]}")
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("name", sorted(KNOWN_CRASHES))
def test_known_crashes(name: str, tmp_path: Path) -> None:
    """Deep nesting and a 5,000-digit integer: exit 2 and one line, no traceback."""
    code, stdout, stderr = run_process(KNOWN_CRASHES[name], tmp_path, 0)
    if code != EXIT_BAD_INPUT or "Traceback" in stderr:
        STATS["known_crashes"] += 1
    assert "Traceback" not in stderr, stderr[-300:]
    assert code == EXIT_BAD_INPUT
    assert stdout == ""


def test_record_figures(figures: Recorder) -> None:
    """Record the item's figures (runs last in this module)."""
    figures(
        "explain_fuzz",
        {
            "inputs": STATS["inputs"],
            "decisions": STATS["decisions"],
            "validation_errors": STATS["validation_errors"],
            "subprocess_inputs": STATS["subprocess_inputs"],
            "tracebacks": STATS["tracebacks"],
            "other_exit_codes": STATS["other_exit_codes"],
            "known_crashes": STATS["known_crashes"],
            "seconds": round(time.monotonic() - STARTED["at"], 1),
        },
    )
    assert STATS["inputs"] >= 600
