"""Slide access and the tools the agent calls; every coordinate is in level-0 pixels."""

from __future__ import annotations

from core.errors import ModelOutputError
from tools.base import Tool, ToolContext, ToolResult
from tools.experts import ExpertsConfig, ExpertSpec, load_experts
from tools.nuclei import NucleiResult, detect_nuclei
from tools.registry import ToolRegistry, build_tools
from tools.router import Router
from tools.slide import Slide
from tools.tile_reader import TileReader
from tools.tiling import Tile, tile_grid
from tools.tissue import TissueMap, detect_tissue
from tools.types import Box, RegionRead, SlideMetadata

__all__ = [
    "Box",
    "ExpertSpec",
    "ExpertsConfig",
    "ModelOutputError",
    "NucleiResult",
    "Router",
    "RegionRead",
    "Slide",
    "SlideMetadata",
    "Tile",
    "TileReader",
    "TissueMap",
    "Tool",
    "ToolContext",
    "ToolRegistry",
    "ToolResult",
    "build_tools",
    "detect_nuclei",
    "detect_tissue",
    "load_experts",
    "tile_grid",
]
