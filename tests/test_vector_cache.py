"""Arrays kept on disk between processes: the planner's example vectors and probe head."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from agent.capabilities import capabilities_of
from agent.semantic_planner import SemanticRouter
from core.settings import Settings
from memory.kg.embed import shared_embedder
from memory.vector_cache import VectorCache, cache_key
from tools.registry import build_tools

_NAMES = itertools.count()


class _Counting:
    """The packaged encoder, counting the texts it encodes (a new name: no shared cache)."""

    def __init__(self) -> None:
        self.name = f"counting-{next(_NAMES)}"
        self.texts = 0
        self._inner = shared_embedder(None)

    def encode(self, texts: list[str]) -> list[list[float]]:
        self.texts += len(texts)
        return self._inner.encode(texts)


def test_round_trip_and_misses(tmp_path: Path) -> None:
    cache = VectorCache(tmp_path / "cache", "t")
    key = cache_key("model", "a", "b")
    assert cache_key("model", "ab") != key  # parts are separated
    assert cache.get(key) is None
    arrays = {"x": np.arange(6, dtype=np.float32).reshape(2, 3), "y": np.ones(2)}
    cache.put(key, arrays)
    back = cache.get(key)
    assert back is not None
    assert back.keys() == arrays.keys()
    assert np.array_equal(back["x"], arrays["x"])
    assert not list((tmp_path / "cache").glob("*.tmp"))
    cache.path(key).write_bytes(b"not a zip")
    assert cache.get(key) is None  # unreadable: rebuilt, never raised


def test_old_entries_are_pruned(tmp_path: Path) -> None:
    cache = VectorCache(tmp_path, "t", keep=2)
    for n in range(4):
        cache.put(f"k{n}", {"x": np.full(1, n)})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t-k2.npz", "t-k3.npz"]


def test_unwritable_folder_is_logged_not_raised(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    VectorCache(blocker / "cache", "t").put("k", {"x": np.zeros(1)})


def test_router_reads_the_examples_from_disk(tmp_path: Path) -> None:
    registry = build_tools(Settings(home=tmp_path / "home"))
    caps = capabilities_of(registry)
    registry.close()
    cache = VectorCache(tmp_path / "cache", "planner")
    first = _Counting()
    routed = SemanticRouter(caps, first, cache=cache).route("what is the mpp of this slide")
    assert first.texts > 1000  # every example, then the clause
    assert len(list((tmp_path / "cache").glob("planner-*.npz"))) == 1
    second = _Counting()
    second.name = first.name  # another process, the same model
    for key in [k for k in SemanticRouter._cache if k[0] == first.name]:
        del SemanticRouter._cache[key]  # as in a new process
    again = SemanticRouter(caps, second, cache=cache).route("what is the mpp of this slide")
    assert second.texts == 1  # the clause alone
    assert [s.capability for s in again.selected] == [s.capability for s in routed.selected]
    assert again.selected[0].score == routed.selected[0].score
