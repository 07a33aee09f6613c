"""Entity linking accuracy: held-out Disease Ontology synonyms of the neoplasm branch → DOID ids.

Each disease synonym is assigned to the held-out split by a stable hash (half of them). The
names collection is built with the primary names and the *other* synonyms only, so a held-out
synonym can never be found as an exact name: it must be linked by meaning. A held-out synonym
whose normalised form equals an indexed name (of any entity) is left out of the test set, as
an exact lookup would answer it. Scores: top-1 and top-5 accuracy over all held-out synonyms,
and precision and coverage at the linking threshold (what the agent links, and how often).

Two linkers are scored in the same run on the same names: the nearest name by embedding alone
(the former linker, at its threshold 0.8) and the hybrid ``EntityLinker.rank`` (embedding,
word bags learned from the indexed names only, the ontology's is_a; at the configured
threshold), with the median latency per mention of each (interleaved, every mention's
vector cached first, so the time is the linking itself). ``--split dev`` swaps the halves
(indexes the held-out synonyms, tests the others): the half on which the linker's weights
and threshold were chosen, so that the default (test) half stays unseen.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python eval/kg_linking.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import BaseModel

from core.settings import Settings
from memory.kg.build import assemble
from memory.kg.linker import _RERANKED, EntityLinker
from memory.kg.model import Entity, Graph
from memory.kg.sources import read_sources
from memory.kg.store import KGStore, normalise

__all__ = ["LinkingScores", "evaluate", "held_out", "main"]

BEFORE_THRESHOLD = 0.8
"""The threshold the embedding-only linker used (SMARTPATH_LINK_THRESHOLD's former default)."""

_DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "kg"
EVAL_NAMES = "smartpath-names-linking-eval"
SWEEP = (0.5, 0.6, 0.7, 0.74, 0.75, 0.8, 0.85, 0.9, 0.93, 0.95)
"""Thresholds at which the share linked and the precision are reported."""
_WARM_BATCH = 16
"""Mentions embedded at once to fill the embedder's cache before the timed loop."""


class LinkingScores(BaseModel):
    """Linking accuracy on the held-out synonyms."""

    linker: str = "embedding"
    split: str = "test"
    p50_ms: float | None = None
    """Median latency of linking one mention, its vector cached, in milliseconds."""
    synonyms_tested: int
    entities_tested: int
    top1: float
    top5: float
    threshold: float
    linked_share: float
    precision_at_threshold: float
    indexed_names: int = 0
    seconds: float = 0.0
    wrong_related: float = 0.0
    """Share of the wrong top-1 links that are a parent, child or sibling of the right entity."""
    sweep: list[tuple[float, float, float]] = []
    """(threshold, share linked, precision of those links) for a range of thresholds."""


def held_out(entity_id: str, synonym: str) -> bool:
    """Whether this synonym is in the test split (a stable half of the disease synonyms)."""
    digest = hashlib.sha256(f"{entity_id}\t{synonym}".encode()).digest()
    return digest[0] % 2 == 0


def evaluate(
    graph: Graph, settings: Settings, split: str = "test", fit: bool = False
) -> list[LinkingScores]:
    """Build a names collection without the tested synonyms; score both linkers on them."""
    start = time.perf_counter()

    def tested(entity: Entity, name: str) -> bool:
        if entity.kind != "disease" or name == entity.name:
            return False
        return held_out(entity.id, name) == (split == "test")

    parents: dict[str, set[str]] = {}
    for f in graph.facts:
        if f.predicate == "is_a" and f.object:
            parents.setdefault(f.subject, set()).add(f.object)
    store = KGStore(settings, names_collection=EVAL_NAMES)
    try:
        report = store.build(graph, names_filter=lambda e, n: not tested(e, n), facts=False)
        indexed = set(store.name_index())
        tests = [
            (e.id, s)
            for e in graph.entities
            if e.kind == "disease"
            for s in e.synonyms
            if tested(e, s) and normalise(s) not in indexed
        ]
        embedded = store.query_names_batch([s for _, s in tests], k=5)
        seconds = time.perf_counter() - start
        linker = EntityLinker(store, settings.link_threshold, parents=parents)
        linker.rank("warm-up mention")
        store.query_names("warm-up mention")
        for i in range(0, len(tests), _WARM_BATCH):  # every mention's vector into the cache
            store.embedder.encode([s for _, s in tests[i : i + _WARM_BATCH]])
        if fit:
            _fit(linker, tests)
        hybrid, times, reference = [], [], []
        for _, s in tests:  # interleaved: the old linker, then the hybrid, on one mention
            t0 = time.perf_counter()
            store.query_names(s, k=5)
            t1 = time.perf_counter()
            hybrid.append([(x.entity, x.score) for x in linker.rank(s)[:5]])
            times.append(time.perf_counter() - t1)
            reference.append(t1 - t0)
    finally:
        store.close()
    before = [[(h.entity, h.score) for h in hits] for hits in embedded]
    common = {"split": split, "indexed_names": report.names}
    return [
        _scores(
            tests,
            before,
            parents,
            BEFORE_THRESHOLD,
            linker="embedding",
            seconds=round(seconds, 1),
            p50_ms=_p50_ms(reference),
            **common,
        ),
        _scores(
            tests,
            hybrid,
            parents,
            settings.link_threshold,
            linker="hybrid",
            seconds=round(sum(times), 1),
            p50_ms=_p50_ms(times),
            **common,
        ),
    ]


def _fit(linker: EntityLinker, tests: list[tuple[str, str]]) -> None:
    """Fit the re-ranker's logistic model on these mentions; print its weights."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from memory.kg.rerank import FEATURES, features

    blocks, labels = [], []
    for eid, s in tests:
        found = linker.candidates(s)[:_RERANKED]
        if found:
            blocks.append(features(found, linker.ancestors))
            labels += [c.entity == eid for c in found]
    model = LogisticRegression(C=1.0, max_iter=2000).fit(np.vstack(blocks), np.array(labels))
    for name, w in zip(FEATURES, model.coef_[0], strict=True):
        sys.stdout.write(f"{name}: {w:.3f}\n")
    sys.stdout.write(f"intercept: {model.intercept_[0]:.8f}\n")


def _p50_ms(times: list[float]) -> float | None:
    return round(statistics.median(times) * 1000, 2) if times else None


def _scores(
    tests: list[tuple[str, str]],
    hits: list[list[tuple[str, float]]],
    parents: dict[str, set[str]],
    thr: float,
    **extra: object,
) -> LinkingScores:
    """Top-1, top-5, relatives among the misses and precision at thresholds of ranked hits."""
    pairs = list(zip(tests, hits, strict=True))
    top1 = sum(1 for (eid, _), h in pairs if h and h[0][0] == eid)
    top5 = sum(1 for (eid, _), h in pairs if eid in {x[0] for x in h[:5]})
    n = len(tests) or 1

    def related(a: str, b: str) -> bool:
        pa, pb = parents.get(a, set()), parents.get(b, set())
        return a in pb or b in pa or bool(pa & pb)

    wrong = [(eid, h[0][0]) for (eid, _), h in pairs if h and h[0][0] != eid]
    near = sum(1 for a, b in wrong if related(a, b))

    def at(t: float) -> tuple[float, float]:
        linked = [(eid, h[0]) for (eid, _), h in pairs if h and h[0][1] >= t]
        correct = sum(1 for eid, h in linked if h[0] == eid)
        return len(linked) / n, (correct / len(linked) if linked else 0.0)

    share, precision = at(thr)
    sweep = [(t, *at(t)) for t in SWEEP]
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
        **extra,  # type: ignore[arg-type]
    )


def format_table(scores: list[LinkingScores], source: Path) -> str:
    """Markdown table of the scores, one column per linker."""
    first = scores[0]
    rows: list[tuple[str, list[str]]] = [
        ("threshold", [str(x.threshold) for x in scores]),
        ("top-1 accuracy", [f"{x.top1:.3f}" for x in scores]),
        ("top-5 accuracy", [f"{x.top5:.3f}" for x in scores]),
        (
            "wrong top-1 that is a parent, child or sibling",
            [f"{x.wrong_related:.3f}" for x in scores],
        ),
        ("linked at the threshold", [f"{x.linked_share:.3f}" for x in scores]),
        ("precision of those links", [f"{x.precision_at_threshold:.3f}" for x in scores]),
        (
            "p50 ms per mention (embedding cached)",
            [f"{x.p50_ms}" if x.p50_ms is not None else "-" for x in scores],
        ),
        ("seconds", [f"{x.seconds}" for x in scores]),
    ]
    out = [
        f"Entity linking on {source} ({first.split} half of the DOID synonyms held out: "
        f"{first.synonyms_tested} synonyms of {first.entities_tested} entities; "
        f"{first.indexed_names} names indexed)",
        "",
        "| metric | " + " | ".join(x.linker for x in scores) + " |",
        "|---|" + "---|" * len(scores),
    ]
    out.extend(f"| {k} | " + " | ".join(v) + " |" for k, v in rows)
    out += [
        "",
        "| threshold | " + " | ".join(f"{x.linker} linked | precision" for x in scores) + " |",
        "|---|" + "---|---|" * len(scores),
    ]
    for i, (t, *_) in enumerate(first.sweep):
        cells = " | ".join(f"{x.sweep[i][1]:.3f} | {x.sweep[i][2]:.3f}" for x in scores)
        out.append(f"| {t} | {cells} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=_DEFAULT_SOURCE)
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("--split", choices=["test", "dev"], default="test")
    parser.add_argument(
        "--fit", action="store_true", help="fit the re-ranker on these mentions, print weights"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        extra = {"link_threshold": args.threshold} if args.threshold is not None else {}
        settings = Settings(home=Path(tmp), **extra)
        graph = assemble(read_sources(args.source))
        scores = evaluate(graph, settings, args.split, fit=args.fit)
    sys.stdout.write(format_table(scores, args.source) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
