"""Evaluation suites: the YAML format as pydantic models, and the loader that checks it.

A suite file holds cases; a case names a slide or image (relative to the data root), says
where its answer key comes from (``provenance``) and asks one or more turns in order. Each
turn declares what must hold: tools that must and must not be called, answer keys read from
the turn's evidence, and the verification status the chain must reach.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agent.errors import ConfigError

__all__ = [
    "AbsentKey",
    "AnswerKey",
    "BoxKey",
    "Case",
    "EntitiesKey",
    "Expect",
    "LabelKey",
    "NumberKey",
    "Suite",
    "SuiteError",
    "TextKey",
    "ThresholdLabelKey",
    "Thresholds",
    "Turn",
    "load_suite",
]

VerificationStatus = Literal["verified", "partial", "rejected"]


class SuiteError(ConfigError):
    """A suite file that cannot be read or does not follow the format (names file and line)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _EvidenceKey(_Strict):
    evidence: str = Field(description="Tool name: the turn's first successful evidence of it.")
    path: str = Field(description="Dotted path into its output, list items by index: regions.0.box")


class NumberKey(_EvidenceKey):
    """A number in the evidence output equals ``value`` within ``tol`` (absolute)."""

    kind: Literal["number"]
    value: float
    tol: float = Field(default=0.0, ge=0.0)


class AbsentKey(_EvidenceKey):
    """The evidence output holds null at ``path`` (e.g. no µm/px recorded: "unknown")."""

    kind: Literal["absent"]


class LabelKey(_EvidenceKey):
    """A class label in the evidence output; scored as classification under ``task``."""

    kind: Literal["label"]
    task: str = Field(description="Classification task the pair is pooled under.")
    value: str
    aliases: dict[str, str] = Field(
        default_factory=dict, description="Maps an output label to a key label before comparing."
    )


class ThresholdLabelKey(_EvidenceKey):
    """A number turned into a label by a threshold; scored as classification under ``task``."""

    kind: Literal["threshold_label"]
    task: str
    value: str = Field(description="Expected label: ``above`` or ``below``.")
    threshold: float
    above: str = Field(description="Label when the number is >= threshold.")
    below: str

    @model_validator(mode="after")
    def _value_is_a_label(self) -> ThresholdLabelKey:
        if self.value not in (self.above, self.below):
            msg = (
                f"value {self.value!r} is neither above ({self.above!r}) nor below ({self.below!r})"
            )
            raise ValueError(msg)
        return self


class BoxKey(_EvidenceKey):
    """A box [x0, y0, x1, y1] in level-0 px overlaps the reference box by at least ``min_iou``."""

    kind: Literal["box"]
    value: tuple[float, float, float, float]
    min_iou: float = Field(default=0.5, ge=0.0, le=1.0)


class EntitiesKey(_Strict):
    """The turn's recalled facts name these knowledge-graph ids (Dice >= ``min_dice``)."""

    kind: Literal["entities"]
    ids: list[str] = Field(min_length=1)
    min_dice: float = Field(default=1.0, ge=0.0, le=1.0)


class TextKey(_Strict):
    """The answer contains ``contains`` (case-insensitive)."""

    kind: Literal["text"]
    contains: str = Field(min_length=1)


AnswerKey = Annotated[
    NumberKey | AbsentKey | LabelKey | ThresholdLabelKey | BoxKey | EntitiesKey | TextKey,
    Field(discriminator="kind"),
]

_KINDS = {"number", "absent", "label", "threshold_label", "box", "entities", "text"}


class Expect(_Strict):
    """What must hold after one turn."""

    tools: list[str] = Field(default_factory=list, description="Tools that must be called.")
    not_tools: list[str] = Field(default_factory=list, description="Tools that must not be.")
    answer: list[AnswerKey] = Field(default_factory=list)
    verification: VerificationStatus | list[VerificationStatus] | None = None


class Turn(_Strict):
    """One request of a case and its expectations."""

    ask: str = Field(min_length=1)
    expect: Expect = Field(default_factory=Expect)


class Case(_Strict):
    """One scenario: a slide or image, where its key comes from, turns in order."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
    family: str = Field(description="Task family the case is reported under.")
    slide: str = Field(description="Slide or image path relative to the data root.")
    provenance: str = Field(min_length=1, description="Where the answer key comes from.")
    turns: list[Turn] = Field(min_length=1)
    files: list[str] = Field(
        default_factory=list, description="Other files the key rests on (checked to exist)."
    )


class Thresholds(_Strict):
    """Lowest (``min``) and highest (``max``) allowed values of summary metrics."""

    min: dict[str, float] = Field(default_factory=dict)
    max: dict[str, float] = Field(default_factory=dict)


class Suite(_Strict):
    """A named list of cases with the thresholds CI gates on."""

    suite: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
    description: str = ""
    thresholds: Thresholds = Field(default_factory=Thresholds)
    cases: list[Case] = Field(min_length=1)
    path: Path | None = Field(default=None, exclude=True)
    missing: dict[str, list[str]] = Field(
        default_factory=dict, description="Case id -> referenced files that do not exist."
    )

    @model_validator(mode="after")
    def _unique_case_ids(self) -> Suite:
        seen: set[str] = set()
        for case in self.cases:
            if case.id in seen:
                msg = f"case id {case.id!r} appears twice"
                raise ValueError(msg)
            seen.add(case.id)
        return self


def load_suite(path: Path, data_root: Path) -> Suite:
    """Read and validate a suite file; record, per case, referenced files that are missing.

    Raises:
        SuiteError: the file is unreadable, not YAML, or not a suite ("FILE:LINE: reason").
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        msg = f"{path}: cannot read the suite: {exc.strerror or exc}"
        raise SuiteError(msg) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        msg = f"{path}{line}: not valid YAML: {problem}"
        raise SuiteError(msg) from None
    if not isinstance(data, dict):
        msg = f"{path}:1: a suite is a mapping with 'suite' and 'cases'"
        raise SuiteError(msg)
    try:
        suite = Suite.model_validate({**data, "path": path})
    except ValidationError as exc:
        raise SuiteError(_first_error(path, exc, _line_marks(node))) from None
    missing = {c.id: _missing_files(c, data_root) for c in suite.cases}
    return suite.model_copy(update={"missing": {k: v for k, v in missing.items() if v}})


def _missing_files(case: Case, data_root: Path) -> list[str]:
    return [name for name in (case.slide, *case.files) if not (data_root / name).is_file()]


def _first_error(path: Path, exc: ValidationError, marks: dict[tuple[Any, ...], int]) -> str:
    error = exc.errors()[0]
    loc = tuple(p for p in error["loc"] if p not in _KINDS)  # drop the union's tag
    line = next((marks[loc[:n]] for n in range(len(loc), -1, -1) if loc[:n] in marks), 1)
    where = ".".join(str(p) for p in loc) or "suite"
    return f"{path}:{line}: {where}: {error['msg']}"


def _line_marks(node: yaml.Node | None) -> dict[tuple[Any, ...], int]:
    """Map each path of keys and indices in the YAML document to its 1-based line."""
    marks: dict[tuple[Any, ...], int] = {}

    def walk(n: yaml.Node, loc: tuple[Any, ...]) -> None:
        marks[loc] = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            for key, value in n.value:
                child = (*loc, key.value)
                walk(value, child)
                marks[child] = key.start_mark.line + 1
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                walk(item, (*loc, i))

    if node is not None:
        walk(node, ())
    return marks
