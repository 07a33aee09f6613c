"""Read the knowledge-graph sources: the Disease Ontology's neoplasm branch and its companions.

Expected layout of a source folder (that of ``../shared/data/kg``)::

    doid/doid_*.obo[.gz]               Human Disease Ontology release (terms, synonyms, is_a, xrefs)
    doid/DO-ICDO-anatomy.tsv           neoplasm -> anatomical site (UBERON id and label)
    doid/DO-subClassOf-anonymous.tsv   derives from / disease has location / material basis
    doid/uberon_import.owl, cl_import.owl   anatomy and cell-type labels
    doid/DO_cancer_slim.obo, DO_NCIthesaurus_subset.obo   later subsets: their abbreviation
                                       synonyms (SCC, TNBC…) of the release's terms (optional)
    pathoml/*.owl                      pathology ontologies (optional)
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import ConfigError
from memory.kg.abbreviations import is_abbreviation
from memory.kg.obo import OboTerm, descendants, read_obo
from memory.kg.owl import OwlClass, read_owl_classes

__all__ = ["NEOPLASM_ROOT", "Relation", "SourceData", "read_sources"]

NEOPLASM_ROOT = "DOID:14566"
"""'disease of cellular proliferation': the Disease Ontology's neoplasm branch."""

_RELATIONS = {
    "derives from": "derives_from",
    "disease has location": "located_in",
    "has material basis in": "material_basis",
}
_SUBSETS = ("DO_cancer_slim.obo", "DO_NCIthesaurus_subset.obo")
_ANON = re.compile(r"^'([^']+)' some (.+)$")
_FIRST = re.compile(r"^\(*\s*(?:'([^']+)'|([A-Za-z0-9_-]+))")


@dataclass(frozen=True)
class Relation:
    """An anonymous-class axiom of a term: predicate, object label, the whole expression."""

    predicate: str
    object_label: str
    expression: str


@dataclass
class SourceData:
    """What the builder needs, read from one source folder."""

    terms: dict[str, OboTerm]
    branch: set[str]
    anatomy: dict[str, tuple[str, str]] = field(default_factory=dict)  # DOID -> (UBERON id, label)
    relations: dict[str, list[Relation]] = field(default_factory=dict)
    anatomy_classes: list[OwlClass] = field(default_factory=list)
    cell_classes: list[OwlClass] = field(default_factory=list)
    concepts: list[tuple[str, OwlClass]] = field(default_factory=list)  # (file, class)
    abbreviations: dict[str, list[str]] = field(default_factory=dict)  # DOID -> from subsets
    release: str = ""
    hashes: dict[str, str] = field(default_factory=dict)


def read_sources(root: Path) -> SourceData:
    """Read every source under ``root``.

    Raises:
        ConfigError: the folder or its Disease Ontology file is missing, or a source file
            cannot be read (a dangling link, no permission, a truncated archive).
    """
    try:
        return _read_sources(root)
    except (OSError, EOFError) as exc:
        name = getattr(exc, "filename", None) or root
        msg = f"cannot read knowledge-graph source {name}: {getattr(exc, 'strerror', None) or exc}"
        raise ConfigError(msg) from exc


def _read_sources(root: Path) -> SourceData:
    doid_dir = root / "doid"
    obo = sorted(doid_dir.glob("doid*.obo.gz")) + sorted(doid_dir.glob("doid*.obo"))
    if not obo:
        msg = (
            f"no Disease Ontology release (doid/doid*.obo[.gz]) under {root}; "
            "pass --source or set SMARTPATH_KG_SOURCE"
        )
        raise ConfigError(msg)
    terms = read_obo(obo[0])
    if NEOPLASM_ROOT not in terms:
        msg = f"{obo[0].name} has no {NEOPLASM_ROOT} (neoplasm branch root)"
        raise ConfigError(msg)
    data = SourceData(terms=terms, branch=descendants(terms, NEOPLASM_ROOT))
    data.release = obo[0].name
    files = [obo[0]]
    anatomy_tsv = doid_dir / "DO-ICDO-anatomy.tsv"
    if anatomy_tsv.is_file():
        data.anatomy = _read_anatomy(anatomy_tsv)
        files.append(anatomy_tsv)
    anon_tsv = doid_dir / "DO-subClassOf-anonymous.tsv"
    if anon_tsv.is_file():
        data.relations = _read_relations(anon_tsv, data.branch)
        files.append(anon_tsv)
    for name in _SUBSETS:
        path = doid_dir / name
        if path.is_file():
            for tid, term in read_obo(path).items():
                if tid not in data.branch:
                    continue
                for text, scope in term.synonyms:
                    if scope in ("EXACT", "") and is_abbreviation(text):
                        data.abbreviations.setdefault(tid, []).append(text)
            files.append(path)
    for name, target in (("uberon_import.owl", "anatomy"), ("cl_import.owl", "cell")):
        path = doid_dir / name
        if path.is_file():
            classes = read_owl_classes(path)
            if target == "anatomy":
                data.anatomy_classes = classes
            else:
                data.cell_classes = classes
            files.append(path)
    for path in sorted((root / "pathoml").glob("*.owl")):
        prefix = "PathoML" if path.stem == "PathoML" else "TPO"
        for cls in read_owl_classes(path, prefix, fragment_labels=prefix == "PathoML"):
            data.concepts.append((path.name, cls))
        files.append(path)
    data.hashes = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    return data


def _read_anatomy(path: Path) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if row.get("anatomy_id") and row.get("anatomy_label"):
                out[row["id"]] = (row["anatomy_id"].strip(), row["anatomy_label"].strip())
    return out


def _read_relations(path: Path, branch: set[str]) -> dict[str, list[Relation]]:
    out: dict[str, list[Relation]] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t")
        next(reader, None)
        for row in reader:
            if len(row) < 3 or row[0] not in branch:
                continue
            for part in row[2].split("|"):
                rel = _relation(part.strip())
                if rel:
                    out.setdefault(row[0], []).append(rel)
    return out


def _relation(axiom: str) -> Relation | None:
    m = _ANON.match(axiom)
    if not m or m.group(1) not in _RELATIONS:
        return None
    first = _FIRST.match(m.group(2))
    if not first:
        return None
    label = first.group(1) or first.group(2)
    expression = " ".join(m.group(2).replace("'", "").replace("_", " ").split())
    return Relation(_RELATIONS[m.group(1)], label, expression.replace("(", "").replace(")", ""))
