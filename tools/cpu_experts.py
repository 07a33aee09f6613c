"""CPU expert implementations by the key an experts file names in ``implementation``."""

from __future__ import annotations

from collections.abc import Callable

from tools.nuclei import NucleiResult, detect_nuclei
from tools.segmentation import segment_image

__all__ = ["CPU_DETECTORS", "CPU_SEGMENTERS"]

CPU_DETECTORS: dict[str, Callable[..., NucleiResult]] = {"nuclei_watershed": detect_nuclei}
"""Detectors: ``fn(rgb, *, mpp) -> NucleiResult``."""

CPU_SEGMENTERS: dict[str, Callable[..., object]] = {"classical_segmentation": segment_image}
"""Segmenters: ``fn(rgb, what, *, mpp) -> (labels, segments)``."""
