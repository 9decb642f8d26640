"""NVIDIA's FLIP (LDR-FLIP) through the ``flip-evaluator`` package."""

from __future__ import annotations

import numpy as np

from ..errors import UnavailableError
from ._validate import as_rgb_float32, validate_mask, validate_pair


def flip_error_map(
    reference: np.ndarray,
    candidate: np.ndarray,
    *,
    data_range: float = 1.0,
    pixels_per_degree: float | None = None,
) -> np.ndarray:
    """LDR-FLIP error at every pixel.

    Parameters
    ----------
    reference, candidate : ndarray of shape (H, W, 3) or (H, W)
        sRGB images in the same units (grey is repeated to RGB).
    data_range : float, optional
        Value of white in those units.
    pixels_per_degree : float, optional
        Viewing condition, in pixels per degree of visual angle. Default: FLIP's,
        a 0.7 m wide 3840-pixel monitor seen from 0.7 m (about 67.02).

    Returns
    -------
    ndarray of shape (H, W), float32
        FLIP error in [0, 1] (0 = indistinguishable when flipping between them).

    Raises
    ------
    UnavailableError
        The ``flip-evaluator`` package is not installed.

    References
    ----------
    .. [1] P. Andersson et al., "FLIP: A Difference Evaluator for Alternating
       Images", Proc. ACM CGIT 3(2), 2020. :DOI:`10.1145/3406183`
    """
    validate_pair(reference, candidate, data_range)
    try:
        import flip_evaluator
    except ImportError as exc:
        raise UnavailableError(
            "FLIP needs the flip-evaluator package: pip install 'flip-evaluator>=1.6'"
        ) from exc
    error_map, _, _ = flip_evaluator.evaluate(
        np.clip(as_rgb_float32(reference, data_range), 0, 1),
        np.clip(as_rgb_float32(candidate, data_range), 0, 1),
        "LDR",
        inputsRGB=True,
        applyMagma=False,
        computeMeanError=False,
        parameters={} if pixels_per_degree is None else {"ppd": float(pixels_per_degree)},
    )
    error_map = np.asarray(error_map, np.float32)
    return error_map[..., 0] if error_map.ndim == 3 else error_map


def flip(reference: np.ndarray, candidate: np.ndarray, *, data_range: float = 1.0) -> float:
    """Mean LDR-FLIP error in [0, 1], lower is better; see :func:`flip_error_map`."""
    return float(flip_error_map(reference, candidate, data_range=data_range).mean(dtype=np.float64))


def flip_masked(
    reference: np.ndarray, candidate: np.ndarray, mask: np.ndarray, *, data_range: float = 1.0
) -> float:
    """Mean LDR-FLIP error over the pixels where ``mask`` is true."""
    validate_mask(mask, reference)
    return float(flip_error_map(reference, candidate, data_range=data_range)[mask].mean())
