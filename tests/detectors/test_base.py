"""The shared machinery: tile means against numpy, strip-wise statistics against the whole
frame, heat maps, region grouping."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.detectors import HeatMap
from evalkit.detectors._base import (
    BANDS,
    FINE_SIGMA,
    MID_SIGMA,
    Analysis,
    luma,
    regions,
    tile_mean,
)


def _reduceat_mean(plane, tile):
    rows = np.arange(0, plane.shape[0], tile)
    cols = np.arange(0, plane.shape[1], tile)
    sums = np.add.reduceat(np.add.reduceat(plane.astype(np.float64), rows, 0), cols, 1)
    counts = np.outer(
        np.diff(np.append(rows, plane.shape[0])), np.diff(np.append(cols, plane.shape[1]))
    )
    return sums / (counts[..., None] if plane.ndim == 3 else counts)


@pytest.mark.parametrize("shape", [(64, 64), (100, 70), (33, 97, 3), (10, 5), (31, 64)])
def test_tile_mean_matches_numpy_reduceat_including_ragged_edges(shape, rng):
    plane = rng.random(shape).astype(np.float32)
    np.testing.assert_allclose(tile_mean(plane, 16), _reduceat_mean(plane, 16), atol=1e-6)


def test_tile_mean_of_a_mask_is_the_flagged_fraction():
    mask = np.zeros((40, 40), bool)
    mask[:16, :8] = True
    assert tile_mean(mask, 16)[0, 0] == pytest.approx(0.5)


def test_regions_merge_across_a_one_tile_gap_but_not_a_two_tile_gap():
    flags = np.zeros((3, 9), bool)
    flags[1, [0, 2, 5]] = True  # 0 and 2: one tile apart; 2 and 5: two tiles apart
    found = regions(flags, 10, (30, 90))
    assert sorted(r.bbox for r in found) == [(0, 10, 30, 10), (50, 10, 10, 10)]


def test_region_boxes_are_clipped_to_the_image():
    flags = np.ones((2, 2), bool)
    (region,) = regions(flags, 32, (40, 50))
    assert region.bbox == (0, 0, 50, 40)
    assert region.area_fraction == pytest.approx(1.0)


def _whole_frame_stats(image, other, tile):
    """Band energies and cross-energies made on whole-frame planes, the direct way."""
    import cv2

    def bands(y):
        blur1 = cv2.GaussianBlur(y, (0, 0), FINE_SIGMA, borderType=cv2.BORDER_REFLECT)
        step = float(np.sqrt(MID_SIGMA**2 - FINE_SIGMA**2))
        blur3 = cv2.GaussianBlur(blur1, (0, 0), step, borderType=cv2.BORDER_REFLECT)
        return {"fine": y - blur1, "mid": blur1 - blur3}

    first, second = bands(luma(image)), bands(luma(other))
    energy = {band: tile_mean(first[band] * first[band], tile) for band in BANDS}
    cross = {band: tile_mean(first[band] * second[band], tile) for band in BANDS}
    return energy, cross, tile_mean(luma(image), tile)


@pytest.mark.parametrize("strip_rows", [16, 40, 256])
def test_strip_wise_statistics_equal_the_whole_frames_bit_for_bit(strip_rows, rng, monkeypatch):
    monkeypatch.setattr("evalkit.detectors._base.STRIP_ROWS", strip_rows)
    reference = rng.random((203, 61, 3), dtype=np.float32)
    candidate = rng.random((203, 61, 3), dtype=np.float32)
    energy, cross, mean = _whole_frame_stats(reference, candidate, 8)
    an = Analysis(reference, candidate, None, 8)
    for band in BANDS:
        np.testing.assert_array_equal(an.stats("reference").energy[band], energy[band])
        np.testing.assert_array_equal(an.cross(band), cross[band])
    np.testing.assert_array_equal(an.stats("reference").mean, mean)
    np.testing.assert_array_equal(an.luma_mean("candidate", 5), tile_mean(luma(candidate), 5))


def test_a_heat_map_paints_whole_cells_and_leaves_uncovered_pixels_at_zero():
    values = np.array([[1.0, 2.0], [3.0, 4.0]])
    painted = HeatMap(values, 3, (7, 5), boxes=(((0, 6, 2, 1), 9.0),)).pixels()
    assert painted.dtype == np.float32 and painted.shape == (7, 5)
    np.testing.assert_array_equal(painted[:3, :3], 1.0)
    np.testing.assert_array_equal(painted[3:6, 3:], 4.0)
    np.testing.assert_array_equal(painted[6, 2:], 0.0)  # beyond the cells
    np.testing.assert_array_equal(painted[6, :2], 9.0)  # a box over them
