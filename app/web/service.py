"""The web app's service: slide, upload, question and case actions over the shared Copilot.

Callbacks in ``app.web.ui`` call these methods and show what they return; every failure a user
can cause comes back as one line of text, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
import shutil
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from app.runner import Copilot, TurnResult
from app.samples import fetch_sample
from app.web.kg_panel import KGPanel
from app.web.overview import draw_overview
from app.web.paths import AppDirs, PathRefused, place_once, resolve_inside
from app.web.render import (
    ImageFilter,
    Message,
    render_error,
    render_finding,
    render_tool_call,
    render_turn,
    user_message,
)
from app.web.streaming import TurnThread, progress_message
from app.web.text import as_text
from app.web.uploads import accept_upload, discard_received, uploaded_as
from core.errors import CopilotError
from core.progress import Progress
from core.settings import Settings
from memory.cases import validate_case_id

__all__ = ["SessionState", "SlideView", "WebService"]

logger = logging.getLogger(__name__)

THUMBNAILS_KEPT = 16


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
        self._image_key = secrets.token_bytes(32)
        self._thumbs: OrderedDict[tuple[str, int], tuple[Any, float]] = OrderedDict()
        self._thumbs_lock = threading.Lock()
        self.kg = KGPanel(copilot.knowledge, settings)

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
                budget=self.copilot.slides.budget,
            )
        except CopilotError as exc:
            return SlideView(error=_line(exc))
        finally:
            discard_received(received, self.dirs.web_cache)
        return self._open(session, path)

    def ask(self, session: SessionState, question: str) -> list[Message]:
        """Answer a question about the session's slide in its case; return the turn's messages."""
        before = len(session.messages)
        for _ in self.ask_stream(session, question):
            pass
        return session.messages[before:]

    def ask_stream(self, session: SessionState, question: str) -> Iterator[list[Message]]:
        """Answer like ``ask``, yielding the session's whole chat after each step of the turn.

        First the question with a "working" message, then that message updated for each graph
        node and tool call, each tool call's collapsible message as soon as it finishes, and
        last the turn as ``ask`` shows it (answer, images, chain). The turn runs in a thread of
        its own, so it completes and is saved even when the browser leaves mid-turn. Any
        failure ends as one line in the chat.
        """
        earlier = list(session.messages)
        if not session.slide_path:
            session.messages = earlier + render_error(
                question, "open the sample or upload a slide first"
            )
            yield session.messages
            return
        try:
            events = self.copilot.ask_stream(session.slide_path, question, case_id=session.case_id)
        except CopilotError as exc:
            session.messages = earlier + render_error(question, _line(exc))
            yield session.messages
            return
        asked = user_message(question)
        lines: list[str] = []
        calls: list[Message] = []
        session.messages = [*earlier, asked, progress_message(lines)]
        yield session.messages
        result: TurnResult | None = None
        previous = ""
        try:
            for item in TurnThread(events):
                if isinstance(item, TurnResult):
                    result = item
                    continue
                if not isinstance(item, Progress):
                    continue
                if item.kind == previous == "tool_progress":
                    lines[-1] = item.text  # "read 40/200 tiles" replaces "read 20/200 tiles"
                else:
                    lines.append(item.text)
                previous = item.kind
                if item.kind == "tool_done" and item.evidence:
                    calls.append(render_tool_call(item.evidence))
                session.messages = [*earlier, asked, *calls, progress_message(lines)]
                yield session.messages
        except CopilotError as exc:
            session.messages = earlier + render_error(question, _line(exc))
        except Exception as exc:  # a bug must not show a traceback to the user
            logger.exception("turn failed")
            session.messages = earlier + render_error(
                question, f"internal error: {type(exc).__name__}"
            )
        else:
            if result is None:
                session.messages = earlier + render_error(question, "the turn gave no answer")
            else:
                session.case_id = result.case_id
                session.messages = earlier + render_turn(result, self._case_files(result.case_id))
        yield session.messages

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
            thumb, downsample = self._thumbnail(slide)
            tissue = self.copilot.slides.tissue(slide, self.settings.thumbnail_px)
        except CopilotError:
            logger.debug("overview failed", exc_info=True)
            return None
        slide_id = slide.metadata.slide_id
        own = [r for r in rois if r.get("slide_id") == slide_id]
        return draw_overview(thumb, downsample, tissue_mask=tissue.mask, rois=own)

    def roi_count(self, session: SessionState) -> int:
        """How many ROIs the session's case has visited (0 for a new case)."""
        if not session.case_id:
            return 0
        _, state = self.copilot.case(session.case_id)
        return len(state.get("rois", []))

    def _thumbnail(self, slide: Any) -> tuple[Any, float]:
        """The slide's overview thumbnail, read once per slide (most recent few kept)."""
        key = (slide.metadata.slide_id, self.settings.thumbnail_px)
        with self._thumbs_lock:
            cached = self._thumbs.get(key)
            if cached is not None:
                self._thumbs.move_to_end(key)
                return cached
        cached = slide.thumbnail(self.settings.thumbnail_px)
        with self._thumbs_lock:
            self._thumbs[key] = cached
            while len(self._thumbs) > THUMBNAILS_KEPT:
                self._thumbs.popitem(last=False)
        return cached

    def case_choices(self) -> list[tuple[str, str]]:
        """(label, case id) for every case, most recently updated first."""
        return [
            (
                f"{r.case_id} · {r.slide_name or 'no slide'}"
                f"{uploaded_as(r.slide_path, self.dirs.uploads)} · {r.turns} turn(s) · "
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
            history = history[:-2] + render_turn(last, self._case_files(record.case_id))
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
        shown = uploaded_as(session.slide_path, self.dirs.uploads, markdown=True)
        name = as_text(meta.name)
        return f"**{name}**{shown} · {meta.width} × {meta.height} px · {mpp}  \nCase: `{case}`"

    def _case_files(self, case_id: str) -> ImageFilter:
        """Show artifacts of ``case_id`` only, each as a copy under an unguessable web-cache name.

        The browser can fetch files from the web cache only (not from the artifacts folder),
        so a session reaches an image only through the chat of the case that made it.
        """
        root = self.dirs.artifacts / validate_case_id(case_id)

        def shown(artifact: str) -> Path | None:
            try:
                source = resolve_inside(artifact, [root], relative_only=False)
            except PathRefused:
                logger.warning("artifact outside case %s not shown: %s", case_id, artifact)
                return None
            return self._published(source)

        return shown

    def _published(self, source: Path) -> Path | None:
        """A copy of ``source`` in the web cache, in a folder named by a keyed hash."""
        try:
            stat = source.stat()
            key = f"{source}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()
            digest = hmac.new(self._image_key, key, hashlib.sha256).hexdigest()[:40]
            dest = self.dirs.web_cache / "case-images" / digest / source.name
            return place_once(dest, lambda partial: shutil.copyfile(source, partial))
        except OSError:
            logger.warning("artifact not shown: %s", source, exc_info=True)
            return None


def _line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
