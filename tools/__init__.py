"""Slide access and the tools the agent calls; every coordinate is in level-0 pixels."""

from __future__ import annotations

from tools.base import Tool, ToolContext, ToolResult
from tools.registry import ToolRegistry, build_tools
from tools.slide import Slide
from tools.tile_reader import TileReader
from tools.tiling import Tile, tile_grid
from tools.tissue import TissueMap, detect_tissue
from tools.types import Box, RegionRead, SlideMetadata

__all__ = [
    "Box",
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
    "detect_tissue",
    "tile_grid",
]
