"""Alignment of a 20 MP pair, against the library calls a user would otherwise make.

In `make bench` these time: evalkit's translation registration (coarse + one
1024 px sub-pixel tile), scikit-image's phase_cross_correlation run on the whole
20 MP frame with the same 1/100 px upsampling, OpenCV's phaseCorrelate on the
whole frame, and the complete align_reference (registration, decisions, Fourier
shift, tone fit, residual) against what a user would otherwise write
(scikit-image's phase_cross_correlation on the frame, then scipy.ndimage.shift
with cubic splines) and against evalkit 0.1's behaviour (every estimate applied,
Lanczos-4 resampling: ``mode="always", interpolation="lanczos"``), in the same
run, with the error of each aligned reference against the exactly shifted scene.
Marked slow: the 20 MP arrays take ~1 GB.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

pytestmark = pytest.mark.slow

H, W = 3664, 5496  # 20.1 MP, a common 3:2 sensor size


@pytest.fixture(scope="module")
def scene():
    import cv2
    import scipy.stats  # noqa: F401  (imported once per process: 1.8 s that no call should carry)

    rng = np.random.default_rng(0)
    # Texture at several scales: 1/f-like noise, built small and upscaled.
    base = np.zeros((H, W), np.float32)
    for side in (32, 128, 512, 2048):
        layer = rng.random((side * H // W, side), dtype=np.float32)
        base += cv2.resize(layer, (W, H), interpolation=cv2.INTER_CUBIC) / 4
    return np.repeat(base[..., None], 3, axis=2) * np.float32([0.9, 1.0, 0.8])


@pytest.fixture(scope="module")
def pair(scene):
    import cv2

    rng = np.random.default_rng(1)
    matrix = np.float32([[1, 0, 2.37], [0, 1, -1.62]])
    reference = cv2.warpAffine(scene, matrix, (W, H), flags=cv2.INTER_LANCZOS4)
    noisy = scene + rng.normal(0, 0.05, scene.shape).astype(np.float32)
    return np.clip(reference * 1.05, 0, 1), np.clip(noisy, 0, 1), (2.37, -1.62)


def test_evalkit_translation_on_20mp(benchmark, pair):
    from evalkit.align._register import estimate_translation, luma

    reference, noisy, truth = pair
    a, b = luma(noisy), luma(reference)
    dx, dy = benchmark(estimate_translation, a, b)
    # warpAffine's forward map moved the reference's content by (+2.37, -1.62) px.
    assert (dx, dy) == pytest.approx(truth, abs=0.05)


def test_skimage_phase_cross_correlation_on_20mp(benchmark, pair):
    from skimage.registration import phase_cross_correlation

    from evalkit.align._register import luma

    reference, noisy, _ = pair
    a, b = luma(noisy), luma(reference)
    benchmark.pedantic(
        phase_cross_correlation, args=(a, b), kwargs={"upsample_factor": 100}, rounds=1
    )


def test_opencv_phase_correlate_on_20mp(benchmark, pair):
    import cv2

    from evalkit.align._register import luma

    reference, noisy, _ = pair
    a, b = luma(noisy).astype(np.float64), luma(reference).astype(np.float64)
    benchmark.pedantic(cv2.phaseCorrelate, args=(a, b), rounds=1)


def _timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def _rms(a, b):
    return float(np.sqrt(np.mean((a.astype(np.float64) - b) ** 2)))


def test_align_reference_on_20mp(benchmark, pair, scene):
    from scipy import ndimage
    from skimage.registration import phase_cross_correlation

    from evalkit.align import align_reference
    from evalkit.align._register import luma

    reference, noisy, _ = pair
    # Timed here too, so that the ratios exist when benchmarking is disabled (make test).
    alignment, ours = _timed(benchmark.pedantic, align_reference, args=(reference, noisy), rounds=1)
    assert [c.applied for c in alignment.corrections] == [True, True]
    assert alignment.residual_px is not None and alignment.residual_px < 0.1
    assert np.mean(alignment.gain) == pytest.approx(1 / 1.05, rel=0.01)
    # Errors are measured against the scene the noisy shot was made from, inside the
    # box (the reference was made by a Lanczos warp, so no method is exact here).

    def user_way():
        shift, _, _ = phase_cross_correlation(luma(noisy), luma(reference), upsample_factor=100)
        return ndimage.shift(reference, (*shift, 0), order=3, mode="reflect")

    user_aligned, user_s = _timed(user_way)
    old, old_s = _timed(align_reference, reference, noisy, mode="always", interpolation="lanczos")
    x, y, w, h = alignment.box
    truth = scene[y : y + h, x : x + w]
    benchmark.extra_info.update(
        load_average=os.getloadavg()[0],
        evalkit_s=ours,
        user_skimage_scipy_s=user_s,
        evalkit_0_1_always_lanczos_s=old_s,
        speedup_vs_user=user_s / ours,
        ratio_vs_evalkit_0_1=ours / old_s,
        rms_vs_scene=_rms(alignment.reference, truth),
        rms_vs_scene_user=_rms(user_aligned[y : y + h, x : x + w] / np.float32(1.05), truth),
        rms_vs_scene_evalkit_0_1=_rms(old.reference, truth),
    )


def test_align_reference_on_a_registered_20mp_pair(benchmark, pair, scene):
    from evalkit.align import align_reference

    _, noisy, _ = pair
    alignment = benchmark.pedantic(align_reference, args=(np.clip(scene, 0, 1), noisy), rounds=1)
    assert alignment.is_identity
