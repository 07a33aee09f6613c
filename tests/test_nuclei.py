from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from eval.detection_metrics import match_by_centroid, match_by_iou
from eval.nuclei_hgsc import ASSUMED_MPP, CENTROID_RADIUS_PX, label_centroids
from tools.nuclei import NucleiResult, detect_nuclei, estimate_mpp, stain_od

PINK = (235, 170, 205)
PURPLE = (90, 45, 140)
RADIUS = 8  # px; 50 µm² at 0.5 µm/px


def _centres() -> list[tuple[int, int]]:
    """Twelve isolated nuclei on a grid plus three touching pairs (x, y)."""
    grid = [(30 + 40 * i, 30 + 40 * j) for i in range(4) for j in range(3)]
    pairs = [(30, 160), (45, 160), (110, 160), (125, 160), (30, 200), (30, 215)]
    return grid + pairs


def _paint(
    centres: list[tuple[int, int]],
    size: int = 240,
    seed: int = 0,
    radius: int = RADIUS,
    nucleus: tuple[int, int, int] = PURPLE,
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.empty((size, size, 3), dtype=np.float64)
    img[:] = PINK
    yy, xx = np.mgrid[:size, :size]
    for x, y in centres:
        img[(xx - x) ** 2 + (yy - y) ** 2 <= radius**2] = nucleus
    img += rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def synthetic() -> tuple[NucleiResult, np.ndarray]:
    centres = _centres()
    return detect_nuclei(_paint(centres), mpp=0.5), np.array(centres, dtype=float)


def test_finds_every_disc(synthetic: tuple[NucleiResult, np.ndarray]) -> None:
    result, truth = synthetic
    assert len(result.nuclei) == len(truth)
    pred = np.array([n.centroid for n in result.nuclei])
    scores = match_by_centroid(pred, truth, max_distance=3.0)
    assert scores.tp == len(truth)
    assert scores.mean_distance < 1.5


def test_touching_pairs_are_split(synthetic: tuple[NucleiResult, np.ndarray]) -> None:
    result, _ = synthetic
    for x, y in [(30, 160), (45, 160), (30, 200), (30, 215)]:
        assert result.labels[y, x] > 0
    assert result.labels[160, 30] != result.labels[160, 45]
    assert result.labels[200, 30] != result.labels[215, 30]


def test_areas_and_fields(synthetic: tuple[NucleiResult, np.ndarray]) -> None:
    result, _ = synthetic
    assert result.labels.dtype == np.int32
    disc = np.pi * RADIUS**2
    for n in result.nuclei:
        assert 0.6 * disc < n.area_px < 1.3 * disc
        assert 0.0 <= n.score <= 1.0
        assert 0.0 <= n.eccentricity < 0.9
        assert n.hematoxylin > 0.05
        x0, y0, x1, y1 = n.box
        assert x0 <= n.centroid[0] < x1
        assert y0 <= n.centroid[1] < y1
        assert int(np.count_nonzero(result.labels == n.label)) == n.area_px
    isolated = [n for n in result.nuclei if n.centroid[1] < 120]
    assert all(abs(n.area_px - disc) < 0.2 * disc for n in isolated)
    assert all(n.score > 0.5 for n in isolated)


def test_deterministic() -> None:
    img = _paint(_centres())
    a, b = detect_nuclei(img), detect_nuclei(img)
    assert np.array_equal(a.labels, b.labels)
    assert a.nuclei == b.nuclei


@pytest.mark.parametrize(
    "img",
    [
        np.full((300, 300, 3), 255, dtype=np.uint8),
        np.zeros((0, 0, 3), dtype=np.uint8),
        np.full((1, 1, 3), 128, dtype=np.uint8),
        np.full((5, 7, 3), PINK, dtype=np.uint8),
        _paint([], size=200, seed=1),
    ],
    ids=["white", "empty", "one-pixel", "tiny-pink", "noisy-pink"],
)
def test_no_tissue_gives_no_nuclei(img: np.ndarray) -> None:
    result = detect_nuclei(img)
    assert result.nuclei == []
    assert result.labels.shape == img.shape[:2]
    assert not result.labels.any()


def test_mpp_scales_size_filter() -> None:
    img = _paint([(40, 40)], size=80)
    assert len(detect_nuclei(img, mpp=0.5).nuclei) == 1
    # at 0.1 µm/px the same disc is 2 µm², below the smallest nucleus
    assert detect_nuclei(img, mpp=0.1).nuclei == []


def test_a_faintly_stained_section_is_read_by_its_own_contrast() -> None:
    # a frozen section's haematoxylin reads ~0.02 OD where a good section reads ~0.1-0.2
    faint = (170, 110, 180)  # 0.036 OD
    centres = [(30 + 40 * i, 30 + 40 * j) for i in range(5) for j in range(5)]
    result = detect_nuclei(_paint(centres, nucleus=faint), mpp=0.5)
    assert len(result.nuclei) == len(centres)


def test_without_mpp_the_scale_is_estimated_from_the_nuclei() -> None:
    centres = [(20 + 30 * i, 20 + 30 * j) for i in range(8) for j in range(8)]
    big = estimate_mpp(_paint(centres, size=260, radius=10))
    small = estimate_mpp(_paint(centres, size=260, radius=5))
    assert big is not None
    assert small is not None
    assert 1.7 < small / big < 2.3  # half the nuclear radius in pixels: twice the µm per pixel
    result = detect_nuclei(_paint(centres, size=260, radius=5))
    assert result.mpp_estimated
    assert result.mpp_used == pytest.approx(small)
    assert len(result.nuclei) == len(centres)
    assert not detect_nuclei(_paint(centres, size=260, radius=5), mpp=0.5).mpp_estimated
    assert estimate_mpp(_paint([], size=200, seed=1)) is None


def test_small_debris_is_judged_against_the_images_own_nuclei() -> None:
    # nuclei of 113 µm² and dark specks of 16 µm²: above the absolute floor (15 µm²), but
    # under a third of the image's typical nucleus, so fragments and debris, not nuclei
    nuclei = [(30 + 60 * i, 30 + 60 * j) for i in range(5) for j in range(2)]
    specks = [(30 + 60 * i, 150) for i in range(5)] + [(60 + 60 * i, 210) for i in range(4)]
    img = _paint(nuclei, size=300, radius=12)
    yy, xx = np.mgrid[:300, :300]
    for x, y in specks:
        img[(xx - x) ** 2 + (yy - y) ** 2 <= 4.5**2] = PURPLE
    for mpp in (0.5, None):  # given, and estimated from the nuclei
        result = detect_nuclei(img, mpp=mpp)
        assert len(result.nuclei) == len(nuclei)
        assert not any(result.labels[y, x] for x, y in specks)
    # an image of small nuclei alone keeps them: the floor is relative to the image
    alone = detect_nuclei(_paint(specks, size=300, radius=5), mpp=0.5)
    assert len(alone.nuclei) == len(specks)


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="RGB"):
        detect_nuclei(np.zeros((10, 10), dtype=np.uint8))
    with pytest.raises(ValueError, match="mpp"):
        detect_nuclei(np.zeros((10, 10, 3), dtype=np.uint8), mpp=0.0)


@pytest.mark.shared_data
@pytest.mark.slow
def test_hgsc_above_measured_floors(shared_data: Path) -> None:
    folder = shared_data / "histolytics_hgsc"
    rgb = np.asarray(Image.open(folder / "hgsc_nest.jpg").convert("RGB"))
    with np.load(folder / "hgsc_nest_inst_mask.npz") as npz:
        truth = npz["nuc_raster"]
    result = detect_nuclei(rgb, mpp=ASSUMED_MPP)
    iou = match_by_iou(result.labels, truth)
    pred_xy = np.array([n.centroid for n in result.nuclei])
    cen = match_by_centroid(pred_xy, label_centroids(truth), CENTROID_RADIUS_PX)
    # measured (OpenCV detector, 2x2 tiles, area floor 0.3 of the typical nucleus): F1@IoU0.5
    # 0.624, centroid F1 0.749, count error +38 of 1294 (+252 with the 15 µm² floor alone)
    assert result.tiles == 4
    assert iou.f1 > 0.60
    assert cen.f1 > 0.73
    assert abs(iou.count_error) <= 0.08 * len(np.unique(truth[truth > 0]))
    one = detect_nuclei(rgb, mpp=ASSUMED_MPP, workers=1)
    assert np.array_equal(one.labels, result.labels)  # threads do not change the answer


def test_a_nucleus_cut_by_a_tile_seam_is_counted_once() -> None:
    # 1300 px wide: two tiles whose cores meet at x = 650; discs straddle the seam
    on_seam = [(650, 40), (646, 100), (655, 160), (641, 220), (659, 220)]
    away = [(100, 60), (300, 150), (1000, 80), (1200, 220)]
    truth = np.array(on_seam + away, dtype=float)
    img = _paint(on_seam + away, size=1300, seed=2)[:280]
    result = detect_nuclei(img, mpp=0.5, workers=2)
    assert result.tiles == 2
    assert len(result.nuclei) == len(truth)
    scores = match_by_centroid(np.array([n.centroid for n in result.nuclei]), truth, 3.0)
    assert scores.tp == len(truth)
    for x, y in on_seam:
        assert result.labels[y, x] > 0
        n = result.nuclei[result.labels[y, x] - 1]
        assert n.box[0] < 650 <= n.box[2] or abs(x - 650) > RADIUS  # whole across the seam
    assert np.array_equal(detect_nuclei(img, mpp=0.5, workers=1).labels, result.labels)


RED_CELL = (70, 10, 40)  # haematoxylin 0.08 OD (above the threshold), but brown and eosin 0.1+


def test_red_cells_and_fibres_are_not_counted() -> None:
    nuclei = [(30 + 45 * i, 30) for i in range(5)] + [(30 + 45 * i, 210) for i in range(5)]
    img = _paint(nuclei)
    yy, xx = np.mgrid[:240, :240]
    img[(xx - 60) ** 2 + (yy - 120) ** 2 <= 9**2] = RED_CELL  # a red cell
    img[118:121, 120:220] = PURPLE  # a fibre fragment: 1.5 µm by 50 µm
    h_red = stain_od(np.array([[RED_CELL]], dtype=np.uint8))[0, 0, 0]
    h_nucleus = stain_od(np.array([[PURPLE]], dtype=np.uint8))[0, 0, 0]
    assert h_red > 0.6 * h_nucleus  # haematoxylin alone would take it for a nucleus
    result = detect_nuclei(img, mpp=0.5)
    assert len(result.nuclei) == len(nuclei)
    assert result.labels[120, 60] == 0
    assert not result.labels[118:121, 120:220].any()


@pytest.mark.shared_data
def test_a_slide_without_mpp_gives_hundreds_of_nuclei_in_a_20x_field(shared_data: Path) -> None:
    # the TCGA frozen section records no µm/px and reads reddish under the fixed stain matrix;
    # "count the nuclei in the largest tissue area" once answered 1 for a 2048 px field
    from tools.slide import Slide
    from tools.types import Box

    with Slide.open(shared_data / "wsi" / "tcga-cr-7395-01a-01-ts1.svs") as slide:
        box = Box(x0=1800, y0=1300, x1=2824, y1=2324)
        rgb = slide.read_region(box, level=0, max_pixels=1 << 22).image
    result = detect_nuclei(rgb)
    assert result.mpp_estimated
    assert 0.4 < result.mpp_used < 1.2  # a 10x-40x scan: nuclei 5-10 µm are 5-20 px
    # measured 2881 (estimated 0.88 µm/px): a cellular carcinoma field of ~0.8 mm²
    assert 500 < len(result.nuclei) < 8000
