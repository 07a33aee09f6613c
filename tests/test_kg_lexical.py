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


def test_candidates_rank_names_by_shared_words_substitutes_and_near_spellings() -> None:
    index = LexicalIndex(ROWS)
    found = [index.rows[i][2] for i in index.candidates(words("adenocarcinoma of the vulva"), 3)]
    assert found[0] == "vulva adenocarcinoma"
    assert len(found) == 1  # no other name shares a word with the mention
    # a near spelling of the rare word 'pulmonary' outweighs the common word 'carcinoma'
    typo = [index.rows[i][2] for i in index.candidates(words("pulmonery carcinoma"), 3)]
    assert typo[0] == "pulmonary cancer"
    assert "lung carcinoma" in typo
    assert index.rows[index.candidates(words("pulmonery cancer"), 1)[0]][2] == "pulmonary cancer"
    # renal substitutes kidney (names of one entity): kidney names are proposed for 'renal'
    renal = {index.rows[i][2] for i in index.candidates(words("renal carcinoma"), 3)}
    assert "kidney carcinoma" in renal
    assert index.candidates([], 3) == []
    assert index.candidates(words("zzzz qqqq"), 3) == []
