"""The agent's view of the knowledge graph: recall facts for a turn, find entities in text."""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from agent.state import Evidence, RecalledFact
from core.organs import organs_in
from memory.kg.linker import EntityLinker, Link, Mentions, medical_terms
from memory.kg.model import Fact
from memory.kg.store import KGStore
from memory.kg.term_search import TermIndex
from tools.registry import tool_class

__all__ = ["Knowledge", "LabelRef", "kg_seconds", "labels_of", "statements_of"]

logger = logging.getLogger(__name__)

_ORDER = (
    "definition",
    "located_in",
    "derives_from",
    "is_a",
    "feature",
    "grading",
    "differential",
    "markers",
    "testing",
)
_MAX_SUBJECTS = 2
_MAX_IS_A = 2
_BORROWED = ("feature", "grading", "differential", "markers", "testing")
"""Curated relations an entity may take from a relative (never a definition or a site)."""
_LINEAGE = 4
"""Steps up the ``is_a`` hierarchy searched for a relative that holds an asked relation."""
_SEMANTIC_K = 3
_SEMANTIC_FLOOR = 0.6

LabelRef = tuple[str, str | None]
"""(label text, evidence id that produced it or None for an earlier turn's finding)."""

_CLOCK = threading.local()
"""Per thread: seconds spent in ``Knowledge``'s look-ups (``seconds``) and the call depth."""
_F = TypeVar("_F", bound=Callable[..., Any])


def kg_seconds() -> float:
    """Seconds this thread has spent in the knowledge graph's look-ups so far."""
    return float(getattr(_CLOCK, "seconds", 0.0))


def _on_clock(method: _F) -> _F:
    """Add the method's time to this thread's ``kg_seconds`` (once for nested look-ups)."""

    @functools.wraps(method)
    def timed(*args: Any, **kwargs: Any) -> Any:
        depth = getattr(_CLOCK, "depth", 0)
        _CLOCK.depth = depth + 1
        started = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            _CLOCK.depth = depth
            if depth == 0:
                _CLOCK.seconds = kg_seconds() + time.perf_counter() - started

    return timed  # type: ignore[return-value]


class Knowledge:
    """Recall and entity mentions over a built ``KGStore``; ``problem`` says when there is none."""

    def __init__(self, store: KGStore, threshold: float) -> None:
        self.store = store
        self.linker = EntityLinker(store, threshold)
        self._problem: str | None = None
        self._checked = False
        self._lock = threading.Lock()
        self._terms: TermIndex | None = None

    @_on_clock
    def problem(self) -> str | None:
        """Why no knowledge graph can be used (one line), or None; checked once per build."""
        with self._lock:
            if not self._checked:
                self._problem = self._check()
                self._checked = True
            return self._problem

    def refresh(self) -> None:
        """Check the store again at the next turn: it has just been built or refreshed."""
        with self._lock:
            self._checked, self._problem, self._terms = False, None, None

    def _check(self) -> str | None:
        try:
            if not self.store.is_built():
                return f"no knowledge graph at {self.store.where}; run 'smartpath kg build'"
            return self.store.embedder.problem()
        except Exception as exc:  # a server down: say so, answer without facts
            return f"knowledge graph unavailable: {exc}"

    @_on_clock
    def recall(
        self,
        request: str,
        labels: list[LabelRef],
        *,
        knowledge: bool,
        statements: list[LabelRef] | None = None,
        asked: tuple[str, ...] = (),
        compared: tuple[str, ...] = (),
    ) -> list[RecalledFact]:
        """Facts about the entities the labels and the request name (at most two entities).

        Labels (expert outputs) come first; then the entities a model's statements name (a VQA
        expert's sentences: ``via`` is the name as the sentence writes it, so the chain can
        quote it from the evidence); then, for a request that asks about ``knowledge``
        only, diseases written in the request: a disease merely named in a question that runs
        a tool ("is this melanoma? classify it") is not what the tool found, so it brings no
        facts. ``asked``: the predicates a knowledge question asks for ("markers"); an entity
        that has none of them borrows them from its closest relative that has (``_related``:
        markers of colon adenocarcinoma are colorectal adenocarcinoma's); each such fact names
        its own subject. ``compared``: the two phrases a comparison names; when both link to
        one entity, its link keeps both. When nothing links and the request asks about
        knowledge, the facts nearest in meaning are returned.
        """
        subjects: list[tuple[Link, str | None]] = []
        for text, ev in labels:
            found = self.link_label(text)
            if found:
                subjects.append((found, ev))
        for text, ev in statements or []:
            for link in self.linker.mentions(text).links:
                subjects.append((link.model_copy(update={"text": _as_written(text, link)}), ev))
        if knowledge:
            shared = self._one_entity(compared)
            for link in self.linker.mentions(request).links:
                if link.kind == "disease":
                    if link.entity == shared:  # "HGSC vs LGSC": both phrases, one entity
                        link = link.model_copy(update={"text": " / ".join(compared)})
                    subjects.append((link, None))
        out: list[RecalledFact] = []
        seen: set[str] = set()
        for link, ev in _unique_subjects(subjects)[:_MAX_SUBJECTS]:
            facts = self.store.facts_about(link.entity, _ORDER)
            lacking = tuple(
                p for p in asked if p in _BORROWED and not any(f.predicate == p for f in facts)
            )
            borrowed: dict[str, str] = {}
            if lacking and knowledge:
                theirs, how = self._related(link.entity, facts, lacking)
                facts += theirs
                borrowed = {f.id: how for f in theirs}
            facts.sort(key=lambda f: (f.subject != link.entity, _ORDER.index(f.predicate), f.id))
            is_a = 0
            for f in facts:
                if f.predicate == "is_a":
                    is_a += 1
                    if is_a > _MAX_IS_A:
                        continue
                if f.id in seen:
                    continue
                seen.add(f.id)
                out.append(
                    RecalledFact(
                        **f.model_dump(),
                        score=1.0,
                        via=link.text,
                        via_evidence=ev,
                        entity=link.entity,
                        entity_name=self._name(link.entity),
                        link_score=link.score,
                        link_method=link.method,
                        borrowed=borrowed.get(f.id),
                    )
                )
        if not out and knowledge and request.strip():
            out = self._by_terms(request)
        if not out and knowledge and request.strip():
            for hit in self.store.query_facts(request, k=_SEMANTIC_K):
                if hit.score >= _SEMANTIC_FLOOR and hit.fact.id not in seen:
                    out.append(
                        RecalledFact(
                            **hit.fact.model_dump(),
                            score=hit.score,
                            via=request,
                            entity=hit.fact.subject,
                            link_score=hit.score,
                            link_method="embedding",
                        )
                    )
        logger.info("recalled %d fact(s)", len(out))
        return out

    def _by_terms(self, request: str) -> list[RecalledFact]:
        """Curated facts of one subject that share the request's rarest terms (``TermIndex``)."""
        with self._lock:
            if self._terms is None:
                self._terms = TermIndex(self.store.facts_with(_BORROWED))
            index = self._terms
        hits = index.search(request, k=_SEMANTIC_K)
        if not hits:
            return []
        subject = hits[0].fact.subject
        return [
            RecalledFact(
                **h.fact.model_dump(),
                score=round(h.score / hits[0].score, 4),
                via=request,
                entity=subject,
                entity_name=self._name(subject),
                link_score=round(h.score / hits[0].score, 4),
                link_method="terms",
            )
            for h in hits
            if h.fact.subject == subject
        ]

    def _one_entity(self, phrases: tuple[str, ...]) -> str | None:
        """The one disease entity two compared phrases both link to, or None."""
        if len(phrases) != 2:
            return None
        found = [
            {x.entity for x in self.linker.mentions(p).links if x.kind == "disease"}
            for p in phrases
        ]
        both = found[0] & found[1]
        return next(iter(both)) if len(both) == 1 else None

    def _related(
        self, entity: str, facts: list[Fact], asked: tuple[str, ...]
    ) -> tuple[list[Fact], str]:
        """The asked facts of the closest relative that has them (or none), and how it relates.

        Closest first: a broader entity (up to ``_LINEAGE`` steps up), then a narrower one
        (``entity`` among its broader entities), then one that shares a broader entity two
        steps up or less from both (colorectal adenocarcinoma for colon adenocarcinoma). A
        narrower or a cousin must name no organ the entity does not name: lung adenocarcinoma
        never takes colorectal adenocarcinoma's differential.
        """
        holders: dict[str, list[Fact]] = {}
        for f in self.store.facts_with(asked):
            holders.setdefault(f.subject, []).append(f)
        if not holders:
            return [], ""
        up = self._lineage(entity, facts)
        organs = self._organs(entity)
        ranked: list[tuple[int, str]] = []
        for subject in holders:
            if subject not in up and not self._organs(subject) <= organs:
                continue  # markers of "adenocarcinoma" are no one organ's adenocarcinoma's
            theirs = self._lineage(subject, self.store.facts_about(subject, ("is_a",)))
            if subject in up:
                ranked.append((up[subject], subject))
            elif entity in theirs:
                ranked.append((_LINEAGE + theirs[entity], subject))
            elif organs:  # a cousin of the same organ, never one of another organ
                shared = [d + up[a] for a, d in theirs.items() if d <= 2 and up.get(a, 99) <= 2]
                if shared:
                    ranked.append((2 * _LINEAGE + min(shared), subject))
        if not ranked:
            return [], ""
        rank, subject = min(ranked)
        how = "broader" if rank <= _LINEAGE else "narrower" if rank <= 2 * _LINEAGE else "cousin"
        return holders[subject], how

    def _organs(self, entity: str) -> set[str]:
        """The organs an entity's name names ("colon adenocarcinoma": colorectum)."""
        return {organ for organ, _ in organs_in(self._name(entity))}

    def _lineage(self, entity: str, facts: list[Fact]) -> dict[str, int]:
        """Broader entities of ``entity`` (``facts``: its own) by steps up, nearest first."""
        found: dict[str, int] = {}
        level = [f.object for f in facts if f.predicate == "is_a" and f.object]
        for step in range(1, _LINEAGE + 1):
            above: list[str] = []
            for parent in level:
                if parent in found or parent == entity:
                    continue
                found[parent] = step
                if step < _LINEAGE:
                    above += [
                        f.object for f in self.store.facts_about(parent, ("is_a",)) if f.object
                    ]
            level = above
        return found

    def _name(self, entity: str) -> str:
        found = self.store.entity(entity)
        return found.name if found else ""

    @_on_clock
    def link_label(self, label: str) -> Link | None:
        """The disease a class label names, or None.

        By exact name, else by meaning when the label holds a disease word (carcinoma, …oma,
        neoplasm…): 'colorectal adenocarcinoma epithelium' names one, 'normal colon mucosa' none.
        """
        exact = [x for x in self.linker.link(label, kinds={"disease"}) if x.method == "exact"]
        if exact:
            return exact[0]
        if not medical_terms(label):
            return None
        found = self.linker.link(label, kinds={"disease"})
        return found[0] if found else None

    @_on_clock
    def mentions(self, text: str) -> Mentions:
        """Entities named in ``text`` and medical terms that link to none."""
        return self.linker.mentions(text)


def labels_of(evidence: list[Evidence]) -> list[LabelRef]:
    """Class labels that classification experts gave this turn."""
    return [
        (str(e.output["label"]), e.id)
        for e in evidence
        if e.ok and e.tool in ("classify", "wsi_classify") and e.output.get("label")
    ]


def statements_of(evidence: list[Evidence]) -> list[LabelRef]:
    """Sentences that models stated this turn (``Tool.opinions``: a VQA expert's answer)."""
    out: list[LabelRef] = []
    for e in evidence:
        cls = tool_class(e.tool) if e.ok else None
        if cls is not None and cls.opinions:
            sentences = [t for t in cls.opinion_texts(e.output) if t]
            out.extend((t, e.id) for t in dict.fromkeys(sentences))
    return out


def _as_written(text: str, link: Link) -> str:
    """The words of ``text`` that name the linked entity, as written; else all of ``text``."""
    words = [re.escape(w) for w in link.text.split()]
    found = re.search(r"\b" + r"[\W_]+".join(words) + r"\b", text, re.IGNORECASE) if words else None
    return found.group(0) if found else text


def _unique_subjects(items: list[tuple[Link, str | None]]) -> list[tuple[Link, str | None]]:
    seen: set[str] = set()
    out = []
    for link, ev in items:
        if link.entity not in seen:
            seen.add(link.entity)
            out.append((link, ev))
    return out
