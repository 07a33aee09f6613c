"""Assemble entities and facts from the sources: stable ids, stable order, no duplicates."""

from __future__ import annotations

import hashlib
import re

from memory.kg.abbreviations import read_aliases
from memory.kg.curated import read_curated
from memory.kg.model import Entity, Fact, Graph
from memory.kg.sources import SourceData

__all__ = ["assemble"]

_CODE_PREFIXES = ("ICDO", "NCI", "ICD10CM")
_SYNONYM_SCOPES = {"EXACT", "RELATED", ""}


def assemble(data: SourceData) -> Graph:
    """Return the graph for ``data`` plus the curated histology facts and abbreviations."""
    entities: dict[str, Entity] = {}
    facts: dict[str, Fact] = {}
    src = data.release

    def add(fact: Fact) -> None:
        facts.setdefault(fact.id, fact)

    for cls in data.anatomy_classes:
        entities[cls.id] = Entity(
            id=cls.id, name=cls.label, kind="anatomy", synonyms=cls.synonyms, source="UBERON"
        )
    for cls in data.cell_classes:
        entities[cls.id] = Entity(
            id=cls.id, name=cls.label, kind="cell", synonyms=cls.synonyms, source="CL"
        )
    for file, cls in data.concepts:
        entities.setdefault(cls.id, Entity(id=cls.id, name=cls.label, kind="concept", source=file))
        if cls.definition:
            add(_fact(cls.id, "concept", None, f"{cls.label}: {cls.definition}", file))
    by_label = {e.name.lower(): e.id for e in entities.values() if e.kind != "concept"}

    aliases: dict[str, set[str]] = {}
    alias_list, alias_text = read_aliases()
    for alias in alias_list:
        aliases.setdefault(alias.subject, set()).update(alias.all_names)
    for doid in sorted(data.branch):
        term = data.terms[doid]
        synonyms = sorted(
            (
                {s for s, scope in term.synonyms if scope in _SYNONYM_SCOPES}
                | set(data.abbreviations.get(doid, []))
                | aliases.get(doid, set())
            )
            - {term.name}
        )
        entities[doid] = Entity(
            id=doid, name=term.name, kind="disease", synonyms=synonyms, source=src
        )
    for doid in sorted(data.branch):
        term = data.terms[doid]
        name = term.name
        if term.definition:
            add(_fact(doid, "definition", None, f"{name}: {term.definition}", src))
        for parent in term.is_a:
            if parent in data.terms:
                pname = data.terms[parent].name
                add(_fact(doid, "is_a", parent, f"{name} is a kind of {pname}.", src))
        if doid in data.anatomy:
            site_id, site = data.anatomy[doid]
            entities.setdefault(
                site_id, Entity(id=site_id, name=site, kind="anatomy", source="DO-ICDO-anatomy")
            )
            add(_fact(doid, "located_in", site_id, f"{name} is located in the {site}.", src))
        for rel in data.relations.get(doid, []):
            obj = by_label.get(rel.object_label.lower())
            verb = {
                "derives_from": "derives from",
                "located_in": "is located in the",
                "material_basis": "has its material basis in",
            }[rel.predicate]
            text = f"{name} {verb} {rel.expression}."
            add(_fact(doid, rel.predicate, obj or _slug(rel.object_label), text, src, obj))
        codes = [x for x in term.xrefs if x.split(":", 1)[0] in _CODE_PREFIXES]
        if codes:
            add(_fact(doid, "codes", None, f"{name} is coded as {', '.join(codes)}.", src))

    curated, text = read_curated()
    for fact in curated:
        if fact.subject in entities:
            add(fact)
    used = {f.subject for f in facts.values()} | {f.object for f in facts.values() if f.object}
    entities = {  # anatomy and cell types only where a fact names them
        k: e for k, e in entities.items() if e.kind not in ("anatomy", "cell") or k in used
    }
    hashes = dict(data.hashes)
    hashes["histology_facts.toml"] = hashlib.sha256(text.encode()).hexdigest()
    hashes["abbreviations.toml"] = hashlib.sha256(alias_text.encode()).hexdigest()
    return Graph(
        entities=sorted(entities.values(), key=lambda e: e.id),
        facts=sorted(facts.values(), key=lambda f: f.id),
        sources=hashes,
    )


def _fact(
    subject: str,
    predicate: str,
    key: str | None,
    text: str,
    source: str,
    obj: str | None = None,
) -> Fact:
    """A fact whose id is ``subject#predicate[#key]``; ``object`` is an entity id or None."""
    fid = f"{subject}#{predicate}" + (f"#{key}" if key else "")
    return Fact(
        id=fid,
        subject=subject,
        predicate=predicate,  # type: ignore[arg-type]
        object=obj if obj is not None else (key if predicate in ("is_a", "located_in") else None),
        text=text,
        source=source,
    )


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
