"""The re-ranker's features and probabilities for a mention's candidate entities."""

from __future__ import annotations

from memory.kg.linker import Candidate
from memory.kg.rerank import FEATURES, features, probabilities


def _candidate(entity: str, cosine: float, lexical: float, covers: bool) -> Candidate:
    return Candidate(
        entity=entity,
        kind="disease",
        name=entity,
        row=0,
        cosine=cosine,
        lexical=lexical,
        hybrid=(cosine + lexical) / 2,
        covers=covers,
        name_words=2,
        max_cosine=cosine,
    )


PARENTS = {"child": {"parent"}, "parent": {"root"}}


def _ancestors(entity: str) -> set[str]:
    out: set[str] = set()
    stack = [entity]
    while stack:
        for p in PARENTS.get(stack.pop(), ()):
            out.add(p)
            stack.append(p)
    return out


def test_features_describe_each_candidate_against_the_best() -> None:
    found = [_candidate("parent", 0.9, 0.9, True), _candidate("child", 0.85, 0.8, True)]
    rows = features(found, _ancestors)
    assert rows.shape == (2, len(FEATURES))
    col = {name: i for i, name in enumerate(FEATURES)}
    assert rows[1, col["below best"]] == 1.0  # child lies under the best candidate
    assert rows[0, col["below best"]] == 0.0
    assert rows[1, col["hybrid below best"]] < 0 == rows[0, col["hybrid below best"]]
    assert rows[1, col["depth"]] > rows[0, col["depth"]]
    assert features([], _ancestors).shape == (0, len(FEATURES))


def test_a_clear_best_is_likelier_than_a_close_call_and_a_distant_candidate() -> None:
    clear = [_candidate("a", 0.97, 1.0, True), _candidate("b", 0.6, 0.3, False)]
    close = [_candidate("a", 0.82, 0.7, False), _candidate("b", 0.81, 0.7, False)]
    p_clear = probabilities(features(clear, _ancestors))
    p_close = probabilities(features(close, _ancestors))
    assert ((p_clear > 0) & (p_clear < 1)).all()
    assert p_clear[0] > 0.9 > p_close[0]
    assert p_clear[1] < 0.1
