"""The web app in headless Chromium: the real ``smartpath app`` process on 127.0.0.1."""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

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
    assert "The slide “CMU-1-Small-Region.svs”: 2220 × 2967 pixels, 1 level(s), 0.499 µm/px" in text
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


class _Beacon(http.server.BaseHTTPRequestHandler):
    """Records every request: the page must never fetch anything from this server."""

    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def beacon() -> Iterator[tuple[int, list[str]]]:
    """A local HTTP server on a free port and the paths it was asked for."""
    _Beacon.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Beacon)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], _Beacon.hits
    server.shutdown()
    server.server_close()


_FROM_USER = """(port) => [...document.querySelectorAll('#chat img, #chat a, #chat iframe')]
    .filter((el) => (el.getAttribute('src') || el.getAttribute('href') || '').includes(port))
    .map((el) => el.outerHTML)"""
_CHAT_LINKS = """() => [...document.querySelectorAll('#chat .message a[href]')]
    .map((el) => el.getAttribute('href'))"""


def test_user_text_shows_as_text_live_and_when_the_case_is_reopened(
    app_server: AppProcess, page: Any, shots: Path, beacon: tuple[int, list[str]]
) -> None:
    port, hits = beacon
    image = f"![x](http://127.0.0.1:{port}/beacon.png) what is the size?"
    html = (
        f'<img src="http://127.0.0.1:{port}/raw.png"> <a href="http://127.0.0.1:{port}/link">'
        "here</a> how much \u202eof it is\x07 tissue?"
    )
    shown_html = html.replace("\u202e", " ").replace("\x07", " ")
    open_sample(page, app_server)
    ask(page, image, "Reasoning chain:")
    ask(page, html, "Reasoning chain:")
    case_id = case_id_shown(page)

    def check(when: str) -> None:
        chat = page.locator("#chat")
        text = chat.inner_text()
        assert image in text, when  # shown as typed
        assert " ".join(shown_html.split()) in " ".join(text.split()), when
        assert "\u202e" not in text
        assert "\x07" not in text
        assert page.evaluate(_FROM_USER, str(port)) == [], when
        links = page.evaluate(_CHAT_LINKS)
        assert links, when  # the chain's citations are links
        assert all(h.startswith("#cite-") for h in links), (when, links)

    check("live")
    page.screenshot(path=shots / "07-user-text-as-text.png", full_page=True)
    page.get_by_role("button", name="New case").click()
    page.locator("#slide-caption").get_by_text("new case").wait_for()
    page.locator("#cases input").click()
    page.get_by_role("option", name=re.compile(re.escape(case_id))).click()
    page.get_by_role("button", name="Open case").click()
    page.locator("#chat").get_by_text("what is the size?").wait_for()
    assert case_id_shown(page) == case_id
    check("reopened")
    page.screenshot(path=shots / "08-user-text-reopened.png", full_page=True)
    page.wait_for_timeout(500)  # any image or prefetch the page started has arrived by now
    assert hits == []
