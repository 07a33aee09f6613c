"""ExpertsInfoTool: what the configured experts were trained on, cannot tell, and lack.

"Can your models handle liver?", "what classes does the classifier know?", "is the
segmentation model valid for skin?", "what can't you do?": answered from the experts file's own
declarations (task, training tissue and organs, stains, µm/px range, classes, limits) and from
whether each expert can be called now. An organ the question names is checked against each
expert's training organs. Reads no slide.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

from core.narration import Outcome, Section, Writer
from core.organs import organs_in
from tools.base import ExpertTool, ToolContext, ToolResult
from tools.composition import CLASS_WORDS
from tools.experts import ExpertSpec

__all__ = ["ExpertCard", "ExpertsInfoInput", "ExpertsInfoOutput", "ExpertsInfoTool"]

TASK_WORDS = {
    "detect": "nuclei detection",
    "segment": "segmentation",
    "roi_classify": "tissue classification of a region",
    "wsi_classify": "whole-slide classification",
    "vqa": "free visual questions (VQA)",
    "zoom": "visual grounding for zoom",
}
"""Each expert task in words."""
_EXPECTED = ("detect", "segment", "roi_classify", "wsi_classify", "vqa")
"""The tasks a user may ask for; one with no expert that can run is named as missing."""
_TASK_CUES = (
    ("roi_classify", r"\bclassif\w*|\bclasses\b|\blabels?\b|\btissue\s+types?\b"),
    ("wsi_classify", r"\bwhole[\s-]+slide\s+classif\w*|\bslide[\s-]+level\b|\bmil\b"),
    ("detect", r"\bdetect\w*|\bnucle\w*|\bcount\w*|\bcells?\b"),
    ("segment", r"\bsegment\w*|\bepitheli\w*|\bstrom\w*|\bmasks?\b"),
    ("vqa", r"\bvqa\b|\bvision[\s-]+language\b|\bdescri\w+|\bvisual\s+question\w*|\bvlm\b"),
)
"""Words that narrow a question to the experts of some tasks ("what classes does the classifier
know?"); none: every expert."""
_ASKED_THING_RE = re.compile(
    r"\b(detect|find|identify|spot|see|grade|recogni[sz]e|pick\s+up|assess|measure|score)\s+"
    r"(?:the\s+|any\s+|a\s+|an\s+)?([a-z][\w\s/-]{1,40}?)\s*(?:\bat\s+all\b|\bin\s+general\b|"
    r"\bon\s+(?:a|the|this)\b|\bin\s+(?:a|the|this)\b|[?.!,;]|$)"
)
"""The thing a capability question asks about ("can you detect pen or ink at all?")."""
_FILLER = frozenset({"and", "the", "any", "for", "all", "its", "this", "that", "with"})
_ANY_EXPERT_WORDS = ("nucle", "cell", "tissue", "epitheli", "strom", "gland")
"""Words of things some built-in task handles whatever the experts' classes."""


class ExpertsInfoInput(BaseModel):
    """The question about the experts (its words name organs or tasks to look at)."""

    question: str = Field(default="", description="the user's question about the experts")


class ExpertCard(BaseModel):
    """One configured expert as its declaration states it."""

    name: str
    task: str
    task_words: str
    backend: str
    available: bool = Field(description="the expert can be called now")
    problem: str | None = Field(description="why it cannot be called, when it cannot")
    tissue: str = Field(description="its training tissue in words ('' when not declared)")
    organs: list[str] = Field(description="its training organs; empty: any organ")
    stains: list[str]
    mpp_min: float | None = Field(description="finest µm/px it was trained at")
    mpp_max: float | None = Field(description="coarsest µm/px it was trained at")
    classes: list[str] = Field(description="the labels it can give")
    class_count: int
    cannot: list[str] = Field(description="what it cannot tell, in plain words")
    outside: list[str] = Field(
        default_factory=list,
        description="organs the question names that it was not trained on",
    )


class ExpertsInfoOutput(BaseModel):
    """The experts a question is about, and the tasks no expert here can do."""

    experts: list[ExpertCard]
    organs_asked: list[str] = Field(description="organs the question names")
    not_configured: list[str] = Field(description="tasks no configured expert can do now, in words")
    not_handled: str | None = Field(
        default=None,
        description="what the question asks to be found or graded that no expert's task or "
        "classes name ('pen or ink', 'mitoses'), in its words",
    )


class ExpertsInfoTool(ExpertTool):
    """Describe the configured experts: domains, classes, limits, availability."""

    name = "experts"
    needs_slide = False
    description = (
        "Say what the configured expert models can and cannot do: the tissue, organs, stains "
        "and µm/px each was trained on, the classes it knows, what it cannot tell, whether it "
        "suits an organ the question names, and which tasks have no expert."
    )
    examples = (
        "what can your models do",
        "which models are you using",
        "what experts are configured",
        "what classes does the classifier know",
        "can your models handle liver tissue",
        "is the classifier valid for skin",
        "what was the segmentation model trained on",
        "what are the limitations of the nuclei detector",
        "what can't you do",
        "are your models trained on colon only",
        "which tissue types can the tile classifier recognise",
        "is your epithelium model suitable for breast",
        "what stains and magnifications do the models support",
        "can the detector tell tumour cells from lymphocytes",
    )
    vocabulary = (
        *("model", "expert", "classifier", "detector", "segmenter", "tool", "algorithm"),
        *("network", "train", "valid", "suitab", "suited", "capab", "limit", "handle"),
        *("support", "domain", "classes", "recogni", "can", "able"),
    )
    Input = ExpertsInfoInput
    Output = ExpertsInfoOutput
    claimable = {
        "experts.*.mpp_min": "µm/px",
        "experts.*.mpp_max": "µm/px",
        "experts.*.class_count": "count",
    }

    @classmethod
    def narrate(cls, out: Outcome) -> Section:
        """One sentence per expert, an organ's fit where one was named, then what is missing."""
        o, e = out.output, out.evidence_id
        parts: list[tuple[Any, Writer]] = []
        short = Writer()
        for i, card in enumerate(o["experts"]):
            w = _card(card, e, i)
            parts.append(("observe", w))
            short.text(" " if i else "").extend(w)
        if o.get("not_handled"):
            w = Writer().text("No expert here is made to find or grade “")
            w.quote(o["not_handled"], e).text("”: none has it as a task or a class.")
            parts.insert(0, ("observe", w))
            short = Writer().extend(w).text(" ").extend(short)
        if o["not_configured"]:
            w = Writer().text("No expert here can do ")
            for i, task in enumerate(o["not_configured"]):
                w.text(", " if i else "").quote(task, e)
            w.text(" (declare one in the experts file).")
            parts.append(("observe", w))
            short.text(" ").extend(w)
        if not o["experts"]:
            w = Writer().text("No expert is configured for what the question names.")
            parts.append(("observe", w))
            short.extend(w)
        return Section(parts, short)

    def run(self, inp: BaseModel, ctx: ToolContext) -> ToolResult:
        """Read the experts' declarations; ask the pool which can run now."""
        assert isinstance(inp, ExpertsInfoInput)
        del ctx
        low = " ".join(inp.question.lower().split())
        organs = [organ for organ, _ in organs_in(low)]
        tasks = {task for task, cue in _TASK_CUES if re.search(cue, low)}
        experts = list(self._pool.config.experts)
        every = [self._card(x, organs) for x in experts]  # each expert's availability once
        cards = [c for c in every if not tasks or c.task in tasks] or every
        working = {c.task for c in every if c.available}
        wanted = [t for t in _EXPECTED if not tasks or t in tasks]
        out = ExpertsInfoOutput(
            experts=cards,
            organs_asked=organs,
            not_configured=[TASK_WORDS[t] for t in wanted if t not in working],
            not_handled=_not_handled(low, every),
        )
        ready = sum(c.available for c in cards)
        summary = f"{len(cards)} expert(s) described, {ready} available now"
        return ToolResult(output=out, summary=summary)

    def _card(self, expert: ExpertSpec, organs: list[str]) -> ExpertCard:
        d = expert.domain
        problem = self._pool.problem(expert)
        classes = list(expert.labels)
        return ExpertCard(
            name=expert.name,
            task=expert.task,
            task_words=TASK_WORDS.get(expert.task, expert.task),
            backend=expert.backend,
            available=problem is None,
            problem=problem,
            tissue=d.tissue,
            organs=list(d.organs),
            stains=list(d.stains),
            mpp_min=d.mpp_min,
            mpp_max=d.mpp_max,
            classes=classes,
            class_count=len(classes),
            cannot=[c.text for c in d.cannot],
            outside=[o for o in organs if d.organs and o not in d.organs],
        )


def _card(card: dict[str, Any], e: str, i: int) -> Writer:
    """'capricorn-tissue (tissue classification of a region): trained on “colorectal tissue” …'."""
    path = f"experts.{i}"
    w = Writer().quote(card["name"], e).text(" (").quote(card["task_words"], e)
    w.text(", can run now)" if card["available"] else ", cannot run now: ")
    if not card["available"]:
        w.quote(card["problem"] or "unavailable", e).text(")")
    if card["tissue"]:
        w.text(": trained on ").quote(card["tissue"], e)
    if card["stains"]:
        w.text(", stain ")
        _listed(w, card["stains"], e)
    lo, hi = card.get("mpp_min"), card.get("mpp_max")
    if lo is not None and hi is not None:
        w.text(", at ").num(lo, e, f"{path}.mpp_min")
        if hi != lo:
            w.text("–").num(hi, e, f"{path}.mpp_max")
        w.text(" µm/px")
    if card["classes"] and card["task"] in ("roi_classify", "wsi_classify"):
        w.text("; its ").num(card["class_count"], e, f"{path}.class_count").text(" classes: ")
        _listed(w, card["classes"], e)
    if card["cannot"]:
        w.text("; it cannot tell: ")
        _listed(w, card["cannot"], e, sep="; ")
    w.text(".")
    for organ in card["outside"]:
        w.text(" It was not trained on ").quote(organ, e).text(" (its organs: ")
        _listed(w, card["organs"], e)
        w.text("), so its results there are out of domain.")
    return w


def _listed(w: Writer, items: list[str], e: str, sep: str = ", ") -> None:
    """Each string of the output quoted on its own (a quote must be one string of it)."""
    for i, item in enumerate(items):
        w.text(sep if i else "").quote(item, e)


def _not_handled(low: str, cards: list[ExpertCard]) -> str | None:
    """What the question asks to be found that no expert's task words or classes name."""
    m = _ASKED_THING_RE.search(low)
    if m is None:
        return None
    thing = " ".join(m.group(2).split())
    if m.group(1) in ("grade", "score"):
        return thing  # no expert grades or scores: finding a class is not grading it
    stems = [w[:5] for w in re.findall(r"[a-z]{3,}", thing) if w not in _FILLER]
    if not stems:
        return None
    known = " ".join(
        [*(c.task_words for c in cards), *(k for c in cards for k in c.classes)]
    ).lower()
    if any(word in thing for word in _ANY_EXPERT_WORDS) or any(s in known for s in stems):
        return None
    classes = [k for c in cards for k in c.classes]
    if any(k in CLASS_WORDS and re.search(CLASS_WORDS[k], thing) for k in classes):
        return None  # "fat": the tile classifier's adipose
    return thing
