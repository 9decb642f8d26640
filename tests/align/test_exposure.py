"""Exposure matching: gain, offset, clipped highlights, the monotone curve."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import render, rigid

from evalkit.align import align_reference, fit_exposure

H, W = 192, 256


@pytest.mark.parametrize(("gain", "offset"), [(1.0, 0.0), (0.8, 0.0), (1.15, -0.03), (0.9, 0.05)])
def test_gain_and_offset_are_recovered_within_one_percent(scene, noisy_of, gain, offset):
    # reference = (scene - offset) / gain, so fitting it to the noisy shot gives gain, offset
    reference = np.clip((scene - offset) / gain, 0, 1).astype(np.float32)
    fit = fit_exposure(reference, noisy_of(scene))
    assert fit.gain == pytest.approx((gain,) * 3, rel=0.01)
    assert fit.offset == pytest.approx((offset,) * 3, abs=0.005)


def test_clipped_highlights_in_the_noisy_shot_do_not_bias_the_gain(scene, noisy_of):
    # The noisy shot is 1.4x brighter than the reference: its highlights clip at 1.
    noisy = noisy_of(np.clip(scene * 1.4, 0, 1))
    assert (noisy >= 1).mean() > 0.05
    fit = fit_exposure(scene, noisy)
    assert fit.gain == pytest.approx((1.4,) * 3, rel=0.01)
    # An ordinary least-squares line through all pixels is pulled down by the clip.
    naive = np.polyfit(scene[..., 1].ravel(), noisy[..., 1].ravel(), 1)[0]
    assert naive < 1.4 * 0.97


def test_clipped_highlights_in_the_reference_are_left_out(scene, noisy_of):
    reference = np.clip(scene * 1.3, 0, 1)  # a reference overexposed by 1.3x
    fit = fit_exposure(reference, noisy_of(scene))
    assert fit.gain == pytest.approx((1 / 1.3,) * 3, rel=0.01)
    assert fit.fraction_used < 0.97


def test_channel_gains_are_fitted_separately(scene, noisy_of):
    wb = np.array([1.1, 1.0, 0.85], np.float32)
    fit = fit_exposure(np.clip(scene / wb, 0, 1), noisy_of(scene))
    assert fit.gain == pytest.approx(tuple(wb), rel=0.01)


def test_curve_model_follows_a_gamma_difference_the_line_cannot(scene, noisy_of):
    noisy = noisy_of(scene**0.7, sigma=0.02)
    linear = fit_exposure(scene, noisy, model="linear")
    curve = fit_exposure(scene, noisy, model="curve")
    target = scene**0.7
    error_linear = np.abs(linear.apply(scene) - target).mean()
    error_curve = np.abs(curve.apply(scene) - target).mean()
    assert error_curve < 0.5 * error_linear
    assert all(np.all(np.diff(y) >= 0) for y in curve.curve_y)  # monotone


def test_exposure_is_fitted_against_the_noisy_shot_not_a_candidate(scene, noisy_of):
    noisy = noisy_of(scene)
    alignment = align_reference(scene, noisy, method="none")
    # A denoiser that raised contrast would be matched away if the fit saw it; the
    # fit only sees (reference, noisy), so the aligned reference stays unchanged.
    assert np.mean(alignment.gain) == pytest.approx(1.0, abs=0.01)


def test_whole_pixel_shift_without_exposure_matching_is_an_exact_cut(scene):
    reference = render(H, W, matrix=rigid(3, -2))
    alignment = align_reference(reference, scene, match_exposure=None)
    assert np.array_equal(alignment.reference, alignment.crop(scene))


def test_fit_with_everything_clipped_falls_back_to_identity():
    white = np.ones((64, 64, 3), np.float32)
    fit = fit_exposure(white, white)
    assert fit.gain == (1.0, 1.0, 1.0) and fit.offset == (0.0, 0.0, 0.0)
    assert fit.fraction_used == 0.0


def test_unknown_model_is_refused(scene):
    with pytest.raises(ValueError, match="model must be one of"):
        fit_exposure(scene, scene, model="spline")


def test_identical_images_fit_exactly_the_identity(scene):
    fit = fit_exposure(scene, scene)
    assert fit.gain == pytest.approx((1.0,) * 3, abs=1e-4)
    assert fit.offset == pytest.approx((0.0,) * 3, abs=1e-4)


@pytest.mark.parametrize("gain", [0.85, 0.97, 1.03, 1.15])
@pytest.mark.parametrize("offset", [0.0, 0.02])
def test_small_and_large_exposure_changes_are_recovered_with_clipping(
    scene, noisy_of, gain, offset
):
    # The noisy shot is the scene brightened or darkened: where 1.15x pushes it past
    # white, or the offset and noise past black, the camera clipped it.
    noisy = noisy_of(np.clip(scene * gain + offset, 0, 1), sigma=0.04)
    fit = fit_exposure(scene, noisy)
    assert fit.gain == pytest.approx((gain,) * 3, rel=0.01)
    assert fit.offset == pytest.approx((offset,) * 3, abs=0.004)
    # The uncertainty is honest: the error is within a few of its sigmas.
    errors = np.abs(np.array(fit.gain) - gain) / np.maximum(fit.gain_sigma, 1e-6)
    assert (errors < 5).all() and (np.array(fit.gain_sigma) < 0.01).all()


def test_the_noisy_shots_clipped_shadows_do_not_bias_the_fit(scene, noisy_of):
    # A dark, very noisy shot: 4 % of its values are clipped at black.
    noisy = noisy_of(scene * 0.5, sigma=0.1)
    assert (noisy <= 0).mean() > 0.03
    fit = fit_exposure(scene, noisy)
    gain, sigma = np.array(fit.gain), np.array(fit.gain_sigma)
    assert (np.abs(gain - 0.5) < 3 * sigma).all() and (sigma < 0.02).all()
    # Only the midtones are left to fit: the line is right there, within 2 codes.
    midtone = gain * 0.7 + np.array(fit.offset)
    assert midtone == pytest.approx([0.35] * 3, abs=2 / 255)
