"""The web app's knowledge-graph panel: the store's status, and one build at a time, streamed.

The build is ``app.kg_build.build_from_source`` (the same as ``smartpath kg build``) into the
Copilot's own store, in a thread of its own: it runs to the end when the browser leaves, and
the next turn of any session uses the graph as built. A failure is one line, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from agent.knowledge import Knowledge
from app.kg_build import BuildStep, build_from_source, default_source, report_line, source_folder
from core.errors import CopilotError
from core.settings import Settings
from memory.kg.store import BuildReport

__all__ = ["KGPanel"]

logger = logging.getLogger(__name__)

SOURCE_HINT = "set SMARTPATH_KG_SOURCE to a source folder and restart the app"


@dataclass(frozen=True)
class _Failed:
    line: str


_DONE = object()


class KGPanel:
    """Status and builds of the Copilot's knowledge graph; one instance per app process."""

    def __init__(self, knowledge: Knowledge, settings: Settings) -> None:
        self.knowledge = knowledge
        self.settings = settings
        self._guard = threading.Lock()
        self._started: dt.datetime | None = None
        self._latest = ""

    def status(self) -> str:
        """Markdown: where the graph is and what it holds (or that it is not built), its source."""
        store = self.knowledge.store
        try:
            if store.is_built():
                s = store.stats()
                graph = (
                    f"Knowledge graph: {s.entities:,} entities, {s.names:,} names, "
                    f"{s.facts:,} facts; built {s.built_at or '?'} with "
                    f"{s.embedding_model or '?'}; at `{s.where}`"
                )
            else:
                graph = f"No knowledge graph yet at `{store.where}`"
        except CopilotError as exc:
            graph = f"**Error:** {_line(exc)}"
        source = default_source(self.settings)
        if source is None:
            where = "No source folder set: set SMARTPATH_KG_SOURCE to build the graph here."
        elif not source.is_dir():
            where = f"Source folder `{source}` (SMARTPATH_KG_SOURCE) is not a folder."
        else:
            where = f"Source folder a build reads: `{source}`"
        lines = [graph, where]
        with self._guard:
            if self._started is not None:
                lines.append(f"{self._running_line(already=False)}: {self._latest}")
        return "  \n".join(lines)

    def build(self) -> Iterator[str]:
        """Build or refresh the graph, yielding the progress lines so far as Markdown.

        Ends with the line ``smartpath kg build`` prints (entities, names, facts, embedded,
        removed, seconds), or one error line. While a build runs, a second one is refused
        with one line naming when the first started.
        """
        with self._guard:
            if self._started is not None:
                yield self._running_line(already=True)
                return
            self._started = dt.datetime.now().astimezone()
            self._latest = "starting…"
        events: queue.Queue[object] = queue.Queue()
        threading.Thread(
            target=self._run, args=(events,), name="smartpath-kg-build", daemon=True
        ).start()
        lines: list[str] = []
        previous = ""
        while (item := events.get()) is not _DONE:
            if isinstance(item, BuildStep):
                if item.stage == previous:
                    lines[-1] = item.line  # "embedding names 1,024/2,093" replaces 512/2,093
                else:
                    lines.append(item.line)
                previous = item.stage
            elif isinstance(item, BuildReport):
                lines.append(f"built: {report_line(item, self.knowledge.store.where)}")
            elif isinstance(item, _Failed):
                lines.append(f"**Error:** {item.line}")
            yield "\n".join(f"- {line}" for line in lines)

    def _run(self, events: queue.Queue[object]) -> None:
        def step(item: BuildStep) -> None:
            self._latest = item.line
            events.put(item)

        try:
            source = source_folder(self.settings, hint=SOURCE_HINT)
            events.put(build_from_source(self.knowledge.store, source, step))
        except CopilotError as exc:
            events.put(_Failed(_line(exc)))
        except Exception as exc:  # a bug must not show a traceback to the user
            logger.exception("knowledge-graph build failed")
            events.put(_Failed(f"internal error: {type(exc).__name__}"))
        finally:
            self.knowledge.refresh()  # the next turn checks the store as it is now
            with self._guard:
                self._started = None
            events.put(_DONE)

    def _running_line(self, *, already: bool) -> str:
        started = self._started.strftime("%H:%M:%S") if self._started else "?"
        running = "already running" if already else "running"
        return f"a knowledge-graph build is {running} (started {started})"


def _line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
