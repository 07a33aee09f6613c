"""A model's chain is bound to the cited outputs from its text alone; changed statements fail.

Each test writes a true step and one changed the way a model gets it wrong (found by
``benchmarks/verifier_mutations.py``), parses both with the LLM reasoner's parser and checks
that the verifier passes the first and flags the second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.chain_parser import parse_steps, to_chain
from agent.knowledge import Knowledge
from agent.state import Evidence, RecalledFact
from agent.verifier import verify_chain
from core.settings import Settings
from memory.kg.store import KGStore


def _verified(
    line: str,
    evidence: list[Evidence],
    facts: list[RecalledFact] | None = None,
    knowledge: Knowledge | None = None,
) -> bool:
    chain = to_chain(parse_steps(line + "\nconclude: done."), evidence, facts or [])
    return bool(verify_chain(chain, evidence, facts or [], "done.", knowledge).step_status["S1"])


def _slide(levels: list[tuple[int, int, float]]) -> Evidence:
    output: dict[str, Any] = {
        "name": "s.svs",
        "width_px": levels[0][0],
        "height_px": levels[0][1],
        "level_count": len(levels),
        "levels": [
            {"level": i, "width": w, "height": h, "downsample": d}
            for i, (w, h, d) in enumerate(levels)
        ],
        "mpp_x": 0.499,
        "mpp_y": 0.499,
        "objective_power": 20.0,
    }
    return Evidence(id="E1.1", tool="slide_info", ok=True, summary="a slide", output=output)


CMU = _slide([(2220, 2967, 1.0)])
TCGA = _slide([(4443, 3567, 1.0), (2221, 1783, 2.0)])


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("The slide is 2220 × 2967 pixels and has 1 pyramid level(s).", True),
        ("The slide is 2967 × 2967 pixels.", False),  # the height written as the width
        ("The slide is 2967 × 2220 pixels.", False),  # width and height swapped
        ("The slide is 2220 × 2967 µm.", False),  # pixels are not micrometres
        ("The slide has 2967 pyramid level(s).", False),  # a size is not a count of levels
        ("Its resolution is 0.499 µm at full resolution.", False),  # µm/px is not a length
    ],
)
def test_a_width_and_height_bind_together_in_pixels(text: str, ok: bool) -> None:
    assert _verified(f"observe: {text} [E1.1]", [CMU]) is ok


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("The slide is 4443 × 3567 pixels at level 0.", True),
        ("Level 1 is 2221 × 1783 pixels (downsample 2.00).", True),
        ("The slide is 4443 × 3567 pixels at level 1.", False),  # level 0's size
        ("Level 0 is 2221 × 1783 pixels.", False),  # level 1's size
        ("Level 1 is 2221 × 1783 pixels (downsample 1.00).", False),  # level 0's downsample
    ],
)
def test_sizes_in_a_sentence_naming_a_level_are_that_levels(text: str, ok: bool) -> None:
    assert _verified(f"observe: {text} [E1.1]", [TCGA]) is ok


DETECT = Evidence(
    id="E4.1",
    tool="detect",
    ok=True,
    summary="77 nuclei",
    output={
        "object": "nuclei",
        "count": 77,
        "objects": [],
        "region_box": [600, 1000, 1112, 1512],
        "roi_number": 2,
        "region_index": None,
        "downsample": 1.0,
        "mpp": 0.499,
        "mean_area_um2": 21.9,
        "median_area_um2": 20.4,
        "mean_area_px": 88.0,
        "median_area_px": 82.0,
        "density_per_mm2": 1180.0,
        "mean_eccentricity": 0.6,
    },
)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("The mean nuclear area is 21.9 µm² (median 20.4 µm²), 1180 nuclei per mm².", True),
        ("The mean nuclear area is 20.4 µm² (median 21.9 µm²).", False),  # mean and median swapped
        ("1180 nuclei were detected.", False),  # the density is not a count
        ("77 nuclei in region #2 (box [600, 1000, 1112, 1512]).", True),
        ("1112 nuclei in region #2.", False),  # a coordinate of the box is not a count
    ],
)
def test_the_words_before_a_number_name_its_field(text: str, ok: bool) -> None:
    assert _verified(f"measure: {text} [E4.1]", [DETECT]) is ok


CLASSIFY = Evidence(
    id="E6.1",
    tool="classify",
    ok=True,
    summary="smooth muscle",
    output={
        "label": "smooth muscle",
        "probabilities": {"smooth muscle": 0.62, "adipose": 0.06, "debris": 0.32},
        "contributions": [{"expert": "capricorn-tissue", "weight": 1.0}],
        "region_box": [72, 75, 1968, 2967],
        "roi_number": 1,
        "region_index": 1,
        "mpp": 0.499,
    },
)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("The expert classified region #1 as smooth muscle (probability 0.62).", True),
        ("The expert classified region #1 as smooth muscle (probability 0.06).", False),
        ("The expert classified region #1 as smooth muscle (probability 1.00).", False),
        ('The expert classified region #1 as "smooth muscle" (probability 0.32).', False),
    ],
)
def test_a_probability_is_the_one_of_the_class_the_sentence_names(text: str, ok: bool) -> None:
    assert _verified(f"infer: {text} [E6.1]", [CLASSIFY]) is ok


def _segment(ref: str, roi: int, count: int, fraction: float, area: float) -> Evidence:
    output = {
        "object": "nuclei",
        "count": count,
        "total_area_um2": area,
        "area_fraction": fraction,
        "region_box": [600 * roi, 1000, 600 * roi + 512, 1512],
        "roi_number": roi,
        "region_index": None,
        "mpp": 0.499,
    }
    return Evidence(id=ref, tool="segment", ok=True, summary=f"{count} nuclei", output=output)


REGIONS = [_segment("E4.1", 2, 157, 0.1132, 7396.0), _segment("E5.1", 1, 77, 0.0262, 1683.0)]


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("Region #2 has 80 more nuclei than region #1 (157 vs 77).", True),
        ("Region #1 has 80 fewer nuclei than region #2 (77 vs 157).", True),
        ("Region #1 has 80 more nuclei than region #2 (157 vs 77).", False),  # regions swapped
        ("Region #2 has 81 more nuclei than region #1 (157 vs 77).", False),
        ("Region #2 has 80 more nuclei than region #1 (157 vs 1512).", False),  # not a count
        ("Region #2 has 80 more nuclei than region #1 (77 vs 157).", False),  # order of regions
        (
            "The covered area is 8.7 percentage points higher in region #2 than in region #1 "
            "(11.3% vs 2.6%).",
            True,
        ),
        (
            "The covered area is 8.7 percentage points lower in region #2 than in region #1.",
            False,
        ),
    ],
)
def test_a_difference_between_two_regions_binds_to_both_outputs(text: str, ok: bool) -> None:
    assert _verified(f"measure: {text} [E4.1, E5.1]", REGIONS) is ok


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("The expert outlined 157 nuclei in region #2; they cover 11.3% of it.", True),
        ("The expert outlined 157 nuclei in region #1; they cover 11.3% of it.", False),
        ("The expert outlined 77 nuclei in region #2; they cover 2.6% of it.", False),
    ],
)
def test_numbers_of_one_sentence_are_of_one_region(text: str, ok: bool) -> None:
    assert _verified(f"measure: {text} [E4.1, E5.1]", REGIONS) is ok


def _fact(fid: str, subject: str, predicate: str, obj: str | None, text: str) -> RecalledFact:
    return RecalledFact(
        id=fid,
        subject=subject,
        predicate=predicate,
        object=obj,
        text=text,
        source="doid_2024-01-31.obo.gz",
        score=1.0,
        via="lung adenocarcinoma",
        entity=subject,
        link_score=1.0,
        link_method="exact",
    )


GRADE = _fact(
    "HIST:luad-grade",
    "DOID:3910",
    "grading",
    None,
    "Lung adenocarcinoma with 20% or more high-grade pattern is grade 3.",
)
SITE = _fact(
    "DOID:3910#located_in#UBERON:0002048",
    "DOID:3910",
    "located_in",
    "UBERON:0002048",
    "lung adenocarcinoma is located in the lung.",
)


def test_a_facts_sentence_copied_verbatim_is_a_quote_of_that_fact() -> None:
    line = f"recall: Grading: {GRADE.text} [source: {GRADE.source}]"
    assert _verified(f"{line} [{GRADE.id}]", [], [GRADE, SITE]) is True
    assert _verified(f"{line} [{SITE.id}]", [], [GRADE, SITE]) is False  # another fact cited
    changed = line.replace("20%", "30%")
    assert _verified(f"{changed} [{GRADE.id}]", [], [GRADE, SITE]) is False


def test_a_long_list_of_cited_ids_is_read_as_citations() -> None:
    ids = [f"HIST:crc-pattern-number-{k}" for k in range(12)]
    parsed = parse_steps(f"conclude: The answer. [{', '.join(ids)}]")
    assert parsed.steps[0].cites == ids
    assert parsed.steps[0].text == "The answer."


@pytest.fixture(scope="module")
def knowledge(kg_store_dir: Path) -> Knowledge:
    settings = Settings(kg_path=kg_store_dir)
    return Knowledge(KGStore(settings), settings.link_threshold)


def test_a_site_a_recall_step_names_is_the_cited_facts(knowledge: Knowledge) -> None:
    true = f"recall: Lung adenocarcinoma arises in the lung. [{SITE.id}]"
    assert _verified(true, [], [SITE], knowledge) is True
    changed = f"recall: Lung adenocarcinoma arises in the breast. [{SITE.id}]"
    assert _verified(changed, [], [SITE], knowledge) is False
    definition = _fact(
        "DOID:3910#definition",
        "DOID:3910",
        "definition",
        None,
        "lung adenocarcinoma: A lung non-small cell carcinoma.",
    )
    misattributed = f"recall: Lung adenocarcinoma arises in the lung. [{definition.id}]"
    assert _verified(misattributed, [], [SITE, definition], knowledge) is False
