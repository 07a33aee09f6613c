"""A small reader of OBO 1.2 term stanzas (the Disease Ontology's release format)."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, Field

__all__ = ["OboTerm", "descendants", "read_obo"]

_QUOTED = re.compile(r'^"((?:[^"\\]|\\.)*)"\s*(\w+)?')


class OboTerm(BaseModel):
    """One ``[Term]`` stanza: the tags the knowledge graph uses."""

    id: str
    name: str = ""
    definition: str | None = None
    synonyms: list[tuple[str, str]] = Field(default_factory=list, description="(text, scope)")
    is_a: list[str] = Field(default_factory=list)
    xrefs: list[str] = Field(default_factory=list)
    obsolete: bool = False


def read_obo(path: Path) -> dict[str, OboTerm]:
    """Return the non-obsolete terms of an ``.obo`` or ``.obo.gz`` file by id."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        terms = {t.id: t for t in _stanzas(fh) if not t.obsolete}
    return terms


def descendants(terms: dict[str, OboTerm], root: str) -> set[str]:
    """Return ``root`` and every term below it along ``is_a``."""
    children: dict[str, list[str]] = {}
    for t in terms.values():
        for parent in t.is_a:
            children.setdefault(parent, []).append(t.id)
    seen = {root}
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen & set(terms)


def _stanzas(lines: Iterator[str]) -> Iterator[OboTerm]:
    tags: dict[str, list[str]] | None = None
    for raw in lines:
        line = raw.rstrip("\n")
        if line.startswith("["):
            if tags is not None:
                yield _term(tags)
            tags = {} if line == "[Term]" else None
            continue
        if tags is None or ": " not in line:
            continue
        key, value = line.split(": ", 1)
        tags.setdefault(key, []).append(value)
    if tags is not None:
        yield _term(tags)


def _term(tags: dict[str, list[str]]) -> OboTerm:
    def quoted(value: str) -> tuple[str, str]:
        m = _QUOTED.match(value)
        if not m:
            return value, ""
        return m.group(1).replace('\\"', '"'), m.group(2) or ""

    definition = tags.get("def", [None])[0]
    return OboTerm(
        id=tags["id"][0],
        name=tags.get("name", [""])[0],
        definition=quoted(definition)[0] if definition else None,
        synonyms=[quoted(s) for s in tags.get("synonym", [])],
        is_a=[v.split(" ", 1)[0] for v in tags.get("is_a", [])],
        xrefs=tags.get("xref", []),
        obsolete=tags.get("is_obsolete", ["false"])[0] == "true",
    )
