"""Cost of all detectors on a 20 MP pair vs one scikit-image SSIM on the same pair.

Target (issue 5): every detector together faster than ``skimage.metrics.
structural_similarity`` on the pair. Both are benchmarks of one group, run in
the same session, so their ratio survives a machine loaded by others; it is read
off ``make bench``'s table, not asserted (a timing is not a test). ``make test``
runs them once (they are marked slow: a 20 MP pair needs ~1 GB per image copy
in float64 for scikit-image).
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow

HEIGHT, WIDTH = 4000, 5000


@pytest.fixture(scope="module")
def pair_20mp():
    """(reference, noisy, candidate) of 5000x4000: a tiled photo, Gaussian noise, a blur."""
    import cv2
    from skimage import data

    tile = data.astronaut().astype(np.float32) / 255
    reps = (HEIGHT // tile.shape[0] + 1, WIDTH // tile.shape[1] + 1, 1)
    reference = np.ascontiguousarray(np.tile(tile, reps)[:HEIGHT, :WIDTH])
    rng = np.random.default_rng(0)
    noisy = reference + rng.standard_normal(reference.shape, dtype=np.float32) * np.float32(0.03)
    np.clip(noisy, 0, 1, out=noisy)
    candidate = cv2.GaussianBlur(noisy, (0, 0), 1.2)
    return reference, noisy, candidate


def _run_detectors(reference, noisy, candidate):
    from evalkit.detectors import run_detectors

    return run_detectors(reference, candidate, noisy=noisy)


def _skimage_ssim(reference, candidate):
    from skimage.metrics import structural_similarity

    return structural_similarity(reference, candidate, channel_axis=-1, data_range=1.0)


@pytest.mark.benchmark(group="detectors-20mp")
def test_bench_all_detectors_20mp(benchmark, pair_20mp):
    reference, noisy, candidate = pair_20mp
    detections = benchmark.pedantic(
        _run_detectors, args=(reference, noisy, candidate), rounds=1, iterations=1
    )
    assert len(detections) == 9


@pytest.mark.benchmark(group="detectors-20mp")
def test_bench_skimage_ssim_20mp(benchmark, pair_20mp):
    reference, _, candidate = pair_20mp
    value = benchmark.pedantic(_skimage_ssim, args=(reference, candidate), rounds=1, iterations=1)
    assert 0 < value < 1
