"""Per-pixel maps and scoring inside a mask or a box."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import structural_similarity as skimage_ssim

from evalkit.metrics import evaluate, metric_map, psnr, ssim, structural_similarity_map


def test_ssim_map_matches_skimages_full_map(pair):
    reference, candidate = pair
    _, expected = skimage_ssim(
        reference,
        candidate,
        data_range=1.0,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        channel_axis=-1,
        full=True,
    )
    ssim_map = structural_similarity_map(reference, candidate)
    assert ssim_map.shape == reference.shape[:2] and ssim_map.dtype == np.float32
    np.testing.assert_allclose(ssim_map, expected.mean(axis=2), atol=2e-4)


def test_mean_of_the_interior_of_the_ssim_map_is_ssim(pair):
    reference, candidate = pair
    ssim_map = structural_similarity_map(reference, candidate)
    assert ssim_map[5:-5, 5:-5].mean(dtype=np.float64) == pytest.approx(
        ssim(reference, candidate), abs=1e-6
    )


@pytest.mark.parametrize("name", ["psnr", "ssim", "deltae2000", "flip"])
def test_metric_with_a_map_returns_one_of_the_image_size(name, pair):
    assert metric_map(name, *pair).shape == pair[0].shape[:2]


def test_metric_without_a_map_says_which_have_one(pair):
    with pytest.raises(ValueError, match=r"has no per-pixel map.*ssim"):
        metric_map("ms_ssim", *pair)


def test_masked_psnr_uses_only_the_masked_pixels(pair):
    reference, candidate = pair
    mask = np.zeros(reference.shape[:2], bool)
    mask[::3, ::2] = True
    expected = psnr(reference[mask], candidate[mask])
    result = evaluate("psnr", reference, candidate, mask=mask)
    assert result.value == pytest.approx(expected, abs=1e-9)
    assert result.convention["region"] == "mask"


def test_damage_outside_the_mask_does_not_change_the_masked_score(pair):
    reference, candidate = pair
    mask = np.zeros(reference.shape[:2], bool)
    mask[10:40, 10:60] = True
    mask[20:30, 20:30] = False
    damaged = candidate.copy()
    damaged[60:, :] = 0
    for name in ("psnr", "deltae2000"):
        assert evaluate(name, reference, damaged, mask=mask).value == pytest.approx(
            evaluate(name, reference, candidate, mask=mask).value
        )


def test_bbox_scores_the_crop(pair):
    reference, candidate = pair
    result = evaluate("ssim", reference, candidate, bbox=(10, 20, 50, 40))
    assert result.value == ssim(reference[20:60, 10:60], candidate[20:60, 10:60])
    assert result.convention["region"] == "bbox"


def test_metric_without_a_masked_form_uses_the_masks_bounding_box(make_pair):
    reference, candidate = make_pair((200, 220, 3))
    mask = np.zeros((200, 220), bool)
    mask[5:190, 10:200] = True
    mask[50, 50] = False
    result = evaluate("ms_ssim", reference, candidate, mask=mask)
    assert result.convention["region"] == "bbox of mask"


def test_with_map_returns_the_map_of_the_measured_area(pair):
    result = evaluate("ssim", *pair, bbox=(0, 0, 40, 30), with_map=True)
    assert result.map.shape == (30, 40)


def test_an_empty_mask_is_refused(pair):
    with pytest.raises(ValueError, match="selects no pixels"):
        evaluate("psnr", *pair, mask=np.zeros(pair[0].shape[:2], bool))
