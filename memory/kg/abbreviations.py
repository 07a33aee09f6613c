"""Abbreviations: which entity names are abbreviations, and the curated ones the ontology lacks.

An abbreviation (HGSC, NSCLC, MSI-H, ccRCC, PEComa) is matched case-sensitively as a whole
token: 'ALL' names acute lymphoblastic leukemia, 'all' does not. The Disease Ontology's OBO
files carry many as synonyms; ``memory/data/abbreviations.toml`` adds the common pathology ones
they lack, each mapped to an entity with its scope (``exact`` or ``broader``) and source.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from memory.kg.curated import read_sourced

__all__ = ["Alias", "is_abbreviation", "read_aliases"]

_ABBREVIATION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{1,9}$")


def is_abbreviation(name: str) -> bool:
    """A short single token with at least two capitals ('HGSC', 'MSI-H', 'ccRCC', 'B-ALL')."""
    return bool(_ABBREVIATION.match(name)) and sum(ch.isupper() for ch in name) >= 2


class Alias(BaseModel):
    """A curated abbreviation: its expansion, other names, the entity and how it relates."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    abbreviation: str = Field(min_length=2)
    expansion: str = Field(min_length=3)
    names: list[str] = Field(default_factory=list, description="other spellings, same entity")
    subject: str = Field(pattern=r"^DOID:\d+$")
    scope: Literal["exact", "broader"] = Field(
        description="exact: the entity is what the abbreviation names; broader: the nearest "
        "class above it (the ontology has no term of its own)"
    )
    source: str

    @property
    def all_names(self) -> list[str]:
        """The abbreviation, the expansion and the other names."""
        return [self.abbreviation, self.expansion, *self.names]


def read_aliases(path: Path | None = None) -> tuple[list[Alias], str]:
    """The curated abbreviations, with their sources spelled out, and the file's text.

    Raises:
        ConfigError: invalid TOML, an unknown source key or a repeated abbreviation.
    """
    entries, text = read_sourced(
        path, "abbreviations.toml", "aliases", Alias, lambda a: a.abbreviation, "abbreviation"
    )
    return [item.model_copy(update={"source": source}) for item, source in entries], text
