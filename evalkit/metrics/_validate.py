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


def validate_mask(mask: np.ndarray, image: np.ndarray) -> None:
    """Raise unless ``mask`` is a boolean array of shape (H, W) of ``image``."""
    if not isinstance(mask, np.ndarray) or mask.dtype != bool:
        raise TypeError(f"mask must be a boolean numpy array, got {getattr(mask, 'dtype', mask)!r}")
    if mask.shape != image.shape[:2]:
        raise ValueError(f"mask shape {mask.shape} differs from the image's {image.shape[:2]}")
    if not mask.any():
        raise ValueError("mask selects no pixels")


def as_rgb_float32(image: np.ndarray, data_range: float) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1]: divides by ``data_range``, repeats grey to RGB."""
    image = np.asarray(image, dtype=np.float32) / np.float32(data_range)
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    if image.shape[2] != 3:
        raise ValueError(f"expected a grey or RGB image, got {image.shape[2]} channels")
    return image
