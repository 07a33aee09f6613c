"""Box conversions between level-0 px, read images and the resized model input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.errors import ModelOutputError, ToolInputError
from tests.fixtures.slides import TISSUE_RGB, SyntheticSlide
from tools.geometry import (
    PROCESSOR_MAX_PIXELS,
    PROCESSOR_MIN_PIXELS,
    level0_box_to_image,
    level0_box_to_model,
    model_box_to_level0,
    model_input_size,
    norm1000_box_to_level0,
    read_image_size,
)
from tools.slide import Slide
from tools.types import Box

DEFAULTS = {"min_pixels": PROCESSOR_MIN_PIXELS, "max_pixels": PROCESSOR_MAX_PIXELS}

# (width, height) -> (model width, model height), with transformers' processor defaults
# min_pixels = 56*56 = 3136 and max_pixels = 28*28*1280 = 1_003_520.
SMART_RESIZE_TABLE = {
    # 1000/28 = 35.71 -> 36 -> 1008; 1008² = 1_016_064 > 1_003_520, so scale down:
    # beta = sqrt(1e6 / 1_003_520) = 0.99824; 1000 / beta / 28 = 35.78 -> floor 35 -> 980.
    (1000, 1000): (980, 980),
    # 224 = 8 * 28 and 224² = 50_176 is inside the budget: unchanged.
    (224, 224): (224, 224),
    # 1932 x 1092 = 2_109_744 too large; beta = sqrt(2_073_600 / 1_003_520) = 1.43747;
    # 1920 / beta / 28 = 47.70 -> 47 -> 1316; 1080 / beta / 28 = 26.83 -> 26 -> 728.
    (1920, 1080): (1316, 728),
    # 2000 x 1000: beta = sqrt(2e6 / 1_003_520) = 1.41173 -> 50 * 28 = 1400, 25 * 28 = 700.
    (2000, 1000): (1400, 700),
    # 100/28 = 3.57 -> 4 -> 112; 30/28 = 1.07 -> 1 -> 28; 112 * 28 = 3136 = min_pixels: kept.
    (100, 30): (112, 28),
    # 10 x 10: 28 * 28 = 784 < 3136; beta = sqrt(3136 / 100) = 5.6; 10 * 5.6 / 28 = 2 -> 56.
    (10, 10): (56, 56),
    # 42/28 = 1.5 rounds half to even -> 2 -> 56 (Python's round, as in the reference).
    (42, 42): (56, 56),
    # 70/28 = 2.5 rounds half to even -> 2 -> 56.
    (70, 70): (56, 56),
    # 28 x 5000 (aspect 178.6): 5000/28 = 178.57 -> 179 -> 5012; 28 * 5012 = 140_336: kept.
    (28, 5000): (28, 5012),
}


@pytest.mark.parametrize("size", sorted(SMART_RESIZE_TABLE))
def test_smart_resize_table(size: tuple[int, int]) -> None:
    assert model_input_size(*size, **DEFAULTS) == SMART_RESIZE_TABLE[size]


def test_smart_resize_with_qwen_vl_utils_budget() -> None:
    # qwen-vl-utils: MIN_PIXELS = 4 * 28 * 28, MAX_PIXELS = 16384 * 28 * 28.
    assert model_input_size(1000, 1000, min_pixels=3136, max_pixels=16384 * 784) == (1008, 1008)


@pytest.mark.parametrize("seed", range(5))
def test_smart_resize_properties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(200):
        width, height = (int(v) for v in rng.integers(28, 4000, size=2))
        if max(width, height) / min(width, height) > 10:
            continue
        model_w, model_h = model_input_size(width, height, **DEFAULTS)
        assert model_w % 28 == 0
        assert model_h % 28 == 0
        assert PROCESSOR_MIN_PIXELS <= model_w * model_h <= PROCESSOR_MAX_PIXELS
        assert math.isclose(model_w / model_h, width / height, rel_tol=0.6)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"width": 0, "height": 10, **DEFAULTS},
        {"width": 10, "height": 2500, **DEFAULTS},
        {"width": 100, "height": 100, "min_pixels": 10_000, "max_pixels": 100},
    ],
)
def test_smart_resize_refuses_bad_input(kwargs: dict[str, int]) -> None:
    with pytest.raises(ToolInputError):
        model_input_size(**kwargs)


REGION = Box(x0=10_000, y0=20_000, x1=12_000, y1=21_000)  # 2000 x 1000 level-0 px


def test_read_image_size_and_model_size_of_a_downsampled_region() -> None:
    assert read_image_size(REGION, 2.0) == (1000, 500)
    # 1000/28 -> 36 -> 1008, 500/28 = 17.86 -> 18 -> 504; 508_032 px is inside the budget.
    assert model_input_size(1000, 500, **DEFAULTS) == (1008, 504)


def test_model_box_to_level0_scales_and_offsets() -> None:
    box = model_box_to_level0([504, 252, 1008, 504], model_size=(1008, 504), region=REGION)
    assert box == Box(x0=11_000, y0=20_500, x1=12_000, y1=21_000)


def test_model_box_rounds_outward() -> None:
    region = Box(x0=0, y0=0, x1=100, y1=100)
    box = model_box_to_level0([10.5, 10.5, 20.5, 20.5], model_size=(100, 100), region=region)
    assert box == Box(x0=10, y0=10, x1=21, y1=21)


def test_model_box_at_the_edges_is_clipped_to_the_region() -> None:
    box = model_box_to_level0([900, 400, 1100, 600], model_size=(1008, 504), region=REGION)
    assert (box.x1, box.y1) == (REGION.x1, REGION.y1)
    assert box.x0 == 10_000 + math.floor(900 * 2000 / 1008)


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        ([1100, 600, 1200, 700], "outside the 1008×504 px model input"),
        ([float("nan"), 1, 2, 3], "not 4 finite numbers"),
        ([1, 2, 3], "not 4 finite numbers"),
        (["a", 1, 2, 3], "not 4 finite numbers"),
        ([50, 50, 40, 60], "empty or has its corners swapped"),
    ],
)
def test_bad_model_boxes_raise(box: list[float], expected: str) -> None:
    with pytest.raises(ModelOutputError, match=expected):
        model_box_to_level0(box, model_size=(1008, 504), region=REGION)


def test_norm1000_box_to_level0() -> None:
    box = norm1000_box_to_level0([250, 500, 750, 1000], region=REGION)
    assert box == Box(x0=10_500, y0=20_500, x1=11_500, y1=21_000)


def test_downsample_snaps_outward_to_the_read_image_grid() -> None:
    region = Box(x0=0, y0=0, x1=400, y1=400)  # read at downsample 4: a 100 x 100 image
    box = model_box_to_level0(
        [10.2, 10.2, 20.1, 20.1], model_size=(112, 112), region=region, downsample=4
    )
    image = level0_box_to_image(box, region, 4)
    assert all(float(v).is_integer() for v in image)
    assert box == Box(x0=36, y0=36, x1=72, y1=72)


def _random_case(rng: np.random.Generator) -> tuple[Box, float, Box]:
    x0, y0 = (int(v) for v in rng.integers(0, 50_000, size=2))
    width, height = (int(v) for v in rng.integers(200, 8_000, size=2))
    region = Box.from_xywh(x0, y0, width, height)
    downsample = float(rng.uniform(1.0, 8.0))
    bx0 = x0 + int(rng.integers(0, width - 20))
    by0 = y0 + int(rng.integers(0, height - 20))
    bx1 = int(rng.integers(bx0 + 1, region.x1 + 1))
    by1 = int(rng.integers(by0 + 1, region.y1 + 1))
    return region, downsample, Box(x0=bx0, y0=by0, x1=bx1, y1=by1)


@pytest.mark.parametrize("seed", range(10))
def test_level0_model_level0_round_trip(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(50):
        region, downsample, box = _random_case(rng)
        model_size = model_input_size(*read_image_size(region, downsample), **DEFAULTS)
        in_model = level0_box_to_model(box, model_size=model_size, region=region)
        back = model_box_to_level0(in_model, model_size=model_size, region=region)
        assert np.abs(np.array(back.as_list()) - box.as_list()).max() <= 1


@pytest.mark.parametrize("seed", range(10))
def test_level0_image_level0_round_trip_with_downsample(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    for _ in range(50):
        region, downsample, box = _random_case(rng)
        image_size = read_image_size(region, downsample)
        in_image = level0_box_to_image(box, region, downsample)
        back = model_box_to_level0(in_image, model_size=image_size, region=region)
        assert np.abs(np.array(back.as_list()) - box.as_list()).max() <= 1
        snapped = model_box_to_level0(
            in_image, model_size=image_size, region=region, downsample=downsample
        )
        pixel = max(region.width / image_size[0], region.height / image_size[1])
        assert snapped.x0 <= box.x0
        assert snapped.y0 <= box.y0
        assert snapped.x1 >= box.x1
        assert snapped.y1 >= box.y1
        assert np.abs(np.array(snapped.as_list()) - box.as_list()).max() <= pixel + 1


def test_boxes_found_in_a_real_read_land_on_the_slide(synthetic_slide: SyntheticSlide) -> None:
    """Tissue found in a downsampled read maps back onto the painted ellipse in level-0 px."""
    region = Box(x0=200, y0=300, x1=1500, y1=1250)
    with Slide.open(synthetic_slide.path) as slide:
        read = slide.read_region(region, downsample=3.0, max_pixels=10_000_000)
    assert read.image.shape[1::-1] == read_image_size(region, 3.0)
    tissue = np.all(np.abs(read.image.astype(int) - TISSUE_RGB) < 30, axis=2)
    ys, xs = np.nonzero(tissue)
    image_box = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    model_w, model_h = model_input_size(read.image.shape[1], read.image.shape[0], **DEFAULTS)
    sx, sy = model_w / read.image.shape[1], model_h / read.image.shape[0]
    as_model = [image_box[0] * sx, image_box[1] * sy, image_box[2] * sx, image_box[3] * sy]
    found = model_box_to_level0(as_model, model_size=(model_w, model_h), region=region)
    cx, cy, rx, ry = synthetic_slide.ellipse
    expected = [cx - rx, cy - ry, cx + rx, cy + ry]
    assert np.abs(np.array(found.as_list()) - expected).max() <= 2 * 3.0
