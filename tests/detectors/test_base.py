"""The shared machinery: tile means against numpy, region grouping, the analysis cache."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.detectors._base import regions, tile_mean


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
