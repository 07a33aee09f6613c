"""Results no H&E image gives (a stain's index, a molecular status, a prognosis) are declined
in one line that names what they need; textbook questions about the same markers are not."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.beyond_he import beyond_he
from agent.request_text import normalise
from app.runner import Copilot


@pytest.mark.parametrize(
    ("request_text", "lead"),
    [
        ("what's the Ki-67 index here?", "Ki-67 results cannot be read from an H&E image"),
        ("is this tumour MSI-high?", "Mismatch-repair / MSI results cannot be read"),
        ("what is the BRCA1 status of this tumour?", "Molecular results cannot be read"),
        ("is it HER2 positive?", "HER2 results cannot be read"),
        ("PD-L1 TPS for this one?", "PD-L1 results cannot be read"),
        ("5-year survival for this patient and which chemo?", "Survival, prognosis and the"),
        ("IF on this? c3 / iga deposits", "Immune-deposit results cannot be read"),
        ("any IgA deposits here?", "Immune-deposit results cannot be read"),
    ],
)
def test_a_result_no_he_image_gives_is_named(request_text: str, lead: str) -> None:
    line = beyond_he(normalise(request_text).lower())
    assert line is not None
    assert line.startswith(lead)


@pytest.mark.parametrize(
    "request_text",
    [
        "what is MSI?",
        "what is the immunofluorescence pattern in IgA nephropathy?",
        "what's MSI, and what does it look like under the microscope?",
        "how is HER2 tested in stomach cancer",
        "which antibodies go in an MMR panel?",
        "can you order a Ki-67 stain on this block",
        "which histologic features are associated with MSI-high colorectal cancer?",
        "count the nuclei here",
    ],
)
def test_textbook_questions_and_orders_are_not_declined(request_text: str) -> None:
    assert beyond_he(normalise(request_text).lower()) is None


def test_the_turn_declines_without_a_tool_or_a_fact(copilot: Copilot, cmu_slide: Path) -> None:
    r = copilot.ask(cmu_slide, "what's the Ki-67 index here?", "bhe1")
    assert r.exit_code == 0
    assert r.evidence == []
    assert r.facts == []
    assert r.answer.startswith("Ki-67 results cannot be read from an H&E image")
    both = copilot.ask(cmu_slide, "count the nuclei here and is it HER2 positive?", "bhe2")
    assert [e["tool"] for e in both.evidence if e["tool"] != "zoom"] == ["detect"]
    assert "HER2 results cannot be read from an H&E image" in both.answer
