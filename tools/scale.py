"""Scale resolution: level, µm/px or magnification → level-0 pixels per output pixel."""

from __future__ import annotations

from core.errors import RegionError, ToolInputError
from core.labels import quoted_label
from tools.types import SlideMetadata

__all__ = ["UPSAMPLE_TOLERANCE", "downsample_for"]

UPSAMPLE_TOLERANCE = 0.01


def downsample_for(
    meta: SlideMetadata,
    *,
    level: int | None = None,
    mpp: float | None = None,
    magnification: float | None = None,
    downsample: float | None = None,
) -> float:
    """Level-0 pixels per output pixel for at most one of the four scale parameters.

    None of them means level 0. Never upsamples: a scale finer than level 0 is refused.

    Raises:
        ToolInputError: several given, a non-positive value, or the slide records no µm/px
            (for ``mpp``) or objective power (for ``magnification``).
        RegionError: the level does not exist, or the request would upsample level 0.
    """
    given = {
        name: v
        for name, v in (
            ("level", level),
            ("mpp", mpp),
            ("magnification", magnification),
            ("downsample", downsample),
        )
        if v is not None
    }
    if len(given) > 1:
        msg = f"give at most one of level, mpp, magnification, downsample (got {', '.join(given)})"
        raise ToolInputError(msg)
    if level is not None:
        if not 0 <= level < meta.level_count:
            msg = f"level {level} does not exist; valid levels: 0..{meta.level_count - 1}"
            raise RegionError(msg)
        return meta.levels[level].downsample
    for name, value in given.items():
        if value <= 0:
            msg = f"{name} must be positive, got {value:g}"
            raise ToolInputError(msg)
    if mpp is not None:
        if meta.mpp_x is None:
            msg = (
                f"the slide {quoted_label(meta.name)} records no µm/px; "
                "ask for a level or magnification instead"
            )
            raise ToolInputError(msg)
        return _no_upsampling(
            mpp / meta.mpp_x, f"{mpp:g} µm/px is finer than the scan's {meta.mpp_x:g} µm/px"
        )
    if magnification is not None:
        if meta.objective_power is None:
            msg = (
                f"the slide {quoted_label(meta.name)} records no objective power; "
                "ask for a level or mpp instead"
            )
            raise ToolInputError(msg)
        return _no_upsampling(
            meta.objective_power / magnification,
            f"{magnification:g}x exceeds the scan's {meta.objective_power:g}x",
        )
    if downsample is not None:
        return _no_upsampling(downsample, f"downsample {downsample:g} would upsample level 0")
    return 1.0


def _no_upsampling(downsample: float, message: str) -> float:
    if downsample < 1 - UPSAMPLE_TOLERANCE:
        raise RegionError(message)
    return max(downsample, 1.0)
