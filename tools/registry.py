"""Tool registry: an explicit name → factory table; the planner validates steps against it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tools.base import Tool
from tools.detect import DetectTool
from tools.experts import load_experts
from tools.router import Router
from tools.slide_info import SlideInfoTool
from tools.tissue_analysis import TissueTool
from tools.zoom import ZoomTool

if TYPE_CHECKING:
    from agent.config import Settings

__all__ = ["TOOL_FACTORIES", "ToolRegistry", "build_tools", "cpu_router"]


def cpu_router(settings: Settings) -> Router:
    """Router over the configured experts; only CPU experts count as available so far."""
    return Router(load_experts(settings.experts_file), available=lambda e: e.backend == "cpu")


TOOL_FACTORIES: dict[str, Callable[[Settings], Tool]] = {
    "slide_info": lambda settings: SlideInfoTool(),
    "tissue": lambda settings: TissueTool(),
    "zoom": lambda settings: ZoomTool(),
    "detect": lambda settings: DetectTool(cpu_router(settings)),
}


class ToolRegistry:
    """The tools available to one graph, by name."""

    def __init__(self, tools: dict[str, Tool]) -> None:
        self._tools = dict(tools)

    def get(self, name: str) -> Tool:
        """Return the tool called ``name``; raises ValueError listing the valid names."""
        try:
            return self._tools[name]
        except KeyError:
            msg = f"unknown tool {name!r}; one of: {', '.join(sorted(self._tools))}"
            raise ValueError(msg) from None

    def names(self) -> list[str]:
        """Return the registered tool names, sorted."""
        return sorted(self._tools)


def build_tools(settings: Settings) -> ToolRegistry:
    """Instantiate every registered tool."""
    return ToolRegistry({name: make(settings) for name, make in TOOL_FACTORIES.items()})
