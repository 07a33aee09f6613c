"""Chain text and its checkable claims, written together, so that every shown number is claimed.

A tool narrates its own output into chain steps with a ``Writer`` (``tools.base.Tool.narrate``);
the agent's reasoner puts the steps in order, cites them and hands them to the verifier.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from core.labels import file_label

__all__ = [
    "OPINION_MARK",
    "CompareMetric",
    "Claim",
    "Outcome",
    "Section",
    "StepKind",
    "Writer",
    "format_number",
    "quoted_summary",
]

StepKind = Literal["observe", "measure", "recall", "infer", "conclude", "caveat"]
"""``caveat``: a limit of an expert that applies to this turn (a note, not a finding)."""

OPINION_MARK = "model opinion (unverified)"
"""How a chain step and an answer mark a model's free-text statement (``Writer.opinion``)."""


class Claim(BaseModel):
    """A checkable statement inside a chain step.

    ``number``: ``value`` (shown in ``unit``) equals the cited evidence output at ``path``
    within ``tolerance``; ``absent``: the value at ``path`` is null (the tool found no such
    metadata); ``quote``: ``text`` occurs in the cited evidence's error or summary;
    ``name``: ``text`` is the display label (``core.labels.file_label``) of a file name in the
    cited evidence, shown in quotes as data: nothing inside it is read as a statement;
    ``opinion``: ``text`` occurs verbatim in the cited evidence and is a model's free-text
    statement (a VQA expert's answer): what the model said is checked, what it states about the
    slide cannot be, so the step is never verified on its strength (``OPINION_MARK``);
    ``compare``: ``op`` holds between ``evidence.path`` and ``other_evidence.other_path``
    (``difference``: the first minus the second, in ``unit``, equals ``value``; ``same`` /
    ``differ``: the two values are equal / not equal).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["number", "absent", "quote", "name", "compare", "opinion"] = "number"
    evidence: str
    path: str = ""
    value: float | None = None
    unit: str | None = None
    text: str | None = None
    other_evidence: str | None = None
    other_path: str | None = None
    op: Literal["difference", "same", "differ"] | None = None
    tolerance: float | None = Field(
        default=None, description="absolute tolerance in ``unit``; default: half a last digit"
    )


def format_number(value: float, decimals: int | None) -> str:
    """Format a number for chain text: integers plainly, others with ``decimals`` digits."""
    if decimals is None:
        if float(value).is_integer():
            return str(int(value))
        return f"{value:g}"
    return f"{value:.{decimals}f}"


class Writer:
    """Accumulate a sentence and the claims behind each number or quote in it."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self.claims: list[Claim] = []

    def text(self, s: str) -> Writer:
        """Append plain text (it must contain no digits that are not claimed)."""
        self._parts.append(s)
        return self

    def num(
        self,
        value: float,
        evidence: str,
        path: str,
        *,
        unit: str | None = None,
        decimals: int | None = None,
    ) -> Writer:
        """Append a number that equals ``evidence.output[path]`` (converted to ``unit``)."""
        shown = format_number(value, decimals)
        digits = len(shown.split(".")[1]) if "." in shown else 0
        self._parts.append(shown)
        self.claims.append(
            Claim(
                kind="number",
                evidence=evidence,
                path=path,
                value=float(shown),
                unit=unit,
                tolerance=0.5 * 10 ** (-digits),
            )
        )
        return self

    def difference(
        self,
        value: float,
        evidence: str,
        other: str,
        path: str,
        *,
        unit: str | None = None,
        decimals: int | None = None,
        tolerance: float | None = None,
    ) -> Writer:
        """Append ``value`` = ``evidence.output[path]`` - ``other.output[path]`` (in ``unit``).

        ``tolerance`` defaults to half a unit of the last shown digit; a difference of two shown
        (rounded) values needs a whole unit.
        """
        shown = format_number(value, decimals)
        digits = len(shown.split(".")[1]) if "." in shown else 0
        self._parts.append(shown)
        self.claims.append(
            Claim(
                kind="compare",
                op="difference",
                evidence=evidence,
                path=path,
                other_evidence=other,
                other_path=path,
                value=float(shown),
                unit=unit,
                tolerance=0.5 * 10 ** (-digits) if tolerance is None else tolerance,
            )
        )
        return self

    def relation(self, s: str, evidence: str, other: str, path: str, *, same: bool) -> Writer:
        """Append ``s``, which states that the two outputs at ``path`` are equal (or not)."""
        self._parts.append(s)
        op = "same" if same else "differ"
        self.claims.append(
            Claim(
                kind="compare",
                op=op,
                evidence=evidence,
                path=path,
                other_evidence=other,
                other_path=path,
            )
        )
        return self

    def box(self, box: list[int], evidence: str, path: str) -> Writer:
        """Append ``[x0, y0, x1, y1]`` with a claim per coordinate (level-0 pixels)."""
        self.text("[")
        for i, v in enumerate(box):
            if i:
                self.text(", ")
            self.num(v, evidence, f"{path}.{i}")
        return self.text("]")

    def absent(self, s: str, evidence: str, path: str) -> Writer:
        """Append text stating that the value at ``path`` is unknown (null in the output)."""
        self._parts.append(s)
        self.claims.append(Claim(kind="absent", evidence=evidence, path=path))
        return self

    def quote(self, s: str, evidence: str) -> Writer:
        """Append a verbatim quote of a string in the evidence (error, summary or note)."""
        self._parts.append(s)
        self.claims.append(Claim(kind="quote", evidence=evidence, text=s))
        return self

    def opinion(self, s: str, evidence: str) -> Writer:
        """Append a model's statement from the evidence, in quotation marks, as its opinion.

        The verifier checks that the model said it (verbatim in the cited output) and marks
        the step ``OPINION_MARK``: never verified on the strength of this text.
        """
        self._parts.append(f"“{s}”")
        self.claims.append(Claim(kind="opinion", evidence=evidence, text=s))
        return self

    def label(self, name: str, evidence: str) -> Writer:
        """Append a file name from the evidence as a quoted label: “my slide.svs”.

        The label is data: control characters removed, length capped (``core.labels``), and
        claimed as a ``name``, so no number, entity or disease is read from inside it.
        """
        shown = file_label(name)
        self._parts.append(f"“{shown}”")
        self.claims.append(Claim(kind="name", evidence=evidence, text=shown))
        return self

    def extend(self, other: Writer) -> Writer:
        """Append another writer's text and claims."""
        self._parts.append(other.render())
        self.claims.extend(other.claims)
        return self

    def capitalized(self) -> Writer:
        """A copy whose text starts with a capital letter (claims unchanged)."""
        out = Writer()
        out._parts = ["".join(self._parts)]
        out._parts[0] = out._parts[0][:1].upper() + out._parts[0][1:]
        out.claims = list(self.claims)
        return out

    def render(self) -> str:
        """Return the text written so far."""
        return "".join(self._parts)

    def without_repeated_notes(self) -> Writer:
        """A copy in which a note said again ("Note: <quoted note>.") is said once only.

        Several results of one slide carry the same note ("the slide records no µm/px …"); the
        chain keeps each, the answer says it at its first place. Claims are unchanged.
        """
        text = self.render()
        for quote in dict.fromkeys(c.text for c in self.claims if c.kind == "quote" and c.text):
            sentence = f"Note: {quote}."
            first = text.find(sentence)
            if first < 0:
                continue
            head, tail = text[: first + len(sentence)], text[first + len(sentence) :]
            text = head + tail.replace(f" {sentence}", "").replace(sentence, "")
        out = Writer()
        out._parts = [text]
        out.claims = list(self.claims)
        return out


@dataclass(frozen=True)
class Outcome:
    """What one successful tool call produced, as its narration sees it."""

    evidence_id: str
    """The id every claim cites (``E<turn>.<n>``)."""
    tool: str
    output: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
    expert: str | None = None
    """The expert(s) that produced it, comma-separated when several were combined."""


@dataclass(frozen=True)
class CompareMetric:
    """A number two outputs of one tool are compared by ("region 2 has 40 more nuclei")."""

    path: str
    """The output field, a claimable one."""
    what: str = ""
    """Its name in the sentence ("density"); empty for the tool's own objects ("nuclei")."""
    unit: str | None = None
    """The unit the difference is claimed in (``%`` for a fraction), None: as stored."""
    decimals: int | None = None
    more: str = "more"
    less: str = "fewer"
    unit_text: str = ""
    """Written after the difference (" per mm²", " percentage points")."""


class Section(NamedTuple):
    """A tool output's chain steps, each (kind, writer), and the sentence it adds to the answer."""

    steps: list[tuple[StepKind, Writer]]
    answer: Writer


def quoted_summary(out: Outcome) -> Section:
    """The narration of a tool that writes none: its name and its summary, quoted."""
    w = Writer().text(f"{out.tool}: ").quote(out.summary, out.evidence_id)
    return Section([("observe", w)], w)
