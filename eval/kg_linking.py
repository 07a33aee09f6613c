"""Entity linking accuracy: held-out Disease Ontology synonyms of the neoplasm branch → DOID ids.

Each disease synonym is assigned to the held-out split by a stable hash (half of them). The
names collection is built with the primary names and the *other* synonyms only, so a held-out
synonym can never be found as an exact name: it must be linked by meaning. A held-out synonym
whose normalised form equals an indexed name (of any entity) is left out of the test set, as
an exact lookup would answer it. Scores: top-1 and top-5 accuracy over all held-out synonyms,
and precision and coverage at the linking threshold (what the agent links, and how often).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python eval/kg_linking.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import BaseModel

from core.settings import Settings
from memory.kg.build import assemble
from memory.kg.model import Entity, Graph
from memory.kg.sources import read_sources
from memory.kg.store import KGStore, normalise

__all__ = ["LinkingScores", "evaluate", "held_out", "main"]

_DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "kg"
EVAL_NAMES = "smartpath-names-linking-eval"


class LinkingScores(BaseModel):
    """Linking accuracy on the held-out synonyms."""

    synonyms_tested: int
    entities_tested: int
    top1: float
    top5: float
    threshold: float
    linked_share: float
    precision_at_threshold: float
    indexed_names: int
    seconds: float
    wrong_related: float = 0.0
    """Share of the wrong top-1 links that are a parent, child or sibling of the right entity."""
    sweep: list[tuple[float, float, float]] = []
    """(threshold, share linked, precision of those links) for a range of thresholds."""


def held_out(entity_id: str, synonym: str) -> bool:
    """Whether this synonym is in the test split (a stable half of the disease synonyms)."""
    digest = hashlib.sha256(f"{entity_id}\t{synonym}".encode()).digest()
    return digest[0] % 2 == 0


def evaluate(graph: Graph, settings: Settings) -> LinkingScores:
    """Build a names collection without the held-out synonyms and link each of them."""
    start = time.perf_counter()

    def keep(entity: Entity, name: str) -> bool:
        return not (entity.kind == "disease" and name != entity.name and held_out(entity.id, name))

    store = KGStore(settings, names_collection=EVAL_NAMES)
    try:
        report = store.build(graph, names_filter=keep, facts=False)
        indexed = set(store.name_index())
        tests = [
            (e.id, s)
            for e in graph.entities
            if e.kind == "disease"
            for s in e.synonyms
            if held_out(e.id, s) and normalise(s) not in indexed
        ]
        hits = store.query_names_batch([s for _, s in tests], k=5)
    finally:
        store.close()
    top1 = sum(1 for (eid, _), h in zip(tests, hits, strict=True) if h and h[0].entity == eid)
    top5 = sum(1 for (eid, _), h in zip(tests, hits, strict=True) if eid in {x.entity for x in h})
    n = len(tests) or 1
    parents: dict[str, set[str]] = {}
    for f in graph.facts:
        if f.predicate == "is_a" and f.object:
            parents.setdefault(f.subject, set()).add(f.object)

    def related(a: str, b: str) -> bool:
        pa, pb = parents.get(a, set()), parents.get(b, set())
        return a in pb or b in pa or bool(pa & pb)

    wrong = [
        (eid, h[0].entity)
        for (eid, _), h in zip(tests, hits, strict=True)
        if h and h[0].entity != eid
    ]
    near = sum(1 for a, b in wrong if related(a, b))

    def at(thr: float) -> tuple[float, float]:
        linked = [
            (eid, h[0]) for (eid, _), h in zip(tests, hits, strict=True) if h and h[0].score >= thr
        ]
        correct = sum(1 for eid, h in linked if h.entity == eid)
        return len(linked) / n, (correct / len(linked) if linked else 0.0)

    thr = settings.link_threshold
    share, precision = at(thr)
    sweep = [(t, *at(t)) for t in (0.7, 0.75, 0.8, 0.85, 0.9, 0.95)]
    return LinkingScores(
        synonyms_tested=len(tests),
        entities_tested=len({eid for eid, _ in tests}),
        top1=round(top1 / n, 4),
        top5=round(top5 / n, 4),
        threshold=thr,
        linked_share=round(share, 4),
        precision_at_threshold=round(precision, 4),
        sweep=[(t, round(a, 4), round(b, 4)) for t, a, b in sweep],
        wrong_related=round(near / len(wrong), 4) if wrong else 0.0,
        indexed_names=report.names,
        seconds=round(time.perf_counter() - start, 1),
    )


def format_table(scores: LinkingScores, source: Path) -> str:
    """Markdown table of the scores."""
    rows = [
        ("held-out synonyms tested", str(scores.synonyms_tested)),
        ("entities they belong to", str(scores.entities_tested)),
        ("names indexed (primary + other synonyms)", str(scores.indexed_names)),
        ("top-1 accuracy", f"{scores.top1:.3f}"),
        ("top-5 accuracy", f"{scores.top5:.3f}"),
        ("wrong top-1 that is a parent, child or sibling", f"{scores.wrong_related:.3f}"),
        (f"linked at threshold {scores.threshold}", f"{scores.linked_share:.3f}"),
        ("precision of those links", f"{scores.precision_at_threshold:.3f}"),
        ("seconds (embed + query)", f"{scores.seconds}"),
    ]
    out = [f"Entity linking on {source} (held-out DOID synonyms)", "", "| metric | value |"]
    out.append("|---|---|")
    out.extend(f"| {k} | {v} |" for k, v in rows)
    out += ["", "| threshold | share linked | precision |", "|---|---|---|"]
    out.extend(f"| {t} | {a:.3f} | {b:.3f} |" for t, a, b in scores.sweep)
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=_DEFAULT_SOURCE)
    parser.add_argument("--threshold", type=float, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        extra = {"link_threshold": args.threshold} if args.threshold is not None else {}
        settings = Settings(home=Path(tmp), **extra)
        graph = assemble(read_sources(args.source))
        scores = evaluate(graph, settings)
    sys.stdout.write(format_table(scores, args.source) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
