"""MS-SSIM against piq.multi_scale_ssim, the implementation it follows."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from piq import multi_scale_ssim

from evalkit.metrics import ms_ssim


def _piq(reference, candidate, data_range):
    def tensor(image):
        image = np.asarray(image, np.float64)
        image = image[..., None] if image.ndim == 2 else image
        return torch.from_numpy(image.transpose(2, 0, 1).copy())[None]

    return multi_scale_ssim(
        tensor(candidate), tensor(reference), data_range=float(data_range)
    ).item()


@pytest.mark.parametrize(
    ("shape", "dtype", "data_range"),
    [
        ((200, 240, 3), np.float32, 1.0),
        ((161, 161, 3), np.uint8, 255),
        ((203, 171, 3), np.uint16, 65535),
        ((190, 333), np.float64, 1.0),
    ],
    ids=["rgb-float", "min-size-8bit", "odd-16bit", "grey-odd"],
)
def test_ms_ssim_matches_piq_within_1e4(shape, dtype, data_range, make_pair):
    reference, candidate = make_pair(shape, dtype=dtype, data_range=data_range, noise=0.08)
    expected = _piq(reference, candidate, data_range)
    assert ms_ssim(reference, candidate, data_range=data_range) == pytest.approx(expected, abs=1e-4)


def test_ms_ssim_of_identical_images_is_one(make_pair):
    reference, _ = make_pair((170, 170, 3))
    assert ms_ssim(reference, reference) == pytest.approx(1.0, abs=1e-6)


def test_ms_ssim_refuses_images_smaller_than_five_scales():
    with pytest.raises(ValueError, match="at least 161x161"):
        ms_ssim(np.zeros((160, 300, 3)), np.zeros((160, 300, 3)))
