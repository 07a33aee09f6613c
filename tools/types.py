"""Value types shared by the slide layer and the tools; every coordinate is in level-0 pixels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "MAX_COORDINATE",
    "Box",
    "Coordinate",
    "LevelInfo",
    "PointCoordinate",
    "RegionRead",
    "SidePx",
    "SlideBackend",
    "SlideMetadata",
]

SlideBackend = Literal["openslide", "image"]

MAX_COORDINATE = 10**9
"""Largest level-0 coordinate a tool input accepts (far beyond any slide; bounds arithmetic)."""
Coordinate = Annotated[int, Field(ge=-MAX_COORDINATE, le=MAX_COORDINATE)]
"""A level-0 pixel coordinate in a tool input."""
PointCoordinate = Annotated[
    float, Field(ge=-MAX_COORDINATE, le=MAX_COORDINATE, allow_inf_nan=False)
]
"""A level-0 pixel coordinate that may fall between pixels (a centre)."""
SidePx = Annotated[int, Field(ge=1, le=10**6)]
"""A side length in pixels: at least one, at most a million."""


class Box(BaseModel):
    """Axis-aligned box in level-0 pixels: ``x0, y0`` inclusive, ``x1, y1`` exclusive."""

    model_config = ConfigDict(frozen=True)

    x0: int
    y0: int
    x1: int
    y1: int

    @model_validator(mode="after")
    def _ordered(self) -> Box:
        if self.x1 <= self.x0 or self.y1 <= self.y0:
            msg = f"empty box {self.as_list()}: x1 must exceed x0 and y1 must exceed y0"
            raise ValueError(msg)
        return self

    @classmethod
    def from_xywh(cls, x: int, y: int, width: int, height: int) -> Box:
        """Build a box from its top-left corner and size, all in level-0 pixels."""
        return cls(x0=x, y0=y, x1=x + width, y1=y + height)

    @classmethod
    def around(cls, cx: float, cy: float, width: int, height: int) -> Box:
        """Build a box of the given level-0 size centred on (cx, cy) in level-0 pixels."""
        x0 = round(cx - width / 2)
        y0 = round(cy - height / 2)
        return cls(x0=x0, y0=y0, x1=x0 + width, y1=y0 + height)

    @property
    def width(self) -> int:
        """Width in level-0 pixels."""
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        """Height in level-0 pixels."""
        return self.y1 - self.y0

    @property
    def center(self) -> tuple[float, float]:
        """Centre (x, y) in level-0 pixels."""
        return ((self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2)

    def as_list(self) -> list[int]:
        """Return ``[x0, y0, x1, y1]`` in level-0 pixels."""
        return [self.x0, self.y0, self.x1, self.y1]

    def clip(self, width: int, height: int) -> Box | None:
        """Intersect with the slide ``[0, width) × [0, height)``; None when nothing is left."""
        x0, y0 = max(self.x0, 0), max(self.y0, 0)
        x1, y1 = min(self.x1, width), min(self.y1, height)
        if x1 <= x0 or y1 <= y0:
            return None
        return Box(x0=x0, y0=y0, x1=x1, y1=y1)


class LevelInfo(BaseModel):
    """One pyramid level: its size in its own pixels and its downsample from level 0."""

    model_config = ConfigDict(frozen=True)

    level: int
    width: int
    height: int
    downsample: float
    mpp: float | None = Field(description="µm/px at this level; None when the slide has no mpp")


class SlideMetadata(BaseModel):
    """What the co-pilot knows about a slide; label and macro images are named, never included."""

    model_config = ConfigDict(frozen=True)

    slide_id: str = Field(description="sha256 of the file's bytes: the slide's stable id")
    path: str
    name: str
    backend: SlideBackend
    vendor: str | None
    width: int = Field(description="level-0 width in pixels")
    height: int = Field(description="level-0 height in pixels")
    levels: list[LevelInfo]
    mpp_x: float | None = Field(description="µm/px along x at level 0; None when not recorded")
    mpp_y: float | None = Field(description="µm/px along y at level 0; None when not recorded")
    objective_power: float | None = Field(description="scan magnification; None when not recorded")
    mpp_stated: bool = Field(
        default=False,
        description="mpp_x/mpp_y are the scale the user stated in the case; the file records none",
    )
    associated_images: list[str] = Field(
        default_factory=list, description="names of label/macro/thumbnail images, never sent out"
    )

    @property
    def level_count(self) -> int:
        """Number of pyramid levels."""
        return len(self.levels)


@dataclass(frozen=True)
class RegionRead:
    """Pixels of one region read from a slide.

    Attributes:
        image: RGB uint8 array of shape (height, width, 3) in output pixels.
        box: the region read, in level-0 pixels.
        level: pyramid level the pixels were decoded from.
        downsample: level-0 pixels per output pixel (may differ from the level's own downsample
            when the read was resampled to a requested µm/px or magnification).
        mpp: µm per output pixel, None when the slide has no mpp.
        transparent_fraction: share of output pixels that OpenSlide returned fully transparent
            (outside the scanned area); 1.0 means the read is empty.
    """

    image: np.ndarray
    box: Box
    level: int
    downsample: float
    mpp: float | None
    transparent_fraction: float

    @property
    def all_transparent(self) -> bool:
        """True when no pixel of the read holds scanned data."""
        return self.transparent_fraction >= 1.0
