"""Built-in denoisers: registry, contract and that they actually denoise."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.denoisers import DENOISERS, make_denoiser
from evalkit.errors import ConfigError
from evalkit.metrics import psnr

FAST_BUILTINS = ["noisy", "gaussian", "bilateral", "nlm", "tv", "wavelet", "opencv_nlm"]


@pytest.fixture
def noisy_pair(rng):
    """A 192x192 crop of a natural photo with Gaussian noise of sigma 0.08."""
    from skimage.data import astronaut

    clean = (astronaut()[100:292, 150:342] / 255).astype(np.float32)
    noisy = np.clip(clean + rng.normal(0, 0.08, clean.shape), 0, 1)
    return clean, noisy.astype(np.float32)


@pytest.mark.parametrize("name", FAST_BUILTINS)
def test_builtin_returns_float32_image_of_input_shape_in_unit_range(name, noisy_pair):
    _, noisy = noisy_pair
    output = make_denoiser(name).denoise(noisy)
    assert output.shape == noisy.shape
    assert output.dtype == np.float32
    assert output.min() >= 0.0 and output.max() <= 1.0


@pytest.mark.parametrize("name", [n for n in FAST_BUILTINS if n != "noisy"])
def test_builtin_improves_psnr_over_the_noisy_input(name, noisy_pair):
    clean, noisy = noisy_pair
    output = make_denoiser(name).denoise(noisy)
    assert psnr(clean, output) > psnr(clean, noisy) + 1.0


def test_identity_baseline_returns_the_input(noisy_pair):
    _, noisy = noisy_pair
    np.testing.assert_array_equal(make_denoiser("noisy").denoise(noisy), noisy)


def test_every_builtin_is_listed_with_a_summary():
    for name in [*FAST_BUILTINS, "bm3d", "command", "folder"]:
        assert DENOISERS.get(name).summary
    assert DENOISERS.get("bm3d").slow


def test_unknown_name_suggests_close_names():
    with pytest.raises(ConfigError, match=r"unknown denoiser 'nml'; did you mean 'nlm'"):
        make_denoiser("nml")


def test_unknown_parameter_lists_accepted_ones():
    with pytest.raises(ConfigError, match=r"denoiser 'nlm'.*it takes: h, patch_size"):
        make_denoiser("nlm", strength=3)


def test_parameters_reach_the_function(noisy_pair):
    _, noisy = noisy_pair
    mild = make_denoiser("gaussian", sigma=0.5).denoise(noisy)
    strong = make_denoiser("gaussian", sigma=3.0).denoise(noisy)
    assert strong.std() < mild.std()
