"""The meaning-based planner: capabilities by similarity to the tools' own examples, arguments
from the shared grammar, a clarifying question instead of a guess; and how a planner is chosen.

The requests here are not in the paraphrase suite (eval/routing/paraphrases.yaml); they are the
phrasings that the regular-expression rules could not serve.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.capabilities import capabilities_of
from agent.planner import FOR_ANALYSIS, choose_planner, make_planner, semantic_plan
from agent.request_cues import grammar_cue
from agent.request_text import normalise, split_clauses
from agent.semantic_planner import SemanticRouter
from agent.state import Plan, Roi
from core.errors import ConfigError
from core.settings import Settings
from memory.kg.embed import shared_embedder
from tools.registry import build_tools

SLIDE = {"slide_id": "s1", "name": "a.svs", "width": 40_000, "height": 30_000}


@pytest.fixture(scope="module")
def router(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SemanticRouter]:
    settings = Settings(home=tmp_path_factory.mktemp("home"))
    registry = build_tools(settings)
    yield SemanticRouter(capabilities_of(registry), shared_embedder(None))
    registry.close()


def _view(n: int = 1) -> Roi:
    return Roi(
        number=n,
        slide_id="s1",
        box=[10_000, 8_000, 12_048, 10_048],
        downsample=2.0,
        magnification=20.0,
        mpp=0.5,
        level=1,
        output_size=[1024, 1024],
        artifact=None,
        evidence=f"E{n}.1",
        turn=n,
    )


def _plan(router: SemanticRouter, request: str, views: int = 0) -> Plan:
    rois = [_view(n) for n in range(1, views + 1)]
    return semantic_plan(request, router, rois, views or None, "s1", slide=SLIDE)


def _tools(plan: Plan) -> list[str]:
    return [s.tool for s in plan.steps]


def _lookup_kind(plan: Plan) -> str | None:
    """What the plan answers from the case's memory (``recall``/``compare``), or None."""
    return None if plan.lookup is None else plan.lookup.kind


def _plans_tools_and_knowledge(
    router: SemanticRouter, text: str, views: int, tools: list[str], knowledge: bool
) -> None:
    """``text`` plans exactly ``tools``, asks the textbook or not, and recalls nothing."""
    plan = _plan(router, text, views=views)
    assert _tools(plan) == tools, text
    assert bool(plan.knowledge) is knowledge, text
    assert (plan.lookup, plan.clarify) == (None, None), text


def _answered_by_line(router: SemanticRouter, text: str, line: str, views: int = 3) -> None:
    """``text`` runs no tool and gets the line that holds ``line``."""
    plan = _plan(router, text, views=views)
    assert plan.steps == [], text
    assert plan.clarify is not None, text
    assert line in plan.clarify, text


def test_enumerate_the_nuclei_is_a_detection(router: SemanticRouter) -> None:
    plan = _plan(router, "enumerate the nuclei", views=1)
    assert _tools(plan) == ["detect"]
    assert plan.steps[0].args["roi_number"] == 1
    assert plan.routing[0]["capability"] == "detect"
    assert plan.clarify is None


def test_a_corner_of_the_slide_is_a_view_of_that_quadrant(router: SemanticRouter) -> None:
    (step,) = _plan(router, "show me the top left corner").steps
    assert step.tool == "zoom"
    assert step.args == {"target": "slide", "part": "top_left"}


def test_pan_moves_the_current_view_a_little(router: SemanticRouter) -> None:
    (step,) = _plan(router, "pan right a bit", views=1).steps
    assert step.tool == "zoom"
    assert step.args["target"] == "roi"
    assert step.args["pan"] == "right"
    assert step.args["pan_fraction"] == 0.25
    assert step.args["box"] == _view().box
    assert step.args["downsample"] == 2.0


def test_zoom_in_2x_there_is_relative_not_2x_magnification(router: SemanticRouter) -> None:
    (step,) = _plan(router, "zoom in 2x there", views=1).steps
    assert step.args["factor"] == 2.0
    assert "magnification" not in step.args
    assert step.args["roi_number"] == 1


def test_the_central_area_of_a_size_is_a_point_view_at_the_slide_centre(
    router: SemanticRouter,
) -> None:
    (step,) = _plan(router, "the central 1000 x 1000 pixel area").steps
    assert step.args == {"target": "point", "center": [20_000, 15_000], "size_px": [1000, 1000]}
    assert not _plan(router, "the central 1000 x 1000 pixel area").notes


def test_classifying_the_centre_of_the_slide_is_a_region_not_the_whole_slide(
    router: SemanticRouter,
) -> None:
    (step,) = _plan(router, "classify the tissue at the center of the slide").steps
    assert step.tool == "classify"
    assert step.args == {"target": "box", "box": [19_488, 14_488, 20_512, 15_512]}


def test_an_analysis_of_a_sized_box_at_the_centre_analyses_that_box(
    router: SemanticRouter,
) -> None:
    for asked, side in (
        ("segment the glands in a 1000 x 1000 px box at the centre", 1000),
        ("count nuclei in a 500 px square at the centre", 500),
    ):
        (step,) = _plan(router, asked, views=2).steps  # a view is open: still the slide's centre
        half = side // 2
        assert step.args["box"] == [20_000 - half, 15_000 - half, 20_000 + half, 15_000 + half]
    (step,) = _plan(router, "show me a 512-pixel square around (900, 1300)").steps
    assert step.args == {"target": "point", "center": [900, 1300], "size_px": [512, 512]}


def test_a_diagnosis_beyond_the_tile_classes_is_put_to_the_vqa_expert(
    router: SemanticRouter,
) -> None:
    asked = "is this consistent with high grade serous carcinoma? what IHC would you order?"
    plan = _plan(router, asked, views=1)
    assert _tools(plan) == ["vqa"]
    assert plan.knowledge
    assert _tools(_plan(router, "is this compatible with a serous carcinoma", 1)) == ["vqa"]
    # a tile class the classifier holds is still the classifier's to answer
    assert _tools(_plan(router, "does this look like carcinoma?", 1)) == ["classify"]
    assert _tools(_plan(router, "does this look like tumour or stroma?", 1)) == ["classify"]


def test_the_most_cellular_area_is_a_place_to_go(router: SemanticRouter) -> None:
    plan = _plan(router, "Take me to the most cellular-looking area and count the nuclei", 2)
    assert [(s.tool, s.args.get("target")) for s in plan.steps] == [
        ("zoom", "cellular"),
        ("detect", "box"),
    ]
    assert plan.steps[1].args["roi_number"] == 3  # the field the zoom shows
    (step,) = _plan(router, "find the hotspot at 20x").steps
    assert step.args == {"target": "cellular", "magnification": 20.0}
    # which of the case's views is the most cellular is a comparison, not a place
    assert "cellular" not in [
        s.args.get("target")
        for s in _plan(router, "which of views 1 to 2 is the most cellular?", 2).steps
    ]


def test_two_clauses_are_two_steps_in_order(router: SemanticRouter) -> None:
    plan = _plan(router, "how much tissue is on the glass, and count the nuclei there", views=1)
    assert _tools(plan) == ["tissue", "detect"]


def test_an_analysis_of_a_named_box_shows_it_first(router: SemanticRouter) -> None:
    plan = _plan(router, "segment the epithelium in [1000, 2000, 3000, 4000]")
    assert _tools(plan) == ["zoom", "segment"]
    assert plan.steps[0].why == FOR_ANALYSIS
    assert plan.steps[1].args["what"] == "epithelium"


def test_a_request_no_tool_serves_gets_one_clarifying_question(router: SemanticRouter) -> None:
    plan = _plan(router, "do the usual thing with it", views=1)  # names nothing a tool does
    assert plan.steps == []
    assert plan.clarify is not None
    assert "nearest things I can do" in plan.clarify
    assert plan.clarify.count("(") >= 3  # three numbered options


def test_a_presence_question_about_a_tissue_class_measures_the_composition(
    router: SemanticRouter,
) -> None:
    plan = _plan(router, "is there necrosis?", views=1)
    assert _tools(plan) == ["composition"]
    assert plan.steps[0].args["roi_number"] == 1
    assert _tools(_plan(router, "is this mucus or debris?", views=1)) == ["classify"]
    # a request that names no tissue class is never a composition
    assert "composition" not in _tools(_plan(router, "is there anything here?", views=1))


def test_a_free_visual_question_is_put_to_the_vqa_experts_as_asked(
    router: SemanticRouter,
) -> None:
    for request in (
        "are there any mitoses?",
        "keratin pearls?",
        "describe this",
        "is there perineural invasion?",
        "Are there any signet ring cells in this field?",
        "what stands out here",
    ):
        plan = _plan(router, request, views=1)
        assert _tools(plan) == ["vqa"], request
        assert plan.steps[0].args["question"] == request
        assert plan.steps[0].args["roi_number"] == 1
    # requests other tools serve, or that name nothing to look for, are not taken
    assert _tools(_plan(router, "is there necrosis?", views=1)) == ["composition"]
    assert _tools(_plan(router, "what tissue type is this", views=1)) == ["classify"]
    assert _tools(_plan(router, "count the nuclei", views=1)) == ["detect"]
    assert _plan(router, "thoughts?", views=1).clarify is not None


def test_typos_and_shorthand_are_read(router: SemanticRouter) -> None:
    assert _tools(_plan(router, "segmnet the stroma", views=1)) == ["segment"]
    assert _plan(router, "segmnet the stroma", views=1).steps[0].args["what"] == "stroma"
    assert _tools(_plan(router, "nuc count pls", views=1)) == ["detect"]


def test_a_knowledge_question_runs_no_tool(router: SemanticRouter) -> None:
    plan = _plan(router, "what are the microscopic features of a seminoma?")
    assert plan.steps == []
    assert plan.knowledge


def test_clauses_split_on_then_and_commas() -> None:
    low = normalise("Zoom to 20x, then segment the nuclei and count them")
    assert split_clauses(low)[:2] == ["zoom to 20x", "segment the nuclei"]


def test_default_is_semantic_without_a_planner_endpoint(home: Path) -> None:
    choice = choose_planner(Settings(home=home))
    assert (choice.name, choice.reason) == ("semantic", "no planner endpoint is configured")


def test_an_endpoint_makes_the_llm_planner_the_default(home: Path) -> None:
    settings = Settings(home=home, planner_url="http://127.0.0.1:9/v1", planner_model="m")
    choice = choose_planner(settings)
    assert choice.name == "llm"
    assert "a planner endpoint is configured" in choice.reason


def test_the_llm_planner_without_an_endpoint_is_one_config_error(home: Path) -> None:
    with pytest.raises(ConfigError, match="SMARTPATH_PLANNER_URL"):
        choose_planner(Settings(home=home, planner="llm"))


def test_the_plan_records_which_planner_ran_and_why(home: Path) -> None:
    settings = Settings(home=home, planner="rules")
    registry = build_tools(settings)
    node = make_planner(registry, settings)
    plan = Plan.model_validate(node({"request": "count the nuclei", "slide": SLIDE}, {})["plan"])
    assert (plan.planner, plan.planner_reason) == ("rules", "SMARTPATH_PLANNER=rules")
    registry.close()


def test_without_an_embedding_model_the_rules_plan_and_say_why(home: Path, tmp_path: Path) -> None:
    empty = tmp_path / "no-model"
    empty.mkdir()
    settings = Settings(home=home, embedding_model=empty)
    registry = build_tools(settings)
    node = make_planner(registry, settings)
    plan = Plan.model_validate(node({"request": "count the nuclei", "slide": SLIDE}, {})["plan"])
    assert plan.planner == "rules"
    assert "config.json missing" in plan.planner_reason
    registry.close()


def test_the_two_regions_are_the_last_two_the_case_looked_at(router: SemanticRouter) -> None:
    plan = _plan(router, "Compare the nuclear density between the two regions", views=2)
    assert plan.lookup is not None
    assert plan.lookup.kind == "compare"
    assert plan.lookup.tool == "detect"
    assert sorted(plan.lookup.rois) == [1, 2]


def test_contractions_places_and_where_we_were(router: SemanticRouter) -> None:
    assert _tools(_plan(router, "where's the tissue?")) == ["tissue"]
    (step,) = _plan(router, "what's at 1200, 800").steps
    assert step.args == {"target": "point", "center": [1200.0, 800.0]}
    plan = _plan(router, "compare with where we were before", views=2)
    assert plan.lookup is not None
    assert plan.lookup.kind == "compare"
    assert sorted(plan.lookup.rois) == [1, 2]


def test_a_visual_question_is_read_by_its_form_not_a_word_list(router: SemanticRouter) -> None:
    # features no example or vocabulary word names: the question's form makes it visual
    for request in (
        "any Reed-Sternberg cells in this field?",
        "does the chromatin look vesicular?",
        "are the glands back to back?",
        "characterise the growth pattern",
        "count the nuclei and tell me whether they look reactive",
    ):
        plan = _plan(router, request, views=1)
        assert "vqa" in _tools(plan), request
    assert _tools(_plan(router, "is there any fat in this view?", views=1)) == ["composition"]
    assert _tools(_plan(router, "does it look more like muscle or stroma?", views=1)) == [
        "classify"
    ]
    assert _tools(_plan(router, "any nuclei here?", views=1)) == ["detect"]


def test_visual_question_forms() -> None:
    from agent.visual_question import visual_question

    asked = visual_question("is there pagetoid spread of melanocytes?")
    assert asked is not None
    assert asked.form == "presence"
    assert asked.thing == "pagetoid spread of melanocytes"
    asked = visual_question("and if so, are the nuclei high grade?")
    assert asked is not None
    assert (asked.form, asked.thing) == ("state", "high grade")
    # measurements, slide facts and textbook questions are not visual questions
    for clause in (
        "is there a difference between view 1 and view 2",
        "how many nuclei are there",
        "is there a marker for this",
        "what is necrosis",
    ):
        assert visual_question(clause) is None, clause


def test_an_aside_after_the_request_adds_no_step(router: SemanticRouter) -> None:
    plan = _plan(router, "count the nuclei in view 1. my consultant wants a number", views=1)
    assert _tools(plan) == ["detect"]
    plan = _plan(router, "what mpp is this scan? asking because the nuclei look small")
    assert _tools(plan) == ["slide_info"]


def test_typos_are_fixed_to_the_nearest_word_by_edits(router: SemanticRouter) -> None:
    assert router.fix_typos("count the nuceli") == "count the nuclei"
    assert router.fix_typos("a slide-level prediction") == "a slide-level prediction"
    # a letter dropped inside an ending is a typo, not an inflection
    assert router.fix_typos("segment the epithelim") == "segment the epithelium"


def test_comparison_wordings_and_a_composition_breakdown(router: SemanticRouter) -> None:
    plan = _plan(router, "stack view 1 up against view 2", views=2)
    assert plan.lookup is not None
    assert plan.lookup.kind == "compare"
    assert sorted(plan.lookup.rois) == [1, 2]
    assert _tools(_plan(router, "class breakdown of view 1", views=1)) == ["composition"]


def test_dictated_requests_without_punctuation(router: SemanticRouter) -> None:
    plan = _plan(router, "count nuclei in box 4000 4000 6000 6000", views=1)
    assert _tools(plan) == ["zoom", "detect"]
    assert plan.steps[0].args["box"] == [4000, 4000, 6000, 6000]
    plan = _plan(router, "take me to 52000 31000 at 20x", views=1)
    assert plan.steps[0].args["center"] == [52000, 31000]
    plan = _plan(router, "zoom to the centre of this field count the nuclei", views=1)
    assert _tools(plan) == ["zoom", "detect"]


def test_a_bare_feature_is_a_visual_question(router: SemanticRouter) -> None:
    assert _tools(_plan(router, "asteroid bodies in these giant cells?", views=1)) == ["vqa"]
    assert _tools(_plan(router, "hyaline globules or not", views=1)) == ["vqa"]
    assert _plan(router, "do the usual", views=1).clarify is not None


def test_memory_needs_a_word_of_memory(router: SemanticRouter) -> None:
    assert _tools(_plan(router, "tissue percentage", views=1)) == ["tissue"]
    plan = _plan(router, "what tissue percentage did you give earlier?", views=1)
    assert plan.lookup is not None
    assert plan.lookup.kind == "recall"


def test_an_impression_beside_a_question_adds_no_step(router: SemanticRouter) -> None:
    plan = _plan(router, "this field looks full of fat, how many nuclei are there", views=1)
    assert _tools(plan) == ["detect"]
    plan = _plan(router, "are views 1 and 2 the same tissue type?", views=2)
    # one comparison (classifying each region it needs), not a comparison and a classification
    assert [s.why for s in plan.steps] == ["region 1, to compare", "region 2, to compare"]
    assert plan.lookup is not None
    assert plan.lookup.kind == "compare"


def test_a_requests_few_clauses_embed_as_the_graphs_batches_do() -> None:
    import numpy as np

    embedder = shared_embedder(None)
    text = "count the nuclei in the second tissue piece at 20x"
    alone = np.asarray(embedder.encode([text])[0])  # a request: bfloat16 where the CPU has it
    filler = [f"filler sentence number {k}" for k in range(24)]
    batched = np.asarray(embedder.encode([text, *filler])[0])  # a graph build: float32
    assert abs(float(np.linalg.norm(alone)) - 1.0) < 1e-5
    assert float(alone @ batched) > 0.999


def test_a_number_alone_does_not_make_a_textbook_question_a_case_question(
    router: SemanticRouter,
) -> None:
    plan = _plan(router, "what is Gleason pattern 4 and do you see it here", views=1)
    assert plan.knowledge
    assert _tools(plan) == ["vqa"]
    assert _tools(_plan(router, "what is at 1200, 800", views=1)) == ["zoom"]


def test_an_analysis_of_part_of_the_view_shows_that_part_first(router: SemanticRouter) -> None:
    plan = _plan(router, "count the nuclei in the top half of this field", views=2)
    zoom, detect = plan.steps
    assert (zoom.tool, zoom.args["part"], zoom.args["roi_number"]) == ("zoom", "top_half", 2)
    assert detect.tool == "detect"
    assert detect.args == {"target": "box", "roi_number": 3}


def test_before_any_view_region_n_is_the_tissue_region(router: SemanticRouter) -> None:
    plan = _plan(router, "how many nuclei are in region 2")
    (step,) = plan.steps
    assert step.args == {"target": "tissue_region", "region_index": 2}
    assert any("tissue region 2" in note for note in plan.notes)
    # once the case has views, "region 2" is the second view
    (step,) = _plan(router, "how many nuclei are in region 2", views=2).steps
    assert step.args["roi_number"] == 2


def test_a_group_of_views_is_compared_as_a_whole(router: SemanticRouter) -> None:
    plan = _plan(router, "compare every one of the views by their nuclear counts", views=4)
    assert plan.lookup is not None
    assert plan.lookup.rois == [1, 2, 3, 4]
    last_three = _plan(router, "of the three views, which is the most cellular?", views=4)
    assert last_three.lookup is not None
    assert last_three.lookup.rois == [2, 3, 4]
    assert last_three.lookup.tool == "detect"


def test_a_visual_question_pointing_at_cells_is_not_a_textbook_question(
    router: SemanticRouter,
) -> None:
    plan = _plan(router, "what's the chromatin like in these tumour cells?", views=1)
    assert _tools(plan) == ["vqa"]
    assert not plan.knowledge


def test_a_dismissed_view_adds_no_step(router: SemanticRouter) -> None:
    plan = _plan(router, "never mind this field - what is the whole slide classified as?", views=1)
    assert _tools(plan) == ["wsi_classify"]


@pytest.mark.parametrize(
    "request_text",
    [
        "perineural invasion present in this field?",
        "check this field for lymphovascular invasion",
        "would you call these nuclei vesicular?",
        "is this consistent with a tubulovillous adenoma?",
        "does the epithelium here show surface maturation?",
        # whether the tumour reaches or passes a structure, whatever class it names
        "does the tumour go through the full thickness of the capsule here?",
        "is it involving the inked margin?",
    ],
)
def test_visual_questions_in_their_common_forms_go_to_vqa(
    router: SemanticRouter, request_text: str
) -> None:
    plan = _plan(router, request_text, views=1)
    assert _tools(plan) == ["vqa"]


@pytest.mark.parametrize(
    "request_text",
    [
        "how is pancreatic neuroendocrine tumour graded?",
        "what is the difference between an adenoma and an adenocarcinoma",
        "which IHC would separate mesothelioma from adenocarcinoma",
        # staging and definitional thresholds, whatever size or number they hold
        "what is the size cutoff for a micrometastasis?",
        "does extranodal extension change the N category in thyroid cancer",
        "for PTC, what separates N1a from N1b?",
    ],
)
def test_textbook_questions_in_their_common_forms_run_no_tool(
    router: SemanticRouter, request_text: str
) -> None:
    plan = _plan(router, request_text, views=1)
    assert plan.steps == []
    assert plan.knowledge


@pytest.mark.parametrize(
    ("request_text", "kind"),
    [
        ("trichilemmal cyst then?", "knowledge"),  # a lesion's name alone: what it is
        ("could it be a seborrheic keratosis then?", "knowledge"),
        ("make me a table of the regions", "recall"),  # the case's findings, tabulated
        ("tabulate the counts of all views", "recall"),
        ("put everything in a table", "recall"),
    ],
)
def test_a_named_lesion_or_a_table_of_findings_runs_no_tool(
    router: SemanticRouter, request_text: str, kind: str
) -> None:
    plan = _plan(router, request_text, views=2)
    assert plan.steps == []
    answered_by = "knowledge" if plan.knowledge else (plan.lookup.kind if plan.lookup else None)
    assert answered_by == kind


def test_a_place_described_is_only_a_place(router: SemanticRouter) -> None:
    """What the user expects to find there orders no analysis."""
    plan = _plan(router, "Go to the largest fragment, that should be the thyroid lobe. 5x", views=0)
    assert _tools(plan) == ["zoom"]
    assert plan.steps[0].args["region_index"] == 1


def test_spoken_numbers_are_read_as_digits() -> None:
    assert normalise("go to twenty thousand fifteen thousand") == "go to 20000 15000"
    assert normalise("two hundred and fifty cells") == "250 cells"
    assert normalise("zero point five mpp") == "0.5 mpp"
    assert normalise("zoom in times two") == "zoom in 2x"
    assert normalise("compare view to and view for") == "compare view 2 and view 4"
    # a word that is also a number stays a word where it is not one
    assert normalise("the other one, and pan the view to the left") == (
        "the other one, and pan the view to the left"
    )


def test_dictated_numbers_become_arguments(router: SemanticRouter) -> None:
    plan = _plan(
        router,
        "show me a box from ten thousand ten thousand to twelve thousand twelve thousand",
        views=1,
    )
    assert plan.steps[0].args["box"] == [10_000, 10_000, 12_000, 12_000]
    plan = _plan(router, "count the nuclei in region won", views=3)
    assert [(s.tool, s.args.get("roi_number")) for s in plan.steps] == [("detect", 1)]


def test_dictated_corrections_and_bare_view_numbers_in_a_comparison(
    router: SemanticRouter,
) -> None:
    plan = _plan(router, "go to piece three no wait the second one at twenty x", views=1)
    assert plan.steps[0].args["region_index"] == 2
    assert plan.steps[0].args["magnification"] == 20
    plan = _plan(router, "How do the classifier labels for 2 and 4 differ?", views=4)
    assert plan.lookup is not None
    assert (plan.lookup.kind, plan.lookup.tool, plan.lookup.rois) == ("compare", "classify", [2, 4])
    plan = _plan(router, "okay compare all of them", views=3)
    assert plan.lookup is not None
    assert plan.lookup.rois == [1, 2, 3]


def test_either_or_goes_to_the_classifier_only_between_its_classes(
    router: SemanticRouter,
) -> None:
    assert _tools(_plan(router, "is this area tumour or stroma?", views=1)) == ["classify"]
    assert _tools(_plan(router, "is this an invasive front or just reactive stroma", views=1)) == [
        "vqa"
    ]
    assert _tools(_plan(router, "can you point out a blood vessel for me?", views=1)) == ["vqa"]
    assert _tools(
        _plan(router, "Are lymphocytes present in ROI 1? I'm scoring TILs.", views=1)
    ) == ["composition"]


def test_an_aside_does_not_steer_the_arguments(router: SemanticRouter) -> None:
    plan = _plan(
        router, "Count the cells on the entire slide - I know it'll take a while.", views=1
    )
    assert [(s.tool, s.args.get("target")) for s in plan.steps] == [("detect", "slide")]


def test_a_list_of_everything_measured_is_recalled(router: SemanticRouter) -> None:
    plan = _plan(router, "Export everything we measured on this slide today", views=2)
    assert plan.lookup is not None
    assert plan.lookup.kind == "recall"
    assert plan.steps == []


def test_a_clause_asking_for_the_output_of_the_one_before_adds_no_step(
    router: SemanticRouter,
) -> None:
    plan = _plan(router, "Run the patch classifier on tissue fragment 6 and give me the label.")
    assert _tools(plan) == ["classify"]
    plan = _plan(router, "nudge it up a bit", views=1)  # "nudge" is no typo of "judge"
    assert plan.steps[0].args["pan"] == "up"


def test_phone_shorthand_and_spatial_questions(router: SemanticRouter) -> None:
    assert _tools(_plan(router, "tils %", views=1)) == ["composition"]
    plan = _plan(router, "1 v 2 v 3 nuc ct", views=3)
    assert plan.lookup is not None
    assert (plan.lookup.kind, plan.lookup.tool, plan.lookup.rois) == (
        "compare",
        "detect",
        [1, 2, 3],
    )
    # a class named in a relation to something else is more than the class
    assert _tools(
        _plan(router, "Is there a desmoplastic stromal reaction around these glands?", 1)
    ) == ["vqa"]
    assert _tools(_plan(router, "is it spreading out into the fat?", views=1)) == ["vqa"]
    assert _tools(_plan(router, "is there stroma in this field", views=1)) == ["composition"]
    assert _tools(_plan(router, "roughly how many tumour cells are in this view?", 1)) == ["detect"]


def test_what_the_copilot_said_is_recalled_not_compared(router: SemanticRouter) -> None:
    plan = _plan(
        router,
        "You told me something different ten minutes ago about the first view. What did you say?",
        views=3,
    )
    assert plan.lookup is not None
    assert plan.lookup.kind == "recall"
    plan = _plan(router, "do the same nuclear count here that you did on the first one", views=3)
    assert plan.lookup is None
    assert [(s.tool, s.args.get("roi_number")) for s in plan.steps] == [("detect", 3)]


def test_an_order_is_not_a_recall_and_a_past_result_is(router: SemanticRouter) -> None:
    plan = _plan(router, "Could you count cells in the first region we looked at?", views=3)
    assert plan.lookup is None
    assert [(s.tool, s.args.get("roi_number")) for s in plan.steps] == [("detect", 1)]
    for asked in (
        "what did the segmentation in view 2 show?",
        "did I already count cells in view 2?",
    ):
        plan = _plan(router, asked, views=3)
        assert plan.lookup is not None
        assert plan.lookup.kind == "recall"
        assert plan.steps == []
    assert _tools(_plan(router, "and there? same classification", views=2)) == ["classify"]


def test_how_things_look_in_general_is_a_textbook_question(router: SemanticRouter) -> None:
    for asked in (
        "what's MSI, and what does it look like under the microscope?",
        "how would a pathologist tell normal mucosa from tumor epithelium?",
    ):
        plan = _plan(router, asked, views=1)
        assert plan.knowledge
        assert plan.steps == []


def test_a_recall_beside_a_comparison_names_what_it_is_compared_with(
    router: SemanticRouter,
) -> None:
    plan = _plan(router, "what did we get for view 1 and how does it compare to view 3", views=3)
    assert plan.lookup is not None
    assert plan.also is not None
    assert (plan.lookup.kind, plan.lookup.rois, plan.also.kind) == ("compare", [1, 3], "recall")


def test_how_the_section_or_its_scan_looks_goes_to_the_visual_expert(
    router: SemanticRouter,
) -> None:
    for asked in (
        "is that a crease in the section or a bubble under the coverslip?",
        "does the stain look faded to you here",
        "is this field out of focus or is the tissue just thick",
        "what histologic grade would you give this?",
        "ducts look atypical? low or high grade",
    ):
        assert _tools(_plan(router, asked, views=2)) == ["vqa"], asked


def test_a_clause_asking_for_the_output_of_the_one_before_adds_nothing(
    router: SemanticRouter,
) -> None:
    for asked, want in (
        ("mask the stroma in this view and tell me what fraction it covers", ["segment"]),
        (
            "segment epithelium and stroma here, then give me the area of both compartments",
            ["segment", "segment"],  # one mask per compartment, no comparison of regions
        ),
        ("is there any mucus in this field? if so, how much area in mm²", ["composition"]),
        ("next slide please, the liver one. what is its mpp?", ["slide_info"]),
        ("ok and here? same count", ["detect"]),
    ):
        assert _tools(_plan(router, asked, views=2)) == want, asked


def test_a_reason_a_form_or_a_clinical_query_adds_no_step(router: SemanticRouter) -> None:
    for asked, want in (
        (
            "any mitoses in this field? describe them if so, because the grade depends on it",
            ["vqa"],
        ),
        (
            "?lymphoma clinically. what does the slide-level model say, and show me the heatmap",
            ["wsi_classify"],
        ),
        ("does the epithelium look atypical? the surgeon wrote 'Barrett's?' on the form", ["vqa"]),
    ):
        assert _tools(_plan(router, asked, views=2)) == want, asked
    plan = _plan(router, "put together everything we have concluded on this case in two lines", 3)
    assert plan.lookup is not None
    assert plan.lookup.kind == "recall"


def test_comparisons_and_slide_facts_by_their_nouns(router: SemanticRouter) -> None:
    plan = _plan(router, "compare the classes of view 1 and view 3", views=3)
    assert plan.lookup is not None
    assert (plan.lookup.kind, plan.lookup.rois, plan.lookup.tool) == ("compare", [1, 3], "classify")
    plan = _plan(router, "which region had more stroma, the second one or this one?", views=3)
    assert plan.lookup is not None
    assert (plan.lookup.kind, plan.lookup.rois) == ("compare", [2, 3])
    assert _tools(_plan(router, "pull up the macro image, I need to check the barcode", 1)) == [
        "slide_info"
    ]


def test_both_and_versus_between_compartments_or_diseases_compare_no_regions(
    router: SemanticRouter,
) -> None:
    assert _tools(_plan(router, "epithelium vs stroma here from the masks, area of both", 2)) == [
        "segment",
        "segment",
    ]
    assert _tools(
        _plan(router, "count the nuclei and segment the stroma, both with numbers", 2)
    ) == [
        "detect",
        "segment",
    ]
    plan = _plan(router, "is LGSC the same as a serous borderline tumour or a different entity?", 2)
    assert (plan.knowledge, plan.steps, plan.lookup) == (True, [], None)
    plan = _plan(router, "what is the grading system for DCIS, and does necrosis count in it?", 2)
    assert (plan.knowledge, plan.steps) == (True, [])
    assert _tools(_plan(router, "go to 20,000, 30,000 - my comparison field", 2)) == ["zoom"]


def test_a_statement_of_what_the_user_sees_and_the_tissue_outline(
    router: SemanticRouter,
) -> None:
    assert _tools(
        _plan(router, "is this invasive? the glands look angulated but the stroma seems quiet", 2)
    ) == ["vqa"]
    assert _tools(_plan(router, "outline the tissue, the mask of every piece please", 2)) == [
        "tissue"
    ]
    assert _tools(
        _plan(router, "tissue area and a tissue mask, I want to see if a core is missing", 0)
    ) == ["tissue"]
    gland = _plan(router, "what percentage of that box is gland?", 1).steps
    assert [(s.tool, s.args.get("what")) for s in gland] == [("segment", "epithelium")]
    assert _tools(_plan(router, "what fraction of this field is stroma?", 1)) == ["composition"]
    basics = "Hi, what am I looking at? Give me the basics of this slide."
    assert _tools(_plan(router, basics, 0)) == ["slide_info"]
    assert _tools(_plan(router, "how many nuclei, and what's their mean area in µm²?", 1)) == [
        "detect"
    ]
    where = "Where is the tissue? Give me an outline and how much of the slide it covers"
    assert _tools(_plan(router, where, 0)) == ["tissue"]
    both = "count the nuclei and give me an outline of the glands"
    assert _tools(_plan(router, both, 2)) == ["detect", "segment"]


def test_what_the_user_adds_about_an_order_adds_no_step(router: SemanticRouter) -> None:
    for asked, want in (
        ("second opinion, GI. before I start: what is the scan's mpp?", ["slide_info"]),
        ("count the nuclei in view 2 and show your working", ["detect"]),
        ("classify this field. what data was the classifier trained on?", ["classify"]),
        ("you said two pieces before. run tissue detection again, I see three", ["tissue"]),
        ("composition of this view please, show me all the classes it found", ["composition"]),
        ("is there any normal lining left in this biopsy?", ["composition"]),
        ("what are those pale pink blobs in the gland lumens?", ["vqa"]),
    ):
        assert _tools(_plan(router, asked, views=2)) == want, asked


def test_notes_with_arrows_lists_and_bullets(router: SemanticRouter) -> None:
    for asked, want in (
        ("step out 2x -> recount nuc", ["zoom", "detect"]),
        ("1) seg epith 2) clf", ["segment", "classify"]),
        ("- nuc count + density\n- any mitoses?", ["detect", "vqa"]),
        ("stroma mask -> area mm² + %", ["segment"]),
        ("all classes mm² + % across entire slide", ["composition"]),
    ):
        assert sorted(_tools(_plan(router, asked, views=2))) == sorted(want), asked
    z = _plan(router, "step out 2x", views=2).steps[0]
    assert (z.tool, z.args.get("factor")) == ("zoom", 0.5)
    for vague in ("ok so um", "help", "go"):
        assert _plan(router, vague, views=2).clarify, vague


def test_a_fragment_beside_a_recall_qualifies_it(router: SemanticRouter) -> None:
    for asked in (
        "for view 2, what were the stromal areas from the segmentation?",
        "and view 1 - what was your label for that one?",
    ):
        plan = _plan(router, asked, views=3)
        assert plan.lookup is not None, asked
        assert (plan.lookup.kind, plan.steps) == ("recall", []), asked


def test_what_a_tool_found_asked_tersely_and_a_purpose_beside_an_order(
    router: SemanticRouter,
) -> None:
    assert _tools(
        _plan(router, "does the classifier find any mucus here, or is it all tumour?", 2)
    ) == ["composition"]
    for asked in ("v2 seg result?", "could you give me a write-up of the session, view by view?"):
        plan = _plan(router, asked, views=3)
        assert plan.lookup is not None, asked
        assert (plan.lookup.kind, plan.steps) == ("recall", []), asked
    assert _tools(
        _plan(router, "count the nuclei here; I want a rough sense of how cellular it is", 2)
    ) == ["detect"]


def test_first_turn_overviews_and_questions_about_this_field(router: SemanticRouter) -> None:
    assert _tools(_plan(router, "ok what have we got here? give me an overview of the slide")) == [
        "slide_info",
        "zoom",
    ]
    assert _plan(router, "give me an overview of the slide").steps[0].args == {"target": "slide"}
    assert _plan(router, "give me an overview of the case so far", 2).lookup is not None
    assert _tools(
        _plan(router, "whats the tissue composition there - how much tumour vs stroma?", 1)
    ) == ["composition"]
    plan = _plan(
        router,
        "Pan to the right a bit. Is there epithelium in that field, and roughly what fraction?",
        1,
    )
    assert _tools(plan) == ["zoom", "segment"]
    assert plan.steps[1].args["what"] == "epithelium"
    assert _tools(_plan(router, "are there glands here?", 1)) == ["segment"]


def test_a_told_context_and_a_tissue_question_add_no_slide_classifier(
    router: SemanticRouter,
) -> None:
    told = "This is a head and neck biopsy. Find the tissue on the slide and how many pieces"
    assert _tools(_plan(router, told)) == ["tissue"]
    assert _tools(_plan(router, "What tissue is on this slide? classify it")) == ["classify"]
    assert _tools(_plan(router, "what is the overall diagnosis? and classify this region", 1)) == [
        "classify",
        "wsi_classify",
    ]


def test_parts_set_side_by_side_are_each_analysed_and_compared(router: SemanticRouter) -> None:
    plan = _plan(router, "which quadrant has the most nuclei?", 1)
    assert _tools(plan) == ["detect"] * 4
    assert plan.steps[0].args["box"] == [10_000, 8_000, 11_024, 9_024]  # of the view on screen
    assert plan.lookup is not None
    assert (plan.lookup.kind, plan.lookup.rois) == ("compare", [2, 3, 4, 5])
    assert plan.lookup.places[0] == "the top left quadrant of the view"
    halves = _plan(router, "left vs right halves of the slide, which has more epithelium?", 1)
    assert [(s.tool, s.args["box"], s.args["what"]) for s in halves.steps] == [
        ("segment", [0, 0, 20_000, 30_000], "epithelium"),
        ("segment", [20_000, 0, 40_000, 30_000], "epithelium"),
    ]
    assert _tools(_plan(router, "zoom to the top left corner", 1)) == ["zoom"]


def test_boxes_named_side_by_side_are_each_analysed_and_compared(router: SemanticRouter) -> None:
    plan = _plan(
        router,
        "Compare box [600,1200,1300,1800] with box [2600,2600,3300,3200]: nuclei count, mean "
        "nuclear size and which one is more cellular",
        1,
    )
    assert [(s.tool, s.args["box"]) for s in plan.steps] == [
        ("detect", [600, 1200, 1300, 1800]),
        ("detect", [2600, 2600, 3300, 3200]),
    ]
    assert plan.lookup is not None
    assert (plan.lookup.kind, plan.lookup.rois) == ("compare", [2, 3])
    seg = _plan(router, "compare the epithelium in (0,0)-(500,500) and (500,500)-(1000,1000)")
    assert [(s.tool, s.args["box"], s.args["what"]) for s in seg.steps] == [
        ("segment", [0, 0, 500, 500], "epithelium"),
        ("segment", [500, 500, 1000, 1000], "epithelium"),
    ]
    ranges = _plan(
        router,
        "epidermal strip x1550–1950, y2350–2967 vs dermis x1300–1700, y1900–2300: which is "
        "more cellular?",
    )
    assert [s.args["box"] for s in ranges.steps] == [
        [1550, 2350, 1950, 2967],
        [1300, 1900, 1700, 2300],
    ]
    assert ranges.lookup is not None
    assert ranges.lookup.rank_by == "density"
    off = _plan(router, "compare box [0,0,10,10] with box [150000,0,200000,10]")
    assert off.steps[0].error is not None
    assert "not on the slide" in off.steps[0].error


def test_halves_of_a_box_or_of_the_view_are_compared(router: SemanticRouter) -> None:
    plan = _plan(
        router,
        "No, halves of the view you just counted (x555–1665, y1112–2596): count each, which "
        "is denser",
        1,
    )
    assert [s.args["box"] for s in plan.steps] == [
        [555, 1112, 1110, 2596],
        [1110, 1112, 1665, 2596],
    ]
    assert plan.lookup is not None
    assert plan.lookup.rank_by == "density"
    assert plan.lookup.places[0] == "the left half of the box asked"
    split = _plan(router, "Split that view into left/right halves: which has more cells?", 1)
    assert [s.args["box"] for s in split.steps] == [
        [10_000, 8_000, 11_024, 10_048],
        [11_024, 8_000, 12_048, 10_048],
    ]


def test_the_whole_image_anywhere_and_yes_or_no_presence(router: SemanticRouter) -> None:
    for asked in ("any necrosis anywhere in the image?", "is there necrosis in the whole image?"):
        plan = _plan(router, asked, 1)
        assert [(s.tool, s.args["target"]) for s in plan.steps] == [("composition", "slide")]
    assert _tools(_plan(router, "necrosis y/n", 1)) == ["composition"]
    told = _plan(
        router,
        "This is a high grade serous carcinoma of ovary, 1500x1500 jpeg, What's the "
        "tumour/stroma/immune composition?",
        1,
    )
    assert _tools(told) == ["composition"]  # the diagnosis told is context, not a question
    boxed = _plan(router, "zoom out to the full field (0,0 to 1500,1500), necrosis yes/no", 1)
    assert boxed.steps[0].args["box"] == [0, 0, 1500, 1500]
    quarters = _plan(router, "same for the other three quarters and rank all four by density")
    assert _tools(quarters) == ["detect"] * 4


def test_questions_about_the_models_and_two_compartments(router: SemanticRouter) -> None:
    for asked in (
        "be honest: which of your models are actually valid for head and neck squamous tissue? "
        "what can't you do on this slide?",
        "can you tell neutrophils from lymphocytes?",
        "what are your limitations?",
    ):
        assert _tools(_plan(router, asked, 1)) == ["experts"], asked
    assert _tools(_plan(router, "can you count the nuclei", 1)) == ["detect"]
    plan = _plan(router, "how much of the tissue is epidermis vs dermis?", 1)
    assert [s.args["what"] for s in plan.steps] == ["epithelium", "stroma"]


def test_a_place_named_in_a_complaint_is_not_where_to_go(router: SemanticRouter) -> None:
    plan = _plan(router, "you zoomed to the top left. go to the bottom right", 2)
    assert [(s.tool, s.args.get("part")) for s in plan.steps] == [("zoom", "bottom_right")]
    plan = _plan(
        router, "that's the top-left, not what I asked. count the nuclei in the whole image"
    )
    assert [(s.tool, s.args.get("target")) for s in plan.steps] == [("detect", "slide")]


def test_a_summary_of_the_tile_is_the_cases_findings(router: SemanticRouter) -> None:
    for asked in (
        "summarise this tile in one or two sentences",
        "sum up for a non-pathologist colleague in 2-3 plain sentences what we can and can't "
        "say from this tile",
    ):
        plan = _plan(router, asked, 1)
        assert plan.steps == [], asked
        assert plan.lookup is not None
        assert plan.lookup.kind == "recall", asked
    knowledge = _plan(router, "summarise the key features of HGSC", 1)
    assert knowledge.knowledge
    assert knowledge.lookup is None


def test_crop_to_the_centre_is_the_middle_of_what_is_on_screen(router: SemanticRouter) -> None:
    plan = _plan(router, "crop to the centre and count the nuclei there", 1)
    assert [s.tool for s in plan.steps] == ["zoom", "detect"]
    assert plan.steps[0].args["part"] == "center"
    assert plan.steps[0].args["roi_number"] == 1
    assert _plan(router, "crop to the centre").steps[0].args == {
        "target": "slide",
        "part": "center",
    }


def test_this_field_against_the_whole_slide_counts_both(router: SemanticRouter) -> None:
    for asked in (
        "is the density here higher than in the whole slide?",
        "is this area more cellular than the rest of the slide?",
        "compare this region with the whole slide",
    ):
        plan = _plan(router, asked, 1)
        assert [(s.tool, s.args.get("target")) for s in plan.steps] == [
            ("detect", "box"),
            ("detect", "slide"),
        ], asked
        assert plan.lookup is not None
        assert plan.lookup.kind == "compare"


def test_how_variable_the_nuclei_are_goes_to_the_detector(router: SemanticRouter) -> None:
    plan = _plan(
        router, "mean and median nuclear size? and how variable are they (pleomorphism)?", 1
    )
    assert [(s.tool, s.args.get("size_variation")) for s in plan.steps] == [("detect", True)]
    assert "size_variation" not in _plan(router, "count the nuclei", 1).steps[0].args
    assert _tools(_plan(router, "is there marked nuclear pleomorphism?", 1)) == ["vqa"]


def test_a_ranking_measure_said_outright_wins(router: SemanticRouter) -> None:
    """ "rank … by count" ranks by the count, though the request also asks for mean areas."""
    said = (
        "the image is 0.25 µm/px: count all nuclei, density per mm² of tissue, mean and median "
        "area; rank the four quadrants by count"
    )
    plan = _plan(router, said)
    assert plan.lookup is not None
    assert len(plan.lookup.rois) == 4
    assert plan.lookup.rank_by is None  # the count: the default ranking of detections
    by_size = _plan(router, "which quadrant has the largest mean nuclear area?")
    assert by_size.lookup is not None
    assert by_size.lookup.rank_by == "mean_area"
    by_density = _plan(router, "count each quadrant and order them by density")
    assert by_density.lookup is not None
    assert by_density.lookup.rank_by == "density"


def test_what_is_this_on_a_slide_just_opened_gives_its_facts_and_tissue(
    router: SemanticRouter,
) -> None:
    """No view yet: "what have we got here?" is the slide's facts and where its tissue is; on
    a view it is the view's tissue class."""
    for said in ("what have we got here?", "what am I looking at?", "what is this?"):
        fresh = _plan(router, said)
        assert [s.tool for s in fresh.steps] == ["slide_info", "tissue"], said
    on_view = _plan(router, "what is this?", 1)
    assert [s.tool for s in on_view.steps] == ["classify"]


def test_textbook_questions_about_entities_the_graph_may_lack_are_knowledge(
    router: SemanticRouter,
) -> None:
    """ "histology differences" or "ddx and first-line IHC" ask the textbook, never the image
    or the help text, whether or not the graph holds the entity."""
    cysts = _plan(router, "epidermoid vs trichilemmal cyst - histology differences?", 1)
    assert cysts.knowledge
    assert cysts.steps == []
    ddx = _plan(router, "ddx and first-line IHC for an undifferentiated epithelioid sheet?", 1)
    assert ddx.knowledge
    assert ddx.clarify is None
    isup = _plan(router, "ISUP grade 3 criterion - at which magnification is it assessed?", 1)
    assert isup.knowledge
    assert isup.steps == []  # not the slide's magnification


@pytest.mark.parametrize(
    "request_text",
    [
        "ok go on then",
        "do it again but better",
        "try the other setting",
        "process this",
        "hmm that looks off, can you fix it?",
        "Hmm. Do the thing from before.",
        "That outline is off. Fix it.",
    ],
)
def test_a_request_that_names_nothing_gets_a_question_not_a_view(
    router: SemanticRouter, request_text: str
) -> None:
    plan = _plan(router, request_text, views=2)
    assert plan.clarify is not None
    assert plan.steps == []
    # the question offers what can be done, numbered
    assert "(1) " in plan.clarify
    assert "(3) " in plan.clarify


def test_a_unit_or_a_stance_beside_an_order_adds_no_step(router: SemanticRouter) -> None:
    plan = _plan(router, "segment the stroma here. area in mm2 please", views=1)
    assert _tools(plan) == ["segment"]
    plan = _plan(router, "mask the epithelium and tell me the area fraction", views=1)
    assert _tools(plan) == ["segment"]
    plan = _plan(router, "count the nuclei here - I expect lots of lymphocytes", views=1)
    assert _tools(plan) == ["detect"]
    # a unit beside a named subject of its own is still asked
    plan = _plan(router, "segment the stroma, and what is the tissue area in mm2", views=1)
    assert set(_tools(plan)) == {"tissue", "segment"}


def test_a_choice_between_tile_classes_is_a_classification(router: SemanticRouter) -> None:
    for text in (
        "is this stroma or tumour epithelium?",
        "tissue type of the second fragment",
        "is this tumour or normal mucosa, can the classifier tell",
    ):
        plan = _plan(router, text, views=2)
        assert _tools(plan) == ["classify"], text
    # a choice the classes do not hold is a visual question
    plan = _plan(router, "is this an invasive front or just reactive stroma", views=2)
    assert _tools(plan) == ["vqa"]


def test_the_measure_of_a_comparison_in_a_fragment_adds_no_analysis(
    router: SemanticRouter,
) -> None:
    plan = _plan(router, "compare these two, the nuclei counts", views=4)
    assert plan.lookup is not None
    assert plan.lookup.kind == "compare"
    assert {s.why.endswith("to compare") for s in plan.steps} == {True}


def test_a_dictated_place_with_its_number_then_an_order_is_two_steps(
    router: SemanticRouter,
) -> None:
    plan = _plan(router, "40x on fragment 3 count the nuclei", views=2)
    assert _tools(plan) == ["zoom", "detect"]
    assert plan.steps[0].args["magnification"] == 40.0
    # "view 8 seg result": a past result named, not an order
    plan = _plan(router, "v8 seg result?", views=9)
    assert plan.lookup is not None
    assert plan.lookup.kind == "recall"


def test_bare_features_and_choices_about_the_image_go_to_the_vqa_experts(
    router: SemanticRouter,
) -> None:
    for text in ("budding?", "expansile or infiltrative?", "what's the growth pattern?"):
        assert _tools(_plan(router, text, views=2)) == ["vqa"], text
    assert _tools(_plan(router, "mucus or debris?", views=2)) == ["classify"]
    plan = _plan(router, "what is the growth pattern of lobular carcinoma", views=2)
    assert (plan.steps, plan.knowledge) == ([], True)


def test_sign_out_and_slide_facts_however_worded(router: SemanticRouter) -> None:
    assert _tools(_plan(router, "how would you sign this out")) == ["wsi_classify"]
    assert _tools(_plan(router, "tumour or normal, whole slide")) == ["wsi_classify"]
    assert _tools(_plan(router, "how many levels does this wsi have")) == ["slide_info"]


def test_a_question_then_the_order_that_answers_it_is_one_analysis_of_the_named_region(
    router: SemanticRouter,
) -> None:
    plan = _plan(router, "what tissue was in view 1? run the classifier on it", views=3)
    assert _tools(plan) == ["classify"]
    assert plan.steps[0].args["roi_number"] == 1
    assert plan.lookup is None


def test_any_of_a_tile_class_just_defined_is_its_presence(router: SemanticRouter) -> None:
    plan = _plan(router, "define necrosis; is there any in this view?", views=2)
    assert (_tools(plan), plan.knowledge) == (["composition"], True)
    # a feature no tile class holds is put to the VQA experts
    plan = _plan(router, "what is a granuloma, and are there any here?", views=2)
    assert (_tools(plan), plan.knowledge) == (["vqa"], True)


def test_measurements_the_slide_model_and_the_architecture_by_other_names(
    router: SemanticRouter,
) -> None:
    assert _tools(_plan(router, "mean nuclear size in this area?", views=2)) == ["detect"]
    assert _tools(_plan(router, "run the whole slide model")) == ["wsi_classify"]
    assert _tools(_plan(router, "what's the architecture like", views=2)) == ["vqa"]


def test_a_share_of_a_class_asked_as_a_number_is_the_composition(router: SemanticRouter) -> None:
    plan = _plan(router, "is the tumour content above 20% in this field?", views=2)
    assert _tools(plan) == ["composition"]
    plan = _plan(router, "classify this region, then map the tissue classes across it", views=2)
    assert _tools(plan) == ["classify", "composition"]


def test_visual_questions_with_longer_subjects_and_places_inside_structures(
    router: SemanticRouter,
) -> None:
    for text in (
        "is the lymph node architecture preserved?",
        "do the tumour cells float in mucin pools or is it acellular mucin?",
        "are there tumour cells in the lymphatics?",
    ):
        assert _tools(_plan(router, text, views=2)) == ["vqa"], text
    plan = _plan(router, "is the whole slide tumor or normal according to the model")
    assert _tools(plan) == ["wsi_classify"]


def test_every_view_ranked_by_a_measure_is_a_comparison_of_all_of_them(
    router: SemanticRouter,
) -> None:
    for text in ("rank the views by cell density", "which of the views has the most cells"):
        plan = _plan(router, text, views=4)
        assert plan.lookup is not None, text
        assert plan.lookup.kind == "compare", text
        assert sorted(s.args["roi_number"] for s in plan.steps) == [1, 2, 3, 4]
        assert {s.tool for s in plan.steps} == {"detect"}


def test_a_view_named_alone_is_a_place_to_go(router: SemanticRouter) -> None:
    plan = _plan(router, "the previous view please", views=4)
    assert _tools(plan) == ["zoom"]
    assert plan.steps[0].args["roi_number"] == 3


def test_a_later_clause_that_names_no_place_adds_no_view(router: SemanticRouter) -> None:
    plan = _plan(router, "scanner and tissue fraction, then we move on")
    assert [s.tool for s in plan.steps] == ["slide_info", "tissue"]
    plan = _plan(
        router, "classify this field; the fixation is poor so take it with a pinch of salt", views=2
    )
    assert _tools(plan) == ["classify"]
    # a place named by "there" is still a view to show
    plan = _plan(router, "how big is the second largest fragment in mm²? take me there after")
    assert _tools(plan) == ["tissue", "zoom"]


def test_a_textbook_question_about_what_was_just_named_is_knowledge(
    router: SemanticRouter,
) -> None:
    plan = _plan(router, "any tumour budding here? and how do you score it", views=2)
    assert (_tools(plan), plan.knowledge) == (["vqa"], True)
    text = "what tissue is this, and what are the typical features of that tissue type?"
    plan = _plan(router, text, views=2)
    assert (_tools(plan), plan.knowledge) == (["classify"], True)
    # "how do you count the nuclei here" is an order, not a textbook question
    plan = _plan(router, "how do you count the nuclei here", views=2)
    assert _tools(plan) == ["detect"]


def test_note_shorthand_for_predictions_composition_and_compartments(
    router: SemanticRouter,
) -> None:
    assert _tools(_plan(router, "wsi pred")) == ["wsi_classify"]
    assert _tools(_plan(router, "comp here pls", views=2)) == ["composition"]
    plan = _plan(router, "strom seg v1", views=2)
    assert _tools(plan) == ["segment"]
    assert plan.steps[0].args["what"] == "stroma"


def test_a_question_after_a_colon_and_the_experts_read_asked_for(router: SemanticRouter) -> None:
    text = (
        "We've been over the margins already. What I want now is your read on the tumour cells "
        "in this field: do they look viable or is it just mucin with ghost cells?"
    )
    assert _tools(_plan(router, text, views=2)) == ["vqa"]
    # a short label before the colon stays with its question
    text = "Oral mucosa: does the epithelium look dysplastic to you?"
    assert _tools(_plan(router, text, views=2)) == ["vqa"]


def test_what_the_user_means_to_do_with_the_answer_adds_no_step(router: SemanticRouter) -> None:
    plan = _plan(router, "go to the middle of this core at 40x. I'd like to hunt for mitoses", 1)
    assert _tools(plan) == ["zoom"]
    text = "count the nuclei, then segment the tumour nests so I can see the share"
    plan = _plan(router, text, views=1)
    assert _tools(plan) == ["detect", "segment"]
    assert plan.steps[1].args["what"] == "epithelium"
    # the same words as the only request are still what is asked
    plan = _plan(router, "hi. I'd like to look at the top left quadrant", views=1)
    assert _tools(plan) == ["zoom"]
    assert plan.steps[0].args["part"] == "top_left"


def test_a_count_of_one_cell_type_says_what_can_be_counted(router: SemanticRouter) -> None:
    for text in (
        "Could you count only the lymphocytes in this core?",
        "can u count just the lymphocytes seperately from the tumor cells",
        "count only the melanocytes along the DEJ",
    ):
        plan = _plan(router, text, views=2)
        assert plan.steps == [], text
        assert plan.clarify is not None
        assert "every nucleus" in plan.clarify
    # a count with no restriction is the count of all nuclei
    plan = _plan(router, "roughly how many tumour cells are in this view?", views=2)
    assert _tools(plan) == ["detect"]


def test_zooming_in_on_a_corner_is_that_corner_of_the_view(router: SemanticRouter) -> None:
    (step,) = _plan(router, "zoom in 4x on the bottom right", views=3).steps
    assert step.args["target"] == "roi"
    assert step.args["roi_number"] == 3
    assert step.args["part"] == "bottom_right"
    assert step.args["factor"] == 4
    # a corner named alone is the slide's
    (step,) = _plan(router, "show me the bottom right", views=3).steps
    assert step.args == {"target": "slide", "part": "bottom_right"}


def test_what_not_to_do_errands_and_reminders_of_textbook_facts(router: SemanticRouter) -> None:
    assert _tools(_plan(router, "don't zoom, just count nuclei here", views=2)) == ["detect"]
    assert _tools(_plan(router, "no need to move, segment the stroma", views=2)) == ["segment"]
    for text in ("order MART-1 and PRAME on block A2", "dictate a melanoma report into the LIS"):
        plan = _plan(router, text, views=2)
        assert plan.steps == [], text
        assert plan.clarify is not None
        assert "outside the co-pilot" in plan.clarify
    assert _tools(_plan(router, "count the nuclei and send me the number", views=2)) == ["detect"]
    for text in (
        "remind me of the AJCC cutoffs for pT1a vs pT1b melanoma",
        "remind me, what are the criteria for high grade dysplasia?",
    ):
        plan = _plan(router, text, views=2)
        assert plan.knowledge, text
        assert plan.lookup is None
    plan = _plan(router, "remind me what the count was in view 2", views=2)
    assert not plan.knowledge
    assert plan.lookup is not None


def test_a_field_size_for_the_current_view_keeps_its_centre(router: SemanticRouter) -> None:
    (step,) = _plan(router, "Set the field to 2048 by 2048 pixels at 0.5 mpp.", views=1).steps
    assert step.args["target"] == "point"
    assert step.args["center"] == [11_024, 9_024]  # the centre of view 1
    assert step.args["size_px"] == [2048, 2048]
    assert step.args["mpp"] == 0.5


def test_features_named_in_a_word_and_comparisons_by_other_verbs(router: SemanticRouter) -> None:
    for text in ("surface ulceration?", "storiform?", "any eosinophils?"):
        assert _tools(_plan(router, text, views=2)) == ["vqa"], text
    plan = _plan(router, "how does that count stand against view 1?", views=2)
    assert plan.lookup is not None
    assert plan.lookup.kind == "compare"
    assert sorted(plan.lookup.rois) == [1, 2]
    plan = _plan(router, "how does view 2 measure up to view 1 for nuclei", views=2)
    assert plan.lookup is not None
    assert plan.lookup.kind == "compare"
    # what someone else said about the lesion is no question of its own
    text = "is there any necrosis here, the clinician said the lesion was ulcerated"
    assert _tools(_plan(router, text, views=2)) == ["composition"]


def test_another_slide_from_the_chat_is_outside_the_co_pilot(router: SemanticRouter) -> None:
    text = (
        "Would it be possible to open the TURBT slide from the same patient? "
        "I'd like to review the two side by side."
    )
    plan = _plan(router, text, views=3)
    assert plan.steps == []
    assert plan.lookup is None
    assert plan.clarify is not None
    assert "other slides" in plan.clarify


def test_this_view_set_against_two_named_views_is_compared_with_both(
    router: SemanticRouter,
) -> None:
    text = "count the nuclei here and compare the density with views 1 and 2"
    plan = _plan(router, text, views=4)
    assert plan.lookup is not None
    assert sorted(plan.lookup.rois) == [1, 2, 4]
    plan = _plan(router, "how does that nuclear count compare with views 1 and 2?", views=4)
    assert plan.lookup is not None
    assert sorted(plan.lookup.rois) == [1, 2, 4]
    # a view named before the verb is the subject, not the view on screen
    plan = _plan(router, "how does view 1 compare with views 2 and 3 for nuclei", views=4)
    assert plan.lookup is not None
    assert sorted(plan.lookup.rois) == [1, 2, 3]


def test_named_grading_systems_typed_cells_and_shares_compared(router: SemanticRouter) -> None:
    plan = _plan(router, "marsh classification for coeliac, the 3a b c bits", views=2)
    assert plan.knowledge
    assert plan.steps == []
    assert _tools(_plan(router, "what's the tissue classification of this field", 2)) == [
        "classify"
    ]
    plan = _plan(router, "count only the mesothelial cells", views=2)
    assert plan.steps == []
    assert plan.clarify is not None
    assert "mesothelial cells" in plan.clarify
    assert _tools(_plan(router, "just count the cells here", views=2)) == ["detect"]
    for text in ("compare tumor % here vs view 1", "compare that breakdown with view 1"):
        plan = _plan(router, text, views=2)
        assert plan.lookup is not None
        assert plan.lookup.tool == "composition", text


def test_steps_not_to_do_scores_of_a_scale_and_a_count_per_area(router: SemanticRouter) -> None:
    text = "Mask the epithelium in this view and give me its area; no need to count nuclei again."
    assert _tools(_plan(router, text, views=2)) == ["segment"]
    text = "Go to fragment 2 at 5x - no need to re-run the tissue detection, we know the pieces."
    plan = _plan(router, text, views=2)
    assert _tools(plan) == ["zoom"]
    assert plan.steps[0].args["region_index"] == 2
    text = (
        "in Nottingham grading, what proportion of gland formation gives tubule score 1 vs 2 vs 3?"
    )
    plan = _plan(router, text, views=3)
    assert plan.knowledge
    assert plan.lookup is None
    text = "How many nuclei are in this box, and what does that work out to per square millimeter?"
    assert _tools(_plan(router, text, views=2)) == ["detect"]
    plan = _plan(router, "Please order deeper levels on block A3 for me.", views=2)
    assert plan.steps == []
    assert plan.clarify is not None
    # an analysis that mentions the user's own annotations is still the analysis
    text = "segment the nuclei as a binary mask, I need it to compute IoU against our annotations"
    assert _tools(_plan(router, text, views=2)) == ["segment"]


def test_a_remark_on_the_screen_adds_no_step_and_a_tile_map_is_the_composition(
    router: SemanticRouter,
) -> None:
    assert _tools(_plan(router, "Well, that's mostly glass. Pan down a bit.", views=2)) == ["zoom"]
    text = "Zoom to 20x on the largest fragment and tell me what it's made of by the tile map."
    assert _tools(_plan(router, text, views=2)) == ["zoom", "composition"]


def test_a_question_put_to_the_tile_classifier_by_name_is_its_class(
    router: SemanticRouter,
) -> None:
    for text in (
        "And is this neoplasm or connective tissue, as far as your classifier is concerned?",
        "In your classifier's eyes, is this piece neoplastic or just collagen and fat?",
    ):
        assert _tools(_plan(router, text, views=2)) == ["classify"], text
    assert _tools(_plan(router, "Any fat or mucin here? Give me the proportions.", 2)) == [
        "composition"
    ]


def test_agreement_asked_about_the_image_and_a_place_told_by_what_was_done_there(
    router: SemanticRouter,
) -> None:
    text = "I'm inclined to call it pattern 3. Would you agree, judging by the glands here?"
    assert _tools(_plan(router, text, views=2)) == ["vqa"]
    text = "Could you take me back to the high-power field where you outlined the nuclei, please?"
    assert _tools(_plan(router, text, views=2)) == ["zoom"]
    text = "go back to the field where we counted and segment the stroma"
    assert _tools(_plan(router, text, views=2)) == ["zoom", "segment"]


def test_a_region_told_by_what_was_done_there_is_that_analysis_region(
    router: SemanticRouter,
) -> None:
    archive = [
        {"id": "E2.1", "tool": "segment", "ok": True, "summary": "", "output": {"roi_number": 1}},
        {"id": "E3.1", "tool": "detect", "ok": True, "summary": "", "output": {"roi_number": 2}},
    ]
    rois = [_view(n) for n in (1, 2, 3)]
    text = "Could you take me back to the field where you outlined the nuclei, please?"
    plan = semantic_plan(text, router, rois, 3, "s1", archive=archive, slide=SLIDE)
    (step,) = plan.steps
    assert step.tool == "zoom"
    assert step.args["roi_number"] == 1
    text = "how does this count stand against the one where we counted before?"
    plan = semantic_plan(text, router, rois, 3, "s1", archive=archive, slide=SLIDE)
    assert plan.routing[0]["clause"] == "how does this count stand against region 2"
    # without such an analysis in the case the words are left as they are
    plan = semantic_plan(text, router, rois, 3, "s1", archive=archive[:1], slide=SLIDE)
    assert "region 2" not in plan.routing[0]["clause"]


def test_a_filler_before_a_choice_and_a_reference_value_asked(router: SemanticRouter) -> None:
    text = "ok so is this tumor or normal colon? like what would the classifier call it"
    assert _tools(_plan(router, text, views=2)) == ["classify"]
    text = "What is the expected cellularity of a bone marrow trephine in a 65-year-old?"
    plan = _plan(router, text, views=2)
    assert plan.knowledge
    assert plan.steps == []
    # the image's own value against a reference is still measured
    text = "count the nuclei, what is the typical count for a lymph node"
    plan = _plan(router, text, views=2)
    assert _tools(plan) == ["detect"]
    assert plan.knowledge


def test_a_clause_only_near_an_example_beside_a_clear_order_adds_no_step(
    router: SemanticRouter,
) -> None:
    text = "Tall cells? Are these at least twice as tall as they are wide? Any hobnailing?"
    assert _tools(_plan(router, text, views=1)) == ["vqa"]
    text = (
        "Okay, everybody can see the screen? Great. Before we dive in - co-pilot, tell the "
        "room what magnification this was scanned at and what the pixel size is."
    )
    plan = _plan(router, text, views=1)
    assert _tools(plan) == ["slide_info"]
    # the same weak clause asked alone is still the request
    assert _tools(_plan(router, "tall cells?", views=1)) == ["vqa"]
    # two clear orders are both kept
    text = "count the nuclei here, and then segment the stroma"
    assert _tools(_plan(router, text, views=1)) == ["detect", "segment"]


def test_which_of_the_views_had_the_most_of_a_measure_sets_every_view_side_by_side(
    router: SemanticRouter,
) -> None:
    text = "Of the views where you've already run the composition, which one had the most necrosis?"
    plan = _plan(router, text, views=3)
    assert plan.lookup is not None
    assert plan.lookup.kind == "compare"
    assert sorted(s.args["roi_number"] for s in plan.steps) == [1, 2, 3]
    assert {s.tool for s in plan.steps} == {"composition"}
    # the largest piece of tissue is no view: still the tissue's regions
    plan = _plan(router, "which fragment is the largest?", views=3)
    assert _tools(plan) == ["tissue"]
    # what a tool said of a view earlier is recalled
    plan = _plan(router, "what did you label view 2?", views=3)
    assert plan.lookup is not None
    assert plan.lookup.kind == "recall"


def test_a_question_about_the_image_far_from_every_example_goes_to_the_image_experts(
    router: SemanticRouter,
) -> None:
    plan = _plan(router, "adenoca in this field yes or no, quick", views=2)
    assert _tools(plan) == ["composition"]
    # an order put politely, or a plea for help, still asks what is wanted
    for text in (
        "Can you export those masks as GeoJSON so I can load them into QuPath?",
        "Can you help me with this one?",
    ):
        plan = _plan(router, text, views=2)
        assert plan.clarify, text
        assert plan.steps == [], text


def test_a_share_of_a_compartment_beside_an_order_to_mask_it_is_the_masks_area(
    router: SemanticRouter,
) -> None:
    text = "Stroma occupies which percent of this field? Please with segmentation mask."
    plan = _plan(router, text, views=2)
    assert _tools(plan) == ["segment"]
    assert plan.steps[0].args["what"] == "stroma"
    text = (
        "I wonder how much collagen is left between the tumor cells. "
        "Can you outline the stroma here?"
    )
    plan = _plan(router, text, views=2)
    assert _tools(plan) == ["segment"]
    assert plan.steps[0].args["what"] == "stroma"
    # a tile class's share beside a mask of another compartment is still asked
    text = "how much necrosis is in this field, and segment the epithelium"
    assert sorted(_tools(_plan(router, text, views=2))) == ["composition", "segment"]


def test_a_feature_or_question_after_a_move_is_asked_of_the_new_view(
    router: SemanticRouter,
) -> None:
    for text, tools in (
        ("zoom in x2. mits?", ["zoom", "vqa"]),
        ("largest frag @5x, describe archt.", ["zoom", "vqa"]),
        ("pt (40000, 30000) at 40x, describe", ["zoom", "vqa"]),
        ("zoom out two times what does the tile classifier say", ["zoom", "classify"]),
    ):
        plan = _plan(router, text, views=2)
        assert _tools(plan) == tools, text
        assert plan.steps[-1].args.get("roi_number") != 2, text  # the view the move makes
    # a remark after an analysis is not a feature asked
    text = "What percentage of view 1 is necrosis or debris? Two decimal places."
    assert _tools(_plan(router, text, views=2)) == ["composition"]


def test_words_to_a_resident_dictation_slips_and_why_the_user_moves(
    router: SemanticRouter,
) -> None:
    text = "Aisha, count the mitoses in ten HPFs. Co-pilot, meanwhile count all nuclei here."
    assert _tools(_plan(router, text, views=2)) == ["detect"]
    # without the co-pilot named as the one asked, every sentence is the user's request
    text = "Necrosis, how much is there in this field?"
    assert _tools(_plan(router, text, views=2)) == ["composition"]
    assert _tools(_plan(router, "sell count and epithelium segmentation please", 2)) == [
        "detect",
        "segment",
    ]
    plan = _plan(router, "zoom in 2x, can't make out individual cells at this res", views=2)
    assert _tools(plan) == ["zoom"]
    assert _tools(_plan(router, "whole slide class map pls", views=2)) == ["composition"]
    text = "Go to 40x on this field and tell us the count."
    assert _tools(_plan(router, text, views=2)) == ["zoom", "detect"]


def test_a_bare_way_or_centre_is_a_move_and_more_errands_are_outside(
    router: SemanticRouter,
) -> None:
    plan = _plan(router, "down a bit", views=4)
    assert plan.steps[0].args["pan"] == "down"
    plan = _plan(router, "centre, 20x, count nuclei", views=1)
    assert _tools(plan) == ["zoom", "detect"]
    assert plan.steps[0].args["part"] == "center"
    for text in (
        "Could you get ATRX and p53 ordered on this block? The lab is usually slow on Fridays.",
        "log the last 3 results to my wandb project",
    ):
        plan = _plan(router, text, views=2)
        assert plan.steps == [], text
        assert plan.lookup is None, text
        assert not plan.knowledge, text
    # an answer asked for is no errand
    assert _tools(_plan(router, "get me the count here", views=2)) == ["detect"]


def test_a_verbless_statement_beside_a_question_tells_and_asks_nothing(
    router: SemanticRouter,
) -> None:
    text = "Mucinous adenocarcinoma, pT3. Count the nuclei in view 1."
    assert _tools(_plan(router, text, views=1)) == ["detect"]
    text = "Small cell carcinoma, 60-year-old smoker. What is the pixel size on this scan?"
    assert _tools(_plan(router, text, views=1)) == ["slide_info"]
    # a noun phrase that names what is wanted is still asked for
    text = "Count the nuclei here. Then the slide-level diagnosis."
    assert _tools(_plan(router, text, views=1)) == ["detect", "wsi_classify"]
    plan = _plan(router, "Mucinous adenocarcinoma, pT3. Count the nuclei in view 1.", views=1)
    assert not plan.knowledge
    # alone, a verbless request is the request
    plan = _plan(router, "Melanoma staging, the Breslow thickness cut-offs")
    assert plan.knowledge


def test_a_statement_after_a_move_says_why_and_orders_nothing(router: SemanticRouter) -> None:
    plan = _plan(router, "Pan up a little please. The top of the gland is cut off.", views=2)
    assert _tools(plan) == ["zoom"]
    assert plan.steps[0].args["pan"] == "up"
    # what is wanted, said as a statement, is still an order
    text = "Zoom in 2x. The nuclei are what I want to count."
    assert _tools(_plan(router, text, views=2)) == ["zoom", "detect"]


def test_moves_in_shorthand_words_and_a_resolution_said_alone(router: SemanticRouter) -> None:
    assert _plan(router, "pan lt", views=3).steps[0].args["pan"] == "left"
    plan = _plan(router, "next field down", views=3)
    assert (plan.steps[0].args["pan"], plan.steps[0].args["pan_fraction"]) == ("down", 1.0)
    plan = _plan(router, "zoom in by a factor of three on the centre", views=3)
    assert (plan.steps[0].args["factor"], plan.steps[0].args["part"]) == (3.0, "center")
    plan = _plan(router, "0.5 mpp please", views=3)
    assert _tools(plan) == ["zoom"]
    assert plan.steps[0].args["mpp"] == 0.5
    assert _tools(_plan(router, "mpp?", views=3)) == ["slide_info"]  # the scan's, asked
    plan = _plan(router, "slide overview please", views=3)
    assert _tools(plan) == ["zoom"]
    assert plan.steps[0].args["target"] == "slide"
    text = "the left half at 10x, where the glands look crowded"
    assert _tools(_plan(router, text, views=3)) == ["zoom"]  # why there, not an order


def test_questions_about_what_is_seen_and_the_criteria_to_tell_things_apart(
    router: SemanticRouter,
) -> None:
    assert _tools(_plan(router, "What are these pink blobs?", views=3)) == ["vqa"]
    assert _tools(_plan(router, "Please describe this view", views=3)) == ["vqa"]
    text = "go to the top half and tell me whether the tumour cells reach the margin"
    assert _tools(_plan(router, text, views=3)) == ["zoom", "vqa"]
    text = "What features would you use to tell apart a tubular adenoma from an adenocarcinoma?"
    plan = _plan(router, text, views=3)
    assert plan.steps == []
    assert plan.knowledge
    # a typo fix keeps a word's start: "retraction" is no slip of "extraction"
    low = router.fix_typos(normalise("is that retraction artefact around the nests"))
    assert "retraction" in low


def test_class_maps_shares_of_every_class_errands_and_a_figure_asked_again(
    router: SemanticRouter,
) -> None:
    assert _tools(_plan(router, "colour the image by tissue class", views=3)) == ["composition"]
    text = "what share of this view goes to each class?"
    assert _tools(_plan(router, text, views=3)) == ["composition"]
    for text in ("do a clonality PCR on this block", "save the counts on the shared drive"):
        plan = _plan(router, text, views=3)
        assert plan.steps == [], text
        assert plan.lookup is None, text
    plan = _plan(router, "what's the count in view 2 again", views=3)
    assert plan.steps == []
    assert plan.lookup is not None
    assert plan.lookup.rois == [2]


def test_corrections_ranges_and_a_view_named_with_what_it_showed(router: SemanticRouter) -> None:
    text = "go back to view 1 - sorry, no, view 2 - and count the nuclei there"
    plan = _plan(router, text, views=3)
    assert _tools(plan) == ["zoom", "detect"]
    assert plan.steps[0].args["roi_number"] == 2
    text = "look at the region from x 60,000 to 70,000 and y 40,000 to 48,000"
    plan = _plan(router, text, views=3)
    assert plan.steps[0].args["box"] == [60000, 40000, 70000, 48000]
    text = "take me back to view 1, the low-power view of the largest fragment"
    plan = _plan(router, text, views=3)
    assert plan.steps[0].args["roi_number"] == 1
    assert plan.steps[0].args.get("region_index") is None
    text = "first tell me the magnification, then zoom to the centre of the slide"
    assert _tools(_plan(router, text, views=3)) == ["slide_info", "zoom"]


def test_an_analysis_here_compared_with_other_views_compares_all_of_them(
    router: SemanticRouter,
) -> None:
    plan = _plan(router, "segment stroma here and compare the stromal area with views 2 and 3", 4)
    assert plan.lookup is not None
    assert sorted(plan.lookup.rois) == [2, 3, 4]
    # two views named alone are the two compared
    plan = _plan(router, "segment stroma here and compare views 2 and 3", views=4)
    assert plan.lookup is not None
    assert sorted(plan.lookup.rois) == [2, 3]


def test_a_single_word_near_a_move_naming_no_place_is_asked_about(router: SemanticRouter) -> None:
    for text in ("explain", "Next."):
        plan = _plan(router, text, views=3)
        assert plan.steps == [], text
        assert plan.clarify, text
    plan = _plan(router, "next field", views=3)
    assert _tools(plan) == ["zoom"]


def test_a_move_naming_no_place_before_an_order_and_words_of_one_stem_kept(
    router: SemanticRouter,
) -> None:
    text = "We've been over the margins already. Is the tumour here viable?"
    assert _tools(_plan(router, text, views=2)) == ["vqa"]
    # "clinician" is no slip of "clinical": one stem, two endings
    assert "clinician" in router.fix_typos(normalise("the clinician said it was ulcerated"))


def test_things_seen_and_an_opinion_asked_go_to_the_image_experts(router: SemanticRouter) -> None:
    text = "what are the tiny dark blue dots in the stroma?"
    assert _tools(_plan(router, text, views=3)) == ["vqa"]
    text = (
        "In your opinion, is this a tubular adenoma, and what grade of dysplasia would you give it?"
    )
    assert _tools(_plan(router, text, views=3)) == ["vqa"]
    plan = _plan(router, "what are the criteria for dysplasia", views=3)
    assert plan.steps == []
    assert plan.knowledge


def test_a_share_of_a_named_box_is_no_order_to_show_the_box() -> None:
    low = normalise("What proportion of the box 30000,10000,36000,16000 is adipose tissue?")
    assert grammar_cue(low) != "zoom"
    assert grammar_cue(normalise("show me the box 30000,10000,36000,16000")) == "zoom"


def test_a_fragment_count_is_the_tissue_tools_and_zooming_out_of_a_factor(
    router: SemanticRouter,
) -> None:
    text = "run the tissue detection, then the fragment count + the area of each in mm²"
    assert _tools(_plan(router, text, views=3)) == ["tissue"]
    plan = _plan(router, "zoom out of 3 times and tell me the composition", views=3)
    assert _tools(plan) == ["zoom", "composition"]
    assert plan.steps[0].args["factor"] == pytest.approx(1 / 3)


def test_the_nuclear_to_cytoplasmic_ratio_of_cells_seen_is_a_visual_question(
    router: SemanticRouter,
) -> None:
    # the detector outlines nuclei and no cytoplasm: the ratio is the image experts' to judge
    low = normalise("What would you estimate the N:C ratio of these cells to be?")
    assert router._visual_cue(low) == "vqa"
    low = normalise("what is the normal N:C ratio of a lymphocyte")
    assert router._visual_cue(low) is None


def test_a_stain_index_asked_alone_is_not_answered_by_the_tissue_classes(
    router: SemanticRouter,
) -> None:
    plan = _plan(router, "Can you give me the Ki-67 percentage for this field?", views=3)
    assert plan.steps == []
    assert plan.clarify is not None
    assert "Ki-67 immunohistochemistry" in plan.clarify
    # beside an order the tools can carry out, the order runs and the index is said to be out
    plan = _plan(router, "count the nuclei here and is it HER2 positive?", views=3)
    assert _tools(plan) == ["detect"]
    assert any("HER2" in note for note in plan.notes)


def test_whether_a_scheme_exists_belongs_to_the_textbook_question(router: SemanticRouter) -> None:
    text = "How is a melanoma staged? Is there an agreed system?"
    plan = _plan(router, text, views=3)
    assert plan.steps == []
    assert plan.knowledge
    # whether something is in this field is still the image's
    text = "what are the criteria for perineural invasion? is there any in this field?"
    assert _tools(_plan(router, text, views=3)) == ["vqa"]


def test_two_tile_classes_named_as_a_choice_after_a_move_ask_for_the_class(
    router: SemanticRouter,
) -> None:
    plan = _plan(router, "pan left, then lymphocytes or tumour?", views=3)
    assert _tools(plan) == ["zoom", "classify"]
    # a choice between things no tile class names is the image experts'
    assert _tools(_plan(router, "expansile or infiltrative?", views=3)) == ["vqa"]


def test_what_am_i_looking_at_on_a_view_asks_for_it_described(router: SemanticRouter) -> None:
    # on a view, the question asks what the field shows; "what is this?" stays its class
    assert _tools(_plan(router, "what are we looking at right now?", views=2)) == ["vqa"]
    assert _tools(_plan(router, "what is this?", views=2)) == ["classify"]


def test_remind_me_how_a_scheme_is_scored_is_the_textbook_not_the_case(
    router: SemanticRouter,
) -> None:
    plan = _plan(router, "remind me how Gleason patterns are scored nowadays", views=2)
    assert plan.knowledge
    assert plan.steps == []
    # an aside in brackets with "I" in it does not make it a question about the case
    text = "remind me (I always forget) what the cut-offs are for micrometastases"
    assert _plan(router, text, views=2).knowledge
    # what a view held is still the case's memory
    assert _plan(router, "remind me what the tumour grade was in view 2", views=3).lookup


def test_rescans_essays_and_slide_decks_are_errands(router: SemanticRouter) -> None:
    for said in (
        "rescan this slide at 20x please",
        "could you write my dissertation abstract on serrated polyps",
        "make me some slides for the tumour board",
    ):
        plan = _plan(router, said, views=2)
        assert plan.steps == [], said
        assert plan.clarify is not None, said
        assert "outside the co-pilot" in plan.clarify, said


def test_the_slide_classifiers_score_and_gaze_are_asked_by_name(router: SemanticRouter) -> None:
    assert _tools(_plan(router, "show me where the model is looking on this case", views=2)) == [
        "wsi_classify"
    ]
    both = _plan(router, "class map for the whole slide and the slide-level score", views=2)
    assert sorted(_tools(both)) == ["composition", "wsi_classify"]
    shares = _plan(router, "the share of each tissue class on all the slide", views=2)
    assert [(s.tool, s.args.get("target")) for s in shares.steps] == [("composition", "slide")]
    # talk only near an example before it does not swallow the output asked for
    text = (
        "Heatmaps mislead me half the time. Still, show me the attention map, then go to piece 2."
    )
    assert sorted(_tools(_plan(router, text, views=2))) == ["wsi_classify", "zoom"]
    # a heat map of tissue classes is the class map's
    assert _tools(_plan(router, "show me a tumour heatmap of this field", views=2)) == [
        "composition"
    ]


def test_a_side_of_the_slide_is_its_half_and_a_power_after_zoom_in_is_absolute(
    router: SemanticRouter,
) -> None:
    side = _plan(router, "go to the left side of the slide", views=2).steps
    assert [(s.tool, s.args.get("part")) for s in side] == [("zoom", "left_half")]
    power = _plan(router, "zoom in, 20x", views=2).steps[0].args
    assert power.get("magnification") == 20.0
    assert power.get("factor") is None
    assert _plan(router, "zoom in 2x", views=2).steps[0].args.get("factor") == 2.0
    centre = _plan(router, "go to 20x on the middle", views=2).steps[0].args
    assert (centre.get("part"), centre.get("magnification")) == ("center", 20.0)


def test_a_feature_beside_a_tissue_class_is_the_image_experts(router: SemanticRouter) -> None:
    for said in (
        "any lymphoepithelial lesions in this field?",
        "is there gland crowding here?",
        "do any of these follicles have germinal centres?",
    ):
        assert _tools(_plan(router, said, views=2)) == ["vqa"], said
    # the class itself, present or not, is the tile classifier's; glands are the epithelium's
    assert _tools(_plan(router, "is there necrosis in this field?", views=2)) == ["composition"]
    assert _tools(_plan(router, "any glands in this field?", views=2)) == ["segment"]


def test_two_classes_offered_with_a_place_or_would_you_say_ask_for_the_class(
    router: SemanticRouter,
) -> None:
    text = "stroma or tumour in this field, would you say? and count the nuclei"
    assert sorted(_tools(_plan(router, text, views=2))) == ["classify", "detect"]


def test_a_stance_before_an_order_adds_no_step(router: SemanticRouter) -> None:
    text = "for the record I don't buy the tumour call. count the nuclei here"
    assert _tools(_plan(router, text, views=2)) == ["detect"]


def test_compare_this_and_that_for_a_measure_is_one_comparison(router: SemanticRouter) -> None:
    plan = _plan(router, "compare view 1 and this one for cell counts", views=3)
    assert [r["capability"] for r in plan.routing] == ["compare"]
    assert sorted(s.args.get("roi_number") for s in plan.steps) == [1, 3]


def test_texting_shorthand_reads_as_words(router: SemanticRouter) -> None:
    assert _plan(router, "wat did the classifier say about view 2", views=3).lookup
    assert _tools(_plan(router, "nuc grade?", views=2)) == ["vqa"]
    overview = _plan(router, "start with the overview and the tissue fraction", views=0)
    assert sorted(_tools(overview)) == ["tissue", "zoom"]


def test_requests_that_failed_without_their_own_examples(router: SemanticRouter) -> None:
    """Phrasings that routed right only while their own batch's examples were present."""
    assert _tools(_plan(router, "I'd bet that's budding. Any tumour buds at this front?", 2)) == [
        "vqa"
    ]
    for said in ("which tumours have psammoma bodies?", "what exactly counts as STAS?"):
        plan = _plan(router, said, views=2)
        assert plan.knowledge, said
        assert plan.steps == [], said
    assert _tools(_plan(router, "is the entire slide carcinoma or not?", views=2)) == [
        "wsi_classify"
    ]
    assert _plan(router, "which views have I already looked at?", views=3).lookup
    assert _tools(_plan(router, "how many new clay are there in this one", views=2)) == ["detect"]
    assert _tools(_plan(router, "what's the mpp at level 0?", views=2)) == ["slide_info"]
    back = _plan(router, "back to where we were before", views=3).steps
    assert [(s.tool, s.args.get("roi_number")) for s in back] == [("zoom", 2)]
    assert _tools(_plan(router, "what does the patch model call this, mucus or debris?", 2)) == [
        "classify"
    ]
    assert _tools(_plan(router, "where are the cores? outline and area", views=0)) == ["tissue"]
    point = _plan(router, "take me to the point 40000 30000", views=2).steps[0].args
    assert (point.get("target"), point.get("center")) == ("point", [40000.0, 30000.0])


def test_a_correction_said_mid_request_keeps_the_last_word(router: SemanticRouter) -> None:
    assert _tools(
        _plan(router, "count the nuclei - actually scratch that, outline the stroma", 2)
    ) == ["segment"]
    piece = _plan(router, "go to piece 2 — er, 3", views=2).steps[0].args
    assert (piece.get("target"), piece.get("region_index")) == ("tissue_region", 3)
    scale = _plan(router, "zoom to 0.5 mpp, sorry, 0.25", views=2).steps[0].args
    assert scale.get("mpp") == 0.25
    part = _plan(router, "go to the top left of the view — wait, bottom left", views=2).steps[0]
    assert part.args.get("part") == "bottom_left"
    pan = _plan(router, "Pan right. Actually, pan down, and count the nuclei there", views=2)
    assert [(s.tool, s.args.get("pan")) for s in pan.steps][0] == ("zoom", "down")


def test_the_co_pilot_named_as_the_one_asked_is_no_request(router: SemanticRouter) -> None:
    plan = _plan(router, "Great work today, team. Thanks, co-pilot.", views=2)
    assert plan.steps == []
    typed = _plan(router, "Co-pilot, count just the neutrophils here for Priya.", views=2)
    assert typed.steps == []
    assert typed.clarify is not None
    assert "neutrophils" in typed.clarify


def test_more_phrasings_from_the_newest_blind_batches(router: SemanticRouter) -> None:
    core = _plan(router, "now the biggest core at 10x", views=2).steps[0].args
    assert (core.get("target"), core.get("region_index")) == ("tissue_region", 1)
    half = _plan(router, "zoom in 2x on the top half", views=2).steps[0].args
    assert (half.get("part"), half.get("factor")) == ("top_half", 2.0)
    centre = _plan(router, "zoom 4x into the middle", views=2).steps[0].args
    assert (centre.get("part"), centre.get("factor")) == ("center", 4.0)
    text = "Any mitoses here? And remind me which stains highlight mast cells."
    plan = _plan(router, text, views=2)
    assert _tools(plan) == ["vqa"]
    assert plan.knowledge
    graded = "How would you grade the differentiation in this field?"
    assert _tools(_plan(router, graded, views=2)) == ["vqa"]
    assert _tools(_plan(router, "Stroma or muscle, as per the tile classifier?", views=2)) == [
        "classify"
    ]
    remark = "Any necrosis here? That would fit a colorectal primary."
    assert _tools(_plan(router, remark, views=2)) == ["composition"]
    low_to_me = "Cellularity looks high to me. Are these plasma cells?"
    assert _tools(_plan(router, low_to_me, views=2)) == ["vqa"]


def test_asides_beside_a_slide_level_question_add_no_step(router: SemanticRouter) -> None:
    text = (
        "Does the slide-level model call this slide tumour or normal? Yes, I know, colon-trained."
    )
    assert _tools(_plan(router, text, views=2)) == ["wsi_classify"]
    text = "What is the model's diagnosis for the whole slide? Tumour or normal?"
    assert _tools(_plan(router, text, views=2)) == ["wsi_classify"]
    # looking at something on the view in front of us is no move
    text = "Look at the glands here. Do you see any cribriform architecture?"
    assert _tools(_plan(router, text, views=2)) == ["vqa"]
    assert _tools(_plan(router, "look at view 1", views=2)) == ["zoom"]


def test_the_outputs_named_after_a_count_are_that_counts(router: SemanticRouter) -> None:
    text = "detect the nuclei in this region and give their count and mean area"
    assert _tools(_plan(router, text, views=1)) == ["detect"]


def test_lettered_lists_arrows_and_steps_not_to_take(router: SemanticRouter) -> None:
    text = "a) describe the field b) is it tumour c) stop there, no counting"
    assert sorted(_tools(_plan(router, text, views=3))) == ["classify", "vqa"]
    plan = _plan(router, "pan up -> classify -> no composition this time", views=3)
    assert _tools(plan) == ["zoom", "classify"]
    plan = _plan(router, "1) point (70000, 20000) at 10x 2) tumor or stroma?", views=3)
    assert _tools(plan) == ["zoom", "classify"]
    assert plan.steps[0].args["center"] == [70000.0, 20000.0]
    # a comparison with a view named by its number alone; the zoom stays on the view on screen
    plan = _plan(router, "zoom in 2x -> count -> compare with 1", views=3)
    assert plan.lookup is not None
    assert plan.lookup.rois == [4, 1]
    zoom = next(s for s in plan.steps if s.tool == "zoom")
    assert zoom.args["roi_number"] == 3
    assert zoom.args["factor"] == 2.0


def test_a_lead_before_clause_orders_nothing(router: SemanticRouter) -> None:
    text = (
        "Before you proceed to any counting, please move down somewhat, and then describe the "
        "serosa for me."
    )
    plan = _plan(router, text, views=2)
    assert _tools(plan) == ["zoom", "vqa"]
    assert plan.lookup is None
    assert plan.steps[0].args["pan"] == "down"


def test_fields_named_by_bounds_and_by_size_at_a_fragment(router: SemanticRouter) -> None:
    text = (
        "Would you now go to the region bounded by 44,000, 31,000 and 47,000, 34,000, and there "
        "perform a composition analysis?"
    )
    plan = _plan(router, text, views=2)
    assert _tools(plan) == ["zoom", "composition"]
    assert plan.steps[0].args["box"] == [44000, 31000, 47000, 34000]
    plan = _plan(router, "Open a 1024 x 1024 px field at the center of fragment 2.", views=2)
    assert plan.steps[0].args == {
        "target": "tissue_region",
        "region_index": 2,
        "size_px": [1024, 1024],
    }
    plan = _plan(router, "Put in 0.5 microns per pixel", views=2)
    assert _tools(plan) == ["zoom"]
    assert plan.steps[0].args["mpp"] == 0.5


def test_sources_limits_and_typed_cells(router: SemanticRouter) -> None:
    text = "What criteria does the knowledge graph give for lymphovascular invasion here?"
    plan = _plan(router, text, views=2)
    assert plan.steps == []
    assert plan.knowledge
    text = "What is the definition of tumour budding according to the ITBCC? until how many cells?"
    plan = _plan(router, text, views=2)
    assert plan.steps == []
    assert plan.knowledge
    for typed in ("Count only the CD8+ cells here.", "Count only the hepatocyte nuclei."):
        assert _plan(router, typed, views=2).steps == []
    assert _tools(_plan(router, "count only the nuclei in view 2", views=2)) == ["detect"]
    text = "In the event that the tool is able to do so, I should like it to order a Gram stain."
    assert _plan(router, text, views=2).steps == []


def test_an_order_taken_back_later_in_the_message_is_not_run(router: SemanticRouter) -> None:
    text = "Describe the field and count the nuclei — actually skip the description, just count"
    assert _tools(_plan(router, text, views=2)) == ["detect"]
    text = (
        "Zoom into 40000, 30000 — no, 45000, 30000 — at 20x and count the nuclei. Hmm, no, "
        "don't count yet, just describe it."
    )
    plan = _plan(router, text, views=2)
    assert _tools(plan) == ["zoom", "vqa"]
    assert plan.steps[0].args["center"] == [45000.0, 30000.0]
    # a step not to take that takes nothing back: the order before it stands
    text = "go to view 1, count the nuclei, don't zoom again"
    assert _tools(_plan(router, text, views=2)) == ["zoom", "detect"]
    text = "Don't re-run the count, just tell me what it was"
    plan = _plan(router, text, views=2)
    assert plan.steps == []
    assert plan.lookup is not None
    assert plan.lookup.kind == "recall"


def test_facts_beside_a_recall_and_scales_said_after_a_purpose(router: SemanticRouter) -> None:
    text = (
        "Objective power at scan time and the full-res dimensions - and remind me what the "
        "slide-level score was"
    )
    plan = _plan(router, text, views=2)
    assert _tools(plan) == ["slide_info"]
    assert plan.lookup is not None
    text = "Which views have we visited so far, and at what magnification?"
    assert _plan(router, text, views=2).steps == []
    plan = _plan(router, "Can you zoom in so I can actually see cells? like 20x maybe", views=2)
    assert plan.steps[0].args["magnification"] == 20.0
    text = "The mucus, is present in this slide? How much in percent on all slide?"
    plan = _plan(router, text, views=2)
    assert _tools(plan) == ["composition"]
    assert plan.steps[0].args["target"] == "slide"


def test_the_last_view_beside_the_first_is_the_latest(router: SemanticRouter) -> None:
    plan = _plan(router, "is the first one more cellular than the last one", views=3)
    assert plan.lookup is not None
    assert sorted(plan.lookup.rois) == [1, 3]
    plan = _plan(router, "side by side comparison of the first and the last view pls", views=5)
    assert _tools(plan) == ["detect", "detect"]
    assert plan.lookup is not None
    assert sorted(plan.lookup.rois) == [1, 5]
    # alone, the last view is the one before the view on screen
    plan = _plan(router, "go back to the last view", views=3)
    assert plan.steps[0].args["roi_number"] == 2


def test_sentences_to_the_room_before_the_co_pilot_is_addressed(router: SemanticRouter) -> None:
    text = (
        "Look at these nuclei. Vesicular chromatin, big nucleoli. Co-pilot, would you call them "
        "pleomorphic?"
    )
    assert _tools(_plan(router, text, views=2)) == ["vqa"]
    text = (
        "You all know dirty necrosis is a clue to a colorectal primary. Co-pilot, does the "
        "classifier pick up necrosis anywhere in this field?"
    )
    plan = _plan(router, text, views=2)
    assert _tools(plan) == ["composition"]
    assert not plan.knowledge
    text = "Everyone see the glands? Co-pilot, count the nuclei."
    assert _tools(_plan(router, text, views=2)) == ["detect"]
    # an order said before the co-pilot is named is still the co-pilot's
    text = "Zoom in 2x. Co-pilot, what tissue is this?"
    assert _tools(_plan(router, text, views=2)) == ["zoom", "classify"]


def test_the_other_view_is_named_or_asked_for(router: SemanticRouter) -> None:
    plan = _plan(router, "compare this one with the other one", views=2)
    assert plan.lookup is not None
    assert sorted(plan.lookup.rois) == [1, 2]
    plan = _plan(router, "Sorry, could you go to the one I mentioned before, the other one?", 3)
    assert plan.steps == []
    assert plan.clarify is not None
    assert "views 1, 2, 3" in plan.clarify
    plan = _plan(router, "no, the other one — view 3", views=4)
    assert _tools(plan) == ["zoom"]
    assert plan.steps[0].args["roi_number"] == 3


def test_shares_asked_after_a_class_named_and_a_tiled_slide(router: SemanticRouter) -> None:
    text = "whats that pink amorphous stuff in the lumen, necrosis? how much of it"
    assert sorted(_tools(_plan(router, text, views=2))) == ["composition", "vqa"]
    # after an area the segmentation measures, "how much" is that area
    assert _tools(_plan(router, "segment the stroma, how much of it is there", views=2)) == [
        "segment"
    ]
    text = "Tile the entire slide through the classifier and return per-class area percentages."
    plan = _plan(router, text, views=2)
    assert _tools(plan) == ["composition"]
    assert plan.steps[0].args["target"] == "slide"
    text = (
        "Could you move down a little, and then segment the stroma there? I'd like its area for "
        "comparison."
    )
    assert _tools(_plan(router, text, views=2)) == ["zoom", "segment"]


def test_there_after_an_aside_and_the_tile_classifier_over_the_slide(
    router: SemanticRouter,
) -> None:
    plan = _plan(router, "There's a polyp on the third piece. Go there at 20x.", views=2)
    assert plan.steps[0].args == {
        "magnification": 20.0,
        "target": "tissue_region",
        "region_index": 3,
    }
    # "there" alone is the view on screen
    plan = _plan(router, "go there at 20x", views=2)
    assert plan.steps[0].args["roi_number"] == 2
    text = (
        "Is there anything on the whole slide that the tile classifier considers to be "
        "adenocarcinoma, and if so, what proportion of the tissue does it represent?"
    )
    plan = _plan(router, text, views=2)
    assert _tools(plan) == ["composition"]
    assert plan.steps[0].args["target"] == "slide"


def test_a_question_about_where_something_lies_is_no_move(router: SemanticRouter) -> None:
    text = "Where does the tissue sit on the glass? Is most of it in the right half?"
    assert _tools(_plan(router, text, views=2)) == ["tissue"]
    assert _tools(_plan(router, "top left please", views=2)) == ["zoom"]
    assert _tools(_plan(router, "is the tumour in the top left? zoom there", views=2))[0] == "zoom"


def test_the_compartment_named_in_a_clause_of_its_own(router: SemanticRouter) -> None:
    text = "Can you measure the glandy parts? I think you call that epithelium?"
    plan = _plan(router, text, views=2)
    assert _tools(plan) == ["segment"]
    assert plan.steps[0].args["what"] == "epithelium"
    # the compartment the segmentation clause names wins over one named elsewhere
    text = "segment the nuclei here and tell me if the epithelium looks dysplastic"
    plan = _plan(router, text, views=2)
    assert plan.steps[0].args["what"] == "nuclei"


def test_the_tile_classifier_named_inside_the_question(router: SemanticRouter) -> None:
    text = "is there any tumour in this field according to the tile classifier?"
    assert _tools(_plan(router, text, views=2)) == ["composition"]
    assert _tools(_plan(router, "is this tumour according to the classifier?", views=2)) == [
        "classify"
    ]


def test_an_analysis_asked_at_a_magnification_makes_that_view_first(
    router: SemanticRouter,
) -> None:
    plan = _plan(router, "count the nuclei in fragment 2 at 20x", views=3)
    zoom, detect = plan.steps
    assert zoom.tool == "zoom"
    assert zoom.args["magnification"] == 20
    assert zoom.args["region_index"] == 2
    assert detect.tool == "detect"
    assert detect.args["roi_number"] == 4  # the view the zoom makes, not the whole fragment
    zoom, classify = _plan(router, "classify view 1 @ 10x", views=3).steps
    assert (zoom.args["roi_number"], zoom.args["magnification"]) == (1, 10)
    assert classify.args["roi_number"] == 4
    # a scale said of something else is no order to zoom
    text = "Are nucleoli conspicuous at 10x here? Trying to decide between ISUP 2 and 3."
    assert _tools(_plan(router, text, views=3)) == ["vqa"]
    text = "Compare the count here with the 40x field in view 2"
    assert "zoom" not in _tools(_plan(router, text, views=3))


def test_the_same_again_at_a_scale_or_of_another_compartment(router: SemanticRouter) -> None:
    rois = [_view(n) for n in (1, 2, 3)]
    counted = [{"id": "E4.1", "tool": "detect", "ok": True, "summary": "", "output": {}}]
    plan = semantic_plan("same at 40x", router, rois, 3, "s1", archive=counted, slide=SLIDE)
    assert _tools(plan) == ["zoom", "detect"]
    assert plan.steps[0].args["magnification"] == 40
    plan = semantic_plan("same here", router, rois, 3, "s1", archive=counted, slide=SLIDE)
    assert _tools(plan) == ["detect"]
    text = "pan right a bit and do the same there"
    plan = semantic_plan(text, router, rois, 3, "s1", archive=counted, slide=SLIDE)
    assert _tools(plan) == ["zoom", "detect"]
    assert plan.steps[1].args["roi_number"] == 4  # the view the pan makes
    masked = [
        {
            "id": "E4.1",
            "tool": "segment",
            "ok": True,
            "summary": "",
            "inputs": {"what": "epithelium"},
            "output": {"roi_number": 3},
        }
    ]
    text = "Same for stroma in view 2, as a percentage of the view."
    (step,) = semantic_plan(text, router, rois, 3, "s1", archive=masked, slide=SLIDE).steps
    assert (step.tool, step.args["what"], step.args["roi_number"]) == ("segment", "stroma", 2)
    text = "same for view 2"
    (step,) = semantic_plan(text, router, rois, 3, "s1", archive=masked, slide=SLIDE).steps
    assert (step.tool, step.args["what"], step.args["roi_number"]) == ("segment", "epithelium", 2)


def test_the_smallest_fragment_is_counted_from_the_smallest(router: SemanticRouter) -> None:
    plan = _plan(router, "find the tissue pieces and then take me to the smallest one")
    assert _tools(plan) == ["tissue", "zoom"]
    assert plan.steps[1].args == {"target": "tissue_region", "region_index": -1}
    assert plan.steps[1].why == "the smallest tissue region"
    (step,) = _plan(router, "count the nuclei in the second smallest fragment", views=2).steps
    assert (step.tool, step.args["region_index"]) == ("detect", -2)
    assert step.why == "the 2nd smallest tissue region"
    # the smallest of something else is no fragment
    plan = _plan(router, "which view had the smallest count?", views=3)
    assert all(s.args.get("target") != "tissue_region" for s in plan.steps)


@pytest.mark.parametrize(
    "text",
    [
        "Is mitotic activity alone enough for grade 3 under the WHO?",
        "what is the Banff classification based on?",
        "which neck levels count as N1 in oral SCC?",
        "what depth makes invasion a high-risk feature in a lip SCC?",
        # a scale's thresholds, and reminders of them
        "remind me isup grade 3 vs 4 cutoffs",
        "remind me of the Nottingham grading components",
        "remind me again what counts as a positive margin",
        "remind me the difference between pT1a and pT1b",
        "remind me what a crescent is",
        "banff ci/ct scoring cutoffs?",
        "with differentiation score 3, mitoses about 12 per 10 hpf and no necrosis what FNCLCC "
        "grade does the dediff component get",
    ],
)
def test_a_question_put_to_a_guideline_is_textbook(router: SemanticRouter, text: str) -> None:
    plan = _plan(router, text, views=2)
    assert plan.knowledge
    assert plan.steps == []


def test_a_guideline_asked_of_this_field_is_about_the_image(router: SemanticRouter) -> None:
    assert _tools(_plan(router, "is this grade 2 under the WHO scheme?", views=2)) == ["vqa"]


def test_an_analysis_asked_by_its_noun_alone_after_a_place(router: SemanticRouter) -> None:
    plan = _plan(router, "largest fragment at 10x, composition?")
    assert _tools(plan) == ["zoom", "composition"]
    plan = _plan(router, "second piece at 40x, nuclei?")
    assert _tools(plan) == ["zoom", "detect"]


def test_a_count_of_pieces_said_with_too_is_no_dictated_number(router: SemanticRouter) -> None:
    plan = _plan(router, "do you count three pieces too?", views=1)
    assert _tools(plan) == ["tissue"]
    # a dictated number after one view is still heard as that number
    plan = _plan(router, "compare view one and view too", views=3)
    assert plan.lookup is not None
    assert plan.lookup.rois == [1, 2]


def test_a_place_put_first_is_what_the_question_after_it_is_about(
    router: SemanticRouter,
) -> None:
    (step,) = _plan(router, "on the largest piece, how many nuclei?", views=3).steps
    assert (step.tool, step.args["region_index"]) == ("detect", 1)
    (step,) = _plan(router, "In view 2, count the nuclei", views=3).steps
    assert (step.tool, step.args["roi_number"]) == ("detect", 2)
    # a place to go, then an order: both
    assert _tools(_plan(router, "go to fragment 2, then count the nuclei", views=3)) == [
        "zoom",
        "detect",
    ]


def test_a_fact_and_what_the_user_makes_of_it_adds_no_order(router: SemanticRouter) -> None:
    text = (
        "What would the classifier say here, stroma or tumour? Scar dermis is fibroblastic, "
        "so my money is on stroma."
    )
    assert _tools(_plan(router, text, views=2)) == ["classify"]
    text = "what does the tile classifier call it? my money's on mucosa"
    assert _tools(_plan(router, text, views=2)) == ["classify"]


def test_confidence_asked_of_a_tool_on_this_view_is_its_call_now(router: SemanticRouter) -> None:
    plan = _plan(router, "how confident is the tile classifier here?", views=3)
    assert _tools(plan) == ["classify"]
    # of a view analysed before, or of "it": what the case holds
    plan = _plan(router, "how confident was the classifier on view 1?", views=3)
    assert plan.lookup is not None
    assert plan.lookup.kind == "recall"


def test_remind_me_which_view_had_the_most_is_what_the_case_found(
    router: SemanticRouter,
) -> None:
    text = "could you remind me which of the fields we looked at showed the most stroma?"
    plan = _plan(router, text, views=3)
    assert plan.lookup is not None
    assert plan.lookup.kind == "recall"
    plan = _plan(router, "of the views you counted, which one had the most nuclei?", views=3)
    assert plan.lookup is not None
    assert plan.lookup.kind == "compare"


def test_a_claim_put_to_a_model_is_its_call_now_not_the_case_memory(
    router: SemanticRouter,
) -> None:
    plan = _plan(router, "How confident is the slide-level model that this is tumour?", views=3)
    assert _tools(plan) == ["wsi_classify"]
    plan = _plan(router, "how confident were you that it was tumour?", views=3)
    assert _lookup_kind(plan) == "recall"


def test_changing_how_the_image_is_shown_or_exporting_a_file_is_outside(
    router: SemanticRouter,
) -> None:
    for text in (
        "i don't trust this orientation. rotate the image 90 deg so I can see the front",
        "Would you correct the colour balance, which appears to me rather too eosinophilic?",
        "adjust the brightness",
        "Could you turn the image round 90 degrees? I am used to seeing it the other way about.",
    ):
        _answered_by_line(router, text, "how the image is shown")
    for text in (
        "Export all of this to a PDF for sign-out",
        "export everything to CSV and email it to me",
        "Can you request ZN and PAS-D levels on block A2?",
        "1) export the report as PDF 2) sign it out",
        "Great, now put all of this into our tumour board presentation template.",
    ):
        _answered_by_line(router, text, "outside the co-pilot")
    # a move that says "flip", and the case's results asked for, are no errands
    plan = _plan(router, "flip back to view 2", views=3)
    assert _tools(plan) == ["zoom"]
    assert plan.steps[0].args["roi_number"] == 2
    text = "Export everything we measured on this slide today - counts, labels and areas."
    plan = _plan(router, text, views=3)
    assert _lookup_kind(plan) == "recall"


def test_the_lamina_propria_is_stroma_and_a_breakdown_is_the_class_shares(
    router: SemanticRouter,
) -> None:
    plan = _plan(router, "segment the lamina propria here", views=2)
    assert _tools(plan) == ["segment"]
    assert plan.steps[0].args["what"] == "stroma"
    text = "What does the classifier call this field? Then give me the % breakdown of the slide"
    plan = _plan(router, text, views=2)
    assert _tools(plan) == ["classify", "composition"]
    assert plan.steps[1].args["target"] == "slide"
    plan = _plan(router, "what percentage of the slide is actually tissue", views=2)
    assert _tools(plan) == ["tissue"]


def test_another_model_than_the_deployments_is_not_a_tool_call(
    router: SemanticRouter,
) -> None:
    text = "Can you rerun the nuclei with StarDist instead of the default detector?"
    _answered_by_line(router, text, "cannot swap in another model")
    # the co-pilot's own experts named: an order, not a swap
    plan = _plan(router, "count nuclei using the detector instead of the segmenter", views=3)
    assert _tools(plan) == ["detect"]


def test_a_lymph_node_is_a_tissue_piece_and_short_typos_are_read(router: SemanticRouter) -> None:
    (step,) = _plan(router, "go to the largest node at 10x", views=2).steps
    assert step.args["target"] == "tissue_region"
    assert step.args["region_index"] == 1
    (step,) = _plan(router, "open node 2, 5x", views=2).steps
    assert step.args["region_index"] == 2
    assert step.args["magnification"] == 5.0
    text = "how much of teh slide overall is tumour, stroma and so forth?"
    (step,) = _plan(router, text, views=2).steps
    assert step.tool == "composition"
    assert step.args["target"] == "slide"


def test_a_reminder_of_how_a_system_grades_is_textbook_and_a_summary_goes_beside_a_comparison(
    router: SemanticRouter,
) -> None:
    text = (
        "Describe the nuclear features for me - pleomorphism, nucleoli, that sort of thing. "
        "And remind me how the WHO grades these tumours now; is it still by gland formation?"
    )
    plan = _plan(router, text, views=3)
    assert _tools(plan) == ["vqa"]
    assert plan.knowledge
    assert plan.lookup is None
    plan = _plan(router, "count the cells in that cluster, and remind me the ITC cutoff", views=3)
    assert _tools(plan) == ["detect"]
    assert plan.knowledge
    plan = _plan(router, "remind me the count in view 2", views=3)
    assert _lookup_kind(plan) == "recall"
    text = "compare view 1 and 2 for tissue class, then summarise the case so far"
    plan = _plan(router, text, views=3)
    assert _lookup_kind(plan) == "compare"
    assert plan.also is not None
    assert plan.also.kind == "recall"


def test_one_analysis_at_several_places_is_planned_at_each(router: SemanticRouter) -> None:
    plan = _plan(router, "count nuclei in views 1 to 4", views=4)
    assert _tools(plan) == ["detect"] * 4
    assert [s.args["roi_number"] for s in plan.steps] == [1, 2, 3, 4]
    plan = _plan(router, "segment stroma here and in fragment 2", views=4)
    assert _tools(plan) == ["segment", "segment"]
    assert plan.steps[0].args["roi_number"] == 4
    assert plan.steps[1].args == {"target": "tissue_region", "region_index": 2, "what": "stroma"}
    # a place said in a clause of its own after the order is another place, not a move
    plan = _plan(router, "Count nuclei here and then on the largest piece", views=4)
    assert _tools(plan) == ["detect", "detect"]
    assert plan.steps[1].args["region_index"] == 1
    plan = _plan(router, "Count nuclei in view 1, in this view, and in fragment 1.", views=4)
    assert _tools(plan) == ["detect"] * 3
    # one place, or a move that is an order of its own: as before
    plan = _plan(router, "count nuclei, then zoom to fragment 2", views=4)
    assert _tools(plan) == ["zoom", "detect"]


def test_a_look_again_or_the_co_pilots_read_of_a_disease_is_a_visual_question(
    router: SemanticRouter,
) -> None:
    text = "zoom to the top right where the vessels are first, then look again"
    assert _tools(_plan(router, text, views=3)) == ["zoom", "vqa"]
    text = "Have a look at this piece and tell me whether you think it is a tubular adenoma."
    assert _tools(_plan(router, text, views=3)) == ["vqa"]
    plan = _plan(router, "what is a tubular adenoma?", views=3)
    assert plan.steps == []
    assert plan.knowledge


def test_a_share_beside_a_mask_of_the_cells_is_asked_of_the_tile_classes(
    router: SemanticRouter,
) -> None:
    text = "zoom out 2x, then % stroma vs tumour, and segment the cellular area"
    plan = _plan(router, text, views=3)
    assert _tools(plan) == ["zoom", "segment", "composition"]
    assert plan.steps[0].args["factor"] == 0.5
    assert plan.steps[1].args["what"] == "cellular"
    # the share of the compartment the mask outlines is that mask's area
    text = "how much collagen is left between the tumour cells? outline the stroma here"
    assert _tools(_plan(router, text, views=3)) == ["segment"]


def test_a_question_asked_of_this_slide_is_the_slides_with_a_view_open(
    router: SemanticRouter,
) -> None:
    text = "are there any lymphocytes on this slide at all, or is it all mucosa?"
    (step,) = _plan(router, text, views=3).steps
    assert step.tool == "composition"
    assert step.args["target"] == "slide"
    # a view named beside it is the place
    (step,) = _plan(router, "count nuclei in view 2 on this slide", views=3).steps
    assert step.args["roi_number"] == 2


def test_a_distance_to_measure_and_a_marker_count_get_a_line_of_their_own(
    router: SemanticRouter,
) -> None:
    text = "measure breslow w the ruler from top of granular layer to deepest dermal cell"
    _answered_by_line(router, text, "has no ruler")
    _answered_by_line(router, "measure the distance from tumour to the deep margin", "no ruler")
    # an area is measured as before, and the textbook question stays one
    plan = _plan(router, "measure the stroma area here", views=3)
    assert _tools(plan) == ["segment"]
    assert plan.steps[0].args["what"] == "stroma"
    assert _plan(router, "how is breslow thickness measured", views=3).knowledge
    # a marker named in a one-clause count of one cell type is no textbook question
    text = "ok now count just the Melan-A+ melanocytes along the DEJ"
    _answered_by_line(router, text, "does not tell melanocytes from other cells")
    _answered_by_line(router, "and how many of those are lymphocytes?", "lymphocytes")
    _answered_by_line(router, "how many lymphocytes vs histiocytes though?", "lymphocytes")


def test_a_clause_that_only_qualifies_the_analysis_before_it_runs_nothing_else(
    router: SemanticRouter,
) -> None:
    text = "tumour or normal at slide level? and what's the score on that?"
    plan = _plan(router, text, views=3)
    assert _tools(plan) == ["wsi_classify"]
    assert not plan.knowledge
    text = "recap: which views have i opened so far and the nuclei count for each"
    plan = _plan(router, text, views=3)
    assert _lookup_kind(plan) == "recall"
    assert plan.steps == []
    text = "what's in this picture, tissue-wise? like percentages"
    assert _tools(_plan(router, text, views=3)) == ["composition"]
    # the user's guess at the class is part of the question; the share asked after it is not
    text = "what's this tissue? stroma? and how much of the field is stroma"
    assert _tools(_plan(router, text, views=3)) == ["classify", "composition"]


def test_a_mask_named_by_the_tissue_is_the_tissue_detectors_and_a_cellular_one_a_segmentation(
    router: SemanticRouter,
) -> None:
    assert _tools(_plan(router, "tissue mask pls", views=0)) == ["tissue"]
    text = (
        "slide props pls: level-0 dims, mpp, objective power, n pyramid levels + downsample "
        "per level. then tissue mask -> n fragments and area of each in mm2"
    )
    assert _tools(_plan(router, text, views=3)) == ["slide_info", "tissue"]
    (step,) = _plan(router, "cellular mask of this view", views=3).steps
    assert (step.tool, step.args["what"]) == ("segment", "cellular")


def test_a_margin_or_the_ink_asked_about_is_a_visual_question(router: SemanticRouter) -> None:
    assert _tools(_plan(router, "is the peripheral margin involved", views=3)) == ["vqa"]
    text = "Is the ink actually on tumour cells or just near them? Describe."
    assert _tools(_plan(router, text, views=3)) == ["vqa"]
    text = "is the mucus acellular or are there floating epithelial strips in it"
    assert _tools(_plan(router, text, views=3)) == ["vqa"]
    # every margin of the specimen is not a view's question
    assert _plan(router, "are the margins clear?", views=0).clarify is not None


def test_a_shorthand_count_then_a_comparison_counts_the_view_on_screen(
    router: SemanticRouter,
) -> None:
    plan = _plan(router, "det nuclei -> compare w/ v2", views=3)
    assert _lookup_kind(plan) == "compare"
    own = [s for s in plan.steps if not s.why.endswith("to compare")]
    assert [(s.tool, s.args["roi_number"]) for s in own] == [("detect", 3)]


def test_a_reaction_or_a_reference_value_is_not_an_analysis(router: SemanticRouter) -> None:
    plan = _plan(router, "lol thats a LOT of cells", views=3)
    assert plan.steps == []
    assert plan.clarify is not None
    assert not plan.knowledge
    # with a question it is asked
    assert _tools(_plan(router, "lol this looks like a mess 😅 debris?", views=3)) == [
        "composition"
    ]
    plan = _plan(router, "normal BMT cellularity for a 70 y/o?", views=3)
    assert plan.steps == []
    assert plan.knowledge
    plan = _plan(router, "metavir F0-F4 definitions and roughly how they map onto ishak 0-6")
    assert plan.knowledge


def test_a_result_asked_of_the_case_by_its_marker_gets_the_line_a_method_stays_textbook(
    router: SemanticRouter,
) -> None:
    _answered_by_line(router, "and what's the PD-L1 score?", "PD-L1 results cannot be read")
    _answered_by_line(router, "what's the her2 status", "HER2 results cannot be read")
    for text in (
        "what is PD-L1?",
        "how is the PD-L1 score calculated?",
        "could you explain how the Allred score for ER and PR is derived?",
    ):
        plan = _plan(router, text, views=3)
        assert plan.knowledge, text
        assert plan.clarify is None, text


def test_a_threshold_a_grading_rule_or_a_meaning_is_textbook_an_opinion_of_the_view_is_not(
    router: SemanticRouter,
) -> None:
    for text in (
        "remind me which gleason pattern cribriform glands go in",
        "What means age-adjusted cellularity, how I calculate the normal cellularity for "
        "patient of 70 years?",
    ):
        plan = _plan(router, text, views=3)
        assert plan.knowledge, text
        assert plan.steps == [], text
        assert plan.lookup is None, text
    text = "What's the tumour content here, and what's the usual minimum tumour percentage?"
    plan = _plan(router, text, views=3)
    assert _tools(plan) == ["composition"]
    assert plan.knowledge
    text = (
        "um what grade group is four plus three equals seven and does this field look like "
        "pattern four to you"
    )
    plan = _plan(router, text, views=3)
    assert _tools(plan) == ["vqa"]
    assert plan.knowledge
    text = "Cribriform glands in the middle there. What Gleason pattern would you give it?"
    assert _tools(_plan(router, text, views=3)) == ["vqa"]
    plan = _plan(router, "what gleason pattern would you give a cribriform gland in general?")
    assert plan.knowledge
    assert plan.steps == []


def test_dictated_and_second_language_places_are_read(router: SemanticRouter) -> None:
    (step,) = _plan(router, "okay next go to core three five x", views=3).steps
    assert (step.args["target"], step.args["region_index"]) == ("tissue_region", 3)
    assert step.args["magnification"] == 5
    (step,) = _plan(router, "go to core too", views=3).steps
    assert step.args["region_index"] == 2
    text = "And for all slide? Give the class shares for whole slide."
    (step,) = _plan(router, text, views=3).steps
    assert (step.tool, step.args["target"]) == ("composition", "slide")


def test_the_share_asked_again_for_another_place_is_the_same_class_share(
    router: SemanticRouter,
) -> None:
    text = (
        "remind me what the tumour % was in the biggest piece, then give me the % for the "
        "whole slide - need to know if theres enough for RAS/BRAF testing"
    )
    plan = _plan(router, text, views=3)
    assert _lookup_kind(plan) == "recall"
    (step,) = plan.steps
    assert (step.tool, step.args["target"]) == ("composition", "slide")


def test_an_area_compared_is_compared_by_its_mask(router: SemanticRouter) -> None:
    plan = _plan(router, "compare view 1 and this one for gland area", views=3)
    assert _lookup_kind(plan) == "compare"
    assert {(s.tool, s.args["what"]) for s in plan.steps} == {("segment", "epithelium")}
    text = "show me the cellular vs background area in view 1, and compare it with this field"
    plan = _plan(router, text, views=3)
    assert {(s.tool, s.args["what"]) for s in plan.steps} == {("segment", "cellular")}
    # "more cellular" stays a matter of nuclear counts
    plan = _plan(router, "which is more cellular, view 1 or 2?", views=3)
    assert {s.tool for s in plan.steps} == {"detect"}


def test_one_cell_type_out_of_the_count_is_a_typed_count(router: SemanticRouter) -> None:
    text = "Now just give me the mast cells from that number, leave the eosinophils out of it."
    _answered_by_line(router, text, "does not tell mast cells from other cells")


def test_the_same_question_again_asks_the_expert_the_earlier_question_of_the_new_view(
    router: SemanticRouter,
) -> None:
    rois = [_view(n) for n in range(1, 4)]
    asked = "is there perineural invasion at the nerve on the left?"
    archive = [
        {
            "id": "E3.1",
            "tool": "vqa",
            "ok": True,
            "inputs": {"question": asked},
            "output": {"roi_number": 3},
        }
    ]
    text = "Pan left and answer the same invasion question again."
    plan = semantic_plan(text, router, rois, 3, "s1", archive=archive, slide=SLIDE)
    assert _tools(plan) == ["zoom", "vqa"]
    assert plan.steps[0].args["pan"] == "left"
    assert plan.steps[1].args["question"] == asked
    assert plan.steps[1].args["roi_number"] == 4  # the view the pan shows
    # with no earlier question the expert is asked the request as said
    plan = semantic_plan(text, router, rois, 3, "s1", archive=[], slide=SLIDE)
    assert plan.steps[1].args["question"] == text


def test_a_memory_the_user_doubts_is_not_a_question_of_its_own(router: SemanticRouter) -> None:
    text = (
        "What did we find, earlier on, in the large fragment at 10x - I seem to remember "
        "something about necrosis, but I may be conflating it with another case."
    )
    plan = _plan(router, text, views=3)
    assert _lookup_kind(plan) == "recall"
    assert not plan.knowledge
    assert plan.steps == []


def test_x2_alone_is_closer_and_there_after_a_named_view_is_that_view(
    router: SemanticRouter,
) -> None:
    (step,) = _plan(router, "x2", views=3).steps
    assert step.args["factor"] == 2
    assert "magnification" not in step.args or step.args["magnification"] is None
    (step,) = _plan(router, "Centre on 41200, 18750 at x40.", views=3).steps
    assert step.args["magnification"] == 40
    text = "Tell me what tissue view 2 was, then take me back there and count the cells."
    plan = _plan(router, text, views=3)
    assert _lookup_kind(plan) == "recall"
    assert [(s.tool, s.args["roi_number"]) for s in plan.steps] == [("zoom", 2), ("detect", 4)]


def test_a_comparison_beside_a_recall_keeps_the_views_its_own_clause_names(
    router: SemanticRouter,
) -> None:
    text = (
        "Remind me what the nuclei count was back in view 2? And then could you compare the "
        "tissue makeup of this view against view 4."
    )
    plan = _plan(router, text, views=6)
    assert plan.lookup is not None
    assert plan.lookup.kind == "compare"
    assert plan.lookup.rois == [6, 4]  # "this view", not the view the recall named
    assert plan.lookup.tool == "composition"
    plan = _plan(
        router, "remind me what the composition of view 2 was, then compare it with here", 5
    )
    assert plan.lookup is not None
    assert plan.lookup.rois == [2, 5]
    text = "what was the nuc count in view 2? then stroma area here vs view 1"
    plan = _plan(router, text, views=4)
    assert plan.lookup is not None
    assert plan.lookup.kind == "compare"
    assert (plan.lookup.rois, plan.lookup.tool, plan.lookup.what) == ([4, 1], "segment", "stroma")
    assert plan.also is not None
    assert plan.also.kind == "recall"
    text = (
        "Which fragment was view 5 again? And could you compare the cellular area between "
        "view 3 and view 5 for me."
    )
    plan = _plan(router, text, views=6)
    assert {plan.lookup.kind, plan.also.kind} == {"compare", "recall"}  # type: ignore[union-attr]


def test_a_comparison_naming_no_measure_compares_the_analysis_asked_beside_it(
    router: SemanticRouter,
) -> None:
    plan = _plan(router, "tumour vs stroma % here, then stack it against view 2", views=4)
    assert plan.lookup is not None
    assert plan.lookup.kind == "compare"
    assert (plan.lookup.rois, plan.lookup.tool) == ([4, 2], "composition")
    assert {s.tool for s in plan.steps} == {"composition"}


def test_back_to_a_view_described_by_its_finding_is_a_move(router: SemanticRouter) -> None:
    (step,) = _plan(router, "back to the necrotic bit, view 4", views=6).steps
    assert (step.tool, step.args["roi_number"]) == ("zoom", 4)


def test_a_threshold_in_a_clause_of_its_own_is_textbook_a_tools_is_not(
    router: SemanticRouter,
) -> None:
    for text in (
        "p53 aberrant patterns? null vs overexpr vs cytoplasmic, what % cutoff",
        "HGSC vs LGSC - the 2-tier criteria, mitotic cutoff?",
    ):
        plan = _plan(router, text, views=1)
        assert plan.knowledge, text
        assert plan.steps == [], text
    plan = _plan(router, "count the nuclei. the threshold?", views=1)
    assert _tools(plan) == ["detect"]
    assert not plan.knowledge


def test_a_differential_named_beside_a_description_is_asked_of_the_image(
    router: SemanticRouter,
) -> None:
    plan = _plan(router, "papillae w slit-like spaces... HGSC or LGSC? describe", views=1)
    assert _tools(plan) == ["vqa"]
    assert not plan.knowledge
    plan = _plan(router, "describe this. and what is the difference between HGSC and LGSC?", 1)
    assert _tools(plan) == ["vqa"]
    assert plan.knowledge
    text = "is there fat in this field? and does the tumour push into it, any capsular breach?"
    assert _tools(_plan(router, text, views=1)) == ["composition", "vqa"]
    plan = _plan(router, "EMVI vs LVI whats the difference, i always mix them up", views=1)
    assert plan.knowledge
    assert plan.steps == []


def test_tell_me_the_vendor_is_the_scans_facts_not_the_experts_limits(
    router: SemanticRouter,
) -> None:
    text = (
        "Good morning! New slide, this one's a tonsil. Can you tell me what scanner vendor and "
        "file format it came from, and how many pyramid levels it has?"
    )
    plan = _plan(router, text)
    assert _tools(plan) == ["slide_info"]
    assert plan.lookup is None


def test_dictated_tissue_words_heard_as_other_words_are_read(router: SemanticRouter) -> None:
    plan = _plan(router, "any mew sin in this field", views=2)
    assert _tools(plan) == ["composition"]
    plan = _plan(router, "how much stroke ma is here", views=2)
    assert _tools(plan) == ["composition"]


def test_fillers_ask_nothing_and_a_question_opening_on_a_structure_asks_the_image(
    router: SemanticRouter,
) -> None:
    plan = _plan(router, "Now, uh... hmm. Do the one with the colors.", views=2)
    assert plan.clarify
    assert plan.steps == []
    text = "In the lakes of mucin are floating tumour cells, or the mucin is acellular?"
    assert _tools(_plan(router, text, views=2)) == ["vqa"]
    plan = _plan(router, "in the WHO classification is there a grade 4?", views=2)
    assert plan.knowledge
    assert plan.steps == []


def test_a_class_there_or_not_and_how_much_of_the_area_it_is_are_the_class_shares(
    router: SemanticRouter,
) -> None:
    for text in (
        "is there a lymphoid infiltrate in this field and how much of the area is it",
        "is there a lymphoid infiltrate in this field, and how much of it is there?",
    ):
        assert _tools(_plan(router, text, views=2)) == ["composition"], text


@pytest.mark.parametrize(
    "request_text",
    ["keratinisation?", "osteoid?", "lipoblasts?", "koilocytes?", "hemosiderin?"],
)
def test_a_feature_named_alone_with_a_view_open_is_looked_for_there(
    router: SemanticRouter, request_text: str
) -> None:
    plan = _plan(router, request_text, views=2)
    assert _tools(plan) == ["vqa"]
    assert plan.steps[0].args["roi_number"] == 2
    assert _tools(_plan(router, request_text, views=0)) != ["vqa"]  # no view to look in


@pytest.mark.parametrize(
    ("request_text", "tools"),
    [
        ("what's the mitotic activity like?", ["vqa"]),  # how the view looks
        ("thoughts on the margin?", ["vqa"]),
        ("WPOI here? I'm seeing small islands at the front but tell me what you see", ["vqa"]),
        # a purpose's second half is no question of its own
        (
            "segment the cellular area in this field so I can see how much is real tissue and "
            "how much is lipid vacuoles and tearing artefact",
            ["segment"],
        ),
        ("what's the prognosis like?", []),  # a textbook question, not the view's
    ],
)
def test_how_the_view_looks_and_what_a_purpose_adds(
    router: SemanticRouter, request_text: str, tools: list[str]
) -> None:
    assert _tools(_plan(router, request_text, views=2)) == tools


@pytest.mark.parametrize(
    "request_text",
    [
        "remind me what the count is",
        "remind me what the label is",
        "what is the nuclei count so far",
    ],
)
def test_a_reminder_of_a_result_is_the_cases(router: SemanticRouter, request_text: str) -> None:
    plan = _plan(router, request_text, views=3)
    assert plan.steps == []
    assert _lookup_kind(plan) == "recall"


def test_a_running_figure_beside_a_comparison_is_recalled(router: SemanticRouter) -> None:
    plan = _plan(router, "compare view 1 and 2 nuclei, also whats my glom count so far", views=3)
    assert _lookup_kind(plan) == "compare"
    assert plan.also is not None


@pytest.mark.parametrize(
    "request_text",
    [
        "run the thyroid-specific model on this instead of the colorectal one",
        "can you run a kidney-specific model instead of the colon one?",
    ],
)
def test_another_model_asked_for_by_its_organ_is_declined(
    router: SemanticRouter, request_text: str
) -> None:
    _answered_by_line(router, request_text, "cannot swap in another model from the chat")


@pytest.mark.parametrize(
    ("request_text", "tool"),
    [("rank the views by nuclei", "detect"), ("order views 1-3 by stroma area", "segment")],
)
def test_views_ranked_by_a_measure_are_each_analysed(
    router: SemanticRouter, request_text: str, tool: str
) -> None:
    plan = _plan(router, request_text, views=3)
    assert _lookup_kind(plan) == "compare"
    assert [(s.tool, s.args["roi_number"]) for s in plan.steps] == [(tool, n) for n in (1, 2, 3)]


@pytest.mark.parametrize(
    ("request_text", "args"),
    [
        ("bit more to the left", {"pan": "left", "pan_fraction": 0.25}),
        ("more to the right", {"pan": "right"}),
        ("closer", {"downsample": 1.0}),
        ("a little closer", {"downsample": 1.0}),
        ("step back", {"downsample": 4.0}),
        ("pull back", {"downsample": 4.0}),
        ("further out please", {"downsample": 4.0}),
        ("lower power please", {"downsample": 4.0}),
        ("high power on the glands", {"magnification": 40.0}),
        ("switch to low power", {"magnification": 5.0}),
        ("can I see the whole thing", {"target": "slide"}),
    ],
)
def test_moves_said_without_a_zoom_verb_move_the_view(
    router: SemanticRouter, request_text: str, args: dict[str, object]
) -> None:
    plan = _plan(router, request_text, views=1)  # the view is at downsample 2
    assert _tools(plan) == ["zoom"]
    assert {k: plan.steps[0].args.get(k) for k in args} == args


def test_going_back_is_no_zoom_out_and_a_remark_at_low_power_no_move(
    router: SemanticRouter,
) -> None:
    back = _plan(router, "step back to view 1", views=2)
    assert (back.steps[0].args["roi_number"], back.steps[0].args["downsample"]) == (1, 2.0)
    remark = "prostatitis can be deceptive at low power, so are there lymphocytes in this core?"
    assert "zoom" not in _tools(_plan(router, remark, views=2))


def test_scan_power_views_counted_and_textbook_differences(router: SemanticRouter) -> None:
    assert _tools(_plan(router, "is this 20x or 40x scan?", views=1)) == ["slide_info"]
    listed = _plan(router, "how many views have we done?", views=3)
    assert (listed.steps, _lookup_kind(listed)) == ([], "recall")
    textbook = _plan(router, "how does lymphovascular invasion differ from retraction artefact?")
    assert (textbook.steps, bool(textbook.knowledge)) == ([], True)
    assert _lookup_kind(_plan(router, "how does this field differ from view 1?", views=2)) == (
        "compare"
    )
    assert _plan(router, "ok what now?", views=2).clarify is not None


@pytest.mark.parametrize(
    ("request_text", "tools", "knowledge"),
    [
        # "def" after a term is its definition; an apology before a question asks nothing
        ("signet rings here? + SRCC def (>50% rule?)", ["vqa"], True),
        (
            "sorry dumb question but what's the actual definition of a tumor bud again, is it a "
            "single cell or a cluster of up to 4 cells? I think that's ITBCC but not sure",
            [],
            True,
        ),
        ("ttf1 napsin p40 - expected profile adeno vs sq?", [], True),  # a marker panel
        ("is this er and pr positive?", [], False),  # asked of the image: no H&E tool reads it
        ("The glands are cribriform or no? Explain me the architecture.", ["vqa"], False),
        ("explain me the grading of dcis", [], True),
    ],
)
def test_definitions_marker_panels_and_apologies(
    router: SemanticRouter, request_text: str, tools: list[str], knowledge: bool
) -> None:
    plan = _plan(router, request_text, views=2)
    assert _tools(plan) == tools
    assert bool(plan.knowledge) is knowledge


@pytest.mark.parametrize(
    ("request_text", "tools"),
    [
        ("necrosis in this core? + any stas/lvi", ["composition", "vqa"]),  # two terms, spelled
        ("ulcerated?? epidermis looks gone on the l", ["vqa"]),  # what the user sees: why
        ("What does the background look like? Dirty, I'd guess, if it's colorectal.", ["vqa"]),
        ("Maybe this is serrated? Describe the crypt shapes for me.", ["vqa"]),
        (
            "What does the whole-slide model make of this biopsy, and with what score?",
            ["wsi_classify"],
        ),
    ],
)
def test_guesses_and_what_the_user_sees_ask_nothing_more(
    router: SemanticRouter, request_text: str, tools: list[str]
) -> None:
    plan = _plan(router, request_text, views=2)
    assert _tools(plan) == tools
    assert not plan.knowledge


def test_a_stain_ordered_with_its_reason_is_outside_and_views_joined_by_plus_are_compared(
    router: SemanticRouter,
) -> None:
    stain = "could you do an H pylori immunostain on this one? the organisms are hard to see on H&E"
    _answered_by_line(router, stain, "outside the co-pilot")
    joined = _plan(router, "compare v2 + v4 stroma area", views=4)
    assert _lookup_kind(joined) == "compare"
    assert sorted(s.args["roi_number"] for s in joined.steps) == [2, 4]
    recalled = _plan(router, "what did frag 2 classify as earlier? + whole slide call", views=4)
    assert (_lookup_kind(recalled), _tools(recalled)) == ("recall", ["wsi_classify"])


def test_the_first_piece_we_looked_at_is_the_first_view_and_the_centre_of_that_is_a_part(
    router: SemanticRouter,
) -> None:
    back = _plan(router, "go back to the first core we opened", views=3)
    assert (_tools(back), back.steps[0].args["roi_number"]) == (["zoom"], 1)
    centre = _plan(router, "Could you zoom in 2x on the centre of that, please?", views=1)
    assert (centre.steps[0].args["part"], centre.steps[0].args["factor"]) == ("center", 2.0)


@pytest.mark.parametrize(
    "request_text",
    [
        "remind me the ISUP grade group for 4+3",
        "whats the mitotic activity threshold for grade 3 vs grade 2 IDH mutant astro, remind me",
        "Remind me of FL grading by centroblasts per hpf (I know WHO5 dropped 1-2 vs 3A somewhat)",
        "remind me what the Bethesda categories are and the ROM for category III",
        "how do you tell colloid from mucin on H&E?",
    ],
)
def test_reminders_of_a_scheme_are_textbook_not_the_cases(
    router: SemanticRouter, request_text: str
) -> None:
    plan = _plan(router, request_text, views=2)
    assert (plan.steps, _lookup_kind(plan), bool(plan.knowledge)) == ([], None, True)


@pytest.mark.parametrize(
    "request_text",
    [
        "sorry if this is a dumb q, but would you call the pattern here 3 or 4?",
        "zoom out 2x. does this meet criteria for intraductal carcinoma of the prostate?",
        "Roughly how much solid growth would you say there is in this field?",
        "mvp here? glomeruloid tufts?",
        "does it show loss of polarity compared with the adjacent normal tube?",
    ],
)
def test_the_experts_estimate_and_criteria_held_against_the_view_are_visual(
    router: SemanticRouter, request_text: str
) -> None:
    plan = _plan(router, request_text, views=2)
    assert _tools(plan)[-1] == "vqa"
    assert _lookup_kind(plan) is None


def test_a_markers_textbook_sentence_beside_a_visual_question_is_not_declined(
    router: SemanticRouter,
) -> None:
    both = (
        "p53 aberrant patterns - which ones count as mutant-type? and does the atypia here look "
        "serous-like?"
    )
    plan = _plan(router, both, views=2)
    assert (_tools(plan), bool(plan.knowledge)) == (["vqa"], True)
    _answered_by_line(router, "is this p53 mutant?", "cannot be read from an H&E image")
    _answered_by_line(router, "IF on this? c3 / iga deposits", "cannot be read from an H&E image")


@pytest.mark.parametrize(
    "request_text",
    [
        "Hi! Before we start - what hardware are you running on? Is it a GPU?",
        "Which GPU is the detector running on, and what's the inference latency per tile?",
        "The colours look off. Can you normalise the stain first?",
        "Can I get the tiles from this field as PNGs?",
        "Stain it for CK20 please",
        "can u use a ruler to measure the breslow depth lol",
    ],
)
def test_the_machine_stain_work_and_exports_are_not_asked_of_the_slide(
    router: SemanticRouter, request_text: str
) -> None:
    plan = _plan(router, request_text, views=2)
    assert (plan.steps, plan.lookup, bool(plan.knowledge)) == ([], None, False)
    assert plan.clarify


@pytest.mark.parametrize(
    ("request_text", "tools"),
    [
        ("how much fibrosis is around the tumour?", ["vqa"]),  # no tile class measures it
        ("how much necrosis is there?", ["composition"]),  # a tile class's share
        ("DCIS here? comedo-type necrosis in the ducts?", ["vqa"]),  # a lesion asked of the view
        ("lung core. predominant pattern - acinar, lepidic, solid, micropap?", ["vqa"]),
        ("count the nuclei here then tell me if theyre overlapping/crowded", ["detect", "vqa"]),
        (
            "classify this tile and give me a grade impression - low or high grade?",
            ["classify", "vqa"],
        ),
        # a remark with a place in it asks nothing
        ("Lovely rosettes there. Count the nuclei and give me the density.", ["detect"]),
    ],
)
def test_features_no_class_stands_for_and_specimen_labels(
    router: SemanticRouter, request_text: str, tools: list[str]
) -> None:
    plan = _plan(router, request_text, views=2)
    assert _tools(plan) == tools
    assert not plan.knowledge


def test_dictated_homophones_punctuation_and_numbered_pieces(router: SemanticRouter) -> None:
    plan = _plan(router, "count the sells hear and then outline the urothelium for me", views=2)
    assert _tools(plan) == ["detect", "segment"]
    assert plan.steps[1].args["what"] == "epithelium"
    plan = _plan(router, "go to fragment number three at ten x", views=2)
    assert plan.steps[0].args["region_index"] == 3
    assert plan.steps[0].args["magnification"] == 10
    text = (
        "go to the box forty two thousand comma thirty thousand comma forty six thousand comma "
        "thirty four thousand"
    )
    assert _plan(router, text, views=3).steps[0].args["box"] == [42000, 30000, 46000, 34000]
    plan = _plan(router, "pan right count the nuclei there and give me the stroma area", views=4)
    assert _tools(plan) == ["zoom", "detect", "segment"]
    assert plan.steps[0].args["pan"] == "right"
    text = "is there fat hear and if so is the tumor pushing into it or actually invading sinus fat"
    assert _tools(_plan(router, text, views=4)) == ["composition", "vqa"]
    # a verb after a person stays a verb; a period of time stays one
    assert normalise("did you hear me") == "did you hear me"
    assert normalise("over a period of time") == "over a period of time"


def test_real_words_are_not_read_as_slips_of_other_words(router: SemanticRouter) -> None:
    for kept in (
        "the colon resection",
        "a neck dissection",
        "tumour at the inked margin",
        "any nodules",
        "the oncology team",
        "is it infiltrative",
        "the thickest part",
        "lentigo maligna",
    ):
        assert router.fix_typos(kept) == kept
    # slips of the finger, dropped letters and misspelt vowels are still read
    assert router.fix_typos("summarize it") == "summarise it"
    assert router.fix_typos("seperate the nuceli") == "separate the nuclei"
    assert router.fix_typos("the tisue") == "the tissue"


@pytest.mark.parametrize(
    "request_text",
    [
        "remind me LAMN vs HAMN, and what counts as pushing invasion",
        "remind me of the nuclear score for NIFTP - what are the three features?",
        "does p16 matter for a neck node met? what would it tell you",
        "If this turns out high grade, would p53 and WT1 help me separate serous from "
        "endometrioid? What patterns should I expect?",
    ],
)
def test_reminders_and_what_a_marker_is_for_are_textbook(
    router: SemanticRouter, request_text: str
) -> None:
    plan = _plan(router, request_text, views=2)
    assert plan.knowledge
    assert (plan.steps, plan.lookup, plan.clarify) == ([], None, None)


@pytest.mark.parametrize(
    ("request_text", "cells"),
    [
        ("Can you count just the koilocytes?", "koilocytes"),
        ("can I just get a neutrophil count in the mucosa?", "neutrophils"),
        (
            "can you split that into lymphocytes vs histiocytes? i only want the lymphs",
            "lymphocytes",
        ),
    ],
)
def test_more_counts_of_one_cell_type(
    router: SemanticRouter, request_text: str, cells: str
) -> None:
    _answered_by_line(router, request_text, f"does not tell {cells} from other cells")


def test_another_model_is_refused_and_an_errand_beside_a_summary_is_said(
    router: SemanticRouter,
) -> None:
    text = "Can you rerun this with a different nuclei model, e.g. StarDist, for validation?"
    _answered_by_line(router, text, "cannot swap in another model")
    plan = _plan(
        router,
        "Great! Can you give me a two-line summary of the findings so far? And email it to "
        "Dr Okafor please.",
        views=3,
    )
    assert _lookup_kind(plan) == "recall"
    assert any("outside the co-pilot" in note for note in plan.notes)
    plan = _plan(router, "count the nuclei here", views=3)
    assert not any("outside the co-pilot" in note for note in plan.notes)


@pytest.mark.parametrize(
    ("request_text", "views", "tools", "kind"),
    [
        (
            "fine, just describe the inflammation then - transmural neuts? serositis?",
            3,
            ["vqa"],
            None,
        ),
        ("Run the whole slide model - does it call this tumour or not?", 4, ["wsi_classify"], None),
        ("What label and score did the slide level model give at the start?", 4, [], "recall"),
        ("sweet. sum up the appendix for me in a couple of lines", 4, [], "recall"),
        (
            "have a look at the top right quarter, reckon that's the invasive front",
            2,
            ["zoom"],
            None,
        ),
        (
            "So how many pieces of tissue do we have on here? Somebody in the back said four... "
            "let's find out.",
            0,
            ["tissue"],
            None,
        ),
    ],
)
def test_describe_a_model_s_own_call_summaries_and_guesses(
    router: SemanticRouter, request_text: str, views: int, tools: list[str], kind: str | None
) -> None:
    plan = _plan(router, request_text, views=views)
    assert _tools(plan) == tools
    assert _lookup_kind(plan) == kind


def test_places_named_in_passing(router: SemanticRouter) -> None:
    plan = _plan(router, "Go to box 42000,18000 to 46000,21000 and run the cellularity mask.", 1)
    assert _tools(plan) == ["zoom", "segment"]
    assert plan.steps[1].args["what"] == "cellular"
    plan = _plan(
        router, "How many fragments are there and which is the biggest? Take me to that one."
    )
    assert _tools(plan) == ["tissue", "zoom"]
    assert plan.steps[1].args["region_index"] == 1
    assert _plan(router, "chuck the whole slide up for me").steps[0].args["target"] == "slide"
    plan = _plan(router, "go in 2x and give me the class breakdown", views=2)
    assert plan.steps[0].args["factor"] == 2
    plan = _plan(router, "how does that compare with before", views=3)
    assert _lookup_kind(plan) == "compare"
    assert plan.lookup is not None
    assert plan.lookup.rois == [3, 2]
    plan = _plan(router, "compare the tumour/stroma mix between view 2 and view 5", views=5)
    assert plan.lookup is not None
    assert plan.lookup.tool == "composition"


@pytest.mark.parametrize(
    ("request_text", "views", "tools"),
    [
        ("frag3 20x and nuc ct", 0, ["zoom", "detect"]),
        ("tl quad, tissue type?", 2, ["zoom", "classify"]),
        ("ct nuc and %str", 2, ["detect", "composition"]),
        ("%tum whole slide", 0, ["composition"]),
        ("signet ring cells? ct cells too", 2, ["detect", "vqa"]),
        ("ovrvw pls", 2, ["zoom"]),
        ("Give me first the Übersicht of the whole preparate", 0, ["zoom"]),
        ("Go 2x deeper in and count the cells there", 3, ["zoom", "detect"]),
        ("Make zoom out, factor 2, and give me the composition again", 2, ["zoom", "composition"]),
    ],
)
def test_shorthand_and_second_language_wordings(
    router: SemanticRouter, request_text: str, views: int, tools: list[str]
) -> None:
    assert _tools(_plan(router, request_text, views=views)) == tools


def test_zoom_factors_and_pieces_said_in_shorthand(router: SemanticRouter) -> None:
    assert _plan(router, "frag3 20x", views=0).steps[0].args["region_index"] == 3
    assert _plan(router, "tl quad, tissue type?", views=2).steps[0].args["part"] == "top_left"
    assert _plan(router, "Go 2x deeper in", views=3).steps[0].args["factor"] == 2
    assert _plan(router, "Make zoom out, factor 2", views=2).steps[0].args["factor"] == 0.5


@pytest.mark.parametrize(
    ("request_text", "what"),
    [
        (
            "can you outline the cells lining the glands? epithelium i think its called",
            "epithelium",
        ),
        ("can you highlight the top layer of cells and tell me how much area it is?", "epithelium"),
        ("segment the pink stuff in between the glands", "stroma"),
        ("ok can you shade in where the cells are vs the empty background", "cellular"),
    ],
)
def test_compartments_in_lay_words(router: SemanticRouter, request_text: str, what: str) -> None:
    plan = _plan(router, request_text, views=2)
    assert _tools(plan) == ["segment"]
    assert plan.steps[0].args["what"] == what


@pytest.mark.parametrize(
    ("request_text", "tools", "knowledge"),
    [
        (
            "what are the layers im seeing? pink wavy stuff on top and paler stuff underneath",
            ["vqa"],
            False,
        ),
        ("what does 'cytological atypia' actually mean?", [], True),
        (
            "remind me of the difference between epidermis and dermis? anatomy was ages ago",
            [],
            True,
        ),
        (
            "expected marrow cellularity for a 72 yr old? does the 100-minus-age rule still stand?",
            [],
            True,
        ),
        (
            "any fibrosis or streaming of cells on the H&E? and remind me how MF-0 to MF-3 "
            "are defined",
            ["vqa"],
            True,
        ),
    ],
)
def test_what_the_user_sees_and_textbook_terms_in_lay_words(
    router: SemanticRouter, request_text: str, tools: list[str], knowledge: bool
) -> None:
    _plans_tools_and_knowledge(router, request_text, 3, tools, knowledge)


@pytest.mark.parametrize(
    ("request_text", "line"),
    [
        ("can u quiz me on lymph node anatomy? like 5 questions", "does not set or mark tests"),
        (
            "i think its a compound naevus - can you grade my answer out of 10?",
            "does not set or mark",
        ),
        ("rotate 90 pls cant read it", "cannot change how the image is shown"),
        (
            "can you count just the megakaryocytes, separately from everything else?",
            "megakaryocytes",
        ),
        ("and how many of these cells are CD20 positive?", "CD20-positive cells"),
    ],
)
def test_tests_rotations_and_marker_counts_are_answered_by_a_line(
    router: SemanticRouter, request_text: str, line: str
) -> None:
    _answered_by_line(router, request_text, line)


@pytest.mark.parametrize(
    ("request_text", "views", "tools", "knowledge"),
    [
        ("What do you see here? describe me the morphology", 2, ["vqa"], False),
        ("are the edges clear? like did the surgeon get it all out?", 4, ["vqa"], False),
        ("closer pls. and what are the big pale cells in the middle?", 2, ["zoom", "vqa"], False),
        (
            "Are there mitoses here, also atypical ones? And how many mitoses one needs for "
            "grade 3 astrocytoma?",
            4,
            ["vqa"],
            True,
        ),
        (
            "last slide, the skin excision! whats the resolution on this one, microns per pixel",
            0,
            ["slide_info"],
            False,
        ),
    ],
)
def test_the_view_asked_in_passing_and_a_grading_threshold(
    router: SemanticRouter, request_text: str, views: int, tools: list[str], knowledge: bool
) -> None:
    _plans_tools_and_knowledge(router, request_text, views, tools, knowledge)


def test_what_we_saw_before_is_still_recalled(router: SemanticRouter) -> None:
    assert (
        _lookup_kind(_plan(router, "what do we see so far across the views?", views=3)) == "recall"
    )


def test_two_kinds_of_one_class_are_asked_of_the_image(router: SemanticRouter) -> None:
    assert _tools(_plan(router, "is that smooth muscle or skeletal muscle?", views=2)) == ["vqa"]
    assert _tools(_plan(router, "is this stroma or tumour?", views=2)) == ["classify"]


@pytest.mark.parametrize(
    ("request_text", "views", "tools", "knowledge"),
    [
        (
            "Could you remind the room how Ishak fibrosis stage 4 differs from stages 5 and 6?",
            2,
            [],
            True,
        ),
        (
            "CK7 positive, CK20 negative: that's the profile you'd expect for a colorectal "
            "primary, is it not?",
            2,
            [],
            True,
        ),
        (
            "For a possible prostatic metastasis, would GATA3 be your confirmatory marker?",
            2,
            [],
            True,
        ),
        ("In the Brandwein-Gensler risk model, what all is WPOI 1 to 5?", 2, [], True),
        (
            "Is there perineural invasion? Also does PNI change the stage in oral cavity?",
            2,
            ["vqa"],
            True,
        ),
        (
            "As per AJCC 8th what are the DOI cut offs for pT1 and pT2? just remind me once, "
            "I keep mixing it with the old tumour thickness",
            2,
            [],
            True,
        ),
        (
            "Open the largest piece at 5x and break it down by tissue class.",
            2,
            ["zoom", "composition"],
            False,
        ),
        (
            "zoom out 2x and give me the class % for the wider field",
            2,
            ["zoom", "composition"],
            False,
        ),
        (
            "Capsule is on the right side of this field. Is there capsular invasion or only "
            "indentation?",
            2,
            ["vqa"],
            False,
        ),
        (
            "Run the whole slide classifier - tumour vs normal - and show me where it is looking "
            "(attention map)",
            0,
            ["wsi_classify"],
            False,
        ),
    ],
)
def test_reminders_for_the_room_marker_choices_and_class_shares(
    router: SemanticRouter, request_text: str, views: int, tools: list[str], knowledge: bool
) -> None:
    _plans_tools_and_knowledge(router, request_text, views, tools, knowledge)


@pytest.mark.parametrize(
    ("request_text", "line"),
    [
        ("Could you put a reticulin stain on this section so we can see the plates?", "outside"),
        ("can you put p16 and Ki67 on this block? I want to prepone the sign out", "outside"),
        ("Kindly make a PDF of all these findings and mail it to my HOD by evening", "outside"),
        ("can you blind the study for me - hide animal IDs and dose groups?", "outside"),
        ("Of those, how many are melanocytes and how many lymphocytes?", "melanocytes"),
    ],
)
def test_stains_documents_and_blinding_are_errands(
    router: SemanticRouter, request_text: str, line: str
) -> None:
    _answered_by_line(router, request_text, line)


@pytest.mark.parametrize(
    ("request_text", "views", "tools", "knowledge"),
    [
        ("define pagetoid spread, which entities show it", 2, [], True),
        (
            "center of this at 20x, then tell me whats going on in the epidermis",
            2,
            ["zoom", "vqa"],
            False,
        ),
        (
            "and the model of the whole slide, what it says, tumour or normal?",
            2,
            ["wsi_classify"],
            False,
        ),
        ("which class is this, lymphocytes? and what means TILs exactly", 2, ["classify"], True),
        (
            "Is there any DCIS in this field? While you are at it, remind me how the Van Nuys "
            "prognostic index is constructed.",
            2,
            ["vqa"],
            True,
        ),
        (
            "Could you outline the epithelium in this field and tell me what area it occupies in "
            "square millimetres?",
            2,
            ["segment"],
            False,
        ),
        (
            "Take me into the upper left quarter of this at 5x, where I believe the invasive focus "
            "lies.",
            2,
            ["zoom"],
            False,
        ),
        (
            "Is there any necrotic debris within this field according to the classifier? I ask "
            "because the DCIS in the excision appeared to me to have central necrosis.",
            2,
            ["composition"],
            False,
        ),
        (
            "Is this core predominantly tumour, and if so what fraction of the field does the "
            "tumour "
            "occupy?",
            2,
            ["composition"],
            False,
        ),
        (
            "is there mucin in there? and if so what does the epithelium floating in it look like",
            2,
            ["composition", "vqa"],
            False,
        ),
        (
            "how much of the glass is actually tissue && describe what u see at this lvl",
            2,
            ["tissue", "vqa"],
            False,
        ),
        ("fresh slide. vendor + file fmt?", 0, ["slide_info"], False),
        ("native scan mag? 40x or 20x", 0, ["slide_info"], False),
        (
            "nuclear features -> pleomorphism? prominent nucleoli? vesicular chromatin?",
            2,
            ["vqa"],
            False,
        ),
        ("mucinous adeno vs signet ring ca, whats the mucin % cutoff again", 2, [], True),
        (
            "cuántos núcleos there are in el campo? and also make me the outlines of the nuclei, "
            "por favor",
            2,
            ["detect", "segment"],
            False,
        ),
        (
            "How many cells are in this field, and how crowded are they per square mm?",
            2,
            ["detect"],
            False,
        ),
    ],
)
def test_asides_headings_thresholds_and_follow_ups_of_one_ask(
    router: SemanticRouter, request_text: str, views: int, tools: list[str], knowledge: bool
) -> None:
    _plans_tools_and_knowledge(router, request_text, views, tools, knowledge)


@pytest.mark.parametrize(
    ("request_text", "line"),
    [
        ("is possible to export all of this in a PDF for give it to my staff?", "outside"),
        ("export all masks to geojson so i can load them in qupath", "outside"),
        (
            "Would you please draft the histopathology report for this excision in the RCPath "
            "minimum dataset format, so that I can sign it out this afternoon?",
            "outside",
        ),
        ("can u retrain the tile classifier on our in-house crc labels?", "cannot swap"),
        ("swap to a vit backbone and rerun the tile classifier", "cannot swap"),
        ("can you to run the HER2 model? or another model for MSI maybe?", "cannot swap"),
        ("lower the detection threshold and recount", "thresholds"),
    ],
)
def test_exports_reports_retraining_and_thresholds_are_answered_by_a_line(
    router: SemanticRouter, request_text: str, line: str
) -> None:
    _answered_by_line(router, request_text, line)


def test_a_model_change_beside_another_ask_is_a_note(router: SemanticRouter) -> None:
    plan = _plan(router, "swap to a vit backbone and count the nuclei", views=2)
    assert _tools(plan) == ["detect"]
    assert any("cannot swap" in note for note in plan.notes)


def test_spanish_order_the_largest_piece_and_a_factor_said_loosely(router: SemanticRouter) -> None:
    plan = _plan(router, "can you to show me the piece more big, at 10x por favor", views=2)
    assert plan.steps[0].args["target"] == "tissue_region"
    assert plan.steps[0].args["region_index"] == 1
    plan = _plan(router, "Please open the largest of the cores at 10x", views=2)
    assert (plan.steps[0].args["region_index"], plan.steps[0].args["magnification"]) == (1, 10.0)
    plan = _plan(router, "zoom más, like 2x, and count again the nucleus there", views=2)
    assert _tools(plan) == ["zoom", "detect"]
    assert plan.steps[0].args["factor"] == 2.0
    plan = _plan(router, "ok show me the pieza number 3 at 5x", views=2)
    assert plan.steps[0].args["region_index"] == 3


def test_the_centre_said_after_a_scale_and_a_magnification_before_in(
    router: SemanticRouter,
) -> None:
    plan = _plan(router, "zoom at 0.5 mpp en el centro", views=2)
    assert (plan.steps[0].args["part"], plan.steps[0].args["mpp"]) == ("center", 0.5)
    plan = _plan(router, "center crop of this view at 40x", views=2)
    assert plan.steps[0].args["part"] == "center"
    plan = _plan(router, "zoom at 40x in the centre", views=2)
    assert plan.steps[0].args["magnification"] == 40.0
    assert "factor" not in plan.steps[0].args


def test_the_same_magnification_is_the_current_view_s(router: SemanticRouter) -> None:
    plan = _plan(router, "Now the largest core at the same magnification", views=2)
    assert plan.steps[0].args["target"] == "tissue_region"
    assert plan.steps[0].args["magnification"] == 20.0


def test_the_first_view_described_by_its_fragment_is_the_view(router: SemanticRouter) -> None:
    plan = _plan(
        router, "Go back to the very first view, the low-power one of the largest core", views=3
    )
    assert plan.steps[0].args["roi_number"] == 1


def test_the_last_three_views_are_compared(router: SemanticRouter) -> None:
    plan = _plan(router, "compare the last three fields by tissue class", views=4)
    assert plan.lookup is not None
    assert plan.lookup.rois == [2, 3, 4]


@pytest.mark.parametrize(
    ("request_text", "views", "tools", "knowledge"),
    [
        ("what am i looking at? plain english pls", 1, ["vqa"], False),
        ("tumour or normal for the whole slide? with the score", 0, ["wsi_classify"], False),
        (
            "Please kindly run the whole slide model and tell me whether this case is tumor or "
            "normal.",
            0,
            ["wsi_classify"],
            False,
        ),
        (
            "Quick one before I start: what's the mpp on this scan, and was it done at 40x?",
            0,
            ["slide_info"],
            False,
        ),
        ("Is this an Aperio or Hamamatsu scan? what file format?", 0, ["slide_info"], False),
        (
            "sizes of each fragment, and remind me the microns per pixel",
            0,
            ["slide_info", "tissue"],
            False,
        ),
        (
            "What proportion of extracellular mucin do you need to call it mucinous "
            "adenocarcinoma?",
            2,
            [],
            True,
        ),
        (
            "whats the scan mag on this one? and what mpp is standard for a 40x scanner",
            0,
            ["slide_info"],
            True,
        ),
        (
            "In the Japanese classification, what is the cut-off of submucosal invasion depth for "
            "pT1a and pT1b?",
            2,
            [],
            True,
        ),
        (
            "show me the worst part - where was the computer looking when it called it tumour",
            1,
            ["wsi_classify"],
            False,
        ),
        ("nerve involvement? yes or no", 2, ["vqa"], False),
        ("did you get it all? are the edges clear?", 2, ["vqa"], False),
        ("any dead tissue in this field", 2, ["composition"], False),
    ],
)
def test_plain_words_scanner_makers_and_the_slide_model_s_call(
    router: SemanticRouter, request_text: str, views: int, tools: list[str], knowledge: bool
) -> None:
    _plans_tools_and_knowledge(router, request_text, views, tools, knowledge)


@pytest.mark.parametrize(
    ("request_text", "line"),
    [
        ("Can you please send these results to my colleague by e-mail?", "outside"),
        ("can you check the label barcode matches the requisition", "outside"),
        ("focus is bad here, fix it", "outside"),
        (
            "Is it possible to count only the lymphocytes in this field? I am interested in TILs.",
            "lymphocytes",
        ),
    ],
)
def test_mail_barcodes_focus_and_a_typed_count_asked_politely(
    router: SemanticRouter, request_text: str, line: str
) -> None:
    _answered_by_line(router, request_text, line)


def test_points_in_thousands_and_after_open_and_microns_per_pixel(router: SemanticRouter) -> None:
    plan = _plan(router, "12k,9k at 20x", views=2)
    assert plan.steps[0].args["center"] == [12000.0, 9000.0]
    plan = _plan(router, "open 40000, 30000 at 20x", views=2)
    assert plan.steps[0].args["center"] == [40000.0, 30000.0]
    plan = _plan(router, "go to 0.5 um/px", views=2)
    assert plan.steps[0].args["mpp"] == 0.5
    plan = _plan(router, "center on um 8500 12000", views=2)
    assert plan.steps[0].args["center"] == [8500.0, 12000.0]


def test_lay_compartments_and_the_whole_slide_put_up(router: SemanticRouter) -> None:
    plan = _plan(router, "paint the cancer cells and tell me how much area they take up", views=2)
    assert [(s.tool, s.args["what"]) for s in plan.steps] == [("segment", "epithelium")]
    plan = _plan(router, "whole slide up on the screen please", views=0)
    assert plan.steps[0].args["target"] == "slide"


def test_an_analysis_beside_a_comparison_is_planned_once_and_first(
    router: SemanticRouter,
) -> None:
    plan = _plan(router, "Segment the stroma in view 2, then compare it with view 3.", views=3)
    assert [(s.tool, s.args["roi_number"]) for s in plan.steps] == [("segment", 2), ("segment", 3)]
    assert plan.lookup is not None
    assert sorted(plan.lookup.rois) == [2, 3]


def test_a_pan_then_a_zoom_in_is_one_move_then_closer(router: SemanticRouter) -> None:
    for text, fraction in (
        ("pan right then zoom in 2x", 0.5),
        ("move left a bit and zoom in", 0.25),
    ):
        (step,) = _plan(router, text, views=1).steps
        assert step.args["pan"] in ("right", "left"), text
        assert step.args["pan_fraction"] == fraction, text
        assert step.args["factor"] == 2.0, text
        assert step.args["downsample"] == 2.0, text


def test_going_back_to_a_view_and_zooming_in_is_closer_than_that_view(
    router: SemanticRouter,
) -> None:
    (step,) = _plan(router, "go to region 1 and zoom in", views=2).steps
    assert step.args["roi_number"] == 1
    assert step.args["target"] == "roi"
    assert step.args["downsample"] == 1.0  # region 1 was shown at 2.0


def test_the_amount_of_a_feature_no_tile_class_measures_is_put_to_the_vqa_expert(
    router: SemanticRouter,
) -> None:
    for text in ("steatosis how much percent?", "what percentage of steatosis is there"):
        assert _tools(_plan(router, text, views=1)) == ["vqa"], text


def test_which_organ_the_image_comes_from_is_a_visual_question(router: SemanticRouter) -> None:
    for text in ("which organ is this from?", "where does this tissue come from?"):
        assert _tools(_plan(router, text, views=1)) == ["vqa"], text
    # a named disease's organ is the textbook's
    plan = _plan(router, "what is the primary site of cholangiocarcinoma?", views=1)
    assert (plan.steps, plan.knowledge) == ([], True)


def test_a_tile_image_is_looked_at_whole_before_any_view(router: SemanticRouter) -> None:
    tile = {"slide_id": "s1", "name": "tile.png", "width": 224, "height": 224}
    for text, tool in (("keratinisation?", "vqa"), ("what is this?", "classify")):
        plan = semantic_plan(text, router, [], None, "s1", slide=tile)
        assert _tools(plan) == [tool], text
    # the same words on a whole slide with nothing shown yet are no visual question
    assert _tools(_plan(router, "keratinisation?")) == []


def test_a_textbook_relation_of_a_named_disease_is_knowledge_not_the_image(
    router: SemanticRouter,
) -> None:
    for text in ("cHL markers", "pheochromocytoma markers", "what does Wilms tumour look like"):
        plan = _plan(router, text, views=1)
        assert (plan.steps, plan.knowledge, plan.clarify) == ([], True, None), text
    # a feature named bare, with a view open, is still the image's
    assert _tools(_plan(router, "psammoma bodies?", views=1)) == ["vqa"]
    assert _tools(_plan(router, "what does this look like?", views=1)) == ["vqa"]


def test_two_named_tumours_compared_are_knowledge_not_two_regions(router: SemanticRouter) -> None:
    for text in (
        "compare Wilms tumour and fibrolamellar carcinoma",
        "compare phyllodes tumour with fibroadenoma",
    ):
        plan = _plan(router, text, views=2)
        assert (plan.steps, plan.knowledge, plan.lookup) == ([], True, None), text
    plan = _plan(router, "compare the tumour in region 1 and region 2", views=2)
    assert plan.lookup is not None
    assert plan.lookup.rois == [1, 2]
