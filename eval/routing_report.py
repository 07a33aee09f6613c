"""``smartpath eval routing``: the planners side by side on the paraphrase suite.

Prints one table (planner, half, requests, routing accuracy, argument accuracy, planning time
p50) and, with ``--misses``, every request a planner routed wrongly. The LLM planner is scored
when an endpoint is configured (``SMARTPATH_PLANNER_URL`` and ``SMARTPATH_PLANNER_MODEL``).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from typing import Any

from agent.capabilities import capabilities_of
from agent.planner import plan_request, semantic_plan
from agent.semantic_planner import SemanticRouter
from agent.state import Plan, Roi
from core.settings import Settings
from eval.routing import Paraphrase, Planner, RoutingScore, load_paraphrases, score_planner
from memory.kg.embed import shared_embedder
from tools.registry import build_tools

__all__ = ["add_parser", "format_table", "routing_scores", "run_routing"]

logger = logging.getLogger(__name__)

EXIT_BELOW_THRESHOLD = 4
"""As ``smartpath eval run``: a threshold was missed."""


def add_parser(sub: Any) -> None:
    """Add ``eval routing`` to the ``eval`` command's subparsers."""
    p = sub.add_parser("routing", help="routing accuracy of the planners on the paraphrase suite")
    p.add_argument("--split", choices=["dev", "test", "all"], default="test")
    p.add_argument(
        "--planner",
        action="append",
        choices=["rules", "semantic"],
        help="planners to score (default: both)",
    )
    p.add_argument("--misses", action="store_true", help="list the wrongly routed requests")
    p.add_argument(
        "--batch",
        default=None,
        help="score one batch of the suite only (a file stem of eval/routing/*.yaml)",
    )
    p.add_argument(
        "--min-accuracy",
        type=float,
        metavar="SHARE",
        help="exit 4 when the semantic planner routes less than this share correctly",
    )


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


def _rules_planner(
    request: str, rois: list[Roi], current: int | None, slide_id: str, slide: dict[str, Any]
) -> Plan:
    return plan_request(request, rois, current, slide_id, slide=slide)


def _semantic_planner(router: SemanticRouter) -> Planner:
    def plan(
        request: str, rois: list[Roi], current: int | None, slide_id: str, slide: dict[str, Any]
    ) -> Plan:
        return semantic_plan(request, router, rois, current, slide_id, slide=slide)

    return plan


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


def run_routing(args: argparse.Namespace, settings: Settings) -> int:
    """Print the table; exit 0."""
    items = load_paraphrases(batch=args.batch)
    planners = args.planner or ["rules", "semantic"]
    scores = routing_scores(settings, planners, args.split, items)
    print(format_table(scores))  # noqa: T201 - the command's output
    if args.misses:
        for s in scores:
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


def main() -> int:
    """Run as ``python -m eval.routing_report`` with the same options."""
    parser = argparse.ArgumentParser(description=__doc__)
    add_parser(parser.add_subparsers(dest="command", required=True))
    return run_routing(parser.parse_args(["routing", *__import__("sys").argv[1:]]), Settings())


if __name__ == "__main__":
    raise SystemExit(main())
