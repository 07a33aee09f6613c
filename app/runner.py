"""Copilot: the composition root's service that runs one turn of a case through the graph."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage
from pydantic import BaseModel

from agent.chain_format import tagged
from agent.config import Settings
from agent.deps import GraphDeps
from agent.errors import PlanError
from agent.graph import build_graph
from agent.knowledge import Knowledge
from agent.state import ReasoningChain, SlideRef
from app.reasoners import choose_reasoner
from memory.audit import AuditLog
from memory.cases import CaseRecord, CaseStore, new_case_id, validate_case_id
from memory.kg.store import KGStore
from tools.registry import ClientFactory, build_tools
from tools.slide_cache import SlideCache

__all__ = ["Copilot", "TurnResult"]

MAX_QUESTION_CHARS = 4000


class TurnResult(BaseModel):
    """One answered turn, as the CLI's ``--json`` prints it."""

    case_id: str
    turn: int
    slide: dict[str, Any]
    request: str
    answer: str
    chain: list[dict[str, Any]]
    chain_tagged: str
    verification: dict[str, Any]
    evidence: list[dict[str, Any]]
    plan: dict[str, Any] | None
    facts: list[dict[str, Any]]
    artifacts: list[str]
    timings: dict[str, float]

    @property
    def exit_code(self) -> int:
        """0 answered; 2 a step failed on bad input; 3 an expert was down, slow or unusable."""
        kinds = {e.get("error_kind") for e in self.evidence if not e.get("ok")}
        if kinds & {"backend", "output"}:
            return 3
        return 2 if "input" in kinds else 0


class Copilot:
    """Owns the slide cache, the cases database, the audit log and the compiled graph."""

    def __init__(self, settings: Settings, client_factory: ClientFactory | None = None) -> None:
        self.reasoner = choose_reasoner(settings, client_factory)  # ConfigError before any I/O
        settings.ensure_dirs()
        self.settings = settings
        self.slides = SlideCache()
        self.cases = CaseStore(settings.cases_db)
        self.audit = AuditLog(settings.audit_dir)
        self.tools = build_tools(settings, client_factory)
        self.knowledge = Knowledge(KGStore(settings), settings.link_threshold)
        deps = GraphDeps(
            settings=settings,
            tools=self.tools,
            slides=self.slides,
            audit=self.audit,
            knowledge=self.knowledge,
            reasoner=self.reasoner.node,
            rewrite_on_failure=self.reasoner.rewrite_on_failure,
        )
        self.graph = build_graph(deps).compile(checkpointer=self.cases.checkpointer)

    def ask(self, slide: str | Path, question: str, case_id: str | None = None) -> TurnResult:
        """Answer ``question`` about ``slide`` in case ``case_id`` (a new case when None).

        Raises:
            SlideOpenError: the slide cannot be opened (nothing is written to the case).
            CaseError: the case id is invalid.
            PlanError: the question is empty or too long.
        """
        case_id = validate_case_id(case_id) if case_id else new_case_id()
        question = question.strip()
        if not question:
            msg = "the question is empty"
            raise PlanError(msg)
        if len(question) > MAX_QUESTION_CHARS:
            msg = f"the question is {len(question)} characters; the limit is {MAX_QUESTION_CHARS}"
            raise PlanError(msg)
        opened = self.slides.open(slide)
        meta = opened.metadata
        ref = SlideRef(
            path=str(Path(slide).resolve()),
            slide_id=meta.slide_id,
            name=meta.name,
            width=meta.width,
            height=meta.height,
        )
        started = time.perf_counter()
        final = self.graph.invoke(
            {
                "messages": [HumanMessage(content=question)],
                "request": question,
                "slide": ref.model_dump(mode="json"),
                "slide_path": ref.path,
            },
            config={"configurable": {"thread_id": case_id}},
            durability="sync",
        )
        total = time.perf_counter() - started
        result = _result(case_id, final, total)
        self.cases.touch(
            case_id,
            slide=result.slide,
            request=question,
            status=result.verification.get("status"),
            turns=result.turn,
        )
        return result

    def case(self, case_id: str) -> tuple[CaseRecord | None, dict[str, Any]]:
        """Return a case's index row and its latest checkpointed state."""
        validate_case_id(case_id)
        snapshot = self.graph.get_state({"configurable": {"thread_id": case_id}})
        return self.cases.get(case_id), dict(snapshot.values or {})

    def last_turn(self, case_id: str) -> TurnResult | None:
        """Return a case's latest answered turn as ``ask`` returned it (timings zero), or None."""
        _, state = self.case(case_id)
        if not state.get("turn") or not state.get("findings"):
            return None
        return _result(case_id, state, 0.0)

    def close(self) -> None:
        """Release slides, expert clients and the database."""
        self.slides.close()
        self.tools.close()
        self.reasoner.close()
        self.knowledge.store.close()
        self.cases.close()


def _result(case_id: str, state: dict[str, Any], total_s: float) -> TurnResult:
    verification = state.get("verification") or {}
    step_status = verification.get("step_status", {})
    chain = [
        {
            "id": s["id"],
            "kind": s["kind"],
            "text": s["text"],
            "evidence": s["evidence"],
            "claims": s["claims"],
            "verified": bool(step_status.get(s["id"], False)),
        }
        for s in (state.get("chain") or {}).get("steps", [])
    ]
    evidence = state.get("evidence", [])
    return TurnResult(
        case_id=case_id,
        turn=state.get("turn", 0),
        slide=state.get("slide") or {},
        request=state.get("request", ""),
        answer=state.get("answer", ""),
        chain=chain,
        chain_tagged=tagged(ReasoningChain.model_validate(state["chain"]))
        if state.get("chain")
        else "",
        verification=verification,
        evidence=evidence,
        plan=state.get("plan"),
        facts=state.get("facts", []),
        artifacts=[a for e in evidence for a in e.get("artifacts", [])],
        timings={
            "total_s": round(total_s, 4),
            "tools_s": round(sum(e.get("seconds", 0.0) for e in evidence), 4),
        },
    )
