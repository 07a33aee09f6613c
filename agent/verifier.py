"""Verify node: check every chain step against the evidence in code, then route.

Checks per step: each cited id exists (``citations``); each number claim equals the cited tool
output at its path, after unit conversion, within the claim's stated tolerance (``numbers``);
each number written in the text is backed by such a claim (``numbers_claimed``); ``absent``
claims point at a null output and ``quote`` claims occur verbatim in the cited evidence
(``claims``). On the answer: it equals the conclusion's text (``answer``). A claim that cannot
be checked fails its step: it is shown as unverified, never as verified.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, Literal

from agent.state import (
    CaseState,
    ChainStep,
    Check,
    Claim,
    Evidence,
    ReasoningChain,
    Verification,
)

__all__ = ["extract_numbers", "make_router", "verify", "verify_chain"]

_NUMBER_RE = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.]*\d)")
_EXEMPT_RE = re.compile(r"level-0")
_UNIT_FACTORS: dict[tuple[str, str], float] = {
    ("fraction", "%"): 100.0,
    ("mm2", "µm²"): 1e6,
    ("um2", "mm²"): 1e-6,
    ("um2", "µm²"): 1.0,
    ("mm2", "mm²"): 1.0,
}


def verify(state: CaseState) -> dict[str, Any]:
    """Check this turn's chain and record the report; count the attempt."""
    chain = ReasoningChain.model_validate(state["chain"])
    evidence = [Evidence.model_validate(e) for e in state.get("evidence", [])]
    fact_ids = {f["id"] for f in state.get("facts", [])}
    report = verify_chain(chain, evidence, fact_ids, state.get("answer", ""))
    return {
        "verification": report.model_dump(mode="json"),
        "attempts": state.get("attempts", 0) + 1,
        "feedback": report.reasons,
    }


def make_router(budget: int) -> Callable[[CaseState], Literal["plan", "respond"]]:
    """Route back to the planner when evidence is missing or a backend failed, within budget."""

    def route(state: CaseState) -> Literal["plan", "respond"]:
        report = Verification.model_validate(state["verification"])
        evidence = [Evidence.model_validate(e) for e in state.get("evidence", [])]
        missing = any(c.name == "citations" and not c.ok for c in report.checks)
        transient = any(not e.ok and e.error_kind == "backend" for e in evidence)
        retry = report.status != "verified" and (missing or transient)
        return "plan" if retry and state.get("attempts", 0) <= budget else "respond"

    return route


def verify_chain(
    chain: ReasoningChain, evidence: list[Evidence], fact_ids: set[str], answer: str
) -> Verification:
    """Run every check and score the chain."""
    by_id = {e.id: e for e in evidence}
    known = set(by_id) | fact_ids
    checks: list[Check] = []
    step_ok: dict[str, bool] = {}
    cited = hits = 0
    for step in chain.steps:
        step_checks = _check_step(step, by_id, known)
        checks.extend(step_checks)
        step_ok[step.id] = bool(step.evidence) and all(c.ok for c in step_checks)
        cited += len(step.evidence)
        hits += sum(1 for ref in step.evidence if ref in known)
    conclusion = chain.conclusion
    same = conclusion is not None and conclusion.text.strip() == answer.strip()
    checks.append(Check(step=None, name="answer", ok=same, detail="answer equals the conclusion"))
    n_ok = sum(step_ok.values())
    share = n_ok / len(step_ok) if step_ok else 0.0
    concl_ok = conclusion is not None and step_ok.get(conclusion.id, False)
    if share == 1.0 and same:
        status = "verified"
    elif n_ok and concl_ok and same:
        status = "partial"
    else:
        status = "rejected"
    reasons = [f"{c.step or 'answer'}: {c.name}: {c.detail}" for c in checks if not c.ok]
    return Verification(
        status=status,
        checks=checks,
        steps_verified=round(share, 4),
        step_status=step_ok,
        citation_precision=round(hits / cited, 4) if cited else 0.0,
        reasons=reasons,
    )


def _check_step(step: ChainStep, by_id: dict[str, Evidence], known: set[str]) -> list[Check]:
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
        problem = _check_claim(claim, step, by_id)
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
    return checks


def _check_claim(claim: Claim, step: ChainStep, by_id: dict[str, Evidence]) -> str | None:
    """Return why the claim fails, or None when it holds."""
    if claim.evidence not in step.evidence:
        return f"claim cites {claim.evidence}, which the step does not cite"
    ev = by_id.get(claim.evidence)
    if ev is None:
        return f"{claim.evidence} is not tool evidence"
    if claim.kind == "quote":
        haystack = [ev.error or "", ev.summary, ev.tool, ev.expert or "", *_strings(ev.output)]
        return (
            None
            if claim.text and any(claim.text in h for h in haystack)
            else (f"quote not found in {ev.id}")
        )
    found, source = _resolve(ev.output, claim.path)
    if claim.kind == "absent":
        return None if found and source is None else f"{ev.id}.{claim.path} is not empty"
    if not found or not isinstance(source, int | float) or isinstance(source, bool):
        return f"{ev.id}.{claim.path} holds no number"
    converted = _convert(float(source), claim.path, claim.unit)
    if converted is None or claim.value is None:
        return f"cannot convert {ev.id}.{claim.path} to {claim.unit}"
    tol = claim.tolerance if claim.tolerance is not None else 1e-9
    if not math.isclose(converted, claim.value, abs_tol=tol + 1e-9):
        return f"{claim.value:g} ≠ {ev.id}.{claim.path} = {converted:g} (tolerance {tol:g})"
    return None


def _convert(value: float, path: str, unit: str | None) -> float | None:
    if unit is None:
        return value
    field = path.rsplit(".", 1)[-1]
    source = next((u for u in ("fraction", "mm2", "um2") if field.endswith(u)), None)
    if source is None:
        return None
    factor = _UNIT_FACTORS.get((source, unit))
    return None if factor is None else value * factor


def _resolve(output: dict[str, Any], path: str) -> tuple[bool, Any]:
    node: Any = output
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False, None
    return True, node


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def extract_numbers(text: str) -> list[float]:
    """Return the numbers written in ``text`` ("level-0" is a name, not a number)."""
    return [float(m) for m in _NUMBER_RE.findall(_EXEMPT_RE.sub(" ", text))]


def _unclaimed_numbers(step: ChainStep) -> list[float]:
    text = step.text
    for claim in step.claims:
        if claim.kind == "quote" and claim.text:
            text = text.replace(claim.text, " ")
    values = [c.value for c in step.claims if c.kind == "number" and c.value is not None]
    return [n for n in extract_numbers(text) if not any(math.isclose(n, v) for v in values)]
