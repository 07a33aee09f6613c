"""The web app in headless Chromium: the real ``smartpath app`` process on 127.0.0.1."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.fixtures.browser import AppProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZE_QUESTION = "What is the size, magnification and resolution?"


def ask(page: Any, question: str, turn_marker: str) -> None:
    """Type a question, press Ask and wait until ``turn_marker`` is in the chat."""
    count = page.locator("#chat").get_by_text(turn_marker).count()
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()
    page.wait_for_function(
        "([marker, n]) => document.querySelector('#chat').innerText.split(marker).length - 1 > n",
        arg=[turn_marker, count],
    )


def open_sample(page: Any, app: AppProcess) -> None:
    page.goto(app.url)
    page.get_by_role("button", name="Open sample").click()
    page.locator("#slide-caption").get_by_text("CMU-1-Small-Region.svs").wait_for()


def case_id_shown(page: Any) -> str:
    text = page.locator("#slide-caption").inner_text()
    found = re.search(r"Case: (case-[\w-]+)", text)
    assert found, text
    return found.group(1)


def test_sample_answer_tool_call_chain_and_image(
    app_server: AppProcess, page: Any, shots: Path
) -> None:
    open_sample(page, app_server)
    page.screenshot(path=shots / "01-sample-open.png")
    ask(page, SIZE_QUESTION, "Reasoning chain: verified")
    chat = page.locator("#chat")
    text = chat.inner_text()
    assert "CMU-1-Small-Region.svs: 2220 × 2967 pixels, 1 level(s), 0.499 µm/px" in text
    assert "scanned at 20x" in text
    assert "100% of steps verified" in text
    assert text.count("verified; cites E1.1") == 3
    tool = chat.get_by_text(re.compile(r"Tool call E1\.1 slide_info · expert built-in · cpu · "))
    assert re.search(r"· \d+\.\d\d s · ok", tool.inner_text())
    tool.click()  # the tool call is collapsible: open it to see the tool's output
    chat.get_by_text("2220 × 2967 px, 1 level(s), 0.499 µm/px, 20x").wait_for()
    page.screenshot(path=shots / "02-answer-tool-call-chain.png", full_page=True)

    ask(page, "Zoom to the largest tissue region at 20x", "Reasoning chain: verified")
    assert "Tool call E2.1 zoom" in chat.inner_text()
    image = chat.locator("img").last
    image.scroll_into_view_if_needed()
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    page.screenshot(path=shots / "03-zoom-image-and-region.png", full_page=True)
    page.locator("#cases input").click()
    listed = page.get_by_role("option").all_inner_texts()
    assert len(listed) == 1
    assert listed[0].startswith(f"{case_id_shown(page)} · CMU-1-Small-Region.svs · 2 turn(s)")


def test_case_reopens_after_restart_and_continues(
    app_server: AppProcess, page: Any, shots: Path
) -> None:
    open_sample(page, app_server)
    ask(page, SIZE_QUESTION, "Reasoning chain: verified")
    case_id = case_id_shown(page)
    page.goto("about:blank")  # an open page keeps the server's shutdown waiting
    app_server.restart()
    page.goto(app_server.url)
    page.locator("#cases input").click()
    page.get_by_role("option", name=re.compile(re.escape(case_id))).click()
    page.get_by_role("button", name="Open case").click()
    page.locator("#chat").get_by_text(SIZE_QUESTION).wait_for()
    assert case_id_shown(page) == case_id
    assert "Tool call E1.1 slide_info" in page.locator("#chat").inner_text()
    page.screenshot(path=shots / "04-reopened-after-restart.png", full_page=True)
    ask(page, "How much of it is tissue?", "Reasoning chain: verified")
    text = page.locator("#chat").inner_text()
    assert "Tool call E2.1 tissue" in text
    assert re.search(r"Tissue covers \d+\.\d% of the slide", text)
    assert case_id_shown(page) == case_id
    page.screenshot(path=shots / "05-continued.png", full_page=True)


def test_corrupt_upload_shows_one_line_error(
    app_server: AppProcess, page: Any, tmp_path: Path, shots: Path
) -> None:
    corrupt = tmp_path / "corrupt.svs"
    corrupt.write_bytes(np.random.default_rng(0).integers(0, 256, 65536, np.uint8).tobytes())
    page.goto(app_server.url)
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Upload slide").click()
    chooser.value.set_files(str(corrupt))
    status = page.locator("#slide-status")
    status.get_by_text("upload rejected: corrupt.svs is not a slide").wait_for()
    assert "Traceback" not in status.inner_text()
    assert len(status.inner_text().strip().splitlines()) == 1
    page.screenshot(path=shots / "06-corrupt-upload.png", full_page=True)
    assert list((app_server.home / "uploads").iterdir()) == []
    assert not list((app_server.home / "web-cache").rglob("corrupt.svs"))


@pytest.mark.parametrize(
    "requested",
    [
        "/etc/passwd",
        "{home}/cases.sqlite",
        "{home}/samples/CMU-1-Small-Region.svs",
        "{home}/artifacts/../cases.sqlite",
        "{home}/artifacts/%2e%2e/cases.sqlite",
        "{repo}/README.md",
    ],
)
def test_file_route_serves_nothing_outside_the_app_folders(
    app_server: AppProcess, requested: str
) -> None:
    path = requested.format(home=app_server.home, repo=Path(__file__).resolve().parents[1])
    reply = httpx.get(f"{app_server.url}gradio_api/file={path}", timeout=10)
    assert reply.status_code in {403, 404}, reply.text[:200]
