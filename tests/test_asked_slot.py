"""Answers that answer the asked slot, on a real knowledge graph (the Disease Ontology subset):
a relation the graph lacks is said in one line and the turn is partial, abbreviations link,
comparisons recall both entities, a slide diagnosis is never a knowledge-graph fact, and an
asked unit must be stated."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.asked_slot import asked_slot, check_answer
from agent.state import ChainStep, Claim, Evidence
from app.runner import Copilot
from core.settings import Settings

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def kg_copilot(tmp_path_factory: pytest.TempPathFactory, kg_store_dir: Path):
    c = Copilot(Settings(home=tmp_path_factory.mktemp("home"), kg_path=kg_store_dir))
    yield c
    c.close()


def test_a_relation_the_graph_lacks_is_said_in_one_line_and_partial(
    kg_copilot: Copilot, cmu_slide: Path
) -> None:
    r = kg_copilot.ask(cmu_slide, "How is HGSC staged?")
    assert r.answer.startswith("The knowledge graph has no staging for ovarian serous carcinoma.")
    assert "Context only, not what was asked: Definition: " in r.answer
    v = r.verification
    assert v["status"] == "partial"
    assert v["reasons"] == ["does not answer: asked for the staging of “HGSC”"]


def test_a_term_the_graph_lacks_beside_one_it_has_is_said_first(
    kg_copilot: Copilot, cmu_slide: Path
) -> None:
    """ "What is MSI-H and why does it matter in colon cancer?" is not a question about colon
    cancer: the graph's lack of MSI-H leads the answer and the turn is partial."""
    asked = "What is MSI-H and why does it matter in colon cancer?"
    assert asked_slot(asked).subjects == ["MSI-H"]
    r = kg_copilot.ask(cmu_slide, asked)
    assert r.answer.startswith(
        "The knowledge graph has no entry for “MSI-H”; about colon cancer, as context only: "
    )
    assert r.verification["status"] == "partial"
    assert r.verification["reasons"] == [
        "does not answer: asked for “MSI-H”, which names no knowledge-graph entity"
    ]


def test_abbreviation_links_as_written_or_in_lower_case_unless_a_word(
    kg_copilot: Copilot, cmu_slide: Path
) -> None:
    r = kg_copilot.ask(cmu_slide, "what is HGSC?")
    assert {f["subject"] for f in r.facts} == {"DOID:0050933"}
    assert r.verification["status"] == "verified", r.verification["reasons"]
    kb = kg_copilot.knowledge
    assert kb is not None
    assert {x.entity for x in kb.mentions("Is NSCLC common?").links} == {"DOID:3908"}
    # typed in lower case, an abbreviation that is no English word still links ...
    assert {x.entity for x in kb.mentions("is nsclc common?").links} == {"DOID:3908"}
    assert "DOID:0050933" in {x.entity for x in kb.mentions("hgsc = ? cell of origin").links}
    # ... but one that is a word stays a word ("all" is not acute lymphoblastic leukaemia)
    assert kb.mentions("are all of the cells tumour?").links == []
    # a gene symbol beside a disease is a marker, not the disease it is a synonym of
    said = {x.entity for x in kb.mentions("WT1 and p53 pattern in HGSC").links}
    assert said == {"DOID:0050933"}, said
    # WHO's name for invasive ductal carcinoma, and its abbreviation
    for said in ("markers of carcinoma of no special type", "is NST the same as IDC?"):
        assert "DOID:3008" in {x.entity for x in kb.mentions(said).links}, said


def test_comparison_recalls_both_entities(kg_copilot: Copilot, cmu_slide: Path) -> None:
    r = kg_copilot.ask(cmu_slide, "What is the difference between lung adenocarcinoma and LUSC?")
    assert {f["subject"] for f in r.facts} == {"DOID:3910", "DOID:3907"}
    assert "lung adenocarcinoma: Definition: " in r.answer
    assert "lung squamous cell carcinoma: Definition: " in r.answer
    assert r.verification["status"] == "verified", r.verification["reasons"]


def test_a_disease_said_without_malignant_is_its_own_side_of_a_comparison(
    kg_copilot: Copilot, cmu_slide: Path
) -> None:
    """ "mesothelioma" (the ontology names only benign and malignant mesothelioma) is not
    completed with the other side's head into "mesothelioma adenocarcinoma"."""
    asked = "IHC panel for mesothelioma vs lung adenocarcinoma?"
    assert asked_slot(asked).subjects == ["mesothelioma", "lung adenocarcinoma"]
    assert asked_slot("low-grade vs high-grade serous").subjects == [
        "low-grade serous",
        "high-grade serous",
    ]
    kb = kg_copilot.knowledge
    assert kb is not None
    assert {x.entity for x in kb.mentions(asked).links} == {"DOID:1790", "DOID:3910"}
    r = kg_copilot.ask(cmu_slide, asked)
    assert {f["subject"] for f in r.facts if f["predicate"] == "markers"} >= {
        "DOID:1790",
        "DOID:3910",
    }
    assert "calretinin" in r.answer
    assert "TTF-1" in r.answer
    assert r.verification["status"] == "verified", r.verification["reasons"]


def test_a_question_naming_no_disease_finds_the_curated_facts_its_rare_terms_name(
    kg_copilot: Copilot, cmu_slide: Path
) -> None:
    """ "gleason grade groups?" names no entity; Gleason is written in three curated facts,
    all about prostate adenocarcinoma: those facts, labelled as context."""
    r = kg_copilot.ask(cmu_slide, "what is the grade group of a gleason 4+3=7 tumour?")
    assert r.facts[0]["id"] == "HIST:prad-grade-groups"
    assert {f["link_method"] for f in r.facts} == {"terms"}
    assert {f["subject"] for f in r.facts} == {"DOID:2526"}
    assert r.answer.startswith(
        "The question names no knowledge-graph entity; the curated facts that share its rarest "
        "terms, as context only: Grading: Prostate adenocarcinoma ISUP grade groups"
    )
    assert "group 3 is 4+3=7" in r.answer
    assert r.verification["status"] == "partial"  # not checked to answer what was asked
    nothing = kg_copilot.ask(cmu_slide, "what is the best pizza topping?")
    assert nothing.facts == []


def test_two_phrases_of_one_entity_are_said_to_share_it(
    kg_copilot: Copilot, cmu_slide: Path
) -> None:
    r = kg_copilot.ask(cmu_slide, "how does HGSC differ from LGSC?")
    assert r.answer.startswith(
        "The knowledge graph has no separate entries for HGSC and LGSC: both fall under "
        "ovarian serous carcinoma."
    )
    assert r.verification["status"] == "verified", r.verification["reasons"]


def test_a_slide_diagnosis_is_never_a_knowledge_graph_fact(
    kg_copilot: Copilot, cmu_slide: Path
) -> None:
    r = kg_copilot.ask(cmu_slide, "What is the diagnosis on this lung cancer biopsy?")
    assert r.facts, "the request names a disease: facts are recalled as background"
    assert r.answer.startswith("A diagnosis of this slide needs the slide classified")
    assert r.verification["status"] == "partial"
    assert any("asked for the slide's diagnosis" in x for x in r.verification["reasons"])


def test_an_answer_in_percent_does_not_answer_mm2() -> None:
    slot = asked_slot("What is the tissue area in mm²?")
    assert slot.units == ["mm²"]
    ev = Evidence(
        id="E1", tool="tissue", ok=True, summary="tissue", output={"tissue_fraction": 0.362}
    )
    percent = ChainStep(
        id="S2",
        kind="conclude",
        text="Tissue covers 36.2% of the slide.",
        claims=[Claim(kind="number", evidence="E1", path="tissue_fraction", value=36.2, unit="%")],
        evidence=["E1"],
    )
    check = check_answer(slot, percent, [ev], [], knowledge=False, subjects=None)
    assert check is not None
    assert not check.ok
    assert check.detail == "does not answer: asked for a quantity in mm²"
    mm2 = percent.model_copy(
        update={
            "text": "Tissue covers 0.594 mm².",
            "claims": [
                Claim(kind="number", evidence="E1", path="tissue_mm2", value=0.594, unit="mm²")
            ],
        }
    )
    ok = check_answer(slot, mm2, [ev], [], knowledge=False, subjects=None)
    assert ok is not None
    assert ok.ok


def test_both_compartments_must_be_stated() -> None:
    slot = asked_slot("what are the epithelium vs stroma proportions?")
    assert slot.compartments == ["epithelium", "stroma"]
    step = ChainStep(id="S1", kind="conclude", text="Epithelium covers 5.7%.", evidence=["E1"])
    check = check_answer(slot, step, [], [], knowledge=False, subjects=None)
    assert check is not None
    assert "stroma not stated" in check.detail


def test_a_narrower_entitys_relation_is_labelled_and_does_not_answer(
    kg_copilot: Copilot, cmu_slide: Path
) -> None:
    """Astrocytoma holds no grading; glioblastoma, one of its kinds, does. Its grade is not the
    grading of every astrocytoma: shown as a narrower entity's, and the turn is partial."""
    r = kg_copilot.ask(cmu_slide, "How is astrocytoma graded?")
    borrowed = {f["id"]: f["borrowed"] for f in r.facts if f["predicate"] == "grading"}
    assert borrowed.get("HIST:gbm-grade") == "narrower", borrowed
    assert "Grading: (held for a narrower entity only) Glioblastoma, IDH-wildtype" in r.answer
    assert "The knowledge graph has no grading for " in r.answer
    assert r.verification["status"] == "partial"
    assert any("the grading of" in x for x in r.verification["reasons"])
    # a broader entity's relation answers: invasive ductal carcinoma takes breast carcinoma's
    idc = kg_copilot.ask(cmu_slide, "What antibody panel is used for invasive ductal carcinoma?")
    assert {f["borrowed"] for f in idc.facts if f["predicate"] == "markers"} == {"broader"}
    assert idc.verification["status"] == "verified", idc.verification["reasons"]
