"""The web app's case panels in headless Chromium, against the real ``smartpath app`` process.

Click on the thumbnail to set a region, the region view and its overlay toggles, a citation in
the chain opening the tool output, the audit trail, the report and GeoJSON downloads, and an
upload listed under the user's file name.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from app.web.roi_view import DETECTION_RGB, DISPLAY_PX
from tests.conftest import SHARED_DATA
from tests.fixtures.browser import AppProcess
from tests.test_web_browser import ask, case_id_shown, open_sample

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CMU_W, CMU_H = 2220, 2967
CLICK = (0.45, 0.5)  # where on the thumbnail, as a share of its width and height
TILE = SHARED_DATA / "histolab_tiles" / "high-nuclei-score-level0.png"


def roi_pixels(page: Any, app: AppProcess) -> np.ndarray:
    """The region image the page shows, fetched from the app as the browser did."""
    image = page.locator("#roi-view img")
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    src = image.get_attribute("src")
    assert src
    reply = httpx.get(src if src.startswith("http") else app.url + src.lstrip("/"), timeout=10)
    assert reply.status_code == 200
    return np.asarray(Image.open(io.BytesIO(reply.content)).convert("RGB"))


def colour_count(pixels: np.ndarray, rgb: tuple[int, int, int]) -> int:
    return int(np.all(pixels == np.array(rgb, dtype=np.uint8), axis=-1).sum())


def test_thumbnail_click_region_overlays_citation_audit_and_exports(
    app_server: AppProcess, page: Any, tmp_path: Path, shots: Path
) -> None:
    open_sample(page, app_server)
    thumb = page.locator("#overview img")
    thumb.wait_for()
    box = thumb.bounding_box()
    thumb.click(position={"x": box["width"] * CLICK[0], "y": box["height"] * CLICK[1]})
    chat = page.locator("#chat")
    chat.get_by_text("Reasoning chain: verified").wait_for()
    text = chat.inner_text()
    asked = re.search(r"Zoom to \((\d+), (\d+)\) at 20x", text)
    assert asked, text
    assert "Tool call E1.1 zoom" in text
    x, y = int(asked.group(1)), int(asked.group(2))
    assert abs(x - CLICK[0] * CMU_W) < 15
    assert abs(y - CLICK[1] * CMU_H) < 15

    caption = page.locator("#roi-caption")
    caption.get_by_text("Region 1").wait_for()
    found = re.search(r"box \[(\d+), (\d+), (\d+), (\d+)\]", caption.inner_text())
    assert found, caption.inner_text()
    x0, y0, x1, y1 = (int(v) for v in found.groups())
    assert abs((x0 + x1) / 2 - x) <= 1
    assert abs((y0 + y1) / 2 - y) <= 1
    region = roi_pixels(page, app_server)
    assert max(region.shape[:2]) <= DISPLAY_PX
    assert colour_count(region, DETECTION_RGB) == 0  # nothing detected yet
    page.screenshot(path=shots / "01-thumbnail-click-region.png", full_page=True)

    ask(page, "Detect the nuclei here", "cites E2.1")
    caption.get_by_text("from E2.1").wait_for()
    detections = int(re.search(r"(\d+) detection\(s\)", caption.inner_text()).group(1))
    assert detections > 20
    with_boxes = roi_pixels(page, app_server)
    assert colour_count(with_boxes, DETECTION_RGB) > 10 * detections
    page.screenshot(path=shots / "02-detections-overlay.png", full_page=True)
    src = page.locator("#roi-view img").get_attribute("src")
    page.locator("#overlays").get_by_label("detections").uncheck()
    page.wait_for_function(
        "(old) => { const i = document.querySelector('#roi-view img');"
        " return i && i.getAttribute('src') !== old; }",
        arg=src,
    )
    without = roi_pixels(page, app_server)
    assert colour_count(without, DETECTION_RGB) == 0
    assert "Tool call E3" not in chat.inner_text()  # the toggle ran no tool
    page.screenshot(path=shots / "03-detections-hidden.png", full_page=True)

    chat.locator("a[href='#cite-E2.1']").first.click()
    cited = page.locator("#cite-output")
    cited.get_by_text("Tool output E2.1 detect").wait_for()
    shown = cited.inner_text()
    assert f'"count": {detections}' in shown
    assert "more" in shown  # the long object list is shortened
    page.screenshot(path=shots / "04-citation-output.png", full_page=True)

    page.locator("#audit-accordion").get_by_text("Audit trail").click()
    audit = page.locator("#audit")
    audit.get_by_text("E2.1 detect").wait_for()
    rows = audit.locator("tr").all_inner_texts()[1:]
    kinds = [r.split("\t")[1] for r in rows]
    assert kinds == ["request", "tool_call", "turn", "request", "tool_call", "turn"]
    assert f"Zoom to ({x}, {y}) at 20x" in rows[0]
    page.screenshot(path=shots / "05-audit-trail.png", full_page=True)

    page.get_by_role("button", name="Export case").click()
    page.locator("#export-status").get_by_text("Exported").wait_for()
    case_id = case_id_shown(page)
    with page.expect_download() as report_dl:
        page.locator("#download-report").click()
    report_zip = tmp_path / "report.zip"
    report_dl.value.save_as(report_zip)
    with zipfile.ZipFile(report_zip) as zf:
        report = zf.read("report.md").decode()
        assert sorted(zf.namelist()) == [
            "images/E1.1-zoom.png",
            "images/E2.1-nuclei.png",
            "report.md",
        ]
    assert report.startswith(f"# SmartPath case {case_id}")
    assert f"### Turn 1: Zoom to ({x}, {y}) at 20x" in report
    assert "### Turn 2: Detect the nuclei here" in report
    assert "](images/E2.1-nuclei.png)" in report
    assert "✔ verified; cites `E2.1`" in report
    with page.expect_download() as geo_dl:
        page.locator("#download-geojson").click()
    geo_file = tmp_path / "case.geojson"
    geo_dl.value.save_as(geo_file)
    features = json.loads(geo_file.read_text())["features"]
    regions = [f for f in features if f["properties"]["objectType"] == "annotation"]
    nuclei = [f for f in features if f["properties"]["objectType"] == "detection"]
    assert [f["properties"]["name"] for f in regions] == ["Region 1"]
    assert regions[0]["geometry"]["coordinates"][0][0] == [x0, y0]
    assert len(nuclei) == detections
    for f in nuclei:
        ring = f["geometry"]["coordinates"][0]
        assert ring[0] == ring[-1]
        assert all(x0 <= px <= x1 and y0 <= py <= y1 for px, py in ring)
    page.screenshot(path=shots / "06-exported.png", full_page=True)
    exports = app_server.home / "web-cache" / "exports"
    assert len(list(exports.rglob(f"{case_id}.geojson"))) == 1


def test_panel_errors_are_one_line_and_uploads_keep_their_name(
    app_server: AppProcess, page: Any, tmp_path: Path, shots: Path
) -> None:
    page.goto(app_server.url)
    page.get_by_role("button", name="Export case").click()
    status = page.locator("#export-status")
    status.get_by_text("no case to export yet").wait_for()
    assert len(status.inner_text().strip().splitlines()) == 1

    named = tmp_path / "Biopsy [7] (left) _a_ #1.png"
    shutil.copyfile(TILE, named)
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Upload slide").click()
    chooser.value.set_files(str(named))
    caption = page.locator("#slide-caption")
    caption.get_by_text("uploaded as Biopsy [7] (left) _a_ #1.png").wait_for()
    assert re.match(r"upload-[0-9a-f]{16}\.png", caption.inner_text())
    ask(page, "Zoom to (100, 100)", "Reasoning chain")
    page.locator("#cite-id textarea").fill("../../etc/passwd")
    page.locator("#cite-show").click()
    cited = page.locator("#cite-output")
    cited.get_by_text("is not an evidence or fact id").wait_for()
    page.locator("#cite-id textarea").fill("E9.9")
    page.locator("#cite-show").click()
    cited.get_by_text("no evidence or fact E9.9 in this case (ids: E1.1)").wait_for()
    assert "Traceback" not in cited.inner_text()
    page.locator("#cases input").click()
    listed = page.get_by_role("option").all_inner_texts()
    mine = [o for o in listed if o.startswith(case_id_shown(page))]
    assert len(mine) == 1
    assert "(uploaded as Biopsy [7] (left) _a_ #1.png)" in mine[0]
    page.screenshot(path=shots / "07-upload-name-and-errors.png", full_page=True)
