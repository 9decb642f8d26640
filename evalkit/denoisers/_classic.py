"""Classic denoisers from scikit-image and OpenCV, as plain functions.

Every function takes a float32 (H, W, 3) sRGB image in [0, 1] and returns one of
the same shape and range. Where a method needs the noise level, ``sigma`` (in
units of the [0, 1] range) defaults to the wavelet estimate of
:func:`skimage.restoration.estimate_sigma`, averaged over channels.
"""

from __future__ import annotations

import numpy as np


def identity(noisy: np.ndarray) -> np.ndarray:
    """Return the noisy image unchanged: the baseline every denoiser must beat."""
    return noisy


def denoise_gaussian(noisy: np.ndarray, *, sigma: float = 1.0) -> np.ndarray:
    """Gaussian blur with standard deviation ``sigma`` pixels."""
    from skimage.filters import gaussian

    return _finish(gaussian(noisy, sigma=sigma, channel_axis=-1, preserve_range=True))


def denoise_bilateral(
    noisy: np.ndarray, *, sigma_color: float | None = None, sigma_spatial: float = 2.0
) -> np.ndarray:
    """Bilateral filter (scikit-image); ``sigma_color`` defaults to half the noise level."""
    from skimage.restoration import denoise_bilateral as bilateral

    sigma_color = 0.5 * estimate_noise(noisy) if sigma_color is None else sigma_color
    return _finish(
        bilateral(noisy, sigma_color=sigma_color, sigma_spatial=sigma_spatial, channel_axis=-1)
    )


def denoise_nl_means(
    noisy: np.ndarray,
    *,
    h: float = 0.8,
    patch_size: int = 5,
    patch_distance: int = 6,
    sigma: float | None = None,
) -> np.ndarray:
    """Non-local means (scikit-image, fast mode); ``h`` is a multiple of ``sigma``."""
    from skimage.restoration import denoise_nl_means as nl_means

    sigma = estimate_noise(noisy) if sigma is None else sigma
    return _finish(
        nl_means(
            noisy,
            h=h * sigma,
            sigma=sigma,
            patch_size=patch_size,
            patch_distance=patch_distance,
            fast_mode=True,
            channel_axis=-1,
        )
    )


def denoise_tv(noisy: np.ndarray, *, weight: float | None = None) -> np.ndarray:
    """Total-variation denoising (Chambolle); ``weight`` defaults to 1.5 x the noise level."""
    from skimage.restoration import denoise_tv_chambolle

    weight = 1.5 * estimate_noise(noisy) if weight is None else weight
    return _finish(denoise_tv_chambolle(noisy, weight=weight, channel_axis=-1))


def denoise_wavelet(noisy: np.ndarray, *, method: str = "BayesShrink") -> np.ndarray:
    """Wavelet shrinkage in YCbCr with soft thresholds (scikit-image)."""
    from skimage.restoration import denoise_wavelet as wavelet

    return _finish(
        wavelet(
            noisy,
            method=method,
            mode="soft",
            channel_axis=-1,
            convert2ycbcr=True,
            rescale_sigma=True,
        )
    )


def denoise_opencv_nlm(
    noisy: np.ndarray, *, h: float | None = None, h_color: float | None = None
) -> np.ndarray:
    """OpenCV's fast non-local means for colour images, on 8-bit codes.

    ``h`` and ``h_color`` are in 8-bit code values; they default to the estimated
    noise level times 255.
    """
    import cv2

    sigma = estimate_noise(noisy) * 255
    h = sigma if h is None else h
    h_color = sigma if h_color is None else h_color
    codes = np.rint(np.clip(noisy, 0, 1) * 255).astype(np.uint8)
    out = cv2.fastNlMeansDenoisingColored(codes, None, h, h_color, 7, 21)
    return out.astype(np.float32) / np.float32(255)


def denoise_bm3d(noisy: np.ndarray, *, sigma: float | None = None) -> np.ndarray:
    """BM3D (the ``bm3d`` package, optional and slow: about 24 s for 512 x 512)."""
    try:
        import bm3d
    except ImportError:
        from ..errors import DenoiserError

        raise DenoiserError(
            "bm3d is not installed; install it with: pip install 'evalkit[bm3d]'"
        ) from None
    sigma = estimate_noise(noisy) if sigma is None else sigma
    return _finish(bm3d.bm3d_rgb(noisy, sigma_psd=sigma))


def estimate_noise(image: np.ndarray) -> float:
    """Noise standard deviation of ``image`` in [0, 1] units (wavelet MAD estimate)."""
    from skimage.restoration import estimate_sigma

    return float(estimate_sigma(image, channel_axis=-1, average_sigmas=True))


def _finish(image: np.ndarray) -> np.ndarray:
    return np.clip(image, 0.0, 1.0).astype(np.float32, copy=False)
