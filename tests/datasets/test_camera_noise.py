"""The camera noise model behaves like a Bayer camera, not like added white noise."""

import cv2
import numpy as np
import pytest

from evalkit.datasets._camera_noise import (
    _BILINEAR_KERNELS,
    CameraModel,
    _demosaic,
    _poisson_quantile,
    linear_to_srgb,
    simulate_shot,
    srgb_to_linear,
)

DEFAULT_CAMERA = CameraModel()


def _flat_shot(level, *, iso, seed=0, size=96, camera=DEFAULT_CAMERA):
    scene = np.full((size, size, 3), level, dtype=np.float64)
    return simulate_shot(scene, iso=iso, rng=np.random.default_rng(seed), camera=camera)


def _linear(shot):
    return srgb_to_linear(shot.astype(np.float64))


def _correlation(a, b):
    return np.corrcoef(a.ravel(), b.ravel())[0, 1]


def test_shot_is_float32_in_unit_range_with_scene_shape():
    shot = _flat_shot(0.5, iso=12800, size=33)
    assert shot.shape == (33, 33, 3)
    assert shot.dtype == np.float32
    assert shot.min() >= 0.0 and shot.max() <= 1.0


def test_mean_colour_is_preserved_through_white_balance_and_ccm():
    # Three ColorChecker colours (light skin, blue sky, green) side by side.
    colours = srgb_to_linear(np.array([[0.76, 0.59, 0.51], [0.38, 0.48, 0.62], [0.27, 0.58, 0.29]]))
    scene = np.repeat(colours[None], 64, axis=0).repeat(64, axis=1)
    shot = _linear(simulate_shot(scene, iso=800, rng=np.random.default_rng(0)))
    for i, colour in enumerate(colours):
        band = shot[:, 64 * i + 4 : 64 * i + 60]  # away from the edges between bands
        np.testing.assert_allclose(band.mean(axis=(0, 1)), colour, rtol=0.02)


def test_noise_variance_is_affine_in_signal_as_for_poisson_gaussian_noise():
    levels = np.array([0.02, 0.05, 0.1, 0.2, 0.4, 0.6])  # linear, away from clipping
    variances = np.array([_linear(_flat_shot(v, iso=3200))[..., 1].var() for v in levels])
    assert np.all(np.diff(variances) > 0)
    slope, intercept = np.polyfit(levels, variances, 1)
    fitted = slope * levels + intercept
    assert np.max(np.abs(variances - fitted) / variances) < 0.1
    assert intercept > 0  # read noise: variance left at zero signal


def test_noise_variance_grows_with_iso():
    variances = [_linear(_flat_shot(0.2, iso=iso))[..., 1].var() for iso in (100, 800, 3200, 12800)]
    assert np.all(np.diff(variances) > 0)
    # Shot noise dominates from ISO 800 on: 4x the ISO, about 4x the variance.
    assert 3.0 < variances[2] / variances[1] < 5.0


@pytest.mark.parametrize(
    ("iso", "low", "high"),
    [(100, 41.0, 47.0), (800, 32.0, 37.0), (3200, 26.0, 31.0), (12800, 18.5, 23.0)],
)
def test_mid_grey_psnr_is_that_of_a_real_camera_at_each_iso(iso, low, high):
    # Targets from the design brief (33, 27, 21 dB at ISO 800, 3200, 12800),
    # what an APS-C sensor gives at 100 % without noise reduction.
    shot = _flat_shot(srgb_to_linear(0.5), iso=iso, size=128).astype(np.float64)
    psnr = 10 * np.log10(1 / np.mean((shot - 0.5) ** 2))
    assert low < psnr < high


def test_noise_is_spatially_correlated_by_demosaicking():
    residual = _flat_shot(0.2, iso=3200, size=128).astype(np.float64)
    residual -= residual.mean(axis=(0, 1))
    for channel in range(3):
        neighbours = _correlation(residual[:, :-1, channel], residual[:, 1:, channel])
        assert neighbours > 0.25  # white noise would give about 0


def test_noise_is_correlated_across_channels():
    residual = _flat_shot(0.2, iso=3200, size=128).astype(np.float64)
    residual -= residual.mean(axis=(0, 1))
    assert abs(_correlation(residual[..., 0], residual[..., 2])) > 0.2


def test_red_and_blue_are_noisier_than_green_after_white_balance():
    std = _flat_shot(0.2, iso=3200).reshape(-1, 3).std(axis=0)
    assert std[0] > 1.3 * std[1] and std[2] > 1.3 * std[1]


def test_same_seed_gives_identical_shot_and_another_seed_does_not():
    first, again = _flat_shot(0.3, iso=3200, seed=5), _flat_shot(0.3, iso=3200, seed=5)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, _flat_shot(0.3, iso=3200, seed=6))


def test_changing_one_scene_pixel_changes_only_its_demosaic_neighbourhood():
    scene = np.full((32, 32, 3), 0.3)
    changed = scene.copy()
    changed[16, 16] = 0.9
    a = simulate_shot(scene, iso=3200, rng=np.random.default_rng(0))
    b = simulate_shot(changed, iso=3200, rng=np.random.default_rng(0))
    rows, cols = np.nonzero(np.any(a != b, axis=2))
    assert rows.size > 0
    assert np.all(np.abs(rows - 16) <= 2) and np.all(np.abs(cols - 16) <= 2)


def test_scene_values_above_one_clip_to_white():
    shot = _flat_shot(2.0, iso=800, size=16)
    assert np.all(shot == 1.0)


def test_jpeg_output_is_on_the_8_bit_grid():
    shot = _flat_shot(0.3, iso=3200, size=64)
    jpeg = simulate_shot(
        np.full((64, 64, 3), 0.3), iso=3200, rng=np.random.default_rng(0), jpeg_quality=80
    )
    codes = jpeg.astype(np.float64) * 255
    np.testing.assert_allclose(codes, np.rint(codes), atol=1e-3)
    assert not np.array_equal(jpeg, shot)


def test_bilinear_demosaic_matches_opencv_bayer_conversion():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 60000, size=(40, 60)).astype(np.uint16)
    ours = _demosaic(codes.astype(np.float64), _BILINEAR_KERNELS)
    # OpenCV names the pattern by the second row's pair: BG2RGB is RGGB in RGB order.
    theirs = cv2.cvtColor(codes, cv2.COLOR_BayerBG2RGB).astype(np.float64)
    np.testing.assert_allclose(ours[2:-2, 2:-2], theirs[2:-2, 2:-2], atol=1.0)


@pytest.mark.parametrize("demosaic", ["malvar", "bilinear"])
def test_pure_red_scene_comes_out_red(demosaic):
    scene = np.zeros((16, 16, 3))
    scene[..., 0] = 0.5
    camera = CameraModel(demosaic=demosaic, ccm=((1, 0, 0), (0, 1, 0), (0, 0, 1)))
    shot = simulate_shot(scene, iso=100, rng=np.random.default_rng(0), camera=camera)
    red, green, blue = shot[4:-4, 4:-4].reshape(-1, 3).mean(axis=0)
    assert red > 0.7 and green < 0.05 and blue < 0.05  # sRGB of linear 0.5 is 0.735


@pytest.mark.parametrize("mean", [0.5, 5.0, 39.0, 41.0, 400.0])
def test_poisson_sampling_by_inversion_has_poisson_moments(mean):
    # Both branches: exact summation below 40, Cornish-Fisher above.
    rng = np.random.default_rng(1)
    counts = _poisson_quantile(rng.random(200_000), np.full(200_000, mean))
    assert np.all(counts == np.floor(counts)) and counts.min() >= 0
    assert abs(counts.mean() - mean) < 4 * np.sqrt(mean / 200_000)
    assert abs(counts.var() / mean - 1) < 0.03


def test_srgb_curve_round_trips_and_maps_half_to_0_214():
    values = np.linspace(0.0, 1.0, 101)
    np.testing.assert_allclose(linear_to_srgb(srgb_to_linear(values)), values, atol=1e-12)
    assert srgb_to_linear(np.float64(0.5)) == pytest.approx(0.21404, abs=1e-5)


def test_shot_rejects_iso_below_base():
    with pytest.raises(ValueError, match="iso must be >= the base ISO"):
        _flat_shot(0.2, iso=50)


@pytest.mark.parametrize(
    ("scene", "match"),
    [
        (np.zeros((8, 8)), r"shape \(H, W, 3\)"),
        (np.zeros((1, 8, 3)), r"H, W >= 2"),
        (np.full((8, 8, 3), -0.1), "finite and >= 0"),
        (np.full((8, 8, 3), np.nan), "finite and >= 0"),
    ],
)
def test_shot_rejects_malformed_scenes(scene, match):
    with pytest.raises(ValueError, match=match):
        simulate_shot(scene, iso=800, rng=np.random.default_rng(0))


def test_shot_rejects_out_of_range_jpeg_quality():
    with pytest.raises(ValueError, match="jpeg_quality"):
        simulate_shot(np.zeros((8, 8, 3)), iso=800, rng=np.random.default_rng(0), jpeg_quality=0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"full_well_e": 0}, "must be positive"),
        ({"read_noise_e": -1}, "must be >= 0"),
        ({"wb_gains": (0.5, 1.0, 1.0)}, "wb_gains"),
        ({"ccm": ((1, 0, 0), (0, 1, 0), (0, 0, 2))}, "rows sum to 1"),
        ({"demosaic": "vng"}, "demosaic must be one of"),
        ({"black_level_dn": 9000}, "black_level_dn"),
    ],
)
def test_camera_model_rejects_impossible_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CameraModel(**kwargs)


def test_read_noise_in_electrons_falls_with_iso_towards_the_upstream_floor():
    camera = CameraModel()
    noise = [camera.read_noise_total_e(iso) for iso in (100, 800, 12800)]
    assert noise[0] > noise[1] > noise[2] > camera.read_noise_e
    assert noise[2] == pytest.approx(camera.read_noise_e, rel=0.01)
