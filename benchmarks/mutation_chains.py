"""True chains for the verifier's mutation benchmark: real turns, written as a model writes them.

Turns are run by the co-pilot (deterministic reasoner) on the evaluation suites' slides and
questions (``eval/suites``: slide metadata, tissue, zoom, nuclei detection and segmentation,
tile classification, knowledge questions with recalled facts, a case review with comparisons
and recall) and a few requests on the CMU sample. A turn's chain is written in the LLM
reasoner's line format (``kind: text [ids]``, one step a line) and read back by
``agent.chain_parser``, so every number, quote and entity is bound from text alone, the way a
model's chain is; the verifier then checks it against the turn's evidence, recalled facts and
the earlier turns' evidence it compares or recalls.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.chain_parser import parse_steps, to_chain
from agent.knowledge import Knowledge
from agent.state import ChainStep, Evidence, ReasoningChain, RecalledFact, Verification
from agent.verifier import verify_chain
from app.eval_cli import default_data_root
from app.runner import Copilot
from app.samples import fetch_sample
from core.errors import CopilotError
from core.settings import Settings
from eval.requirements import unmet_requirements
from eval.suite import load_suite

__all__ = ["SAMPLE_REQUESTS", "TrueTurn", "collect_turns", "load_turns", "render", "verify_text"]

logger = logging.getLogger(__name__)

SAMPLE_REQUESTS = (
    "What is the size, magnification and resolution of this slide?",
    "How much tissue is there?",
    "Zoom to the largest tissue region at 10x",
    "count the nuclei here",
    "segment the nuclei here",
    "classify this region",
    "zoom to the box [600, 1000, 1112, 1512] at 20x",
    "count the nuclei in region 2",
    "segment the nuclei in region 1",
    "compare it with region 2",
    "what did we find in region 2?",
)
"""A case on the CMU sample beyond the suites' questions: views, analyses, a comparison, recall."""


@dataclass(frozen=True)
class TrueTurn:
    """One answered turn: where it came from, its chain as the co-pilot wrote it, what it cites."""

    source: str
    request: str
    chain: list[dict[str, Any]]
    evidence: list[dict[str, Any]]
    facts: list[dict[str, Any]]
    status: str

    @property
    def all_evidence(self) -> list[Evidence]:
        """This turn's evidence and the earlier turns' it cites."""
        return [Evidence.model_validate(e) for e in self.evidence]

    @property
    def recalled(self) -> list[RecalledFact]:
        """The knowledge-graph facts the turn recalled."""
        return [RecalledFact.model_validate(f) for f in self.facts]

    @property
    def steps(self) -> list[ChainStep]:
        """The co-pilot's own chain steps, with the claims its writer made."""
        fields = set(ChainStep.model_fields)
        return [
            ChainStep.model_validate({k: v for k, v in s.items() if k in fields})
            for s in self.chain
        ]


def render(steps: list[tuple[str, str, list[str]]]) -> str:
    """The chain as the LLM reasoner writes it: ``kind: text [ids]`` lines."""
    lines = []
    for kind, text, cites in steps:
        tail = f" [{', '.join(cites)}]" if cites else ""
        lines.append(f"{kind}: {text}{tail}")
    return "\n".join(lines)


def verify_text(
    text: str, turn: TrueTurn, knowledge: Knowledge | None
) -> tuple[ReasoningChain, Verification]:
    """Parse ``text`` as a model's chain and verify it; its answer is its conclusion."""
    evidence, facts = turn.all_evidence, turn.recalled
    chain = to_chain(parse_steps(text), evidence, facts)
    answer = chain.conclusion.text if chain.conclusion is not None else ""
    return chain, verify_chain(chain, evidence, facts, answer, knowledge)


def _suite_work(max_cases: int) -> Iterator[tuple[str, Path, list[str]]]:
    """(source, slide, questions) for up to ``max_cases`` cases of every suite that can run."""
    settings = Settings()
    data_root = default_data_root(settings)
    for path in sorted(Path(__file__).resolve().parents[1].glob("eval/suites/*.yaml")):
        suite = load_suite(path, data_root)
        unmet = unmet_requirements(suite, settings)
        if unmet:
            logger.warning("suite %s left out: %s", suite.suite, "; ".join(unmet))
            continue
        for case in suite.cases[:max_cases]:
            if case.id in suite.missing:
                logger.warning("case %s/%s left out: missing files", suite.suite, case.id)
                continue
            questions = [t.ask for t in case.turns]
            yield f"{suite.suite}/{case.id}", data_root / case.slide, questions


def collect_turns(max_cases: int, save: Path | None = None) -> list[TrueTurn]:
    """Run the suites' cases (at most ``max_cases`` a suite) and the sample case; keep the turns.

    Uses ``SMARTPATH_HOME``'s fetched weights, sample and knowledge graph, and a fresh home for
    the cases it writes. With ``save``, the turns are written there as JSON lines.
    """
    user = Settings()
    home = Path(tempfile.mkdtemp(prefix="mutations-"))
    if (user.home / "models").is_dir():
        (home / "models").symlink_to(user.home / "models")
    copilot = Copilot(Settings(home=home, kg_path=user.kg_dir))
    work = list(_suite_work(max_cases))
    work.append(("sample", fetch_sample(user.samples_dir), list(SAMPLE_REQUESTS)))
    turns: list[TrueTurn] = []
    try:
        for n, (source, slide, questions) in enumerate(work):
            case_id = f"mutations-{n}"
            for k, question in enumerate(questions, start=1):
                try:
                    result = copilot.ask(slide, question, case_id)
                except CopilotError as exc:
                    logger.warning("%s turn %d: %s", source, k, exc)
                    continue
                turns.append(
                    TrueTurn(
                        source=f"{source}#{k}",
                        request=question,
                        chain=result.chain,
                        evidence=[*result.evidence, *result.earlier],
                        facts=result.facts,
                        status=str(result.verification.get("status")),
                    )
                )
    finally:
        copilot.close()
    if save is not None:
        save.parent.mkdir(parents=True, exist_ok=True)
        with save.open("w", encoding="utf-8") as out:
            for turn in turns:
                out.write(json.dumps(turn.__dict__, default=str) + "\n")
    return turns


def load_turns(path: Path) -> list[TrueTurn]:
    """Turns written by ``collect_turns(save=path)``."""
    with path.open(encoding="utf-8") as f:
        return [TrueTurn(**json.loads(line)) for line in f if line.strip()]
