"""Multi-scale structural similarity (MS-SSIM), piq's convention, on full-size photos."""

from __future__ import annotations

import numpy as np

from ._ssim import ssim_sums_per_channel
from ._validate import validate_pair

# Wang, Simoncelli & Bovik (2003), Table 1: exponents of the five scales.
SCALE_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def multiscale_structural_similarity(
    reference: np.ndarray,
    candidate: np.ndarray,
    *,
    data_range: float = 1.0,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> float:
    """MS-SSIM of Wang et al. (2003), five scales, averaged over channels.

    Parameters
    ----------
    reference, candidate : ndarray of shape (H, W) or (H, W, C)
        Images in the same units, at least 161 pixels on each side (an 11-pixel
        window at the fifth scale).
    data_range : float, optional
        Black-to-white distance in the images' units.
    sigma, k1, k2 : float, optional
        Gaussian window (11 pixels for sigma 1.5) and SSIM constants.

    Returns
    -------
    float
        MS-SSIM in [0, 1]; 1 for identical images.

    Notes
    -----
    Follows :func:`piq.multi_scale_ssim` (tested to 1e-4): at each scale the mean
    SSIM contrast-structure term over the valid region (no padding), then a
    2x2 average after replicating the first row and column when a side is odd;
    the last scale contributes its full SSIM. Negative terms are clamped to 0,
    each channel gets ``prod(term_i ** weight_i)``, and the channels are
    averaged. Float32 filtering as in :func:`structural_similarity`.

    References
    ----------
    .. [1] Z. Wang, E. P. Simoncelli, A. C. Bovik, "Multiscale structural similarity
       for image quality assessment", Asilomar 2003. :DOI:`10.1109/ACSSC.2003.1292216`
    """
    validate_pair(reference, candidate, data_range)
    levels = len(SCALE_WEIGHTS)
    radius = int(3.5 * sigma + 0.5)
    min_size = 2 * radius * 2 ** (levels - 1) + 1
    if min(reference.shape[:2]) < min_size:
        raise ValueError(
            f"MS-SSIM needs images of at least {min_size}x{min_size} pixels, "
            f"got {reference.shape[1]}x{reference.shape[0]}"
        )
    x, y = reference, candidate
    terms = []
    for level in range(levels):
        if level:
            x, y = _halve(x), _halve(y)
        ssim_sums, cs_sums, count = ssim_sums_per_channel(
            x, y, data_range=data_range, sigma=sigma, k1=k1, k2=k2, want_cs=True
        )
        terms.append((ssim_sums if level == levels - 1 else cs_sums) / count)
    stacked = np.maximum(np.stack(terms), 0.0)
    weights = np.asarray(SCALE_WEIGHTS)[:, None]
    return float(np.prod(stacked**weights, axis=0).mean())


def _halve(image: np.ndarray) -> np.ndarray:
    import cv2

    image = np.asarray(image, dtype=np.float32)
    height, width = image.shape[:2]
    # piq pads both axes by one replicated row/column when either side is odd.
    pad = max(height % 2, width % 2)
    if pad:
        image = cv2.copyMakeBorder(image, pad, 0, pad, 0, cv2.BORDER_REPLICATE)
        height, width = height + pad, width + pad
    height, width = height // 2 * 2, width // 2 * 2
    image = image[:height, :width]
    # INTER_AREA at exactly half size is the 2x2 mean (avg_pool2d).
    return cv2.resize(image, (width // 2, height // 2), interpolation=cv2.INTER_AREA)


ms_ssim = multiscale_structural_similarity
