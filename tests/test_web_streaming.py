"""Streamed turns and concurrent use of one Copilot: progress events, per-case order, isolation."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from app.runner import Copilot, TurnResult
from app.web.paths import AppDirs
from app.web.service import SessionState, WebService
from core.progress import Progress
from core.settings import Settings
from tests.fixtures.slides import SyntheticSlide

SIZE = "What is the size and resolution?"
ZOOM = "Zoom to the largest tissue region at 1 µm/px"


def test_ask_stream_reports_nodes_and_tools_before_the_result(
    service: WebService, synthetic_slide: SyntheticSlide
) -> None:
    items = list(service.copilot.ask_stream(synthetic_slide.path, ZOOM))
    result = items[-1]
    assert isinstance(result, TurnResult)
    progress = items[:-1]
    assert all(isinstance(p, Progress) for p in progress)
    texts = [p.text for p in progress]
    assert texts[:2] == ["opening the case…", "planning…"]
    assert texts.index("planning…") < texts.index("running the tools…") < texts.index("verifying…")
    start = next(p for p in progress if p.kind == "tool_start")
    done = next(p for p in progress if p.kind == "tool_done")
    assert start.text == "running zoom on tissue region 1 (cpu)…"
    assert progress.index(start) < progress.index(done) < texts.index("verifying…")
    assert done.evidence is not None
    evidence = result.evidence[0]
    assert done.evidence["id"] == evidence["id"] == "E1.1"
    assert done.evidence["summary"] == evidence["summary"]
    assert done.evidence["ok"] is True
    assert result.answer
    assert result.verification["status"] == "verified"


def test_ask_is_the_last_item_of_ask_stream(
    service: WebService, synthetic_slide: SyntheticSlide
) -> None:
    streamed = list(service.copilot.ask_stream(synthetic_slide.path, SIZE, "s1"))[-1]
    asked = service.copilot.ask(synthetic_slide.path, SIZE, "s2")
    assert isinstance(streamed, TurnResult)
    assert streamed.answer == asked.answer
    assert streamed.chain == asked.chain


def test_bad_input_raises_before_the_stream_starts(
    service: WebService, synthetic_slide: SyntheticSlide, tmp_path: Path
) -> None:
    from core.errors import CopilotError

    with pytest.raises(CopilotError, match="the question is empty"):
        service.copilot.ask_stream(synthetic_slide.path, "   ")
    with pytest.raises(CopilotError):
        service.copilot.ask_stream(tmp_path / "missing.svs", SIZE)
    assert service.copilot.cases.list() == []


def test_web_stream_shows_question_progress_and_tool_calls_before_the_answer(
    service: WebService, synthetic_slide: SyntheticSlide
) -> None:
    session = SessionState()
    service._open(session, synthetic_slide.path)
    chats = [list(chat) for chat in service.ask_stream(session, SIZE)]
    first = chats[0]
    assert first[0] == {"role": "user", "content": SIZE}
    assert first[1]["metadata"]["status"] == "pending"
    assert first[1]["metadata"]["title"] == "Working: starting…"
    titles = [c[-1]["metadata"]["title"] for c in chats[1:-1]]
    assert "Working: planning…" in titles
    assert "Working: verifying…" in titles
    with_call = next(c for c in chats if any("Tool call E1.1" in str(m) for m in c))
    assert with_call[-1]["metadata"]["status"] == "pending"  # the turn is still running
    assert not any("Reasoning chain" in str(m["content"]) for m in with_call)
    final = chats[-1]
    assert final == session.messages
    assert final[1]["metadata"]["title"].startswith("Tool call E1.1 slide_info")
    assert final[-1]["content"].startswith("**Reasoning chain: verified**")
    assert not any(m.get("metadata", {}).get("status") == "pending" for m in final)
    assert session.case_id is not None


def test_web_stream_errors_are_one_line(service: WebService) -> None:
    session = SessionState()
    chats = list(service.ask_stream(session, SIZE))
    assert chats[-1][-1]["content"] == "Error: open the sample or upload a slide first"
    session.slide_path = str(service.dirs.samples / "gone.svs")
    last = list(service.ask_stream(session, SIZE))[-1][-1]["content"]
    assert last.startswith("Error: ")
    assert "\n" not in last
    assert "Traceback" not in last


def test_turns_of_one_case_never_interleave(
    service: WebService, synthetic_slide: SyntheticSlide
) -> None:
    copilot = service.copilot
    first = copilot.ask(synthetic_slide.path, SIZE, "shared")
    results: list[TurnResult] = []
    errors: list[BaseException] = []

    def turn(question: str) -> None:
        try:
            results.append(copilot.ask(synthetic_slide.path, question, "shared"))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=turn, args=(q,))
        for q in ("How much of it is tissue?", ZOOM, SIZE, "How much of it is tissue?")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert errors == []
    assert sorted(r.turn for r in results) == [2, 3, 4, 5]
    for r in results:  # each turn's own evidence, numbered by its own turn
        assert [e["id"] for e in r.evidence] == [f"E{r.turn}.1"]
    record, state = copilot.case("shared")
    assert record is not None
    assert record.turns == 5
    assert [f["turn"] for f in state["findings"]] == [1, 2, 3, 4, 5]
    requests = [r["turn"] for r in copilot.audit.read("shared") if r["kind"] == "request"]
    assert requests == [1, 2, 3, 4, 5]  # whole turns one after another in the audit log
    assert first.case_id == "shared"


def test_concurrent_new_cases_get_their_own_ids_slides_and_images(
    service: WebService, synthetic_slide: SyntheticSlide, cmu_slide: Path
) -> None:
    sessions = [SessionState() for _ in range(4)]
    slides = [synthetic_slide.path, cmu_slide, synthetic_slide.path, cmu_slide]
    for session, slide in zip(sessions, slides, strict=True):
        service._open(session, slide)
    errors: list[BaseException] = []

    def run(session: SessionState) -> None:
        try:
            service.ask(session, SIZE)
            service.ask(session, "Zoom to the largest tissue region at 2 µm/px")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert errors == []
    ids = [s.case_id for s in sessions]
    assert len(set(ids)) == 4
    assert None not in ids
    for session, slide in zip(sessions, slides, strict=True):
        record, state = service.copilot.case(str(session.case_id))
        assert record is not None
        assert record.turns == 2
        assert state["slide_path"] == str(Path(slide).resolve())
        text = "\n".join(str(m["content"]) for m in session.messages)
        assert Path(slide).name in text
        images = [Path(m["content"]["path"]) for m in session.messages if _is_file(m)]
        assert len(images) == 1
        own = service.dirs.artifacts / str(session.case_id) / images[0].name
        assert images[0].read_bytes() == own.read_bytes()
    other = service.dirs.artifacts / str(sessions[1].case_id)
    shows = service._case_files(str(sessions[0].case_id))
    assert all(shows(str(p)) is None for p in other.iterdir())  # another case's files: refused


def _is_file(message: dict[str, object]) -> bool:
    return isinstance(message["content"], dict)


@pytest.mark.slow
def test_slide_classification_streams_tile_progress(
    home: Path, cmu_slide: Path, tiny_mil: tuple[Path, Path]
) -> None:
    from tests.test_wsi_classify import experts_file

    settings = Settings(home=home, experts_file=experts_file(home, *tiny_mil))
    dirs = AppDirs.from_settings(settings)
    dirs.ensure()
    service = WebService(Copilot(settings), dirs, settings)
    try:
        events = list(service.copilot.ask_stream(cmu_slide, "classify this slide"))
        result = events[-1]
        assert isinstance(result, TurnResult)
        used = result.evidence[0]["output"]["tiles_used"]
        reads = [e.text for e in events[:-1] if e.kind == "tool_progress"]
        assert reads[0].startswith("read ")
        assert reads[-2:] == [
            f"read {used}/{used} tissue tiles",
            f"encoding {used} tiles with mil-tiny",
        ]
        kinds = [e.kind for e in events[:-1]]
        assert kinds.index("tool_start") < kinds.index("tool_progress") < kinds.index("tool_done")
        session = SessionState()
        service._open(session, cmu_slide)
        chats = list(service.ask_stream(session, "classify this slide"))
        working = [c[-1]["content"] for c in chats[1:-1]]
        assert any(f"- read {used}/{used} tissue tiles" in w for w in working)
        assert all(w.count("- read ") <= 1 for w in working)  # each count replaces the last
        assert "classified the slide as" in str(chats[-1])
    finally:
        service.copilot.close()
