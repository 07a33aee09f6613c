"""The case panels in-process on the CMU sample: region view, click to zoom, citations, audit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.runner import Copilot
from app.web.panels import CasePanels
from app.web.paths import AppDirs
from app.web.render import cite_link
from app.web.roi_view import (
    DETECTION_RGB,
    DISPLAY_PX,
    MASK_RGB,
    OVERLAYS,
    TISSUE_RGB,
    RoiOverlays,
    draw_roi,
    overlays_in,
)
from app.web.service import SessionState, WebService
from app.web.text import as_text
from app.web.uploads import original_name, remember_name, uploaded_as
from core.progress import Progress
from core.settings import Settings
from tests.conftest import SHARED_DATA

CMU = SHARED_DATA / "wsi" / "CMU-1-Small-Region.svs"


@pytest.fixture(scope="module")
def panels(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CasePanels]:
    home = tmp_path_factory.mktemp("panels") / "home"
    settings = Settings(home=home)
    copilot = Copilot(settings)
    dirs = AppDirs.from_settings(settings)
    dirs.ensure()
    yield CasePanels(WebService(copilot, dirs, settings))
    copilot.close()


def shown(view: Path | None, panels: CasePanels) -> Image.Image:
    """The region view the panel hands to the browser: a PNG inside the web cache."""
    assert view is not None
    assert view.is_relative_to(panels.service.dirs.web_cache)
    with Image.open(view) as image:
        return image.convert("RGB")


def count(image: Image.Image, rgb: tuple[int, int, int]) -> int:
    return int(np.all(np.asarray(image) == np.array(rgb, np.uint8), axis=-1).sum())


def test_click_zoom_region_view_citations_and_audit(panels: CasePanels) -> None:
    session = SessionState(slide_path=str(CMU))
    assert panels.roi(session, list(OVERLAYS)) == (
        None,
        "No region yet: ask for a zoom or click the slide.",
    )
    question, error = panels.point_question(session, [300, 500])
    assert error == ""
    # the thumbnail is 1024 px high: 2967 / 1024 level-0 px per thumbnail px
    assert question == "Zoom to (869, 1449) at 20x"
    service = panels.service
    service.ask(session, question)
    service.ask(session, "Segment the nuclei here")
    view, caption = panels.roi(session, list(OVERLAYS))
    image = shown(view, panels)
    assert max(image.size) <= DISPLAY_PX
    assert caption.startswith("**Region 1** · box [357, 937, 1381, 1961] level-0 px")
    assert "0 detection(s)" in caption
    assert "from E2.1" in caption
    masks = int(caption.split(" mask(s)")[0].rsplit("· ", 1)[1])
    assert masks > 20
    assert count(image, MASK_RGB) > 5 * masks
    assert count(image, TISSUE_RGB) > 100  # the region crosses the tissue's left edge
    bare_view, _ = panels.roi(session, [])
    bare = shown(bare_view, panels)
    assert bare_view != view
    assert count(bare, MASK_RGB) == 0
    assert count(bare, TISSUE_RGB) == 0
    assert "Tool output E2.1 segment" in panels.citation(session, "E2.1")
    assert "is not an evidence or fact id" in panels.citation(session, "<script>")
    assert "&lt;script&gt;" in panels.citation(session, "<script>")
    assert "no evidence or fact E7.1" in panels.citation(session, "E7.1")
    audit = panels.audit(session)
    assert audit.count("<tr") == 7  # header + request, tool call, answer per turn
    assert "Zoom to (869, 1449) at 20x" in audit
    files = panels.export(session)
    assert files.error == ""
    assert files.report is not None
    assert files.report.is_relative_to(service.dirs.web_cache)
    assert files.geojson is not None
    assert files.geojson.name == f"{session.case_id}.geojson"


def test_export_and_point_without_a_slide_or_case_are_one_line(panels: CasePanels) -> None:
    empty = SessionState()
    assert panels.export(empty).error == "no case to export yet: ask a question first"
    assert panels.point_question(empty, [1, 2]) == (
        None,
        "open the sample or upload a slide first",
    )
    assert panels.point_question(SessionState(slide_path=str(CMU)), None)[0] is None
    assert panels.audit(empty) == "<p>No case yet.</p>"


def test_overlays_in_keeps_what_overlaps_the_region() -> None:
    evidence = [
        {
            "id": "E1.1",
            "ok": True,
            "output": {
                "objects": [{"box": [5, 5, 15, 15]}, {"box": [200, 200, 210, 210]}],
                "masks": [{"polygon": [[0, 0], [4, 0], [4, 4]]}],
            },
        },
        {"id": "E2.1", "ok": False, "output": {"objects": [{"box": [5, 5, 15, 15]}]}},
        {"id": "E3.1", "ok": True, "output": {"objects": [{"centroid": [50, 50]}]}},
    ]
    found = overlays_in([0, 0, 100, 100], evidence)
    assert found.boxes == [[5.0, 5.0, 15.0, 15.0]]
    assert found.points == [[50.0, 50.0]]
    assert len(found.polygons) == 1
    assert found.sources == ["E1.1", "E3.1"]


def test_draw_roi_scales_level0_boxes_onto_the_view() -> None:
    view = Image.new("RGB", (2000, 1000), (255, 255, 255))
    drawn = draw_roi(
        view,
        [1000, 0, 3000, 1000],
        RoiOverlays(boxes=[[1500, 500, 1600, 600]]),
        show=["detections"],
    )
    assert drawn.size == (DISPLAY_PX, DISPLAY_PX // 2)
    pixels = np.asarray(drawn)
    ys, xs = np.nonzero(np.all(pixels == np.array(DETECTION_RGB, np.uint8), axis=-1))
    scale = DISPLAY_PX / 2000
    assert abs(xs.min() - 500 * scale) <= 1
    assert abs(xs.max() - 600 * scale) <= 2
    assert abs(ys.min() - 500 * scale) <= 1


def test_cite_links_only_for_safe_ids() -> None:
    assert cite_link("E1.1") == "[E1.1](#cite-E1.1)"
    assert (
        cite_link("DOID:3910#definition")
        == "[DOID:3910#definition](#cite-DOID%3A3910%23definition)"
    )
    assert cite_link("x](javascript:alert(1))") == "x\\](javascript:alert(1))"  # plain text
    assert cite_link("a`[b](http://e)`") == "a\\`\\[b\\](http\\://e)\\`"


def test_upload_names_are_display_text_only(tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    stored = uploads / "upload-0123456789abcdef.png"
    stored.write_bytes(b"x")
    remember_name(stored, "../../my\x07 slide_[1].png")
    assert original_name(stored, uploads) == "my slide_[1].png"
    assert uploaded_as(stored, uploads) == " (uploaded as my slide_[1].png)"
    assert uploaded_as(stored, uploads, markdown=True) == " (uploaded as my slide\\_\\[1\\]\\.png)"
    elsewhere = tmp_path / "other.png"
    elsewhere.write_bytes(b"x")
    assert original_name(elsewhere, uploads) is None
    assert uploaded_as(None, uploads) == ""


def test_a_coarse_view_is_read_again_at_display_size(panels: CasePanels) -> None:
    session = SessionState(slide_path=str(CMU))
    panels.service.ask(session, "Zoom to the largest tissue region at 5x")
    _, state = panels.copilot.case(session.case_id)
    roi = state["rois"][-1]
    with Image.open(roi["artifact"]) as artifact:
        assert max(artifact.size) < DISPLAY_PX  # the 5x view is coarser than the panel
    view, caption = panels.roi(session, [])
    image = shown(view, panels)
    x0, y0, x1, y1 = roi["box"]
    assert max(image.size) == DISPLAY_PX
    assert abs(image.width / image.height - (x1 - x0) / (y1 - y0)) < 0.01
    assert caption.startswith(f"**Region {roi['number']}**")


def test_a_view_shown_again_is_the_same_file_left_untouched(panels: CasePanels) -> None:
    """The panel refreshes several times a turn; a browser fetching the view meanwhile must
    never read a file that a refresh is rewriting (a truncated PNG), so an unchanged view is
    the same file, not written again."""
    session = SessionState(slide_path=str(CMU))
    panels.service.ask(session, "Zoom to (1000, 1500) at 20x")
    first, _ = panels.roi(session, list(OVERLAYS))
    assert first is not None
    before = first.stat()
    again, _ = panels.roi(session, list(OVERLAYS))
    assert again == first
    after = first.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert not [p for p in first.parent.iterdir() if p.name.startswith(".")]  # no partial left
    with Image.open(first) as image:
        image.verify()


def test_a_cited_fact_shows_its_text_and_source(panels: CasePanels) -> None:
    fact = {
        "id": "DOID:3910#definition",
        "text": "A carcinoma <b>that</b> arises from glands.",
        "source": "Disease Ontology",
        "entity": "DOID:3910",
        "via": "adenocarcinoma",
    }
    panels.copilot.audit.append(
        "fact-case", "turn", {"turn": 1, "request": "q", "evidence": [], "facts": [fact]}
    )
    shown = panels.citation(SessionState(case_id="fact-case"), fact["id"])
    assert "<b>Fact DOID:3910#definition</b>" in shown
    assert "A carcinoma &lt;b&gt;that&lt;/b&gt; arises from glands." in shown
    assert "Source: Disease Ontology" in shown


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("![x](http://127.0.0.1:9/b.png) size?", "!\\[x\\](http\\://127.0.0.1:9/b.png) size?"),
        ('<img src="x"> & <a href=y>z</a>', '\\<img src="x"\\> \\& \\<a href=y\\>z\\</a\\>'),
        ("see www.example.org or me@example.org", "see www\\.example.org or me\\@example.org"),
        ("1. a list? # no", "1\\. a list? # no"),
        ("- item", "\\- item"),
        ("a\x07b\u202ec\nd\te", "a b c d e"),
        (
            "`code` *bold* _it_ ~~x~~ $$y$$ | t",
            "\\`code\\` \\*bold\\* \\_it\\_ \\~\\~x\\~\\~ \\$\\$y\\$\\$ \\| t",
        ),
    ],
)
def test_text_from_users_is_escaped_for_the_chat(typed: str, shown: str) -> None:
    assert as_text(typed) == shown


def test_an_interrupted_turn_shows_in_the_audit_trail(panels: CasePanels) -> None:
    events = panels.copilot.ask_stream(CMU, "What is the size of this slide?", "cut-case")
    for item in events:
        if isinstance(item, Progress) and item.node == "act":
            break
    events.close()  # type: ignore[attr-defined]
    audit = panels.audit(SessionState(case_id="cut-case"))
    assert audit.count("<tr") == 3  # header, request, interrupted (before any tool ran)
    assert (
        "turn 1 did not complete (the caller stopped reading the turn before it completed); "
        "nodes left: act; the case continues from turn 0"
    ) in audit
