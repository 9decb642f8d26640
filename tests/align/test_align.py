"""Registration of a reference to its noisy shot: shifts, rotations, crop, PSNR."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import corner_error, render, rigid

from evalkit.align import Alignment, AlignmentError, align_reference
from evalkit.metrics import peak_signal_noise_ratio

H, W = 192, 256


@pytest.mark.parametrize(
    ("dx", "dy"), [(0.3, -0.7), (0.5, 0.5), (-1.25, 0.1), (2.0, -3.0), (-7.0, 4.0)]
)
def test_translation_recovers_sub_and_whole_pixel_shifts_within_a_tenth_px(scene, noisy_of, dx, dy):
    expected = rigid(dx, dy)
    reference = render(H, W, matrix=expected)
    alignment = align_reference(reference, noisy_of(scene), method="translation")
    assert corner_error(alignment, np.linalg.inv(expected)) <= 0.1
    assert alignment.shift == pytest.approx((-dx, -dy), abs=0.1)


@pytest.mark.parametrize("method", ["affine", "homography"])
@pytest.mark.parametrize("degrees", [0.5, -1.0])
def test_affine_and_homography_recover_small_rotations_within_a_tenth_px(
    scene, noisy_of, method, degrees
):
    expected = rigid(1.5, -0.5, degrees)
    reference = render(H, W, matrix=expected)
    alignment = align_reference(reference, noisy_of(scene), method=method)
    assert corner_error(alignment, np.linalg.inv(expected)) <= 0.1
    assert alignment.to_dict()["rotation_deg"] == pytest.approx(-degrees, abs=0.02)


def test_translation_leaves_a_measured_residual_when_the_reference_is_rotated(scene, noisy_of):
    reference = render(H, W, matrix=rigid(0, 0, 1.0))
    translated = align_reference(reference, noisy_of(scene), method="translation")
    affine = align_reference(reference, noisy_of(scene), method="affine")
    assert translated.residual_px > 0.5
    assert affine.residual_px < 0.1


def test_crop_box_excludes_every_pixel_the_shift_made_invalid(scene, noisy_of):
    reference = render(H, W, matrix=rigid(2.6, -3.2))
    alignment = align_reference(reference, noisy_of(scene))
    x, y, w, h = alignment.box
    # Noisy pixel (x, y) shows reference pixel (x - 2.6, y + 3.2): the left 3 columns
    # and bottom 4 rows have nothing under them; the box also keeps the Lanczos
    # kernel's 4-px reach inside the reference.
    assert x >= 3 and y + h <= H - 4
    corners = np.array([[x, y, 1], [x + w - 1, y + h - 1, 1]]).T
    mapped = alignment.matrix @ corners
    assert (mapped[0] >= 4).all() and (mapped[0] <= W - 5).all()
    assert (mapped[1] >= 4).all() and (mapped[1] <= H - 5).all()
    assert w >= W - 12 and h >= H - 12  # and it is not needlessly small
    assert alignment.reference.shape == (h, w, 3)
    assert alignment.crop(scene).shape == (h, w, 3)


def test_shifted_brightened_reference_scores_within_0_2_db_of_the_ideal(scene, noisy_of):
    noisy = noisy_of(scene, sigma=0.05)
    reference = np.clip(render(H, W, matrix=rigid(1.3, -0.6)) * 1.08 + 0.02, 0, 1)
    candidate = noisy  # the do-nothing denoiser: any candidate must score as it would
    alignment = align_reference(reference, noisy)
    ideal = peak_signal_noise_ratio(alignment.crop(scene), alignment.crop(candidate))
    naive = peak_signal_noise_ratio(reference, candidate)
    aligned = peak_signal_noise_ratio(alignment.reference, alignment.crop(candidate))
    assert abs(aligned - ideal) <= 0.2
    assert ideal - naive > 2.0  # the unaligned score would have been far off


@pytest.mark.parametrize(("dx", "dy"), [(2.0, -3.0), (1.3, -0.6)])
def test_the_callers_reference_is_never_written_to(scene, noisy_of, dx, dy):
    # A whole-pixel shift is a cut (a view of the reference), and the tone fit is
    # applied in place only on a resampled copy.
    reference = np.clip(render(H, W, matrix=rigid(dx, dy)) * 1.08 + 0.02, 0, 1)
    before = reference.copy()
    alignment = align_reference(reference, noisy_of(scene, sigma=0.02))
    assert [c.applied for c in alignment.corrections] == [True, True]
    np.testing.assert_array_equal(reference, before)


def test_method_none_keeps_the_frame_and_only_matches_exposure(scene, noisy_of):
    noisy = noisy_of(scene)
    alignment = align_reference(scene * 0.9, noisy, method="none")
    assert alignment.box == (0, 0, W, H)
    assert np.array_equal(alignment.matrix, np.eye(3))
    assert np.mean(alignment.gain) == pytest.approx(1 / 0.9, rel=0.01)


def test_identical_images_align_with_zero_shift_and_full_frame(scene):
    alignment = align_reference(scene, scene, match_exposure=None)
    assert alignment.box == (0, 0, W, H)
    assert np.array_equal(alignment.reference, scene)
    assert alignment.exposure is None


def test_to_dict_is_json_and_names_shift_gain_residual_and_crop(scene, noisy_of):
    reference = np.clip(render(H, W, matrix=rigid(1, 1)) * 1.1, 0, 1)
    alignment = align_reference(reference, noisy_of(scene))
    data = json.loads(json.dumps(alignment.to_dict()))
    assert data["method"] == "translation"
    assert data["shift_px"] == pytest.approx([-1, -1], abs=0.1)
    assert len(data["exposure"]["gain"]) == 3
    assert [c["name"] for c in data["corrections"]] == ["shift", "exposure"]
    assert all(c["applied"] for c in data["corrections"])
    assert data["crop"] == list(alignment.box)
    assert data["cropped_border_px"]["right"] == W - alignment.box[0] - alignment.box[2]
    assert data["residual_px"] is not None


def test_crop_refuses_an_image_of_another_size(scene):
    alignment = align_reference(scene, scene)
    with pytest.raises(ValueError, match="expected the noisy frame"):
        alignment.crop(scene[:10])


def test_bbox_round_trips_through_the_crop(scene):
    alignment = align_reference(render(H, W, matrix=rigid(3, 3)), scene)
    box = (50, 60, 20, 10)
    assert alignment.uncrop_bbox(alignment.crop_bbox(box)) == box
    assert alignment.crop_bbox((0, 0, 1, 1)) is None


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"method": "rigid"}, ValueError, "method must be one of"),
        ({"interpolation": "nearest"}, ValueError, "interpolation must be one of"),
        ({"match_exposure": "gamma"}, ValueError, "match_exposure must be"),
    ],
)
def test_unknown_options_are_refused(scene, kwargs, error, match):
    with pytest.raises(error, match=match):
        align_reference(scene, scene, **kwargs)


def test_inputs_of_different_shape_or_dtype_are_refused(scene):
    with pytest.raises(ValueError, match="shapes differ"):
        align_reference(scene, scene[:100])
    with pytest.raises(TypeError, match="float"):
        align_reference((scene * 255).astype(np.uint8), scene)


def test_unrelated_images_fail_or_report_a_large_residual(scene, rng):
    other = render(H, W, seed=7)
    try:
        alignment = align_reference(other, scene)
    except AlignmentError:
        return
    assert alignment.residual_px is None or alignment.residual_px > 0.5


def test_alignment_is_a_frozen_dataclass(scene):
    alignment = align_reference(scene, scene)
    assert isinstance(alignment, Alignment)
    with pytest.raises(AttributeError):
        alignment.method = "none"


def _waves(dx=0.0, dy=0.0):
    """A band-limited scene (sinusoids up to 0.45 cycles/px) sampled at (x + dx, y + dy)."""
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    out = np.full((H, W), 0.5)
    for _ in range(60):
        f, a, p, amp = rng.uniform(0.02, 0.45), rng.uniform(0, np.pi), rng.uniform(0, 6.3), 0.02
        out += amp * np.sin(2 * np.pi * f * (np.cos(a) * (x + dx) + np.sin(a) * (y + dy)) + p)
    return np.repeat(out[..., None], 3, axis=2).astype(np.float32)


@pytest.mark.parametrize(("dx", "dy"), [(0.3, -0.7), (1.4, 0.4), (-2.5, 3.25)])
def test_the_fourier_shift_is_exact_on_band_limited_detail_where_lanczos_blurs(dx, dy):
    from evalkit.align._register import shift_image, warp_into_box

    scene, truth = _waves(), _waves(dx, dy)
    inner = (slice(8, -8), slice(8, -8))
    fourier = shift_image(scene, dx, dy)[inner]
    matrix = np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1.0]])
    lanczos = warp_into_box(scene, matrix, (0, 0, W, H), "lanczos")[inner]
    error = np.sqrt(np.mean((fourier - truth[inner]) ** 2))
    assert error < 3e-4
    assert np.sqrt(np.mean((lanczos - truth[inner]) ** 2)) > 10 * error


def test_the_phase_ramp_is_scipys_fourier_shift():
    from scipy import fft, ndimage

    from evalkit.align._register import _phase_ramp

    spectrum = fft.rfft2(np.random.default_rng(0).random((40, 50)).astype(np.float32))
    ours = spectrum * _phase_ramp(fft.fftfreq(40), 0.3)[:, None]
    ours *= _phase_ramp(fft.rfftfreq(50), -0.7)[None, :]
    theirs = ndimage.fourier_shift(spectrum, (-0.3, 0.7), n=50)
    assert np.abs(ours - theirs).max() < 1e-4 * np.abs(theirs).max()
