"""Lexical matching of a mention against the entity names: word bags, learned word weights.

Names are compared as bags of words (order and 'of'/'the' ignored: 'adenocarcinoma of the
vulva' is 'vulva adenocarcinoma'). Which word may stand for which, and which word may be left
out, is learned from the indexed names themselves: two names that differ by one word are
either names of one entity (the words are synonyms there: tumor/neoplasm, renal/kidney) or of
two (the words tell entities apart: cancer/carcinoma, childhood/adult). A substitution's weight
is the share of such pairs that name one entity, and likewise for a word left out
('malignant' often, 'childhood' rarely). Near spellings of a word (plurals, typos) match
through ``rapidfuzz``, which also proposes candidate names for a mention.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from memory.kg.store import normalise

__all__ = ["LexicalIndex", "words"]

_STOP = frozenset(
    {"of", "the", "a", "an", "and", "in", "or", "with", "to", "by", "on", "s", "type", "nos"}
)
_NEAR = 85
"""Lowest ``rapidfuzz`` ratio (0-100) at which two words of four letters or more match."""


def words(text: str) -> list[str]:
    """The content words of ``text``, normalised (``normalise``), stop words left out."""
    return [w for w in normalise(text).split() if w not in _STOP]


class LexicalIndex:
    """Word bags of the names ``rows`` = [(entity, kind, name)], with learned word weights."""

    def __init__(self, rows: Sequence[tuple[str, str, str]]) -> None:
        self.rows = list(rows)
        self.words = [words(n) for _, _, n in self.rows]
        self._choices = [" ".join(sorted(w)) for w in self.words]
        self.by_entity: dict[str, list[int]] = defaultdict(list)
        for i, (entity, _, _) in enumerate(self.rows):
            self.by_entity[entity].append(i)
        self._sub, self._drop = _learn(
            [(e, frozenset(w)) for (e, _, _), w in zip(self.rows, self.words, strict=True)]
        )

    def candidates(self, mention: list[str], limit: int) -> list[int]:
        """Rows whose word bags are nearest to ``mention`` (``rapidfuzz`` token-set ratio)."""
        from rapidfuzz import fuzz, process

        if not mention:
            return []
        found = process.extract(
            " ".join(sorted(mention)), self._choices, scorer=fuzz.token_set_ratio, limit=limit
        )
        return [i for _, _, i in found]

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
        weight = self._sub.get((a, b))
        if weight is not None:
            return weight
        if len(a) > 3 and len(b) > 3:
            from rapidfuzz import fuzz

            ratio = fuzz.ratio(a, b)
            if ratio >= _NEAR:
                return 0.9 * ratio / 100
        return 0.0


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
