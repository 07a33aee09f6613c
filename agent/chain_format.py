"""The chain in the tagged form ``<observe>…</observe><think>…</think><answer>…</answer>``."""

from __future__ import annotations

from agent.state import ReasoningChain

__all__ = ["tagged"]

_OBSERVE = ("observe", "measure")
_THINK = ("recall", "infer", "caveat")


def tagged(chain: ReasoningChain) -> str:
    """Render ``chain`` in tags; each step keeps its id, kind and the ids it cites.

    Observe and measure steps go in ``<observe>``, recall, infer and caveat steps in
    ``<think>``, the conclusion in ``<answer>``.
    """

    def lines(kinds: tuple[str, ...]) -> str:
        return "\n".join(
            f"{s.id} [{s.kind}] {s.text} ({', '.join(s.evidence)})"
            for s in chain.steps
            if s.kind in kinds
        )

    conclusion = chain.conclusion
    answer = conclusion.text if conclusion else ""
    return (
        f"<observe>\n{lines(_OBSERVE)}\n</observe>\n<think>\n{lines(_THINK)}\n</think>\n"
        f"<answer>\n{answer}\n</answer>"
    )
