"""ZoomTool on a synthetic pyramid with known geometry: boxes in level-0 pixels, scale policy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.errors import RegionError, ToolInputError
from core.settings import Settings
from tests.fixtures.slides import SYNTHETIC_MPP, TISSUE_RGB, SyntheticSlide, write_pyramid
from tools.base import ToolContext
from tools.nuclei import haematoxylin_od
from tools.regions import ranked_from_largest, tissue_box, tissue_rank
from tools.slide_cache import SlideCache
from tools.zoom import ZoomInput, ZoomOutput, ZoomTool


@pytest.fixture
def ctx(synthetic_slide: SyntheticSlide, tmp_path: Path) -> ToolContext:
    slides = SlideCache()
    settings = Settings(home=tmp_path, max_view_px=256)
    yield ToolContext(
        settings=settings,
        case_id="z",
        evidence_id="E1.1",
        slides=slides,
        slide=slides.open(synthetic_slide.path),
    )
    slides.close()


def zoom(ctx: ToolContext, **args: object) -> ZoomOutput:
    result = ZoomTool().run(ZoomInput.model_validate(args), ctx)
    assert Path(result.artifacts[0]).is_file()
    assert isinstance(result.output, ZoomOutput)
    return result.output


def test_tissue_region_box_is_in_level0_pixels(
    ctx: ToolContext, synthetic_slide: SyntheticSlide
) -> None:
    cx, cy, rx, ry = synthetic_slide.ellipse
    out = zoom(ctx, target="tissue_region", region_index=1, level=2)
    x0, y0, x1, y1 = out.box
    ds = out.downsample
    tol = 4 * ctx.slides.tissue(ctx.slide, ctx.settings.thumbnail_px).downsample
    assert x0 == pytest.approx(cx - rx, abs=tol)
    assert y0 == pytest.approx(cy - ry, abs=tol)
    assert x1 == pytest.approx(cx + rx, abs=tol)
    assert y1 == pytest.approx(cy + ry, abs=tol)
    assert (out.output_width, out.output_height) == (round((x1 - x0) / ds), round((y1 - y0) / ds))
    assert out.mpp == pytest.approx(synthetic_slide.mpp * ds, rel=1e-3)


def test_a_sized_field_at_a_tissue_region_is_centred_on_that_region(
    ctx: ToolContext, synthetic_slide: SyntheticSlide
) -> None:
    cx, cy, _, _ = synthetic_slide.ellipse
    out = zoom(ctx, target="tissue_region", region_index=1, size_px=[200, 120])
    x0, y0, x1, y1 = out.box
    tol = 4 * ctx.slides.tissue(ctx.slide, ctx.settings.thumbnail_px).downsample
    assert (x1 - x0, y1 - y0) == (200, 120)
    assert (x0 + x1) / 2 == pytest.approx(cx, abs=tol)
    assert (y0 + y1) / 2 == pytest.approx(cy, abs=tol)


def test_view_is_fitted_and_zoom_out_keeps_the_centre(ctx: ToolContext) -> None:
    first = zoom(ctx, target="tissue_region", region_index=1)
    assert max(first.output_width, first.output_height) <= 256
    assert any("larger than one view" in n for n in first.notes)
    out = zoom(
        ctx,
        target="roi",
        box=first.box,
        view_px=[first.output_width, first.output_height],
        downsample=4,
    )
    c0 = ((first.box[0] + first.box[2]) / 2, (first.box[1] + first.box[3]) / 2)
    c1 = ((out.box[0] + out.box[2]) / 2, (out.box[1] + out.box[3]) / 2)
    if not any("clipped" in n for n in out.notes):
        assert c1 == pytest.approx(c0, abs=2)
    assert out.downsample == pytest.approx(4, rel=0.01)


def test_scale_without_metadata_or_finer_than_scan_falls_back_with_a_note(
    ctx: ToolContext,
) -> None:
    out = zoom(ctx, target="point", center=[100, 100], magnification=20)
    assert out.magnification is None
    assert out.downsample == 1
    assert "records no objective power" in out.notes[0]
    out = zoom(ctx, target="point", center=[100, 100], mpp=0.01)
    assert out.downsample == 1
    assert "finer than the scan" in out.notes[0]


def test_transparent_margin_is_flagged(ctx: ToolContext, synthetic_slide: SyntheticSlide) -> None:
    x = synthetic_slide.transparent_from_x
    width = synthetic_slide.width - x
    out = zoom(ctx, target="box", box=[x, 0, synthetic_slide.width, min(width, 64)])
    assert out.all_transparent
    assert any("no scanned pixels" in n for n in out.notes)


@pytest.mark.parametrize(
    "args",
    [
        {"target": "point", "center": [-5, 10]},
        {"target": "box", "box": [10**6, 0, 10**6 + 10, 10]},  # none of it on the slide
        {"target": "slide", "level": 9},
    ],
)
def test_bad_regions_raise(ctx: ToolContext, args: dict[str, object]) -> None:
    with pytest.raises(RegionError):
        ZoomTool().run(ZoomInput.model_validate(args), ctx)


def test_pan_moves_the_view_by_a_share_of_its_side(ctx: ToolContext) -> None:
    start = [400, 400, 656, 656]
    out = zoom(
        ctx,
        target="roi",
        box=start,
        view_px=[128, 128],
        downsample=2.0,
        pan="right",
        pan_fraction=0.25,
    )
    assert out.downsample == pytest.approx(2.0)
    assert out.box == [400 + 64, 400, 656 + 64, 656]
    left = zoom(ctx, target="roi", box=start, view_px=[128, 128], downsample=2.0, pan="up")
    assert left.box == [400, 400 - 128, 656, 656 - 128]


def test_a_relative_zoom_divides_the_downsample_and_keeps_the_centre(ctx: ToolContext) -> None:
    start = [400, 400, 656, 656]
    closer = zoom(ctx, target="roi", box=start, view_px=[128, 128], downsample=2.0, factor=2)
    assert closer.downsample == pytest.approx(1.0)
    assert closer.box == [464, 464, 592, 592]
    further = zoom(ctx, target="roi", box=start, view_px=[128, 128], downsample=2.0, factor=0.5)
    assert further.downsample == pytest.approx(4.0)
    assert further.box == [272, 272, 784, 784]


def test_a_relative_zoom_past_the_scan_stops_at_native_resolution(ctx: ToolContext) -> None:
    out = zoom(
        ctx, target="roi", box=[400, 400, 656, 656], view_px=[256, 256], factor=4, downsample=1.0
    )
    assert out.downsample == pytest.approx(1.0)
    assert any("native resolution" in n for n in out.notes)


def test_a_quadrant_of_the_slide_fits_one_view(
    ctx: ToolContext, synthetic_slide: SyntheticSlide
) -> None:
    out = zoom(ctx, target="slide", part="top_left")
    w, h = synthetic_slide.width, synthetic_slide.height
    assert out.box == [0, 0, round(w / 2), round(h / 2)]
    assert max(out.output_width, out.output_height) <= 256 + 1
    bottom = zoom(ctx, target="slide", part="bottom_half")
    assert bottom.box == [0, round(h / 2), w, h]


def test_zooming_in_on_the_centre_of_a_view_by_a_factor_keeps_its_centre(
    ctx: ToolContext,
) -> None:
    view = [400, 400, 1200, 1200]
    out = zoom(ctx, target="roi", box=view, view_px=[256, 256], part="center", factor=4)
    assert out.box == [700, 700, 900, 900]  # the central quarter of each side
    plain = zoom(ctx, target="roi", box=view, view_px=[256, 256], part="center")
    assert plain.box == [600, 600, 1000, 1000]  # the central half


def test_zooming_in_on_a_corner_of_a_view_by_a_factor_keeps_that_corner(ctx: ToolContext) -> None:
    view = [400, 400, 1200, 1200]
    out = zoom(ctx, target="roi", box=view, view_px=[256, 256], part="bottom_right", factor=4)
    assert out.box == [1000, 1000, 1200, 1200]  # a quarter of each side, in the corner
    out = zoom(ctx, target="roi", box=view, view_px=[256, 256], part="top_left", factor=4)
    assert out.box == [400, 400, 600, 600]
    plain = zoom(ctx, target="roi", box=view, view_px=[256, 256], part="bottom_right")
    assert plain.box == [800, 800, 1200, 1200]  # the quadrant


def test_zooming_in_on_a_half_of_a_view_by_a_factor_centres_on_that_half(
    ctx: ToolContext,
) -> None:
    view = [400, 400, 1200, 1200]
    out = zoom(ctx, target="roi", box=view, view_px=[256, 256], part="bottom_half", factor=2)
    assert out.box == [600, 800, 1000, 1200]  # half of each side, centred on the bottom half
    out = zoom(ctx, target="roi", box=view, view_px=[256, 256], part="left_half", factor=4)
    assert out.box == [500, 700, 700, 900]  # a quarter of each side, centred on the left half
    plain = zoom(ctx, target="roi", box=view, view_px=[256, 256], part="bottom_half")
    assert plain.box == [400, 800, 1200, 1200]  # the half


def test_panning_off_the_slide_is_a_region_error(ctx: ToolContext) -> None:
    with pytest.raises(RegionError, match="would leave the slide"):
        zoom(
            ctx,
            target="roi",
            box=[0, 0, 256, 256],
            view_px=[256, 256],
            downsample=1.0,
            pan="left",
            pan_fraction=1.0,
        )


@pytest.mark.shared_data
def test_the_most_cellular_field_is_darker_in_haematoxylin_than_the_tissue_around(
    cmu_slide: Path, tmp_path: Path
) -> None:
    slides = SlideCache()
    try:
        slide = slides.open(cmu_slide)
        ctx = ToolContext(
            settings=Settings(home=tmp_path),
            case_id="z",
            evidence_id="E1.1",
            slides=slides,
            slide=slide,
        )
        out = zoom(ctx, target="cellular", magnification=20)
        x0, y0, x1, y1 = out.box
        assert (x1 - x0, y1 - y0) == (1024, 1024)  # one 20x view, whole on the slide
        assert any("proxy for cellularity" in n for n in out.notes)
        tissue = slides.tissue(slide, ctx.settings.thumbnail_px)
        h = haematoxylin_od(slide.thumbnail(ctx.settings.thumbnail_px)[0])
        mask = tissue.mask
        h = h[: mask.shape[0], : mask.shape[1]]
        d = tissue.downsample
        rows = slice(round(y0 / d), round(y1 / d))
        cols = slice(round(x0 / d), round(x1 / d))
        chosen = float(h[rows, cols][mask[rows, cols]].mean())
        assert chosen > 1.1 * float(h[mask].mean())  # darker than the slide's tissue on average
        centre = zoom(ctx, target="tissue_region", region_index=1, magnification=20)
        cx0, cy0, cx1, cy1 = centre.box
        rows = slice(round(cy0 / d), round(cy1 / d))
        cols = slice(round(cx0 / d), round(cx1 / d))
        assert chosen > float(h[rows, cols][mask[rows, cols]].mean())
    finally:
        slides.close()


def test_a_tissue_region_counted_from_the_smallest(tmp_path: Path) -> None:
    """Three fragments of different sizes: -1 is the smallest, and what runs reports its rank."""
    width, height = 2048, 1024
    rgba = np.full((height, width, 4), 255, dtype=np.uint8)
    yy, xx = np.mgrid[0:height, 0:width]
    for cx, r in ((300, 250), (1000, 150), (1700, 80)):  # largest, middle, smallest
        rgba[(xx - cx) ** 2 + (yy - height // 2) ** 2 <= r * r, :3] = TISSUE_RGB
    path = tmp_path / "three.tiff"
    write_pyramid(path, rgba, SYNTHETIC_MPP)
    slides = SlideCache()
    try:
        ctx = ToolContext(
            settings=Settings(home=tmp_path, max_view_px=256),
            case_id="z",
            evidence_id="E1.1",
            slides=slides,
            slide=slides.open(path),
        )
        assert tissue_rank(-1, ctx) == 3
        assert tissue_rank(-3, ctx) == 1
        smallest = tissue_box(-1, ctx)
        assert smallest.center[0] == pytest.approx(1700, abs=16)
        assert tissue_box(-2, ctx) == tissue_box(2, ctx)
        ranked = ranked_from_largest(ZoomInput(target="tissue_region", region_index=-1), ctx)
        assert isinstance(ranked, ZoomInput)
        assert ranked.region_index == 3
        out = zoom(ctx, **ranked.model_dump())
        assert out.region_index == 3
        assert (out.box[0] + out.box[2]) / 2 == pytest.approx(1700, abs=16)
        with pytest.raises(ToolInputError, match="region -4 does not exist: the slide has 3"):
            tissue_box(-4, ctx)
    finally:
        slides.close()
