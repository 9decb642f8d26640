"""Colour error: CIEDE2000 between the reference and the candidate, per pixel."""

from __future__ import annotations

import numpy as np

from ._validate import as_rgb_float32, validate_mask, validate_pair

# Rows converted at once: skimage's Lab and CIEDE2000 make ~20 float64 temporaries
# per pixel, so 256 rows of a 5000-pixel-wide photo stay near 200 MB.
_ROWS = 256


def delta_e2000_map(
    reference: np.ndarray, candidate: np.ndarray, *, data_range: float = 1.0
) -> np.ndarray:
    """CIEDE2000 colour difference at every pixel.

    Parameters
    ----------
    reference, candidate : ndarray of shape (H, W, 3) or (H, W)
        sRGB images (grey is treated as R = G = B) in the same units.
    data_range : float, optional
        Value of white in those units.

    Returns
    -------
    ndarray of shape (H, W), float32
        ΔE00 in CIELAB units (0 = identical; about 1 is just noticeable; 100 is
        black against white).

    Notes
    -----
    sRGB (IEC 61966-2-1) to CIELAB with the D65 white point by
    :func:`skimage.color.rgb2lab`, then :func:`skimage.color.deltaE_ciede2000`
    (kL = kC = kH = 1), in row blocks to bound memory.

    References
    ----------
    .. [1] G. Sharma, W. Wu, E. N. Dalal, "The CIEDE2000 color-difference formula",
       Color Res. Appl. 30(1), 2005. :DOI:`10.1002/col.20070`
    """
    from skimage.color import deltaE_ciede2000, rgb2lab

    validate_pair(reference, candidate, data_range)
    height = reference.shape[0]
    out = np.empty(reference.shape[:2], np.float32)
    for top in range(0, height, _ROWS):
        rows = slice(top, min(top + _ROWS, height))
        lab_ref = rgb2lab(np.clip(as_rgb_float32(reference[rows], data_range), 0, 1))
        lab_cand = rgb2lab(np.clip(as_rgb_float32(candidate[rows], data_range), 0, 1))
        out[rows] = deltaE_ciede2000(lab_ref, lab_cand)
    return out


def delta_e2000_mean(
    reference: np.ndarray, candidate: np.ndarray, *, data_range: float = 1.0
) -> float:
    """Mean CIEDE2000 over all pixels (CIELAB units, lower is better); see
    :func:`delta_e2000_map`."""
    error_map = delta_e2000_map(reference, candidate, data_range=data_range)
    return float(error_map.mean(dtype=np.float64))


def delta_e2000_p95(
    reference: np.ndarray, candidate: np.ndarray, *, data_range: float = 1.0
) -> float:
    """95th percentile of CIEDE2000 over all pixels (numpy's linear interpolation):
    the error of the worst 5 % of the image, where a mean hides a colour shift."""
    return float(np.percentile(delta_e2000_map(reference, candidate, data_range=data_range), 95))


def delta_e2000_mean_masked(
    reference: np.ndarray, candidate: np.ndarray, mask: np.ndarray, *, data_range: float = 1.0
) -> float:
    """Mean CIEDE2000 over the pixels where ``mask`` is true."""
    validate_mask(mask, reference)
    return float(delta_e2000_map(reference, candidate, data_range=data_range)[mask].mean())


def delta_e2000_p95_masked(
    reference: np.ndarray, candidate: np.ndarray, mask: np.ndarray, *, data_range: float = 1.0
) -> float:
    """95th percentile of CIEDE2000 over the pixels where ``mask`` is true."""
    validate_mask(mask, reference)
    values = delta_e2000_map(reference, candidate, data_range=data_range)[mask]
    return float(np.percentile(values, 95))
