from __future__ import annotations

from pathlib import Path

import numpy as np
import openslide
import pytest

from core.errors import RegionError, SlideOpenError, SlideReadError, ToolInputError
from tests.fixtures.slides import SyntheticSlide
from tools.pixels import composite_on_white
from tools.slide import Slide, file_sha256
from tools.types import Box

BIG = 10**8

REAL_SLIDES = {
    # name: (backend, vendor, level-0 size, levels, mpp_x, objective power)
    "wsi/CMU-1-Small-Region.svs": ("openslide", "aperio", (2220, 2967), 1, 0.499, 20.0),
    "wsi/tcga-cr-7395-01a-01-ts1.svs": ("openslide", "aperio", (4443, 3567), 2, None, None),
    "wsi/kidney-48-5.tif": ("image", None, (1493, 901), 1, None, None),
    "wsi_fixtures_openslide/boxes.tiff": (
        "openslide",
        "generic-tiff",
        (300, 250),
        4,
        352.7778,
        None,
    ),
    "wsi_fixtures_openslide/boxes_0.dcm": ("openslide", "dicom", (16, 16), 1, 0.499, 20.0),
    "wsi_fixtures_openslide/small.svs": ("openslide", "aperio", (16, 16), 1, 0.499, 20.0),
}


@pytest.mark.shared_data
@pytest.mark.parametrize("relative", sorted(REAL_SLIDES))
def test_metadata_of_real_slides(shared_data: Path, relative: str) -> None:
    backend, vendor, size, levels, mpp, power = REAL_SLIDES[relative]
    path = shared_data / relative
    with Slide.open(path) as slide:
        meta = slide.metadata
        tile = slide.read_region(Box.from_xywh(0, 0, 8, 8), max_pixels=BIG)
    assert (meta.backend, meta.vendor) == (backend, vendor)
    assert (meta.width, meta.height) == size
    assert meta.level_count == levels
    assert meta.levels[0].downsample == 1.0
    assert meta.objective_power == power
    if mpp is None:
        assert meta.mpp_x is None
        assert meta.mpp_y is None
        assert meta.levels[0].mpp is None
    else:
        assert meta.mpp_x == pytest.approx(mpp, rel=1e-4)
    assert meta.slide_id == file_sha256(path)
    assert len(meta.slide_id) == 64
    assert all(isinstance(name, str) for name in meta.associated_images)
    assert tile.image.shape == (8, 8, 3)
    assert tile.image.dtype == np.uint8


@pytest.mark.shared_data
def test_associated_images_are_names_only(cmu_slide: Path) -> None:
    with Slide.open(cmu_slide) as slide:
        dumped = slide.metadata.model_dump()
    assert dumped["associated_images"] == ["label", "macro", "thumbnail"]


def test_synthetic_metadata(synthetic_slide: SyntheticSlide) -> None:
    with Slide.open(synthetic_slide.path) as slide:
        meta = slide.metadata
    assert (meta.width, meta.height) == (synthetic_slide.width, synthetic_slide.height)
    assert [lv.downsample for lv in meta.levels] == [1.0, 2.0, 4.0]
    assert meta.mpp_x == pytest.approx(synthetic_slide.mpp)
    assert meta.levels[2].mpp == pytest.approx(4 * synthetic_slide.mpp)


def _assert_one_line(error: pytest.ExceptionInfo[BaseException]) -> None:
    message = str(error.value)
    assert message
    assert "\n" not in message
    assert "Traceback" not in message


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("zero_length_file", "empty"),
        ("random_bytes_file", "not a slide or image format"),
        ("tmp_path", "directory"),
    ],
)
def test_bad_files_raise_open_error(
    request: pytest.FixtureRequest, fixture: str, expected: str
) -> None:
    path = request.getfixturevalue(fixture)
    with pytest.raises(SlideOpenError, match=expected) as error:
        Slide.open(path)
    _assert_one_line(error)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SlideOpenError, match="not found") as error:
        Slide.open(tmp_path / "nope.svs")
    _assert_one_line(error)


@pytest.mark.shared_data
def test_unopenable_tiff(shared_data: Path) -> None:
    with pytest.raises(SlideOpenError, match="Unsupported TIFF compression") as error:
        Slide.open(shared_data / "wsi_fixtures_openslide" / "unopenable.tiff")
    _assert_one_line(error)


@pytest.mark.shared_data
def test_truncated_svs(truncated_svs: Path) -> None:
    # CMU's level-0 IFD sits after its tiles, so a half file has no readable directory.
    with pytest.raises(SlideOpenError) as error, Slide.open(truncated_svs) as slide:
        slide.read_region(Box.from_xywh(0, 0, 512, 512), max_pixels=BIG)
    _assert_one_line(error)


@pytest.mark.shared_data
@pytest.mark.parametrize("fraction", [0.55, 0.62, 0.7, 0.9])
def test_truncated_svs_never_crashes(cmu_slide: Path, tmp_path: Path, fraction: float) -> None:
    data = cmu_slide.read_bytes()
    path = tmp_path / "cut.svs"
    path.write_bytes(data[: int(len(data) * fraction)])
    message = ""
    try:
        with Slide.open(path) as slide:
            slide.read_region(Box.from_xywh(0, 0, 2220, 2967), max_pixels=BIG)
    except (SlideOpenError, SlideReadError) as error:
        message = str(error)
    assert "\n" not in message


@pytest.mark.shared_data
def test_unreadable_svs_recovers_handle(shared_data: Path, synthetic_slide: SyntheticSlide) -> None:
    """A decode error raises SlideReadError and reopens the handle.

    On unreadable.svs every tile is corrupt, so the second read fails again, but with the
    same decode error ("Bogus marker length"), not from a stale handle; metadata still works.
    """
    path = shared_data / "wsi_fixtures_openslide" / "unreadable.svs"
    with Slide.open(path) as slide:
        for box in (Box.from_xywh(0, 0, 16, 16), Box.from_xywh(4, 4, 8, 8)):
            with pytest.raises(SlideReadError, match="Bogus marker length") as error:
                slide.read_region(box, max_pixels=BIG)
            _assert_one_line(error)
        assert slide.metadata.width == 16
        assert slide._handle is not None
        # The reopened handle is clean: its error state was reset by the reopen.
        assert openslide.lowlevel.get_error(slide._handle._osr) is None


def test_reopen_clears_a_failed_handle(synthetic_slide: SyntheticSlide) -> None:
    """After a decode error on one region, a read of another region on the same Slide succeeds."""
    with Slide.open(synthetic_slide.path) as slide:
        good = slide.read_region(Box.from_xywh(0, 0, 64, 64), max_pixels=BIG)
        real_handle = slide._handle
        assert real_handle is not None

        class Broken:
            level_downsamples = real_handle.level_downsamples
            _osr = None

            def read_region(self, *args: object) -> None:
                msg = "Bogus marker length"
                raise openslide.OpenSlideError(msg)

            def close(self) -> None:
                real_handle.close()

        slide._handle = Broken()  # type: ignore[assignment]
        with pytest.raises(SlideReadError, match="Bogus marker length"):
            slide.read_region(Box.from_xywh(0, 0, 64, 64), max_pixels=BIG)
        again = slide.read_region(Box.from_xywh(0, 0, 64, 64), max_pixels=BIG)
    assert np.array_equal(good.image, again.image)


@pytest.mark.parametrize(
    ("box", "kwargs", "match"),
    [
        (Box.from_xywh(2000, 0, 100, 100), {}, "not entirely on the slide.*2048×1536"),
        (Box.from_xywh(-1, 0, 10, 10), {}, "not entirely on the slide"),
        (Box.from_xywh(0, 0, 10, 10), {"level": 3}, "valid levels: 0..2"),
        (Box.from_xywh(0, 0, 10, 10), {"level": -1}, "valid levels"),
        (Box.from_xywh(0, 0, 2000, 1000), {}, "2000×1000 = 2000000 output pixels.*1000000"),
        (Box.from_xywh(0, 0, 10, 10), {"magnification": 40}, None),
        (Box.from_xywh(0, 0, 10, 10), {"mpp": 0.25}, "finer than the scan's 0.5"),
    ],
)
def test_region_errors(
    synthetic_slide: SyntheticSlide, box: Box, kwargs: dict[str, float], match: str | None
) -> None:
    with Slide.open(synthetic_slide.path) as slide:
        expected = ToolInputError if "magnification" in kwargs else RegionError
        with pytest.raises(expected, match=match or "objective power") as error:
            slide.read_region(box, max_pixels=1_000_000, **kwargs)
    _assert_one_line(error)


@pytest.mark.shared_data
def test_magnification_and_mpp_errors(shared_data: Path, cmu_slide: Path) -> None:
    with Slide.open(cmu_slide) as slide:
        with pytest.raises(RegionError, match="40x exceeds the scan's 20x"):
            slide.read_region(Box.from_xywh(0, 0, 10, 10), magnification=40, max_pixels=BIG)
        with pytest.raises(ToolInputError, match="at most one"):
            slide.read_region(Box.from_xywh(0, 0, 10, 10), level=0, mpp=1.0, max_pixels=BIG)
    with Slide.open(shared_data / "wsi" / "tcga-cr-7395-01a-01-ts1.svs") as slide:
        with pytest.raises(ToolInputError, match="records no µm/px"):
            slide.read_region(Box.from_xywh(0, 0, 10, 10), mpp=1.0, max_pixels=BIG)
        with pytest.raises(ToolInputError, match="records no objective power"):
            slide.read_region(Box.from_xywh(0, 0, 10, 10), magnification=5, max_pixels=BIG)


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("kwargs", "size", "level"),
    [
        ({}, (1000, 800), 0),
        ({"magnification": 10}, (500, 400), 0),
        ({"magnification": 20}, (1000, 800), 0),
        ({"mpp": 0.998}, (500, 400), 0),
        ({"mpp": 2.0}, (250, 200), 0),
    ],
)
def test_resampled_output_size(
    cmu_slide: Path, kwargs: dict[str, float], size: tuple, level: int
) -> None:
    with Slide.open(cmu_slide) as slide:
        read = slide.read_region(Box.from_xywh(100, 200, 1000, 800), max_pixels=BIG, **kwargs)
    assert (read.image.shape[1], read.image.shape[0]) == size
    assert read.level == level
    assert read.mpp == pytest.approx(0.499 * 1000 / size[0])


def test_best_level_is_used(synthetic_slide: SyntheticSlide) -> None:
    with Slide.open(synthetic_slide.path) as slide:
        box = Box.from_xywh(0, 0, 1024, 768)
        assert slide.read_region(box, mpp=2.0, max_pixels=BIG).level == 2
        read = slide.read_region(box, mpp=1.5, max_pixels=BIG)
        assert read.level == 1
        assert read.image.shape == (256, 341, 3)
        assert slide.read_region(box, level=1, max_pixels=BIG).image.shape == (384, 512, 3)


def test_transparent_flagging(synthetic_slide: SyntheticSlide) -> None:
    with Slide.open(synthetic_slide.path) as slide:
        half = slide.read_region(Box.from_xywh(1856, 0, 128, 64), max_pixels=BIG)
        empty = slide.read_region(Box.from_xywh(1920, 0, 128, 128), level=1, max_pixels=BIG)
        solid = slide.read_region(Box.from_xywh(0, 0, 128, 128), max_pixels=BIG)
    assert half.transparent_fraction == pytest.approx(0.5)
    assert (half.image[:, 64:] == 255).all()
    assert empty.all_transparent
    assert (empty.image == 255).all()
    assert solid.transparent_fraction == 0.0
    assert not solid.all_transparent


def test_composite_on_white() -> None:
    rgba = np.array([[[0, 0, 0, 0], [100, 50, 0, 255], [0, 0, 0, 128]]], dtype=np.uint8)
    rgb, transparent = composite_on_white(rgba)
    assert rgb.tolist() == [[[255, 255, 255], [100, 50, 0], [127, 127, 127]]]
    assert transparent == pytest.approx(1 / 3)


def test_png_opens_as_image(png_file: Path) -> None:
    with Slide.open(png_file) as slide:
        meta = slide.metadata
        read = slide.read_region(Box.from_xywh(0, 0, 160, 100), max_pixels=BIG)
        thumb, downsample = slide.thumbnail(64)
    assert meta.backend == "image"
    assert (meta.width, meta.height) == (320, 200)
    assert meta.mpp_x is None
    assert meta.objective_power is None
    assert read.transparent_fraction == pytest.approx(0.5)
    assert thumb.shape == (40, 64, 3)
    assert downsample == pytest.approx(5.0)


@pytest.mark.shared_data
def test_kidney_is_image_backend(shared_data: Path) -> None:
    with Slide.open(shared_data / "wsi" / "kidney-48-5.tif") as slide:
        assert slide.metadata.backend == "image"
        read = slide.read_region(Box.from_xywh(0, 0, 1493, 901), level=0, max_pixels=BIG)
    assert read.image.shape == (901, 1493, 3)


@pytest.mark.shared_data
def test_thumbnail_uses_pyramid(shared_data: Path, synthetic_slide: SyntheticSlide) -> None:
    with Slide.open(shared_data / "wsi" / "tcga-cr-7395-01a-01-ts1.svs") as slide:
        thumb, downsample = slide.thumbnail(512)
    assert max(thumb.shape[:2]) == 512
    assert thumb.dtype == np.uint8
    assert downsample == pytest.approx(4443 / 512, rel=0.01)
    with Slide.open(synthetic_slide.path) as slide:
        thumb, downsample = slide.thumbnail(256)
    assert thumb.shape == (192, 256, 3)
    assert downsample == 8.0


def test_closed_slide_refuses_reads(synthetic_slide: SyntheticSlide) -> None:
    slide = Slide.open(synthetic_slide.path)
    slide.close()
    with pytest.raises(SlideReadError, match="closed"):
        slide.read_region(Box.from_xywh(0, 0, 8, 8), max_pixels=BIG)
