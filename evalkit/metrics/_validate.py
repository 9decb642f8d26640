"""The input check every public metric calls first."""

from __future__ import annotations

import numpy as np


def validate_pair(reference: np.ndarray, candidate: np.ndarray, data_range: float) -> None:
    """Raise ``TypeError``/``ValueError`` (expected vs actual) for unusable inputs.

    Both images must be real-valued arrays of shape (H, W) or (H, W, C), with the
    same shape, and ``data_range`` a positive number (the distance from black to
    white in the images' units: 1.0 for evalkit's canonical float images).
    """
    for name, image in (("reference", reference), ("candidate", candidate)):
        if not isinstance(image, np.ndarray):
            raise TypeError(f"{name} must be a numpy array, got {type(image).__name__}")
        if image.ndim not in (2, 3):
            raise ValueError(f"{name} must have shape (H, W) or (H, W, C), got {image.shape}")
        if not (np.issubdtype(image.dtype, np.floating) or np.issubdtype(image.dtype, np.integer)):
            raise TypeError(f"{name} must be a real-valued array, got dtype {image.dtype}")
    if reference.shape != candidate.shape:
        raise ValueError(
            f"reference and candidate shapes differ: {reference.shape} vs {candidate.shape}"
        )
    if not np.isscalar(data_range) or not data_range > 0:
        raise ValueError(f"data_range must be a positive number, got {data_range!r}")
