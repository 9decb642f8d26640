"""RAW files through rawpy (LibRaw) with one documented pipeline.

The pipeline, the same for every camera and every RAW format LibRaw reads
(``.dng .arw .cr2 .cr3 .nef .raf .orf .rw2 .pef .srw``):

1. Demosaic with AHD (LibRaw's default, stated explicitly).
2. Apply the **camera's as-shot white balance** (``use_camera_wb=True``).
3. Convert to linear sRGB primaries, **no auto-brightening**
   (``no_auto_bright=True``), 16 bits per channel, linear (``gamma=(1, 1)``).
4. Multiply by ``exposure_gain`` in linear light (1 unless asked: SID's
   short exposures are brightened by the exposure ratio here), clip to [0, 1].
5. Encode with the sRGB transfer curve (IEC 61966-2-1) and return float32.

No highlight recovery, noise reduction or tone curve: differences between
the two shots of a pair stay visible to the alignment and the pair check.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..colour import linear_to_srgb
from ..errors import ImageError, UnavailableError

RAW_SUFFIXES = (".dng", ".arw", ".cr2", ".cr3", ".nef", ".raf", ".orf", ".rw2", ".pef", ".srw")


def load_raw(path: str | os.PathLike, *, exposure_gain: float = 1.0) -> np.ndarray:
    """Develop a RAW file into a float32 (H, W, 3) sRGB image in [0, 1].

    Parameters
    ----------
    path : str or path-like
        A RAW file LibRaw reads.
    exposure_gain : float, optional
        Linear-light multiplier applied before clipping and sRGB encoding (> 0).

    Returns
    -------
    ndarray of shape (H, W, 3), float32
        Upright (LibRaw applies the file's orientation), values in [0, 1].

    Raises
    ------
    UnavailableError
        rawpy is not installed (``pip install rawpy``).
    ImageError
        The file is missing or LibRaw cannot read it.
    """
    try:
        import rawpy
    except ImportError:
        raise UnavailableError("reading RAW files needs rawpy: pip install 'rawpy>=0.19'") from None

    if not exposure_gain > 0:
        raise ValueError(f"exposure_gain must be positive, got {exposure_gain!r}")
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: no such file")
    try:
        with rawpy.imread(str(path)) as raw:
            rgb = raw.postprocess(
                demosaic_algorithm=rawpy.DemosaicAlgorithm.AHD,
                use_camera_wb=True,
                no_auto_bright=True,
                output_color=rawpy.ColorSpace.sRGB,
                output_bps=16,
                gamma=(1, 1),
            )
    except (rawpy.LibRawError, OSError) as exc:
        raise ImageError(f"{path}: not a RAW file LibRaw can read ({exc})") from None
    linear = rgb.astype(np.float32) / np.float32(65535) * np.float32(exposure_gain)
    return linear_to_srgb(np.clip(linear, 0.0, 1.0)).astype(np.float32)


def is_raw(path: str | os.PathLike) -> bool:
    """Whether the file's suffix is one of :data:`RAW_SUFFIXES`."""
    return Path(path).suffix.lower() in RAW_SUFFIXES
