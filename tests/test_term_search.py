"""Curated facts found by the rare terms a question shares with them (``memory.kg.term_search``)."""

from __future__ import annotations

from memory.kg.model import Fact
from memory.kg.term_search import TermIndex


def _fact(slug: str, text: str, subject: str = "DOID:1") -> Fact:
    return Fact(id=f"HIST:{slug}", subject=subject, predicate="testing", text=text, source="s")


FILLER = [
    _fact(f"filler-{k}", f"Carcinoma number {k} shows glands, nests and sheets of cells.")
    for k in range(400)  # about as many as the curated file holds
]


def test_a_rare_term_finds_the_fact_that_leads_with_it() -> None:
    facts = [
        *FILLER,
        _fact("pdl1-lung", "PD-L1 in lung carcinoma is reported as the tumour proportion score."),
        _fact("gastric", "Gastric carcinoma is also tested for MMR status and PD-L1 (CPS)."),
    ]
    hits = TermIndex(facts).search("how is PD-L1 scored?")
    assert [h.fact.id for h in hits] == ["HIST:pdl1-lung", "HIST:gastric"]
    assert hits[0].terms == ("pdl1",)


def test_abbreviations_and_hyphenated_codes_match_their_written_forms() -> None:
    facts = [
        *FILLER,
        _fact("her2", "HER2 immunohistochemistry in breast carcinoma: 3+ is positive."),
        _fact("ki67", "Neuroendocrine tumours are graded by the Ki-67 index."),
    ]
    index = TermIndex(facts)
    assert index.search("HER-2 by IHC?")[0].fact.id == "HIST:her2"
    assert index.search("ki67 in a NET")[0].fact.id == "HIST:ki67"


def test_general_or_common_words_find_nothing() -> None:
    facts = [*FILLER, _fact("gleason", "Prostate adenocarcinoma is graded by Gleason score.")]
    index = TermIndex(facts)
    assert index.search("how is this scored and graded?") == []  # general words only
    assert index.search("what do the glands and nests show?") == []  # in most facts
    assert index.search("the best pizza topping") == []  # in no fact
    assert index.search("gleason?")[0].fact.id == "HIST:gleason"
