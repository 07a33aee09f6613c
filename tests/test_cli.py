"""The ``smartpath`` command as scripts use it: real processes, real slides, exit codes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]

SMARTPATH = str(Path(sys.executable).with_name("smartpath"))


def run(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SMARTPATH_")}
    environ.update(SMARTPATH_HOME=str(home), **env)
    return subprocess.run(
        [SMARTPATH, *args], capture_output=True, text=True, env=environ, timeout=300, check=False
    )


def ask_json(home: Path, slide: Path, question: str, case: str) -> dict[str, Any]:
    proc = run(home, "ask", str(slide), question, "--case", case, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_must_hold_sequence_on_the_sample_across_processes(home: Path, cmu_slide: Path) -> None:
    questions = [
        "What is the size of this slide, its magnification and its resolution?",
        "What fraction of the slide is tissue?",
        "Zoom to the largest tissue region at 20x",
        "zoom out to 5x around the same region",
    ]
    results = [ask_json(home, cmu_slide, q, "sample-case") for q in questions]
    for n, r in enumerate(results, 1):
        assert r["case_id"] == "sample-case"
        assert r["turn"] == n
        assert r["verification"]["status"] == "verified"
        assert r["chain"]
        assert all(s["verified"] for s in r["chain"])
        assert {"id", "kind", "text", "evidence", "verified"} <= set(r["chain"][0])
        assert {"id", "tool", "ok", "summary", "output"} <= set(r["evidence"][0])
        assert {"total_s", "tools_s", "kg_s", "agent_s", "node_act_s"} <= set(r["timings"])
    assert "0.499 µm/px" in results[0]["answer"]
    zoom_in, zoom_out = results[2]["evidence"][0]["output"], results[3]["evidence"][0]["output"]
    assert (zoom_in["magnification"], zoom_out["magnification"]) == (20, 5)
    assert zoom_out["roi_number"] == 1
    assert all(Path(p).is_file() for p in results[3]["artifacts"])
    listing = json.loads(run(home, "cases", "list", "--json").stdout)
    assert [(c["case_id"], c["turns"]) for c in listing] == [("sample-case", 4)]
    shown = run(home, "cases", "show", "sample-case")
    assert shown.returncode == 0
    assert "region 2" in shown.stdout
    assert "zoom out to 5x" in shown.stdout
    human = run(home, "ask", str(cmu_slide), "go back to the first region", "--case", "sample-case")
    assert human.returncode == 0
    assert "Reasoning chain (verification: verified" in human.stdout
    assert "region #1" in human.stdout


@pytest.mark.parametrize(
    "relpath",
    [
        "wsi/tcga-cr-7395-01a-01-ts1.svs",
        "wsi_fixtures_openslide/boxes.tiff",
        "wsi_fixtures_openslide/boxes_0.dcm",
        "wsi/kidney-48-5.tif",
    ],
)
def test_same_questions_on_other_formats(home: Path, shared_data: Path, relpath: str) -> None:
    slide = shared_data / relpath
    r = ask_json(
        home, slide, "What is the size, magnification and resolution? How much tissue?", "other"
    )
    assert r["verification"]["status"] == "verified"
    info = next(e for e in r["evidence"] if e["tool"] == "slide_info")["output"]
    if info["mpp_x"] is None:
        assert "resolution unknown" in r["answer"]
    else:
        assert f"{info['mpp_x']:g}"[:5] in r["answer"]
    if info["objective_power"] is None:
        assert "magnification unknown" in r["answer"]
    proc = run(
        home,
        "ask",
        str(slide),
        "zoom to the largest tissue region at 20x",
        "--case",
        "other",
        "--json",
    )
    zoom = json.loads(proc.stdout)
    if proc.returncode == 2:  # a synthetic fixture without tissue: said so, no crash
        assert "no tissue" in zoom["answer"]
    else:
        assert proc.returncode == 0
    # a refusal of an impossible request answers it: verified, as the answer is
    assert zoom["verification"]["status"] == "verified"


@pytest.fixture
def bad_files(tmp_path: Path, cmu_slide: Path, shared_data: Path) -> dict[str, Path]:
    empty = tmp_path / "empty.svs"
    empty.write_bytes(b"")
    noise = tmp_path / "noise.svs"
    noise.write_bytes(os.urandom(64 * 1024))
    truncated = tmp_path / "truncated.svs"
    truncated.write_bytes(cmu_slide.read_bytes()[: 300 * 1024])
    fixtures = shared_data / "wsi_fixtures_openslide"
    return {
        "empty": empty,
        "noise": noise,
        "truncated": truncated,
        "unopenable": fixtures / "unopenable.tiff",
        "missing": tmp_path / "nope.svs",
        "directory": tmp_path,
    }


def test_bad_input_is_one_line_exit_2_and_the_case_stays(
    home: Path, cmu_slide: Path, bad_files: dict[str, Path], shared_data: Path
) -> None:
    ask_json(home, cmu_slide, "What is the tissue fraction?", "keep")
    for name, path in bad_files.items():
        proc = run(home, "ask", str(path), "What is the size?", "--case", "keep")
        assert proc.returncode == 2, (name, proc.stderr)
        assert proc.stderr.count("\n") == 1, name
        assert proc.stderr.startswith("error: "), name
        assert "Traceback" not in proc.stderr + proc.stdout
    for question, env in [
        ("zoom to (99999, 99999) at 20x", {}),
        (
            "show the region from (0, 0) to (2000, 2000) at 20x",
            {"SMARTPATH_MAX_REGION_PIXELS": "1000000"},
        ),
    ]:
        proc = run(home, "ask", str(cmu_slide), question, "--case", "keep", **env)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith("error: ")
        assert "Traceback" not in proc.stderr
    unreadable = shared_data / "wsi_fixtures_openslide" / "unreadable.svs"
    proc = run(home, "ask", str(unreadable), "show the whole slide", "--case", "keep")
    assert proc.returncode == 2
    assert "Bogus marker length" in proc.stderr
    with sqlite3.connect(home / "cases.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    shown = json.loads(run(home, "cases", "show", "keep", "--json").stdout)
    assert [f["turn"] for f in shown["findings"]] == [1, 2, 3, 4]
    assert shown["findings"][0]["status"] == "verified"


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["ask"], {}),
        (["ask", "x.svs", "q", "--case", "../etc"], {}),
        (["cases", "show", "no-such-case"], {}),
        (["cases", "list"], {"SMARTPATH_MAX_REGION_PIXELS": "lots"}),
        (["frobnicate"], {}),
    ],
)
def test_bad_arguments(home: Path, args: list[str], env: dict[str, str]) -> None:
    proc = run(home, *args, **env)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ")
    assert proc.stderr.count("\n") == 1


def test_kill_during_a_turn_keeps_the_case(home: Path, cmu_slide: Path, shared_data: Path) -> None:
    ask_json(home, cmu_slide, "Zoom to the largest tissue region at 20x", "killed")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SMARTPATH_")}
    environ["SMARTPATH_HOME"] = str(home)
    slide = shared_data / "wsi" / "tcga-cr-7395-01a-01-ts1.svs"
    proc = subprocess.Popen(
        [
            SMARTPATH,
            "ask",
            str(slide),
            "How much tissue? Show the whole slide.",
            "--case",
            "killed",
        ],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    audit = home / "audit" / "killed.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and audit.read_text().count('"kind": "request"') < 2:
        time.sleep(0.02)  # wait until the second turn is inside the graph
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    with sqlite3.connect(home / "cases.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    after = ask_json(home, cmu_slide, "go back to the first region", "killed")
    assert after["evidence"][0]["output"]["roi_number"] == 1
    shown = json.loads(run(home, "cases", "show", "killed", "--json").stdout)
    assert shown["findings"][0]["request"] == "Zoom to the largest tissue region at 20x"
    assert shown["findings"][-1]["request"] == "go back to the first region"
