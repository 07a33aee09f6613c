"""Re-ranking of a mention's candidate entities: a logistic model over the hybrid score's parts.

Each candidate (``memory.kg.linker.Candidate``) is described by its cosine, word-bag score and
their mean, whether the mention covers one of its names, how far each is below the best
candidate's, its depth in the is_a tree, whether it lies below or above the best candidate,
its place, the highest cosine over all its names, its name's length, and how far the best
candidate leads the second. The model's probability that the candidate is the right entity
orders the candidates and is the link's score, so that one threshold means one precision.

The weights were fitted on the dev half of ``eval/kg_linking.py`` (``--split dev --fit``
prints them); the test half was not seen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

__all__ = ["FEATURES", "features", "probabilities"]

FEATURES = (
    "cosine",
    "lexical",
    "hybrid",
    "covers",
    "hybrid below best",
    "cosine below best",
    "lexical below best",
    "depth",
    "below best",
    "above best",
    "first",
    "max cosine",
    "name words",
    "lead of best",
)
_WEIGHTS = np.array(
    [
        1.328,
        -0.789,
        0.270,
        1.461,
        5.997,
        6.287,
        1.573,
        1.094,
        0.499,
        -0.501,
        1.429,
        1.946,
        1.287,
        4.360,
    ]
)
"""One coefficient per name in ``FEATURES``, in order."""
_INTERCEPT = -5.84505699
_DEPTH = 12
"""Depths (ancestors) counted; deeper entities count as this deep."""
_NAME_WORDS = 8
"""Name lengths (content words) counted."""


class _Scored(Protocol):
    entity: str
    cosine: float
    lexical: float
    hybrid: float
    covers: bool
    max_cosine: float
    name_words: int


def features(candidates: Sequence[_Scored], ancestors: Callable[[str], set[str]]) -> np.ndarray:
    """One row of ``FEATURES`` per candidate; ``candidates`` best hybrid score first."""
    if not candidates:
        return np.zeros((0, len(FEATURES)))
    top = candidates[0]
    cos = max(c.cosine for c in candidates)
    lex = max(c.lexical for c in candidates)
    lead = top.hybrid - (candidates[1].hybrid if len(candidates) > 1 else 0.0)
    above_top = ancestors(top.entity)
    rows = []
    for i, c in enumerate(candidates):
        mine = ancestors(c.entity)
        rows.append(
            [
                c.cosine,
                c.lexical,
                c.hybrid,
                float(c.covers),
                c.hybrid - top.hybrid,
                c.cosine - cos,
                c.lexical - lex,
                min(len(mine), _DEPTH) / _DEPTH,
                float(top.entity in mine),
                float(c.entity in above_top),
                float(i == 0),
                c.max_cosine,
                min(c.name_words, _NAME_WORDS) / _NAME_WORDS,
                lead,
            ]
        )
    return np.asarray(rows, dtype=np.float64)


def probabilities(rows: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """The model's probability per row of ``features`` (``weights``: coefficients, intercept)."""
    w = _WEIGHTS if weights is None else weights[:-1]
    b = _INTERCEPT if weights is None else weights[-1]
    return 1.0 / (1.0 + np.exp(-(rows @ w + b)))
