"""Two browser sessions on two cases at once: neither sees the other's slide, messages or files.

Two Chromium contexts (own cookies, own Gradio session) against one real ``smartpath app``:
A opens the bundled sample, B uploads another real slide. Their turns run at the same time.
Each page must show only its own slide, case id, questions, tool calls and images; the
server's records of each case hold only that session's questions; and a case's files cannot
be fetched by path from the other session (the artifacts folder is not served at all: the chat
shows per-case copies under unguessable names in the web cache).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.browser import AppProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.shared_data]

MARKER = "Reasoning chain:"
SIZE = "What is the size, magnification and resolution?"
A_ONLY = "Zoom to the largest tissue region at 20x"
B_ONLY = "How much of it is tissue?"
A_SIZE, B_SIZE = "2220 × 2967", "1493 × 901"


def session(chromium: Any) -> tuple[Any, Any]:
    context = chromium.new_context(viewport={"width": 1500, "height": 1100})
    page = context.new_page()
    page.set_default_timeout(120_000)
    return context, page


def start_turn(page: Any, question: str) -> int:
    """Type and send a question without waiting; return how many turns were on the page."""
    count = page.locator("#chat").inner_text().count(MARKER)
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()
    return count


def finish_turn(page: Any, before: int) -> None:
    page.wait_for_function(
        "([m, n]) => document.querySelector('#chat').innerText.split(m).length - 1 > n",
        arg=[MARKER, before],
    )


def case_id(page: Any) -> str:
    found = re.search(r"Case: (case-[\w-]+)", page.locator("#slide-caption").inner_text())
    assert found, page.locator("#slide-caption").inner_text()
    return found.group(1)


def images(page: Any) -> list[str]:
    return page.locator("#chat img").evaluate_all("(imgs) => imgs.map(i => i.src)")


def test_two_sessions_on_two_cases_stay_apart(
    app_server: AppProcess, chromium: Any, shared_data: Path, shots: Path
) -> None:
    context_a, a = session(chromium)
    context_b, b = session(chromium)
    try:
        a.goto(app_server.url)
        b.goto(app_server.url)
        a.get_by_role("button", name="Open sample").click()
        with b.expect_file_chooser() as chooser:
            b.get_by_role("button", name="Upload slide").click()
        chooser.value.set_files(str(shared_data / "wsi" / "kidney-48-5.tif"))
        a.locator("#slide-caption").get_by_text(f"{A_SIZE} px").wait_for()
        b.locator("#slide-caption").get_by_text(f"{B_SIZE} px").wait_for()

        # both sessions' turns run at the same time in the one app process
        for question_a, question_b in ((SIZE, SIZE), (A_ONLY, B_ONLY)):
            before_a, before_b = start_turn(a, question_a), start_turn(b, question_b)
            finish_turn(a, before_a)
            finish_turn(b, before_b)
        a.screenshot(path=shots / "isolation-a.png", full_page=True)
        b.screenshot(path=shots / "isolation-b.png", full_page=True)

        case_a, case_b = case_id(a), case_id(b)
        assert case_a != case_b
        chat_a, chat_b = a.locator("#chat").inner_text(), b.locator("#chat").inner_text()
        caption_a = a.locator("#slide-caption").inner_text()
        caption_b = b.locator("#slide-caption").inner_text()
        assert "CMU-1-Small-Region.svs" in caption_a
        assert "kidney-48-5.tif" in caption_b
        assert "CMU-1-Small-Region" not in caption_b + chat_b
        assert "kidney" not in caption_a + chat_a
        assert f"{A_SIZE} pixels" in chat_a
        assert B_SIZE not in chat_a
        assert f"{B_SIZE} pixels" in chat_b
        assert A_SIZE not in chat_b
        assert A_ONLY in chat_a
        assert B_ONLY not in chat_a
        assert B_ONLY in chat_b
        assert A_ONLY not in chat_b
        assert case_b not in caption_a + chat_a
        assert case_a not in caption_b + chat_b
        assert re.findall(r"Tool call (E\d\.\d) (\w+)", chat_a) == [
            ("E1.1", "slide_info"),
            ("E2.1", "zoom"),
        ]
        assert re.findall(r"Tool call (E\d\.\d) (\w+)", chat_b) == [
            ("E1.1", "slide_info"),
            ("E2.1", "tissue"),
        ]

        # each image in a chat is a copy of a file of that session's own case
        home = app_server.home
        for context, page, own in ((context_a, a, case_a), (context_b, b, case_b)):
            shown = images(page)
            assert shown, f"no image in the chat of {own}"
            own_files = {p.read_bytes() for p in (home / "artifacts" / own).iterdir()}
            for src in shown:
                assert "/artifacts/" not in src  # served from the web cache, not by case path
                reply = context.request.get(src)
                assert reply.ok, src
                assert reply.body() in own_files
        assert not set(images(a)) & set(images(b))

        # a case's files by path, from the other session: refused (artifacts/ is not served)
        for context, other in ((context_a, case_b), (context_b, case_a)):
            for artifact in sorted((home / "artifacts" / other).iterdir()):
                for url in (
                    f"{app_server.url}gradio_api/file={artifact}",
                    f"{app_server.url}gradio_api/file={home}/web-cache/../artifacts/"
                    f"{other}/{artifact.name}",
                ):
                    assert context.request.get(url).status in {403, 404}, url

        # the server's records of each case hold only that session's questions, on its slide
        for own, asked in ((case_a, [SIZE, A_ONLY]), (case_b, [SIZE, B_ONLY])):
            lines = (home / "audit" / f"{own}.jsonl").read_text().splitlines()
            requests = [r for r in map(json.loads, lines) if r["kind"] == "request"]
            assert [r["request"] for r in requests] == asked
            assert len({r["slide"]["slide_id"] for r in requests}) == 1

        # a reload starts a fresh session: nothing of the earlier chat comes back by itself
        a.reload()
        a.locator("#slide-caption").get_by_text("No slide open.").wait_for()
        assert A_SIZE not in a.locator("#chat").inner_text()
    finally:
        context_a.close()
        context_b.close()
