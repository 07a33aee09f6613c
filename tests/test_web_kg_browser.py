"""The knowledge-graph panel in headless Chromium: status, a streamed build, then a KG answer.

The real ``smartpath app`` with ``SMARTPATH_KG_SOURCE`` set to the Disease Ontology subset; a
MutationObserver records every text the build's progress shows while the build runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.browser import AppProcess, place_sample, record_texts, recorded_texts, start_app

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.shared_data]

REPORT = re.compile(
    r"built: \d+ entities, \d+ names, \d+ facts \(\d+ embedded, 0 removed\) in [\d.]+ s at "
)


@pytest.fixture(scope="module")
def kg_app(kg_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppProcess]:
    """An app process over a fresh home (no graph yet) that builds from the subset."""
    home = tmp_path_factory.mktemp("kg-web") / "home"
    place_sample(home)
    app = start_app(home, {"SMARTPATH_KG_SOURCE": str(kg_source)})
    yield app
    app.stop()


def test_the_panel_builds_the_graph_and_the_next_turn_uses_it(
    kg_app: AppProcess, kg_source: Path, page: Any, shots: Path
) -> None:
    page.goto(kg_app.url)
    page.get_by_text("Knowledge graph", exact=True).click()
    status = page.locator("#kg-status")
    status.get_by_text("No knowledge graph yet at").wait_for()
    assert str(kg_source) in status.inner_text()
    page.screenshot(path=shots / "kg-01-not-built.png", full_page=True)

    record_texts(page, "#kg-build-log")
    page.locator("#kg-build").click()
    log = page.locator("#kg-build-log")
    log.get_by_text(re.compile(r"embedding (names|facts) [\d,]+/[\d,]+")).first.wait_for()
    page.screenshot(path=shots / "kg-02-building.png", full_page=True)
    log.get_by_text(REPORT).wait_for(timeout=180_000)
    status.get_by_text(re.compile(r"Knowledge graph: [\d,]+ entities")).wait_for()
    page.screenshot(path=shots / "kg-03-built.png", full_page=True)
    seen = recorded_texts(page)
    during = [t for t in seen if not REPORT.search(t)]
    assert any("reading sources…" in t for t in during)
    assert any(re.search(r"embedding names [\d,]+/[\d,]+", t) for t in during)
    final = log.inner_text()
    assert final.index("reading sources…") < final.index("embedding facts") < final.index("built:")

    page.get_by_role("button", name="Open sample").click()
    page.locator("#slide-caption").get_by_text("CMU-1-Small-Region.svs").wait_for()
    page.locator("#question textarea").fill("What is lung adenocarcinoma?")
    page.locator("#ask").click()
    page.locator("#chat").get_by_text("Reasoning chain:").wait_for()
    chat = page.locator("#chat").inner_text()
    assert "lung adenocarcinoma is located in the lung." in chat
    page.screenshot(path=shots / "kg-04-answer-from-the-graph.png", full_page=True)
