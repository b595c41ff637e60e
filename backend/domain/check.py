"""`guides check`: prove the guide data sound before anyone relies on it.

Over the finite domain of every dropdown and tri-state value (amounts, dates and
times sampled at their boundaries) the checker walks each table lazily — it only
branches on a fact when the evaluation actually reads it — so every path of the
decision tree is visited. It proves that each table is total, each branch is
reachable, each block and notice can be produced, each template renders, and
that every id used is declared (branches under `branches:`, blocks and notices in
labels.yaml, options in fields.yaml) and every declared id is used. Nothing here names
a guide: GUIDES.md's ids for the two real guides are checked by tests/domain (spec_ids).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from backend.domain.conditions import Tri
from backend.domain.coupon import CouponPiece
from backend.domain.decision import Decision
from backend.domain.derived import DERIVED
from backend.domain.engine import (
    SUGGESTED_NOTICE,
    FactEnv,
    choose_guide,
    decide,
    evaluate_table,
)
from backend.domain.facts import TicketInput
from backend.domain.guides import Guide, GuideCatalog, Row
from backend.domain.render import TextRenderer
from backend.domain.render_filters import is_placeholder_setting
from backend.domain.writeback import TAG_CHARS, TAG_SLOT, tag_slots
from backend.errors import GuideDataError

# Notices the platform shows whatever the guide (not a guide's declaration): the engine's
# "guide suggested" and the connectors' "typed value differs" (backend/fetched_facts.py).
PLATFORM_NOTICES = frozenset({SUGGESTED_NOTICE, "connector_value_differs"})
# Field types whose values are tag-safe (digits, option codes, yes/no).
TAG_FIELD_TYPES = frozenset({"call_id", "integer", "dropdown", "tristate", "amount"})
TEXT_KEY = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")
SEOUL = ZoneInfo("Asia/Seoul")
# How many complete paths per branch are rendered in full (texts + note).
RENDER_SAMPLES_PER_BRANCH = 12


class _NeedValue(Exception):
    """Raised inside an evaluation that reads a fact the path has not assigned yet."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


_EMPTY_TICKET = TicketInput(values={}, subject="", description="")


class _PathEnv(FactEnv):
    """A FactEnv whose fields come from a partial assignment; unassigned reads branch."""

    def __init__(self, guide: Guide, catalog: GuideCatalog, assignment: dict[str, Any]) -> None:
        super().__init__(guide, _EMPTY_TICKET, catalog)
        self.assignment = assignment

    def field_value(self, name: str) -> Any:
        if name not in self.assignment:
            raise _NeedValue(name)
        return self.assignment[name]


def sample_domain(kind: str, options: list[str]) -> list[Any]:
    """The finite sample of values a field of that type takes during the proof."""
    t = [datetime(2026, 11, 20, h, 0, tzinfo=SEOUL) for h in (9, 18)]
    samples: dict[str, list[Any]] = {
        "tristate": [None, True, False],
        "dropdown": [None, *options],
        # Boundaries for difference ≤ 0, rounding, overtime: equal, below, above.
        "amount": [None, 0, 12500],
        "integer": [0, 1],
        "date": [None, date(2026, 11, 20)],
        "datetime": [None, *t],
        "coupon_split": [None, (CouponPiece(1000, 3),), (CouponPiece(9000, 1),)],
        "plate": [None, "12가3456"],
        "call_id": [None, "1234567"],
        "text": [None, "샘플"],
    }
    return samples[kind]


@dataclass
class GuideProof:
    """What the walk over one guide found."""

    paths: int = 0
    branches: Counter[str] = field(default_factory=Counter)
    blocks: set[str] = field(default_factory=set)
    notices: set[str] = field(default_factory=set)
    renders: int = 0
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))


Probe = Callable[[Row, Any, "_PathEnv"], bool]


def _walk(
    guide: Guide, catalog: GuideCatalog, probe: Probe | None = None
) -> Iterator[tuple[dict[str, Any], _PathEnv, Row, Any, bool]]:
    """Yield every complete path of the decision tree, branching only on facts read.

    Without a probe only the table is walked; a probe reads more facts (a block's
    condition, the checks…) and says whether the path shows what is looked for.
    """
    stack: list[dict[str, Any]] = [{"consult_type": c} for c in guide.consult_types]
    while stack:
        assignment = stack.pop()
        env = _PathEnv(guide, catalog, assignment)
        try:
            row, found = evaluate_table(guide, env, with_checks=False)
            shown = probe(row, found, env) if probe is not None else True
        except _NeedValue as need:
            definition = catalog.fields.get(need.name)
            for value in sample_domain(definition.type, list(definition.options)):
                stack.append({**assignment, need.name: value})
            continue
        yield assignment, env, row, found, shown


def _search(guide: Guide, catalog: GuideCatalog, probe: Probe) -> dict[str, Any] | None:
    """The first path on which the probe holds, or None when no path does."""
    for assignment, _env, _row, _found, shown in _walk(guide, catalog, probe):
        if shown:
            return assignment
    return None


def _probe_rule(branch: str | None, rule: Any, checks_only: bool = False) -> Probe:
    def probe(row: Row, found: Any, env: _PathEnv) -> bool:
        if branch is not None and row.branch != branch:
            return False
        if checks_only and not row.checks:
            return False
        return bool(rule.condition.evaluate(env.lookup).hit)

    return probe


def _probe_eligible(row: Row, found: Any, env: _PathEnv) -> bool:
    # Prunes as soon as one check blocks or one fact stays unknown.
    if not row.action or found.blocks or found.missing:
        return False
    for block in row.blocks:
        if block.condition.evaluate(env.lookup).value is not Tri.NO:
            return False
    for collect in row.collect:
        value = env.value(collect.fact)
        if value is None or (collect.until is not None and value != collect.until):
            return False
    if row.checks:
        for check in env.guide.checks:
            if check.applies_condition.evaluate(env.lookup).value is Tri.NO:
                continue
            if check.condition.evaluate(env.lookup).value is not Tri.NO:
                return False
        for require in env.guide.requires:
            needed = require.condition.evaluate(env.lookup).hit
            if (
                needed
                and env.value(require.fact) is None
                and not any(env.value(other) is not None for other in require.unless_known)
            ):
                return False
    return True


def _render_sample(
    guide: Guide, catalog: GuideCatalog, renderer: TextRenderer, assignment: dict[str, Any]
) -> Decision:
    count = guide.once_only.count if guide.once_only is not None else None
    values = {k: v for k, v in assignment.items() if v is not None and k != count}
    ticket = TicketInput(
        values=values,
        subject="",
        description="",
        prior_reconnections=assignment.get(count, 0) if count else 0,
    )
    return decide(ticket, catalog, renderer)


def prove_guide(
    guide: Guide, catalog: GuideCatalog, renderer: TextRenderer
) -> tuple[GuideProof, list[str]]:
    """Walk one guide's decision tree; return what was reached and the problems found."""
    proof = GuideProof()
    problems: list[str] = []
    for assignment, _env, row, _found, _shown in _walk(guide, catalog):
        proof.paths += 1
        proof.branches[row.branch] += 1
        samples = proof.samples[row.branch]
        if len(samples) < RENDER_SAMPLES_PER_BRANCH:
            samples.append(assignment)
    for branch in guide.branch_ids():
        if branch not in proof.branches:
            problems.append(f"{guide.id}: branch {branch} is unreachable")
    # Each block, check, notice and gated text: one path that produces it.
    witnesses: list[dict[str, Any]] = []
    for row in guide.rows:
        for block in row.blocks:
            found_at = _search(guide, catalog, _probe_rule(row.branch, block))
            if found_at is None:
                problems.append(f"{guide.id}: block {block.id} on {row.branch} is never produced")
            else:
                proof.blocks.add(block.id)
                witnesses.append(found_at)
        for row_notice in row.notices:
            if row.branch in proof.branches:
                proof.notices.add(row_notice)
    for check in guide.checks:
        found_at = _search(guide, catalog, _probe_rule(None, check, checks_only=True))
        if found_at is None:
            problems.append(f"{guide.id}: check {check.id} is never produced")
        else:
            proof.blocks.add(check.id)
            witnesses.append(found_at)
    eligible_at = _search(guide, catalog, _probe_eligible)
    if eligible_at is None:
        problems.append(f"{guide.id}: no path is eligible")
    else:
        witnesses.append(eligible_at)
    for notice in guide.notices:
        found_at = (
            eligible_at
            if notice.on_eligible
            else _search(guide, catalog, _probe_rule(None, notice))
        )
        if found_at is None:
            problems.append(f"{guide.id}: notice {notice.id} is never produced")
        else:
            proof.notices.add(notice.id)
            witnesses.append(found_at)
    for branch_id, branch_spec in guide.branches.items():
        for text in branch_spec.texts:
            if text.when is None:
                continue
            found_at = _search(guide, catalog, _probe_rule(branch_id, text))
            if found_at is None:
                problems.append(f"{guide.id}/{branch_id}/{text.key}: its `when` never holds")
            else:
                witnesses.append(found_at)
    samples = [a for group in proof.samples.values() for a in group] + witnesses
    for assignment in samples:
        try:
            decision = _render_sample(guide, catalog, renderer, assignment)
        except GuideDataError as exc:
            problems.append(f"{guide.id}: {exc.detail} — with {_describe(assignment)}")
            continue
        proof.renders += len(decision.texts) + 1
        problems.extend(
            f"{guide.id}/{decision.branch}/{text.key}: renders 'None'"
            for text in decision.texts
            if "None" in text.body
        )
    return proof, problems


def _describe(assignment: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in sorted(assignment.items(), key=lambda kv: kv[0]))


def check_ids(guide: Guide, catalog: GuideCatalog) -> list[str]:
    """Every id used is declared and every reference exists (else the proof cannot run)."""
    problems: list[str] = []
    for branch in guide.branch_ids():
        if branch not in guide.branches:
            problems.append(f"{guide.id}: branch {branch!r} has no entry under branches")
    for block in guide.block_ids():
        if block not in catalog.labels.get("blocks", {}):
            problems.append(f"{guide.id}: block {block!r} has no label in labels.yaml")
    for notice in guide.notice_ids():
        if notice not in catalog.labels.get("notices", {}):
            problems.append(f"{guide.id}: notice {notice!r} has no label in labels.yaml")
    known_facts = set(catalog.fields.keys()) | set(DERIVED)
    referenced = {name for row in guide.rows for name in row.condition.facts()}
    referenced |= {c.fact for row in guide.rows for c in row.collect}
    referenced |= {name for rule in guide.checks + guide.notices for name in rule.condition.facts()}
    referenced |= {name for row in guide.rows for b in row.blocks for name in b.condition.facts()}
    referenced |= {r.fact for r in guide.requires} | {s.field for s in guide.sets}
    referenced |= set(guide.fields) | set(guide.response_order)
    referenced |= set(guide.fallbacks) | set(guide.fallbacks.values())
    for name in sorted(referenced - known_facts):
        problems.append(f"{guide.id}: unknown fact {name!r} (not in fields.yaml nor derived)")
    for code in guide.consult_types:
        if code not in catalog.fields.get("consult_type").options:
            problems.append(f"{guide.id}: consult_type option {code!r} is not in fields.yaml")
    problems += check_features(guide, catalog)
    templates = catalog.templates_dir(guide.id)
    for branch_id, branch_spec in guide.branches.items():
        keys = [t.key for t in branch_spec.texts]
        for key in {k for k in keys if keys.count(k) > 1}:
            problems.append(f"{guide.id}/{branch_id}: text key {key!r} is used twice")
        for text in branch_spec.texts:
            if not TEXT_KEY.match(text.key):
                problems.append(
                    f"{guide.id}/{branch_id}: text key {text.key!r} is not dotted ascii"
                )
            if (text.template is None) == (text.variants is None):
                problems.append(f"{guide.id}/{branch_id}/{text.key}: give template or variants")
            for name in text.template_names():
                if not (templates / name).is_file():
                    problems.append(f"{guide.id}/{branch_id}/{text.key}: no template {name}")
    return problems


def _check_tag(guide: Guide, catalog: GuideCatalog, where: str, template: str) -> list[str]:
    """A tag template reads only the guide's tag-safe fields; its fixed text is a tag's."""
    problems: list[str] = []
    for name in tag_slots(template):
        if name not in guide.fields or name not in catalog.fields:
            problems.append(f"{guide.id}: {where} {template!r} reads {name!r}, not a guide field")
        elif catalog.fields.get(name).type not in TAG_FIELD_TYPES:
            problems.append(
                f"{guide.id}: {where} {template!r} reads {name!r}: a "
                f"{catalog.fields.get(name).type} field may hold characters a tag cannot"
            )
    if not TAG_CHARS.fullmatch(TAG_SLOT.sub("0", template)):
        problems.append(f"{guide.id}: {where} {template!r}: a tag is lower-case a-z, 0-9, _ and -")
    if template.startswith("gp_"):
        problems.append(f"{guide.id}: {where} {template!r}: gp_ tags are Guidepost's own")
    return problems


def check_features(guide: Guide, catalog: GuideCatalog) -> list[str]:
    """The guide's opt-in features name its own fields: fallbacks, tags, once_only."""
    problems: list[str] = []
    for name, source in guide.fallbacks.items():
        if name not in guide.fields:
            problems.append(f"{guide.id}: fallbacks: {name!r} is not one of the guide's fields")
        if source not in DERIVED and source not in catalog.fields:
            problems.append(f"{guide.id}: fallbacks: {name!r} falls back on unknown {source!r}")
    for rule in guide.tags:
        problems += _check_tag(guide, catalog, "tag", rule.tag)
        unknown = rule.condition.facts() - set(catalog.fields.keys()) - set(DERIVED)
        problems += [f"{guide.id}: tag {rule.tag!r}: unknown fact {n!r}" for n in sorted(unknown)]
    once = guide.once_only
    if once is not None:
        for role, name in (("key", once.key), ("claim", once.claim), ("count", once.count)):
            if name not in guide.fields or name not in catalog.fields:
                problems.append(f"{guide.id}: once_only.{role} {name!r} is not a guide field")
        if once.count in catalog.fields and catalog.fields.get(once.count).type != "integer":
            problems.append(f"{guide.id}: once_only.count {once.count!r} must be an integer field")
        if tag_slots(once.key_tag) != [once.key]:
            problems.append(
                f"{guide.id}: once_only.key_tag {once.key_tag!r} must read {{{once.key}}} once"
            )
        problems += _check_tag(guide, catalog, "once_only.key_tag", once.key_tag)
        if tag_slots(once.claim_tag):
            problems.append(f"{guide.id}: once_only.claim_tag {once.claim_tag!r} is a fixed tag")
        problems += _check_tag(guide, catalog, "once_only.claim_tag", once.claim_tag)
    return problems


def check_declared_branches(guide: Guide) -> list[str]:
    """Every branch declared under `branches:` is chosen by a row (the proof still runs)."""
    chosen = set(guide.branch_ids())
    return [
        f"{guide.id}: branch {branch} is declared under branches but unreachable "
        "(no row chooses it)"
        for branch in guide.branches
        if branch not in chosen
    ]


def check_declared_labels(catalog: GuideCatalog) -> list[str]:
    """Every block and notice declared in labels.yaml is used by a guide (or the platform)."""
    used = {
        "blocks": {b for g in catalog.guides.values() for b in g.block_ids()},
        "notices": {n for g in catalog.guides.values() for n in g.notice_ids()} | PLATFORM_NOTICES,
    }
    return [
        f"labels.yaml: {kind[:-1]} {ident!r} is declared but not in the data (no guide uses it)"
        for kind in ("blocks", "notices")
        for ident in catalog.labels.get(kind, {})
        if ident not in used[kind]
    ]


def placeholder_settings(guide: Guide) -> list[str]:
    """Settings still at an example value; scripts show "설정 필요" for them (ERRATA 2)."""
    found: list[str] = []
    for name, value in guide.settings.items():
        values = value.values() if isinstance(value, dict) else [value]
        for item in values:
            if isinstance(item, str) and is_placeholder_setting(item):
                found.append(f"{name}={item!r}")
    return found


def check_guides(
    catalog: GuideCatalog, admin_call_url: str | None = None
) -> tuple[list[str], list[str]]:
    """Run every check over every guide; returns (problems, report lines).

    Settings still at a placeholder are reported (not problems: they render "설정 필요").
    """
    problems: list[str] = []
    report: list[str] = []
    renderer = TextRenderer(catalog)
    for guide in catalog.guides.values():
        for setting in placeholder_settings(guide):
            report.append(f"setting {guide.id}.{setting} is a placeholder: texts show 설정 필요")
    if admin_call_url is not None and is_placeholder_setting(admin_call_url):
        report.append(
            f"setting GUIDEPOST_ADMIN_CALL_URL={admin_call_url!r} is a placeholder: "
            "the link memo marks it 설정 필요"
        )
    for guide in catalog.guides.values():
        id_problems = check_ids(guide, catalog)
        problems.extend(id_problems)
        problems.extend(check_declared_branches(guide))
        if id_problems:
            continue
        proof, found = prove_guide(guide, catalog, renderer)
        problems.extend(dict.fromkeys(found))
        report.append(
            f"{guide.id}: {proof.paths} decision paths, all total; "
            f"{len(proof.branches)}/{len(guide.branch_ids())} branches, "
            f"{len(proof.blocks)}/{len(guide.block_ids())} blocks, "
            f"{len(proof.notices)}/{len(guide.notice_ids())} notices reached; "
            f"{proof.renders} texts rendered"
        )
    problems.extend(check_declared_labels(catalog))
    consults = [c for g in catalog.guides.values() for c in g.consult_types]
    for code in {c for c in consults if consults.count(c) > 1}:
        problems.append(f"consult_type {code!r} maps to more than one guide")
    probe = TicketInput(values={}, subject="", description="")
    if choose_guide(probe, catalog)[0] is not None:
        problems.append("an empty ticket must not get a guide")
    return problems, report
