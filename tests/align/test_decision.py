"""Corrections only where the data show them: identity on registered pairs, the
moves and exposure changes that are there recovered, and the record of each."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import render, rigid

from evalkit.align import AlignmentError, align_reference
from evalkit.align._decision import Evidence, decide, weigh
from evalkit.metrics import peak_signal_noise_ratio

H, W = 192, 256


@pytest.mark.parametrize("seed", range(5))
def test_a_registered_equally_exposed_pair_is_left_exactly_as_it_is(scene, seed):
    noisy_rng = np.random.default_rng(seed)
    noisy = np.clip(scene + noisy_rng.normal(0, 0.05, scene.shape), 0, 1).astype(np.float32)
    alignment = align_reference(scene, noisy)
    assert alignment.is_identity, [c.reason for c in alignment.corrections]
    assert alignment.reference is scene or np.array_equal(alignment.reference, scene)
    assert alignment.box == (0, 0, W, H)
    assert not any(c.applied for c in alignment.corrections)
    unaligned = align_reference(scene, noisy, mode="never")
    assert peak_signal_noise_ratio(alignment.reference, noisy) == peak_signal_noise_ratio(
        unaligned.reference, noisy
    )


def test_identical_images_apply_nothing(scene):
    alignment = align_reference(scene, scene)
    assert alignment.is_identity
    assert [c.name for c in alignment.corrections] == ["shift", "exposure"]
    assert alignment.correction("exposure").gain_db == 0.0


@pytest.mark.parametrize(("dx", "dy"), [(0.3, -0.7), (1.4, 0.4), (-2.5, 3.25), (0.15, 0.0)])
def test_a_real_shift_is_applied_with_its_estimate_and_uncertainty(scene, noisy_of, dx, dy):
    reference = render(H, W, matrix=rigid(dx, dy))
    alignment = align_reference(reference, noisy_of(scene, sigma=0.03))
    shift = alignment.correction("shift")
    assert shift.applied, shift.reason
    assert (shift.estimate["dx"], shift.estimate["dy"]) == pytest.approx((-dx, -dy), abs=0.05)
    assert 0 < shift.uncertainty["dx"] < 0.05 and 0 < shift.uncertainty["dy"] < 0.05
    assert shift.gain_db > 0.01 and shift.p < 1e-6
    assert alignment.method == "translation"
    assert not alignment.correction("exposure").applied  # the exposure was not changed


@pytest.mark.parametrize(
    ("gain", "offset"), [(1.03, 0.0), (0.97, 0.01), (1.15, 0.0), (0.85, -0.02)]
)
def test_a_real_exposure_change_is_applied_and_recovered(scene, noisy_of, gain, offset):
    noisy = noisy_of(np.clip(scene * gain + offset, 0, 1), sigma=0.03)
    alignment = align_reference(scene, noisy)
    exposure = alignment.correction("exposure")
    assert exposure.applied, exposure.reason
    assert alignment.gain == pytest.approx((gain,) * 3, rel=0.01)
    assert alignment.offset == pytest.approx((offset,) * 3, abs=0.004)
    assert not alignment.correction("shift").applied


def test_always_applies_what_auto_declines(scene, noisy_of):
    noisy = noisy_of(scene)
    assert align_reference(scene, noisy).is_identity
    forced = align_reference(scene, noisy, mode="always")
    assert forced.exposure is not None and forced.correction("exposure").applied
    # A shift below the estimate's resolution (0.02 px) is no shift, even so.
    assert forced.correction("shift").reason == "not applied: no movement measured"


def test_never_estimates_nothing_and_says_why(scene, noisy_of):
    reference = render(H, W, matrix=rigid(2.3, 1.1))
    alignment = align_reference(reference, noisy_of(scene), mode="never", reason="my reason")
    assert alignment.is_identity and alignment.reference is not None
    assert [c.reason for c in alignment.corrections] == ["my reason", "my reason"]
    assert json.loads(json.dumps(alignment.to_dict()))["corrections"][0]["applied"] is False


def _photographed(dx=0.0, dy=0.0):
    """The scene as a camera records it moved by (dx, dy) px: sampled exactly at 4x,
    blurred by the lens (0.5 px), integrated over each pixel; tones short of white,
    so that 8 % brighter loses nothing to clipping."""
    import cv2

    fine = render(4 * H, 4 * W, matrix=np.array([[0.25, 0, dx], [0, 0.25, dy], [0, 0, 1]]))
    fine = cv2.GaussianBlur(fine, (0, 0), 2.0)
    pixels = fine.reshape(H, 4, W, 4, 3).mean(axis=(1, 3))
    return (0.05 + 0.85 * pixels).astype(np.float32)


def test_a_moved_and_brightened_reference_scores_as_the_unmoved_one(noisy_of):
    scene = _photographed()
    noisy = noisy_of(scene, sigma=0.05)
    candidate = np.clip(scene + np.random.default_rng(5).normal(0, 0.01, scene.shape), 0, 1)
    moved = _photographed(1.4, 0.4) * np.float32(1.08)
    aligned = align_reference(moved, noisy)
    unmoved = align_reference(scene, noisy)
    assert unmoved.is_identity and [c.applied for c in aligned.corrections] == [True, True]
    truth = peak_signal_noise_ratio(aligned.crop(scene), aligned.crop(candidate))
    score = peak_signal_noise_ratio(aligned.reference, aligned.crop(candidate))
    assert abs(score - truth) <= 0.3
    assert abs(score - peak_signal_noise_ratio(unmoved.reference, candidate)) <= 0.3


def test_evidence_is_the_fit_gained_and_its_significance_across_tiles(scene, noisy_of):
    noisy = noisy_of(scene, sigma=0.05)
    worse = np.clip(scene + 0.05, 0, 1)
    evidence = weigh(noisy, worse, scene)
    assert evidence.gain_db > 1 and evidence.p < 1e-10  # every tile improves
    assert weigh(noisy, scene, scene) == Evidence(gain_db=0.0, p=1.0, tiles=64)
    applied, reason = decide(Evidence(gain_db=0.005, p=1e-12), "auto")
    assert not applied and "needs 0.01 dB at p < 3.2e-05" in reason
    assert not decide(Evidence(gain_db=1.0, p=1e-4), "auto")[0]
    assert decide(Evidence(gain_db=0.005, p=1.0), "always")[0]
    applied, reason = decide(Evidence(gain_db=1.0, p=1e-9, tiles=8), "auto")
    assert not applied and "too small to test it" in reason


def test_a_shift_that_matters_only_at_the_few_edges_of_a_smooth_frame_is_applied(noisy_of):
    # A gradient with one sharp square: the shift changes little but the square's
    # edges, so the per-tile gains are very uneven (a t-test gave 2.6 sigma).
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    scene = np.stack([x / W, y / H, 0.5 + 0 * x], axis=-1)
    scene[60:120, 80:160] = [0.9, 0.1, 0.2]
    moved = np.ascontiguousarray(scene[:, 2:])
    noisy = noisy_of(np.ascontiguousarray(scene[:, :-2]), sigma=0.02)
    alignment = align_reference(moved, noisy)
    shift = alignment.correction("shift")
    assert shift.applied, shift.reason
    assert alignment.shift == pytest.approx((-2.0, 0.0), abs=0.05)


@pytest.mark.parametrize("seed", range(40))
def test_noise_alone_never_earns_a_correction_on_a_small_frame(seed):
    # 32x64 px: 32 tiles of 8 px; a t-test at 4 sigma let 1 in 450 such pairs through.
    scene = render(32, 64)
    rng = np.random.default_rng(seed)
    noisy = np.clip(scene + rng.normal(0, 0.05, scene.shape), 0, 1).astype(np.float32)
    assert align_reference(scene, noisy).is_identity


@pytest.mark.parametrize("shape", [(20, 20), (1, 64), (64, 1), (31, 200)])
def test_a_frame_too_small_to_register_is_left_as_it_is(shape):
    image = np.random.default_rng(0).random((*shape, 3), dtype=np.float32)
    alignment = align_reference(image, image)
    assert alignment.is_identity
    assert "too small to register" in alignment.correction("shift").reason
    with pytest.raises(AlignmentError, match="too small to register"):
        align_reference(image, image, mode="always")


def test_a_constant_channel_is_fitted_as_the_identity():
    grey = np.full((64, 64, 3), 0.5, np.float32)
    assert align_reference(grey, grey).is_identity


def test_unknown_mode_is_refused(scene):
    with pytest.raises(ValueError, match="mode must be one of"):
        align_reference(scene, scene, mode="sometimes")
