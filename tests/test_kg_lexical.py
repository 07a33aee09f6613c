"""Word-bag matching of mentions to entity names, with weights learned from the names."""

from __future__ import annotations

from memory.kg.lexical import LexicalIndex, words

ROWS = [
    ("K1", "disease", "kidney cancer"),
    ("K1", "disease", "renal cancer"),
    ("K2", "disease", "kidney carcinoma"),
    ("L1", "disease", "lung cancer"),
    ("L1", "disease", "pulmonary cancer"),
    ("L2", "disease", "lung carcinoma"),
    ("S1", "disease", "skin cancer"),
    ("S2", "disease", "skin carcinoma"),
    ("V1", "disease", "vulva adenocarcinoma"),
]


def test_word_bags_ignore_order_and_stop_words() -> None:
    assert words("Adenocarcinoma of the Vulva") == ["adenocarcinoma", "vulva"]
    index = LexicalIndex(ROWS)
    score, covers = index.score(words("adenocarcinoma of the vulva"), 8)
    assert (score, covers) == (1.0, True)
    assert index.rows[index.candidates(words("adenocarcinoma of the vulva"), 1)[0]][0] == "V1"


def test_substitutions_are_weighted_by_how_often_they_keep_the_entity() -> None:
    index = LexicalIndex(ROWS)
    renal = words("renal carcinoma")
    # renal/kidney are names of one entity (K1); cancer/carcinoma always part two entities
    to_k1, covers_k1 = index.score(words("cancer of the renal"), 0)
    to_k2, _ = index.score(renal, 2)
    assert covers_k1
    assert to_k1 == 0.75  # renal/kidney seen once within K1: weight 1/(1+1)
    assert 0.0 < to_k2 < 1.0
    cancer_vs_carcinoma, covers = index.score(words("skin cancer"), 7)
    assert cancer_vs_carcinoma < 0.6
    assert not covers
    assert index.score(words("skin cancer"), 6) == (1.0, True)
    assert index.score([], 0) == (0.0, False)
    near, _ = index.score(words("pulmonery cancer"), 4)  # a typo still pairs
    assert 0.85 < near < 1.0
