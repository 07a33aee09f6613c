"""CPU expert implementations by the key an experts file names in ``implementation``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tools.experts import ExpertSpec
from tools.nuclei import NucleiResult, detect_nuclei
from tools.segmentation import segment_image

__all__ = [
    "CPU_DETECTORS",
    "CPU_IMPLEMENTATIONS",
    "CPU_SEGMENTERS",
    "MIL_IMPLEMENTATION",
    "SAM_IMPLEMENTATION",
    "cpu_problem",
]

CPU_DETECTORS: dict[str, Callable[..., NucleiResult]] = {"nuclei_watershed": detect_nuclei}
"""Detectors: ``fn(rgb, *, mpp) -> NucleiResult``."""

CPU_SEGMENTERS: dict[str, Callable[..., object]] = {"classical_segmentation": segment_image}
"""Segmenters: ``fn(rgb, what, *, mpp) -> (labels, segments)``."""

MIL_IMPLEMENTATION = "attention_mil"
"""Slide classifier: timm tile encoder + attention-MIL head, from local checkpoints."""

SAM_IMPLEMENTATION = "sam"
"""Segmenter: segment-anything from a local checkpoint, prompted by the classical boxes."""

CPU_IMPLEMENTATIONS = (
    frozenset(CPU_DETECTORS) | frozenset(CPU_SEGMENTERS) | {MIL_IMPLEMENTATION, SAM_IMPLEMENTATION}
)


def cpu_problem(expert: ExpertSpec) -> str | None:
    """Why a ``cpu`` expert cannot run here (one line naming the setting), or None."""
    if expert.implementation not in CPU_IMPLEMENTATIONS:
        return f"no cpu implementation {expert.implementation!r}"
    if expert.implementation == MIL_IMPLEMENTATION:
        if not expert.encoder:
            return f"expert {expert.name}: set 'encoder' (a timm model name) in the experts file"
        for key in ("encoder_checkpoint", "head_checkpoint"):
            value = getattr(expert, key)
            if not value or not Path(value).is_file():
                where = f"{value} does not exist" if value else "is not set"
                return f"expert {expert.name}: '{key}' {where}; set it in the experts file"
    if expert.implementation == SAM_IMPLEMENTATION:
        if not (expert.sam_variant or expert.sam_encoder):
            return f"expert {expert.name}: set 'sam_variant' (vit_b, vit_l or vit_h)"
        value = expert.sam_checkpoint
        if not value or not Path(value).is_file():
            where = f"{value} does not exist" if value else "is not set"
            return f"expert {expert.name}: 'sam_checkpoint' {where}; set it in the experts file"
    return None
