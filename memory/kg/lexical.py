"""Lexical matching of a mention against the entity names: word bags, learned word weights.

Names are compared as bags of words (order and 'of'/'the' ignored: 'adenocarcinoma of the
vulva' is 'vulva adenocarcinoma'). Which word may stand for which, and which word may be left
out, is learned from the indexed names themselves: two names that differ by one word are
either names of one entity (the words are synonyms there: tumor/neoplasm, renal/kidney) or of
two (the words tell entities apart: cancer/carcinoma, childhood/adult). A substitution's weight
is the share of such pairs that name one entity, and likewise for a word left out
('malignant' often, 'childhood' rarely). Near spellings of a word (plurals, typos) match
through ``rapidfuzz``.

Candidate names for a mention come from an inverted index (word -> names holding it, NumPy
arrays): each mention word, its learned substitutes and its near spellings add their IDF to
the names that hold them, and the names with the highest Dice share of IDF are proposed. Word
pairs are scored once per index (cached), so a mention costs a few dictionary look-ups per
pair of words rather than a string comparison.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np

from memory.kg.store import normalise

__all__ = ["LexicalIndex", "words"]

_STOP = frozenset(
    {"of", "the", "a", "an", "and", "in", "or", "with", "to", "by", "on", "s", "type", "nos"}
)
_NEAR = 85
"""Lowest ``rapidfuzz`` ratio (0-100) at which two words of four letters or more match."""
_NEAR_LIMIT = 5
"""Near spellings of a mention word looked up in the vocabulary."""
_CACHE = 200_000
"""Word pairs (and words' near spellings) kept scored; the caches are emptied when full."""


def words(text: str) -> list[str]:
    """The content words of ``text``, normalised (``normalise``), stop words left out."""
    return [w for w in normalise(text).split() if w not in _STOP]


class LexicalIndex:
    """Word bags of the names ``rows`` = [(entity, kind, name)], with learned word weights."""

    def __init__(self, rows: Sequence[tuple[str, str, str]]) -> None:
        self.rows = list(rows)
        self.words = [words(n) for _, _, n in self.rows]
        self.by_entity: dict[str, list[int]] = defaultdict(list)
        for i, (entity, _, _) in enumerate(self.rows):
            self.by_entity[entity].append(i)
        self._sub, self._drop = _learn(
            [(e, frozenset(w)) for (e, _, _), w in zip(self.rows, self.words, strict=True)]
        )
        self._subs_of: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for (a, b), weight in self._sub.items():
            self._subs_of[a].append((b, weight))
        holders: dict[str, set[int]] = defaultdict(set)
        for i, bag in enumerate(self.words):
            for w in bag:
                holders[w].add(i)
        self._vocab = sorted(holders)
        self._long_vocab = [w for w in self._vocab if len(w) > 3]
        n = max(len(self.rows), 1)
        self._idf = {w: math.log(1 + n / len(r)) for w, r in holders.items()}
        self._postings = {w: np.fromiter(sorted(r), dtype=np.int64) for w, r in holders.items()}
        self._row_idf = np.array(
            [sum(self._idf[w] for w in set(bag)) for bag in self.words], dtype=np.float64
        )
        self._pairs: dict[tuple[str, str], float] = {}
        self._near: dict[str, list[tuple[str, float]]] = {}

    def candidates(self, mention: list[str], limit: int) -> list[int]:
        """Rows whose word bags share the most IDF with ``mention`` (Dice), best first.

        A name word counts in full when it is a mention word, at the learned weight when it
        substitutes one, at 0.9 × the ratio when it is a near spelling of one.
        """
        if not mention or not self.rows:
            return []
        shared = np.zeros(len(self.rows), dtype=np.float64)
        own = 0.0
        for a in dict.fromkeys(mention):
            own += self._idf.get(a, max(self._idf.values(), default=1.0))
            matches: dict[str, float] = {}
            if a in self._postings:
                matches[a] = 1.0
            for b, weight in self._subs_of.get(a, ()):
                matches[b] = max(matches.get(b, 0.0), weight)
            for b, weight in self._near_words(a):
                matches[b] = max(matches.get(b, 0.0), weight)
            for b, weight in matches.items():
                rows = self._postings[b]
                shared[rows] = np.maximum(shared[rows], weight * self._idf[b])
        found = np.flatnonzero(shared)
        if not found.size:
            return []
        dice = 2 * shared[found] / (own + self._row_idf[found])
        top = min(limit, found.size)
        pick = np.argpartition(-dice, top - 1)[:top]
        pick = pick[np.argsort(-dice[pick], kind="stable")]
        return found[pick].tolist()

    def score(self, mention: list[str], row: int) -> tuple[float, bool]:
        """(Dice similarity of the two word bags in [0, 1], whether the mention covers the name).

        Words pair greedily by weight: 1 for the same word, the learned weight for a
        substitution, 0.9 × the ratio for a near spelling. A word left unpaired counts its
        learned weight of being left out. The mention covers the name when each of the name's
        words is paired with the same word or a synonym of weight 0.5 or more.
        """
        name = self.words[row]
        if not mention or not name:
            return 0.0, False
        used: set[int] = set()
        total = 0.0
        covered = 0
        left: list[str] = []
        for a in mention:
            best, pick = 0.0, -1
            for j, b in enumerate(name):
                if j not in used:
                    s = self._pair(a, b)
                    if s > best:
                        best, pick = s, j
            if pick < 0:
                left.append(a)
                continue
            used.add(pick)
            total += best
            covered += best >= 0.5
        left += [b for j, b in enumerate(name) if j not in used]
        total += sum(self._drop.get(w, 0.0) for w in left)
        return 2 * total / (len(mention) + len(name)), covered == len(name)

    def _pair(self, a: str, b: str) -> float:
        if a == b:
            return 1.0
        key = (a, b)
        cached = self._pairs.get(key)
        if cached is not None:
            return cached
        weight = self._sub.get(key)
        if weight is None:
            weight = 0.0
            if len(a) > 3 and len(b) > 3:
                from rapidfuzz import fuzz

                ratio = fuzz.ratio(a, b)
                if ratio >= _NEAR:
                    weight = 0.9 * ratio / 100
        if len(self._pairs) >= _CACHE:
            self._pairs.clear()
        self._pairs[key] = weight
        return weight

    def _near_words(self, a: str) -> list[tuple[str, float]]:
        """Vocabulary words spelt near ``a`` (four letters or more), with their pair weight."""
        if len(a) <= 3:
            return []
        cached = self._near.get(a)
        if cached is not None:
            return cached
        from rapidfuzz import fuzz, process

        found = process.extract(
            a, self._long_vocab, scorer=fuzz.ratio, score_cutoff=_NEAR, limit=_NEAR_LIMIT
        )
        near = [(b, 0.9 * ratio / 100) for b, ratio, _ in found if b != a]
        if len(self._near) >= _CACHE:
            self._near.clear()
        self._near[a] = near
        return near


def _learn(
    bags: list[tuple[str, frozenset[str]]],
) -> tuple[dict[tuple[str, str], float], dict[str, float]]:
    """Substitution and drop weights: the share of one-word differences within one entity."""
    bucket: dict[frozenset[str], set[tuple[str, str]]] = defaultdict(set)
    whole: dict[frozenset[str], set[str]] = defaultdict(set)
    for entity, bag in bags:
        whole[bag].add(entity)
        for w in bag:
            bucket[bag - {w}].add((w, entity))
    sub_same, sub_all = Counter[tuple[str, str]](), Counter[tuple[str, str]]()
    drop_same, drop_all = Counter[str](), Counter[str]()
    for rest, items in bucket.items():
        for w1, e1 in items:
            for w2, e2 in items:
                if w1 != w2:
                    sub_all[w1, w2] += 1
                    sub_same[w1, w2] += e1 == e2
            for e2 in whole.get(rest, ()):
                drop_all[w1] += 1
                drop_same[w1] += e1 == e2
    sub = {p: sub_same[p] / (n + 1.0) for p, n in sub_all.items() if sub_same[p]}
    drop = {w: drop_same[w] / (n + 1.0) for w, n in drop_all.items() if drop_same[w]}
    return sub, drop
