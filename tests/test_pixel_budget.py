"""The pixel budget: declared sizes are checked before decoding, large reads go in chunks."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from app.web.uploads import UploadRejected, accept_upload
from core.errors import RegionError, SlideOpenError
from core.settings import Settings
from tests.conftest import REPO_ROOT
from tests.fixtures.slides import SyntheticSlide, write_declared_tiff
from tools.pixel_budget import PixelBudget
from tools.slide import Slide
from tools.types import Box

_READ_ALL_PATHS = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from core.errors import CopilotError
    from tools.slide import Slide
    from tools.tissue import detect_tissue
    from tools.types import Box

    outcome = {}
    with Slide.open(Path(sys.argv[1])) as slide:
        for name, read in [
            ("thumbnail", lambda: slide.thumbnail(1024)),
            ("tissue", lambda: detect_tissue(slide, thumbnail_px=1024)),
            ("whole slide at level 0", lambda: slide.read_region(
                Box(x0=0, y0=0, x1=slide.metadata.width, y1=slide.metadata.height),
                downsample=slide.metadata.width / 1024, max_pixels=2048 * 2048)),
            ("a 1024 px view", lambda: slide.read_region(
                Box(x0=5000, y0=5000, x1=6024, y1=6024), max_pixels=2048 * 2048)),
        ]:
            try:
                read()
                outcome[name] = "read"
            except CopilotError as exc:
                outcome[name] = str(exc)
    # VmHWM: this process image's own peak (ru_maxrss keeps the forking parent's size across
    # exec, so it reads the test runner's memory, not this reader's)
    status = Path("/proc/self/status").read_text()
    hwm_kb = next(int(l.split()[1]) for l in status.splitlines() if l.startswith("VmHWM:"))
    peak_mb = hwm_kb / 1024
    print(json.dumps({"outcome": outcome, "peak_mb": peak_mb}))
    """
)


@pytest.mark.parametrize("side", [40_000, 200_000])
def test_a_huge_declared_slide_is_refused_before_decoding(tmp_path: Path, side: int) -> None:
    path = write_declared_tiff(tmp_path / f"declared-{side}.tiff", side, side)
    assert path.stat().st_size < 2_000_000
    proc = subprocess.run(
        [sys.executable, "-c", _READ_ALL_PATHS, str(path)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    outcome = report["outcome"]
    for name in ("thumbnail", "tissue", "whole slide at level 0"):
        assert "SMARTPATH_MAX_DECODE_PIXELS" in outcome[name], name
        assert f"{side}×{side} = {side * side} pixels" in outcome[name]
    assert outcome["a 1024 px view"] == "read"  # a view of a small region still works
    assert report["peak_mb"] < 2048


def test_a_read_over_the_chunk_size_is_decoded_in_chunks_with_the_same_pixels(
    synthetic_slide: SyntheticSlide,
) -> None:
    box = Box(x0=0, y0=0, x1=synthetic_slide.width, y1=synthetic_slide.height)
    with Slide.open(synthetic_slide.path) as whole:
        expected = whole.read_region(box, level=0, max_pixels=box.width * box.height)
    small = PixelBudget(chunk_pixels=300 * 300)  # about 35 chunks for this read
    with Slide.open(synthetic_slide.path, small) as chunked:
        got = chunked.read_region(box, level=0, max_pixels=box.width * box.height)
        thumb, downsample = chunked.thumbnail(256)
    assert got.image.shape == expected.image.shape
    assert got.level == expected.level == 0
    assert np.array_equal(got.image, expected.image)  # level 0 at level 0: no resampling
    assert got.transparent_fraction == pytest.approx(expected.transparent_fraction)
    assert thumb.shape == (192, 256, 3)
    assert downsample == pytest.approx(8.0)


def test_a_smaller_decode_budget_refuses_a_read_the_pyramid_cannot_serve(
    synthetic_slide: SyntheticSlide,
) -> None:
    budget = PixelBudget(decode_pixels=200_000)
    box = Box(x0=0, y0=0, x1=1024, y1=1024)
    with Slide.open(synthetic_slide.path, budget) as slide:
        thumb, _ = slide.thumbnail(256)  # decodes level 2 (512×384): within the budget
        assert thumb.shape[1] == 256
        with pytest.raises(RegionError, match="SMARTPATH_MAX_DECODE_PIXELS") as error:
            slide.read_region(box, level=0, max_pixels=4096 * 4096)
    assert "1024×1024 = 1048576 pixels" in str(error.value)


def test_the_budget_comes_from_the_settings(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, max_decode_pixels=1234, max_image_pixels=5678)
    assert PixelBudget.from_settings(settings) == PixelBudget(decode_pixels=1234, image_pixels=5678)


def test_a_plain_image_over_the_image_budget_is_refused_naming_the_setting(
    png_file: Path,
) -> None:
    with pytest.raises(SlideOpenError, match="SMARTPATH_MAX_IMAGE_PIXELS") as error:
        Slide.open(png_file, PixelBudget(image_pixels=320 * 200 - 1))
    assert "320×200 plain image" in str(error.value)
    with Slide.open(png_file, PixelBudget(image_pixels=320 * 200)) as slide:
        assert slide.metadata.width == 320


@pytest.mark.shared_data
@pytest.mark.parametrize("fixture", ["tail_cut_svs", "tail_cut_tiff"])
def test_a_slide_cut_short_at_the_end_is_refused(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    path: Path = request.getfixturevalue(fixture)
    with pytest.raises(SlideOpenError, match="truncated") as error:
        Slide.open(path)
    assert "past the end of the file" in str(error.value)


def test_an_upload_declaring_a_huge_image_is_rejected_by_the_same_check(
    tmp_path: Path,
) -> None:
    incoming, uploads = tmp_path / "web-cache", tmp_path / "uploads"
    (incoming / "3f2a9c").mkdir(parents=True)
    got = write_declared_tiff(incoming / "3f2a9c" / "big.tiff", 40_000, 40_000)
    with pytest.raises(UploadRejected, match="SMARTPATH_MAX_DECODE_PIXELS"):
        accept_upload(
            got,
            incoming=incoming,
            uploads=uploads,
            original_name="big.tiff",
            max_bytes=10**8,
            budget=PixelBudget(),
        )
    assert list(uploads.iterdir()) == []
