"""CPU expert implementations by the key an experts file names in ``implementation``."""

from __future__ import annotations

from collections.abc import Callable

from tools.nuclei import NucleiResult, detect_nuclei

__all__ = ["CPU_DETECTORS"]

CPU_DETECTORS: dict[str, Callable[..., NucleiResult]] = {"nuclei_watershed": detect_nuclei}
"""Detectors: ``fn(rgb, *, mpp) -> NucleiResult``."""
