"""Entity linking: text -> knowledge-graph entities, exact names first, then a hybrid match.

``link`` maps one phrase to entities: an exact (normalised) name or synonym scores 1.0; else
candidates from the nearest names by embedding and by word bags (``memory.kg.lexical``:
'vulva adenocarcinoma' for 'adenocarcinoma of the vulva') are scored by the mean of the cosine
and the word-bag similarity, best name per entity; a logistic re-ranker (``memory.kg.rerank``)
then orders them by the probability of being right, from that score's parts and the ontology
(depth, is_a above or below the best candidate), and links whose probability is at or above
the threshold are kept. ``mentions`` finds the entity
names written in a sentence (longest match first) and the medical-looking terms that link to
nothing, which the verifier reports as unlinked. A name that is an abbreviation (HGSC, NSCLC,
MSI-H) matches only as written, case and all: 'ALL' is a leukaemia, 'all' is a word.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel

from memory.kg.abbreviations import is_abbreviation
from memory.kg.embed import one_blas_thread
from memory.kg.lexical import LexicalIndex, words
from memory.kg.rerank import features, probabilities
from memory.kg.store import KGStore, normalise

__all__ = ["Candidate", "EntityLinker", "Link", "Mentions", "medical_terms"]

_MAX_WORDS = 8
_GENE_RE = re.compile(r"^[a-z]{2,5}\d{1,2}$")
"""A gene symbol as a request writes it, normalised ("wt1", "brca2"): a disease's synonym too."""
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
_CANDIDATES = 12
"""Names taken from each side (embedding, word bags) as candidates for a mention."""
_EMBEDDING_WEIGHT = 0.5
"""Weight of the cosine in a hybrid score (the word-bag similarity has the rest)."""
_RERANKED = 12
"""Candidates (best hybrid score first) that the re-ranker orders; the rest are dropped."""


class Link(BaseModel):
    """One linked entity and how it was found."""

    entity: str
    name: str
    kind: str
    score: float
    method: Literal["exact", "hybrid", "embedding"]
    text: str


@dataclass
class Candidate:
    """One candidate entity of a mention: its best name by hybrid score, and that score's parts."""

    entity: str
    kind: str
    name: str
    row: int
    cosine: float
    lexical: float
    hybrid: float
    covers: bool
    """Whether the mention covers one of the entity's names (not only the best one)."""
    name_words: int
    max_cosine: float = 0.0
    """The highest cosine over all of the entity's names."""


class Mentions(BaseModel):
    """Entities named in a text, and medical terms that link to none."""

    links: list[Link]
    unlinked: list[str]

    @property
    def entities(self) -> set[str]:
        """Ids of the linked entities."""
        return {link.entity for link in self.links}


class EntityLinker:
    """Link phrases and sentences to the entities of a ``KGStore``.

    ``parents``: entity -> its broader entities; None reads them from the store's is_a facts.
    """

    def __init__(
        self,
        store: KGStore,
        threshold: float,
        *,
        parents: Mapping[str, set[str]] | None = None,
    ) -> None:
        self.store = store
        self.threshold = threshold
        self._parents = parents
        self._lexical: tuple[int, LexicalIndex] | None = None
        self._words: frozenset[str] | None = None
        self._lock = threading.Lock()

    def _known_words(self) -> frozenset[str]:
        """English words (the embedding model's vocabulary): 'all' is a word, 'hgsc' is not."""
        if self._words is None:
            try:
                self._words = self.store.embedder.known_words()
            except Exception:  # no model folder: abbreviations then match only as written
                self._words = frozenset()
        return self._words

    def link(self, text: str, *, kinds: set[str] | None = None, k: int = 3) -> list[Link]:
        """Entities for ``text``: exact matches, else hybrid matches at or above threshold."""
        key = normalise(text)
        exact = [
            Link(entity=e, name=n, kind=kd, score=1.0, method="exact", text=text)
            for e, kd, n in self.store.name_index().get(key, [])
            if (kinds is None or kd in kinds) and _fits(n, _tokens(text), self._known_words())
        ]
        if exact:
            return _unique(exact)
        if not key:
            return []
        malignant = [  # "mesothelioma": the ontology names only its benign and malignant kinds
            Link(entity=e, name=n, kind=kd, score=1.0, method="exact", text=text)
            for e, kd, n in self.store.name_index().get(f"malignant {key}", [])
            if kinds is None or kd in kinds
        ]
        if malignant:
            return _unique(malignant)
        ranked = self.rank(text, kinds=kinds)
        return [x for x in ranked if x.score >= self.threshold][:k]

    def rank(self, text: str, *, kinds: set[str] | None = None) -> list[Link]:
        """Hybrid candidates for ``text`` by the re-ranker's probability, whatever its value."""
        found = self.candidates(text, kinds=kinds)[:_RERANKED]
        if not found:
            return []
        chance = probabilities(features(found, self.ancestors))
        order = sorted(range(len(found)), key=lambda i: (-chance[i], i))
        return [
            Link(
                entity=found[i].entity,
                name=found[i].name,
                kind=found[i].kind,
                score=round(min(float(chance[i]), 0.9999), 4),
                method="hybrid",
                text=text,
            )
            for i in order
        ]

    def candidates(self, text: str, *, kinds: set[str] | None = None) -> list[Candidate]:
        """Entities near ``text`` by embedding or word bags, by hybrid score (best first)."""
        matrix, rows = self.store.name_vectors()
        if not rows:
            return []
        lexical = self._lexical_index(rows)
        vector = np.asarray(self.store.embedder.encode([text])[0], dtype=np.float32)
        with one_blas_thread():  # a matrix-vector product: threads only wait on each other
            sims = matrix @ vector
        n = min(_CANDIDATES, len(rows))
        mention = words(text)
        pool = {*np.argpartition(-sims, n - 1)[:n].tolist(), *lexical.candidates(mention, n)}
        found: dict[str, Candidate] = {}
        for row in sorted(pool):
            entity, kind, _ = rows[row]
            if entity in found or (kinds is not None and kind not in kinds):
                continue
            best: Candidate | None = None
            covers = False
            for j in lexical.by_entity[entity]:
                lex, cover = lexical.score(mention, j)
                cosine = float(sims[j])
                hybrid = _EMBEDDING_WEIGHT * cosine + (1 - _EMBEDDING_WEIGHT) * lex
                covers = covers or cover
                if best is None or hybrid > best.hybrid:
                    best = Candidate(
                        entity=entity,
                        kind=rows[j][1],
                        name=rows[j][2],
                        row=j,
                        cosine=cosine,
                        lexical=lex,
                        hybrid=hybrid,
                        covers=cover,
                        name_words=len(lexical.words[j]),
                    )
            if best is not None:
                best.covers = covers
                best.max_cosine = max(float(sims[j]) for j in lexical.by_entity[entity])
                found[entity] = best
        return sorted(found.values(), key=lambda c: (-c.hybrid, c.entity))

    def _parent_map(self) -> Mapping[str, set[str]]:
        with self._lock:
            if self._parents is None:
                found: dict[str, set[str]] = {}
                for f in self.store.facts_with(("is_a",)):
                    if f.object:
                        found.setdefault(f.subject, set()).add(f.object)
                self._parents = found
            return self._parents

    def ancestors(self, entity: str) -> set[str]:
        """The broader entities of ``entity``, all the way up (is_a)."""
        parents = self._parent_map()
        out: set[str] = set()
        stack = [entity]
        while stack:
            for p in parents.get(stack.pop(), ()):
                if p not in out:
                    out.add(p)
                    stack.append(p)
        return out

    def _lexical_index(self, rows: list[tuple[str, str, str]]) -> LexicalIndex:
        """The word-bag index of ``rows``, made again when the store loads other names."""
        with self._lock:
            if self._lexical is None or self._lexical[0] != id(rows):
                self._lexical = (id(rows), LexicalIndex(rows))
            return self._lexical[1]

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
                if phrase not in index and phrase.endswith("s") and phrase[:-1] in index:
                    phrase = phrase[:-1]  # "neuroendocrine tumours": the singular's entity
                rows = [
                    r
                    for r in index.get(phrase, [])
                    if r[1] in _MENTION_KINDS
                    and _fits(r[2], written[i : i + n], self._known_words())
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
            if not found and phrase != term and f"malignant {term}" in index:
                # "ihc panel for mesothelioma": the term alone, without the words before it
                found = self.link(term, kinds=set(_MENTION_KINDS))
            if found:
                links.extend(found[:1])
            else:
                unlinked.append(phrase)
        diseases = [x for x in links if x.kind == "disease"]
        if len(diseases) > 1:  # "WT1 and p53 in HGSC": a gene symbol beside a disease is a marker
            links = [x for x in links if not (x.kind == "disease" and _GENE_RE.match(x.text))]
        return Mentions(links=_unique(links), unlinked=sorted(set(unlinked)))


def medical_terms(text: str) -> list[str]:
    """Words that look like disease names (…oma, carcinoma, cancer, neoplasm, tumour…)."""
    return sorted({normalise(m.group(0)) for m in _MEDICAL.finditer(text)} - _GENERIC)


def _tokens(text: str) -> list[str]:
    """The words of ``text`` as written (``normalise`` splits it into the same words)."""
    return "".join(ch if ch.isalnum() else " " for ch in text).split()


def _fits(name: str, written: list[str], known: frozenset[str] = frozenset()) -> bool:
    """An abbreviation matches as written, or in lower case when no part is an English word.

    ``known``: the English words. 'hgsc', 'msi-h' and 'dfsp' link typed in lower case; 'all'
    stays a word and 'b-all' is not B-ALL. Other names match any case.
    """
    if not is_abbreviation(name):
        return True
    tokens = _tokens(name)
    if tokens == written:
        return True
    if not known or [t.lower() for t in tokens] != [w.lower() for w in written]:
        return False
    letters = sum(len(t) for t in tokens)
    return letters >= 3 and not any(len(t) >= 3 and t.lower() in known for t in tokens)


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
