"""Copilot: the composition root's service that runs one turn of a case through the graph."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage
from pydantic import BaseModel, Field

from agent.chain_format import tagged
from agent.deps import GraphDeps
from agent.graph import build_graph
from agent.knowledge import Knowledge
from agent.node_timing import NodeTiming, turn_timings
from agent.planner import make_planner
from agent.state import ReasoningChain, SlideRef
from app.case_recovery import inspect_case, needs_repair, repair
from app.reasoners import choose_reasoner
from core.errors import PlanError, SlideOpenError
from core.progress import Progress
from core.settings import Settings
from core.text import clean_text, has_undecodable
from memory.audit import AuditLog
from memory.cases import CaseRecord, CaseStore, new_case_id, validate_case_id
from memory.kg.store import KGStore
from tools.pixel_budget import PixelBudget
from tools.registry import ClientFactory, build_tools
from tools.slide_cache import SlideCache

__all__ = ["Copilot", "TurnResult"]

MAX_QUESTION_CHARS = 4000
WAIT_LINE = "waiting for another turn of this case to finish…"

logger = logging.getLogger(__name__)


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
    earlier: list[dict[str, Any]] = Field(
        default_factory=list,
        description="evidence of earlier turns this turn compares or recalls (cited, not re-run)",
    )
    plan: dict[str, Any] | None
    facts: list[dict[str, Any]]
    artifacts: list[str]
    timings: dict[str, float] = Field(
        description="where the turn's seconds went: total_s, tools_s, kg_s, agent_s (the rest), "
        "node_<name>_s per node, kg_<name>_s, graph_s (see agent.node_timing.turn_timings)"
    )
    reasoner_error: dict[str, str] | None = Field(
        default=None, description="why the LLM reasoner wrote no chain: kind and message"
    )

    @property
    def exit_code(self) -> int:
        """The CLI's exit code for this turn.

        0 answered; 2 a step failed on bad input; 3 an expert or the LLM reasoner was down, slow
        or unusable; 1 a tool or the reasoner failed inside (a bug, logged).
        """
        kinds = {e.get("error_kind") for e in self.evidence if not e.get("ok")}
        if self.reasoner_error:
            kinds.add(self.reasoner_error.get("kind"))
        if kinds & {"backend", "output"}:
            return 3
        if "input" in kinds:
            return 2
        return 1 if "internal" in kinds else 0

    @property
    def error(self) -> str | None:
        """The first failure of the turn in one line (a failed tool call, else the reasoner)."""
        failed = next((e for e in self.evidence if not e.get("ok")), None)
        if failed is not None:
            return str(failed.get("error") or failed.get("summary") or "a tool call failed")
        return self.reasoner_error.get("message") if self.reasoner_error else None


def recursion_limit(settings: Settings) -> int:
    """Graph steps one turn may take: the LLM planner's plan → act loop, re-plans and the rest."""
    loop = 2 * (settings.max_tool_calls + 1)
    return 10 + (settings.verify_budget + 1) * (loop + 4)


class Copilot:
    """Owns the slide cache, the cases database, the audit log and the compiled graph.

    Safe to call from several threads and processes at once: the slide cache, cases database,
    audit log and KG store lock their own state, and two turns of the same case never
    interleave, in one process or several (a turn holds the case's lock, ``memory/case_lock.py``,
    from reading the case's state to writing its index row; turns of different cases run in
    parallel). A turn that finds its case locked waits up to ``case_lock_timeout_s`` seconds,
    then raises ``CaseBusyError``. An interrupted turn is set aside when the case is next
    opened (``app/case_recovery.py``).
    """

    def __init__(self, settings: Settings, client_factory: ClientFactory | None = None) -> None:
        self.reasoner = choose_reasoner(settings, client_factory)  # ConfigError before any I/O
        settings.ensure_dirs()
        self.settings = settings
        self.slides = SlideCache(PixelBudget.from_settings(settings))
        self.cases = CaseStore(settings.cases_db)
        self.audit = AuditLog(settings.audit_dir)
        self.tools = build_tools(settings, client_factory)
        self.knowledge = Knowledge(KGStore(settings), settings.link_threshold)
        self._planner = make_planner(self.tools, settings, client_factory)
        deps = GraphDeps(
            settings=settings,
            tools=self.tools,
            slides=self.slides,
            audit=self.audit,
            knowledge=self.knowledge,
            reasoner=self.reasoner.node,
            rewrite_on_failure=self.reasoner.rewrite_on_failure,
            planner=self._planner,
        )
        self.graph = build_graph(deps).compile(checkpointer=self.cases.checkpointer)
        self._new_ids: set[str] = set()
        self._new_ids_guard = threading.Lock()

    def ask(self, slide: str | Path, question: str, case_id: str | None = None) -> TurnResult:
        """Answer ``question`` about ``slide`` in case ``case_id`` (a new case when None).

        Raises:
            SlideOpenError: the slide cannot be opened (nothing is written to the case).
            CaseError: the case id is invalid.
            CaseBusyError: another turn of the case held it longer than ``case_lock_timeout_s``.
            PlanError: the question is empty or too long.
        """
        for item in self.ask_stream(slide, question, case_id):
            if isinstance(item, TurnResult):
                return item
        msg = "the turn ended without a result"
        raise RuntimeError(msg)

    def ask_stream(
        self, slide: str | Path, question: str, case_id: str | None = None
    ) -> Iterator[Progress | TurnResult]:
        """``ask``, streamed: ``Progress`` events while the turn runs, then its ``TurnResult``.

        The arguments are checked and the slide opened before this returns, raising what ``ask``
        raises. The question is kept with undecodable bytes shown as escapes (a backslash, x and
        two hex digits) and control characters other than tab and newline removed; a slide whose
        file name is not valid UTF-8 is refused (its path could not be stored). Iterate to the
        end: the case stays locked against other turns (of any process) until the turn is
        complete, and an iterator dropped early ends the turn after the node that is running,
        recorded in the audit log as interrupted. When another turn holds the case, the first
        event is a ``wait`` progress line; after ``case_lock_timeout_s`` seconds iterating raises
        ``CaseBusyError``.
        """
        case_id = validate_case_id(case_id) if case_id is not None else self._new_case_id()
        if has_undecodable(str(slide)):
            msg = (
                f"the slide's file name '{clean_text(Path(slide).name)}' is not valid UTF-8; "
                "rename the file"
            )
            raise SlideOpenError(msg)
        question = clean_text(question).strip()
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
        inputs = {
            "messages": [HumanMessage(content=question)],
            "request": question,
            "slide": ref.model_dump(mode="json"),
            "slide_path": ref.path,
        }
        return self._run_turn(case_id, question, inputs)

    def _run_turn(
        self, case_id: str, question: str, inputs: dict[str, Any]
    ) -> Iterator[Progress | TurnResult]:
        lease = self.cases.locks.try_acquire(case_id)
        if lease is None:
            yield Progress(kind="node", node="wait", text=WAIT_LINE)
            lease = self.cases.locks.acquire(case_id, self.settings.case_lock_timeout_s)
        with lease:
            repair(self.graph, self.cases, self.audit, case_id)  # an interrupted turn set aside
            started = time.perf_counter()
            final: dict[str, Any] = {}
            seen: dict[str, int] = {}
            runs: list[NodeTiming] = []
            stream = self.graph.stream(
                inputs,
                config={
                    "configurable": {"thread_id": case_id},
                    "recursion_limit": recursion_limit(self.settings),
                },
                durability="sync",
                stream_mode=["tasks", "custom", "values"],
            )
            try:
                for mode, chunk in stream:
                    if mode == "values":
                        final = chunk
                    elif mode == "custom" and isinstance(chunk, Progress):
                        yield chunk
                    elif mode == "custom" and isinstance(chunk, NodeTiming):
                        runs.append(chunk)
                    elif mode == "custom" and isinstance(chunk, dict) and "tool_progress" in chunk:
                        text = str(chunk["tool_progress"])
                        yield Progress(kind="tool_progress", node="act", text=text)
                    elif mode == "tasks" and "input" in chunk:  # a node starts
                        name = str(chunk["name"])
                        seen[name] = seen.get(name, 0) + 1
                        yield Progress(kind="node", node=name, text=_node_line(name, seen[name]))
            except BaseException as exc:
                stream.close()
                self._abandoned(case_id, exc)
                raise
            total = time.perf_counter() - started
            result = _result(case_id, final, total, runs)
            self.cases.touch(
                case_id,
                slide=result.slide,
                request=question,
                status=result.verification.get("status"),
                turns=result.turn,
            )
        yield result

    def _abandoned(self, case_id: str, exc: BaseException) -> None:
        """Record a turn that stopped inside the graph as interrupted, while the lock is held."""
        if isinstance(exc, GeneratorExit):
            reason = "the caller stopped reading the turn before it completed"
        elif isinstance(exc, KeyboardInterrupt):
            reason = "interrupted by the user"
        else:
            reason = f"the turn failed: {type(exc).__name__}: {' '.join(str(exc).split())}"
        try:
            repair(self.graph, self.cases, self.audit, case_id, reason=reason)
        except Exception:  # the next opening of the case records it; keep the first error
            logger.warning("case %s: could not record the interrupted turn", case_id, exc_info=True)

    def _new_case_id(self) -> str:
        """A case id no other case and no new case of this process holds."""
        with self._new_ids_guard:
            while True:
                case_id = new_case_id()
                if case_id not in self._new_ids and self.cases.get(case_id) is None:
                    self._new_ids.add(case_id)
                    return case_id

    def case(self, case_id: str) -> tuple[CaseRecord | None, dict[str, Any]]:
        """Return a case's index row and its state after its last answered turn.

        A turn running in another process does not show until it is answered. When the case
        has an interrupted turn or its index disagrees with its checkpoints and no turn holds
        it, the case is repaired first (``app/case_recovery.py``).
        """
        validate_case_id(case_id)
        tip = inspect_case(self.graph, case_id)
        record = self.cases.get(case_id)
        if needs_repair(tip, record):
            lease = self.cases.locks.try_acquire(case_id)
            if lease is not None:
                with lease:
                    tip = repair(self.graph, self.cases, self.audit, case_id)
                record = self.cases.get(case_id)
        return record, tip.state

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
        close_planner = getattr(self._planner, "close", None)
        if close_planner is not None:
            close_planner()
        self.knowledge.store.close()
        self.cases.close()


_NODE_LINES = {
    "intake": "opening the case…",
    "plan": "planning…",
    "act": "running the tools…",
    "recall": "recalling knowledge-graph facts…",
    "reason": "writing the reasoning chain…",
    "verify": "verifying…",
    "respond": "saving the answer…",
}
_AGAIN_LINES = {
    "plan": "planning again for the evidence the verifier found missing…",
    "reason": "rewriting the reasoning chain after the verifier's checks…",
    "verify": "verifying again…",
}


def _node_line(node: str, times: int) -> str:
    if times > 1 and node in _AGAIN_LINES:
        return _AGAIN_LINES[node]
    return _NODE_LINES.get(node, f"{node}…")


def _result(
    case_id: str, state: dict[str, Any], total_s: float, runs: list[NodeTiming] | None = None
) -> TurnResult:
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
        earlier=state.get("earlier", []),
        plan=state.get("plan"),
        facts=state.get("facts", []),
        artifacts=[a for e in evidence for a in e.get("artifacts", [])],
        reasoner_error=state.get("reasoner_error"),
        timings=turn_timings(total_s, sum(e.get("seconds", 0.0) for e in evidence), runs or []),
    )
