"""What the agent can do, as the planners see it: one capability per tool plus the agent's own.

A tool's capability comes from its class (``name``, ``description``, ``examples``); the agent's
own capabilities (knowledge recall, answering from the case's memory, comparing regions) are
declared here, beside the code that serves them.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tools.registry import ToolRegistry

__all__ = [
    "AGENT_CAPABILITIES",
    "BUILT_IN",
    "REQUEST_EXAMPLES",
    "Capability",
    "capabilities_of",
    "request_examples",
]

REQUEST_EXAMPLES = Path(__file__).parent / "data" / "request_examples.toml"
"""Users' requests (the routing suite's dev half) as extra examples of each capability."""

BUILT_IN = frozenset(
    {"slide_info", "tissue", "zoom", "detect", "classify", "segment", "wsi_classify"}
    | {"knowledge", "recall", "compare"}
)
"""Capabilities the shared grammar fills in argument by argument; any other tool gets its region
(when its input takes one) or no arguments."""


@dataclass(frozen=True)
class Capability:
    """One thing a request can ask for; ``tool`` is None for the agent's own capabilities."""

    name: str
    summary: str
    examples: tuple[str, ...]
    tool: str | None = None
    fields: tuple[str, ...] = ()
    """The tool's input fields (a tool that takes a region gets one from the grammar)."""
    vocabulary: tuple[str, ...] = ()
    """Word stems one of which a request for it names (empty: no such requirement)."""
    class_words: tuple[str, ...] = ()
    """Further stems of its class names (``Tool.class_words``)."""
    user_examples: tuple[str, ...] = ()
    """Requests users wrote for it (``request_examples``): matched like ``examples``, but their
    words are not typo targets (users make typos)."""

    @property
    def takes_region(self) -> bool:
        """The tool analyses a region (``target``, ``box``, ``roi_number`` in its input)."""
        return {"target", "box", "roi_number"} <= set(self.fields)


AGENT_CAPABILITIES: tuple[Capability, ...] = (
    Capability(
        name="knowledge",
        summary="answer a medical knowledge question from the disease ontology (definitions, "
        "sites, cell of origin, features to look for, grading, codes)",
        examples=(
            "what is colorectal adenocarcinoma",
            "define serous carcinoma",
            "what should I look for in ductal carcinoma in situ",
            "where does hepatocellular carcinoma arise",
            "what is the cell of origin of melanoma",
            "what are the grading criteria for breast cancer",
            "ICD-O code of glioblastoma",
            "tell me about clear cell renal cell carcinoma",
            "differential diagnosis of a spindle cell tumour",
            "what are the synonyms of HGSC",
            "which organ is affected by cholangiocarcinoma",
            "what are the histologic features of squamous cell carcinoma",
            "explain what a carcinoid tumour is",
            "what kind of neoplasm is a leiomyosarcoma",
            "what is the parent class of adenocarcinoma in the ontology",
            "what is the difference between low grade and high grade serous carcinoma",
            "other names for HCC",
            "where does CRC arise",
            "what does DCIS stand for",
            "is melanoma derived from melanocytes",
            "which immunohistochemistry markers help confirm this tumour",
            "what is the ICD-O code for that",
            "how is MSI tested",
        ),
    ),
    Capability(
        name="recall",
        summary="recall what this case has already found (earlier regions, counts, conclusions)",
        examples=(
            "what did we find earlier",
            "remind me what we concluded about the first region",
            "what was the nuclear count you got before",
            "summarise everything we've found so far",
            "recap the findings of this case",
            "what did you see in region 2",
            "what were the results for the previous view",
            "what have we measured so far",
            "go over our earlier conclusions",
            "what was the tissue class of the last region",
            "recap",
            "which regions have we visited",
            "summary of the case so far for the report",
            "what did the earlier analysis show",
        ),
        # a question about the case's memory says so (tense, "earlier", "remind"): without
        # one, "tissue percentage" is a measurement however close a recall example reads
        vocabulary=(
            *("earlier", "before", "again", "previous", "already", "far", "did", "was", "were"),
            *("had", "said", "say", "remind", "summar", "recap", "found", "told", "got", "gave"),
            *("reported", "recall", "history", "list", "last", "visited", "looked", "seen", "saw"),
            *("concluded", "conclusion", "findings", "overview", "repeat", "wrap", "export"),
            *("results", "tabulate"),
        ),
    ),
    Capability(
        name="compare",
        summary="compare earlier regions of this case (counts, coverage, tissue class)",
        examples=(
            "compare region 1 and region 2",
            "how does this region differ from the previous one",
            "compare the nuclei counts of the first and second regions",
            "is the epithelium share different between region 1 and 3",
            "region 2 versus region 1",
            "compare it with the first region",
            "which of the two regions has more nuclei",
            "contrast this area with the earlier one",
            "are regions 1 and 2 the same tissue type",
            "side by side comparison of both views",
        ),
    ),
)


@functools.cache
def request_examples(path: Path = REQUEST_EXAMPLES) -> dict[str, tuple[str, ...]]:
    """Users' example requests by capability; empty when the file is absent."""
    if not path.is_file():
        return {}
    with path.open("rb") as handle:
        table = tomllib.load(handle).get("examples", {})
    return {name: tuple(str(r) for r in requests) for name, requests in table.items()}


def capabilities_of(registry: ToolRegistry, *, users: bool = True) -> list[Capability]:
    """Every capability the registry's tools and the agent offer, tools first.

    ``users``: add the users' example requests (``request_examples``) to each capability's own.
    """
    found = []
    for name in registry.names():
        tool = registry.get(name)
        if not tool.examples:
            continue
        found.append(
            Capability(
                name=name,
                summary=tool.description,
                examples=tuple(tool.examples),
                tool=name,
                fields=tuple(tool.Input.model_fields),
                vocabulary=tuple(tool.vocabulary),
                class_words=tuple(tool.class_words),
            )
        )
    every = [*found, *AGENT_CAPABILITIES]
    if not users:
        return every
    extra = request_examples()
    return [replace(c, user_examples=extra.get(c.name, ())) for c in every]
