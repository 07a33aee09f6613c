"""Expert scope: declared domains, caveats outside them, requests an expert cannot answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.reasoner import compose_chain
from agent.scope import caveats_for, organ_mentions, stain_mention
from agent.state import Evidence
from agent.verifier import verify_chain
from app.runner import Copilot, TurnResult
from core.errors import ConfigError
from core.organs import organs_in, organs_in_path
from core.settings import Settings
from tools.experts import load_experts

KATHER = "kather_mopadi"
COAD_TUMOUR = f"{KATHER}/TCGA-AD-6964-01Z-00-DX1_COAD/Tile_(22016,11776).jpg"
"""capricorn: colorectal adenocarcinoma epithelium, p 0.99 (measured)."""
COAD_MIXED = f"{KATHER}/TCGA-AD-6964-01Z-00-DX1_COAD/Tile_(23040,25088).jpg"
"""capricorn: mucus 0.39, debris 0.32, adenocarcinoma epithelium 0.12, mucosa 0.10 (measured)."""
KATHER_NORM = f"{KATHER}/CRC-VAL-HE-7K/NORM-TCGA-YLVCMEHK.tif"
CHOL = f"{KATHER}/TCGA-3X-AAVA-01Z-00-DX1_CHOL/0_0_0_506.jpg"
"""A cholangiocarcinoma tile that capricorn calls normal colon mucosa (p 0.99, measured)."""


def _caveats(r: TurnResult) -> list[dict]:
    return [s for s in r.chain if s["kind"] == "caveat"]


def test_organ_words_and_tcga_codes() -> None:
    assert organs_in("Is this ovarian tumour benign? renal biopsy") == [
        ("ovary", "ovarian"),
        ("kidney", "renal"),
    ]
    assert organs_in("a cholangiocarcinoma, from the LIVER") == [
        ("bile duct", "cholangiocarcinoma"),
        ("liver", "LIVER"),
    ]
    assert organs_in("classify the large-bowel mucosa") == [("colorectum", "large bowel")]
    assert organs_in("classify this region; count the nuclei") == []
    assert organs_in_path(f"/data/{CHOL}") == [("bile duct", "TCGA-CHOL")]
    assert organs_in_path("/data/ov/slide-1.svs") == []  # codes are read in capitals only
    # the file's own name names its organ; folders above it do not ("colon/" is a place)
    assert organs_in_path("/data/wsi/kidney-48-5.tif") == [("kidney", "kidney")]
    assert organs_in_path("/data/colon/slide_1.svs") == []
    mentions = organ_mentions("classify it", ["an ovarian mass", "show it"], f"/data/{CHOL}")
    assert [(m.organ, m.source) for m in mentions] == [("ovary", "an earlier request of this case")]


def test_packaged_experts_declare_their_domains() -> None:
    experts = {e.name: e.domain for e in load_experts().experts}
    assert experts["capricorn-tissue"].organs == ["colorectum"]
    assert (experts["capricorn-tissue"].mpp_min, experts["capricorn-tissue"].mpp_max) == (0.5, 0.5)
    assert "nine colorectal tissue classes" in experts["capricorn-tissue"].cannot[0].text
    assert experts["cpu-nuclei-watershed"].organs == []  # any organ
    assert experts["cpu-nuclei-watershed"].stains == ["H&E"]
    assert "neoplas" in experts["cpu-nuclei-watershed"].cannot[0].triggers
    assert experts["shell-epithelium"].organs == ["prostate"]


def test_user_experts_file_without_a_domain_loads_and_a_bad_organ_is_one_line(
    tmp_path: Path,
) -> None:
    plain = tmp_path / "experts.toml"
    plain.write_text(
        '[[experts]]\nname = "n"\ntask = "detect"\nbackend = "cpu"\n'
        'implementation = "nuclei_watershed"\n'
    )
    (spec,) = load_experts(plain).experts
    assert spec.domain.organs == []
    assert spec.domain.cannot == []
    bad = tmp_path / "bad.toml"
    bad.write_text(plain.read_text() + '\n[experts.domain]\norgans = ["colon"]\n')
    with pytest.raises(ConfigError) as err:
        load_experts(bad)
    assert "experts.0.domain" in str(err.value)
    assert "unknown organ(s) ['colon']" in str(err.value)
    assert "\n" not in str(err.value)


def _detected(mpp: float) -> Evidence:
    domain = load_experts().experts[0].domain.model_dump()
    return Evidence(
        id="E1.1",
        tool="detect",
        ok=True,
        summary="12 nuclei",
        output={
            "object": "nuclei",
            "count": 12,
            "objects": [],
            "region_box": [0, 0, 800, 800],
            "roi_number": None,
            "region_index": None,
            "downsample": 4.0,
            "mpp": mpp,
            "mean_area_um2": None,
            "median_area_um2": None,
            "mean_area_px": None,
            "median_area_px": None,
            "density_per_mm2": None,
            "mean_eccentricity": None,
            "notes": [],
            "domains": [{"expert": "cpu-nuclei-watershed", **domain}],
        },
        expert="cpu-nuclei-watershed",
    )


def test_a_coarse_analysis_scale_is_a_verified_caveat_and_an_invented_one_fails() -> None:
    coarse, fine = _detected(2.0), _detected(0.5)
    assert caveats_for([fine], "count the nuclei", []) == []
    (caveat,) = caveats_for([coarse], "count the nuclei", [])
    assert caveat.kind == "scale"
    assert caveat.text == (
        "The cpu-nuclei-watershed expert was trained at 0.25 to 0.5 µm/px; this region was "
        "analysed at 2 µm/px, more than twice as coarse, so its result may not be reliable."
    )
    chain = compose_chain([coarse], None, [], [caveat])
    assert [s.kind for s in chain.steps] == ["measure", "caveat", "conclude"]
    conclusion = chain.steps[-1].text
    assert caveat.text in conclusion
    report = verify_chain(chain, [coarse], [], conclusion, notes={caveat.text})
    assert report.status == "verified", report.reasons
    # a caveat step the scope check did not write for this turn is not accepted
    report = verify_chain(chain, [coarse], [], conclusion)
    assert report.step_status["S2"] is False
    assert "S2: caveat: not a caveat of this turn" in report.reasons


@pytest.mark.shared_data
def test_capricorn_outside_colorectum_carries_a_caveat_and_no_definition(
    home: Path, kg_store_dir: Path, models_home: Path, shared_data: Path
) -> None:
    """The real classifier on real tiles: a request naming ovary or skin, a TCGA-CHOL path and
    a request naming no organ."""
    tumour = shared_data / COAD_TUMOUR
    c = Copilot(Settings(home=home, kg_path=kg_store_dir))
    try:
        ovary = c.ask(tumour, "classify this region of the ovarian tumour", "o1")
        later = c.ask(tumour, "What is this tumour and what should I look for?", "o1")
        plain = c.ask(tumour, "classify this region", "o2")
        skin = c.ask(shared_data / KATHER_NORM, "classify this skin sample", "o3")
        chol = c.ask(shared_data / CHOL, "classify this region", "o4")
    finally:
        c.close()
    for r in (ovary, plain, skin, chol):
        assert [e["tool"] for e in r.evidence] == ["classify"]
        assert r.verification["status"] == "verified", r.verification["reasons"]
    assert ovary.evidence[0]["output"]["label"] == "colorectal adenocarcinoma epithelium"
    (step,) = _caveats(ovary)
    assert step["text"] == (
        "The capricorn-tissue expert was trained on colorectal tissue and knows nine colorectal "
        "tissue classes only; the request names ovary (“ovarian”), so its label may not apply."
    )
    assert step["evidence"] == [ovary.evidence[0]["id"]]
    assert step["text"] in ovary.answer
    assert ovary.facts == []  # the colorectal definition would read as if it described the slide
    assert "Definition" not in ovary.answer
    # nor does a later question of the case define the out-of-domain label
    assert later.evidence == []
    assert not any(f["id"].startswith("DOID:0050861") for f in later.facts), later.facts
    assert "colorectal" not in later.answer.lower()
    # the same tile with no organ named: no caveat, and the label's definition is recalled
    assert _caveats(plain) == []
    assert "trained on" not in plain.answer
    assert "DOID:0050861#definition" in {f["id"] for f in plain.facts}
    assert "Definition: " in plain.answer
    (step,) = _caveats(skin)
    assert "the request names skin, so its label may not apply" in step["text"]
    assert step["text"] in skin.answer
    assert chol.evidence[0]["output"]["label"] == "normal colon mucosa"
    (step,) = _caveats(chol)
    assert "the slide's path names bile duct (“TCGA-CHOL”)" in step["text"]


@pytest.mark.shared_data
def test_an_organ_said_beside_an_in_domain_one_a_summary_and_provenance_keep_the_caveat(
    home: Path, kg_store_dir: Path, models_home: Path, shared_data: Path
) -> None:
    """ "it's cholangio, not colon" names bile duct; the case's summary and a "did the LLM make
    it up?" question repeat the caveat and say which tool computed the result."""
    c = Copilot(Settings(home=home, kg_path=kg_store_dir))
    try:
        said = c.ask(
            shared_data / CHOL, "classifier will work on this? its cholangio not colon", "p1"
        )
        summary = c.ask(shared_data / CHOL, "ok give the summary of what we found", "p1")
        source = c.ask(
            shared_data / CHOL,
            "is that probability a real softmax output or did the llm make it up?",
            "p1",
        )
    finally:
        c.close()
    (step,) = _caveats(said)
    assert "the request names bile duct (“cholangio”), so its label may not apply" in step["text"]
    ev_id = said.evidence[0]["id"]
    for r in (summary, source):
        assert r.evidence == []  # nothing re-run: the earlier result, recalled
        assert [e["id"] for e in r.earlier] == [ev_id]
        assert "trained on colorectal tissue" in r.answer
        assert [s["evidence"] for s in _caveats(r)] == [[ev_id]]
        assert r.verification["status"] == "verified", r.verification["reasons"]
    assert source.answer.startswith(
        f"Where it came from: each result is a tool's stored output ({ev_id} by the classify "
        "tool (capricorn-tissue)), not text a language model wrote"
    )
    assert "normal colon mucosa (probability 0.99)" in source.answer


def test_an_immunostain_is_read_from_what_the_image_is_said_to_be() -> None:
    for said in ("This is kidney IHC.", "what ab is this stained for?", "give the labelling index"):
        found = stain_mention(said)
        assert found is not None, said
        assert found.source == "the request", said
    # ordering or asking about stains says nothing of the image on screen
    for said in ("which IHC markers would help confirm HGSC?", "is IHC for p16 needed here?"):
        assert stain_mention(said) is None, said
    later = stain_mention("count the nuclei", ["this is an IHC slide", "zoom in"])
    assert later is not None
    assert later.source == "an earlier request of this case"
    named = stain_mention("count", [], "/data/tiles/kidney-ihc-level0-310-500-360-530.png")
    assert named is not None
    assert named.word == "ihc"


@pytest.mark.shared_data
def test_an_he_expert_on_an_image_said_to_be_an_immunostain_carries_a_caveat(
    copilot: Copilot, models_home: Path, shared_data: Path
) -> None:
    r = copilot.ask(
        shared_data / "wsi/kidney-48-5.tif", "This is kidney IHC. count the nuclei", "s1"
    )
    assert [e["tool"] for e in r.evidence] == ["detect"]
    caveats = [s for s in _caveats(r) if "immunostain" in s["text"]]
    assert [s["text"] for s in caveats] == [
        "The cpu-nuclei-watershed expert works on H&E stains; the request says the image is an "
        "immunostain (“This is kidney IHC”), so its result may not apply."
    ]
    assert caveats[0]["text"] in r.answer
    assert r.verification["status"] == "verified", r.verification["reasons"]


@pytest.mark.shared_data
def test_classification_reports_every_class_above_the_floor(
    copilot: Copilot, models_home: Path, shared_data: Path
) -> None:
    r = copilot.ask(shared_data / COAD_MIXED, "classify this region", "m1")
    (ev,) = r.evidence
    out = ev["output"]
    top = out["top"]
    assert out["top_floor"] == 0.1
    assert top[0]["label"] == out["label"] == "debris"
    assert [t["label"] for t in top] == [
        "debris",
        "mucus",
        "colorectal adenocarcinoma epithelium",
    ]  # measured 0.398, 0.380, 0.131 over 9 tiles that reach every edge of the 512-px tile
    assert all(t["p"] >= 0.1 for t in top)
    assert [t["p"] for t in top] == sorted((t["p"] for t in top), reverse=True)
    assert {k for k, p in out["probabilities"].items() if p >= 0.1} == {t["label"] for t in top}
    others = ", ".join(f"{t['label']} ({t['p']:.2f})" for t in top[1:])
    assert f"; other classes at or above 0.10: {others}." in r.answer
    (step,) = [s for s in r.chain if s["kind"] == "infer"]
    bound = {c["path"] for c in step["claims"] if c["kind"] == "number"}
    assert {"top_floor", "top.1.p", "top.2.p"} <= bound
    assert r.verification["status"] == "verified", r.verification["reasons"]


@pytest.mark.shared_data
def test_the_detector_says_it_cannot_type_nuclei(copilot: Copilot, cmu_slide: Path) -> None:
    """The real detector on the sample: a request for neoplastic nuclei gets the total, labelled
    as such, one line saying the detector does not type nuclei, and a partial status."""
    copilot.ask(cmu_slide, "show the region from (400, 400) to (1000, 1000)", "n1")
    asked = copilot.ask(cmu_slide, "how many neoplastic nuclei are there?", "n1")
    counted = copilot.ask(cmu_slide, "count the nuclei", "n1")
    (ev,) = asked.evidence
    assert ev["tool"] == "detect"
    assert ev["ok"], ev["error"]
    total = ev["output"]["count"]
    assert total > 0
    line = (
        "The cpu-nuclei-watershed expert does not type nuclei (neoplastic, lymphocyte, "
        "mitosis): the request asks about “neoplastic nuclei”, which it cannot tell; it found "
        f"{total} nuclei in total."
    )
    assert asked.answer.startswith(line)
    (step,) = _caveats(asked)
    assert step["text"] == line
    v = asked.verification
    assert v["status"] == "partial"
    assert v["steps_verified"] == 1.0  # every step holds; the asked quantity is not there
    assert any(
        r.startswith("answer: answers_request: does not answer: asked for neoplastic nuclei")
        for r in v["reasons"]
    ), v["reasons"]
    assert asked.exit_code == 0
    # the same region without a type asked for: no caveat, verified
    assert counted.evidence[0]["output"]["count"] == total
    assert _caveats(counted) == []
    assert "does not type" not in counted.answer
    assert counted.verification["status"] == "verified", counted.verification["reasons"]


@pytest.mark.shared_data
def test_an_organ_specific_expert_where_no_organ_is_named_says_so_once_per_case(
    copilot: Copilot, models_home: Path, cmu_slide: Path
) -> None:
    """The sample (skin, no organ in its name): the colorectal classifier's first label in the
    case carries the check, the next one of the same case does not repeat it."""
    first = copilot.ask(cmu_slide, "classify the tissue", "unnamed")
    (step,) = _caveats(first)
    assert step["text"] == (
        "The capricorn-tissue expert was trained on colorectal tissue; no organ is named for "
        "this slide (request, case or file name), so check that its label applies to the "
        "tissue here."
    )
    assert step["text"] in first.answer
    assert first.verification["status"] == "verified", first.verification["reasons"]
    again = copilot.ask(cmu_slide, "classify the top left quadrant", "unnamed")
    assert _caveats(again) == []


@pytest.mark.shared_data
def test_a_disease_the_request_names_wins_over_the_cases_label(
    home: Path, kg_store_dir: Path, models_home: Path, shared_data: Path
) -> None:
    """After a classification, a question naming its own disease is about that disease (it
    was answered from the label, as "nearest in meaning"); "this tumour" is the label's."""
    tumour = shared_data / COAD_TUMOUR
    c = Copilot(Settings(home=home, kg_path=kg_store_dir))
    try:
        c.ask(tumour, "What tissue class is this tile?", "g1")
        graded = c.ask(
            tumour,
            "How would you grade a colorectal adenocarcinoma - which grading system do people "
            "use now?",
            "g1",
        )
        this = c.ask(tumour, "what is this tumour and what should I look for?", "g1")
    finally:
        c.close()
    assert graded.answer.startswith("Grading: Colorectal adenocarcinoma is graded by gland")
    assert "names no knowledge-graph entity" not in graded.answer
    assert graded.verification["status"] == "verified", graded.verification["reasons"]
    assert this.chain[0]["text"].startswith(
        "The case's earlier label “colorectal adenocarcinoma epithelium” links to"
    )
    assert "names no knowledge-graph entity" not in this.answer
