"""Users' requests from the routing suite's dev half, written out as extra planner examples.

The meaning-based planner matches a request to each capability's examples. The tools' own
examples are a handful each, in the tool authors' words; the dev half of the routing suite
holds hundreds of requests written blind by users. Every dev request that asks for exactly one
capability becomes an example of that capability in ``agent/data/request_examples.toml``.
Requests of the test half never do: the test half stays unseen, and its accuracy is the one
reported. Regenerate after adding a batch: ``python -m eval.routing_examples``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from agent.capabilities import REQUEST_EXAMPLES
from eval.routing import Paraphrase, load_paraphrases

__all__ = ["dev_examples", "render", "write"]

logger = logging.getLogger(__name__)

_HEADER = (
    "# Requests users wrote, from the routing suite's dev half (eval/routing/*.yaml): each one\n"
    "# that asks for exactly one capability, as an example of that capability for the\n"
    "# meaning-based planner. Generated; regenerate with: python -m eval.routing_examples\n"
)


def dev_examples(items: Sequence[Paraphrase]) -> dict[str, list[str]]:
    """Single-capability dev requests by capability (no clarification requests), sorted."""
    found: dict[str, set[str]] = {}
    for item in items:
        if item.split != "dev" or len(item.expect) != 1 or item.expect[0] == "clarify":
            continue
        found.setdefault(item.expect[0], set()).add(item.request.strip())
    return {name: sorted(found[name]) for name in sorted(found)}


def render(examples: dict[str, list[str]]) -> str:
    """The examples as TOML: one array of strings per capability under ``[examples]``."""
    lines = [_HEADER, "[examples]"]
    for name, requests in examples.items():
        lines.append(f"{name} = [")
        lines.extend(f"    {json.dumps(r, ensure_ascii=False)}," for r in requests)
        lines.append("]")
    return "\n".join(lines) + "\n"


def write(path: Path = REQUEST_EXAMPLES) -> int:
    """Write the current suite's dev examples to ``path``; returns how many were written."""
    examples = dev_examples(load_paraphrases())
    path.write_text(render(examples), encoding="utf-8")
    return sum(len(v) for v in examples.values())


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logger.info("wrote %d examples to %s", write(), REQUEST_EXAMPLES)
