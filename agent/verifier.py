"""Verify node: check every chain step against the evidence in code, then route.

Checks per step: each cited id exists (``citations``); each number claim equals the cited tool
output at its path, after unit conversion, within the claim's stated tolerance (``numbers``);
each number written in the text is backed by such a claim (``numbers_claimed``); ``absent``
claims point at a null output, ``quote`` claims occur verbatim in the cited evidence or fact,
``name`` claims are the label of a file name in the cited evidence (shown in quotes as data: no
check reads a number, an entity or a disease from inside it) and
``compare`` claims (a difference, or equal / unequal values, between two cited outputs) hold
(``claims``); evidence of earlier turns that the turn compares or recalls (``earlier``, loaded
from the case's archive) can be cited like the turn's own; every medical entity written outside
quotes links to the knowledge graph (``entities``); every disease a step names outside quotes
is backed by a cited fact about it (or naming it) or a cited expert label that links to it, and
in a step that cites facts or a classifier every site or cell it names is a cited fact's subject
or object or named by a cited class label (``inference``). A ``caveat`` step (a limit of an
expert, ``agent.scope``) is a note, not a finding: its citations, claims and numbers are
checked, and its text must be one the scope check writes for this turn (``caveat``); its
words, and their repetition in the answer, are not read for entities. On
the answer: it equals the conclusion's text (``answer``); no step names a class of a cited
classifier other than the one the classifier gave (``consistent``); when the request asks for
something a cited expert declares it cannot tell, the turn is at best partial
(``answers_request``); it answers what the request asked: relation, entity, slide diagnosis,
unit, compartments, regions (``asked``, in ``agent.asked_slot``: a chain that does not is
``partial`` at best). A claim that cannot be checked fails its step: it is shown as
unverified, never as verified.

A model's free-text statement (an ``opinion`` claim: a VQA expert's sentence) is checked to be
what the model said, verbatim, but what it states about the slide cannot be checked: its step
fails the ``opinion`` check and is marked ``OPINION_MARK``. A turn whose steps all pass but for
such opinion steps is ``partial``, never ``verified``, and is not re-planned or rewritten for
it (asking again would not turn an opinion into a finding).

Scores: citation precision (cited ids that exist), citation recall (the turn's successful
evidence and recalled facts that the chain cites), entity Dice (entities named in the chain
against the subjects and objects of its cited facts) and the share of steps verified.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Sequence
from typing import Any, Literal

from agent.asked_slot import add_asked_check, asked_slot
from agent.case_memory import analyses_of
from agent.knowledge import Knowledge
from agent.scope import caveats_of_state
from agent.state import (
    CaseState,
    ChainStep,
    Check,
    Claim,
    Evidence,
    Node,
    ReasoningChain,
    RecalledFact,
    Verification,
)
from core.claimable import UNIT_FACTORS, resolve_path, stored_unit
from core.labels import file_label
from core.narration import OPINION_MARK
from memory.kg.linker import medical_terms
from tools.registry import tool_class

__all__ = [
    "extract_numbers",
    "make_router",
    "make_verify",
    "strings_in",
    "verify",
    "verify_chain",
]

_NUMBER_RE = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.]*\d)")
_EXEMPT_RE = re.compile(r"level-0")
# a slide's or image's file name ("lung-1.svs") names a file, not an organ or a disease
_FILE_NAME_RE = re.compile(
    r"[\w.+-]*\.(?:svs|tiff?|ndpi|scn|bif|svslide|dcm|mrxs|vms|vmu|czi|qptiff|png|jpe?g)\b",
    re.IGNORECASE,
)


def make_verify(knowledge: Knowledge | None) -> Node:
    """Return the ``verify`` node; entity checks use ``knowledge`` when it is built."""

    def verify_node(state: CaseState) -> dict[str, Any]:
        return verify(state, knowledge)

    return verify_node


def verify(state: CaseState, knowledge: Knowledge | None = None) -> dict[str, Any]:
    """Check this turn's chain and record the report; count the attempt."""
    chain = ReasoningChain.model_validate(state["chain"])
    evidence = [Evidence.model_validate(e) for e in state.get("evidence", [])]
    # earlier turns' evidence that this turn compares or recalls, from the case's archive
    evidence += [Evidence.model_validate(e) for e in state.get("earlier", [])]
    facts = [RecalledFact.model_validate(f) for f in state.get("facts", [])]
    plan = state.get("plan") or {}
    question = plan.get("clarify")
    lookup = plan.get("lookup") or {}
    if question and not evidence and not facts and _only_asks(chain, question):
        report = _question_report(chain)
    elif lookup.get("none_held") and not (evidence or facts or lookup.get("earlier")):
        report = _nothing_to_recall_report(chain, lookup, state.get("archive", []))
    elif plan.get("knowledge") and not (evidence or facts or lookup) and len(chain.steps) == 1:
        report = _nothing_found_report(chain, state.get("request", ""))
    else:
        caveats = caveats_of_state(state)
        report = verify_chain(
            chain,
            evidence,
            facts,
            state.get("answer", ""),
            knowledge,
            notes={c.text for c in caveats},
            unanswered=[c.unanswered for c in caveats if c.unanswered],
        )
        report = add_asked_check(
            report,
            state.get("request", ""),
            chain,
            evidence,
            facts,
            knowledge_turn=bool(plan.get("knowledge")),
            knowledge=knowledge,
        )
    recalled = {str(x.get("id")) for x in state.get("earlier", [])}
    mine = [e for e in evidence if e.id not in recalled]
    failed = [e for e in mine if e.error_kind in ("backend", "output")]
    if report.status == "verified" and failed and not any(e.ok for e in mine) and not facts:
        report = _not_answered(report, failed)
    return {
        "verification": report.model_dump(mode="json"),
        "attempts": state.get("attempts", 0) + 1,
        "feedback": report.reasons,
    }


def _only_asks(chain: ReasoningChain, question: str) -> bool:
    """The chain is the planner's clarifying question and nothing else."""
    return len(chain.steps) == 1 and chain.steps[0].text.strip() == question.strip()


def _question_report(chain: ReasoningChain) -> Verification:
    """A clarifying question states nothing about the slide: one check, nothing to cite.

    It answers nothing yet either, so it is ``partial``, never ``verified``.
    """
    step = chain.steps[0]
    check = Check(
        step=step.id,
        name="question",
        ok=True,
        detail="a clarifying question: it makes no claim about the slide and cites nothing",
    )
    return _one_line_partial(check, "a clarifying question: the request is not answered yet")


def _one_line_partial(check: Check, reason: str) -> Verification:
    """The report of a one-line turn that is true as said but answers nothing: ``partial``."""
    return Verification(
        status="partial",
        checks=[check],
        steps_verified=1.0,
        step_status={check.step: True},
        citation_precision=1.0,
        citation_recall=1.0,
        reasons=[reason],
    )


def _nothing_found_report(chain: ReasoningChain, request: str) -> Verification:
    """A knowledge question the graph holds nothing for: the one line says so; ``partial``."""
    step = chain.steps[0]
    slot = asked_slot(request)
    what = f"“{slot.subjects[0]}”" if slot.subjects else "what was asked"
    detail = f"does not answer: the knowledge graph holds no fact on {what}"
    check = Check(step=step.id, name="answers_request", ok=False, detail=detail)
    return _one_line_partial(check, detail)


def _not_answered(report: Verification, evidence: list[Evidence]) -> Verification:
    """No expert could answer (missing, down, unusable): ``partial``, the failure its reason.

    What the answer says of the failure is true, but it answers nothing. A request refused as
    impossible (a region that does not exist, a box off the slide) is answered by the refusal.
    """
    first = evidence[0]
    detail = f"does not answer: the {first.tool} step failed ({first.error or 'no output'})"
    check = Check(
        step=report.checks[-1].step if report.checks else "S1",
        name="answers_request",
        ok=False,
        detail=detail,
    )
    return report.model_copy(
        update={
            "status": "partial",
            "checks": [*report.checks, check],
            "reasons": [*report.reasons, detail],
        }
    )


def _nothing_to_recall_report(
    chain: ReasoningChain, lookup: dict[str, Any], archive: list[dict[str, Any]]
) -> Verification:
    """A recall that found nothing says so; the case's archive must indeed hold nothing asked.

    The one step must be the planner's plain lines and nothing else, and no successful
    analysis of the asked kinds (any kind, when none was asked) may be in the archive.
    """
    step = chain.steps[-1]
    said = " ".join(chain.steps[0].text.split()) if len(chain.steps) == 1 else ""
    lines = [" ".join(line.split()) for line in lookup.get("missing") or []]
    only_lines = bool(lines) and all(line.rstrip(".") in said for line in lines)
    kinds = set(lookup.get("kinds") or [])
    held = [a for a in analyses_of(archive) if not kinds or a.tool in kinds]
    ok = only_lines and not held
    if not only_lines:
        detail = "the answer says more than that the case holds nothing asked"
    elif held:
        detail = f"the case does hold {held[-1].tool} result {held[-1].evidence}"
    else:
        detail = "checked against the case's archive: it holds no result of the kind asked"
    check = Check(step=step.id, name="case_memory", ok=ok, detail=detail)
    return Verification(
        status="verified" if ok else "rejected",
        checks=[check],
        steps_verified=1.0 if ok else 0.0,
        step_status={step.id: ok},
        citation_precision=1.0,
        citation_recall=1.0,
        reasons=[] if ok else [f"{step.id}: case_memory: {detail}"],
    )


def make_router(
    budget: int, *, rewrite: bool = False
) -> Callable[[CaseState], Literal["plan", "reason", "respond"]]:
    """Route a chain that fails verification, within ``budget`` attempts.

    Back to the planner when evidence is missing, or a backend failed and the LLM planner can
    choose another call; back to the reasoner (with the reasons as feedback) when ``rewrite``
    and only the chain is at fault; else on to the response.
    """

    def route(state: CaseState) -> Literal["plan", "reason", "respond"]:
        report = Verification.model_validate(state["verification"])
        if report.status == "verified" or state.get("attempts", 0) > budget:
            return "respond"
        if report.status == "partial" and all(c.ok or c.name == "opinion" for c in report.checks):
            return "respond"  # only model opinion is unverified: no plan or rewrite changes that
        plan = state.get("plan") or {}
        if plan.get("lookup") and not plan.get("steps"):
            return "respond"  # answered from the case's memory: a new plan finds nothing more
        evidence = [Evidence.model_validate(e) for e in state.get("evidence", [])]
        missing = any(c.name == "citations" and not c.ok for c in report.checks)
        if all(c.ok or c.name == "answers_request" for c in report.checks):
            return "respond"  # only what no expert can tell is missing: nothing to re-plan
        # only a planner that reads the verifier's reasons can plan differently; the semantic
        # and rules planners would re-run the same failed call (a missing expert, a down server)
        transient = plan.get("planner") == "llm" and any(
            not e.ok and e.error_kind == "backend" for e in evidence
        )
        if missing or transient:
            return "plan"
        return "reason" if rewrite else "respond"

    return route


def verify_chain(
    chain: ReasoningChain,
    evidence: list[Evidence],
    facts: list[RecalledFact] | set[str],
    answer: str,
    knowledge: Knowledge | None = None,
    *,
    notes: Collection[str] = (),
    unanswered: Sequence[str] = (),
) -> Verification:
    """Run every check and score the chain.

    ``notes``: the caveat sentences the scope check wrote for this turn; ``unanswered``: why the
    turn does not answer what the request asks (a cited expert cannot tell it).
    """
    by_id = {e.id: e for e in evidence}
    fact_list = [f for f in facts if isinstance(f, RecalledFact)]
    fact_by_id = {f.id: f for f in fact_list}
    fact_ids = set(fact_by_id) | {f for f in facts if isinstance(f, str)}
    known = set(by_id) | fact_ids
    kb = knowledge if knowledge is not None and knowledge.problem() is None else None
    ctx = _Context(by_id, fact_by_id, known, kb, set(notes))
    checks: list[Check] = []
    step_ok: dict[str, bool] = {}
    cited = hits = 0
    for step in chain.steps:
        step_checks = _check_step(step, ctx)
        if step.kind != "conclude":
            other = _contradiction(step, by_id)
            if other is not None:
                step_checks.append(Check(step=step.id, name="consistent", ok=False, detail=other))
        checks.extend(step_checks)
        step_ok[step.id] = bool(step.evidence) and all(c.ok for c in step_checks)
        cited += len(step.evidence)
        hits += sum(1 for ref in step.evidence if ref in known)
    conclusion = chain.conclusion
    opinion_only = {
        step
        for step, ok in step_ok.items()
        if not ok and all(c.ok or c.name == "opinion" for c in checks if c.step == step)
    }
    same = conclusion is not None and conclusion.text.strip() == answer.strip()
    checks.append(Check(step=None, name="answer", ok=same, detail="answer equals the conclusion"))
    contradiction = _contradiction(conclusion, by_id) if conclusion else None
    checks.append(
        Check(
            step=None,
            name="consistent",
            ok=contradiction is None,
            detail=contradiction or "the answer agrees with the cited experts",
        )
    )
    same = same and contradiction is None
    checks.extend(
        Check(step=None, name="answers_request", ok=False, detail=why) for why in unanswered
    )
    n_ok = sum(step_ok.values())
    share = n_ok / len(step_ok) if step_ok else 0.0
    concl_ok = conclusion is not None and step_ok.get(conclusion.id, False)
    concl_opinion = conclusion is not None and conclusion.id in opinion_only
    all_cited = {ref for step in chain.steps for ref in step.evidence}
    available = {e.id for e in evidence if e.ok} | set(fact_by_id)
    recall = len(available & all_cited) / len(available) if available else 1.0
    passed = {k for k, ok in step_ok.items() if ok}
    if share == 1.0 and same and not unanswered:
        status = "verified"
    elif n_ok and concl_ok and same:
        status = "partial"
    elif same and concl_opinion and set(step_ok) <= passed | opinion_only:
        status = "partial"  # verified but for model opinion, which no check can verify
    else:
        status = "rejected"
    reasons = [f"{c.step or 'answer'}: {c.name}: {c.detail}" for c in checks if not c.ok]
    return Verification(
        status=status,
        checks=checks,
        steps_verified=round(share, 4),
        step_status=step_ok,
        citation_precision=round(hits / cited, 4) if cited else 0.0,
        citation_recall=round(recall, 4),
        entity_dice=_entity_dice(chain, ctx, all_cited),
        reasons=reasons,
    )


class _Context:
    """What the step checks look things up in."""

    def __init__(
        self,
        by_id: dict[str, Evidence],
        facts: dict[str, RecalledFact],
        known: set[str],
        kb: Knowledge | None,
        notes: set[str] | None = None,
    ) -> None:
        self.notes = notes or set()
        self.by_id = by_id
        self.facts = facts
        self.known = known
        self.kb = kb
        self._label_links: dict[str, set[str]] = {}
        self._text_links: dict[str, set[str]] = {}

    def fact_entities(self, fact: RecalledFact) -> set[str]:
        """Entities the fact's sentence names (empty without a knowledge graph)."""
        return self.text_entities(fact.text)

    def text_entities(self, text: str) -> set[str]:
        """Entities a text (a fact's sentence, a class label) names; empty without a graph."""
        if self.kb is None or not text:
            return set()
        if text not in self._text_links:
            self._text_links[text] = self.kb.mentions(text).entities
        return self._text_links[text]

    def label_entities(self, ev: Evidence) -> set[str]:
        """Entities the evidence's class label links to (empty without a knowledge graph)."""
        label = ev.output.get("label") if ev.ok else None
        if not label or self.kb is None:
            return set()
        if label not in self._label_links:
            link = self.kb.link_label(str(label))
            self._label_links[label] = {link.entity} if link else set()
        return self._label_links[label]


def _check_step(step: ChainStep, ctx: _Context) -> list[Check]:
    by_id, known = ctx.by_id, ctx.known
    missing = [ref for ref in step.evidence if ref not in known]
    checks = [
        Check(
            step=step.id,
            name="citations",
            ok=bool(step.evidence) and not missing,
            detail=f"missing {missing}" if missing else f"cites {len(step.evidence)} id(s)",
        )
    ]
    bad: list[str] = []
    for claim in step.claims:
        problem = _check_claim(claim, step, by_id, ctx.facts)
        if problem:
            bad.append(problem)
    checks.append(
        Check(step=step.id, name="claims", ok=not bad, detail="; ".join(bad) or "all hold")
    )
    unclaimed = _unclaimed_numbers(step)
    checks.append(
        Check(
            step=step.id,
            name="numbers_claimed",
            ok=not unclaimed,
            detail=f"numbers without a claim: {unclaimed}" if unclaimed else "every number claimed",
        )
    )
    if step.kind == "caveat":
        known = step.text in ctx.notes
        detail = "a caveat the scope check writes" if known else "not a caveat of this turn"
        return [*checks, Check(step=step.id, name="caveat", ok=known, detail=detail)]
    said = sorted({c.evidence for c in step.claims if c.kind == "opinion"})
    if said:
        checks.append(
            Check(
                step=step.id,
                name="opinion",
                ok=False,
                detail=f"{OPINION_MARK}: what the model said ({', '.join(said)}) is quoted "
                "verbatim; no measurement or knowledge-graph fact backs it",
            )
        )
    own = _unquoted(step, ctx.notes)
    checks.append(_entities_check(step, own, ctx))
    checks.append(_inference_check(step, own, ctx))  # a disease named in any step is backed
    return checks


def _unquoted(step: ChainStep, notes: Collection[str] = ()) -> str:
    """The step's own words: no quotes its claims check verbatim, no file names, no caveats."""
    return _FILE_NAME_RE.sub(" ", _without(step, ("quote", "name", "opinion"), notes))


def _without(step: ChainStep, kinds: tuple[str, ...], notes: Collection[str] = ()) -> str:
    """The step's text with the texts of its claims of ``kinds`` taken out (longest first).

    A ``name`` claim goes with the quotation marks around it, so a label's words are never
    read as the step's own. A caveat sentence (``notes``) repeated in the step goes first.
    """
    text = step.text
    for note in notes:
        text = text.replace(note, " ")
    for claim in sorted(step.claims, key=lambda c: -len(c.text or "")):
        if claim.kind in kinds and claim.text:
            if claim.kind == "name":
                text = text.replace(f"“{claim.text}”", " ")
            text = text.replace(claim.text, " ")
    return text


def _entities_check(step: ChainStep, own: str, ctx: _Context) -> Check:
    if ctx.kb is None:
        terms = medical_terms(own)
        detail = (
            f"no knowledge graph to link {terms}" if terms else "no medical terms outside quotes"
        )
        return Check(step=step.id, name="entities", ok=not terms, detail=detail)
    unlinked = ctx.kb.mentions(own).unlinked
    return Check(
        step=step.id,
        name="entities",
        ok=not unlinked,
        detail=f"not in the knowledge graph: {unlinked}" if unlinked else "every entity links",
    )


def _inference_check(step: ChainStep, own: str, ctx: _Context) -> Check:
    """Diseases named in the step's own words need a cited fact or expert label behind them."""
    if ctx.kb is None:
        return Check(step=step.id, name="inference", ok=True, detail="no entities to back")
    links = ctx.kb.mentions(own).links
    named = {x.entity for x in links if x.kind == "disease"}
    # a step that cites facts or a classifier states what they say: a site or a cell it names
    # is what a cited fact relates (its subject or object) or what a cited class label names,
    # so "located in the breast" needs a fact about the breast, and "normal brain mucosa" a
    # classifier that said so
    labels = [ev for ref in step.evidence if (ev := ctx.by_id.get(ref)) and _label_of(ev)]
    cites_facts = any(ref in ctx.facts for ref in step.evidence)
    related = {x.entity for x in links if x.kind != "disease"} if cites_facts or labels else set()
    backing: set[str] = set()
    ends: set[str] = set()
    for ref in step.evidence:
        fact = ctx.facts.get(ref)
        if fact is not None:
            ends.update({fact.subject, fact.object or ""})
            backing |= ctx.fact_entities(fact)  # a disease the fact's sentence names
        ev = ctx.by_id.get(ref)
        if ev is not None:
            backing |= ctx.label_entities(ev)
    for ev in labels:
        ends |= ctx.text_entities(_label_of(ev) or "")
    backing |= ends
    unbacked = sorted((named - backing) | (related - ends))
    return Check(
        step=step.id,
        name="inference",
        ok=not unbacked,
        detail=(
            f"no cited fact or expert output backs {unbacked}"
            if unbacked
            else "every named disease (and entity of a cited fact) is backed"
        ),
    )


def _label_of(ev: Evidence) -> str | None:
    """The class a cited classifier gave, or None (not a classifier, or it failed)."""
    cls = tool_class(ev.tool)
    if not ev.ok or cls is None or cls.label_field is None:
        return None
    label = ev.output.get(cls.label_field)
    return label if isinstance(label, str) else None


def _contradiction(conclusion: ChainStep, by_id: dict[str, Evidence]) -> str | None:
    """A cited classifier's other class named in a step while its own class is not."""
    own = _unquoted(conclusion).lower()
    text = _without(conclusion, ("name",)).lower()
    for ref in conclusion.evidence:
        ev = by_id.get(ref)
        cls = tool_class(ev.tool) if ev is not None else None
        if ev is None or not ev.ok or cls is None or cls.label_field is None:
            continue
        label = str(ev.output.get(cls.label_field, ""))
        others = [k for k in ev.output.get("probabilities", {}) if k != label]
        named = [k for k in others if re.search(rf"\b{re.escape(k.lower())}\b", own)]
        if named and not re.search(rf"\b{re.escape(label.lower())}\b", text):
            return f"the answer names {named} but {ev.id}'s expert answered {label!r}"
    return None


def _entity_dice(chain: ReasoningChain, ctx: _Context, cited: set[str]) -> float | None:
    if ctx.kb is None:
        return None
    named: set[str] = set()
    for step in chain.steps:
        if step.kind == "caveat":
            continue  # a limit of an expert names the request's organ, not a finding
        text = _without(step, ("name",), ctx.notes)
        named |= ctx.kb.mentions(_FILE_NAME_RE.sub(" ", text)).entities
    of_facts: set[str] = set()
    for ref in cited:
        fact = ctx.facts.get(ref)
        if fact is not None:
            of_facts.add(fact.subject)
            if fact.object:
                of_facts.add(fact.object)
    if not named and not of_facts:
        return None
    return round(2 * len(named & of_facts) / (len(named) + len(of_facts)), 4)


def _check_claim(
    claim: Claim, step: ChainStep, by_id: dict[str, Evidence], facts: dict[str, RecalledFact]
) -> str | None:
    """Return why the claim fails, or None when it holds."""
    if claim.evidence not in step.evidence:
        return f"claim cites {claim.evidence}, which the step does not cite"
    fact = facts.get(claim.evidence)
    if fact is not None:
        if claim.kind != "quote":
            return f"{fact.id} is a fact: only quotes of it can be checked"
        hay = [fact.text, fact.source, fact.subject, fact.object or "", fact.id]
        ok = bool(claim.text) and any(claim.text in h for h in hay)
        return None if ok else f"quote not found in {fact.id}"
    ev = by_id.get(claim.evidence)
    if ev is None:
        return f"{claim.evidence} is not tool evidence"
    if claim.kind == "name":
        ok = bool(claim.text) and any(file_label(s) == claim.text for s in strings_in(ev.output))
        return None if ok else f"no file name in {ev.id} shows as {claim.text!r}"
    if claim.kind in ("quote", "opinion"):
        haystack = [ev.error or "", ev.summary, ev.tool, ev.expert or "", *strings_in(ev.output)]
        return (
            None
            if claim.text and any(claim.text in h for h in haystack)
            else (f"quote not found in {ev.id}")
        )
    if claim.kind == "compare":
        return _check_compare(claim, step, ev, by_id)
    found, source = resolve_path(ev.output, claim.path)
    if claim.kind == "absent":
        return None if found and source is None else f"{ev.id}.{claim.path} is not empty"
    if not found or not isinstance(source, int | float) or isinstance(source, bool):
        return f"{ev.id}.{claim.path} holds no number"
    converted = _convert(float(source), ev.tool, claim.path, claim.unit)
    if converted is None or claim.value is None:
        return f"cannot convert {ev.id}.{claim.path} to {claim.unit}"
    tol = claim.tolerance if claim.tolerance is not None else 1e-9
    if not math.isclose(converted, claim.value, abs_tol=tol + 1e-9):
        return f"{claim.value:g} ≠ {ev.id}.{claim.path} = {converted:g} (tolerance {tol:g})"
    return None


def _check_compare(
    claim: Claim, step: ChainStep, ev: Evidence, by_id: dict[str, Evidence]
) -> str | None:
    """Check a relation between two cited outputs (a difference, or equal / unequal values)."""
    other = by_id.get(claim.other_evidence or "")
    if other is None or claim.other_evidence not in step.evidence:
        return f"compare claim needs {claim.other_evidence} cited as tool evidence"
    found_a, a = resolve_path(ev.output, claim.path)
    found_b, b = resolve_path(other.output, claim.other_path or claim.path)
    where = f"{ev.id}.{claim.path} and {other.id}.{claim.other_path or claim.path}"
    if not (found_a and found_b):
        return f"{where}: a value is missing"
    if claim.op in ("same", "differ"):
        equal = a == b
        return None if equal == (claim.op == "same") else f"{where}: not {claim.op}"
    numbers = [x for x in (a, b) if isinstance(x, int | float) and not isinstance(x, bool)]
    if len(numbers) != 2 or claim.value is None:
        return f"{where}: not two numbers"
    ca = _convert(float(a), ev.tool, claim.path, claim.unit)
    cb = _convert(float(b), other.tool, claim.other_path or claim.path, claim.unit)
    if ca is None or cb is None:
        return f"cannot convert {where} to {claim.unit}"
    tol = claim.tolerance if claim.tolerance is not None else 1e-9
    if not math.isclose(ca - cb, claim.value, abs_tol=tol + 1e-9):
        return f"{claim.value:g} ≠ {ev.id} - {other.id} = {ca - cb:g} (tolerance {tol:g})"
    return None


def _convert(value: float, tool: str, path: str, unit: str | None) -> float | None:
    """``value`` of ``tool``'s output at ``path`` in ``unit``; None when it cannot be converted.

    The stored unit is the one the tool declares for the field, else read from its name.
    """
    if unit is None:
        return value
    cls = tool_class(tool)
    source = stored_unit(path, cls.claimable_kind(path) if cls is not None else None)
    factor = UNIT_FACTORS.get((source, unit)) if source is not None else None
    return None if factor is None else value * factor


def strings_in(node: Any) -> list[str]:
    """Every string inside a JSON-like value (dict values and list items, depth first)."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in strings_in(v)]
    if isinstance(node, list):
        return [s for v in node for s in strings_in(v)]
    return []


def extract_numbers(text: str) -> list[float]:
    """Return the numbers written in ``text`` ("level-0" is a name, not a number)."""
    return [float(m) for m in _NUMBER_RE.findall(_EXEMPT_RE.sub(" ", text))]


def _unclaimed_numbers(step: ChainStep) -> list[float]:
    text = _without(step, ("quote", "name", "opinion"))
    values = [
        c.value for c in step.claims if c.kind in ("number", "compare") and c.value is not None
    ]
    unclaimed = []
    for n in extract_numbers(text):  # each claim backs one written number, not every equal one
        k = next((i for i, v in enumerate(values) if math.isclose(n, v)), None)
        if k is None:
            unclaimed.append(n)
        else:
            values.pop(k)
    return unclaimed
