"""The web app's knowledge-graph panel in-process: status, a streamed build, one build at a time.

A real build of the Disease Ontology subset into the Copilot's own Chroma store (some 15-30 s,
most of it loading the embedding model), then a knowledge question answered from it.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from pathlib import Path

import pytest

from agent.knowledge import Knowledge
from app.kg_build import BuildStep
from app.web.kg_panel import KGPanel
from app.web.service import SessionState, WebService
from core.settings import Settings
from memory.kg.store import KGStore
from tests.fixtures.browser import place_sample

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]

KNOWLEDGE_QUESTION = "What is lung adenocarcinoma?"
RUNNING = re.compile(r"^a knowledge-graph build is already running \(started \d\d:\d\d:\d\d\)$")
EMBEDDING = re.compile(r"- embedding (names|facts) ([\d,]+)/([\d,]+)")


@pytest.fixture
def web_settings(home: Path, kg_source: Path) -> Settings:
    """The service reads the subset's source folder (not ../shared/data/kg, the whole release)."""
    return Settings(home=home, kg_source=kg_source)


def ask_for_facts(service: WebService, session: SessionState, question: str) -> list[str]:
    """Ask in the session's case; return the ids of the facts the turn recalled."""
    service.ask(session, question)
    assert session.case_id is not None
    turn = service.copilot.last_turn(session.case_id)
    assert turn is not None
    return [f["id"] for f in turn.facts]


def test_step_lines() -> None:
    assert BuildStep("reading").line == "reading sources…"
    assert BuildStep("assembling").line == "assembling…"
    assert BuildStep("names", 512, 2093).line == "embedding names 512/2,093"
    assert BuildStep("facts", 0, 588).line == "embedding facts 0/588"


def test_build_streams_progress_refuses_a_second_and_the_next_turn_uses_the_graph(
    service: WebService, home: Path, kg_source: Path
) -> None:
    panel = service.kg
    before = panel.status()
    assert f"No knowledge graph yet at `{home / 'kg'}`" in before
    assert f"Source folder a build reads: `{kg_source}`" in before
    place_sample(home)
    session = SessionState()
    assert service.open_sample(session).error == ""
    assert ask_for_facts(service, session, KNOWLEDGE_QUESTION) == []  # no graph yet

    shown: list[str] = []
    ended: list[float] = []

    def consume() -> None:
        shown.extend(panel.build())
        ended.append(time.monotonic())

    builder = threading.Thread(target=consume)
    builder.start()
    deadline = time.monotonic() + 60
    while not shown and time.monotonic() < deadline:
        time.sleep(0.05)
    assert shown, "the build showed no progress"
    refused = list(panel.build())
    assert len(refused) == 1
    assert RUNNING.match(refused[0]), refused
    assert "a knowledge-graph build is running (started" in panel.status()

    other = SessionState()  # another session's turn runs while the graph is being built
    assert service.open_sample(other).error == ""
    service.ask(other, "What is the size, magnification and resolution?")
    answered = time.monotonic()
    builder.join(timeout=300)
    assert not builder.is_alive()
    assert answered < ended[0], "the other session's turn waited for the build"

    final = shown[-1].splitlines()
    assert final[:2] == ["- reading sources…", "- assembling…"]
    assert re.fullmatch(r"- embedding names ([\d,]+)/\1", final[2]), final
    assert re.fullmatch(r"- embedding facts ([\d,]+)/\1", final[3]), final
    assert re.fullmatch(
        r"- built: \d+ entities, \d+ names, \d+ facts \(\d+ embedded, 0 removed\) in [\d.]+ s "
        rf"at {re.escape(str(home / 'kg'))}",
        final[4],
    ), final
    assert len(final) == 5
    for stage in ("names", "facts"):  # counts only grow, up to the total
        counts = [
            (int(m[2].replace(",", "")), int(m[3].replace(",", "")))
            for text in shown
            for m in EMBEDDING.finditer(text)
            if m[1] == stage
        ]
        done = [d for d, _ in counts]
        assert done == sorted(done)
        assert done[-1] == counts[-1][1] > 0
    after = panel.status()
    counted = r"Knowledge graph: [\d,]+ entities, [\d,]+ names, [\d,]+ facts; built "
    assert re.search(counted, after), after
    assert "all-MiniLM-L6-v2" in after

    facts = ask_for_facts(service, session, KNOWLEDGE_QUESTION)
    assert "DOID:3910#definition" in facts
    store = service.copilot.knowledge.store  # its vector index holds the build too
    hits = store.query_facts("cell of origin of lung adenocarcinoma", k=1)
    assert hits[0].fact.subject == "DOID:3910"


def test_a_refresh_while_a_knowledge_turn_runs(
    service: WebService, home: Path, kg_store_dir: Path
) -> None:
    """A refresh of a built graph embeds nothing; a knowledge turn running meanwhile completes."""
    shutil.copytree(kg_store_dir, home / "kg")  # before the service's store first opens it
    place_sample(home)
    session = SessionState()
    assert service.open_sample(session).error == ""
    facts: list[list[str]] = []
    turn = threading.Thread(
        target=lambda: facts.append(ask_for_facts(service, session, KNOWLEDGE_QUESTION))
    )
    turn.start()
    refresh = list(service.kg.build())
    turn.join(timeout=120)
    assert re.search(r"- built: .*\(0 embedded, 0 removed\)", refresh[-1]), refresh[-1]
    assert facts
    assert "DOID:3910#definition" in facts[0]


def _broken_source(tmp_path: Path) -> Path:
    source = tmp_path / "broken"
    (source / "doid").mkdir(parents=True)
    (source / "doid" / "doid_2024-01-31.obo.gz").symlink_to(tmp_path / "gone.obo.gz")
    return source


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("none", "**Error:** kg build: no source folder given; set SMARTPATH_KG_SOURCE"),
        ("missing", "is not a folder; set SMARTPATH_KG_SOURCE"),
        ("broken", "**Error:** cannot read knowledge-graph source"),
    ],
)
def test_a_build_that_cannot_start_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)  # no ../shared/data/kg beside the working directory
    source = {"none": None, "missing": tmp_path / "nowhere", "broken": _broken_source(tmp_path)}
    settings = Settings(home=tmp_path / "home", kg_source=source[case])
    store = KGStore(settings)
    try:
        panel = KGPanel(Knowledge(store, settings.link_threshold), settings)
        shown = list(panel.build())
        status = panel.status()
    finally:
        store.close()
    lines = shown[-1].splitlines()
    assert lines[:-1] == ([] if case != "broken" else ["- reading sources…"])
    assert lines[-1].startswith("- **Error:** ")
    assert expected in lines[-1]
    assert "Traceback" not in shown[-1]
    if case == "none":
        assert "No source folder set: set SMARTPATH_KG_SOURCE" in status
    assert "No knowledge graph yet at" in status
    assert list(panel.build())  # the failed build released its place: another may start
