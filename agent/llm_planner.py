"""LLM planner for served deployments: OpenAI-compatible tool calling over the tools' own schemas.

Every registered tool is offered as one function built from its class (``name``,
``description``, ``Input.model_json_schema()``), beside two functions of the agent's own:
``recall_knowledge`` (knowledge-graph facts for the answer) and ``answer_from_case`` (recall or
compare what the case already found). The graph loops plan → act → plan until the model answers
in text or ``SMARTPATH_MAX_TOOL_CALLS`` is spent; each pass asks for one call (no streaming: vLLM's
parsers are known to break on several calls per message and on streamed arguments). A call is
read from structured ``tool_calls`` or from Hermes ``<tool_call>{...}</tool_call>`` text,
validated against the registry and the tool's ``Input``; an invalid or unknown call gets one
repair round that quotes the error. A verifier's reasons come back as the next planning message.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import ValidationError

from agent.review_intents import CompareRequest, RecallRequest
from agent.review_planner import plan_compare, plan_recall
from agent.state import CaseState, Evidence, Node, Plan, PlanStep, Roi
from core.errors import CopilotError, error_kind

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tools.experts import ExpertSpec
    from tools.registry import ToolRegistry

__all__ = [
    "AGENT_FUNCTIONS",
    "ToolCall",
    "SYSTEM",
    "TOOLS_IN_PROMPT",
    "build_messages",
    "case_context",
    "make_llm_planner",
    "system_message",
    "parse_call",
    "tool_functions",
]

logger = logging.getLogger(__name__)

AGENT_FUNCTIONS: tuple[dict[str, Any], ...] = (
    {
        "type": "function",
        "function": {
            "name": "recall_knowledge",
            "description": "Retrieve knowledge-graph facts (definition, site, cell of origin, "
            "features to look for, grading, codes) about a disease or finding for the answer.",
            "parameters": {
                "type": "object",
                "properties": {"topic": {"type": "string", "description": "what to look up"}},
                "required": ["topic"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "answer_from_case",
            "description": "Answer from what this case already found, running no new view: "
            "recall earlier findings, or compare earlier regions (numbered as in the case).",
            "parameters": {
                "type": "object",
                "properties": {
                    "kind": {"type": "string", "enum": ["recall", "compare"]},
                    "regions": {
                        "type": "array",
                        "items": {
                            "anyOf": [
                                {"type": "integer", "minimum": 1},
                                {"type": "string", "enum": ["current", "previous"]},
                            ]
                        },
                    },
                    "analysis": {
                        "type": "string",
                        "enum": ["detect", "segment", "classify", "composition"],
                    },
                },
                "required": ["kind"],
            },
        },
    },
)
_AGENT_NAMES = frozenset(f["function"]["name"] for f in AGENT_FUNCTIONS)
_TOOL_CALL_RE = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
_MAX_RESULT_CHARS = 600


class ToolCallingClient(Protocol):
    """What the planner needs of an OpenAI-compatible client (``core.http.ModelClient``)."""

    def chat_tools(
        self,
        model: str,
        messages: Sequence[dict[str, Any]],
        tools: Sequence[dict[str, Any]],
        *,
        max_tokens: int = ...,
        temperature: float = ...,
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class ToolCall:
    """One function call the model asked for."""

    name: str
    arguments: dict[str, Any]


class CallFormatError(ValueError):
    """The model's message holds a call that cannot be read (bad JSON, no name)."""


def tool_functions(registry: ToolRegistry) -> list[dict[str, Any]]:
    """One OpenAI function per registered tool, from the tool class, then the agent's own."""
    functions = []
    for name in registry.names():
        tool = registry.get(name)
        functions.append(
            {
                "type": "function",
                "function": {
                    "name": name,
                    "description": tool.description,
                    "parameters": _clean_schema(tool.Input.model_json_schema()),
                },
            }
        )
    return [*functions, *AGENT_FUNCTIONS]


def _clean_schema(schema: Any) -> Any:
    """The schema without pydantic's titles (shorter prompts, same meaning)."""
    if isinstance(schema, dict):
        return {k: _clean_schema(v) for k, v in schema.items() if k != "title"}
    if isinstance(schema, list):
        return [_clean_schema(v) for v in schema]
    return schema


def parse_call(message: dict[str, Any]) -> ToolCall | str:
    """The first call in ``message`` (structured or Hermes text), else its text answer.

    Raises:
        CallFormatError: a call is there but cannot be read.
    """
    calls = message.get("tool_calls") or []
    if calls:
        function = (calls[0] or {}).get("function") or {}
        return _call(function.get("name"), function.get("arguments"))
    content = message.get("content") or ""
    if not isinstance(content, str):
        content = json.dumps(content)
    m = _TOOL_CALL_RE.search(content)
    if m is None:
        return content.strip()
    try:
        body = json.loads(m.group(1))
    except ValueError:
        msg = f"the <tool_call> block is not JSON: {m.group(1)[:200]}"
        raise CallFormatError(msg) from None
    if not isinstance(body, dict):
        msg = "the <tool_call> block is not a JSON object"
        raise CallFormatError(msg)
    return _call(body.get("name"), body.get("arguments", body.get("parameters", {})))


def _call(name: Any, arguments: Any) -> ToolCall:
    if not isinstance(name, str) or not name:
        msg = "the call names no function"
        raise CallFormatError(msg)
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            msg = f"the arguments of {name} are not JSON: {arguments[:200]}"
            raise CallFormatError(msg) from None
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        msg = f"the arguments of {name} are not a JSON object"
        raise CallFormatError(msg)
    return ToolCall(name=name, arguments=arguments)


SYSTEM = (
    "You are SmartPath Co-pilot's planner. Call one function at a time to gather the evidence "
    "the pathologist's request needs; when you have it, or when no function fits, reply in plain "
    "text without a call. Coordinates are level-0 pixels."
)
"""The planner's instructions; ``system_message`` adds what the configured experts can do."""

TOOLS_IN_PROMPT = (
    "You may call one function per message. The function signatures are within "
    "<tools></tools> XML tags:"
)
"""Opens the functions written into the system message (Hermes/Qwen convention)."""

CALL_FORMAT = (
    "To call a function, reply with one JSON object holding its name and arguments within "
    "<tool_call></tool_call> XML tags, one call per message:\n"
    '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
)


def system_message(
    experts: Sequence[ExpertSpec], functions: Sequence[dict[str, Any]] | None = None
) -> str:
    """The instructions and each configured expert's declared domain and limits.

    With ``functions`` (``SMARTPATH_PLANNER_TOOLS_IN_PROMPT``) the message also carries them in
    the Hermes/Qwen convention: their signatures (name, description, parameters) as one JSON
    array within ``<tools></tools>``, one function a line, and the ``<tool_call>`` format, for
    chat templates that do not render the request's ``tools``. The same for every turn of a
    process, so that a server's prefix cache holds it with the functions. Without a ``vqa``
    expert the model is told that free visual questions cannot be answered, so it does not
    promise one.
    """
    lines = [SYSTEM, "Configured experts (what each was trained on and cannot tell):"]
    for spec in experts:
        d = spec.domain
        trained = [d.tissue or "any tissue"]
        if d.organs:
            trained.append("organs: " + ", ".join(d.organs))
        if d.stains:
            trained.append("stains: " + ", ".join(d.stains))
        if d.mpp_min or d.mpp_max:
            trained.append(f"µm/px {d.mpp_min or '?'}–{d.mpp_max or '?'}")
        if spec.labels:
            trained.append("classes: " + ", ".join(spec.labels[:12]))
        limits = "; ".join(x.text for x in d.cannot)
        line = f"- {spec.name} ({spec.task}): " + "; ".join(trained)
        lines.append(line + (f". Cannot: {limits}" if limits else ""))
    if not any(spec.task == "vqa" for spec in experts):
        lines.append(
            "- no vqa expert: no function answers free visual questions (mitoses, invasion, "
            "grade); say so in text"
        )
    if functions is not None:
        lines += ["", TOOLS_IN_PROMPT, "<tools>", _signatures(functions), "</tools>", CALL_FORMAT]
    return "\n".join(lines)


def _signatures(functions: Sequence[dict[str, Any]]) -> str:
    """The functions' signatures as a compact JSON array, one function a line."""
    rows = []
    for f in functions:
        fn = f["function"]
        row = {"name": fn["name"], "description": fn["description"], "parameters": fn["parameters"]}
        rows.append(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
    return "[\n" + ",\n".join(rows) + "\n]"


def case_context(state: CaseState, budget: int) -> str:
    """The case context: the slide, the numbered regions, the latest analyses, the budget."""
    slide = state.get("slide") or {}
    lines = [f"Budget: at most {budget} function calls this turn."]
    if slide:
        lines.append(
            f"Open slide: {json.dumps(slide.get('name', ''))}, {slide.get('width')} x "
            f"{slide.get('height')} level-0 px."
        )
    rois = [Roi.model_validate(r) for r in state.get("rois", [])]
    here = [r for r in rois if r.slide_id == slide.get("slide_id")]
    if here:
        lines.append("Regions visited (use roi_number to name one):")
        for r in here[-8:]:
            mag = f"{r.magnification:g}x" if r.magnification else "unknown magnification"
            lines.append(f"- region {r.number}: box {r.box} at {mag}")
        current = state.get("current_roi")
        if current is not None:
            lines.append(f"The current region is region {current}.")
    else:
        lines.append("No region has been visited yet.")
    latest: dict[str, str] = {}
    for record in state.get("archive", []):
        if record.get("ok") and record.get("tool"):
            latest[record["tool"]] = str(record.get("summary", ""))[:160]
    for tool, summary in latest.items():
        lines.append(f"Latest {tool} result: {summary}")
    return "\n".join(lines)


def build_messages(
    state: CaseState, plan: Plan | None, budget: int, system: str = SYSTEM
) -> list[dict[str, Any]]:
    """The conversation so far: context, request, each call with its result, the feedback."""
    context = case_context(state, budget)
    request = state.get("request", "")
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": system},
        {"role": "user", "content": f"Case context:\n{context}\n\nRequest: {request}"},
    ]
    evidence = [Evidence.model_validate(e) for e in state.get("evidence", [])]
    rois = {r["evidence"]: r["number"] for r in state.get("rois", [])}
    for k, entry in enumerate(plan.trace if plan is not None else []):
        call_id = f"call_{k + 1}"
        messages.append(
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {
                            "name": entry["name"],
                            "arguments": json.dumps(entry["arguments"], sort_keys=True),
                        },
                    }
                ],
            }
        )
        messages.append(
            {
                "role": "tool",
                "tool_call_id": call_id,
                "name": entry["name"],
                "content": _result_text(entry, evidence, rois),
            }
        )
    feedback = state.get("feedback") or []
    if feedback:
        reasons = "; ".join(feedback)[:1200]
        messages.append(
            {
                "role": "user",
                "content": "The verifier rejected the answer built from these results: "
                f"{reasons}. Gather the missing or corrected evidence, or answer in text.",
            }
        )
    return messages


def _result_text(entry: dict[str, Any], evidence: list[Evidence], rois: dict[str, int]) -> str:
    if entry.get("result"):
        return str(entry["result"])
    step = entry.get("step")
    evidence = [e for e in evidence if e.tool != "planner"]  # act's evidence, step by step
    if step is None or step >= len(evidence):
        return "not run"
    ev = evidence[step]
    if not ev.ok:
        return f"failed ({ev.error_kind}): {ev.error}"[:_MAX_RESULT_CHARS]
    text = f"{ev.id}: {ev.summary}"
    if ev.id in rois:
        text += f" (this view is region {rois[ev.id]})"
    return text[:_MAX_RESULT_CHARS]


def make_llm_planner(
    registry: ToolRegistry,
    client: ToolCallingClient,
    model: str,
    *,
    budget: int,
    reason: str,
    max_tokens: int = 512,
    tools_in_prompt: bool = False,
) -> Node:
    """Return the ``plan`` node of the LLM planner (one call per pass through the graph).

    ``tools_in_prompt`` also writes the functions into the system message (they are sent in
    ``tools`` either way).
    """
    functions = tool_functions(registry)
    names = set(registry.names())
    system = system_message(registry.experts(), functions if tools_in_prompt else None)

    def plan(state: CaseState) -> dict[str, Any]:
        prior = Plan.model_validate(state["plan"]) if state.get("plan") else None
        if prior is None or prior.planner != "llm":
            prior = Plan(request=state.get("request", ""), planner="llm", planner_reason=reason)
        current = prior.model_copy(update={"done": False})
        if current.calls >= budget:
            note = f"stopped after {current.calls} tool calls (SMARTPATH_MAX_TOOL_CALLS={budget})"
            return _out(current.model_copy(update={"done": True, "notes": [*current.notes, note]}))
        messages = build_messages(state, current, budget, system)
        try:
            return _step(state, current, messages)
        except CopilotError as exc:
            logger.warning("LLM planner %s: %s", model, exc)
            return _failed(state, current, exc)

    def _step(state: CaseState, current: Plan, messages: list[dict[str, Any]]) -> dict[str, Any]:
        repaired = False
        while True:
            message = client.chat_tools(model, messages, functions, max_tokens=max_tokens)
            problem, call = _read(message, names)
            if problem is None:
                break
            current = current.model_copy(update={"refused": [*current.refused, problem]})
            if repaired:
                note = f"the planner's call was refused: {problem}"
                done = current.model_copy(update={"done": True, "notes": [*current.notes, note]})
                return _out(done)
            repaired = True
            logger.info("LLM planner repair round: %s", problem)
            messages = [
                *messages,
                {"role": "assistant", "content": str(message.get("content") or "")},
                {
                    "role": "user",
                    "content": f"That call was refused: {problem}. Call one of the functions "
                    "with valid arguments, or answer in text.",
                },
            ]
        if isinstance(call, str):
            update = {"done": True, "answer_text": call[:2000]}
            return _out(current.model_copy(update=update))
        assert isinstance(call, ToolCall)
        return _out(_apply(state, current, call))

    def _read(message: dict[str, Any], tools: set[str]) -> tuple[str | None, ToolCall | str]:
        try:
            call = parse_call(message)
        except CallFormatError as exc:
            return str(exc), ""
        if isinstance(call, str):
            return None, call
        if call.name not in tools and call.name not in _AGENT_NAMES:
            listed = ", ".join(sorted(tools | _AGENT_NAMES))
            return f"unknown function {call.name!r}; the functions are: {listed}", call
        if call.name in tools:
            try:
                registry.get(call.name).Input.model_validate(call.arguments)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "arguments"
                return f"invalid arguments for {call.name}: {where}: {first['msg']}", call
        return None, call

    def _apply(state: CaseState, current: Plan, call: ToolCall) -> Plan:
        calls = current.calls + 1
        entry: dict[str, Any] = {"name": call.name, "arguments": call.arguments}
        if call.name == "recall_knowledge":
            entry["result"] = "facts will be retrieved for the answer"
            return current.model_copy(
                update={
                    "knowledge": True,
                    "calls": calls,
                    "trace": [*current.trace, entry],
                    "done": calls >= budget,
                }
            )
        if call.name == "answer_from_case":
            return _from_case(state, current, call, entry, calls)
        args = _resolve_regions(call.name, dict(call.arguments), state)
        step = PlanStep(tool=call.name, args=args, why=f"LLM planner call {calls}")
        entry["step"] = len(current.steps)
        return current.model_copy(
            update={
                "steps": [*current.steps, step],
                "calls": calls,
                "trace": [*current.trace, entry],
            }
        )

    return plan


def _from_case(
    state: CaseState, current: Plan, call: ToolCall, entry: dict[str, Any], calls: int
) -> Plan:
    """A recall or comparison of earlier regions, planned by the case-review planner."""
    slide = state.get("slide") or {}
    rois = [
        r
        for r in (Roi.model_validate(x) for x in state.get("rois", []))
        if r.slide_id == slide.get("slide_id")
    ]
    archive = state.get("archive", [])
    regions = tuple(r for r in call.arguments.get("regions") or [] if isinstance(r, (int, str)))
    if call.arguments.get("kind") == "compare":
        analysis = call.arguments.get("analysis")
        request = CompareRequest(regions=regions or ("current", "previous"), tool=analysis)
        steps, lookup = plan_compare(request, rois, state.get("current_roi"), archive)
        entry["result"] = "the comparison is answered from the case"
        offset = len(current.steps)
        for k in range(len(steps)):
            entry.setdefault("steps", []).append(offset + k)
        return current.model_copy(
            update={
                "steps": [*current.steps, *steps],
                "lookup": lookup,
                "calls": calls,
                "trace": [*current.trace, entry],
                "done": True,
            }
        )
    analysis = call.arguments.get("analysis")
    kinds = (analysis,) if isinstance(analysis, str) and analysis else ()
    request = RecallRequest(regions=regions, kinds=kinds)
    lookup = plan_recall(request, rois, state.get("current_roi"), archive)
    entry["result"] = "the case's earlier findings are recalled"
    return current.model_copy(
        update={"lookup": lookup, "calls": calls, "trace": [*current.trace, entry], "done": True}
    )


def _resolve_regions(tool: str, args: dict[str, Any], state: CaseState) -> dict[str, Any]:
    """Give a call that names an earlier region by number that region's level-0 box."""
    number = args.get("roi_number")
    if number is None or args.get("box"):
        return args
    roi = next(
        (Roi.model_validate(r) for r in state.get("rois", []) if r["number"] == number), None
    )
    if roi is None:
        return args
    if tool == "zoom":
        if args.get("target", "roi") in ("roi", "box"):
            args.setdefault("target", "roi")
            args.update(box=roi.box, view_px=roi.output_size)
            if not any(args.get(k) is not None for k in ("magnification", "mpp", "level")):
                args.setdefault("downsample", roi.downsample)
        return args
    if args.get("target", "box") in ("box", "auto"):
        args.update(target="box", box=roi.box)
    return args


def _out(plan: Plan) -> dict[str, Any]:
    return {"plan": plan.model_dump(mode="json")}


def _failed(state: CaseState, current: Plan, exc: CopilotError) -> dict[str, Any]:
    """A planner server that is down, slow or unreadable: one failed evidence, no more calls."""
    evidence = list(state.get("evidence", []))
    turn = state.get("turn", 1)
    ev = Evidence(
        id=f"E{turn}.{len(evidence) + 1}",
        tool="planner",
        ok=False,
        summary=f"failed: {exc}",
        error=str(exc),
        error_kind=error_kind(exc),  # type: ignore[arg-type]
        backend="openai",
    )
    done = current.model_copy(update={"done": True})
    return {
        "plan": done.model_dump(mode="json"),
        "evidence": [*evidence, ev.model_dump(mode="json")],
    }
