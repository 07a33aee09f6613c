"""Free-text requests are routed to the right intents and zoom arguments."""

from __future__ import annotations

import pytest

from agent.intents import (
    boxes_compared,
    parse_relative,
    parse_request,
    parts_compared,
    region_request,
    segment_target,
    zoom_request,
)
from agent.request_text import normalise


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


def test_zoom_arguments_as_users_write_them() -> None:
    z = zoom_request(normalise("centre on 41,200, 30,500 at 20x please"))
    assert (z.target, z.center, z.magnification) == ("point", (41200, 30500), 20.0)
    z = zoom_request(normalise("zoom out, please, two times"))
    assert z.relative is not None
    assert (z.magnification, z.relative.factor) == (None, 0.5)
    z = zoom_request(normalise("zoom out a little - by half is enough"))
    assert z.relative is not None
    assert z.relative.factor == 0.5
    assert zoom_request(normalise("show it at 2 micrometres per pixel")).mpp == 2.0
    # the unit before the number
    assert zoom_request(normalise("go to mpp 0.25")).mpp == 0.25
    assert zoom_request(normalise("set the mpp to 0.5, left half")).mpp == 0.5
    assert zoom_request(normalise("mpp=1.0 please")).mpp == 1.0
    z = zoom_request(normalise("biggest bit at 10x"))
    assert (z.target, z.region_index, z.magnification) == ("tissue_region", 1, 10.0)
    assert zoom_request(normalise("then the thumbnail please")).target == "slide"
    z = zoom_request(normalise("bring up the box x 60000 to 68000, y 20000 to 26000"))
    assert (z.target, z.box) == ("box", (60000, 20000, 68000, 26000))
    z = zoom_request(
        normalise("over to the box from 70,000 to 76,000 across and 30,000 to 35,000 down")
    )
    assert (z.target, z.box) == ("box", (70000, 30000, 76000, 35000))
    assert normalise("box [0,512,0,512] and 1,234 cells") == "box [0,512,0,512] and 1,234 cells"
    z = zoom_request(normalise("show the region from (0, 0) to (448, 224)"))
    assert (z.target, z.box) == ("box", (0, 0, 448, 224))


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


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("zoom to (1000, 1000) at level 99999999999999999999", "level 99999999999999999999 is"),
        (f"zoom to ({'9' * 400}, 100) at 20x", "coordinate 999999999999…(400 characters)"),
        ("zoom to (NaN, NaN)", "coordinate nan is not a number"),
        ("zoom to (inf, 5)", "coordinate inf is outside the range -1e+07 to 1e+07 level-0 px"),
        ("zoom to (1e308, 1e308) at 20x", "coordinate 1e308 is outside"),
        ("show 0x0 px around (1000, 1000)", "size 0 is outside the range 1 to 1e+06"),
        ("go to region 1000000000000000000000", "region number 1000000000000000000000 is"),
        ("zoom to the tissue at 99999999999999999999999x", "magnification"),
    ],
)
def test_numbers_out_of_range_give_a_zoom_that_is_refused(text: str, error: str) -> None:
    zoom = parse_request(text).zoom
    assert zoom is not None
    assert zoom.error is not None
    assert error in zoom.error


def test_numbers_out_of_range_in_an_analysis_region_are_refused() -> None:
    parsed = parse_request("detect nuclei in [0, 0, 1e400, 100]")
    assert parsed.detect is not None
    assert parsed.detect.error == "coordinate 1e400 is outside the range -1e+07 to 1e+07 level-0 px"


@pytest.mark.parametrize(
    ("text", "center", "box", "level", "size"),
    [
        ("zoom to (1200, 800) at 20x", (1200.0, 800.0), None, None, None),
        ("show 512x512 px around (1000, 1000)", (1000.0, 1000.0), None, None, (512, 512)),
        ("show the box [100, 200, 1100, 1200]", None, (100, 200, 1100, 1200), None, None),
        ("navigate to x=500 y=900 at level 2", (500.0, 900.0), None, 2, None),
        ("zoom to (1e3, 2.5e3)", (1000.0, 2500.0), None, None, None),
    ],
)
def test_sane_numbers_parse_as_before(
    text: str,
    center: tuple[float, float] | None,
    box: tuple[int, int, int, int] | None,
    level: int | None,
    size: tuple[int, int] | None,
) -> None:
    zoom = parse_request(text).zoom
    assert zoom is not None
    assert zoom.error is None
    assert (zoom.center, zoom.box, zoom.level, zoom.size_px) == (center, box, level, size)


def test_sizes_relative_factors_and_ordinal_pieces() -> None:
    z = zoom_request("show me a 1024 x 1024 field centred at 9000, 7000")
    assert (z.target, z.center, z.size_px, z.magnification) == (
        "point",
        (9000.0, 7000.0),
        (1024, 1024),
        None,
    )
    assert parse_relative("closer. 3x").factor == 3.0
    assert parse_relative("further, 2x").factor == 0.5
    assert region_request("count nuclei in the third biggest").region_index == 3
    assert region_request("classify the biggest one").target == "tissue_region"
    assert region_request("go to the second lymph node section").region_index == 2


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("outline the epidermis", "epithelium"),
        ("segment the glands here", "epithelium"),
        ("outline the stroma around the glands", "stroma"),
        ("segment the nuclei", "nuclei"),
        ("segment the lamina propria", "stroma"),
        ("outline the dermis", "stroma"),
    ],
)
def test_epidermis_and_glands_are_epithelium(text: str, what: str) -> None:
    assert segment_target(text) == what


def test_the_rules_planner_outlines_glands_as_epithelium() -> None:
    parsed = parse_request("outline the glands")
    assert parsed.segment is not None
    assert parsed.segment.what == "epithelium"
    parsed = parse_request("outline the lamina propria")
    assert parsed.segment is not None
    assert parsed.segment.what == "stroma"


@pytest.mark.parametrize(
    ("request_text", "box"),
    [
        ("nuclei in box top-left (1600,700) bottom-right (2400,1200)", (1600, 700, 2400, 1200)),
        ("upper left corner at 10,20 and lower right corner at 30,40", (10, 20, 30, 40)),
        ("I meant x=1600..2400, y=700..1200", (1600, 700, 2400, 1200)),
        ("region A: x=100, y=600, width=300, height=300", (100, 600, 400, 900)),
        ("A = x,y,w,h (0,0,750,1500)", (0, 0, 750, 1500)),
        ("count 1150,900 to 1400,1400 please", (1150, 900, 1400, 1400)),
        ("box [2400,1200,1600,700]", (1600, 700, 2400, 1200)),  # corners in either order
        ("show the box from x=1000, y=2000 to x=3000, y=4000", (1000, 2000, 3000, 4000)),
        ("go from x 500, y 600 until x 900, y 1000", (500, 600, 900, 1000)),
        ("box 12000,8000 -> 14048,10048", (12000, 8000, 14048, 10048)),
        ("the box from 12,000/8,000 to 16,000/12,000", (12000, 8000, 16000, 12000)),
    ],
)
def test_a_box_in_everyday_notation_is_that_box(request_text: str, box: tuple[int, ...]) -> None:
    """Every way users wrote a box reads as that box, never as parts of the view or a point."""
    z = zoom_request(normalise(request_text))
    assert z is not None
    assert (z.target, z.box) == ("box", box)
    assert z.relative is None  # "top-left … bottom-right" names corners, not quadrants
    assert parts_compared(normalise(request_text)) is None


def test_two_boxes_in_two_notations_are_compared() -> None:
    low = normalise("compare A (x=100,y=600,w=300,h=300) with box [600,100,900,400]")
    assert boxes_compared(low) == ((100, 600, 400, 900), (600, 100, 900, 400))
    assert boxes_compared(normalise("between 1,000 and 2,000 nuclei")) is None
    # a box by its size and centre beside another box (a field alone at a point is a view)
    low = normalise("compare the box [100,100,400,400] with a 300x300 px box centred on 800,800")
    assert boxes_compared(low) == ((100, 100, 400, 400), (650, 650, 950, 950))
    # "go to 800,800" is a point; "from 70,000 to 76,000" a range with thousands separators
    assert zoom_request(normalise("go to 800,800")).center == (800.0, 800.0)
    assert normalise("from 70,000 to 76,000 across") == "from 70000 to 76000 across"
    z = zoom_request(normalise("show a 2000 x 2000 px field centred at (30000, 15000)"))
    assert (z.target, z.center, z.size_px) == ("point", (30000.0, 15000.0), (2000, 2000))


@pytest.mark.parametrize(
    "request_text",
    [
        "epithelium and stroma shares over the whole tissue",
        "how much necrosis in all of the tissue?",
        "count nuclei across the entire tissue",
    ],
)
def test_the_whole_tissue_is_the_slide_not_the_current_view(request_text: str) -> None:
    assert region_request(normalise(request_text)).target == "slide"


@pytest.mark.parametrize(
    ("text", "factor"),
    [
        ("magnify three times", 3.0),
        ("zoom in twofold", 2.0),
        ("enlarge it 2 times", 2.0),
        ("zoom in like 2x", 2.0),
        ("zoom 4x into this field", 4.0),
        ("in x2", 2.0),
        ("zoom out four-fold", 0.25),
        ("closer. twice", 2.0),
        ("Magnify two times, please.", 2.0),
    ],
)
def test_a_relative_zoom_in_other_words_is_that_factor(text: str, factor: float) -> None:
    z = zoom_request(normalise(text))
    assert z.relative is not None
    assert (z.relative.factor, z.magnification) == (factor, None)


@pytest.mark.parametrize(
    ("text", "magnification"), [("magnify 40x", 40.0), ("zoom in to 20x", 20.0)]
)
def test_an_objective_power_stays_a_magnification(text: str, magnification: float) -> None:
    z = zoom_request(normalise(text))
    assert (z.magnification, z.relative) == (magnification, None)


def test_shorthand_moves_points_sizes_and_levels() -> None:
    assert parse_relative(normalise("shift R a bit")).pan == "right"
    left = parse_relative(normalise("a little bit to the left please"))
    assert (left.pan, left.pan_fraction) == ("left", 0.25)
    assert parse_relative(normalise("l half of view")).part == "left_half"
    z = zoom_request(normalise("pt 30000,20000 @ 10x"))
    assert (z.target, z.center, z.magnification) == ("point", (30000.0, 20000.0), 10.0)
    z = zoom_request(normalise("bottom left of this view, field size 2048 by 2048 px"))
    assert z.size_px == (2048, 2048)
    assert zoom_request(normalise("set the level to 2")).level == 2
    # an arrow between two steps is still the next step, not a box
    assert normalise("step out 2x -> recount nuc").startswith("zoom out 2x; then")


def test_a_field_size_around_the_current_view_and_sizes_without_a_unit() -> None:
    assert zoom_request("2048 x 2048 at view 2").size_px == (2048, 2048)
    assert zoom_request("2048 x 2048 at view 2").magnification is None
    assert zoom_request("set the field to 2048 by 2048 pixels at 0.5 mpp").size_px == (2048, 2048)
    assert zoom_request("zoom to 40x").magnification == 40
