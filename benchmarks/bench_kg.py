"""Benchmark: knowledge-graph build time, and query latency at full size and at 10x that size.

In one run: read + assemble the graph from the sources; embed and write it into a fresh
embedded Chroma store (the full build); then time fact queries (vector search alone, search
filtered to one subject, and end to end with the query's own embedding) at the real size; then
scale the facts collection up tenfold with synthetic records (each real vector copied nine
times with small Gaussian noise, renormalised, under new ids and subjects) and time the same
queries again. Latencies are per query, p50 and p95 over the query set, in milliseconds.
"""

from __future__ import annotations

import argparse
import random
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
from memory.kg.store import FACTS, KGStore  # noqa: E402

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


def query_times(col, vectors: list[list[float]], subjects: list[str]) -> dict[str, list[float]]:
    """Per-query seconds: plain top-5 search and top-5 search filtered to one subject."""
    out: dict[str, list[float]] = {"search": [], "filtered": []}
    col.query(query_embeddings=[vectors[0]], n_results=5)  # warm-up
    for v, s in zip(vectors, subjects, strict=True):
        out["search"].append(timed(lambda v=v: col.query(query_embeddings=[v], n_results=5)))
        out["filtered"].append(
            timed(
                lambda v=v, s=s: col.query(query_embeddings=[v], n_results=5, where={"subject": s})
            )
        )
    return out


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


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--queries", type=int, default=60, help="queries per measurement")
    parser.add_argument("--scale", type=int, default=10, help="scale-up factor")
    parser.add_argument("--noise", type=float, default=0.02, help="σ of the synthetic copies")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(tmp))
        t0 = time.perf_counter()
        graph = assemble(read_sources(args.source))
        t_read = time.perf_counter() - t0
        store = KGStore(settings)
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
            f"| embed + write | {report.seconds:.1f} | {texts} texts "
            f"({texts / report.seconds:.0f}/s) |"
        )
        print(f"| total | {t_read + report.seconds:.1f} | |")
        rebuild = store.build(graph)
        print(
            f"| rebuild (nothing changed) | {rebuild.seconds:.1f} | {rebuild.embedded} embedded |"
        )
        print()

        rng = random.Random(0)
        diseases = [e for e in graph.entities if e.kind == "disease"]
        picks = rng.sample(diseases, max(0, args.queries - len(QUESTIONS)))
        queries = list(QUESTIONS) + [f"What is {e.name}?" for e in picks]
        queries = queries[: args.queries]
        subjects = [rng.choice(diseases).id for _ in queries]
        embed_times: list[float] = []
        vectors: list[list[float]] = []
        store.embedder.encode(["warm-up"])
        for q in queries:
            start = time.perf_counter()
            vectors.extend(store.embedder.encode([q]))
            embed_times.append(time.perf_counter() - start)
        client = store._chroma()  # noqa: SLF001 - the benchmark times raw Chroma queries
        facts = client.get_collection(FACTS, embedding_function=None)
        rows = [("full", facts.count(), query_times(facts, vectors, subjects))]
        big = client.create_collection(
            "bench-facts-x", metadata={"hnsw:space": "cosine"}, embedding_function=None
        )
        t_scale = timed(lambda: scale_up(facts, big, args.scale, args.noise))
        rows.append(
            (f"{args.scale}x (synthetic)", big.count(), query_times(big, vectors, subjects))
        )
        e50, e95 = percentiles(embed_times)
        print(
            f"Fact queries, {len(queries)} per row, top 5, latency in ms "
            f"(query embedding alone: p50 {e50:.1f}, p95 {e95:.1f}; "
            f"scale-up written in {t_scale:.0f} s)"
        )
        print()
        print(
            "| size | facts | search p50 | search p95 | filtered p50 | filtered p95 "
            "| end to end p50 | end to end p95 |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for name, n, times in rows:
            s50, s95 = percentiles(times["search"])
            f50, f95 = percentiles(times["filtered"])
            total = [a + b for a, b in zip(embed_times, times["search"], strict=True)]
            t50, t95 = percentiles(total)
            print(
                f"| {name} | {n} | {s50:.1f} | {s95:.1f} | {f50:.1f} | {f95:.1f} "
                f"| {t50:.1f} | {t95:.1f} |"
            )
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
