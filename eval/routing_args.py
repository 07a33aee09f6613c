"""Arguments of ``smartpath eval routing`` (``eval.routing_report`` scores the planners).

Apart from the scoring so that building the command line imports no planner.
"""

from __future__ import annotations

from typing import Any

__all__ = ["add_parser"]


def add_parser(sub: Any) -> None:
    """Add ``eval routing`` to the ``eval`` command's subparsers."""
    p = sub.add_parser("routing", help="routing accuracy of the planners on the paraphrase suite")
    p.add_argument("--split", choices=["dev", "test", "all"], default="test")
    p.add_argument(
        "--planner",
        action="append",
        choices=["rules", "semantic", "llm"],
        help="planners to score (default: rules and semantic); llm needs SMARTPATH_PLANNER_URL "
        "and SMARTPATH_PLANNER_MODEL and is scored on its first call only",
    )
    p.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help="score the first N requests of the chosen half only, in suite order",
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
