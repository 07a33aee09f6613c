"""Start-up: what ``smartpath --help`` and a metadata question import, in real processes.

A fresh interpreter runs ``app.main.main`` (as the ``smartpath`` script does) and then writes
the names of every module it loaded; the heavy libraries must not be among them. The timings
themselves are ``benchmarks/bench_startup.py``'s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("torch", "torchvision", "transformers", "timm", "chromadb", "gradio")
"""Libraries a metadata question never needs (the sentence encoder runs on NumPy)."""
ALSO_LAZY = ("sentence_transformers", "sklearn", "scipy", "skimage", "cv2")
"""Loaded only by the work that needs them (KG builds, image analyses)."""

_RUN_AND_LIST = """
import json, sys
from app.main import main
out, argv = sys.argv[1], sys.argv[2:]
try:
    code = main(argv)
except SystemExit as exc:  # argparse's --help
    code = exc.code
with open(out, "w") as handle:
    json.dump({"code": code, "modules": sorted(sys.modules)}, handle)
"""


def _run(home: Path, tmp_path: Path, *args: str) -> tuple[dict[str, object], str]:
    """Run the command line in a new interpreter; return its code, its modules, its stdout."""
    out = tmp_path / "modules.json"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SMARTPATH_")}
    environ["SMARTPATH_HOME"] = str(home)
    proc = subprocess.run(
        [sys.executable, "-c", _RUN_AND_LIST, str(out), *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=600,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert out.is_file(), proc.stderr
    return json.loads(out.read_text()), proc.stdout


def _loaded(modules: object, names: tuple[str, ...]) -> list[str]:
    assert isinstance(modules, list)
    return [n for n in names if n in modules]


def test_help_imports_no_agent_model_or_store(home: Path, tmp_path: Path) -> None:
    result, stdout = _run(home, tmp_path, "--help")
    assert result["code"] == 0
    assert "ask" in stdout
    assert _loaded(result["modules"], HEAVY + ALSO_LAZY) == []
    # no agent machinery either: the parser alone
    assert _loaded(result["modules"], ("langgraph", "app.runner", "pydantic_settings")) == []


@pytest.mark.shared_data
@pytest.mark.slow
def test_metadata_question_imports_no_model_or_store(
    home: Path, tmp_path: Path, cmu_slide: Path
) -> None:
    question = "what is the mpp of this slide?"
    result, stdout = _run(home, tmp_path, "ask", str(cmu_slide), question, "--json")
    assert result["code"] == 0
    turn = json.loads(stdout)
    assert "0.499 µm/px" in turn["answer"]
    assert turn["plan"]["planner"] == "semantic"  # the request was embedded and matched
    assert _loaded(result["modules"], HEAVY + ALSO_LAZY) == []
    assert not (home / "kg").exists()  # no knowledge graph was asked for: none was opened
    assert list((home / "cache").glob("planner-*.npz"))  # the next process reads the examples


def test_lazy_module_imports_on_first_attribute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.lazy_import import lazy_module

    (tmp_path / "startup_probe_mod.py").write_text("VALUE = 41 + 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "startup_probe_mod", raising=False)
    probe = lazy_module("startup_probe_mod")
    assert "startup_probe_mod" not in sys.modules
    assert probe.VALUE == 42
    assert "startup_probe_mod" in sys.modules
    missing = lazy_module("startup_no_such_module")
    with pytest.raises(ModuleNotFoundError):
        _ = missing.anything
