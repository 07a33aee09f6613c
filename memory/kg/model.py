"""Typed records of the knowledge graph: entities (things with names) and facts (sentences)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Entity", "EntityKind", "Fact", "Graph", "Predicate"]

EntityKind = Literal["disease", "anatomy", "cell", "concept"]
Predicate = Literal[
    "definition",
    "is_a",
    "located_in",
    "derives_from",
    "material_basis",
    "codes",
    "feature",
    "grading",
    "differential",
    "markers",
    "testing",
    "concept",
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Entity(_Model):
    """A named thing: a disease (DOID), anatomical site (UBERON), cell type (CL) or concept."""

    id: str = Field(description="stable id: DOID:…, UBERON:…, CL:…, TPO:…/PathoML:…")
    name: str
    kind: EntityKind
    synonyms: list[str] = Field(default_factory=list)
    source: str = Field(description="file or curated source the entity comes from")


class Fact(_Model):
    """One statement about an entity, citable by its stable id."""

    id: str = Field(description="stable: <subject>#<predicate>[#<object>], or HIST:<slug>")
    subject: str = Field(description="entity id the fact is about")
    predicate: Predicate
    object: str | None = Field(default=None, description="entity id, when the fact relates two")
    text: str = Field(description="the fact as a sentence, shown and embedded")
    source: str = Field(description="where it comes from: file name, release, or curated source")


class Graph(_Model):
    """Everything one build produced, in a stable order."""

    entities: list[Entity]
    facts: list[Fact]
    sources: dict[str, str] = Field(default_factory=dict, description="file -> sha256")

    def entity_map(self) -> dict[str, Entity]:
        """Entities by id."""
        return {e.id: e for e in self.entities}
