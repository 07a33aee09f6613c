"""Benchmark: knowledge-graph build time, and query latency at full size and at 10x that size.

In one run: read + assemble the graph from the sources; embed and write it into a fresh
embedded Chroma store (the full build); then time fact queries (vector search alone, search
filtered to one subject, and end to end with the query's own embedding) at the real size; then
scale the facts collection up tenfold with synthetic records (each real vector copied nine
times with small Gaussian noise, renormalised, under new ids and subjects) and time the same
queries again. Latencies are per query, p50 and p95 over the query set, in milliseconds.

Recall by entity (every fact of one subject, what the agent does for each linked entity) is
timed both ways at each size, interleaved query by query: Chroma's metadata filter (the
reference) and the SQLite subject index (``memory.kg.subject_index``; at 10x an index written
from the scaled collection). Search with embedding is timed with a query's first embedding and
with the per-process cached one (the same texts again). ``--store DIR`` copies an already
built embedded store instead of building one (the build table is then left out).
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from core.settings import Settings  # noqa: E402
from memory.kg.build import assemble  # noqa: E402
from memory.kg.sources import read_sources  # noqa: E402
from memory.kg.store import FACTS, KGStore, _fact, _paged_facts  # noqa: E402
from memory.kg.subject_index import SubjectIndex  # noqa: E402

DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "kg"
QUESTIONS = (
    "What is the cell of origin of lung adenocarcinoma?",
    "Where does cholangiocarcinoma arise?",
    "How is invasive breast carcinoma graded?",
    "What should I look for in colorectal adenocarcinoma?",
    "Which tumours derive from melanocytes?",
    "What is the differential diagnosis of high-grade serous carcinoma?",
    "Gleason grading of prostate adenocarcinoma",
    "tumour of the bile duct epithelium",
    "malignant neoplasm of the kidney with clear cells",
    "What is the parent class of glioblastoma?",
)


def percentiles(values: list[float]) -> tuple[float, float]:
    """p50 and p95 of ``values`` in milliseconds."""
    ms = sorted(v * 1000 for v in values)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return statistics.median(ms), p95


def timed(fn: Callable[[], object]) -> float:
    """Seconds ``fn`` took."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def query_times(
    col,
    index: SubjectIndex,
    vectors: list[list[float]],
    subjects: list[str],
    search: Callable[[int], object] | None = None,
) -> dict[str, list[float]]:
    """Per-query seconds: plain and subject-filtered top-5 search; recall by entity both ways.

    ``search(i)``, when given, is the store's own search for query ``i`` (``query_facts``,
    embedding included), timed in the same loop.
    """
    out: dict[str, list[float]] = {
        "search": [],
        "filtered": [],
        "recall": [],
        "indexed": [],
        "store": [],
    }
    col.query(query_embeddings=[vectors[0]], n_results=5)  # warm-up
    index.about(subjects[0])
    for i, (v, s) in enumerate(zip(vectors, subjects, strict=True)):
        out["search"].append(timed(lambda v=v: col.query(query_embeddings=[v], n_results=5)))
        if search is not None:
            out["store"].append(timed(lambda i=i: search(i)))
        out["filtered"].append(
            timed(
                lambda v=v, s=s: col.query(query_embeddings=[v], n_results=5, where={"subject": s})
            )
        )
        out["recall"].append(timed(lambda s=s: recall_chroma(col, s)))
        out["indexed"].append(timed(lambda s=s: index.about(s)))
    return out


def recall_chroma(col, subject: str) -> list:
    """Every fact of ``subject`` through Chroma's metadata filter (the store's former path)."""
    res = col.get(where={"subject": subject}, include=["documents", "metadatas"])
    rows = zip(res["ids"], res["documents"], res["metadatas"], strict=True)
    return sorted((_fact(*r) for r in rows), key=lambda f: f.id)


def scale_up(col, target, factor: int, noise: float, seed: int = 0) -> int:
    """Copy every record of ``col`` into ``target`` ``factor`` times (the first copy exact)."""
    rng = np.random.default_rng(seed)
    offset, total = 0, 0
    while True:
        page = col.get(include=["embeddings", "metadatas", "documents"], limit=2000, offset=offset)
        if not page["ids"]:
            return total
        offset += len(page["ids"])
        base = np.asarray(page["embeddings"], dtype=np.float32)
        for k in range(factor):
            vecs = base if k == 0 else base + rng.normal(0, noise, base.shape).astype(np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            suffix = "" if k == 0 else f"~{k}"
            target.add(
                ids=[i + suffix for i in page["ids"]],
                embeddings=vecs.tolist(),
                documents=page["documents"],
                metadatas=[{**m, "subject": m["subject"] + suffix} for m in page["metadatas"]],
            )
            total += len(page["ids"])


def build_table(store: KGStore, graph, t_read: float) -> None:
    """Build ``graph`` into ``store`` twice (full, then nothing changed) and print the times."""
    report = store.build(graph)
    texts = report.names + report.facts
    print("Knowledge-graph build (embedded Chroma, all-MiniLM-L6-v2 on CPU)")
    print()
    print("| stage | seconds | items |")
    print("|---|---|---|")
    print(
        f"| read + assemble sources | {t_read:.1f} | {len(graph.entities)} entities, "
        f"{len(graph.facts)} facts |"
    )
    print(
        f"| embed + write | {report.seconds:.1f} | {texts} texts ({texts / report.seconds:.0f}/s) |"
    )
    print(f"| total | {t_read + report.seconds:.1f} | |")
    rebuild = store.build(graph)
    print(f"| rebuild (nothing changed) | {rebuild.seconds:.1f} | {rebuild.embedded} embedded |")
    print()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--queries", type=int, default=60, help="queries per measurement")
    parser.add_argument("--scale", type=int, default=10, help="scale-up factor")
    parser.add_argument("--noise", type=float, default=0.02, help="σ of the synthetic copies")
    parser.add_argument(
        "--store", type=Path, help="copy this built embedded store (SMARTPATH_KG_PATH) instead"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        if args.store:
            shutil.copytree(args.store, Path(tmp) / "kg")
        settings = Settings(home=Path(tmp) / "home", kg_path=Path(tmp) / "kg")
        t0 = time.perf_counter()
        graph = assemble(read_sources(args.source))
        t_read = time.perf_counter() - t0
        store = KGStore(settings)
        if not args.store:
            build_table(store, graph, t_read)
        index = store.subject_index()
        assert index is not None, "no subject index"

        rng = random.Random(0)
        diseases = [e for e in graph.entities if e.kind == "disease"]
        picks = rng.sample(diseases, max(0, args.queries - len(QUESTIONS)))
        queries = list(QUESTIONS) + [f"What is {e.name}?" for e in picks]
        queries = queries[: args.queries]
        subjects = [rng.choice(diseases).id for _ in queries]
        embed_times: list[float] = []
        cached_times: list[float] = []
        vectors: list[list[float]] = []
        store.embedder.encode(["warm-up"])
        for q in queries:
            start = time.perf_counter()
            vectors.extend(store.embedder.encode([q]))
            embed_times.append(time.perf_counter() - start)
        for q in queries:
            cached_times.append(timed(lambda q=q: store.embedder.encode([q])))
        client = store._chroma()  # noqa: SLF001 - the benchmark times raw Chroma queries
        facts = client.get_collection(FACTS, embedding_function=None)
        rows = [
            (
                "full",
                facts.count(),
                query_times(
                    facts, index, vectors, subjects, lambda i: store.query_facts(queries[i], k=5)
                ),
            )
        ]
        big = client.create_collection(
            "bench-facts-x", metadata={"hnsw:space": "cosine"}, embedding_function=None
        )
        t_scale = timed(lambda: scale_up(facts, big, args.scale, args.noise))
        big_index = SubjectIndex(Path(tmp) / "bench-subjects-x.sqlite3")
        t_index = timed(lambda: big_index.write((_fact(*r) for r in _paged_facts(big)), "bench"))
        rows.append(
            (
                f"{args.scale}x (synthetic)",
                big.count(),
                query_times(big, big_index, vectors, subjects),
            )
        )
        e50, e95 = percentiles(embed_times)
        c50, c95 = percentiles(cached_times)
        print(
            f"Fact queries, {len(queries)} per row, top 5, latency in ms "
            f"(scale-up written in {t_scale:.0f} s, its subject index in {t_index:.1f} s)"
        )
        print()
        print(
            "| size | facts | search p50 | search p95 | filtered p50 | filtered p95 "
            "| search + first embedding p50 | p95 | search + cached embedding p50 | p95 |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        for name, n, times in rows:
            s50, s95 = percentiles(times["search"])
            f50, f95 = percentiles(times["filtered"])
            t50, t95 = percentiles(
                [a + b for a, b in zip(embed_times, times["search"], strict=True)]
            )
            k50, k95 = percentiles(
                [a + b for a, b in zip(cached_times, times["search"], strict=True)]
            )
            print(
                f"| {name} | {n} | {s50:.1f} | {s95:.1f} | {f50:.1f} | {f95:.1f} "
                f"| {t50:.1f} | {t95:.1f} | {k50:.1f} | {k95:.1f} |"
            )
        print()
        q50, q95 = percentiles(rows[0][2]["store"])
        print(
            f"Query embedding, one text: first p50 {e50:.2f} ms (p95 {e95:.2f}); cached p50 "
            f"{c50:.3f} ms (p95 {c95:.3f}), {e50 / max(c50, 1e-9):.0f}x faster. "
            f"KGStore.query_facts at full size (cached embedding, interleaved with the raw "
            f"search above): p50 {q50:.1f} ms (p95 {q95:.1f})."
        )
        print()
        print("Recall by entity (every fact of one subject), latency in ms, interleaved")
        print()
        print(
            "| size | facts | Chroma filter p50 | p95 | subject index p50 | p95 "
            "| index / Chroma (p50) |"
        )
        print("|---|---|---|---|---|---|---|")
        for name, n, times in rows:
            r50, r95 = percentiles(times["recall"])
            i50, i95 = percentiles(times["indexed"])
            print(
                f"| {name} | {n} | {r50:.2f} | {r95:.2f} | {i50:.3f} | {i95:.3f} "
                f"| {i50 / r50:.4f} |"
            )
        big_index.close()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
