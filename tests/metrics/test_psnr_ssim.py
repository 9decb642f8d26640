"""PSNR and SSIM against scikit-image, the reference implementation they imitate."""

from __future__ import annotations

import os

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio as skimage_psnr
from skimage.metrics import structural_similarity as skimage_ssim

from evalkit.metrics import METRICS, psnr, ssim


def _skimage_ssim(reference, candidate, data_range=1.0):
    return skimage_ssim(
        reference,
        candidate,
        data_range=data_range,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        channel_axis=-1 if reference.ndim == 3 else None,
    )


CASES = [
    ("colour", (64, 80, 3)),
    ("grey", (64, 80)),
    ("tiny", (11, 11, 3)),
    ("odd", (37, 301, 3)),
    ("tall strip", (600, 23, 3)),
]


@pytest.mark.parametrize(("label", "shape"), CASES)
def test_ssim_matches_skimage_within_1e4(label, shape, rng):
    reference = rng.random(shape, dtype=np.float32)
    candidate = np.clip(reference + rng.normal(0, 0.05, shape), 0, 1).astype(np.float32)
    assert ssim(reference, candidate) == pytest.approx(
        _skimage_ssim(reference, candidate), abs=1e-4
    )


def test_ssim_matches_skimage_on_a_natural_photo_with_8bit_codes():
    from skimage.data import chelsea

    reference = chelsea().astype(np.float64)
    candidate = np.clip(reference + np.random.default_rng(0).normal(0, 12, reference.shape), 0, 255)
    expected = _skimage_ssim(reference, candidate, data_range=255)
    assert ssim(reference, candidate, data_range=255) == pytest.approx(expected, abs=1e-4)


def test_ssim_of_identical_images_is_one(smooth_image):
    assert ssim(smooth_image, smooth_image) == pytest.approx(1.0, abs=1e-6)


def test_ssim_is_symmetric(smooth_image, rng):
    other = np.clip(smooth_image + rng.normal(0, 0.1, smooth_image.shape), 0, 1)
    assert ssim(smooth_image, other) == pytest.approx(ssim(other, smooth_image), abs=1e-6)


def test_ssim_refuses_images_smaller_than_its_window():
    with pytest.raises(ValueError, match="smaller than the 11-pixel SSIM window"):
        ssim(np.zeros((10, 40, 3)), np.zeros((10, 40, 3)))


@pytest.mark.parametrize(("label", "shape"), CASES)
def test_psnr_matches_skimage(label, shape, rng):
    reference = rng.random(shape, dtype=np.float32)
    candidate = np.clip(reference + rng.normal(0, 0.05, shape), 0, 1).astype(np.float32)
    expected = skimage_psnr(reference, candidate, data_range=1.0)
    assert psnr(reference, candidate) == pytest.approx(expected, abs=1e-6)


def test_psnr_on_16bit_codes_uses_the_given_data_range(rng):
    reference = rng.integers(0, 65536, (20, 30, 3), dtype=np.uint16)
    candidate = np.clip(reference.astype(np.int64) + 500, 0, 65535).astype(np.uint16)
    expected = skimage_psnr(reference, candidate, data_range=65535)
    assert psnr(reference, candidate, data_range=65535) == pytest.approx(expected, abs=1e-9)


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: nothing to split")
@pytest.mark.parametrize("metric", [psnr, ssim])
def test_value_does_not_depend_on_the_thread_count(metric, rng):
    # A serial run (all cores) and a run in one-thread workers must give the same
    # table; long reductions split over threads round differently.
    import cv2
    from threadpoolctl import threadpool_limits

    reference = rng.random((600, 700, 3), dtype=np.float32)
    candidate = np.clip(reference + rng.normal(0, 0.05, reference.shape), 0, 1).astype(np.float32)
    values = []
    default = cv2.getNumThreads()
    try:
        for threads in (1, 2):
            cv2.setNumThreads(threads)
            with threadpool_limits(threads):
                values.append(metric(reference, candidate))
    finally:
        cv2.setNumThreads(default)
    assert values[0] == values[1]


def test_psnr_is_inf_for_identical_images(smooth_image):
    assert psnr(smooth_image, smooth_image) == float("inf")


@pytest.mark.parametrize(
    ("reference", "candidate", "data_range", "error", "match"),
    [
        (np.zeros((8, 8, 3)), np.zeros((8, 9, 3)), 1.0, ValueError, "shapes differ"),
        (np.zeros((8, 8, 3)), np.zeros((8, 8, 3)), 0.0, ValueError, "data_range must be positive"),
        (np.zeros(8), np.zeros(8), 1.0, ValueError, r"shape \(H, W\)"),
        ([[0.0]], np.zeros((1, 1)), 1.0, TypeError, "numpy array"),
    ],
)
def test_bad_inputs_say_expected_and_actual(reference, candidate, data_range, error, match):
    with pytest.raises(error, match=match.replace("must be positive", "must be a positive")):
        psnr(reference, candidate, data_range=data_range)


@pytest.mark.parametrize("name", ["psnr", "ssim"])
def test_registered_metric_declares_direction_and_range(name):
    spec = METRICS.get(name)
    assert spec.higher_is_better is True
    low, high = spec.range
    assert low < high


def test_unknown_metric_suggests_a_name():
    with pytest.raises(KeyError, match="did you mean 'ssim'"):
        METRICS.get("ssmi")
