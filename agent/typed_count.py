"""Counts of one cell type: the nuclei expert finds every nucleus and types none.

"Count only the lymphocytes in this core", "can you count just the melanocytes along the DEJ",
"plasma cells separately from the rest", "how many of those are lymphocytes?", "how many
lymphocytes vs histiocytes?": the total nuclear count would answer another question,
so such a request gets one line saying what can be measured instead. A count with no restriction
("roughly how many tumour cells are in this view?") stays a count of all nuclei, labelled so.
"""

from __future__ import annotations

import re

__all__ = ["typed_count"]

_CELL_TYPES = (
    r"lymphocytes?|plasma\s+cells?|melanocytes?|neutrophils?|eosinophils?|macrophages?|"
    r"histiocytes?|mast\s+cells?|immune\s+cells?|inflammatory\s+cells?|tils?|koilocytes?|"
    r"[a-z]{4,}(?:cytes|blasts)|"  # "megakaryocytes", "myeloblasts"
    r"tumou?r\s+cells?|cancer\s+cells?|neoplastic\s+(?:cells?|nuclei)|mitos[ie]s|"
    r"mitotic\s+figures|keratinocytes?|fibroblasts?|endothelial\s+cells?|red\s+(?:blood\s+)?cells?|"
    r"(?!(?:all|the|these|those|any|nucleated|of|in|here|there|tissue|cell)\b)[a-z-]{4,}\s+cells?|"
    r"[a-z0-9-]+\+\s*(?:cells?|nuclei|lymphocytes?)|"  # "the CD8+ cells"
    r"(?!(?:all|the|these|those|any|of|in|here|there|tissue|cell|visible|remaining|other|total)\b)"
    r"[a-z-]{4,}\s+nuclei"  # "the hepatocyte nuclei"
)
_COUNT = r"\b(?:count|enumerate|tally|number\s+of|how\s+many)\b"
_ONLY = r"\b(?:only|just|separately|exclusively|specifically|alone|apart\s+from|excluding)\b"
_TYPED_COUNT_RE = re.compile(
    rf"{_COUNT}[^.;?!]*?\b(?P<cell>{_CELL_TYPES})\b[^.;?!]*?{_ONLY}|"
    rf"{_COUNT}[^.;?!]*?{_ONLY}[^.;?!]*?\b(?P<cell2>{_CELL_TYPES})\b|"
    rf"{_ONLY}\s+(?:please\s+)?{_COUNT}[^.;?!]*?\b(?P<cell3>{_CELL_TYPES})\b|"
    # "just the plasma cells, how many"
    rf"{_ONLY}\s+(?:the\s+)?(?P<cell4>{_CELL_TYPES})\b[^.;?!]*?{_COUNT}|"
    # "and how many of those are lymphocytes?": a part of the nuclei counted, by type
    r"\bhow\s+many\s+of\s+(?:those|them|these|the\s+(?:nuclei|cells))\s+(?:are|were|look\s+like)\s+"
    rf"(?:the\s+)?(?P<cell5>{_CELL_TYPES})\b|"
    # "now just give me the mast cells from that number": one type out of the total
    rf"\b(?:give|tell|show)\s+me\s+(?:{_ONLY}\s+)?(?:the\s+)?(?P<cell7>{_CELL_TYPES})\s+"
    r"(?:from|out\s+of|in)\s+(?:that|the|this)\s+(?:number|count|total)\b|"
    # "how many lymphocytes vs histiocytes?": two types counted apart
    rf"\bhow\s+many\s+(?P<cell6>{_CELL_TYPES})\s+(?:vs\.?|versus|compared\s+(?:to|with)|against)\s+"
    rf"(?:{_CELL_TYPES})\b|"
    # "can I just get a neutrophil count in the mucosa?": one type's count, by its name
    r"\b(?:an?|the|my|just|only|get|give\s+me|want|need)\s+(?:a\s+)?(?P<cell8>lymphocyte|neutrophil|"
    r"eosinophil|plasma\s+cell|mast\s+cell|macrophage|histiocyte|koilocyte|melanocyte|til)\s+counts?\b|"
    # "of those, how many are melanocytes and how many lymphocytes?"
    rf"\b(?:of\s+(?:those|them|these)\s*,?\s+)how\s+many\s+are\s+(?:the\s+)?(?P<cell11>{_CELL_TYPES})\b|"
    # "and how many of these cells are CD20 positive?": a marker's positive cells
    r"\bhow\s+many\s+(?:of\s+)?(?:these|those|the|them)?\s*(?:cells|nuclei)?\s*(?:are|were|stain)\s+"
    r"(?P<cell10>[a-z0-9-]{2,12})[\s-]*(?:positive|pos|\+)(?!\w)|"
    # "can you split that into lymphocytes vs histiocytes?"
    rf"\b(?:split|separate|break)\s+(?:\w+\s+){{0,3}}?(?:up\s+)?(?:into|by)\s+(?P<cell9>{_CELL_TYPES})\s+"
    rf"(?:vs\.?|versus|and|or|/)\s+(?:{_CELL_TYPES})\b"
)


def typed_count(low: str) -> str | None:
    """The line for a count restricted to one cell type, or None.

    ``low``: the request normalised, in lower case.
    """
    m = _TYPED_COUNT_RE.search(low)
    if m is None:
        return None
    named = next(g for g in m.groups() if g)
    cell = " ".join(named.split()) + ("s" if m.group("cell8") else "")  # "a neutrophil count"
    if m.group("cell10"):
        cell = f"{m.group('cell10').upper()}-positive cells"
    return (
        f"The nuclei expert counts every nucleus and does not tell {cell} from other cells, "
        "so a count of them alone is not available. Ask for the nuclear count of this view "
        "(all nuclei), for the share of lymphocyte-rich tissue (the tissue composition), or "
        "describe what you see and ask the visual-question expert where one is configured."
    )
