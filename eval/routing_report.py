"""``smartpath eval routing``: the planners side by side on the paraphrase suite.

Prints one table (planner, half, requests, routing accuracy, argument accuracy, planning time
p50) and, with ``--misses``, every request a planner routed wrongly. ``--limit N`` scores the
first N requests of the chosen half, in suite order.

``--planner llm`` scores the LLM planner on a configured endpoint (``SMARTPATH_PLANNER_URL`` and
``SMARTPATH_PLANNER_MODEL``; without them: one line, exit 2). No tool runs, and the LLM planner
reads each result before its next call, so only its first call is scored: the plan node runs once
per request on the same case context as the other planners, and the call the model makes (after
the planner's own repair round) is mapped to a capability (``eval.routing.first_call_in``). Its
own table gives two figures that are not full-plan routing accuracy: on single-capability
requests, the share whose first call is the expected capability (a ``clarify`` request is right
when the model answers or asks in text); on multi-capability requests, the share whose first
call is one of the expected ones. A planner server that is down, slow or sends an unreadable
completion stops the command: one line, exit 3.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Sequence

from agent.capabilities import capabilities_of
from agent.llm_planner import make_llm_planner
from agent.planner import plan_request, planner_client, semantic_plan
from agent.semantic_planner import SemanticRouter
from agent.state import Evidence, Plan
from core.errors import ConfigError, CopilotError, ToolServerError
from core.http import ModelClient
from core.settings import Settings
from eval.routing import (
    FirstCall,
    FirstCallScore,
    Paraphrase,
    Planner,
    RoutingScore,
    SuiteTurn,
    load_paraphrases,
    score_first_call,
    score_planner,
)
from eval.routing_args import add_parser
from memory.kg.embed import shared_embedder
from tools.registry import ToolRegistry, build_tools

__all__ = [
    "add_parser",
    "first_call_scores",
    "format_first_call_table",
    "format_table",
    "routing_scores",
    "run_routing",
]

logger = logging.getLogger(__name__)

EXIT_BELOW_THRESHOLD = 4
"""As ``smartpath eval run``: a threshold was missed."""


def routing_scores(
    settings: Settings, planners: Sequence[str], split: str, items: list[Paraphrase]
) -> list[RoutingScore]:
    """Score each named planner on ``split`` of ``items``."""
    scores = []
    for name in planners:
        if name == "rules":
            scores.append(score_planner("rules", _rules_planner, items, split))
        elif name == "semantic":
            registry = build_tools(settings)
            try:
                router = SemanticRouter(
                    capabilities_of(registry),
                    shared_embedder(settings.embedding_model),
                    threshold=settings.planner_threshold,
                )
            finally:
                registry.close()
            router.route("warm up")  # the example vectors are embedded once per process
            scores.append(score_planner("semantic", _semantic_planner(router), items, split))
    return scores


def _rules_planner(turn: SuiteTurn) -> Plan:
    return plan_request(
        turn.request, turn.rois, turn.current, turn.slide_id, archive=turn.archive, slide=turn.slide
    )


def _semantic_planner(router: SemanticRouter) -> Planner:
    def plan(turn: SuiteTurn) -> Plan:
        return semantic_plan(
            turn.request,
            router,
            turn.rois,
            turn.current,
            turn.slide_id,
            archive=turn.archive,
            slide=turn.slide,
        )

    return plan


def first_call_scores(
    settings: Settings,
    split: str,
    items: list[Paraphrase],
    client_factory: Callable[[str], ModelClient] | None = None,
) -> FirstCallScore:
    """Score the LLM planner's first call on ``split`` of ``items``.

    Raises:
        ConfigError: no planner endpoint or model is configured.
        ToolServerError: the planner server is down, slow or sent an unreadable completion.
    """
    url, model = _endpoint(settings)
    registry = build_tools(settings, client_factory)
    client = (client_factory or planner_client(settings))(url)
    try:
        planner = _llm_first_pass(
            registry,
            client,
            model,
            settings.max_tool_calls,
            url,
            tools_in_prompt=settings.planner_tools_in_prompt,
        )

        def progress(done: int, total: int, request: str, got: str) -> None:
            logger.info("llm planner %d/%d: %r -> %s", done, total, request, got)

        return score_first_call("llm", planner, items, split, progress)
    finally:
        client.close()
        registry.close()


def _endpoint(settings: Settings) -> tuple[str, str]:
    """The LLM planner's base URL and model.

    Raises:
        ConfigError: either is not configured.
    """
    url, model = settings.planner_url, settings.planner_model
    if not (url and model):
        msg = (
            "eval routing --planner llm needs SMARTPATH_PLANNER_URL and SMARTPATH_PLANNER_MODEL "
            "(an OpenAI-compatible endpoint with tool calling)"
        )
        raise ConfigError(msg)
    return url, model


def _llm_first_pass(
    registry: ToolRegistry,
    client: ModelClient,
    model: str,
    budget: int,
    url: str,
    *,
    tools_in_prompt: bool = False,
) -> FirstCall:
    node = make_llm_planner(
        registry,
        client,
        model,
        budget=budget,
        reason=f"eval routing ({model} at {url})",
        tools_in_prompt=tools_in_prompt,
    )

    def plan(turn: SuiteTurn) -> Plan:
        state = {
            "request": turn.request,
            "slide": turn.slide,
            "rois": [r.model_dump(mode="json") for r in turn.rois],
            "current_roi": turn.current,
            "turn": 1,
            "evidence": [],
            "archive": turn.archive,
        }
        out = node(state)
        failed = [Evidence.model_validate(e) for e in out.get("evidence", []) if not e["ok"]]
        if failed:  # the node turns a server failure into a failed evidence; here it ends the run
            error = failed[0]
            message = error.error or error.summary
            if error.error_kind in ("backend", "output"):
                raise ToolServerError(message)
            raise CopilotError(message)
        return Plan.model_validate(out["plan"])

    return plan


def format_first_call_table(score: FirstCallScore) -> str:
    """The LLM planner's first-call figures as a Markdown table, then per capability."""
    lines = [
        "First call only (no tool runs; not full-plan routing accuracy):",
        "",
        "| planner | half | requests | single-capability requests: first call right "
        "| multi-capability requests: first call among expected | no valid call "
        "| first pass p50 ms |",
        "|---|---|---:|---:|---:|---:|---:|",
        f"| {score.planner} | {score.split} | {score.n} "
        f"| {_share(score.single_right, score.single)} "
        f"| {_share(score.multi_right, score.multi)} "
        f"| {score.no_valid_call} | {score.p50_ms:.1f} |",
        "",
        "| capability (single-capability requests) | llm first call right |",
        "|---|---:|",
    ]
    for cap in sorted(score.per_capability):
        right, total = score.per_capability[cap]
        lines.append(f"| {cap} | {right}/{total} |")
    made = ", ".join(f"{cap} {n}" for cap, n in sorted(score.first_calls.items()))
    lines += ["", f"First calls made: {made or 'none'}."]
    return "\n".join(lines)


def _share(right: int, total: int) -> str:
    return f"{right / total:.1%} ({right}/{total})" if total else "– (0/0)"


def format_table(scores: Sequence[RoutingScore]) -> str:
    """The scores as a Markdown table, then per-capability accuracy."""
    lines = [
        "| planner | half | requests | routing accuracy | argument accuracy | plan p50 ms |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for s in scores:
        lines.append(
            f"| {s.planner} | {s.split} | {s.n} | {s.accuracy:.1%} | "
            f"{s.args_accuracy:.1%} ({s.args_right}/{s.args_checked}) | {s.p50_ms:.1f} |"
        )
    caps = sorted({c for s in scores for c in s.per_capability})
    lines += ["", "| capability | " + " | ".join(s.planner for s in scores) + " |"]
    lines.append("|---|" + "---:|" * len(scores))
    for cap in caps:
        cells = []
        for s in scores:
            right, total = s.per_capability.get(cap, [0, 0])
            cells.append(f"{right}/{total}")
        lines.append(f"| {cap} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run_routing(
    args: argparse.Namespace,
    settings: Settings,
    client_factory: Callable[[str], ModelClient] | None = None,
) -> int:
    """Print the tables; exit 0 (4 below ``--min-accuracy``).

    ``client_factory`` (base URL -> client) replaces the LLM planner's HTTP client in tests.

    Raises:
        ConfigError: ``--planner llm`` without a configured endpoint, or a bad ``--limit``.
        ToolServerError: the LLM planner's server is down, slow or unreadable.
    """
    planners = list(dict.fromkeys(args.planner or ["rules", "semantic"]))
    if "llm" in planners:
        _endpoint(settings)  # a missing endpoint is one line before any work
    items = _chosen(load_paraphrases(batch=args.batch), args.split, getattr(args, "limit", None))
    others = [p for p in planners if p != "llm"]
    scores = routing_scores(settings, others, args.split, items)
    llm = None
    if "llm" in planners:
        llm = first_call_scores(settings, args.split, items, client_factory)
    tables = [format_table(scores)] if scores else []
    if llm is not None:
        tables.append(format_first_call_table(llm))
    print("\n\n".join(tables))  # noqa: T201 - the command's output
    if args.misses:
        for s in [*scores, *([llm] if llm is not None else [])]:
            print(f"\n## {s.planner}: {len(s.misses)} misses")  # noqa: T201
            for line in s.misses:
                print(f"- {line}")  # noqa: T201
    semantic = next((s for s in scores if s.planner == "semantic"), None)
    floor = args.min_accuracy
    if semantic is not None and floor is not None and semantic.accuracy < floor:
        logger.error(
            "semantic routing accuracy %.1f%% is below the threshold %.1f%%",
            100 * semantic.accuracy,
            100 * floor,
        )
        return EXIT_BELOW_THRESHOLD
    return 0


def _chosen(items: list[Paraphrase], split: str, limit: int | None) -> list[Paraphrase]:
    """The first ``limit`` items of ``split`` (all of them without a limit), in suite order."""
    if limit is None:
        return items
    if limit < 1:
        msg = f"--limit must be at least 1, not {limit}"
        raise ConfigError(msg)
    return [i for i in items if split == "all" or i.split == split][:limit]


def main() -> int:
    """Run as ``python -m eval.routing_report`` with the same options."""
    parser = argparse.ArgumentParser(description=__doc__)
    add_parser(parser.add_subparsers(dest="command", required=True))
    return run_routing(parser.parse_args(["routing", *__import__("sys").argv[1:]]), Settings())


if __name__ == "__main__":
    raise SystemExit(main())
