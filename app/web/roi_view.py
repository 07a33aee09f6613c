"""Draw the current ROI at full resolution with detections, masks and the tissue outline."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["DISPLAY_PX", "OVERLAYS", "RoiOverlays", "draw_roi", "overlays_in"]

DISPLAY_PX = 1024
"""Longest side of the ROI image shown (the artifact is downscaled to it when larger)."""
OVERLAYS = ("detections", "masks", "tissue outline")
DETECTION_RGB = (0, 120, 255)
MASK_RGB = (255, 200, 0)
TISSUE_RGB = (0, 160, 0)


@dataclass
class RoiOverlays:
    """What lies inside one ROI, in level-0 pixels."""

    boxes: list[list[float]] = field(default_factory=list)
    points: list[list[float]] = field(default_factory=list)
    polygons: list[list[list[float]]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    """Evidence ids the overlays come from."""


def overlays_in(box: Sequence[float], evidence: Iterable[dict[str, Any]]) -> RoiOverlays:
    """Detections and masks of ``evidence`` that overlap ``box`` (level-0 px)."""
    x0, y0, x1, y1 = box
    found = RoiOverlays()

    def inside(bx0: float, by0: float, bx1: float, by1: float) -> bool:
        return bx1 > x0 and bx0 < x1 and by1 > y0 and by0 < y1

    for ev in evidence:
        if not ev.get("ok"):
            continue
        output = ev.get("output") or {}
        hit = False
        for obj in output.get("objects") or []:
            b, c = obj.get("box"), obj.get("centroid")
            if isinstance(b, list) and len(b) == 4 and inside(*b):
                found.boxes.append([float(v) for v in b])
                hit = True
            elif isinstance(c, list) and len(c) == 2 and inside(c[0], c[1], c[0], c[1]):
                found.points.append([float(v) for v in c])
                hit = True
        for mask in output.get("masks") or []:
            poly = [p for p in mask.get("polygon") or [] if isinstance(p, list) and len(p) == 2]
            if len(poly) >= 3:
                xs, ys = [p[0] for p in poly], [p[1] for p in poly]
                if inside(min(xs), min(ys), max(xs), max(ys)):
                    found.polygons.append(poly)
                    hit = True
        if hit:
            found.sources.append(str(ev.get("id")))
    return found


def draw_roi(
    image: Image.Image,
    box: Sequence[float],
    overlays: RoiOverlays,
    *,
    show: Iterable[str] = OVERLAYS,
    tissue_mask: np.ndarray | None = None,
    tissue_downsample: float = 1.0,
) -> Image.Image:
    """Return ``image`` (the ROI's pixels) capped at ``DISPLAY_PX`` with the chosen overlays.

    Args:
        image: the ROI's pixels at any scale; it spans ``box``.
        box: the ROI in level-0 pixels [x0, y0, x1, y1].
        overlays: detections and masks in level-0 pixels.
        show: names from ``OVERLAYS`` to draw.
        tissue_mask: the slide's tissue mask.
        tissue_downsample: level-0 pixels per tissue-mask pixel.
    """
    wanted = set(show)
    rgb = image.convert("RGB")
    scale_down = min(1.0, DISPLAY_PX / max(rgb.size))
    if scale_down < 1.0:
        size = (max(1, round(rgb.width * scale_down)), max(1, round(rgb.height * scale_down)))
        rgb = rgb.resize(size, Image.Resampling.LANCZOS)
    x0, y0, x1, y1 = (float(v) for v in box)
    sx, sy = rgb.width / (x1 - x0), rgb.height / (y1 - y0)

    def to_px(x: float, y: float) -> tuple[float, float]:
        return ((x - x0) * sx, (y - y0) * sy)

    line = max(1, round(max(rgb.size) / 500))
    if "tissue outline" in wanted and tissue_mask is not None:
        edge = _tissue_edge(tissue_mask, tissue_downsample, (x0, y0, x1, y1), rgb.size)
        if edge is not None:
            pixels = np.asarray(rgb).copy()
            pixels[edge] = TISSUE_RGB
            rgb = Image.fromarray(pixels)
    draw = ImageDraw.Draw(rgb)
    if "masks" in wanted:
        for poly in overlays.polygons:
            pts = [to_px(x, y) for x, y in poly]
            draw.line([*pts, pts[0]], fill=MASK_RGB, width=line)
    if "detections" in wanted:
        for bx0, by0, bx1, by1 in overlays.boxes:
            (a, b), (c, d) = to_px(bx0, by0), to_px(bx1, by1)
            draw.rectangle((a, b, max(c, a + 1), max(d, b + 1)), outline=DETECTION_RGB, width=line)
        r = 2 + line
        for x, y in overlays.points:
            cx, cy = to_px(x, y)
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=DETECTION_RGB, width=line)
    return rgb


def _tissue_edge(
    mask: np.ndarray,
    downsample: float,
    box: tuple[float, float, float, float],
    size: tuple[int, int],
) -> np.ndarray | None:
    from skimage.morphology import dilation, disk
    from skimage.segmentation import find_boundaries

    x0, y0, x1, y1 = box
    h, w = mask.shape
    c0, r0 = int(max(0, np.floor(x0 / downsample))), int(max(0, np.floor(y0 / downsample)))
    c1, r1 = int(min(w, np.ceil(x1 / downsample))), int(min(h, np.ceil(y1 / downsample)))
    if c1 <= c0 or r1 <= r0:
        return None
    crop = mask[r0:r1, c0:c1]
    if not crop.any() or crop.all():
        return None
    # place the cropped mask cells onto the display grid (each cell spans downsample level-0 px)
    cols = ((np.arange(size[0]) + 0.5) * (x1 - x0) / size[0] + x0) / downsample
    rows = ((np.arange(size[1]) + 0.5) * (y1 - y0) / size[1] + y0) / downsample
    ci = np.clip(cols.astype(int), 0, w - 1)
    ri = np.clip(rows.astype(int), 0, h - 1)
    grid = mask[np.ix_(ri, ci)]
    edge = find_boundaries(grid, mode="inner")
    return dilation(edge, disk(max(1, max(size) // 400)))
