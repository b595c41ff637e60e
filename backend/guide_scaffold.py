"""`guidepost guides new <id>`: a guide folder that `guides check` passes the moment it exists.

The scaffold is a two-row table on the shared `identity_verified` field (collect it, then
act), one text per branch (marked not from the article) and a RULINGS.md stub. Its 상담유형
code is the guide id: an option added to fields.yaml's `consult_type` when missing, so the
guide is selectable. Everything to fill in says TODO; nothing is a Python change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from backend.errors import GuideDataError, InputError

GUIDE_ID = re.compile(r"[a-z][a-z0-9_]{2,40}")
SELECTOR_FIELD = "consult_type"
ASKED_FIELD = "identity_verified"


@dataclass(frozen=True)
class Scaffold:
    """What `guides new` wrote: the guide folder, its files and whether fields.yaml changed."""

    folder: Path
    files: tuple[Path, ...]
    option_added: bool


def _guide_yaml(guide_id: str) -> str:
    return f"""# {guide_id} — scaffolded by `guidepost guides new`; keys: macros/README.md.
# Replace each TODO with the Help Center article's words, then run `guidepost guides check`.
id: {guide_id}
title: "TODO {guide_id}"
source:
  seed: TODO.txt          # the article's text file (the authority for every script)
  title: "TODO {guide_id}"
  sha256: "{"0" * 64}"
consult_types:
  {guide_id}: null        # the 상담유형 code(s) that select this guide (fields.yaml options)
keywords: []              # words of a subject/description that suggest this guide
settings: {{}}
fields: [{ASKED_FIELD}]
response_order: [{ASKED_FIELD}]
rows:
  # 1. Collect what the article asks first.
  - when: {{fact: {ASKED_FIELD}, not_yet: true}}
    branch: {guide_id}.collect_info
    collect: [{ASKED_FIELD}]
  # 2. Everything known: the action.
  - when: {{fact: {ASKED_FIELD}, is: true}}
    branch: {guide_id}.act
    action: true
branches:
  {guide_id}.collect_info:
    label: {{ko: "TODO 정보 확인", en: "TODO collect the facts"}}
    texts:
      - {{key: ask, kind: reply, title: "TODO 안내", template: ask.j2, from_seed: false,
         outcomes: [pending]}}
  {guide_id}.act:
    label: {{ko: "TODO 처리", en: "TODO act"}}
    texts:
      - {{key: act, kind: reply, title: "TODO 처리 안내", template: act.j2, from_seed: false,
         outcomes: [eligible]}}
"""


_RULINGS = """# {guide_id}: rulings

Where the article is silent or ambiguous, write the ruling here (R1, R2, …) and cite it
from the guide's notices. TODO.
"""
_TEMPLATES = {
    "ask.j2": "TODO: 아티클의 첫 안내 문구를 붙여넣으세요.\n",
    "act.j2": "TODO: 아티클의 처리 안내 문구를 붙여넣으세요.\n",
}


def _add_selector_option(fields_file: Path, guide_id: str) -> bool:
    """Add `guide_id` under consult_type's options in fields.yaml (text edit, comments kept)."""
    lines = fields_file.read_text("utf-8").splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line == f"  {SELECTOR_FIELD}:\n"), None)
    if start is None:
        raise GuideDataError(f"{fields_file}: no `{SELECTOR_FIELD}:` field to add the guide to")
    options = next(
        (i for i in range(start + 1, len(lines)) if lines[i].strip() == "options:"), None
    )
    if options is None:
        raise GuideDataError(f"{fields_file}: `{SELECTOR_FIELD}` has no options")
    end = options + 1
    while end < len(lines) and lines[end].startswith("      "):
        if lines[end].strip().startswith(f"{guide_id}:"):
            return False
        end += 1
    option = f'      {guide_id}: {{ko: "TODO 상담유형", en: "TODO consultation type"}}\n'
    lines.insert(end, option)
    fields_file.write_text("".join(lines), encoding="utf-8")
    return True


def scaffold_guide(macros_dir: Path, guide_id: str) -> Scaffold:
    """Write macros_dir/<guide_id>/ (guide.yaml, templates, RULINGS.md); never overwrite."""
    if not GUIDE_ID.fullmatch(guide_id):
        raise InputError(
            f"guide id {guide_id!r}: 3–41 characters of a-z, 0-9 and _, starting with a letter"
        )
    folder = macros_dir / guide_id
    if folder.exists():
        raise InputError(f"{folder} already exists: choose another guide id")
    fields_file = macros_dir / "fields.yaml"
    if not fields_file.is_file():
        raise InputError(f"{macros_dir}: no fields.yaml (is this a macros folder?)")
    option_added = _add_selector_option(fields_file, guide_id)
    templates = folder / "templates"
    templates.mkdir(parents=True)
    written = [folder / "guide.yaml", folder / "RULINGS.md"]
    written[0].write_text(_guide_yaml(guide_id), encoding="utf-8")
    written[1].write_text(_RULINGS.format(guide_id=guide_id), encoding="utf-8")
    for name, text in _TEMPLATES.items():
        (templates / name).write_text(text, encoding="utf-8")
        written.append(templates / name)
    return Scaffold(folder=folder, files=tuple(written), option_added=option_added)
