"""What the graph's nodes need from outside: settings, tools, slides, audit log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent.knowledge import Knowledge
from agent.reasoner import reason
from agent.state import CaseState
from core.settings import Settings
from memory.audit import AuditLog
from tools.registry import ToolRegistry
from tools.slide_cache import SlideCache

__all__ = ["GraphDeps"]


@dataclass(frozen=True)
class GraphDeps:
    """Dependencies injected into ``build_graph``."""

    settings: Settings
    tools: ToolRegistry
    slides: SlideCache
    audit: AuditLog
    reasoner: Callable[[CaseState], dict[str, Any]] = reason
    knowledge: Knowledge | None = None
    rewrite_on_failure: bool = False
    """Route a chain that fails verification back to the reasoner (an LLM reasoner can revise)."""
    planner: Callable[[CaseState], dict[str, Any]] | None = None
    """The ``plan`` node; None: the one ``SMARTPATH_PLANNER`` chooses (see agent.planner)."""
