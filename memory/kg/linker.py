"""Entity linking: text -> knowledge-graph entities, exact names first, meaning second.

``link`` maps one phrase to entities: an exact (normalised) name or synonym scores 1.0; else the
nearest names by embedding, kept only at or above the threshold. ``mentions`` finds the entity
names written in a sentence (longest match first) and the medical-looking terms that link to
nothing, which the verifier reports as unlinked. A name that is an abbreviation (HGSC, NSCLC,
MSI-H) matches only as written, case and all: 'ALL' is a leukaemia, 'all' is a word.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel

from memory.kg.abbreviations import is_abbreviation
from memory.kg.store import KGStore, normalise

__all__ = ["EntityLinker", "Link", "Mentions", "medical_terms"]

_MAX_WORDS = 8
_MEDICAL = re.compile(
    r"\b(?!(?:stroma|stromas|chroma|aroma|aromas|diploma|soma|somas|stoma|stomas)\b)"
    r"[\w-]*(?:oma|omas|carcinoma|sarcoma|cancer|neoplasm|neoplasia|tumou?r|tumou?rs|"
    r"lymphoma|leuka?emia|dysplasia|metaplasia|hyperplasia)\b",
    re.IGNORECASE,
)
_MENTION_KINDS = frozenset({"disease", "anatomy", "cell"})
_GENERIC = frozenset(
    {
        "cell",
        "disease",
        "tissue",
        "cancer",
        "organ",
        "region",
        "entity",
        "tumor",
        "tumors",
        "neoplasm",
        "neoplasms",
        "carcinoma",
        "lesion",
        "malignancy",
    }
)
"""Words too general to name one entity: never linked as a mention, never reported unlinked."""
_STOP = frozenset({"a", "an", "the", "of", "in", "this", "that", "and", "or", "is", "are"})


class Link(BaseModel):
    """One linked entity and how it was found."""

    entity: str
    name: str
    kind: str
    score: float
    method: Literal["exact", "embedding"]
    text: str


class Mentions(BaseModel):
    """Entities named in a text, and medical terms that link to none."""

    links: list[Link]
    unlinked: list[str]

    @property
    def entities(self) -> set[str]:
        """Ids of the linked entities."""
        return {link.entity for link in self.links}


class EntityLinker:
    """Link phrases and sentences to the entities of a ``KGStore``."""

    def __init__(self, store: KGStore, threshold: float) -> None:
        self.store = store
        self.threshold = threshold

    def link(self, text: str, *, kinds: set[str] | None = None, k: int = 3) -> list[Link]:
        """Entities for ``text``: exact matches, else embedding matches at or above threshold."""
        key = normalise(text)
        exact = [
            Link(entity=e, name=n, kind=kd, score=1.0, method="exact", text=text)
            for e, kd, n in self.store.name_index().get(key, [])
            if (kinds is None or kd in kinds) and _fits(n, _tokens(text))
        ]
        if exact:
            return _unique(exact)
        hits = self.store.query_names(text, k=k * 3)
        out = [
            Link(
                entity=h.entity,
                name=h.name,
                kind=h.kind,
                score=h.score,
                method="embedding",
                text=text,
            )
            for h in hits
            if h.score >= self.threshold and (kinds is None or h.kind in kinds)
        ]
        return _unique(out)[:k]

    def mentions(self, text: str) -> Mentions:
        """Entity names in ``text`` (longest first) and medical terms that link to nothing."""
        index = self.store.name_index()
        words = normalise(text).split()
        written = _tokens(text)
        links: list[Link] = []
        covered: set[int] = set()
        i = 0
        while i < len(words):
            for n in range(min(_MAX_WORDS, len(words) - i), 0, -1):
                phrase = " ".join(words[i : i + n])
                rows = [
                    r
                    for r in index.get(phrase, [])
                    if r[1] in _MENTION_KINDS and _fits(r[2], written[i : i + n])
                ]
                if phrase in _GENERIC or (
                    len(phrase) <= 3 and not any(is_abbreviation(r[2]) for r in rows)
                ):
                    rows = []
                if rows:
                    for e, kd, name in rows[:1]:
                        links.append(
                            Link(
                                entity=e, name=name, kind=kd, score=1.0, method="exact", text=phrase
                            )
                        )
                    covered.update(range(i, i + n))
                    i += n
                    break
            else:
                i += 1
        unlinked: list[str] = []
        for m in _MEDICAL.finditer(text):
            term = normalise(m.group(0))
            positions = [j for j, w in enumerate(words) if w == term.split()[-1]]
            if term in _GENERIC or any(p in covered for p in positions):
                continue
            phrase = _phrase_before(words, positions[0]) if positions else term
            found = self.link(phrase, kinds=set(_MENTION_KINDS))
            if found:
                links.extend(found[:1])
            else:
                unlinked.append(phrase)
        return Mentions(links=_unique(links), unlinked=sorted(set(unlinked)))


def medical_terms(text: str) -> list[str]:
    """Words that look like disease names (…oma, carcinoma, cancer, neoplasm, tumour…)."""
    return sorted({normalise(m.group(0)) for m in _MEDICAL.finditer(text)} - _GENERIC)


def _tokens(text: str) -> list[str]:
    """The words of ``text`` as written (``normalise`` splits it into the same words)."""
    return "".join(ch if ch.isalnum() else " " for ch in text).split()


def _fits(name: str, written: list[str]) -> bool:
    """An abbreviation matches only as written (case and all); other names match any case."""
    return not is_abbreviation(name) or _tokens(name) == written


def _phrase_before(words: list[str], end: int, span: int = 3) -> str:
    """The medical term with up to ``span`` preceding words (stop words end the phrase)."""
    start = end
    while start > 0 and end - start < span and words[start - 1] not in _STOP:
        start -= 1
    return " ".join(words[start : end + 1])


def _unique(links: list[Link]) -> list[Link]:
    seen: set[str] = set()
    out: list[Link] = []
    for link in links:
        if link.entity not in seen:
            seen.add(link.entity)
            out.append(link)
    return out
