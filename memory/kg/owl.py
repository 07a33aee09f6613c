"""Labels, definitions and parents of the named classes in an OWL (RDF/XML) file."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from pydantic import BaseModel, Field

__all__ = ["OwlClass", "curie", "read_owl_classes"]

_NS = {
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "obo": "http://purl.obolibrary.org/obo/",
}
_ABOUT = f"{{{_NS['rdf']}}}about"
_RESOURCE = f"{{{_NS['rdf']}}}resource"
_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


class OwlClass(BaseModel):
    """One named class."""

    iri: str
    id: str = Field(description="CURIE such as UBERON:0002048, or prefix:Fragment")
    label: str
    definition: str | None = None
    parents: list[str] = Field(default_factory=list, description="ids of named superclasses")
    synonyms: list[str] = Field(default_factory=list)


def curie(iri: str, prefix: str = "") -> str:
    """``…/obo/UBERON_0002048`` → ``UBERON:0002048``; ``…#Tumor`` → ``<prefix>:Tumor``."""
    tail = iri.rsplit("#", 1)[-1] if "#" in iri else iri.rsplit("/", 1)[-1]
    if "/obo/" in iri and "_" in tail:
        ns, local = tail.split("_", 1)
        return f"{ns}:{local}"
    return f"{prefix}:{tail}" if prefix else tail


def read_owl_classes(
    path: Path, prefix: str = "", *, fragment_labels: bool = False
) -> list[OwlClass]:
    """Return the classes that have an English (or untagged) ``rdfs:label``.

    With ``fragment_labels``, a class without a label is named from its IRI fragment
    (``Other_StromaEntity`` → ``other stroma entity``) and its ``rdfs:comment`` is its definition.
    """
    root = ET.parse(path).getroot()  # noqa: S314 - local ontology files from ../shared or a user
    out: list[OwlClass] = []
    for el in root.iter(f"{{{_NS['owl']}}}Class"):
        iri = el.get(_ABOUT)
        if not iri:
            continue
        label = _text(el, "rdfs:label")
        if not label and fragment_labels:
            label = _humanise(curie(iri, prefix).split(":", 1)[-1])
        if not label:
            continue
        parents = [
            curie(p.get(_RESOURCE, ""), prefix)
            for p in el.findall("rdfs:subClassOf", _NS)
            if p.get(_RESOURCE)
        ]
        synonyms = {s.text.strip() for s in el if s.tag.endswith("hasExactSynonym") and s.text}
        out.append(
            OwlClass(
                iri=iri,
                id=curie(iri, prefix),
                label=label,
                definition=_text(el, "obo:IAO_0000115")
                or (_text(el, "rdfs:comment") if fragment_labels else None),
                parents=parents,
                synonyms=sorted(set(synonyms)),
            )
        )
    return out


def _humanise(fragment: str) -> str:
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", fragment.replace("_", " "))
    return " ".join(spaced.split()).lower()


def _text(el: ET.Element, tag: str) -> str | None:
    for child in el.findall(tag, _NS):
        if child.text and child.get(_LANG, "en").startswith("en"):
            return " ".join(child.text.split())
    return None
