"""The sRGB transfer curve (IEC 61966-2-1), between encoded values and linear light."""

from __future__ import annotations

import numpy as np

__all__ = ["linear_to_srgb", "srgb_to_linear"]


def srgb_to_linear(srgb: np.ndarray) -> np.ndarray:
    """Decode sRGB values in [0, 1] to linear light (IEC 61966-2-1 curve).

    Parameters
    ----------
    srgb : ndarray
        Any shape, values in [0, 1].

    Returns
    -------
    ndarray
        Same shape and float dtype (float64 for integer input), values in [0, 1].
    """
    srgb = np.asarray(srgb)
    if not np.issubdtype(srgb.dtype, np.floating):
        srgb = srgb.astype(np.float64)
    low = srgb / 12.92
    high = ((np.maximum(srgb, 0.04045) + 0.055) / 1.055) ** 2.4
    return np.where(srgb <= 0.04045, low, high).astype(srgb.dtype, copy=False)


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """Encode linear light in [0, 1] with the sRGB curve (IEC 61966-2-1).

    Parameters
    ----------
    linear : ndarray
        Any shape, values in [0, 1].

    Returns
    -------
    ndarray
        Same shape and float dtype (float64 for integer input), values in [0, 1].
    """
    linear = np.asarray(linear)
    if not np.issubdtype(linear.dtype, np.floating):
        linear = linear.astype(np.float64)
    low = linear * 12.92
    high = 1.055 * np.maximum(linear, 0.0031308) ** (1 / 2.4) - 0.055
    return np.where(linear <= 0.0031308, low, high).astype(linear.dtype, copy=False)
