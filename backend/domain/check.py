"""`guides check`: prove the guide data sound before anyone relies on it.

Over the finite domain of every dropdown and tri-state value (amounts, dates and
times sampled at their boundaries) the checker walks each table lazily — it only
branches on a fact when the evaluation actually reads it — so every path of the
decision tree is visited. It proves that each table is total, each branch is
reachable, each block and notice can be produced, each template renders, and
that every id in the data is one of the specification's (GUIDES.md).
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
    FactEnv,
    choose_guide,
    decide,
    evaluate_table,
)
from backend.domain.facts import TicketInput
from backend.domain.guides import Guide, GuideCatalog, Row
from backend.domain.render import TextRenderer, is_placeholder_setting
from backend.errors import GuideDataError

# The public identifiers of GUIDES.md: guide data may use these and no others.
SPEC_GUIDES = {"parking_onsite_payment", "force_reconnect"}
SPEC_BRANCHES = {
    "parking_onsite_payment": {
        "parking.collect_info",
        "parking.lot_mismatch",
        "parking.ineligible_entry_before_window",
        "parking.ineligible_reserved_after_entry",
        "parking.no_difference",
        "parking.cancel_paid_ticket",
        "parking.offer_coupon_after_ticket_cancel",
        "parking.offer_coupon",
        "parking.coupon_accepted",
        "parking.cancel_onsite_payment",
        "parking.offer_t_points",
    },
    "force_reconnect": {
        "reconnect.verify_identity",
        "reconnect.partner_situation_room",
        "reconnect.consigned_not_started",
        "reconnect.consigned_already_driven",
        "reconnect.ask_presence",
        "reconnect.call_back_when_together",
        "reconnect.customer_outbound",
        "reconnect.together.no_fare_change",
        "reconnect.together.fare_change",
        "reconnect.customer_unreachable",
        "reconnect.separated.no_fare_change",
        "reconnect.separated.fare_change",
    },
}
SPEC_BLOCKS = {
    "parking_onsite_payment": {
        "identity_not_verified",
        "different_parking_lot",
        "entry_before_usage_time",
        "reserved_after_entry",
        "no_price_difference",
        "invalid_coupon_split",
    },
    "force_reconnect": {
        "identity_not_verified",
        "partner_call_use_situation_room",
        "consigned_call_not_reconnectable",
        "wait_until_together",
        "admin_status_not_reconnectable",
        "customer_consent_required",
        "customer_refused",
        "driver_off_duty",
        "customer_recalling",
        "already_reconnected_once",
        "fare_not_agreed",
    },
}
SPEC_NOTICES = {
    "parking_onsite_payment": {
        "overtime_fee_applies",
        "coupon_rounded_up",
        "operator_not_onsite_cancellable",
        "paid_ticket_cancel",
        "post_entry_purchase_excuses_early_entry",
        "coupon_split_customer_choice",
        "cancel_sms_after_department_reply",
        "cash_refund_wording_not_in_article",
    },
    "force_reconnect": {
        "call_type_follows_own_call_flow",
        "no_insurance_collect_cash",
        "manual_payment_after_completion",
        "repayment_required",
        "reconnect_only_once",
        "situation_room_per_partner",
        "meter_not_running_use_fare_calculator",
        "before_meeting_fare_change_wording",
        "customer_unreachable_sms_agit",
        "recall_script_to_customer",
    },
}
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
    values = {k: v for k, v in assignment.items() if v is not None and k != "prior_reconnections"}
    ticket = TicketInput(
        values=values,
        subject="",
        description="",
        prior_reconnections=assignment.get("prior_reconnections", 0),
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
    """Every id is one of the spec's; every reference points at something that exists."""
    problems: list[str] = []
    if guide.id not in SPEC_GUIDES:
        problems.append(f"guide id {guide.id!r} is not in GUIDES.md")
        return problems
    for branch in set(guide.branch_ids()) | set(guide.branches):
        if branch not in SPEC_BRANCHES[guide.id]:
            problems.append(f"{guide.id}: branch {branch!r} is not in GUIDES.md")
    for branch in guide.branch_ids():
        if branch not in guide.branches:
            problems.append(f"{guide.id}: branch {branch!r} has no entry under branches")

    for block in guide.block_ids():
        if block not in SPEC_BLOCKS[guide.id]:
            problems.append(f"{guide.id}: block {block!r} is not in GUIDES.md")
        if block not in catalog.labels.get("blocks", {}):
            problems.append(f"{guide.id}: block {block!r} has no label in labels.yaml")
    for notice in guide.notice_ids():
        if notice not in SPEC_NOTICES[guide.id]:
            problems.append(f"{guide.id}: notice {notice!r} is not in GUIDES.md")
        if notice not in catalog.labels.get("notices", {}):
            problems.append(f"{guide.id}: notice {notice!r} has no label in labels.yaml")
    known_facts = set(catalog.fields.keys()) | set(DERIVED)
    referenced = {name for row in guide.rows for name in row.condition.facts()}
    referenced |= {c.fact for row in guide.rows for c in row.collect}
    referenced |= {name for rule in guide.checks + guide.notices for name in rule.condition.facts()}
    referenced |= {name for row in guide.rows for b in row.blocks for name in b.condition.facts()}
    referenced |= {r.fact for r in guide.requires} | {s.field for s in guide.sets}
    referenced |= set(guide.fields) | set(guide.response_order)
    for name in sorted(referenced - known_facts):
        problems.append(f"{guide.id}: unknown fact {name!r} (not in fields.yaml nor derived)")
    for code in guide.consult_types:
        if code not in catalog.fields.get("consult_type").options:
            problems.append(f"{guide.id}: consult_type option {code!r} is not in fields.yaml")
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


def check_spec_coverage(guide: Guide) -> list[str]:
    """Every id of the spec is in the data: a dropped row, check or notice is a hole."""
    if guide.id not in SPEC_GUIDES:
        return []
    problems = [
        f"{guide.id}: GUIDES.md branch {branch!r} is missing (no row chooses it)"
        for branch in sorted(SPEC_BRANCHES[guide.id] - set(guide.branch_ids()))
    ]
    problems += [
        f"{guide.id}: GUIDES.md block {block!r} is missing (no row or check raises it)"
        for block in sorted(SPEC_BLOCKS[guide.id] - set(guide.block_ids()))
    ]
    problems += [
        f"{guide.id}: GUIDES.md notice {notice!r} is missing (nothing shows it)"
        for notice in sorted(SPEC_NOTICES[guide.id] - set(guide.notice_ids()))
    ]
    return problems


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
        problems.extend(check_spec_coverage(guide))
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
    consults = [c for g in catalog.guides.values() for c in g.consult_types]
    for code in {c for c in consults if consults.count(c) > 1}:
        problems.append(f"consult_type {code!r} maps to more than one guide")
    probe = TicketInput(values={}, subject="", description="")
    if choose_guide(probe, catalog)[0] is not None:
        problems.append("an empty ticket must not get a guide")
    return problems, report
