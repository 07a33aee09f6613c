"""Multi-turn case review in the web app, in headless Chromium: segment, compare, recall."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.browser import AppProcess
from tests.test_web_browser import ask, open_sample

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.shared_data]

VERIFIED = "Reasoning chain: verified"


def test_segment_compare_and_recall_regions(app_server: AppProcess, page: Any, shots: Path) -> None:
    page.set_default_timeout(150_000)  # CI has 2 cores: a turn can wait behind other work
    open_sample(page, app_server)
    ask(page, "zoom to the box [600, 1000, 1112, 1512] at 20x", VERIFIED)
    ask(page, "zoom to the box [1200, 1600, 1712, 2112] at 20x", VERIFIED)
    chat = page.locator("#chat")

    ask(page, "now segment the nuclei in region 2", VERIFIED)
    seg = re.search(r"outlined (\d+) nuclei in region #2", chat.inner_text())
    assert seg, chat.inner_text()[-2000:]
    assert "Tool call E3.1 segment" in chat.inner_text()

    ask(page, "compare it with region 1", VERIFIED)
    text = chat.inner_text()
    assert "Tool call E4.1 segment" in text  # the same analysis, run on region 1
    assert f"Earlier in this case (E3.1): The cpu-segment-classical expert outlined {seg[1]}" in (
        text
    )
    compared = re.search(r"Region #2 has (\d+) (more|fewer) nuclei than region #1 \((\d+) vs", text)
    assert compared, text[-2000:]
    assert compared[3] == seg[1]
    page.screenshot(path=shots / "review-01-compare.png", full_page=True)

    ask(page, "what did we conclude about the first region?", VERIFIED)
    text = chat.inner_text()
    assert "About the first region, earlier in this case:" in text
    assert "Tool call E5." not in text  # answered from the case's findings: no tool ran
    assert re.search(r"verified; cites E1\.1, E4\.1", text), text[-2000:]
    page.screenshot(path=shots / "review-02-recall.png", full_page=True)
