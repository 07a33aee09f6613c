"""Hostile input to the ``smartpath`` command: one line on stderr, exit 2, never a traceback.

Real processes on real slides. Most requests run under the rules planner (the same argument
grammar as the meaning-based planner, without loading its embedding model); one runs under the
default planner. Hostile files that the slide layer refuses before any question is planned are
opened in-process (``Slide.open``), which is what the command does first. The 200000² slide and
more numbers are covered without processes in tests/test_pixel_budget.py and
tests/test_intents.py; benchmarks/probe_bad_input.py runs the wider battery.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tifffile

from agent.intents import parse_request, region_request
from agent.review_intents import region_refs
from core.errors import SlideOpenError
from core.text import clean_text, terminal_safe
from tests.conftest import REPO_ROOT, SHARED_DATA
from tests.fixtures.slides import paint_synthetic, write_declared_tiff
from tools.pixel_budget import PixelBudget
from tools.slide import Slide

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]

SMARTPATH = str(Path(sys.executable).with_name("smartpath"))
CMU = SHARED_DATA / "wsi" / "CMU-1-Small-Region.svs"
RULES = {"SMARTPATH_PLANNER": "rules"}
ODD_QUESTION = os.fsdecode(b"what is the size \xff\x1b[2J\x07") + "\u202e?"
"""A question with a byte that is not UTF-8, an ESC sequence (clear screen), a bell and a
right-to-left override (which reorders what a terminal shows after it)."""
STORED_QUESTION = "what is the size \\xff[2J\u202e?"
SHOWN_QUESTION = "what is the size \\xff[2J\\u202e?"


NO_FILE_OVERRIDE = [
    "setpriv",
    "--inh-caps=-dac_override,-dac_read_search",
    "--bounding-set=-dac_override,-dac_read_search",
]
"""Run a command as root without the capabilities that read any file whatever its mode."""


def run(
    home: Path, *args: str | bytes, as_owner_only: bool = False, **env: str
) -> subprocess.CompletedProcess[bytes]:
    """Run ``smartpath`` on this checkout's code; ``as_owner_only``: root held to file modes."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SMARTPATH_")}
    environ.update(SMARTPATH_HOME=str(home), PYTHONPATH=str(REPO_ROOT), **env)
    prefix = NO_FILE_OVERRIDE if as_owner_only and os.geteuid() == 0 else []
    return subprocess.run(
        [*prefix, SMARTPATH, *args], capture_output=True, env=environ, timeout=300, check=False
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


def ask(slide: Path | str, question: str, case: str = "hostile") -> Callable[[Files], list]:
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
    "empty case id": (ask(CMU, "what is the size?", ""), "invalid case id ''"),
    "a URL for the slide": (
        ask("http://example.org/CMU-1.svs", "what is the size?"),
        "http:// addresses are not read",
    ),
    "empty slide argument": (ask("", "what is the size?"), "no slide file given"),
    "tissue region 0": (
        ask(CMU, "count the nuclei in tissue region 0"),
        "tissue region 0 does not exist: tissue regions are numbered from 1, the largest",
    ),
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
    assert "\u202e".encode() not in human.stdout
    assert f"Q: {SHOWN_QUESTION}".encode() in human.stdout


def test_text_is_cleaned_for_storage_and_escaped_for_the_terminal() -> None:
    raw = "a\x00b\x1b[31mc\td\ne\x7f\x9b" + os.fsdecode(b"\xff")
    assert clean_text(raw) == "ab[31mc\td\ne\\xff"
    assert terminal_safe(raw) == "a\\x00b\\x1b[31mc\td\ne\\x7f\\x9b\\xff"
    assert clean_text("plain text, µm/px × 2") == "plain text, µm/px × 2"
    assert terminal_safe("a\u202eb\u2066c\u200fd") == "a\\u202eb\\u2066c\\u200fd"
    assert clean_text("a\u202eb") == "a\u202eb"  # stored as given, escaped when shown


def _first_directory(data: bytes) -> int:
    return struct.unpack("<I", data[4:8])[0]


def _entry(data: bytes, ifd: int, tag: int) -> int:
    """Byte offset of ``tag``'s 12-byte entry in the classic little-endian directory at ``ifd``."""
    count = struct.unpack("<H", data[ifd : ifd + 2])[0]
    return next(
        ifd + 2 + 12 * i
        for i in range(count)
        if struct.unpack("<H", data[ifd + 2 + 12 * i : ifd + 4 + 12 * i])[0] == tag
    )


def _patched(data: bytes, at: int, new: bytes) -> bytes:
    return data[:at] + new + data[at + len(new) :]


def _header_cut(folder: Path, data: bytes) -> Path:
    path = folder / "header-cut.svs"
    path.write_bytes(data[:4])
    return path


def _directory_loop(folder: Path, data: bytes) -> Path:
    ifd = _first_directory(data)
    count = struct.unpack("<H", data[ifd : ifd + 2])[0]
    path = folder / "loop.svs"
    path.write_bytes(_patched(data, ifd + 2 + 12 * count, struct.pack("<I", ifd)))
    return path


def _width_garbled(folder: Path, data: bytes) -> Path:
    at = _entry(data, _first_directory(data), 256) + 8  # ImageWidth, a SHORT: 2220
    path = folder / "wide.svs"
    path.write_bytes(_patched(data, at, struct.pack("<H", 10240)))
    return path


def _fifo(folder: Path, data: bytes) -> Path:
    os.mkfifo(folder / "pipe.svs")
    return folder / "pipe.svs"


def _device(folder: Path, data: bytes) -> Path:
    (folder / "zero.svs").symlink_to("/dev/zero")
    return folder / "zero.svs"


def _long_path(folder: Path, data: bytes) -> Path:
    deep = folder
    while len(str(deep)) <= 4096:
        deep /= "d" * 200
    return deep / "slide.svs"


HOSTILE_FILES: dict[str, tuple[Callable[[Path, bytes], Path], str]] = {
    "TIFF header cut at 4 bytes": (_header_cut, "the TIFF header lies at bytes 0-8"),
    "directory chain looping to itself": (_directory_loop, "directory 2 is directory 1 again"),
    "width garbled beyond its tiles": (
        _width_garbled,
        "declares 10240×2967 pixels in 240×240 tiles, which takes 559 blocks, but lists 130",
    ),
    "FIFO named like a slide": (_fifo, "is a FIFO (named pipe), not a slide file"),
    "link to /dev/zero": (_device, "is a character device, not a slide file"),
    "path over 4096 characters": (_long_path, "characters): File name too long"),
}


@pytest.mark.parametrize("name", list(HOSTILE_FILES))
def test_a_hostile_file_is_refused_in_one_short_line(tmp_path: Path, name: str) -> None:
    build, expected = HOSTILE_FILES[name]
    path = build(tmp_path, CMU.read_bytes())
    with pytest.raises(SlideOpenError) as caught:
        Slide.open(path)
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message
    assert len(message) < 400, message


def test_an_unreadable_file_is_refused_by_name(tmp_path: Path) -> None:
    """chmod 000 (root reads any file: then the command runs without that capability)."""
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("running as root, and setpriv (util-linux) is absent to drop file override")
    slide = tmp_path / "locked.svs"
    shutil.copyfile(CMU, slide)
    slide.chmod(0)
    proc = run(
        tmp_path / "home", "ask", str(slide), "what is the size?", as_owner_only=True, **RULES
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.decode() == f"error: cannot read {slide}: Permission denied\n"


SYNTHETIC_RGB = np.ascontiguousarray(paint_synthetic(96, 64)[0][..., :3])
GRAY = SYNTHETIC_RGB[..., 0]


def _layouts() -> dict[str, tuple[np.ndarray, dict[str, str], np.ndarray]]:
    """Plain TIFF samples → (array written, its photometric, the RGB the slide layer gives)."""
    gray_rgb = np.repeat(GRAY[..., None], 3, axis=2)
    return {
        "16-bit RGB": (
            SYNTHETIC_RGB.astype(np.uint16) * 257,
            {"photometric": "rgb"},
            SYNTHETIC_RGB,
        ),
        "float32 RGB in 0-1": (
            SYNTHETIC_RGB.astype(np.float32) / 255,
            {"photometric": "rgb"},
            SYNTHETIC_RGB,
        ),
        "gray + alpha": (
            np.stack([GRAY, np.full_like(GRAY, 255)], axis=2),
            {"photometric": "minisblack", "planarconfig": "contig"},
            gray_rgb,
        ),
        "1-bit": (GRAY < 255, {"photometric": "miniswhite"}, np.where(gray_rgb < 255, 0, 255)),
    }


@pytest.mark.parametrize("layout", list(_layouts()))
def test_a_plain_tiff_in_another_sample_layout_is_read_as_8_bit_rgb(
    tmp_path: Path, layout: str
) -> None:
    array, options, expected = _layouts()[layout]
    path = tmp_path / "layout.tiff"
    tifffile.imwrite(path, array, **options)
    with Slide.open(path) as slide:
        image, _ = slide.thumbnail(128)
    assert image.dtype == np.uint8
    np.testing.assert_array_equal(image, expected.astype(np.uint8))


def test_float_samples_that_are_not_finite_are_refused(tmp_path: Path) -> None:
    pixels = SYNTHETIC_RGB.astype(np.float32) / 255
    pixels[3, 4, 1] = np.nan
    path = tmp_path / "nan.tiff"
    tifffile.imwrite(path, pixels, photometric="rgb")
    with pytest.raises(SlideOpenError, match="samples are negative, NaN or infinite"):
        Slide.open(path)


def test_wide_samples_are_held_to_the_bytes_of_an_8_bit_image(tmp_path: Path) -> None:
    """64×64 float64 RGB passes a 4096-pixel limit in pixels but takes 6× its RGBA bytes."""
    path = tmp_path / "wide.tiff"
    tifffile.imwrite(path, np.ones((64, 64, 3)), photometric="rgb")
    with pytest.raises(SlideOpenError, match="98304 bytes decoded, over the 16384 byte limit"):
        Slide.open(path, PixelBudget(image_pixels=64 * 64))


def test_a_scale_with_an_exponent_is_read_whole() -> None:
    """1e999x is refused (not read as 999x); 1e-320 µm/px is 1e-320 (not 320)."""
    assert parse_request("zoom to (1000, 1000) at 1e999x").zoom.error == (
        "magnification 1e999 is outside the range 0 to 1000 x"
    )
    zoom = parse_request("zoom to (1000, 1000) at 1e-320 mpp").zoom
    assert (zoom.mpp, zoom.magnification, zoom.error) == (1e-320, None, None)
    assert parse_request("zoom to (1, 2) at 5e1x").zoom.magnification == 50.0


def test_a_numbered_ordinal_is_read_as_its_number() -> None:
    """ "the 1000000th largest tissue region" is that region (refused), never the largest."""
    assert region_request("count nuclei in the 1000000th largest tissue region").error == (
        "region number 1000000 is outside the range 0 to 10000"
    )
    assert region_request("zoom to the 3rd tissue piece").region_index == 3
    assert region_request("count the nuclei in the 12th region").roi_number == 12
    assert region_refs("compare the sixth view with the 7th view") == [6, 7]
