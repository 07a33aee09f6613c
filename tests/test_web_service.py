"""The web app's service and rendering in-process: the same Copilot, cases and files as the CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from app.runner import Copilot, TurnResult
from app.web.overview import ROI_RGB
from app.web.render import render_turn
from app.web.service import SessionState, WebService
from core.settings import Settings
from tests.fixtures.slides import SyntheticSlide


def upload(service: WebService, source: Path, session: SessionState) -> None:
    folder = service.dirs.web_cache / "abc123"
    folder.mkdir()
    view = service.upload(session, str(shutil.copyfile(source, folder / "slide.tiff")))
    assert view.error == ""
    assert not folder.joinpath("slide.tiff").exists()  # Gradio's copy is removed
    assert view.image is not None
    assert "2048 × 1536 px · 0.500 µm/px" in view.caption


def test_turns_render_tool_calls_images_and_chain(
    service: WebService, synthetic_slide: SyntheticSlide
) -> None:
    session = SessionState()
    assert "open the sample or upload" in service.ask(session, "size?")[1]["content"]
    upload(service, synthetic_slide.path, session)
    first = service.ask(session, "What is the size and resolution?")
    assert session.case_id is not None
    assert first[0] == {"role": "user", "content": "What is the size and resolution?"}
    call = first[1]
    assert call["metadata"]["title"].startswith("Tool call E1.1 slide_info · expert built-in · cpu")
    assert call["metadata"]["title"].endswith(" s · ok")
    assert "2048 × 1536" in first[2]["content"]
    assert first[-1]["content"].startswith("**Reasoning chain: verified** (100% of steps verified)")
    assert "**verified**; cites [E1.1](#cite-E1.1)" in first[-1]["content"]
    zoom = service.ask(session, "Zoom to the largest tissue region at 1 µm/px")
    images = [m["content"]["path"] for m in zoom if isinstance(m["content"], dict)]
    assert len(images) == 1
    shown = Path(images[0])  # a copy under an unguessable name; artifacts/ is not served
    assert shown.is_relative_to(service.dirs.web_cache / "case-images")
    source = service.dirs.artifacts / session.case_id / shown.name
    assert shown.read_bytes() == source.read_bytes()
    overview = np.asarray(service.overview(session))
    assert np.all(overview == ROI_RGB, axis=2).sum() > 100  # region 1 drawn


def test_a_case_reopens_in_a_new_process_and_continues(
    home: Path, service: WebService, synthetic_slide: SyntheticSlide
) -> None:
    session = SessionState()
    upload(service, synthetic_slide.path, session)
    service.ask(session, "What is the size and resolution?")
    service.ask(session, "How much of it is tissue?")
    case_id = session.case_id
    service.copilot.close()
    later = WebService(Copilot(Settings(home=home)), service.dirs, service.settings)
    try:
        assert [c[1] for c in later.case_choices()] == [case_id]
        assert " · 2 turn(s) · " in later.case_choices()[0][0]
        reopened = SessionState()
        view = later.open_case(reopened, case_id)
        assert view.error == ""
        assert reopened.case_id == case_id
        texts = [m["content"] for m in reopened.messages if isinstance(m["content"], str)]
        assert texts[0] == "What is the size and resolution?"
        assert "(turn 1, verified)" in texts[1]
        titles = [m["metadata"]["title"] for m in reopened.messages if "metadata" in m]
        assert any("tissue" in title for title in titles)
        third = later.ask(reopened, "Zoom to the largest tissue region at 1 µm/px")
        assert later.copilot.last_turn(case_id).turn == 3
        assert third[1]["metadata"]["title"].startswith("Tool call E3.1 zoom")
        assert reopened.messages[-len(third) :] == third
    finally:
        later.copilot.close()


@pytest.mark.parametrize(
    ("case_id", "message"),
    [("../x", "invalid case id"), ("nope", "no case 'nope'"), (None, "choose")],
)
def test_bad_case_ids_are_one_line_errors(
    service: WebService, case_id: str | None, message: str
) -> None:
    view = service.open_case(SessionState(), case_id)
    assert message in view.error
    assert "\n" not in view.error


def test_artifacts_outside_the_artifacts_folder_are_not_shown(tmp_path: Path) -> None:
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"x")
    result = TurnResult(
        case_id="c",
        turn=1,
        slide={},
        request="q",
        answer="a",
        chain=[],
        chain_tagged="",
        verification={},
        evidence=[],
        plan=None,
        facts=[],
        artifacts=[str(outside)],
        timings={},
    )
    messages = render_turn(result, lambda p: None)
    assert all(isinstance(m["content"], str) for m in messages)
    shown = render_turn(result, lambda p: Path(p))
    assert {"path": str(outside)} in [m["content"] for m in shown]
