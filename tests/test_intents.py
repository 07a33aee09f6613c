"""Free-text requests are routed to the right intents and zoom arguments."""

from __future__ import annotations

import pytest

from agent.intents import parse_request


@pytest.mark.parametrize(
    ("text", "info", "tissue", "zoom"),
    [
        ("What is the size of this slide?", True, False, False),
        ("At what magnification was it scanned, and what is the resolution?", True, False, False),
        ("How many microns per pixel?", True, False, False),
        ("What is the tissue fraction?", False, True, False),
        ("How much of the slide is tissue?", False, True, False),
        ("show me the tissue fraction", False, True, False),
        ("Zoom to the largest tissue region at 20x", False, False, True),
        ("zoom out to 5x around the same region", False, False, True),
        ("go back to the first region", False, False, True),
        ("zoom to the largest tissue region at 20x magnification", False, False, True),
        ("Size and tissue fraction, then zoom to the largest tissue region", True, True, True),
        ("tell me a joke", False, False, False),
    ],
)
def test_intents(text: str, info: bool, tissue: bool, zoom: bool) -> None:
    parsed = parse_request(text)
    assert (parsed.info, parsed.tissue, parsed.zoom is not None) == (info, tissue, zoom)


def test_zoom_arguments() -> None:
    z = parse_request("Zoom to the largest tissue region at 20x").zoom
    assert z is not None
    assert (z.target, z.region_index, z.magnification) == ("tissue_region", 1, 20.0)
    z = parse_request("zoom out to 5x around the same region").zoom
    assert z is not None
    assert (z.direction, z.target, z.roi_ref, z.magnification) == ("out", "roi", "current", 5.0)
    z = parse_request("go back to the first region").zoom
    assert z is not None
    assert (z.target, z.roi_ref, z.roi_number) == ("roi", "number", 1)
    z = parse_request("zoom to x=100, y=200 at 10x, 512x512 px").zoom
    assert z is not None
    assert (z.target, z.center, z.size_px, z.magnification) == ("point", (100, 200), (512, 512), 10)
    z = parse_request("show the region from (0, 0) to (3000, 2000) at 0.5 µm/px").zoom
    assert z is not None
    assert (z.target, z.box, z.mpp) == ("box", (0, 0, 3000, 2000), 0.5)
    z = parse_request("show the second tissue region at level 1").zoom
    assert z is not None
    assert (z.target, z.region_index, z.level) == ("tissue_region", 2, 1)
    z = parse_request("zoom to (-50, 20)").zoom
    assert z is not None
    assert z.center == (-50, 20)


@pytest.mark.parametrize(
    ("text", "knowledge"),
    [
        ("What cell does lung adenocarcinoma derive from?", True),
        ("In which organ does hepatocellular carcinoma arise?", True),
        ("What cell type does squamous cell carcinoma come from?", True),
        ("Which organ is this from?", True),
        ("What is the cell of origin of a schwannoma?", True),
        ("Classify this region; which organ is it from?", False),
        ("Zoom to the largest tissue region at 20x", False),
        ("How much of the slide is tissue?", False),
    ],
)
def test_knowledge_question_forms(text: str, knowledge: bool) -> None:
    """Questions about origin, site and organ go to the knowledge graph when no tool is asked."""
    parsed = parse_request(text)
    assert parsed.knowledge is knowledge, parsed
