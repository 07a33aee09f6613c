"""Case export on a real case: Markdown report (zip and .md) and QuPath GeoJSON."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.case_export import (
    CaseBundle,
    bundle_from,
    case_geojson,
    load_case,
    report_markdown,
    shorten,
    write_report_zip,
)
from app.main import main
from app.runner import Copilot
from core.settings import Settings
from tests.conftest import SHARED_DATA

CMU = SHARED_DATA / "wsi" / "CMU-1-Small-Region.svs"
QUESTIONS = [
    "Zoom to (1000, 1500) at 20x",
    "Detect the nuclei here",
    "Segment the nuclei in region 1",
]


@pytest.fixture(scope="module")
def real_case(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Copilot, str]]:
    """A three-turn case on the CMU sample: a region, its nuclei detected, then segmented."""
    if not CMU.is_file():
        pytest.fail(f"the CMU sample is missing at {CMU}")
    home = tmp_path_factory.mktemp("export") / "home"
    copilot = Copilot(Settings(home=home))
    case_id = None
    for question in QUESTIONS:
        case_id = copilot.ask(CMU, question, case_id=case_id).case_id
    assert case_id is not None
    yield copilot, case_id
    copilot.close()


@pytest.fixture(scope="module")
def bundle(real_case: tuple[Copilot, str]) -> CaseBundle:
    copilot, case_id = real_case
    return load_case(copilot, case_id)


def _rings(feature: dict[str, Any]) -> list[list[list[float]]]:
    geometry = feature["geometry"]
    return geometry["coordinates"] if geometry["type"] == "Polygon" else []


def test_bundle_holds_every_turn_with_its_evidence(bundle: CaseBundle) -> None:
    assert [t.turn for t in bundle.turns] == [1, 2, 3]
    assert [t.request for t in bundle.turns] == QUESTIONS
    assert list(bundle.evidence) == ["E1.1", "E2.1", "E3.1"]
    assert [e["tool"] for e in bundle.evidence.values()] == ["zoom", "detect", "segment"]
    assert all(step["verified"] for t in bundle.turns for step in t.chain)
    assert [r["number"] for r in bundle.rois] == [1]


def test_geojson_is_a_valid_qupath_feature_collection(bundle: CaseBundle) -> None:
    collection = json.loads(json.dumps(case_geojson(bundle)))
    assert collection["type"] == "FeatureCollection"
    features = collection["features"]
    width, height = bundle.slide["width"], bundle.slide["height"]
    for feature in features:
        assert feature["type"] == "Feature"
        props = feature["properties"]
        assert props["objectType"] in {"annotation", "detection"}
        assert isinstance(props["name"], str)
        assert props["name"]
        color = props["classification"]["color"]
        assert len(color) == 3
        assert all(0 <= c <= 255 for c in color)
        assert feature["geometry"]["type"] in {"Polygon", "Point"}
        for ring in _rings(feature):
            assert ring[0] == ring[-1], "ring not closed"
            assert len(ring) >= 4
            for x, y in ring:
                assert 0 <= x <= width
                assert 0 <= y <= height
    regions = [f for f in features if f["properties"]["objectType"] == "annotation"]
    assert [f["properties"]["name"] for f in regions] == ["Region 1"]
    assert _rings(regions[0])[0] == [
        [488.0, 988.0],
        [1512.0, 988.0],
        [1512.0, 2012.0],
        [488.0, 2012.0],
        [488.0, 988.0],
    ]
    detect, segment = bundle.evidence["E2.1"]["output"], bundle.evidence["E3.1"]["output"]
    by_source: dict[str, int] = {}
    for f in features:
        source = f["properties"]["metadata"]["evidence"]
        by_source[source] = by_source.get(source, 0) + 1
    assert detect["count"] > 50
    assert by_source == {"E1.1": 1, "E2.1": detect["count"], "E3.1": segment["count"]}
    first = next(f for f in features if f["properties"]["metadata"]["evidence"] == "E2.1")
    x0, y0, x1, y1 = detect["objects"][0]["box"]
    assert _rings(first)[0][0] == [x0, y0]
    assert _rings(first)[0][2] == [x1, y1]
    assert first["properties"]["classification"]["name"] == "Nucleus"
    assert first["properties"]["measurements"]["area_um2"] == detect["objects"][0]["area_um2"]


def test_geojson_clips_to_the_slide_and_closes_rings() -> None:
    slide = {"slide_id": "s", "width": 100, "height": 50, "name": "x"}
    from app.case_export import CaseTurn

    ev = {
        "id": "E1.1",
        "tool": "segment",
        "ok": True,
        "output": {
            "masks": [
                {"polygon": [[-5, -5], [120, 0], [120, 60]], "label": "nucleus"},
                {"polygon": [[1, 1], [2, 2]], "label": "nucleus"},
            ],
            "objects": [{"centroid": [10, 10], "label": "cell"}],
        },
    }
    turn = CaseTurn(1, "q", "a", "verified", [], {}, [ev], [], slide)
    features = case_geojson(CaseBundle("c", slide, [], [turn]))["features"]
    assert [f["geometry"]["type"] for f in features] == ["Point", "Polygon"]
    assert _rings(features[1])[0] == [[0, 0], [100, 0], [100, 50], [0, 0]]


def test_report_zip_has_markdown_with_relative_images(
    bundle: CaseBundle, real_case: tuple[Copilot, str], tmp_path: Path
) -> None:
    copilot, case_id = real_case
    dest = write_report_zip(bundle, tmp_path / "r.zip", copilot.settings.artifacts_dir)
    with zipfile.ZipFile(dest) as zf:
        names = zf.namelist()
        report = zf.read("report.md").decode()
        images = [n for n in names if n.startswith("images/")]
        assert sorted(images) == [
            "images/E1.1-zoom.png",
            "images/E2.1-nuclei.png",
            "images/E3.1-segments.png",
        ]
        for name in images:
            assert f"]({name})" in report
            assert zf.read(name)[:8] == b"\x89PNG\r\n\x1a\n"
    assert report.startswith(f"# SmartPath case {case_id}")
    for question in QUESTIONS:
        assert f"### Turn {QUESTIONS.index(question) + 1}: {question}" in report
    assert "| 1 | [488, 988, 1512, 2012] | 20x | 1 |" in report
    assert report.count("— ✔ verified; cites `E2.1`") >= 2
    assert "**Verification:** verified (100% of steps verified" in report
    assert "`E3.1` segment · expert cpu-segment-classical · cpu" in report


def test_cli_export_writes_markdown_images_and_geojson(
    real_case: tuple[Copilot, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    copilot, case_id = real_case
    monkeypatch.setenv("SMARTPATH_HOME", str(copilot.settings.home))
    md, geo = tmp_path / "out" / "case.md", tmp_path / "out" / "case.geojson"
    code = main(["cases", "export", case_id, "--markdown", str(md), "--geojson", str(geo)])
    assert code == 0, capsys.readouterr().err
    text = md.read_text()
    assert "![E2.1 E2.1-nuclei.png](case-images/E2.1-nuclei.png)" in text
    assert (tmp_path / "out" / "case-images" / "E2.1-nuclei.png").is_file()
    assert len(json.loads(geo.read_text())["features"]) > 100
    assert main(["cases", "export", "no-such-case", "--geojson", str(geo)]) == 2
    assert "no case 'no-such-case'" in capsys.readouterr().err
    assert main(["cases", "export", case_id]) == 2


def test_shorten_cuts_long_lists_and_strings() -> None:
    value = {"objects": list(range(12)), "text": "x" * 300, "n": 3}
    short = shorten(value, items=3, chars=10)
    assert short == {"objects": [0, 1, 2, "… 9 more"], "text": "x" * 10 + "…", "n": 3}


def test_bundle_leaves_out_a_turn_set_aside_as_interrupted() -> None:
    def turn(n: int, request: str) -> list[dict[str, Any]]:
        return [
            {"kind": "request", "turn": n, "request": request, "slide": {}},
            {"kind": "tool_call", "turn": n, "id": f"E{n}.1", "tool": "slide_info", "ok": True},
            {"kind": "turn", "turn": n, "request": request, "evidence": [f"E{n}.1"]},
        ]

    killed = {"kind": "interrupted", "turn": 2, "pending": ["respond"], "continues_from_turn": 1}
    audit = [*turn(1, "first"), *turn(2, "killed"), killed, *turn(2, "again"), *turn(3, "last")]
    bundle = bundle_from("c1", {}, audit)
    assert [(t.turn, t.request) for t in bundle.turns] == [(1, "first"), (2, "again"), (3, "last")]


def test_bundle_keeps_only_the_evidence_a_turn_recorded_and_its_facts() -> None:
    slide = {"slide_id": "s1", "name": "a.svs", "width": 10, "height": 10}
    fact = {"id": "DOID:3910#definition", "text": "A carcinoma.", "source": "DO"}
    audit = [
        {"kind": "request", "turn": 1, "request": "q", "slide": slide},
        {"kind": "tool_call", "turn": 1, "id": "E1.1", "tool": "zoom", "ok": False},
        {"kind": "tool_call", "turn": 1, "id": "E1.2", "tool": "zoom", "ok": True},
        {
            "kind": "turn",
            "turn": 1,
            "request": "q",
            "evidence": ["E1.2"],
            "facts": [fact],
            "chain": {
                "steps": [{"id": "S1", "kind": "recall", "text": "t", "evidence": [fact["id"]]}]
            },
            "verification": {"status": "partial", "step_status": {"S1": False}},
            "answer": "a",
        },
        {"kind": "request", "turn": 2, "request": "unfinished", "slide": slide},
    ]
    bundle = bundle_from("c1", {}, audit)
    assert list(bundle.evidence) == ["E1.2"]
    assert bundle.facts == {fact["id"]: fact}
    assert bundle.slide == slide
    assert [t.turn for t in bundle.turns] == [1]
    assert bundle.turns[0].chain[0]["verified"] is False
    report = report_markdown(bundle)
    assert "— ✘ UNVERIFIED; cites `DOID:3910#definition`" in report
    assert "- `DOID:3910#definition` A carcinoma. (source: DO)" in report
