"""Noise estimation from one image, and the removed-noise ("method noise") analysis."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.datasets._camera_noise import simulate_shot, srgb_to_linear
from evalkit.noise import analyze_residual, estimate_noise_profile


@pytest.fixture(scope="module")
def photo():
    """A 256 x 256 natural photo, its camera-noised ISO 3200 shot."""
    from skimage.data import astronaut

    clean = (astronaut()[100:356, 128:384] / 255).astype(np.float32)
    noisy = simulate_shot(srgb_to_linear(clean), iso=3200, rng=np.random.default_rng(5))
    return clean, noisy


def test_profile_recovers_signal_dependent_white_noise(rng):
    # Ramps of flat patches with Poisson-Gaussian noise: variance 0.002 * level + 0.0001.
    levels = np.repeat(np.linspace(0.1, 0.9, 8), 32)
    clean = np.broadcast_to(levels[None, :, None], (128, 256, 3)).astype(np.float32)
    sigma = np.sqrt(0.002 * clean + 0.0001)
    noisy = clean + rng.normal(size=clean.shape).astype(np.float32) * sigma
    profile = estimate_noise_profile(noisy)
    measured = np.isfinite(profile.sigma[:, 1])
    expected = np.sqrt(0.002 * profile.levels[measured] + 0.0001)
    np.testing.assert_allclose(profile.sigma[measured, 1], expected, rtol=0.15)
    a, b = profile.poisson_gaussian[1]
    assert a == pytest.approx(0.002, rel=0.3) and b == pytest.approx(0.0001, abs=0.0001)


def test_profile_of_a_camera_shot_is_within_a_third_of_the_truth(photo):
    clean, noisy = photo
    truth = (noisy - clean).std(axis=(0, 1))
    predicted = estimate_noise_profile(noisy).sigma_at(clean)
    np.testing.assert_allclose(np.sqrt((predicted**2).mean(axis=(0, 1))), truth, rtol=0.35)


def test_profile_sigma_grows_with_iso(photo):
    clean, _ = photo
    overall = [
        estimate_noise_profile(
            simulate_shot(srgb_to_linear(clean), iso=iso, rng=np.random.default_rng(1))
        ).overall.mean()
        for iso in (800, 3200, 12800)
    ]
    assert overall[0] < overall[1] < overall[2]


def test_removing_exactly_the_noise_looks_like_noise(photo):
    clean, noisy = photo
    analysis = analyze_residual(noisy, clean)
    assert analysis.looks_like_noise
    assert abs(analysis.structure_correlation) < 0.08
    assert 0.6 < analysis.removed_fraction < 2.0
    assert analysis.detail_tiles.mean() < 0.05


def test_removing_detail_with_the_noise_is_seen(photo):
    import cv2

    _, noisy = photo
    analysis = analyze_residual(noisy, cv2.GaussianBlur(noisy, (0, 0), 2.0))
    assert not analysis.looks_like_noise
    assert analysis.structure_correlation > 0.3
    assert analysis.detail_tiles.mean() > 0.4
    assert analysis.detail_map.shape == noisy.shape[:2]


def test_residual_summary_is_json_ready(photo):
    import json

    clean, noisy = photo
    summary = analyze_residual(noisy, clean).to_dict()
    assert set(summary) >= {"noise_sigma", "removed_sigma", "structure_correlation"}
    json.dumps(summary)
