"""Peak signal-to-noise ratio, absolute difference and squared-error maps."""

from __future__ import annotations

import numpy as np

from ._validate import validate_mask, validate_pair


def peak_signal_noise_ratio(
    reference: np.ndarray, candidate: np.ndarray, *, data_range: float = 1.0
) -> float:
    """PSNR in decibels: ``10 log10(data_range**2 / MSE)`` over all pixels and channels.

    Parameters
    ----------
    reference, candidate : ndarray of shape (H, W) or (H, W, C)
        Images in the same units; evalkit's canonical images are float in [0, 1].
    data_range : float, optional
        Black-to-white distance in those units (1.0 for [0, 1]; 255 for 8-bit codes).

    Returns
    -------
    float
        PSNR in dB; ``inf`` for identical images.

    Notes
    -----
    The squared error is accumulated in float64, so the value matches
    :func:`skimage.metrics.peak_signal_noise_ratio` to rounding.

    Examples
    --------
    >>> import numpy as np
    >>> reference = np.zeros((4, 4, 3), np.float32)
    >>> round(peak_signal_noise_ratio(reference, reference + 0.1), 6)
    20.0
    """
    validate_pair(reference, candidate, data_range)
    return _psnr_from_mse(_mean_squared_error(reference, candidate), data_range)


def peak_signal_noise_ratio_masked(
    reference: np.ndarray, candidate: np.ndarray, mask: np.ndarray, *, data_range: float = 1.0
) -> float:
    """PSNR over the pixels where ``mask`` is true (all channels of those pixels).

    Parameters
    ----------
    reference, candidate : ndarray of shape (H, W) or (H, W, C)
    mask : ndarray of bool, shape (H, W)
    data_range : float, optional

    Returns
    -------
    float
        PSNR in dB of the masked pixels; ``inf`` if they are identical.
    """
    validate_pair(reference, candidate, data_range)
    validate_mask(mask, reference)
    diff = reference[mask].astype(np.float64) - candidate[mask]
    return _psnr_from_mse(_sum_of_squares(diff) / diff.size, data_range)


def absolute_difference_map(
    reference: np.ndarray, candidate: np.ndarray, *, data_range: float = 1.0
) -> np.ndarray:
    """``|reference - candidate| / data_range``, averaged over channels.

    Returns
    -------
    ndarray of shape (H, W), float32
        Mean absolute error per pixel in [0, 1] (fraction of the data range).
    """
    validate_pair(reference, candidate, data_range)
    diff = np.abs(reference.astype(np.float32) - candidate.astype(np.float32))
    if diff.ndim == 3:
        diff = diff.mean(axis=2)
    return diff / np.float32(data_range)


def _psnr_from_mse(mse: float, data_range: float) -> float:
    if mse == 0:
        return float("inf")
    return float(10.0 * np.log10(float(data_range) ** 2 / mse))


def _mean_squared_error(reference: np.ndarray, candidate: np.ndarray) -> float:
    # Row blocks keep the float64 temporaries small on 20 MP images.
    total = 0.0
    rows = max(1, 1_000_000 // max(1, reference[0].size))
    for start in range(0, reference.shape[0], rows):
        diff = reference[start : start + rows].astype(np.float64) - candidate[start : start + rows]
        total += _sum_of_squares(diff)
    return total / reference.size


def _sum_of_squares(values: np.ndarray) -> float:
    # Not np.vdot: OpenBLAS splits a long dot product over its threads, so the
    # rounding, and the last digits of PSNR, would depend on the thread count
    # (a serial run and one in single-threaded workers would disagree).
    flat = values.reshape(-1)
    return float(np.einsum("i,i->", flat, flat))


psnr = peak_signal_noise_ratio
