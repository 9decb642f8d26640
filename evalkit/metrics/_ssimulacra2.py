"""SSIMULACRA 2 (Cloudinary / JPEG XL) through the ``ssimulacra2`` Python port."""

from __future__ import annotations

import numpy as np

from ..errors import UnavailableError
from ._validate import as_rgb_float32, validate_pair


def ssimulacra2(reference: np.ndarray, candidate: np.ndarray, *, data_range: float = 1.0) -> float:
    """SSIMULACRA 2 score: 100 = identical, 90 = visually lossless, 70 = high
    quality, 50 = medium, 30 = low; can go below 0 (higher is better).

    Parameters
    ----------
    reference, candidate : ndarray of shape (H, W, 3) or (H, W)
        sRGB images in the same units (grey is repeated to RGB), at least 8x8.
    data_range : float, optional
        Value of white in those units.

    Returns
    -------
    float
        The score, at most 100.

    Raises
    ------
    UnavailableError
        The ``ssimulacra2`` package is not installed.

    Notes
    -----
    Runs the pipeline of :func:`ssimulacra2.compute_ssimulacra2` (sRGB to linear,
    XYB, six scales of SSIM and edge-difference maps, the published weights) on
    arrays instead of files, and without rounding to 8-bit codes. That package is a
    float64 port using exact Gaussian blurs where libjxl's ``ssimulacra2`` uses a
    recursive approximation, so scores differ from the C++ tool by a fraction of a
    point.

    References
    ----------
    .. [1] J. Sneyers, "SSIMULACRA 2", Cloudinary, 2023.
       https://github.com/cloudinary/ssimulacra2
    """
    validate_pair(reference, candidate, data_range)
    try:
        from ssimulacra2 import ssimulacra2 as s2
    except ImportError as exc:
        raise UnavailableError(
            "SSIMULACRA2 needs the ssimulacra2 package: pip install 'ssimulacra2>=0.3'"
        ) from exc
    if min(reference.shape[:2]) < 8:
        raise ValueError(f"SSIMULACRA2 needs at least 8x8 pixels, got {reference.shape[:2]}")
    # The port's sRGB decoder expects 0-255 values.
    linear = [
        s2.srgb_to_linear(np.clip(as_rgb_float32(image, data_range), 0, 1).astype(np.float64) * 255)
        for image in (reference, candidate)
    ]
    metric = s2.Msssim()
    for scale in range(s2.kNumScales):
        if scale:
            linear = [s2.downsample(image, 2, 2) for image in linear]
        if min(linear[0].shape[:2]) < 8:
            break
        img1, img2 = (s2.make_positive_xyb(s2.linear_rgb_to_xyb(image)) for image in linear)
        mu1, mu2 = s2.blur_image(img1), s2.blur_image(img2)
        data = s2.MsssimScale()
        data.avg_ssim = s2.ssim_map(
            mu1,
            mu2,
            s2.blur_image(img1 * img1),
            s2.blur_image(img2 * img2),
            s2.blur_image(img1 * img2),
        )
        data.avg_edgediff = s2.edge_diff_map(img1, mu1, img2, mu2)
        metric.scales.append(data)
    return float(metric.score())
