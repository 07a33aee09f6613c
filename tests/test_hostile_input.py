"""Hostile input to the ``smartpath`` command: one line on stderr, exit 2, never a traceback.

Real processes on real slides. Most requests run under the rules planner (the same argument
grammar as the meaning-based planner, without loading its embedding model); one runs under the
default planner. The 200000² slide and more numbers are covered without processes in
tests/test_pixel_budget.py and tests/test_intents.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from core.text import clean_text, terminal_safe
from tests.conftest import SHARED_DATA
from tests.fixtures.slides import write_declared_tiff

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]

SMARTPATH = str(Path(sys.executable).with_name("smartpath"))
CMU = SHARED_DATA / "wsi" / "CMU-1-Small-Region.svs"
RULES = {"SMARTPATH_PLANNER": "rules"}
ODD_QUESTION = os.fsdecode(b"what is the size \xff\x1b[2J\x07?")
"""A question with a byte that is not UTF-8, an ESC sequence (clear screen) and a bell."""
STORED_QUESTION = "what is the size \\xff[2J?"


def run(home: Path, *args: str | bytes, **env: str) -> subprocess.CompletedProcess[bytes]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SMARTPATH_")}
    environ.update(SMARTPATH_HOME=str(home), **env)
    return subprocess.run(
        [SMARTPATH, *args], capture_output=True, env=environ, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def case_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with case ``odd``, asked once with ``ODD_QUESTION``."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    home = tmp_path_factory.mktemp("hostile-home")
    proc = run(home, "ask", str(CMU), ODD_QUESTION, "--case", "odd", **RULES)
    assert proc.returncode == 0, proc.stderr
    return home


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | bytes]:
    """Hostile files: a non-UTF-8 name, a symlink loop, a huge declared slide, a cut SVS."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    folder = tmp_path_factory.mktemp("hostile-files")
    odd_name = os.fsencode(folder) + b"/slide-\xff\xfe.svs"
    shutil.copyfile(CMU, odd_name)
    loop = folder / "loop.svs"
    loop.symlink_to(loop)
    cut = folder / "tail-cut.svs"
    cut.write_bytes(CMU.read_bytes()[: -5 * 1024])
    return {
        "odd_name": odd_name,
        "loop": loop,
        "cut": cut,
        "declared_40000": write_declared_tiff(folder / "d40000.tiff", 40_000, 40_000),
        "folder": folder,
    }


Files = dict[str, Path | bytes]


def ask(slide: Path | bytes, question: str, case: str = "hostile") -> Callable[[Files], list]:
    return lambda f: ["ask", slide, question, "--case", case]


def ask_file(key: str, question: str) -> Callable[[Files], list]:
    return lambda f: ["ask", f[key], question, "--case", "hostile"]


BAD_INPUTS: dict[str, tuple[Callable[[Files], list], str]] = {
    "non-UTF-8 file name": (ask_file("odd_name", "what is the size?"), "not valid UTF-8"),
    "symlink loop": (ask_file("loop", "what is the size?"), "loop"),
    "slide cut short": (ask_file("cut", "what is the size?"), "truncated"),
    "40000² one-level TIFF": (
        ask_file("declared_40000", "how much tissue is there?"),
        "SMARTPATH_MAX_DECODE_PIXELS",
    ),
    "level beyond 64 bits": (
        ask(CMU, "zoom to (1000, 1000) at level 99999999999999999999"),
        "level 99999999999999999999 is outside the range 0 to 64",
    ),
    "400-digit coordinate": (ask(CMU, f"zoom to ({'9' * 400}, 100) at 20x"), "coordinate"),
    "0x0 px size": (ask(CMU, "show 0x0 px around (1000, 1000)"), "size 0 is outside"),
    "1e308 point": (ask(CMU, "zoom to (1e308, 1e308) at 20x"), "coordinate 1e308 is outside"),
    "box with 1e400": (ask(CMU, "detect nuclei in [0, 0, 1e400, 100]"), "coordinate 1e400"),
    "case id with a newline": (ask(CMU, "what is the size?", "odd\n"), "invalid case id"),
    "export to a folder": (
        lambda f: ["cases", "export", "odd", "--markdown", f["folder"]],
        "is a folder",
    ),
    "GeoJSON to a place that cannot be written": (
        lambda f: ["cases", "export", "odd", "--geojson", "/proc/smartpath.geojson"],
        "cannot write the GeoJSON",
    ),
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_is_one_line_and_exit_2(case_home: Path, files: Files, name: str) -> None:
    build, expected = BAD_INPUTS[name]
    proc = run(case_home, *build(files), **RULES)
    stderr = proc.stderr.decode("utf-8")  # the line itself is valid UTF-8
    assert proc.returncode == 2, stderr
    assert stderr.startswith("error: ")
    assert stderr.count("\n") == 1, stderr
    assert "Traceback" not in stderr + proc.stdout.decode("utf-8", "replace")
    assert expected in stderr


def test_nan_is_refused_by_the_default_planner_too(case_home: Path) -> None:
    proc = run(case_home, "ask", str(CMU), "zoom to (NaN, NaN) at 20x", "--case", "nan")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.decode() == "error: coordinate nan is not a number\n"


def test_an_odd_question_is_stored_safely_and_the_index_agrees(case_home: Path) -> None:
    shown = json.loads(run(case_home, "cases", "show", "odd", "--json").stdout)
    assert [f["request"] for f in shown["findings"]] == [STORED_QUESTION]
    listed = json.loads(run(case_home, "cases", "list", "--json").stdout)
    assert [c["last_request"] for c in listed if c["case_id"] == "odd"] == [STORED_QUESTION]
    human = run(case_home, "cases", "show", "odd")
    assert human.returncode == 0
    assert b"\x1b" not in human.stdout
    assert b"\x07" not in human.stdout
    assert f"Q: {STORED_QUESTION}".encode() in human.stdout


def test_text_is_cleaned_for_storage_and_escaped_for_the_terminal() -> None:
    raw = "a\x00b\x1b[31mc\td\ne\x7f\x9b" + os.fsdecode(b"\xff")
    assert clean_text(raw) == "ab[31mc\td\ne\\xff"
    assert terminal_safe(raw) == "a\\x00b\\x1b[31mc\td\ne\\x7f\\x9b\\xff"
    assert clean_text("plain text, µm/px × 2") == "plain text, µm/px × 2"
