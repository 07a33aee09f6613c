"""Tool contract: what the planners, the reasoner and the verifier read from one tool class.

Its name, description and examples (planners), Input/Output models and ``run`` (executor), the
narration of its output into chain steps (reasoner) and the output fields a chain may cite as
numbers (chain parser and verifier).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel

from core.claimable import FieldKind, check_claimable, declared_kind
from core.narration import CompareMetric, Outcome, Section, quoted_summary
from core.progress import ProgressFn, report

if TYPE_CHECKING:
    from core.settings import Settings
    from tools.expert_pool import ExpertPool
    from tools.slide import Slide
    from tools.slide_cache import SlideCache

__all__ = ["ExpertTool", "Tool", "ToolContext", "ToolResult"]


@dataclass(frozen=True)
class ToolContext:
    """What a tool may use besides its input: settings, the open slide, where to write files."""

    settings: Settings
    case_id: str
    evidence_id: str
    slides: SlideCache
    slide: Slide | None = None
    progress: ProgressFn = report
    """Call with one line about long work ("read 40/200 tissue tiles"); streamed to the UI."""

    @property
    def artifact_dir(self) -> Path:
        """Folder for this case's artifacts (created on demand)."""
        path = self.settings.artifacts_dir / self.case_id
        path.mkdir(parents=True, exist_ok=True)
        return path


@dataclass(frozen=True)
class ToolResult:
    """A tool's typed output, a one-line summary and the files it wrote."""

    output: BaseModel
    summary: str
    artifacts: list[str] = field(default_factory=list)
    expert: str | None = None
    backend: str | None = None


class Tool(ABC):
    """Base of every tool; subclasses declare their contract as class attributes."""

    name: ClassVar[str]
    description: ClassVar[str]
    Input: ClassVar[type[BaseModel]]
    Output: ClassVar[type[BaseModel]]
    examples: ClassVar[tuple[str, ...]] = ()
    """Requests this tool serves, in users' words (the meaning-based planner matches them)."""
    vocabulary: ClassVar[tuple[str, ...]] = ()
    """Word stems one of which every request for this tool names ("necro", "tumo"): the
    meaning-based planner does not choose it for a request that names none (empty: any)."""
    class_words: ClassVar[tuple[str, ...]] = ()
    """Stems of the words of its output class names that ``vocabulary`` leaves out
    ("colorectal", "smooth"): a request made of these and the vocabulary names one of its
    classes; any other word ("serous", "grade") names more than its classes hold."""
    findings_terms: ClassVar[str] = ""
    """A regular expression matching the words a user asks for this tool's earlier results by
    ("the count", "the class"): recalling the case's findings then answers with this tool's
    results only. Empty: its results are recalled only with everything else."""
    needs_slide: ClassVar[bool] = True
    expert: ClassVar[str | None] = None
    backend: ClassVar[str] = "cpu"
    claimable: ClassVar[Mapping[str, FieldKind] | None] = None
    """The output fields a chain may cite as numbers: path pattern → kind (``core.claimable``).

    None (the default) declares nothing: a number written in a model's chain is then bound by
    the chain parser's heuristics (the output's own numbers, a short list, the first entry of a
    ranked list). An empty mapping: no number of the output may be cited.
    """

    compare_metrics: ClassVar[tuple[CompareMetric, ...]] = ()
    """The numbers two of this tool's outputs (two regions) are compared by, in order."""
    compare_shares: ClassVar[str | None] = None
    """An output mapping of class → share of the region (a fraction) two outputs are compared
    by, class by class ("the tumour share is 30 percentage points higher in region #1")."""
    compare_fairly_by: ClassVar[str] = ""

    @classmethod
    def shares_named(cls, question: str) -> list[str]:
        """The keys of ``compare_shares`` a question names ("more tumour?"), to compare first."""
        return []

    """The measure that stays fair when the two regions differ in size ("the density")."""
    opinions: ClassVar[tuple[str, ...]] = ()
    """Output paths (``*`` for any key or index) holding a model's free-text statements (a VQA
    expert's sentences): a chain quotes them as model opinion, never as verified findings, and
    recall links the entities they name to the knowledge graph."""
    label_field: ClassVar[str | None] = None
    """A classifier's output field holding its class; ``probabilities`` holds every class's.

    Two outputs are then compared by label, and an answer that names another class of the
    classifier but not this one is a contradiction.
    """

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if getattr(cls, "__abstractmethods__", None) or cls.__dict__.get("base_class"):
            return  # a base for tools, not a tool
        for attr in ("name", "description"):
            if not isinstance(getattr(cls, attr, None), str) or not getattr(cls, attr):
                msg = f"tool {cls.__name__} must set a non-empty {attr}"
                raise TypeError(msg)
        for attr in ("Input", "Output"):
            model = getattr(cls, attr, None)
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                msg = f"tool {cls.__name__}.{attr} must be a pydantic model class"
                raise TypeError(msg)
        if cls.claimable is not None:
            if not isinstance(cls.claimable, Mapping):
                msg = f"tool {cls.__name__}.claimable must map field patterns to kinds"
                raise TypeError(msg)
            try:
                check_claimable(cls.claimable)
            except ValueError as exc:
                msg = f"tool {cls.__name__}: {exc}"
                raise TypeError(msg) from None

    @classmethod
    def create(cls, settings: Settings, pool: ExpertPool) -> Tool:
        """Build the tool for one registry; a tool that calls experts takes them from ``pool``."""
        del settings, pool
        return cls()

    @classmethod
    def narrate(cls, out: Outcome) -> Section:
        """The chain steps and the answer sentence for one successful output of this tool.

        Every number written goes through ``Writer.num`` (or ``box``) at a ``claimable`` path,
        every string taken from the output through ``Writer.quote``, so the verifier can check
        them. The default quotes the tool's summary.
        """
        return quoted_summary(out)

    @classmethod
    def object_noun(cls, output: dict[str, Any]) -> str:
        """What the output's count counts, in words ("nuclei")."""
        return str(output.get("object") or "objects")

    @classmethod
    def opinion_texts(cls, output: Mapping[str, Any]) -> list[str]:
        """The strings of ``output`` at the ``opinions`` paths, in the output's order."""
        found: list[str] = []
        for pattern in cls.opinions:
            found.extend(_strings_at(output, pattern.split(".")))
        return found

    @classmethod
    def claimable_kind(cls, path: str) -> str | None:
        """The kind ``claimable`` declares for the output field at ``path``, or None."""
        return None if cls.claimable is None else declared_kind(cls.claimable, path)

    @abstractmethod
    def run(self, inp: BaseModel, ctx: ToolContext) -> ToolResult:
        """Run the tool on validated input; raise a ``ToolError`` on failure."""


def _strings_at(node: Any, parts: list[str]) -> list[str]:
    """Strings at the dotted path ``parts`` of a JSON-like value (``*``: every key or item)."""
    if not parts:
        return [node] if isinstance(node, str) and node else []
    head, rest = parts[0], parts[1:]
    if isinstance(node, Mapping):
        keys = list(node) if head == "*" else [head] if head in node else []
        return [s for k in keys for s in _strings_at(node[k], rest)]
    if isinstance(node, list):
        if head == "*":
            return [s for item in node for s in _strings_at(item, rest)]
        if head.isdigit() and int(head) < len(node):
            return _strings_at(node[int(head)], rest)
    return []


class ExpertTool(Tool):
    """A tool that runs the registry's experts: built around the registry's shared pool."""

    base_class: ClassVar[bool] = True

    def __init__(self, pool: ExpertPool) -> None:
        self._pool = pool

    @classmethod
    def create(cls, settings: Settings, pool: ExpertPool) -> Tool:
        """The tool with the registry's expert pool."""
        del settings
        return cls(pool)
