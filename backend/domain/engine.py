"""The guide engine: choose a guide, walk its table, run its checks, render its texts.

Pure: facts in, a Decision out. No I/O, no Zendesk types. Nothing here names a guide:
a guide's field fallbacks, once-only count and extra tags are declared in its guide.yaml.
`consult_type` is the platform's guide selector (상담유형), not a guide's fact.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from backend.domain.conditions import TRI_NO, TRI_UNKNOWN, TRI_YES, Outcome
from backend.domain.decision import (
    Check,
    CheckState,
    Decision,
    RenderedText,
    read_outcome,
)
from backend.domain.decision import Outcome as OutcomeName
from backend.domain.derived import DERIVED
from backend.domain.facts import TicketInput, facts_json
from backend.domain.guides import Guide, GuideCatalog, Row, Rule, TextSpec
from backend.domain.render import FactsRead, PreparedContext, TextRenderer
from backend.domain.writeback import build_note, build_tags
from backend.errors import GuideDataError

SUGGESTED_NOTICE = "guide_suggested_set_consult_type"
# The validated empty decision every decided ticket is a copy of.
_UNDECIDED = Decision(guide=None)


@dataclass(frozen=True)
class EngineOptions:
    """Deployment knobs the engine needs (from Settings, passed in to keep it pure)."""

    admin_call_url: str = "https://admin.example/calls/{call_id}"


class FactEnv:
    """Facts of one ticket for one guide: fields, the effective call type, derived facts."""

    def __init__(self, guide: Guide, ticket: TicketInput, catalog: GuideCatalog) -> None:
        self.guide = guide
        self.ticket = ticket
        self.catalog = catalog
        self._settings: dict[str, Any] = {**guide.settings, "consult_types": guide.consult_types}
        self._cache: dict[str, tuple[Any, tuple[str, ...]]] = {}
        # Set when the ticket's fields seed the cache: then a plain field missing from it is
        # empty on the ticket, and the template context need not ask `_compute` about it.
        self._seeded = type(self).field_value is FactEnv.field_value
        if self._seeded:
            # A field on the ticket is its own value (even with a fallback declared): known
            # from the start, so reading it skips `_compute`. Derived names and the once-only
            # count (its value comes from the server) are left to `_compute`.
            once = guide.once_only
            special = once.count if once is not None else None
            self._cache = {
                name: (value, ())
                for name, value in ticket.values.items()
                if value is not None and name != special and name not in DERIVED
            }

    def lookup(self, name: str) -> tuple[Any, tuple[str, ...]]:
        """The value of a fact (None when unknown) and the fields it waits for."""
        found = self._cache.get(name)
        if found is None:
            found = self._cache[name] = self._compute(name)
        return found

    def _compute(self, name: str) -> tuple[Any, tuple[str, ...]]:
        derive = DERIVED.get(name)
        if derive is not None:
            return derive(self.lookup, self._settings)
        if name not in self.catalog.fields:
            raise GuideDataError(f"guide {self.guide.id}: unknown fact {name!r}")
        value = self.field_value(name)
        fallback = self.guide.fallbacks.get(name)
        if value is None and fallback is not None:
            # A value on the ticket wins; otherwise the declared fallback fact's (if known).
            implied, _ = self.lookup(fallback)
            return (implied, ()) if implied is not None else (None, (name,))
        return value, ()

    def field_value(self, name: str) -> Any:
        """The raw value of a field on the ticket (None when empty)."""
        once = self.guide.once_only
        if once is not None and name == once.count:
            # The server counts earlier claims (ledger/search): never missing, 0 by default.
            return self.ticket.prior_reconnections
        return self.ticket.values.get(name)

    def value(self, name: str) -> Any:
        """The value alone."""
        return self.lookup(name)[0]

    def known_values(self, read: FactsRead | None = None) -> dict[str, Any]:
        """Every field and derived fact for templates (None when unknown).

        With `read` (the facts the templates can read) only those are in the context; the
        others could not change a text, and a derived fact is not computed for nothing.
        """
        cache, lookup = self._cache, self.lookup
        if read is not None:
            context: dict[str, Any] = {}
            once = self.guide.once_only
            # Fields whose value is not simply the ticket's (derived, fallback, count).
            special = (*self.guide.fallbacks, once.count if once is not None else "")
            for name in read.fields:
                found = cache.get(name)
                if found is not None:
                    context[name] = found[0]
                elif self._seeded and name not in special and name not in DERIVED:
                    context[name] = None
                else:
                    context[name] = lookup(name)[0]
            for name in read.derived:
                found = cache.get(name)
                context[name] = (found if found is not None else self._derived_or_none(name))[0]
            return context
        # A plain field is its value on the ticket (None when empty): fill them all at once,
        # then overwrite the few names that are not plain (derived, fallback, once-only count).
        context = dict.fromkeys(self.catalog.fields)
        context.update(self.ticket.values)
        once = self.guide.once_only
        if once is not None and once.count in context:
            context[once.count] = self.ticket.prior_reconnections
        for name in (*self.guide.fallbacks, *DERIVED):
            if name in context:
                context[name] = lookup(name)[0]
        for name in DERIVED:
            found = cache.get(name)
            context[name] = (found if found is not None else self._derived_or_none(name))[0]
        return context

    def _derived_or_none(self, name: str) -> tuple[Any, tuple[str, ...]]:
        """A derived fact for templates; None when it reads a field this catalog lacks."""
        try:
            return self.lookup(name)
        except GuideDataError:
            # The derived library serves every catalog: a guide's own catalog may not hold
            # the fields a fact is made of (conditions reading it fail `guides check`).
            return None, ()


def choose_guide(ticket: TicketInput, catalog: GuideCatalog) -> tuple[Guide | None, bool]:
    """The guide for a ticket and whether it is only a suggestion (from subject/description)."""
    consult = ticket.values.get("consult_type")
    if consult is not None:
        for guide in catalog.guides.values():
            if consult in guide.consult_types:
                return guide, False
        return None, False
    text = f"{ticket.subject}\n{ticket.description}"
    scores = {
        guide.id: sum(text.count(word) for word in guide.keywords)
        for guide in catalog.guides.values()
    }
    best = max(scores.values(), default=0)
    winners = [gid for gid, score in scores.items() if score == best]
    if best == 0 or len(winners) > 1:
        return None, False
    return catalog.guide(winners[0]), True


class _Collector:
    """Ordered, de-duplicated `missing` and `blocks`."""

    def __init__(self) -> None:
        self.missing: list[str] = []
        self.blocks: list[str] = []
        self.checks: list[Check] = []

    def need(self, outcome: Outcome) -> None:
        if outcome.value is TRI_UNKNOWN:
            self.missing.extend(outcome.needs)

    def rule(self, rule_id: str, outcome: Outcome, *, claims_ok: bool = True) -> None:
        """Record a block/check; `claims_ok` is False when an `ok` would rest on an unknown."""
        value = outcome.value
        # By identity: a dict keyed by the enum would hash it in Python on every check.
        state: CheckState = (
            "blocked" if value is TRI_YES else "ok" if value is TRI_NO else "unknown"
        )
        facts = list(outcome.needs) if value is TRI_UNKNOWN else []
        if state != "ok" or claims_ok:
            self.checks.append(Check(id=rule_id, state=state, facts=facts))
        if outcome.value is TRI_YES:
            self.blocks.append(rule_id)
        self.need(outcome)

    def settle_checks(self, reads: Mapping[str, AbstractSet[str]]) -> None:
        """Drop `ok` lines about a fact another line blocks on (a refused consent is not given)."""
        blocking = [reads.get(c.id, frozenset()) for c in self.checks if c.state == "blocked"]
        blocked: set[str] = set().union(*blocking)
        self.checks = [
            c
            for c in self.checks
            if not (c.state == "ok" and reads.get(c.id, frozenset()) & blocked)
        ]


def _run_check(found: _Collector, check: Rule, env: FactEnv) -> None:
    """One check: left out when it does not apply; `ok` only when every fact it reads is known."""
    applies = check.applies_condition.evaluate(env.lookup)
    if applies.value is TRI_NO:
        return
    if applies.value is TRI_UNKNOWN:
        found.rule(check.id, applies)
        return
    lookup = env.lookup
    outcome = check.condition.evaluate(lookup)
    known = True
    for name in check.condition.fact_names:  # a loop: no generator per check
        if lookup(name)[0] is None:
            known = False
            break
    found.rule(check.id, outcome, claims_ok=known)


def evaluate_table(
    guide: Guide, env: FactEnv, *, with_checks: bool = True
) -> tuple[Row, _Collector]:
    """Walk the rows (first hit wins), then the hit row's blocks, collects and checks."""
    found = _Collector()
    lookup = env.lookup
    for row in guide.rows:
        outcome = row.condition.evaluate(lookup)
        if outcome.value is TRI_YES:
            break
        if outcome.value is TRI_UNKNOWN:
            found.missing.extend(outcome.needs)
    else:
        raise GuideDataError(f"guide {guide.id}: no row hits (the table is not total)")
    if not with_checks:
        return row, found
    for block in row.blocks:
        found.rule(block.id, block.condition.evaluate(lookup))
    for collect in row.collect:
        value, needs = lookup(collect.fact)
        if value is None:
            found.missing.extend(needs or (collect.fact,))
        elif collect.until is not None and value != collect.until:
            found.missing.append(collect.fact)
    if row.checks:
        for check in guide.checks:
            _run_check(found, check, env)
        for require in guide.requires:
            if require.condition.evaluate(lookup).value is not TRI_YES:
                continue
            others = require.unless_known
            if others and any(lookup(other)[0] is not None for other in others):
                continue
            value, needs = lookup(require.fact)
            if value is None:
                found.missing.extend(needs or (require.fact,))
    if found.blocks:
        # A line is blocked exactly when its rule is a block (`rule`): else nothing to settle.
        found.settle_checks(
            {
                rule.id: rule.condition.fact_names | rule.applies_condition.fact_names
                for rule in (*row.blocks, *guide.checks)
            }
        )
    return row, found


def order_missing(guide: Guide, missing: list[str]) -> list[str]:
    """Missing facts in the guide's response order, without duplicates."""
    unique = list(dict.fromkeys(missing))
    rank = {name: i for i, name in enumerate(guide.response_order)}
    last = len(rank)
    # `sorted` is stable: facts of equal rank keep their first-seen order.
    return sorted(unique, key=lambda name: rank.get(name, last))


def collect_notices(guide: Guide, row: Row, env: FactEnv, eligible: bool) -> list[str]:
    """The row's notices, then the guide's notices whose condition holds."""
    notices = list(row.notices)
    lookup = env.lookup
    for notice in guide.notices:
        if notice.on_eligible:
            if eligible:
                notices.append(notice.id)
        elif notice.condition.evaluate(lookup).value is TRI_YES:
            notices.append(notice.id)
    return list(dict.fromkeys(notices))


def collect_fields_set(guide: Guide, env: FactEnv, catalog: GuideCatalog) -> dict[str, Any]:
    """Fields a write-back fills: empty fields whose source derived fact is known."""
    fields: dict[str, Any] = {}
    for rule in guide.sets:
        if env.field_value(rule.field) is not None:
            continue
        value = env.value(rule.from_)
        if value is not None:
            fields[rule.field] = catalog.fields.to_json(rule.field, value)
    return fields


def choose_only(ticket: TicketInput, catalog: GuideCatalog) -> Decision:
    """A decision holding only `decide`'s guide and `suggested` (no table, no texts)."""
    # For a caller that needs the guide before the facts are final (e.g. which history to
    # read): the same choice `decide` makes, without walking a table or rendering.
    guide, suggested = choose_guide(ticket, catalog)
    if guide is None:
        return _UNDECIDED
    return _UNDECIDED.evolve(guide=guide.id, suggested=suggested)


def decide(
    ticket: TicketInput,
    catalog: GuideCatalog,
    renderer: TextRenderer,
    options: EngineOptions | None = None,
) -> Decision:
    """The whole decision for one ticket: guide, branch, eligibility, texts, write-back."""
    options = options or EngineOptions()
    facts = facts_json(ticket.values, catalog.fields)
    guide, suggested = choose_guide(ticket, catalog)
    if guide is None:
        return Decision(guide=None, facts=facts)
    if suggested:
        return Decision(guide=guide.id, suggested=True, notices=[SUGGESTED_NOTICE], facts=facts)
    env = FactEnv(guide, ticket, catalog)
    row, found = evaluate_table(guide, env)
    missing = order_missing(guide, found.missing)
    blocks = list(dict.fromkeys(found.blocks))
    eligible = row.action and not blocks and not missing
    outcome = read_outcome(eligible, blocks)
    notices = collect_notices(guide, row, env, eligible)
    texts = render_branch_texts(
        guide, row.branch, env, renderer, options, outcome=outcome, blocks=blocks, missing=missing
    )
    fields_set = collect_fields_set(guide, env, catalog)
    label = row.label or guide.branches[row.branch].label
    # Every value is built above with its declared type (a plain dataclass: no validation).
    parts: dict[str, Any] = {
        "guide": guide.id,
        "suggested": False,
        "branch": row.branch,
        "branch_label": label.ko,
        "eligible": eligible,
        "outcome": outcome,
        "blocks": blocks,
        "missing": missing,
        "notices": notices,
        "texts": texts,
        "checks": found.checks,
        "fields_set": fields_set,
        "facts": facts,
    }
    draft = _UNDECIDED.evolve(**parts)
    tags = build_tags(draft, guide, env.lookup)
    note = build_note(draft, guide, catalog, renderer)
    return draft.evolve(tags=tags, note=note)


def settle_by_fallback(
    ticket: TicketInput,
    filled: TicketInput,
    decision: Decision,
    catalog: GuideCatalog,
    renderer: TextRenderer,
) -> Decision | None:
    """`decide(filled)` made from `decision` (on `ticket`) when the fill changes no lookup.

    `filled` is `ticket` with the write-back's `fields_set` typed in. When each filled
    field was empty and read its declared fallback, which is the fact its `sets` rule
    writes from, and its typed value is the one the fallback gave, every condition, text
    and tag reads the same values: only `fields_set`, `facts` and the note change. None
    when that is not shown (the caller then decides in full).
    """
    if decision.guide is None or decision.suggested or not decision.fields_set:
        return None
    guide = catalog.guides.get(decision.guide)
    if guide is None:
        return None
    sources = {rule.field: rule.from_ for rule in guide.sets}
    once = guide.once_only
    env = FactEnv(guide, ticket, catalog)
    for key in decision.fields_set:
        if (
            key == "consult_type"  # read by choose_guide, not through a lookup
            or key in DERIVED
            or (once is not None and key == once.count)
            or ticket.values.get(key) is not None
            or sources.get(key) is None
            or guide.fallbacks.get(key) != sources[key]
            or filled.values.get(key) is None
            or filled.values[key] != env.value(key)
        ):
            return None
    # As `decide` builds it: the note is rendered before tags and note are set.
    draft = decision.evolve(
        fields_set={},
        facts=facts_json(filled.values, catalog.fields),
        tags=_UNDECIDED.tags,
        note=_UNDECIDED.note,
    )
    note = build_note(draft, guide, catalog, renderer)
    return draft.evolve(tags=decision.tags, note=note)


def offers_text(
    text: TextSpec, env: FactEnv, outcome: OutcomeName, blocks: list[str], missing: list[str]
) -> bool:
    """Whether a text is part of the agent's next step for this outcome (ERRATA 2)."""
    if outcome not in text.outcomes:
        return False
    if text.not_on_blocks and not set(text.not_on_blocks).isdisjoint(blocks):
        return False
    if outcome == "blocked" and text.on_blocks:
        # A block's response: offered for its blocks, whatever it asks.
        if set(text.on_blocks).isdisjoint(blocks):
            return False
    elif text.asks and set(text.asks).isdisjoint(missing):
        # A question is asked while its answer is missing, and never again after.
        return False
    return text.condition.evaluate(env.lookup).value is TRI_YES


def render_branch_texts(
    guide: Guide,
    branch: str,
    env: FactEnv,
    renderer: TextRenderer,
    options: EngineOptions,
    *,
    outcome: OutcomeName,
    blocks: list[str],
    missing: list[str],
) -> list[RenderedText]:
    """Render the texts of the agent's next step, in the order to use them."""
    spec = guide.branches.get(branch)
    if spec is None:
        raise GuideDataError(f"guide {guide.id}: branch {branch!r} has no entry under branches")
    prepared: PreparedContext | None = None

    def variables() -> dict[str, Any]:
        # The facts' context, made for the first text that reads a fact (often none does).
        nonlocal prepared
        if prepared is None:
            values = env.known_values(renderer.facts_read(guide.id))
            prepared = renderer.prepare(guide, values, options.admin_call_url)
        return prepared.variables

    rendered: list[RenderedText] = []
    for text in spec.texts:
        # Most texts belong to another outcome: that test first, without a call.
        if outcome not in text.outcomes or not offers_text(text, env, outcome, blocks, missing):
            continue
        if text.variants is None:
            cases: Mapping[str, str] = {"": text.template or ""}
        else:
            chosen = env.value(text.variants.by)
            if chosen in text.variants.cases:
                cases = {chosen: text.variants.cases[chosen]}
            elif chosen is None and text.variants.all_while_unknown:
                cases = text.variants.cases
            else:
                # A variant asserts its case (card / cash): none is offered while unknown.
                continue
        for case, template in cases.items():
            body, placeholders = renderer.render_for(
                template, guide, options.admin_call_url, variables
            )
            rendered.append(
                RenderedText(
                    key=f"{text.key}.{case}" if case else text.key,
                    kind=text.kind,
                    title=text.title,
                    body=body,
                    from_seed=text.from_seed,
                    placeholders=placeholders,
                    asks=list(text.asks),
                )
            )
    return rendered
