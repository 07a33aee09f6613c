"""Process-wide cache of open slides and their tissue maps, keyed by path and slide id."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import SlideOpenError
from tools.pixel_budget import PixelBudget
from tools.slide import Slide

if TYPE_CHECKING:
    from tools.tissue import TissueMap

__all__ = ["SlideCache"]


class SlideCache:
    """Open each slide once per process; compute each slide's tissue map once."""

    def __init__(self, budget: PixelBudget | None = None) -> None:
        self.budget = budget or PixelBudget()
        self._lock = threading.Lock()
        self._slides: dict[Path, Slide] = {}
        self._tissue: dict[tuple[str, int, float | None], TissueMap] = {}

    def open(self, path: str | Path) -> Slide:
        """Return the open slide at ``path``; raises ``SlideOpenError`` for bad files."""
        try:
            key = Path(path).resolve()
        except (OSError, RuntimeError) as error:  # RuntimeError: a loop of symbolic links
            msg = f"cannot open {path}: {' '.join(str(error).split())}"
            raise SlideOpenError(msg) from None
        with self._lock:
            slide = self._slides.get(key)
            if slide is None:
                slide = Slide.open(key, self.budget)
                self._slides[key] = slide
            return slide

    def tissue(self, slide: Slide, thumbnail_px: int) -> TissueMap:
        """Return the slide's tissue map at the given thumbnail size, computing it once."""
        from tools.tissue import detect_tissue

        # a scale stated in a case changes the map's areas, so it is part of the key
        key = (slide.metadata.slide_id, thumbnail_px, slide.metadata.mpp_x)
        with self._lock:
            cached = self._tissue.get(key)
        if cached is None:
            cached = detect_tissue(slide, thumbnail_px=thumbnail_px)
            with self._lock:
                self._tissue[key] = cached
        return cached

    def close(self) -> None:
        """Close every open slide."""
        with self._lock:
            for slide in self._slides.values():
                slide.close()
            self._slides.clear()
            self._tissue.clear()
