"""The verifier checks citations, numbers and quotes against the evidence in code."""

from __future__ import annotations

import pytest

from agent.claims import Writer
from agent.state import ChainStep, Evidence, ReasoningChain
from agent.verifier import extract_numbers, verify_chain

EV = Evidence(
    id="E1.1",
    tool="tissue",
    ok=True,
    summary="tissue covers 36.2% of the slide",
    output={
        "tissue_fraction": 0.3617,
        "region_count": 2,
        "mpp_x": None,
        "regions": [{"box": [10, 20, 300, 400], "area_mm2": 0.5934}],
        "notes": ["the view was clipped to the slide's edges"],
    },
)


def _chain(w: Writer, answer_too: bool = True) -> tuple[ReasoningChain, str]:
    step = ChainStep(id="S1", kind="measure", text=w.render(), claims=w.claims, evidence=["E1.1"])
    concl = ChainStep(id="S2", kind="conclude", text=w.render(), claims=w.claims, evidence=["E1.1"])
    return ReasoningChain(steps=[step, concl]), (concl.text if answer_too else "something else")


def test_true_chain_is_verified() -> None:
    w = Writer().text("Tissue covers ").num(36.17, "E1.1", "tissue_fraction", unit="%", decimals=1)
    w.text("% in ").num(2, "E1.1", "region_count").text(" regions; box ")
    w.box([10, 20, 300, 400], "E1.1", "regions.0.box").text(" in level-0 pixels, ")
    w.num(0.5934, "E1.1", "regions.0.area_mm2", decimals=2).text(" mm². ")
    w.absent("No µm/px is recorded.", "E1.1", "mpp_x").text(" Note: ")
    w.quote("the view was clipped to the slide's edges", "E1.1")
    chain, answer = _chain(w)
    report = verify_chain(chain, [EV], set(), answer)
    assert report.status == "verified", report.reasons
    assert report.steps_verified == 1.0
    assert report.citation_precision == 1.0


@pytest.mark.parametrize(
    ("writer", "reason"),
    [
        (
            Writer()
            .text("Tissue covers ")
            .num(40.0, "E1.1", "tissue_fraction", unit="%", decimals=1)
            .text("%."),
            "≠",
        ),
        (
            Writer()
            .text("Tissue covers ")
            .num(36.2, "E1.1", "tissue_fraction", unit="%", decimals=1)
            .text("% in 3 regions."),
            "numbers without a claim",
        ),
        (Writer().absent("The count is unknown.", "E1.1", "region_count"), "is not empty"),
        (Writer().quote("the slide is malignant", "E1.1"), "quote not found"),
        (
            Writer().text("There are ").num(2, "E1.1", "no_such_field").text(" regions."),
            "holds no number",
        ),
        (
            Writer()
            .text("Area ")
            .num(0.59, "E1.1", "regions.0.area_mm2", unit="furlongs", decimals=2),
            "cannot convert",
        ),
    ],
)
def test_false_or_uncheckable_claims_fail_their_step(writer: Writer, reason: str) -> None:
    chain, answer = _chain(writer)
    report = verify_chain(chain, [EV], set(), answer)
    assert report.status == "rejected"
    assert report.step_status == {"S1": False, "S2": False}
    assert any(reason in r for r in report.reasons), report.reasons


def test_missing_citation_is_reported() -> None:
    w = Writer().text("Fine.")
    step = ChainStep(id="S1", kind="observe", text="Fine.", evidence=["E9.9"])
    concl = ChainStep(id="S2", kind="conclude", text=w.render(), evidence=["E1.1"])
    report = verify_chain(ReasoningChain(steps=[step, concl]), [EV], set(), "Fine.")
    assert report.status == "partial"
    assert report.citation_precision == 0.5
    assert any("missing ['E9.9']" in r for r in report.reasons)


def test_answer_must_equal_the_conclusion() -> None:
    chain, answer = _chain(Writer().text("No numbers here."), answer_too=False)
    report = verify_chain(chain, [EV], set(), answer)
    assert report.status == "rejected"
    assert any(c.name == "answer" and not c.ok for c in report.checks)


def test_step_without_evidence_is_unverified() -> None:
    step = ChainStep(id="S1", kind="conclude", text="I can zoom and measure.")
    report = verify_chain(ReasoningChain(steps=[step]), [], set(), "I can zoom and measure.")
    assert report.status == "rejected"
    assert report.step_status == {"S1": False}


def test_number_extraction() -> None:
    text = "CMU is 2220 × 2967 px at level-0, 0.499 µm/px, 20x, region #1, [10, -5], id E1.2"
    assert extract_numbers(text) == [2220, 2967, 0.499, 20, 1, 10, -5]


def test_stroma_is_a_tissue_not_a_tumour_name() -> None:
    from memory.kg.linker import medical_terms

    assert medical_terms("7 stroma region(s) cover 67.4% of it; stromal tissue") == []
    assert medical_terms("a leiomyoma beside the stroma") == ["leiomyoma"]
