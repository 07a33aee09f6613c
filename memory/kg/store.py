"""The knowledge graph in Chroma: a facts collection and an entity-names collection.

Embeddings are computed here (``Embedder``) and handed to Chroma, so Chroma never loads or
downloads a model of its own. Rebuilds are idempotent: a record whose content hash is unchanged
is not re-embedded, and records no longer in the graph are deleted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
from pydantic import BaseModel, Field

from core.errors import ConfigError
from core.settings import Settings
from memory.kg.embed import Embedder, shared_embedder
from memory.kg.model import Entity, Fact, Graph
from memory.kg.subject_index import TOKEN_KEY, SubjectIndex

__all__ = ["BuildReport", "KGStats", "KGStore", "NameHit", "ScoredFact", "normalise"]

logger = logging.getLogger(__name__)

FACTS = "smartpath-facts"
NAMES = "smartpath-names"
_PAGE = 5000
_BATCH = 512
_DB_FILE = "chroma.sqlite3"
"""The database file of an embedded (PersistentClient) store, written when it is first opened."""
_INDEX_FILE = "subjects.sqlite3"
"""The subject index (``memory.kg.subject_index``) beside an embedded store's database."""
_SPELLING = (("tumour", "tumor"), ("oesophag", "esophag"), ("haem", "hem"), ("oedema", "edema"))


def normalise(text: str) -> str:
    """Lower case, British spellings folded to the ontology's, punctuation to spaces."""
    out = text.lower()
    for uk, us in _SPELLING:
        out = out.replace(uk, us)
    out = "".join(ch if ch.isalnum() else " " for ch in out)
    return " ".join(out.split())


class ScoredFact(BaseModel):
    """A fact with the similarity that found it (1.0 for exact lookups)."""

    fact: Fact
    score: float


class NameHit(BaseModel):
    """An entity name near a query."""

    entity: str
    name: str
    kind: str
    score: float


class BuildReport(BaseModel):
    """What one build did."""

    entities: int
    names: int
    facts: int
    embedded: int = Field(description="records embedded this time (new or changed)")
    removed: int
    seconds: float


class KGStats(BaseModel):
    """Counts of what the store holds."""

    facts: int
    names: int
    entities: int
    by_predicate: dict[str, int]
    by_kind: dict[str, int]
    built_at: str | None
    sources: dict[str, str]
    embedding_model: str | None
    where: str


class KGStore:
    """Facts and entity names in Chroma (embedded PersistentClient or a ``chroma run`` server)."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        *,
        names_collection: str = NAMES,
    ) -> None:
        self._settings = settings
        self.embedder = embedder or shared_embedder(settings.embedding_model)
        self._names_name = names_collection
        self._client: Any = None
        self._index: dict[str, list[tuple[str, str, str]]] | None = None
        self._entities: dict[str, Entity] | None = None
        self._vectors: tuple[int, np.ndarray, list[tuple[str, str, str]]] | None = None
        self._generation = 0  # counts builds: a name index read during a build is not kept
        self._lock = threading.Lock()
        self._subject_index = SubjectIndex(self._index_path())
        self._index_checked = -1
        """The generation whose subject index was found consistent with Chroma (-1: none)."""
        self._index_lock = threading.Lock()

    # -- connection ----------------------------------------------------------------------------
    @property
    def where(self) -> str:
        """The Chroma server URL or the embedded store's folder."""
        return self._settings.kg_chroma_url or str(self._settings.kg_dir)

    def _index_path(self) -> Path:
        """Beside an embedded store's database; under home for a Chroma server (one per URL)."""
        url = self._settings.kg_chroma_url
        if not url:
            return self._settings.kg_dir / _INDEX_FILE
        key = hashlib.sha256(url.encode()).hexdigest()[:16]
        return self._settings.home / "kg-index" / f"{key}-{_INDEX_FILE}"

    def _chroma(self) -> Any:
        with self._lock:
            if self._client is None:
                import chromadb
                from chromadb.config import Settings as ChromaSettings

                conf = ChromaSettings(anonymized_telemetry=False)
                url = self._settings.kg_chroma_url
                try:
                    if url:
                        u = urlparse(url)
                        if u.scheme not in ("http", "https") or not u.hostname:
                            msg = f"SMARTPATH_KG_CHROMA_URL={url} is not an http(s)://host:port URL"
                            raise ConfigError(msg)
                        self._client = chromadb.HttpClient(
                            host=u.hostname,
                            port=u.port or (443 if u.scheme == "https" else 80),
                            ssl=u.scheme == "https",
                            settings=conf,
                        )
                    else:
                        self._settings.kg_dir.mkdir(parents=True, exist_ok=True)
                        self._client = chromadb.PersistentClient(
                            path=str(self._settings.kg_dir), settings=conf
                        )
                except ConfigError:
                    raise
                except Exception as exc:  # chromadb raises plain Exceptions for a server down
                    msg = f"cannot reach the knowledge graph at {self.where}: {_first_line(exc)}"
                    raise ConfigError(msg) from None
            return self._client

    def close(self) -> None:
        """Release the Chroma client (its connections or database handles)."""
        with self._lock:
            if self._client is not None:
                # Client.close() releases the shared system but leaves the HTTP connection
                # pools of the client and its admin client open (chromadb 1.5); close those too.
                admin = getattr(self._client, "_admin_client", None)
                sessions = [
                    getattr(getattr(c, "_server", None), "_session", None)
                    for c in (self._client, admin)
                ]
                self._client.close()
                for session in sessions:
                    if session is not None:
                        session.close()
                self._client = None
        self._subject_index.close()

    def _collection(self, name: str, *, create: bool) -> Any:
        client = self._chroma()
        try:
            if create:
                return client.get_or_create_collection(
                    name, metadata={"hnsw:space": "cosine"}, embedding_function=None
                )
            return client.get_collection(name, embedding_function=None)
        except Exception as exc:
            if not create and "does not exist" in str(exc).lower():
                return None
            msg = f"knowledge graph at {self.where}: {_first_line(exc)}"
            raise ConfigError(msg) from None

    def is_built(self) -> bool:
        """Whether a graph has been built into this store.

        An embedded store without its database file has none: it is not opened (nor created).
        """
        if not self._settings.kg_chroma_url and not (self._settings.kg_dir / _DB_FILE).is_file():
            return False
        facts = self._collection(FACTS, create=False)
        return facts is not None and facts.count() > 0

    # -- build ---------------------------------------------------------------------------------
    def build(
        self,
        graph: Graph,
        *,
        progress: Callable[[str, int, int], None] | None = None,
        names_filter: Callable[[Entity, str], bool] | None = None,
        facts: bool = True,
    ) -> BuildReport:
        """Write ``graph`` into the store; unchanged records are kept as they are.

        ``names_filter(entity, name)`` may leave names out of the names collection (used by the
        linking evaluation to hold synonyms out); ``facts=False`` builds the names only.
        """
        problem = self.embedder.problem()
        if problem:
            raise ConfigError(problem)
        start = time.perf_counter()
        names = [
            (f"{e.id}|{i}", n, {"entity": e.id, "name": n, "kind": e.kind, "primary": i == 0})
            for e in graph.entities
            for i, n in enumerate([e.name, *e.synonyms])
            if names_filter is None or names_filter(e, n)
        ]
        embedded, removed = self._sync(self._names_name, names, "names", progress)
        if facts:
            rows = [
                (
                    f.id,
                    f.text,
                    {
                        "subject": f.subject,
                        "predicate": f.predicate,
                        "object": f.object or "",
                        "source": f.source,
                    },
                )
                for f in graph.facts
            ]
            e2, r2 = self._sync(FACTS, rows, "facts", progress)
            embedded, removed = embedded + e2, removed + r2
            col = self._collection(FACTS, create=True)
            token = uuid.uuid4().hex
            meta = {
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "sources": json.dumps(graph.sources, sort_keys=True),
                "embedding_model": self.embedder.name,
            }
            if self._write_index(graph.facts, token):
                meta[TOKEN_KEY] = token
            col.modify(metadata=meta)
        self._forget_names()
        return BuildReport(
            entities=len(graph.entities),
            names=len(names),
            facts=len(graph.facts) if facts else 0,
            embedded=embedded,
            removed=removed,
            seconds=round(time.perf_counter() - start, 2),
        )

    def _sync(
        self,
        name: str,
        rows: list[tuple[str, str, dict[str, Any]]],
        label: str,
        progress: Callable[[str, int, int], None] | None,
    ) -> tuple[int, int]:
        col = self._collection(name, create=True)
        existing = {rid: (meta or {}).get("h") for rid, meta in _paged(col, include=["metadatas"])}
        wanted: dict[str, tuple[str, dict[str, Any]]] = {}
        for rid, doc, meta in rows:
            meta = {**meta, "h": _hash(doc, meta)}
            wanted[rid] = (doc, meta)
        todo = [rid for rid, (_, meta) in wanted.items() if existing.get(rid) != meta["h"]]
        stale = [rid for rid in existing if rid not in wanted]
        for i in range(0, len(stale), _BATCH):
            col.delete(ids=stale[i : i + _BATCH])
        done = 0
        if progress:
            progress(label, 0, len(todo))
        for i in range(0, len(todo), _BATCH):
            ids = todo[i : i + _BATCH]
            docs = [wanted[r][0] for r in ids]
            col.upsert(
                ids=ids,
                documents=docs,
                metadatas=[wanted[r][1] for r in ids],
                embeddings=self.embedder.encode(docs, bulk=True),
            )
            done += len(ids)
            if progress:
                progress(label, done, len(todo))
        return len(todo), len(stale)

    # -- reads ---------------------------------------------------------------------------------
    def stats(self) -> KGStats:
        """Counts by predicate and entity kind, build time and source checksums."""
        facts = self._collection(FACTS, create=False)
        names = self._collection(self._names_name, create=False)
        by_pred: Counter[str] = Counter()
        by_kind: Counter[str] = Counter()
        entities: set[str] = set()
        meta: dict[str, Any] = {}
        if facts is not None:
            meta = dict(facts.metadata or {})
            for _, m in _paged(facts, include=["metadatas"]):
                by_pred[(m or {}).get("predicate", "?")] += 1
        n_names = 0
        if names is not None:
            for _, m in _paged(names, include=["metadatas"]):
                n_names += 1
                if m and m.get("primary"):
                    entities.add(m["entity"])
                    by_kind[m.get("kind", "?")] += 1
        return KGStats(
            facts=sum(by_pred.values()),
            names=n_names,
            entities=len(entities),
            by_predicate=dict(sorted(by_pred.items())),
            by_kind=dict(sorted(by_kind.items())),
            built_at=meta.get("built_at"),
            sources=json.loads(meta.get("sources", "{}")),
            embedding_model=meta.get("embedding_model"),
            where=self.where,
        )

    def query_facts(
        self, text: str, k: int = 5, *, subjects: Iterable[str] | None = None
    ) -> list[ScoredFact]:
        """The ``k`` facts nearest in meaning to ``text`` (optionally about ``subjects`` only)."""
        col = self._collection(FACTS, create=False)
        if col is None or not text.strip():
            return []
        where = None
        subs = sorted(set(subjects or []))
        if subs:
            where = {"subject": subs[0]} if len(subs) == 1 else {"subject": {"$in": subs}}
        res = col.query(
            query_embeddings=self.embedder.encode([text]),
            n_results=k,
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        return [
            ScoredFact(fact=_fact(rid, doc, meta), score=round(1.0 - dist, 4))
            for rid, doc, meta, dist in zip(
                res["ids"][0],
                res["documents"][0],
                res["metadatas"][0],
                res["distances"][0],
                strict=True,
            )
        ]

    def facts_about(self, subject: str, predicates: Iterable[str] | None = None) -> list[Fact]:
        """Every fact whose subject is ``subject`` (optionally of the given predicates), by id.

        Read from the subject index (a B-tree look-up, whatever the graph's size); from
        Chroma's metadata filter only when no index can be kept.
        """
        index = self.subject_index()
        if index is not None:
            return index.about(subject, predicates)
        col = self._collection(FACTS, create=False)
        if col is None:
            return []
        res = col.get(where={"subject": subject}, include=["documents", "metadatas"])
        wanted = set(predicates) if predicates else None
        out = [
            _fact(rid, doc, meta)
            for rid, doc, meta in zip(res["ids"], res["documents"], res["metadatas"], strict=True)
            if wanted is None or meta.get("predicate") in wanted
        ]
        return sorted(out, key=lambda f: f.id)

    def facts_with(self, predicates: Iterable[str]) -> list[Fact]:
        """Every fact of these predicates (a few dozen for the curated ones), sorted by id."""
        wanted = sorted(set(predicates))
        if not wanted:
            return []
        index = self.subject_index()
        if index is not None:
            return index.with_predicates(wanted)
        col = self._collection(FACTS, create=False)
        if col is None:
            return []
        where = {"predicate": wanted[0]} if len(wanted) == 1 else {"predicate": {"$in": wanted}}
        res = col.get(where=where, include=["documents", "metadatas"])
        out = [
            _fact(rid, doc, meta)
            for rid, doc, meta in zip(res["ids"], res["documents"], res["metadatas"], strict=True)
        ]
        return sorted(out, key=lambda f: f.id)

    def facts(self, ids: Iterable[str]) -> list[Fact]:
        """The facts with these ids (unknown ids are left out)."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        index = self.subject_index()
        if index is not None:
            return index.by_ids(wanted)
        col = self._collection(FACTS, create=False)
        if col is None:
            return []
        res = col.get(ids=wanted, include=["documents", "metadatas"])
        return [
            _fact(rid, doc, meta)
            for rid, doc, meta in zip(res["ids"], res["documents"], res["metadatas"], strict=True)
        ]

    # -- subject index -------------------------------------------------------------------------
    def subject_index(self) -> SubjectIndex | None:
        """The subject index, consistent with Chroma's facts; None when there are no facts.

        Checked once per build seen by this store: an index that is missing, unreadable or
        stamped with another token than the facts collection's is rebuilt from Chroma's
        records (and both stamped anew). None also when the index cannot be written (a
        read-only folder): the look-ups then use Chroma's metadata filter.
        """
        with self._index_lock:
            generation = self._generation
            if self._index_checked == generation:
                return self._subject_index
            col = self._collection(FACTS, create=False)
            if col is None:
                return None
            meta = dict(col.metadata or {})
            token = meta.get(TOKEN_KEY)
            if token is None or self._subject_index.token() != token:
                logger.info(
                    "rebuilding the knowledge graph's subject index %s", self._subject_index.path
                )
                facts = [_fact(rid, doc, m) for rid, doc, m in _paged_facts(col)]
                token = uuid.uuid4().hex
                if not self._write_index(facts, token):
                    return None
                col.modify(metadata={**meta, TOKEN_KEY: token})
            self._index_checked = generation
            return self._subject_index

    def _write_index(self, facts: Iterable[Fact], token: str) -> bool:
        """Write the subject index; False (logged) when its folder cannot be written."""
        try:
            n = self._subject_index.write(facts, token)
        except (OSError, sqlite3.Error) as exc:
            logger.warning("cannot write the subject index %s: %s", self._subject_index.path, exc)
            return False
        logger.info("subject index %s: %d facts", self._subject_index.path, n)
        return True

    def entity(self, entity_id: str) -> Entity | None:
        """The entity with this id, with its names, or None."""
        return self._names()[1].get(entity_id)

    def name_index(self) -> dict[str, list[tuple[str, str, str]]]:
        """Normalised name -> [(entity id, kind, name)], loaded once from the names collection."""
        return self._names()[0]

    def _forget_names(self) -> None:
        """Drop the cached name index so the next read loads the names as built."""
        with self._lock:
            self._generation += 1
            self._index, self._entities = None, None

    def _names(self) -> tuple[dict[str, list[tuple[str, str, str]]], dict[str, Entity]]:
        """The name index and the entities, loaded once per build."""
        with self._lock:
            cached, cached_entities, generation = self._index, self._entities, self._generation
        if cached is not None and cached_entities is not None:
            return cached, cached_entities
        col = self._collection(self._names_name, create=False)
        index: dict[str, list[tuple[str, str, str]]] = {}
        names: dict[str, list[tuple[int, str, str]]] = {}
        if col is not None:
            for rid, m in _paged(col, include=["metadatas"]):
                ent, kind, name = m["entity"], m["kind"], m["name"]
                index.setdefault(normalise(name), []).append((ent, kind, name))
                names.setdefault(ent, []).append((int(rid.rsplit("|", 1)[1]), kind, name))
        ents: dict[str, Entity] = {}
        for ent, rows in names.items():
            rows.sort()
            ents[ent] = Entity(
                id=ent,
                name=rows[0][2],
                kind=rows[0][1],  # type: ignore[arg-type]
                synonyms=[r[2] for r in rows[1:]],
                source="knowledge graph",
            )
        with self._lock:
            if generation == self._generation:  # no build ended meanwhile
                self._index, self._entities = index, ents
        return index, ents

    def name_vectors(self) -> tuple[np.ndarray, list[tuple[str, str, str]]]:
        """Every name's unit vector (rows of a float32 matrix) and its (entity, kind, name).

        Loaded once per build, for the linker: scoring a mention against every name is one
        matrix product (under a millisecond for thousands of names), and any candidate that
        lexical matching proposes has its similarity too.
        """
        with self._lock:
            cached, generation = self._vectors, self._generation
        if cached is not None and cached[0] == generation:
            return cached[1], cached[2]
        col = self._collection(self._names_name, create=False)
        rows: list[tuple[str, str, str]] = []
        parts: list[np.ndarray] = []
        offset = 0
        while col is not None:
            res = col.get(include=["metadatas", "embeddings"], limit=_PAGE, offset=offset)
            if not res["ids"]:
                break
            rows += [(m["entity"], m["kind"], m["name"]) for m in res["metadatas"]]
            parts.append(np.asarray(res["embeddings"], dtype=np.float32))
            offset += len(res["ids"])
        matrix = np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)
        with self._lock:
            if generation == self._generation:
                self._vectors = (generation, matrix, rows)
        return matrix, rows

    def query_names(self, text: str, k: int = 5) -> list[NameHit]:
        """Entity names nearest in meaning to ``text``."""
        col = self._collection(self._names_name, create=False)
        if col is None or not text.strip():
            return []
        res = col.query(
            query_embeddings=self.embedder.encode([text]),
            n_results=k,
            include=["metadatas", "distances"],
        )
        return [
            NameHit(entity=m["entity"], name=m["name"], kind=m["kind"], score=round(1 - d, 4))
            for m, d in zip(res["metadatas"][0], res["distances"][0], strict=True)
        ]

    def query_names_batch(self, texts: list[str], k: int = 1) -> list[list[NameHit]]:
        """``query_names`` for many texts at once (one embedding batch, one query)."""
        col = self._collection(self._names_name, create=False)
        if col is None or not texts:
            return [[] for _ in texts]
        res = col.query(
            query_embeddings=self.embedder.encode(texts),
            n_results=k,
            include=["metadatas", "distances"],
        )
        return [
            [
                NameHit(entity=m["entity"], name=m["name"], kind=m["kind"], score=round(1 - d, 4))
                for m, d in zip(ms, ds, strict=True)
            ]
            for ms, ds in zip(res["metadatas"], res["distances"], strict=True)
        ]


def _paged(col: Any, include: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    offset = 0
    while True:
        res = col.get(include=include, limit=_PAGE, offset=offset)
        ids = res["ids"]
        if not ids:
            return
        metas = res.get("metadatas") or [None] * len(ids)
        yield from zip(ids, metas, strict=True)
        offset += len(ids)


def _paged_facts(col: Any) -> Iterator[tuple[str, str, dict[str, Any]]]:
    offset = 0
    while True:
        res = col.get(include=["documents", "metadatas"], limit=_PAGE, offset=offset)
        if not res["ids"]:
            return
        yield from zip(res["ids"], res["documents"], res["metadatas"], strict=True)
        offset += len(res["ids"])


def _fact(rid: str, doc: str, meta: dict[str, Any]) -> Fact:
    return Fact(
        id=rid,
        subject=meta["subject"],
        predicate=meta["predicate"],
        object=meta.get("object") or None,
        text=doc,
        source=meta.get("source", ""),
    )


def _hash(doc: str, meta: dict[str, Any]) -> str:
    blob = json.dumps([doc, meta], sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
