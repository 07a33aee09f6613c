"""``smartpath experts``: list, check against real sockets, and the vllm serve command."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from tests.test_cli import run
from tests.test_client import free_port

pytestmark = pytest.mark.slow


def experts_file(home: Path, url: str, *, required: bool) -> Path:
    path = home / "experts.toml"
    path.write_text(f"""
base_model = "Qwen/Qwen2.5-VL-7B-Instruct"
max_lora_rank = 32

[servers]
gpu = "{url}"

[[experts]]
name = "roi-classifier"
task = "roi_classify"
backend = "openai"
server = "gpu"
model = "roi-cls"
adapter_path = "/models/lora/roi cls"
labels = ["tumor", "stroma"]
required = {str(required).lower()}

[[experts]]
name = "nuclei"
task = "detect"
backend = "cpu"
implementation = "nuclei_watershed"
""")
    return path


def test_list(home: Path) -> None:
    path = experts_file(home, "http://127.0.0.1:9/v1", required=False)
    proc = run(home, "experts", "list", "--json", SMARTPATH_EXPERTS_FILE=str(path))
    assert proc.returncode == 0
    assert [e["name"] for e in json.loads(proc.stdout)] == ["roi-classifier", "nuclei"]


def test_check_names_what_is_down_and_exits_3_when_required(home: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    optional = experts_file(home, url, required=False)
    proc = run(home, "experts", "check", "--json", SMARTPATH_EXPERTS_FILE=str(optional))
    assert proc.returncode == 0
    status = {s["name"]: s for s in json.loads(proc.stdout)}
    assert status["nuclei"]["ok"]
    assert not status["roi-classifier"]["ok"]
    assert "unreachable" in status["roi-classifier"]["detail"]
    required = experts_file(home, url, required=True)
    proc = run(home, "experts", "check", SMARTPATH_EXPERTS_FILE=str(required))
    assert proc.returncode == 3
    assert proc.stderr == "error: required expert(s) unavailable: roi-classifier\n"
    assert "MISSING (required)" in proc.stdout


def test_serve_prints_the_vllm_command(home: Path) -> None:
    path = experts_file(home, "http://127.0.0.1:9/v1", required=False)
    proc = run(home, "experts", "serve", "--port", "8123", SMARTPATH_EXPERTS_FILE=str(path))
    assert proc.returncode == 0
    experts_line, planner_comment, planner_line = proc.stdout.splitlines()
    assert planner_comment == (
        "# LLM planner (SMARTPATH_PLANNER_URL=http://127.0.0.1:8124/v1 "
        "SMARTPATH_PLANNER_MODEL=Qwen/Qwen2.5-VL-7B-Instruct):"
    )
    assert shlex.split(planner_line) == [
        "vllm",
        "serve",
        "Qwen/Qwen2.5-VL-7B-Instruct",
        "--host",
        "127.0.0.1",
        "--port",
        "8124",
        "--enable-auto-tool-choice",
        "--tool-call-parser",
        "hermes",
    ]
    assert shlex.split(experts_line) == [
        "vllm",
        "serve",
        "Qwen/Qwen2.5-VL-7B-Instruct",
        "--host",
        "127.0.0.1",
        "--port",
        "8123",
        "--enable-lora",
        "--lora-modules",
        "roi-cls=/models/lora/roi cls",
        "--max-loras",
        "1",
        "--max-lora-rank",
        "32",
        "--limit-mm-per-prompt",
        '{"image": 4}',
    ]
    proc = run(
        home, "experts", "serve", "--run", SMARTPATH_EXPERTS_FILE=str(path), PATH="/nonexistent"
    )
    assert proc.returncode == 3
    assert proc.stderr.startswith("error: vllm is not on PATH")
