"""Curated facts found by the rare terms a question shares with them.

A question that names no disease ("gleason grade groups?", "how is HER2 scored by IHC?", "mmr
ihc vs pcr for MSI") still names the terms of its answer; the small sentence-embedding model
ranks such short questions poorly against long facts. A term written in few of the curated
facts (Gleason, HER2, MMR, PCR) is a strong hint: each fact is scored by the inverse document
frequency of the rare terms it shares with the question.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from memory.kg.model import Fact
from memory.kg.store import normalise

__all__ = ["TermHit", "TermIndex"]

_TERM_SHARE = 0.08
"""A term counts when at most this share of the facts (and at least one) writes it."""
_RARE_SHARE = 0.03
"""A hit needs the weight of one term this rare (two commoner terms can make it up)."""
_CODE_RE = re.compile(r"\b([a-z]{1,4})-([a-z]{0,2}[0-9]{1,3})\b")
"""A marker written with a hyphen (PD-L1, Ki-67, HER-2): one word, as "pdl1", "ki67"."""
_EXPANSIONS = {
    "ihc": "immunohistochemistry",
    "ish": "hybridisation",
    "fish": "hybridisation",
    "mmr": "mismatch",
    "dmmr": "mismatch",
    "pmmr": "mismatch",
}
"""Abbreviations the facts write out ("MMR": "mismatch-repair")."""
_WORD_RE = re.compile(r"^(?=.*[a-z])[a-z0-9]{3,}$|^(?=.*[a-z])(?=.*[0-9])[a-z0-9]{2}$")
"""Words of three letters or more, and two-character codes with a digit (l1 of PD-L1)."""
_GENERIC_WORDS = """
    what which when where does with from that this these those they them their there have
    about into than then also just some more most many much very such each only other
    score scored scoring scores grade graded grading grades test tested testing tests marker
    cut off cutoff threshold value values number percent percentage level levels report
    count counts counted counting
    markers stain stains stained staining feature features look looks like difference differ
    differences versus criteria used type types tell know mean means meaning common usually
    tumour tumor tumours tumors cancer cancers carcinoma carcinomas disease lesion cells cell
    positive negative diagnosis diagnose diagnosed between help confirm show shows
"""
_GENERIC = frozenset(_GENERIC_WORDS.split())
"""Words too general to point at a fact, however rarely the curated facts write them."""


@dataclass(frozen=True)
class TermHit:
    """A fact, its score (summed inverse document frequency) and the shared rare terms."""

    fact: Fact
    score: float
    terms: tuple[str, ...]


class TermIndex:
    """The curated facts' words, for finding the facts a question's rare terms point at."""

    def __init__(self, facts: list[Fact]) -> None:
        self.facts = facts
        self._order = [_words(f.text) for f in facts]
        self._words = [set(words) for words in self._order]
        self._df = Counter(w for words in self._words for w in words)

    def search(self, text: str, k: int = 3) -> list[TermHit]:
        """The facts sharing the most telling rare terms with ``text``, best first.

        Ties go to the fact that writes a shared term earliest (it is about it), then by id.
        """
        n = len(self.facts)
        if not n:
            return []
        limit = max(1, math.floor(n * _TERM_SHARE))
        asked = {
            w
            for w in _words(text)
            if _WORD_RE.match(w) and w not in _GENERIC and 0 < self._df.get(w, 0) <= limit
        }
        floor = math.log(n / max(1, math.floor(n * _RARE_SHARE)))
        ranked = []
        for fact, words, order in zip(self.facts, self._words, self._order, strict=True):
            shared = sorted(asked & words)
            score = sum(math.log(n / self._df[w]) for w in shared)
            if shared and score >= floor:
                first = min(order.index(w) for w in shared)  # a fact that leads with the term
                ranked.append(
                    (-round(score, 4), first, fact.id, TermHit(fact, score, tuple(shared)))
                )
        ranked.sort(key=lambda r: r[:3])
        return [r[3] for r in ranked[:k]]


def _words(text: str) -> list[str]:
    """``text``'s words as the index keeps them: folded spelling, hyphenated codes joined."""
    low = _CODE_RE.sub(r"\1\2", text.lower())
    return [_EXPANSIONS.get(w, w) for w in normalise(low).split()]
