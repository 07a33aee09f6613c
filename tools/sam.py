"""Segment-anything from a local checkpoint: box prompts in, one mask per box out.

torch and segment_anything are imported when a model is loaded, so importing this is cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["SAM_VARIANTS", "SamSegmenter", "load_sam"]

SAM_VARIANTS: dict[str, tuple[int, int, int, list[int]]] = {
    "vit_b": (768, 12, 12, [2, 5, 8, 11]),
    "vit_l": (1024, 24, 16, [5, 11, 17, 23]),
    "vit_h": (1280, 32, 16, [7, 15, 23, 31]),
}
"""Image-encoder (embed_dim, depth, num_heads, global_attn_indexes) of the released models."""


class SamSegmenter:
    """A loaded SAM predictor."""

    def __init__(self, predictor: Any) -> None:
        self._predictor = predictor

    def masks(self, rgb: np.ndarray, boxes: Sequence[Sequence[float]]) -> np.ndarray:
        """Boolean masks [N, H, W] for ``boxes`` (x0, y0, x1, y1 in image pixels of ``rgb``)."""
        import torch

        if not boxes:
            return np.zeros((0, *rgb.shape[:2]), dtype=bool)
        predictor = self._predictor
        predictor.set_image(np.ascontiguousarray(rgb[..., :3]))
        prompts = predictor.transform.apply_boxes_torch(
            torch.tensor(boxes, dtype=torch.float32), rgb.shape[:2]
        )
        with torch.inference_mode():
            masks, _, _ = predictor.predict_torch(
                point_coords=None, point_labels=None, boxes=prompts, multimask_output=False
            )
        return masks[:, 0].numpy().astype(bool)


def load_sam(variant: str | dict[str, Any], checkpoint: Path) -> SamSegmenter:
    """Build SAM for ``variant`` (a released name or encoder dimensions) and load its weights.

    Raises:
        FileNotFoundError: no checkpoint file.
        ValueError: an unknown variant name.
        RuntimeError: the checkpoint does not fit the variant.
    """
    import torch
    from segment_anything import SamPredictor
    from segment_anything.build_sam import _build_sam

    if not checkpoint.is_file():
        raise FileNotFoundError(checkpoint)
    if isinstance(variant, str):
        if variant not in SAM_VARIANTS:
            msg = f"unknown SAM variant {variant!r}; one of {', '.join(SAM_VARIANTS)}"
            raise ValueError(msg)
        dims = SAM_VARIANTS[variant]
    else:
        dims = (
            variant["embed_dim"],
            variant["depth"],
            variant["num_heads"],
            list(variant["global_attn_indexes"]),
        )
    sam = _build_sam(*dims, checkpoint=None)
    sam.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))
    sam.eval()
    return SamSegmenter(SamPredictor(sam))
