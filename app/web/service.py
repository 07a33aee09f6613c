"""The web app's service: slide, upload, question and case actions over the shared Copilot.

Callbacks in ``app.web.ui`` call these methods and show what they return; every failure a user
can cause comes back as one line of text, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from agent.config import Settings
from agent.errors import CopilotError
from app.runner import Copilot
from app.samples import fetch_sample
from app.web.overview import draw_overview
from app.web.paths import AppDirs, PathRefused, resolve_inside
from app.web.render import Message, render_error, render_finding, render_turn
from app.web.uploads import accept_upload
from memory.cases import validate_case_id

__all__ = ["SessionState", "SlideView", "WebService"]

logger = logging.getLogger(__name__)


@dataclass
class SessionState:
    """One browser session's case, slide and chat; kept server-side in ``gr.State``.

    The chat shown is always ``messages``, never a history sent back by the browser.
    """

    case_id: str | None = None
    slide_path: str | None = None
    messages: list[Message] = field(default_factory=list)


@dataclass
class SlideView:
    """What the slide panel shows."""

    image: Image.Image | None = None
    caption: str = ""
    error: str = ""


class WebService:
    """Slide, question and case actions for the web app; one instance per app process."""

    def __init__(self, copilot: Copilot, dirs: AppDirs, settings: Settings) -> None:
        self.copilot = copilot
        self.dirs = dirs
        self.settings = settings

    def open_sample(self, session: SessionState) -> SlideView:
        """Open the bundled sample slide in a new case."""
        try:
            path = fetch_sample(self.dirs.samples)
        except CopilotError as exc:
            return SlideView(error=_line(exc))
        return self._open(session, path)

    def upload(self, session: SessionState, received: str | None) -> SlideView:
        """Accept an uploaded file Gradio stored in the web cache and open it in a new case."""
        if not received:
            return SlideView(error="no file was uploaded")
        try:
            path = accept_upload(
                received,
                incoming=self.dirs.web_cache,
                uploads=self.dirs.uploads,
                original_name=Path(received).name,
                max_bytes=self.settings.max_upload_mb * 1_000_000,
            )
        except CopilotError as exc:
            return SlideView(error=_line(exc))
        finally:
            _discard(received, self.dirs.web_cache)
        return self._open(session, path)

    def ask(self, session: SessionState, question: str) -> list[Message]:
        """Answer a question about the session's slide in its case; return the turn's messages."""
        if not session.slide_path:
            turn = render_error(question, "open the sample or upload a slide first")
        else:
            try:
                result = self.copilot.ask(session.slide_path, question, case_id=session.case_id)
            except CopilotError as exc:
                turn = render_error(question, _line(exc))
            else:
                session.case_id = result.case_id
                turn = render_turn(result, self._artifact)
        session.messages.extend(turn)
        return turn

    def overview(self, session: SessionState) -> Image.Image | None:
        """The session's slide with the tissue outline and the case's ROIs as numbered boxes."""
        if not session.slide_path:
            return None
        rois: list[dict[str, Any]] = []
        if session.case_id:
            _, state = self.copilot.case(session.case_id)
            rois = state.get("rois", [])
        try:
            slide = self.copilot.slides.open(session.slide_path)
            thumb, downsample = slide.thumbnail(self.settings.thumbnail_px)
            tissue = self.copilot.slides.tissue(slide, self.settings.thumbnail_px)
        except CopilotError:
            logger.debug("overview failed", exc_info=True)
            return None
        slide_id = slide.metadata.slide_id
        own = [r for r in rois if r.get("slide_id") == slide_id]
        return draw_overview(thumb, downsample, tissue_mask=tissue.mask, rois=own)

    def case_choices(self) -> list[tuple[str, str]]:
        """(label, case id) for every case, most recently updated first."""
        return [
            (
                f"{r.case_id} · {r.slide_name or 'no slide'} · {r.turns} turn(s) · "
                f"{dt.datetime.fromtimestamp(r.updated_at):%Y-%m-%d %H:%M}",
                r.case_id,
            )
            for r in self.copilot.cases.list()
        ]

    def open_case(self, session: SessionState, case_id: str | None) -> SlideView:
        """Reopen a case: its slide, ROIs and earlier turns; later questions continue it."""
        if not case_id:
            return SlideView(error="choose a case first")
        try:
            record, state = self.copilot.case(validate_case_id(case_id))
        except CopilotError as exc:
            return SlideView(error=_line(exc))
        if record is None or not record.slide_path:
            return SlideView(error=f"no case {case_id!r}")
        if not Path(record.slide_path).is_file():
            return SlideView(error=f"the slide of case {case_id} is gone: {record.slide_name}")
        history = [m for f in state.get("findings", []) for m in render_finding(f)]
        last = self.copilot.last_turn(record.case_id)
        if last is not None:
            history = history[:-2] + render_turn(last, self._artifact)
        session.case_id, session.slide_path = record.case_id, record.slide_path
        session.messages = history
        return self.view(session)

    def view(self, session: SessionState) -> SlideView:
        """The slide panel for the session as it stands."""
        return SlideView(image=self.overview(session), caption=self.caption(session))

    def new_case(self, session: SessionState) -> SlideView:
        """Start a new case on the session's slide (or an empty one when none is open)."""
        session.case_id, session.messages = None, []
        return self.view(session)

    def _open(self, session: SessionState, path: Path) -> SlideView:
        try:
            self.copilot.slides.open(path)
        except CopilotError as exc:
            return SlideView(error=_line(exc))
        session.case_id, session.slide_path, session.messages = None, str(path), []
        return self.view(session)

    def caption(self, session: SessionState) -> str:
        """Markdown line naming the open slide, its size and µm/px, and the case."""
        if not session.slide_path:
            return "No slide open."
        meta = self.copilot.slides.open(session.slide_path).metadata
        case = session.case_id or "new case (created with the first question)"
        mpp = f"{meta.mpp_x:.3f} µm/px" if meta.mpp_x else "µm/px unknown"
        return f"**{meta.name}** · {meta.width} × {meta.height} px · {mpp}  \nCase: `{case}`"

    def _artifact(self, artifact: str) -> Path | None:
        try:
            return resolve_inside(artifact, [self.dirs.artifacts], relative_only=False)
        except PathRefused:
            logger.warning("artifact outside the artifacts folder not shown: %s", artifact)
            return None


def _line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _discard(received: str, web_cache: Path) -> None:
    """Remove Gradio's temporary copy of an upload (only inside the web cache)."""
    try:
        resolve_inside(received, [web_cache], relative_only=False).unlink(missing_ok=True)
    except (PathRefused, OSError):
        return
