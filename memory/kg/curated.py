"""The project's curated histology facts (``memory/data/histology_facts.toml``), validated."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import ConfigError
from memory.kg.model import Fact

__all__ = ["CuratedFact", "read_curated"]


class CuratedFact(BaseModel):
    """One curated statement as written in the file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^HIST:[a-z0-9-]+$")
    subject: str = Field(pattern=r"^DOID:\d+$")
    predicate: str = Field(pattern=r"^(feature|grading|differential)$")
    text: str = Field(min_length=10)
    source: str


def read_curated(path: Path | None = None) -> tuple[list[Fact], str]:
    """Return the curated facts with their sources spelled out, and the file's text.

    Raises:
        ConfigError: invalid TOML, an unknown source key or a repeated id.
    """
    where = str(path) if path else "built-in histology_facts.toml"
    text = (
        path.read_text(encoding="utf-8")
        if path
        else resources.files("memory").joinpath("data/histology_facts.toml").read_text("utf-8")
    )
    try:
        raw = tomllib.loads(text)
        items = [CuratedFact.model_validate(f) for f in raw.get("facts", [])]
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        msg = f"{where}: {str(exc).splitlines()[0]}"
        raise ConfigError(msg) from None
    sources: dict[str, str] = raw.get("sources", {})
    seen: set[str] = set()
    facts: list[Fact] = []
    for item in items:
        if item.id in seen:
            msg = f"{where}: fact id {item.id} is repeated"
            raise ConfigError(msg)
        if item.source not in sources:
            msg = f"{where}: fact {item.id} names unknown source {item.source!r}"
            raise ConfigError(msg)
        seen.add(item.id)
        facts.append(
            Fact(
                id=item.id,
                subject=item.subject,
                predicate=item.predicate,  # type: ignore[arg-type]
                text=item.text,
                source=f"SmartPath curated, after {sources[item.source]}",
            )
        )
    return facts, text
