"""A case after a turn that did not complete: found, written in the audit log, set aside.

A turn is *answered* when its last checkpoint is written (the graph has no node left to run).
A turn whose process was killed (or that failed inside the graph) leaves newer checkpoints that
still have nodes to run. Such a turn is **interrupted**: the case continues from the last
answered turn, so its state holds only answered turns, its turns are numbered 1..N without
gaps, and the next turn takes the interrupted turn's number again. The audit log says so with
one ``interrupted`` record after the interrupted turn's own records (its ``request``, tool calls
and perhaps its ``turn`` record): the turn number, the request, the nodes it had not run,
the checkpoint it reached and the turn the case continues from. To read an audit log by turn,
take the records after a turn's last ``request`` record.

Everything here that writes (``repair``) runs while the caller holds the case's lock, so no turn
of the case is running: a checkpoint with nodes left to run is then an interrupted turn, not a
turn in progress in another process.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import StateSnapshot

from core.errors import CaseError
from memory.audit import AuditLog
from memory.cases import CaseRecord, CaseStore

__all__ = ["CaseTip", "inspect_case", "needs_repair", "repair"]

logger = logging.getLogger(__name__)

PROCESS_ENDED = (
    "its process ended (killed or crashed) before the turn's last checkpoint was written"
)


@dataclass(frozen=True)
class CaseTip:
    """Where a case stands: its last answered turn and an interrupted turn after it, if any."""

    answered: StateSnapshot | None
    interrupted: StateSnapshot | None

    @property
    def turns(self) -> int:
        """Number of the last answered turn (0 before the first), which is also their count."""
        return int(self.answered.values.get("turn", 0)) if self.answered else 0

    @property
    def state(self) -> dict[str, Any]:
        """The case's state after its last answered turn (empty before the first)."""
        return dict(self.answered.values) if self.answered else {}


def inspect_case(graph: CompiledStateGraph[Any], case_id: str) -> CaseTip:
    """Read where a case stands, without writing.

    The newest checkpoint and, when it is unfinished, its parents back to the last answered
    turn (a turn writes a few checkpoints). Each checkpoint is read by its id, which gives it as
    it was written. ``get_state`` without an id gives a live view that applies the saved writes
    of nodes finished after the newest checkpoint and then lists no node left to run: a turn
    killed right after a node would look answered. (``get_state_history`` reads every
    checkpoint of the case, too slow here.)
    """
    latest = graph.get_state({"configurable": {"thread_id": case_id}})
    if latest.config["configurable"].get("checkpoint_id") is None:
        return CaseTip(answered=None, interrupted=None)  # a case without checkpoints
    newest = graph.get_state(latest.config)
    if not newest.next:
        return CaseTip(answered=newest, interrupted=None)
    snapshot = newest
    while snapshot.next and snapshot.parent_config is not None:
        snapshot = graph.get_state(snapshot.parent_config)
    return CaseTip(answered=None if snapshot.next else snapshot, interrupted=newest)


def needs_repair(tip: CaseTip, record: CaseRecord | None) -> bool:
    """Whether a case has an interrupted turn, or an index row that disagrees with its state."""
    if tip.interrupted is not None:
        return True
    return tip.answered is not None and (record is None or record.turns != tip.turns)


def repair(
    graph: CompiledStateGraph[Any],
    cases: CaseStore,
    audit: AuditLog,
    case_id: str,
    reason: str = PROCESS_ENDED,
) -> CaseTip:
    """Record an interrupted turn (once) and make the index agree; return the case's tip.

    Call only while holding the case's lock. The index row is rewritten from the last answered
    turn when it disagrees (a process killed between its last checkpoint and the index row).
    The interrupted turn is set aside by copying the last answered turn's checkpoint as the
    newest (LangGraph's ``__copy__`` update; the interrupted checkpoints stay in the history).
    A case whose first turn was interrupted has its checkpoints deleted instead: it has no
    answered turn to continue from, and its next turn is turn 1.
    """
    tip = inspect_case(graph, case_id)
    if tip.interrupted is not None:
        _record_interrupted(audit, case_id, tip, reason)
        if tip.answered is None:
            cases.checkpointer.delete_thread(case_id)
        else:  # the last answered turn's checkpoint, copied, becomes the newest again
            graph.update_state(tip.answered.config, None, as_node="__copy__")
        tip = inspect_case(graph, case_id)
        if tip.interrupted is not None:
            msg = f"case {case_id!r}: an interrupted turn could not be set aside"
            raise CaseError(msg)
    record = cases.get(case_id)
    if tip.answered is not None and (record is None or record.turns != tip.turns):
        state = tip.state
        cases.touch(
            case_id,
            slide=state.get("slide") or {},
            request=str(state.get("request", "")),
            status=(state.get("verification") or {}).get("status"),
            turns=tip.turns,
        )
        logger.warning(
            "case %s: index said %s turns, the checkpoints %d; index repaired",
            case_id,
            None if record is None else record.turns,
            tip.turns,
        )
    return tip


def _record_interrupted(audit: AuditLog, case_id: str, tip: CaseTip, reason: str) -> None:
    assert tip.interrupted is not None
    checkpoint_id = str(tip.interrupted.config["configurable"]["checkpoint_id"])
    last = audit.last(case_id)
    if last and last.get("kind") == "interrupted" and last.get("checkpoint_id") == checkpoint_id:
        return  # recorded already (by the failing process, or an earlier repair)
    values = tip.interrupted.values
    turn = tip.turns + 1
    started = values.get("turn") == turn  # the intake node numbered it: the request is its own
    audit.append(
        case_id,
        "interrupted",
        {
            "turn": turn,
            "request": values.get("request") if started else None,
            "pending": list(tip.interrupted.next),
            "checkpoint_id": checkpoint_id,
            "continues_from_turn": tip.turns,
            "reason": reason,
        },
    )
    logger.warning(
        "case %s: turn %d was interrupted at %s (%s); the case continues from turn %d",
        case_id,
        turn,
        ", ".join(tip.interrupted.next),
        reason,
        tip.turns,
    )
