"""Probe battery: hostile slides, odd requests and odd case ids against ``smartpath ask``.

Builds, in a temporary folder, files an attacker or an unlucky user would hand the co-pilot
(the sample slide cut short at many offsets, with garbled directories, looping or out-of-file
offsets, broken JPEG tables; empty, random, text, HTML, PDF and ZIP files named like slides;
truncated and decompression-bomb PNG/JPEG; TIFFs that declare huge, empty or odd pixel layouts;
an OME-TIFF with odd XML; a folder, a FIFO, a device, an unreadable file, a dangling link, a
path with a newline, a path over 4096 characters, a URL) and asks about each twice, in a fresh
process per question. A second section sends odd numbers, regions, levels, boxes, questions and
case ids about the sample slide.

The rule every probe is held to: exit 2 (bad input) with exactly one line on stderr, or exit 0
with a correct answer (the stated size is the file's; a tissue answer equals the intact sample's
where the pixels are the sample's, or matches the known content of a synthetic image); never a
traceback (stdout or stderr), never exit 1, never over 2 GB peak RSS, never past the timeout.

A NUL character cannot be passed in a process argument (execve ends the string there), so NUL
in a question or case id is covered in-process by tests/test_hostile_input.py, not here.

Run from the repository root::

    python benchmarks/probe_bad_input.py            # everything, two processes at a time
    python benchmarks/probe_bad_input.py -k trunc   # only probes whose label contains "trunc"

Prints a table and a summary line; exits 1 when any probe breaks the rule.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import SHARED_DATA  # noqa: E402
from tests.fixtures.slides import paint_synthetic, write_declared_tiff  # noqa: E402

SAMPLE = SHARED_DATA / "wsi" / "CMU-1-Small-Region.svs"
FIXTURES = SHARED_DATA / "wsi_fixtures_openslide"
SAMPLE_SIZE = (2220, 2967)
LIMIT_MB = 2048
Q_SIZE = "what is the size and magnification?"
Q_TISSUE = "how much tissue is there, and count the nuclei in the largest region"
NO_FILE_OVERRIDE = [
    "setpriv",
    "--inh-caps=-dac_override,-dac_read_search",
    "--bounding-set=-dac_override,-dac_read_search",
]

RULES = {"SMARTPATH_PLANNER": "rules"}
"""The rules planner: the default planner's argument grammar without its embedding model."""
Check = Callable[[dict], str | None]
"""Checks an exit-0 answer (the ``--json`` object); returns why it is wrong, or None."""


@dataclass
class Probe:
    """One ``smartpath`` process and the outcomes it may have."""

    section: str
    label: str
    args: list[str | bytes]
    allowed: frozenset[int] = frozenset({2})
    check: Check | None = None
    """Exit 0 is accepted only with a check, and only when it passes."""
    env: dict[str, str] = field(default_factory=lambda: dict(RULES))
    """The rules planner unless the probe says otherwise ({}: the default planner)."""
    json_out: bool = True
    owner_only: bool = False
    """Run held to file modes (as root: without the capabilities that override them)."""
    expect_text: str | None = None
    """A phrase the one stderr line must hold (refusals whose wording matters)."""


@dataclass
class Outcome:
    """What one probe's process did, and why that breaks the rule (None when it does not)."""

    probe: Probe
    code: int | None
    stderr_lines: int
    traceback: bool
    first_line: str
    peak_mb: float
    seconds: float
    failure: str | None
    stdout: str = ""


# ---- checks on answers ----------------------------------------------------------------------


def _answer(result: dict) -> str:
    return str(result.get("answer", ""))


def states_size(width: int, height: int) -> Check:
    """The answer states the file's level-0 size."""

    def check(result: dict) -> str | None:
        if f"{width} × {height} pixels" in _answer(result):
            return None
        return f"answer does not state {width} × {height}: {_answer(result)[:80]!r}"

    return check


def equals_control(controls: dict[str, str], question: str) -> Check:
    """The answer is the intact sample's answer to the same question."""

    def check(result: dict) -> str | None:
        expected = controls.get(question)
        if expected is None:
            return "no control answer to compare with"
        name = str(result.get("slide", {}).get("name", ""))
        text = _answer(result)
        for shown in {name, " ".join(name.split())} - {""}:  # answers fold whitespace
            text = text.replace(shown, SAMPLE.name)
        return None if text == expected else f"differs from the sample's: {text[:100]!r}"

    return check


def tissue_near(fraction: float, tolerance: float = 0.08) -> Check:
    """The answer's 'Tissue covers X%' is within ``tolerance`` of the known fraction."""

    def check(result: dict) -> str | None:
        m = re.search(r"Tissue covers ([\d.]+)%", _answer(result))
        if m is None:
            if fraction < 0.01 and re.search(r"\bno tissue\b", _answer(result), re.I):
                return None
            return f"no tissue fraction in the answer: {_answer(result)[:80]!r}"
        stated = float(m.group(1)) / 100
        if abs(stated - fraction) <= tolerance:
            return None
        return f"tissue {stated:.1%} stated, the image holds {fraction:.1%}"

    return check


def answered(pattern: str = "") -> Check:
    """Any non-empty answer (matching ``pattern`` when given) with a verified chain."""

    def check(result: dict) -> str | None:
        text = _answer(result)
        if not text.strip():
            return "empty answer"
        if pattern and not re.search(pattern, text, re.I):
            return f"answer does not match {pattern!r}: {text[:80]!r}"
        return None

    return check


# ---- hostile slide files --------------------------------------------------------------------


def _ifd_offsets(data: bytes) -> list[int]:
    offsets, at = [], struct.unpack("<I", data[4:8])[0]
    while at and at not in offsets:
        offsets.append(at)
        count = struct.unpack("<H", data[at : at + 2])[0]
        at = struct.unpack("<I", data[at + 2 + 12 * count : at + 6 + 12 * count])[0]
    return offsets


def _entry(data: bytes, ifd: int, tag: int) -> int:
    """Byte offset of ``tag``'s 12-byte entry in the directory at ``ifd``."""
    count = struct.unpack("<H", data[ifd : ifd + 2])[0]
    for i in range(count):
        at = ifd + 2 + 12 * i
        if struct.unpack("<H", data[at : at + 2])[0] == tag:
            return at
    msg = f"tag {tag} not in directory at {ifd}"
    raise KeyError(msg)


def _value_at(data: bytes, ifd: int, tag: int) -> int:
    return struct.unpack("<I", data[_entry(data, ifd, tag) + 8 : _entry(data, ifd, tag) + 12])[0]


def _patched(data: bytes, at: int, new: bytes) -> bytes:
    return data[:at] + new + data[at + len(new) :]


def sample_mutants(sample: bytes) -> dict[str, tuple[bytes, str]]:
    """Mutated copies of the sample SVS: label → (bytes, what is expected: 'refuse' or 'same')."""
    ifds = _ifd_offsets(sample)
    first, last = ifds[0], ifds[-1]
    offsets_at = _value_at(sample, first, 324)
    counts_at = _value_at(sample, first, 325)
    tiles = 130
    size = len(sample)
    data_start = 16
    data_end = first
    out: dict[str, tuple[bytes, str]] = {}
    cuts = {
        "4 B (half header)": 4,
        "8 B (header only)": 8,
        "10% of tile data": data_start + (data_end - data_start) // 10,
        "50% of tile data": data_start + (data_end - data_start) // 2,
        "90% of tile data": data_start + 9 * (data_end - data_start) // 10,
        "mid first IFD": first + 40,
        "after first IFD table": first + 2 + 12 * 16,
        "start of last IFD": last + 2,
        "mid last IFD": last + 100,
    }
    for label, cut in cuts.items():
        out[f"sample cut at {label}"] = (sample[:cut], "refuse")
    out["sample cut at last byte (macro image's JPEG tables)"] = (sample[:-1], "same")
    rng = np.random.default_rng(1729)
    count = struct.unpack("<H", sample[first : first + 2])[0]
    table = bytes(b ^ 0xFF for b in sample[first + 2 : first + 2 + 12 * count])
    out["sample, first IFD entries byte-flipped"] = (_patched(sample, first + 2, table), "refuse")
    rot = bytearray(sample)
    for at in rng.integers(first + 2, first + 2 + 12 * count, 24):
        rot[int(at)] ^= 1 << int(rng.integers(0, 8))
    out["sample, 24 bit flips in first IFD"] = (bytes(rot), "refuse")
    out["sample, first IFD offset past EOF"] = (
        _patched(sample, 4, struct.pack("<I", size + 4096)),
        "refuse",
    )
    out["sample, IFD count 65535"] = (_patched(sample, first, struct.pack("<H", 65535)), "refuse")
    next_at = first + 2 + 12 * count
    out["sample, first IFD links to itself"] = (
        _patched(sample, next_at, struct.pack("<I", first)),
        "same",
    )
    last_count = struct.unpack("<H", sample[last : last + 2])[0]
    out["sample, last IFD links to the first"] = (
        _patched(sample, last + 2 + 12 * last_count, struct.pack("<I", first)),
        "same",
    )
    garbage = rng.integers(0, 2**32, tiles, dtype=np.uint32).astype("<u4").tobytes()
    out["sample, tile offsets random"] = (_patched(sample, offsets_at, garbage), "refuse")
    at_eight = struct.pack(f"<{tiles}I", *([8] * tiles))
    out["sample, tile offsets all 8"] = (_patched(sample, offsets_at, at_eight), "size-only")
    huge = struct.pack(f"<{tiles}I", *([0xFFFFFFF0] * tiles))
    out["sample, tile byte counts huge"] = (_patched(sample, counts_at, huge), "refuse")
    zero = struct.pack(f"<{tiles}I", *([0] * tiles))
    out["sample, tile byte counts zero"] = (_patched(sample, counts_at, zero), "sparse")
    tables_at = _value_at(sample, first, 347)
    broken = _patched(sample, tables_at, b"\xff\xd8\xff\xdb\xff\xff" + bytes(40))
    out["sample, broken JPEG tables"] = (broken, "size-only")
    width_entry = _entry(sample, first, 256)
    out["sample, width 0"] = (_patched(sample, width_entry + 8, struct.pack("<I", 0)), "refuse")
    out["sample, width 10240 (tiles for 2220)"] = (
        _patched(sample, width_entry + 8, struct.pack("<H", 10240)),
        "refuse",
    )
    return out


def _png(width: int, height: int, idat: bytes) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _jpeg_declaring(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 110, 170)).save(buf, "JPEG")
    data = buf.getvalue()
    sof = data.index(b"\xff\xc0")
    return _patched(data, sof + 5, struct.pack(">HH", height, width))


def _big_tiff_strip(path: Path, side: int) -> Path:
    """A BigTIFF whose one strip declares ``side``² RGB pixels (LONG8 sizes), 1 KB on disk."""
    block = zlib.compress(b"\xff" * 3 * 1024)
    entries = [
        (256, 16, 1, side),
        (257, 16, 1, side),
        (258, 3, 1, 8),
        (259, 3, 1, 8),
        (262, 3, 1, 2),
        (273, 16, 1, 16),
        (277, 3, 1, 3),
        (278, 16, 1, side),
        (279, 16, 1, len(block)),
    ]
    ifd = 16 + len(block) + (-len(block) % 8)
    with path.open("wb") as out:
        out.write(b"II+\x00" + struct.pack("<HHQ", 8, 0, ifd) + block)
        out.write(b"\x00" * (-len(block) % 8) + struct.pack("<Q", len(entries)))
        for tag, kind, n, value in entries:
            out.write(struct.pack("<HHQQ", tag, kind, n, value))
        out.write(struct.pack("<Q", 0))
    return path


def _patch_tiff_size(path: Path, width: int, height: int) -> Path:
    """Rewrite ImageWidth/ImageLength of a small classic TIFF in place."""
    data = path.read_bytes()
    ifd = _ifd_offsets(data)[0]
    for tag, value in ((256, width), (257, height)):
        at = _entry(data, ifd, tag)
        kind = struct.unpack("<H", data[at + 2 : at + 4])[0]
        packed = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
        data = _patched(data, at + 8, packed)
    path.write_bytes(data)
    return path


SYN = (512, 384)


def synthetic_images(folder: Path) -> dict[str, tuple[Path, float]]:
    """Small plain TIFFs in odd pixel layouts: label → (file, true tissue fraction)."""
    rgba, _ = paint_synthetic(*SYN)
    rgba[..., 3] = 255
    rgb = np.ascontiguousarray(rgba[..., :3])
    fraction = float(np.mean(np.any(rgb != 255, axis=2)))
    out: dict[str, tuple[Path, float]] = {}

    def write(name: str, array: np.ndarray, **kw: object) -> Path:
        path = folder / name
        tifffile.imwrite(path, array, **kw)
        return path

    out["TIFF 16-bit RGB"] = (
        write("rgb16.tiff", rgb.astype(np.uint16) * 257, photometric="rgb"),
        fraction,
    )
    out["TIFF float32 RGB"] = (
        write("rgbf.tiff", rgb.astype(np.float32) / 255, photometric="rgb"),
        fraction,
    )
    gray = rgb.mean(axis=2) < 250
    out["TIFF 1-bit"] = (write("bilevel.tiff", gray, photometric="miniswhite"), fraction)
    cmyk = np.zeros((*rgb.shape[:2], 4), np.uint8)
    cmyk[..., :3] = 255 - rgb
    out["TIFF CMYK"] = (write("cmyk.tiff", cmyk, photometric="separated"), fraction)
    two = np.stack(
        [rgb.mean(axis=2).astype(np.uint8), np.full(rgb.shape[:2], 255, np.uint8)], axis=2
    )
    out["TIFF 2 channels"] = (
        write("two.tiff", two, photometric="minisblack", planarconfig="contig"),
        fraction,
    )
    out["TIFF 1×1"] = (write("one.tiff", np.full((1, 1, 3), 255, np.uint8), photometric="rgb"), 0.0)
    zero = write("zero.tiff", np.full((1, 1, 3), 255, np.uint8), photometric="rgb")
    _patch_tiff_size(zero, 0, 0)
    return out


def build_slides(folder: Path) -> list[tuple[str, str | bytes, str, Check | None, Check | None]]:
    """Every hostile slide: (label, path, expectation, check for Q_SIZE, check for Q_TISSUE).

    Expectation 'refuse' allows exit 2 only; an exit 0 check accepts a correct answer too.
    """
    rows: list[tuple[str, str | bytes, str, Check | None, Check | None]] = []
    sample = SAMPLE.read_bytes()
    for i, (label, (data, kind)) in enumerate(sample_mutants(sample).items()):
        path = folder / f"mutant-{i:02d}.svs"
        path.write_bytes(data)
        rows.append((label, str(path), kind, None, None))
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 256, 65536, dtype=np.uint8).tobytes()

    def put(name: str, data: bytes) -> str:
        path = folder / name
        path.write_bytes(data)
        return str(path)

    plain = [
        ("empty file .svs", put("empty.svs", b"")),
        ("random bytes .svs", put("noise.svs", noise)),
        ("random bytes .tiff", put("noise.tiff", noise)),
        ("random bytes .ndpi", put("noise.ndpi", noise)),
        ("TIFF magic + random bytes", put("magic.tiff", b"II*\x00" + noise)),
        ("BigTIFF magic + random bytes", put("bigmagic.tiff", b"II+\x00" + noise)),
        ("text file .svs", put("text.svs", b"this is not a slide\n" * 100)),
        (
            "HTML page .svs",
            put("page.svs", b"<!doctype html><html><body>404 Not Found</body></html>\n"),
        ),
        (
            "PDF .svs",
            put(
                "doc.svs",
                b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
            ),
        ),
    ]
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        zf.writestr("slide.svs", sample[:4096])
    plain.append(("ZIP archive .svs", put("archive.svs", zbuf.getvalue())))
    png_buf = io.BytesIO()
    Image.fromarray(paint_synthetic(320, 200)[0][..., :3]).save(png_buf, "PNG")
    plain.append(
        ("PNG cut in half", put("half.png", png_buf.getvalue()[: len(png_buf.getvalue()) // 2]))
    )
    jpg_buf = io.BytesIO()
    Image.fromarray(paint_synthetic(320, 200)[0][..., :3]).save(jpg_buf, "JPEG")
    plain.append(
        ("JPEG cut in half", put("half.jpg", jpg_buf.getvalue()[: len(jpg_buf.getvalue()) // 2]))
    )
    plain.append(
        ("PNG declaring 60000²", put("bomb.png", _png(60000, 60000, zlib.compress(b"\x00" * 1024))))
    )
    plain.append(("JPEG declaring 60000²", put("bomb.jpg", _jpeg_declaring(60000, 60000))))
    plain.append(
        ("BigTIFF strip declaring 2^40²", str(_big_tiff_strip(folder / "big.tiff", 2**40)))
    )

    ome_odd = (
        '<?xml version="1.0"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">'
        '<Image ID="Image:0"><Pixels SizeX="-5" SizeY="1e99" SizeC="NaN" Type="uint8" '
        'DimensionOrder="XYZCT"><Channel ID="x"/><TiffData IFD="99999"/>'
    )
    ome_path = folder / "odd.ome.tiff"
    tifffile.imwrite(
        ome_path,
        np.full((64, 64, 3), 255, np.uint8),
        description=ome_odd,
        photometric="rgb",
        metadata=None,
    )
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
        + ']><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">&i;</OME>'
    )
    bomb_path = folder / "laughs.ome.tif"
    tifffile.imwrite(
        bomb_path,
        np.full((64, 64, 3), 255, np.uint8),
        description=laughs,
        photometric="rgb",
        metadata=None,
    )
    for label, path in plain:
        rows.append((label, path, "refuse", None, None))
    rows.append(
        ("OME-TIFF with broken XML", str(ome_path), "image", states_size(64, 64), tissue_near(0.0))
    )
    rows.append(
        (
            "OME-TIFF with an entity-expansion bomb",
            str(bomb_path),
            "image",
            states_size(64, 64),
            tissue_near(0.0),
        )
    )
    rows.append(("TIFF 0×0", str(folder / "zero.tiff"), "refuse", None, None))
    for label, (path, fraction) in synthetic_images(folder).items():
        height, width = (1, 1) if "1×1" in label else (0, 0) if "0×0" in label else SYN[::-1]
        rows.append((label, str(path), "image", states_size(width, height), tissue_near(fraction)))
    if FIXTURES.is_dir():
        rows.append(
            ("OpenSlide unopenable.tiff", str(FIXTURES / "unopenable.tiff"), "refuse", None, None)
        )
        unreadable = str(FIXTURES / "unreadable.svs")
        rows.append(
            ("OpenSlide unreadable.svs", unreadable, "size-only", states_size(16, 16), None)
        )
    huge = str(write_declared_tiff(folder / "d300k.tiff", 300_000, 300_000))
    rows.append(
        ("tiled TIFF declaring 300000²", huge, "size-only", states_size(300_000, 300_000), None)
    )
    specials = folder / "specials"
    specials.mkdir()
    (specials / "folder.svs").mkdir()
    os.mkfifo(specials / "fifo.svs")
    (specials / "dangling.svs").symlink_to(specials / "gone.svs")
    (specials / "zero-device.svs").symlink_to("/dev/zero")
    locked = specials / "locked.svs"
    shutil.copyfile(SAMPLE, locked)
    locked.chmod(0)
    newline = specials / "new\nline.svs"
    shutil.copyfile(SAMPLE, newline)
    renamed = specials / "sample.ndpi"
    shutil.copyfile(SAMPLE, renamed)
    deep = specials
    while len(str(deep)) < 4200:
        deep = deep / ("d" * 200)
    long_path = str(deep / "slide.svs")
    rows += [
        ("a folder named x.svs", str(specials / "folder.svs"), "refuse", None, None),
        ("a FIFO named x.svs", str(specials / "fifo.svs"), "refuse", None, None),
        ("a link to /dev/zero", str(specials / "zero-device.svs"), "refuse", None, None),
        ("a dangling symlink", str(specials / "dangling.svs"), "refuse", None, None),
        ("chmod 000 (root without file override)", str(locked), "refuse-owner-only", None, None),
        ("a path with a newline", str(newline), "same", None, None),
        ("the sample named .ndpi", str(renamed), "same", None, None),
        (f"a path of {len(long_path)} characters", long_path, "refuse", None, None),
        ("a URL", "http://example.org/slides/CMU-1.svs", "refuse", None, None),
        ("an empty slide argument", "", "refuse", None, None),
    ]
    return rows


# ---- request and case-id fuzz ---------------------------------------------------------------


def fuzz_probes(sample: str) -> list[Probe]:
    """Odd numbers, regions, levels, boxes, questions and case ids about the sample slide."""
    either = frozenset({0, 2})
    questions: list[tuple[str, str, frozenset[int], Check | None]] = [
        ("NaN point", "zoom to (NaN, NaN) at 20x", frozenset({2}), None),
        ("inf point", "zoom to (inf, inf) at 20x", frozenset({2}), None),
        ("-inf point", "zoom to (-inf, 5) at 20x", frozenset({2}), None),
        ("-0 point", "zoom to (-0, -0) at 20x", either, answered()),
        ("1e999 point", "zoom to (1e999, 5) at 20x", frozenset({2}), None),
        ("2^64+1 point", "zoom to (18446744073709551617, 1000) at 20x", frozenset({2}), None),
        ("1e999x magnification", "zoom to (1000, 1000) at 1e999x", frozenset({2}), None),
        ("0x magnification", "zoom to (1000, 1000) at 0x", frozenset({2}), None),
        ("-5x magnification", "zoom to (1000, 1000) at -5x", either, answered()),
        ("40x on a 20x slide", "zoom to (1000, 1000) at 40x", either, answered("finer than")),
        ("0.0001 µm/px", "zoom to (1000, 1000) at 0.0001 µm/px", either, answered("finer than")),
        ("denormal mpp", "zoom to (1000, 1000) at 1e-320 mpp", either, answered("finer than")),
        ("negative size", "show -100x-100 px around (1000, 1000)", either, answered()),
        ("100000² size", "show 100000x100000 px around (1000, 1000)", either, answered("clipped")),
        ("hex coordinates", "zoom to (0x3e8, 0x3e8) at 20x", either, answered()),
        ("Arabic-Indic digits", "zoom to (١٠٠٠, ١٠٠٠) at 20x", either, answered()),
        ("fullwidth digits", "zoom to (１０００, １０００) at 20x", either, answered()),
        ("underscore digits", "zoom to (1_000, 1_000) at 20x", either, answered()),
        ("superscript digits", "zoom to (1², 2³) at 20x", either, answered()),
        ("level 99", "zoom to (1000, 1000) at level 99", frozenset({2}), None),
        ("level 1 of 1", "zoom to (1000, 1000) at level 1", frozenset({2}), None),
        ("level -1", "zoom to (1000, 1000) at level -1", either, answered()),
        ("box x1<x0", "detect nuclei in [500, 500, 100, 100]", either, answered()),
        ("empty box", "detect nuclei in [0, 0, 0, 0]", frozenset({2}), None),
        ("negative box", "detect nuclei in [-100, -100, 50, 50]", either, answered()),
        ("box past the edge", "detect nuclei in [2000, 2900, 3000, 4000]", either, answered()),
        (
            "box off the slide",
            "detect nuclei in [100000, 100000, 100100, 100100]",
            frozenset({2}),
            None,
        ),
        ("tissue region 99", "count the nuclei in tissue region 99", frozenset({2}), None),
        ("tissue region 0", "count the nuclei in tissue region 0", frozenset({2}), None),
        (
            "1000000th region",
            "count nuclei in the 1000000th largest tissue region",
            frozenset({2}),
            None,
        ),
        ("ROI #5 in a new case", "zoom into region #5", frozenset({2}), None),
        (
            "previous view in a new case",
            "go back to the previous view",
            either,
            answered("no earlier region"),
        ),
        ("empty question", "", frozenset({2}), None),
        ("blank question", "  \n\t  ", frozenset({2}), None),
        ("control characters only", "\x1b\x07\x08\x7f", frozenset({2}), None),
        ("10000-char question", "a" * 10_000, frozenset({2}), None),
        (
            "long valid question",
            "what is the size? " + "please " * 540,
            either,
            answered(r"2220 × 2967"),
        ),
        (
            "ESC and OSC in question",
            "what is the size \x1b[2J\x1b]0;pwned\x07?",
            frozenset({0}),
            answered(r"2220 × 2967"),
        ),
        (
            "RTL override in question",
            "what is the size \u202e?ezis",
            frozenset({0}),
            answered(r"2220 × 2967"),
        ),
        ("zero-width and homoglyphs", "wh\u200bаt is the sіze?", either, answered()),
        ("emoji question", "🔬 what is the size? 🧫", frozenset({0}), answered(r"2220 × 2967")),
    ]
    probes = [
        Probe(
            "fuzz",
            f"question: {label}" + (" [default planner]" if label in DEFAULT_PLANNER else ""),
            ["ask", sample, q, "--case", f"fuzz-{i}"],
            allowed,
            check,
            {} if label in DEFAULT_PLANNER else RULES,
        )
        for i, (label, q, allowed, check) in enumerate(questions)
    ]
    for label in ("ESC and OSC in question", "RTL override in question"):
        q = next(q for lab, q, _, _ in questions if lab == label)
        probes.append(
            Probe(
                "fuzz",
                f"question (text output): {label}",
                ["ask", sample, q],
                frozenset({0}),
                answered(),
                json_out=False,
            )
        )
    bad_ids = [
        ("slash", "a/b"),
        ("dot-dot path", "../etc"),
        ("dot-dot", ".."),
        ("dot", "."),
        ("leading dot", ".hidden"),
        ("space", "with space"),
        ("unicode letters", "ünïcödé"),
        ("unicode digits", "١٢٣"),
        ("300 characters", "c" * 300),
        ("65 characters", "c" * 65),
        ("empty", ""),
        ("tab", "a\tb"),
        ("ESC", "a\x1b[31mb"),
        ("RTL override", "abc\u202edcb"),
        ("absolute path", "/etc/passwd"),
    ]
    for label, case_id in bad_ids:
        probes.append(
            Probe(
                "fuzz",
                f"case id: {label}",
                ["ask", sample, Q_SIZE, "--case", case_id],
                expect_text="case id",
            )
        )
    probes.append(Probe("fuzz", "case id: option-like", ["ask", sample, Q_SIZE, "--case", "-rf"]))
    good_ids = [
        ("64 characters", "c" * 64),
        ("dots and dashes", "a.b-c_d"),
        ("Windows device name", "CON"),
    ]
    for label, case_id in good_ids:
        probes.append(
            Probe(
                "fuzz",
                f"case id: {label} (valid)",
                ["ask", sample, Q_SIZE, "--case", case_id],
                frozenset({0}),
                states_size(*SAMPLE_SIZE),
            )
        )
    probes.append(Probe("fuzz", "unknown option", ["ask", sample, Q_SIZE, "--bogus"]))
    probes.append(Probe("fuzz", "missing question", ["ask", sample]))
    return probes


# ---- running --------------------------------------------------------------------------------


def _vm_hwm_mb(pid: int) -> float:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    m = re.search(r"VmHWM:\s+(\d+) kB", text)
    return int(m.group(1)) / 1024 if m else 0.0


def run_probe(probe: Probe, home: Path, timeout: float) -> Outcome:
    """Run one probe in a fresh process; poll its peak RSS; judge the outcome."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTPATH_")}
    env.update(SMARTPATH_HOME=str(home), PYTHONPATH=str(REPO), **probe.env)
    prefix = NO_FILE_OVERRIDE if probe.owner_only and os.geteuid() == 0 else []
    argv: list[str | bytes] = [*prefix, sys.executable, "-m", "app.main", *probe.args]
    if probe.json_out and probe.args and probe.args[0] == "ask" and len(probe.args) >= 3:
        argv.append("--json")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        try:
            proc = subprocess.Popen(
                argv,
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        except OSError as error:
            return Outcome(probe, None, 0, False, "", 0.0, 0.0, f"could not start: {error}")
        peak, code, timed_out = 0.0, None, False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                code = os.waitstatus_to_exitcode(status)
                peak = max(peak, usage.ru_maxrss / 1024)
                break
            peak = max(peak, _vm_hwm_mb(proc.pid))
            if time.perf_counter() - started > timeout:
                timed_out = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
            time.sleep(0.05)
        proc.returncode = code
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    lines = stderr.splitlines()
    traceback = "Traceback" in stdout or "Traceback" in stderr
    first = lines[0] if lines else ""
    outcome = Outcome(probe, code, len(lines), traceback, first, peak, seconds, None, stdout)
    outcome.failure = judge(outcome, stdout, stderr, timed_out)
    return outcome


def judge(o: Outcome, stdout: str, stderr: str, timed_out: bool) -> str | None:
    """Why the outcome breaks the rule, or None."""
    p = o.probe
    if timed_out:
        return "timed out"
    if o.traceback:
        return "traceback"
    if o.peak_mb >= LIMIT_MB:
        return f"peak RSS {o.peak_mb:.0f} MB"
    if o.code not in p.allowed:
        return f"exit {o.code}, expected {'/'.join(map(str, sorted(p.allowed)))}"
    if o.code != 0:
        if o.stderr_lines != 1 or not stderr.startswith("error: "):
            return f"{o.stderr_lines} stderr lines on failure"
        if "\x1b" in stderr or "\u202e" in stderr:
            return "raw control characters on stderr"
        if p.expect_text and p.expect_text not in stderr:
            return f"message lacks {p.expect_text!r}"
        return None
    if "\x1b" in stdout or "\u202e" in stdout or "\x07" in stdout:
        return "raw control characters on stdout"
    if p.check is None:
        return "exit 0 where a refusal was expected"
    if p.json_out:
        try:
            result = json.loads(stdout)
        except json.JSONDecodeError:
            return "stdout is not one JSON object"
    else:
        result = {"answer": stdout}
    return p.check(result)


def slide_probes(folder: Path, controls: dict[str, str], default_planner: set[str]) -> list[Probe]:
    """Each hostile slide asked both questions (the default planner for ``default_planner``)."""
    probes = []
    for label, path, kind, size_check, tissue_check in build_slides(folder):
        for question in (Q_SIZE, Q_TISSUE):
            allowed: frozenset[int] = frozenset({2})
            check: Check | None = None
            if kind == "same":
                allowed, check = frozenset({0, 2}), equals_control(controls, question)
            elif kind == "sparse":  # blocks without bytes: white, no tissue
                allowed = frozenset({0, 2})
                check = states_size(*SAMPLE_SIZE) if question == Q_SIZE else tissue_near(0.0)
            elif kind == "size-only" and question == Q_SIZE:  # metadata right, pixels not
                allowed, check = frozenset({0, 2}), size_check or states_size(*SAMPLE_SIZE)
            elif kind == "image":
                allowed = frozenset({0, 2})
                check = size_check if question == Q_SIZE else tissue_check
            short = "size" if question == Q_SIZE else "tissue"
            env = {} if label in default_planner else {"SMARTPATH_PLANNER": "rules"}
            suffix = " [default planner]" if label in default_planner else ""
            probes.append(
                Probe(
                    "slide",
                    f"{label} / {short}{suffix}",
                    ["ask", path, question],
                    allowed,
                    check,
                    env,
                    owner_only=kind == "refuse-owner-only",
                )
            )
    return probes


DEFAULT_PLANNER = {
    "NaN point",
    "1e999x magnification",
    "RTL override in question",
    "box x1<x0",
    "sample cut at 50% of tile data",
    "PNG declaring 60000²",
    "TIFF 16-bit RGB",
    "a URL",
}


def main() -> int:
    """Run the probes, print the table as they finish; 1 when any breaks the rule."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", dest="only", default="", help="run probes whose label contains this")
    parser.add_argument("-j", dest="jobs", type=int, default=2, help="processes at a time")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per process")
    parser.add_argument("--section", choices=["slide", "fuzz", "all"], default="all")
    args = parser.parse_args()
    if not SAMPLE.is_file():
        print(f"the sample slide {SAMPLE} is absent", file=sys.stderr)
        return 2
    print(HEADER, flush=True)
    with tempfile.TemporaryDirectory(prefix="probe-") as tmp:
        folder = Path(tmp)
        folder.chmod(0o755)
        home = folder / "home"
        home.mkdir()
        controls: dict[str, str] = {}
        outcomes: list[Outcome] = []
        for question in (Q_SIZE, Q_TISSUE):
            control = Probe(
                "control",
                f"intact sample / {'size' if question == Q_SIZE else 'tissue'}",
                ["ask", str(SAMPLE), question],
                frozenset({0}),
                states_size(*SAMPLE_SIZE) if question == Q_SIZE else tissue_near(0.36, 0.1),
                {"SMARTPATH_PLANNER": "rules"},
            )
            outcome = run_probe(control, home, args.timeout)
            print(row(outcome), flush=True)
            outcomes.append(outcome)
            if outcome.code == 0:
                controls[question] = str(json.loads(outcome.stdout)["answer"])
        probes: list[Probe] = []
        if args.section in ("slide", "all"):
            (folder / "slides").mkdir()
            probes += slide_probes(folder / "slides", controls, DEFAULT_PLANNER)
        if args.section in ("fuzz", "all"):
            probes += fuzz_probes(str(SAMPLE))
        probes = [p for p in probes if args.only.lower() in p.label.lower()]
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for outcome in pool.map(lambda p: run_probe(p, home, args.timeout), probes):
                print(row(outcome), flush=True)
                outcomes.append(outcome)
    failed = [o for o in outcomes if o.failure]
    if failed:
        print("\nbreaking the rule:")
        for o in failed:
            print(row(o))
    print(summary(outcomes))
    return 1 if failed else 0


HEADER = f"{'probe':64} {'exit':>4} {'err':>3} {'tb':>2} {'MB':>6} {'s':>6}  outcome"


def row(o: Outcome) -> str:
    """One line of the table: exit code, stderr lines, traceback, peak MB, seconds, outcome."""
    label = o.probe.label if len(o.probe.label) <= 64 else o.probe.label[:63] + "…"
    line = o.first_line if o.code else "answered"
    line = line.encode("unicode_escape").decode("ascii") if not line.isprintable() else line
    line = line if len(line) <= 110 else line[:109] + "…"
    verdict = f"FAIL ({o.failure}) " if o.failure else ""
    code = "-" if o.code is None else str(o.code)
    tb = "y" if o.traceback else "-"
    stats = f"{code:>4} {o.stderr_lines:3d} {tb:>2} {o.peak_mb:6.0f} {o.seconds:6.1f}"
    return f"{label:64} {stats}  {verdict}{line}"


def summary(outcomes: list[Outcome]) -> str:
    """The summary line."""
    codes = [o.code for o in outcomes]
    other = sum(c not in (0, 2, 3) for c in codes)
    peak = max((o.peak_mb for o in outcomes), default=0)
    return (
        f"{len(outcomes)} probes: {codes.count(0)} exit 0, {codes.count(2)} exit 2, "
        f"{codes.count(3)} exit 3, {other} other, {sum(o.traceback for o in outcomes)} "
        f"tracebacks, peak max {peak:.0f} MB; {sum(bool(o.failure) for o in outcomes)} break "
        "the rule"
    )


if __name__ == "__main__":
    sys.exit(main())
