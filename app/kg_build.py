"""Build or refresh the knowledge graph from its source folder, for the CLI and the web app."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from core.errors import ConfigError
from core.settings import Settings
from memory.kg.build import assemble
from memory.kg.sources import read_sources
from memory.kg.store import BuildReport, KGStore

__all__ = [
    "BuildStage",
    "BuildStep",
    "build_from_source",
    "default_source",
    "report_line",
    "source_folder",
]

logger = logging.getLogger(__name__)

BuildStage = Literal["reading", "assembling", "names", "facts"]
"""Reading the source files, assembling the graph, embedding entity names, embedding facts."""


@dataclass(frozen=True)
class BuildStep:
    """One progress event of a build: a stage and, while embedding, records done of total."""

    stage: BuildStage
    done: int = 0
    total: int = 0

    @property
    def line(self) -> str:
        """One line for a person: ``reading sources…``, ``embedding names 512/2,093``."""
        if self.stage == "reading":
            return "reading sources…"
        if self.stage == "assembling":
            return "assembling…"
        return f"embedding {self.stage} {self.done:,}/{self.total:,}"


def default_source(settings: Settings) -> Path | None:
    """SMARTPATH_KG_SOURCE, else ../shared/data/kg beside the working directory when present."""
    if settings.kg_source:
        return settings.kg_source
    guess = Path.cwd().parent / "shared" / "data" / "kg"
    return guess if guess.is_dir() else None


def source_folder(
    settings: Settings,
    given: Path | None = None,
    hint: str = "pass --source DIR or set SMARTPATH_KG_SOURCE",
) -> Path:
    """The folder a build reads: ``given``, else ``default_source(settings)``.

    Raises:
        ConfigError: no folder is given or set, or it is not a folder (one line ending in
            ``hint``, the way to name one).
    """
    source = given or default_source(settings)
    if source is None or not source.is_dir():
        where = f"{source} is not a folder" if source else "no source folder given"
        msg = f"kg build: {where}; {hint}"
        raise ConfigError(msg)
    return source


def build_from_source(
    store: KGStore, source: Path, progress: Callable[[BuildStep], None] | None = None
) -> BuildReport:
    """Read ``source``, assemble the graph and write it into ``store`` (unchanged records kept).

    ``progress`` gets a ``BuildStep`` as each stage starts and after each embedded batch.

    Raises:
        ConfigError: a source file is missing or unreadable, no embedding model, no store.
    """
    report = progress or (lambda _step: None)
    report(BuildStep("reading"))
    data = read_sources(source)
    report(BuildStep("assembling"))
    graph = assemble(data)

    def embedded(label: str, done: int, total: int) -> None:
        report(BuildStep("names" if label == "names" else "facts", done, total))

    result = store.build(graph, progress=embedded)
    logger.info("knowledge graph built from %s: %s", source, report_line(result, store.where))
    return result


def report_line(report: BuildReport, where: str) -> str:
    """The line ``smartpath kg build`` prints when a build ends."""
    return (
        f"{report.entities} entities, {report.names} names, {report.facts} facts "
        f"({report.embedded} embedded, {report.removed} removed) in {report.seconds} s "
        f"at {where}"
    )
