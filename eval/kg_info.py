"""Name the knowledge graph a run used: where it is, what it holds, when it was built."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.settings import Settings

__all__ = ["describe_kg", "kg_problem"]


def kg_problem(settings: Settings) -> str | None:
    """Why the configured knowledge graph cannot be used (one line naming the fix), or None."""
    from memory.kg.store import KGStore

    if settings.kg_chroma_url is None and not settings.kg_dir.is_dir():
        return f"none at {settings.kg_dir}; run `smartpath kg build`"
    store = KGStore(settings)
    try:
        if not store.is_built():
            return f"none at {store.where}; run `smartpath kg build`"
    except Exception as exc:  # an unreadable store is one line, never a crash
        return f"{store.where} is unreadable ({type(exc).__name__}: {str(exc).splitlines()[0]})"
    finally:
        store.close()
    return None


def describe_kg(settings: Settings) -> str:
    """One line naming the configured knowledge graph and its contents, or why it is unusable.

    E.g. ``/home/u/.smartpath/kg: 2,093 entities, 5,120 facts, built 2026-11-23T11:02:11Z from
    doid_subset.obo (3f2a9c1b0d4e), ...``.
    """
    from memory.kg.store import KGStore

    problem = kg_problem(settings)
    if problem:
        return problem
    store = KGStore(settings)
    try:
        stats = store.stats()
    except Exception as exc:  # a report line, never a crash: say what went wrong
        return f"{store.where} is unreadable ({type(exc).__name__}: {str(exc).splitlines()[0]})"
    finally:
        store.close()
    sources = ", ".join(f"{name} ({str(digest)[:12]})" for name, digest in stats.sources.items())
    built = f", built {stats.built_at}" if stats.built_at else ""
    return f"{stats.where}: {stats.entities:,} entities, {stats.facts:,} facts{built}" + (
        f" from {sources}" if sources else ""
    )
