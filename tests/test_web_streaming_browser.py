"""A turn streams into the page: the question at once, working lines, then tool call and answer.

The real ``smartpath app`` in headless Chromium; a MutationObserver records every text the chat
shows while a long turn (nuclei segmentation of a region, several seconds on CPU) runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.browser import AppProcess, record_texts, recorded_texts

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MARKER = "Reasoning chain:"


def ask_and_wait(page: Any, question: str) -> None:
    before = page.locator("#chat").inner_text().count(MARKER)
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()
    page.wait_for_function(
        "([m, n]) => document.querySelector('#chat').innerText.split(m).length - 1 > n",
        arg=[MARKER, before],
    )


def test_a_long_turn_streams_progress_then_the_answer(
    app_server: AppProcess, page: Any, shots: Path
) -> None:
    page.goto(app_server.url)
    page.get_by_role("button", name="Open sample").click()
    page.locator("#slide-caption").get_by_text("CMU-1-Small-Region.svs").wait_for()
    ask_and_wait(page, "Zoom to the largest tissue region at 20x")
    record_texts(page, "#chat")
    question = "segment the nuclei in region 1"
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()
    working = page.locator("#chat").get_by_text("Working: running segment on region #1 (cpu)…")
    working.wait_for()
    page.screenshot(path=shots / "streaming-working.png", full_page=True)
    assert page.locator("#question textarea").input_value() == ""  # cleared when the turn began
    page.wait_for_function(
        "(m) => document.querySelector('#chat').innerText.split(m).length - 1 >= 2", arg=MARKER
    )
    page.screenshot(path=shots / "streaming-done.png", full_page=True)
    seen = recorded_texts(page)
    during = [t for t in seen if t.count(MARKER) == 1]  # the second turn not answered yet
    assert any(question in t and "Working:" in t for t in during)
    assert any("Working: running segment on region #1 (cpu)…" in t for t in during)
    final = page.locator("#chat").inner_text()
    assert "Working:" not in final
    assert "Tool call E2.1 segment" in final
    assert "nuclei" in final.split(question, 1)[1]
