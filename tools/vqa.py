"""VqaTool: a free visual question about a region, answered by the served VQA experts.

"Are there any mitoses?", "describe this region", "is there perineural invasion?": no
measurement answers these, so the region's image and the question go to every available
expert declared with ``task = "vqa"`` (a vision-language model on an OpenAI-compatible server,
one LoRA adapter per expert chosen by the request's model name, or a ``local`` adapter). Free
text cannot be averaged or voted on, so each expert's answer is reported as its own, heaviest
expert first, never merged. Every sentence of an answer is the expert's opinion: the chain
quotes it as ``core.narration.OPINION_MARK`` and the verifier never counts it as verified.
"""

from __future__ import annotations

import logging
import re

from pydantic import BaseModel, Field

from core.errors import ModelOutputError, ToolError, ToolServerError, excerpt
from core.narration import OPINION_MARK, Outcome, Section, StepKind, Writer
from tools.base import ExpertTool, ToolContext, ToolResult
from tools.experts import ExpertSpec
from tools.parsers import parse_answer_tags
from tools.phrasing import where, with_notes
from tools.regions import RegionInput, read_analysis_region
from tools.types import RegionRead

__all__ = [
    "DEFAULT_VQA_PROMPT",
    "NO_VQA_EXPERT",
    "VqaAnswer",
    "VqaInput",
    "VqaOutput",
    "VqaTool",
    "sentences_of",
]

logger = logging.getLogger(__name__)

DEFAULT_VQA_PROMPT = (
    "This is a region of a haematoxylin and eosin stained histology slide. "
    "Answer the question about it in one or two sentences. Question: {question}"
)
"""What an expert with no ``prompt`` of its own is sent; ``{question}`` is the user's words."""

NO_VQA_EXPERT = (
    "answering this means looking at the image (mitoses, keratin pearls, a single cell, a "
    "pattern), which needs a vision-language expert, and no VQA expert is configured; declare "
    'one in experts.toml (task = "vqa", backend = "openai") — presence of tissue classes can '
    'be asked as composition ("is there necrosis?"), what each model can do as "what can your '
    'models do?"'
)
"""The one line a VQA request fails with when the experts file declares no VQA expert."""

MAX_QUESTION_CHARS = 4000
"""As long as a request may be (``app.runner.MAX_QUESTION_CHARS``): the planner passes it whole."""
MAX_ANSWER_CHARS = 1000
MAX_SENTENCES = 8
MAX_TOKENS = 256
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“(])")
"""A sentence ends at . ! or ? before a capital, a digit or an opening quote ("e.g. at" goes on)."""


class VqaInput(RegionInput):
    """The region the question is about (level-0 pixels) and the question."""

    question: str = Field(
        min_length=1,
        max_length=MAX_QUESTION_CHARS,
        description="the user's question about the region, in their words",
    )
    expert: str | None = Field(default=None, description="ask only this VQA expert")


class VqaAnswer(BaseModel):
    """What one expert answered."""

    expert: str
    backend: str
    model: str | None
    answer: str = Field(description="the answer (think tags removed), cut to 1,000 characters")
    sentences: list[str] = Field(description="the answer's sentences, at most 8")
    error: str | None
    seconds: float


class VqaOutput(BaseModel):
    """Each expert's answer to the question about the region."""

    question: str
    answers: list[VqaAnswer] = Field(description="one per expert asked, heaviest first")
    region_box: list[int] = Field(description="[x0, y0, x1, y1], level-0 pixels")
    roi_number: int | None
    region_index: int | None
    mpp: float | None = Field(description="µm per pixel of the image read; None when unknown")
    notes: list[str]


class VqaTool(ExpertTool):
    """Ask the VQA experts a free question about a region; report each expert's answer."""

    name = "vqa"
    description = (
        "Ask the vision-language (VQA) experts a free question about a region of the open "
        "slide (the current view, an earlier region by number, a tissue region or a box in "
        "level-0 pixels) that no measurement answers: describe the region, mitoses, keratin "
        "pearls, perineural or lymphovascular invasion, signet ring cells, what stands out. "
        "Returns each expert's answer as its opinion (unverified). Pass the user's question "
        "in 'question'."
    )
    examples = (
        "are there any mitoses?",
        "any mitotic figures in this field",
        "do you see keratin pearls",
        "are there keratin pearls here",
        "is there perineural invasion",
        "is there lymphovascular invasion",
        "describe this region",
        "describe what you see in this view",
        "what stands out here",
        "are there any signet ring cells",
        "anything suspicious in this area",
        "is there nuclear pleomorphism",
        "are the nucleoli prominent",
        "any calcifications here",
        "do you see granulomas",
        "does this look invasive",
        "does the tumour invade nerves or vessels here",
        "is there anything unusual in this region",
        "describe the morphology",
        "what is your impression of this field",
        "any atypia?",
        "describe the architecture of the glands",
        "can you see any organisms",
        "is the tumour infiltrating the fat",
        "what is the mitotic count",
        "are the nuclei pleomorphic",
    )
    vocabulary = (
        *("mitos", "mitot", "keratin", "pearl", "perineur", "invasi", "invade", "lymphovasc"),
        *("signet", "descri", "stand", "suspicio", "unusual", "pleomorph", "nucleol", "atypi"),
        *("calcif", "granulom", "haemorrh", "hemorrh", "apopto", "vascular", "emboli"),
        *("morpholog", "impression", "architect", "organism", "bacteri", "infiltrat"),
        *("cytoplasm", "chromatin", "cribrif", "budding", "grade"),
        # features a pathologist names in a word ("surface ulceration?", "storiform?")
        *("ulcer", "erosi", "palisad", "cleft", "pagetoid", "spongio", "acanth", "parakerat"),
        *("hyperkerat", "dyskerat", "dysplas", "polarit", "stratif", "groove", "psammom"),
        *("pseudoinclus", "colloid", "papill", "follicul", "storiform", "giant", "desmopla"),
        *("crush", "cauter", "eosinophil", "neutrophil", "plasma", "histiocyt", "hobnail"),
    )
    Input = VqaInput
    Output = VqaOutput
    backend = "openai"
    opinions = ("answers.*.answer", "answers.*.sentences.*")
    claimable = {
        "region_box.*": "px",
        "roi_number": "index",
        "region_index": "index",
        "mpp": "µm/px",
    }

    @classmethod
    def narrate(cls, out: Outcome) -> Section:
        """The question and region, then each sentence of each answer as the expert's opinion."""
        o, e = out.output, out.evidence_id
        asked = Writer().text("The question “").quote(o["question"], e).text("” was put about ")
        asked.extend(where(o, e)).text(" ").box(o["region_box"], e, "region_box").text(".")
        parts: list[tuple[StepKind, Writer]] = [("observe", asked)]
        answer = Writer()
        for a in o["answers"]:
            if a.get("error"):
                w = Writer().text("Expert “").quote(a["expert"], e).text("” gave no answer: “")
                parts.append(("observe", w.quote(a["error"], e).text("”.")))
                continue
            for sentence in a["sentences"]:
                w = Writer().text("Expert “").quote(a["expert"], e).text("” says: ")
                w.opinion(sentence, e).text(f" — {OPINION_MARK}.")
                parts.append(("observe", w))
            if answer.render():
                answer.text(" ")
            answer.text("Expert “").quote(a["expert"], e).text("” says about ")
            answer.extend(where(o, e)).text(": ").opinion(a["answer"], e)
            answer.text(f" — {OPINION_MARK}.")
        return with_notes(parts, answer, o, e)

    def run(self, inp: BaseModel, ctx: ToolContext) -> ToolResult:
        """Read the region at each expert's scale, ask every selected expert the question."""
        assert isinstance(inp, VqaInput)
        assert ctx.slide is not None
        if not self._pool.config.for_task("vqa"):
            raise ToolServerError(NO_VQA_EXPERT)
        experts = self._pool.router().select("vqa", "roi", prefer=inp.expert)
        notes: list[str] = []
        reads: dict[float, tuple[list[int], RegionRead]] = {}
        answers = []
        for expert in experts:
            mpp = inp.analysis_mpp if "analysis_mpp" in inp.model_fields_set else expert.tile_mpp
            if mpp not in reads:
                at = inp.model_copy(update={"analysis_mpp": mpp})
                region, read = read_analysis_region(at, ctx, notes)
                reads[mpp] = (region.as_list(), read)
            ctx.progress(f"asking VQA expert {expert.name}")
            answers.append(self._ask(expert, inp.question, reads[mpp][1]))
        good = [a for a in answers if not a.error]
        if not good:
            raise _first_error(answers)
        box, read = reads[next(iter(reads))]
        if len({tuple(b) for b, _ in reads.values()}) > 1:
            notes.append("the experts saw the region at different scales; the box is the first's")
        out = VqaOutput(
            question=inp.question,
            answers=answers,
            region_box=box,
            roi_number=inp.roi_number,
            region_index=inp.region_index,
            mpp=None if read.mpp is None else round(read.mpp, 4),
            notes=notes,
        )
        names = ", ".join(a.expert for a in good)
        summary = f"{names} answered: {excerpt(good[0].answer)}"
        return ToolResult(output=out, summary=summary, expert=names, backend=good[0].backend)

    def _ask(self, expert: ExpertSpec, question: str, read: RegionRead) -> VqaAnswer:
        base = {"expert": expert.name, "backend": expert.backend, "model": expert.model}
        template = expert.prompt or DEFAULT_VQA_PROMPT
        if "{question}" in template:
            prompt = template.replace("{question}", question)
        else:
            prompt = f"{template}\n{question}"
        try:
            reply = self._pool.ask(expert, prompt, [read.image], max_tokens=MAX_TOKENS)
        except ToolError as exc:
            return VqaAnswer(**base, answer="", sentences=[], error=str(exc), seconds=0.0)
        logger.info("expert %s answered %s", expert.name, excerpt(reply.text))
        try:
            text = " ".join(parse_answer_tags(reply.text).answer.split())[:MAX_ANSWER_CHARS]
        except ModelOutputError as exc:
            error = f"expert {expert.name} answered unusably: {exc}"
            return VqaAnswer(**base, answer="", sentences=[], error=error, seconds=reply.seconds)
        return VqaAnswer(
            **base, answer=text, sentences=sentences_of(text), error=None, seconds=reply.seconds
        )


def sentences_of(text: str) -> list[str]:
    """The sentences of an answer, at most ``MAX_SENTENCES``."""
    return [s.strip() for s in _SENTENCE_END_RE.split(text) if s.strip()][:MAX_SENTENCES]


def _first_error(answers: list[VqaAnswer]) -> ToolError:
    """The error when no expert answered: a server fault wins over an unusable answer."""
    server = [a.error for a in answers if a.error and "answered unusably" not in a.error]
    if server:
        return ToolServerError(server[0])
    return ModelOutputError(answers[0].error or "no VQA expert answered")
