"""Each convention preset against the implementation it imitates."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.metrics import PRESETS, Convention, evaluate, get_preset
from evalkit.metrics._ssim import matlab_downsample


def _basicsr(import_skipping_package_init):
    return import_skipping_package_init("basicsr.metrics.psnr_ssim", ["basicsr", "basicsr.metrics"])


@pytest.mark.parametrize("crop_border", [0, 4])
def test_basicsr_preset_matches_basicsr_psnr_and_ssim_on_the_y_channel(
    crop_border, make_pair, import_skipping_package_init
):
    # BasicSR reads images with cv2 (BGR, 0-255 codes); evalkit's are RGB in [0, 1].
    basicsr = _basicsr(import_skipping_package_init)
    reference, candidate = make_pair((60, 72, 3), dtype=np.uint8, data_range=255, noise=0.06)
    bgr = [image[..., ::-1].astype(np.float64) for image in (reference, candidate)]
    expected_psnr = basicsr.calculate_psnr(*bgr, crop_border, test_y_channel=True)
    expected_ssim = basicsr.calculate_ssim(*bgr, crop_border, test_y_channel=True)
    options = {"preset": "basicsr", "crop_border": crop_border, "data_range": 255}
    # BasicSR converts to Y in float32; evalkit in float64: ~1e-5 dB apart.
    assert evaluate("psnr", reference, candidate, **options).value == pytest.approx(
        expected_psnr, abs=1e-4
    )
    assert evaluate("ssim", reference, candidate, **options).value == pytest.approx(
        expected_ssim, abs=1e-5
    )


def test_pyiqa_preset_matches_pyiqa_ssim_and_psnr(make_pair, import_skipping_package_init):
    torch = pytest.importorskip("torch")
    packages = ["pyiqa", "pyiqa.archs", "pyiqa.utils"]
    ssim_arch = import_skipping_package_init("pyiqa.archs.ssim_arch", packages)
    psnr_arch = import_skipping_package_init("pyiqa.archs.psnr_arch", packages)
    reference, candidate = make_pair((64, 80, 3), noise=0.1)

    def tensor(image):
        return torch.from_numpy(image.transpose(2, 0, 1).astype(np.float64))[None]

    # pyiqa takes the distorted image first.
    expected_ssim = ssim_arch.SSIM()(tensor(candidate), tensor(reference)).item()
    expected_psnr = psnr_arch.PSNR()(tensor(candidate), tensor(reference)).item()
    assert evaluate("ssim", reference, candidate, preset="pyiqa").value == pytest.approx(
        expected_ssim, abs=1e-6
    )
    # pyiqa adds eps = 1e-8 to the MSE.
    assert evaluate("psnr", reference, candidate, preset="pyiqa").value == pytest.approx(
        expected_psnr, abs=1e-4
    )


def _wang_ssim_m(img1, img2):
    """Line-by-line transcription of Wang's ssim.m (2004) for grey images in 0-255,
    the reference the ``matlab`` preset imitates (MATLAB itself is not available):
    f = max(1, round(min(M, N) / 256)); lpf = ones(f, f) / f^2;
    img = imfilter(img, lpf, 'symmetric', 'same'); img = img(1:f:end, 1:f:end);
    then 11x11 Gaussian (sigma 1.5) 'valid' filter2, K = [0.01 0.03], L = 255."""
    from scipy.signal import correlate2d

    rows, cols = img1.shape
    f = max(1, int(np.floor(min(rows, cols) / 256 + 0.5)))
    if f > 1:
        # imfilter 'same' puts the kernel origin at floor((f + 1) / 2) (1-based).
        before = (f + 1) // 2 - 1
        after = f - 1 - before
        out = []
        for img in (img1, img2):
            padded = np.pad(img, ((before, after), (before, after)), mode="symmetric")
            box = np.ones((f, f)) / f**2
            out.append(correlate2d(padded, box, mode="valid")[::f, ::f])
        img1, img2 = out
    g = np.exp(-((np.arange(11) - 5) ** 2) / (2 * 1.5**2))
    window = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def filt(image):
        return correlate2d(image, window, mode="valid")

    mu1, mu2 = filt(img1), filt(img2)
    s11 = filt(img1 * img1) - mu1**2
    s22 = filt(img2 * img2) - mu2**2
    s12 = filt(img1 * img2) - mu1 * mu2
    ssim_map = ((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1**2 + mu2**2 + c1) * (s11 + s22 + c2))
    return ssim_map.mean()


@pytest.mark.parametrize(("shape", "factor"), [((100, 90), 1), ((520, 390), 2), ((700, 800), 3)])
def test_matlab_preset_matches_wangs_ssim_m_with_its_downsampling(shape, factor, make_pair):
    reference, candidate = make_pair(shape, dtype=np.float64, noise=0.1)
    assert max(1, round(min(shape) / 256)) == factor
    expected = _wang_ssim_m(reference * 255, candidate * 255)
    value = evaluate("ssim", reference, candidate, preset="matlab").value
    assert value == pytest.approx(expected, abs=1e-6)


def test_matlab_preset_measures_rgb_through_matlabs_rgb2gray(make_pair):
    reference, candidate = make_pair((60, 60, 3), dtype=np.float64)
    weights = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])
    expected = _wang_ssim_m(reference @ weights * 255, candidate @ weights * 255)
    assert evaluate("ssim", reference, candidate, preset="matlab").value == pytest.approx(
        expected, abs=1e-6
    )


def test_matlab_downsampling_factor_is_rounded_min_side_over_256():
    assert matlab_downsample(np.zeros((383, 1000))).shape == (383, 1000)
    assert matlab_downsample(np.zeros((384, 1000))).shape == (192, 500)
    assert matlab_downsample(np.zeros((4000, 5000))).shape == (250, 313)


def test_default_preset_changes_nothing(pair):
    reference, candidate = pair
    from evalkit.metrics import psnr, ssim

    assert evaluate("psnr", reference, candidate).value == psnr(reference, candidate)
    assert evaluate("ssim", reference, candidate).value == ssim(reference, candidate)


def test_every_result_records_its_convention(pair):
    result = evaluate("ssim", *pair, preset="matlab")
    assert result.convention["preset"] == "matlab"
    assert result.convention["colour"] == "gray_matlab"
    assert result.convention["option.downsample"] is True


def test_every_preset_says_what_it_imitates():
    assert set(PRESETS) == {"default", "basicsr", "matlab", "pyiqa"}
    assert all(preset.imitates for preset in PRESETS.values())


def test_unknown_preset_lists_the_known_ones(pair):
    with pytest.raises(KeyError, match="known: default, basicsr"):
        get_preset("basicSR")


def test_convention_refuses_unknown_colour():
    with pytest.raises(ValueError, match="colour must be one of"):
        Convention(colour="ycbcr")
