"""The project's curated histology facts (``memory/data/histology_facts.toml``), validated."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import ConfigError
from memory.kg.model import Fact

__all__ = ["CuratedFact", "read_curated", "read_sourced"]

M = TypeVar("M", bound=BaseModel)


class CuratedFact(BaseModel):
    """One curated statement as written in the file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^HIST:[a-z0-9-]+$")
    subject: str = Field(pattern=r"^DOID:\d+$")
    predicate: str = Field(pattern=r"^(feature|grading|differential|markers|testing)$")
    text: str = Field(min_length=10)
    source: str


def read_sourced(
    path: Path | None, builtin: str, table: str, model: type[M], key: Callable[[M], str], noun: str
) -> tuple[list[tuple[M, str]], str]:
    """The entries of a curated TOML file's ``table``, each with its source spelled out.

    ``builtin`` names the packaged file under ``memory/data`` read when ``path`` is None;
    ``key`` gives an entry's unique key and ``noun`` how errors name one ("fact HIST:x").

    Raises:
        ConfigError: invalid TOML, an invalid entry, an unknown source key or a repeated key.
    """
    where = str(path) if path else f"built-in {builtin}"
    text = (
        path.read_text(encoding="utf-8")
        if path
        else resources.files("memory").joinpath(f"data/{builtin}").read_text("utf-8")
    )
    try:
        raw = tomllib.loads(text)
        items = [model.model_validate(f) for f in raw.get(table, [])]
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        msg = f"{where}: {str(exc).splitlines()[0]}"
        raise ConfigError(msg) from None
    sources: dict[str, str] = raw.get("sources", {})
    seen: set[str] = set()
    out: list[tuple[M, str]] = []
    for item in items:
        name = key(item)
        if name in seen:
            msg = f"{where}: {noun} {name} is repeated"
            raise ConfigError(msg)
        source = getattr(item, "source", "")
        if source not in sources:
            msg = f"{where}: {noun} {name} names unknown source {source!r}"
            raise ConfigError(msg)
        seen.add(name)
        out.append((item, sources[source]))
    return out, text


def read_curated(path: Path | None = None) -> tuple[list[Fact], str]:
    """Return the curated facts with their sources spelled out, and the file's text.

    Raises:
        ConfigError: invalid TOML, an unknown source key or a repeated id.
    """
    entries, text = read_sourced(
        path, "histology_facts.toml", "facts", CuratedFact, lambda f: f.id, "fact"
    )
    facts = [
        Fact(
            id=item.id,
            subject=item.subject,
            predicate=item.predicate,  # type: ignore[arg-type]
            text=item.text,
            source=f"SmartPath curated, after {source}",
        )
        for item, source in entries
    ]
    return facts, text
