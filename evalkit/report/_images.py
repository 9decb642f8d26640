"""Images for the report: compressed display copies, coloured heat maps, evidence crops.

Only crops of finding boxes are kept at full resolution (lossless PNG); everything
else is a JPEG no longer than :data:`DISPLAY_SIZE`, so a report over 50 pairs of
20 MP stays in the hundreds of megabytes rather than gigabytes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..io import to_codes

#: Longest side, in pixels, of display images (the runner keeps maps at this size).
DISPLAY_SIZE = 1600
#: JPEG quality of display images: artefacts stay below what a denoiser leaves.
JPEG_QUALITY = 85
#: Pixels of context kept around a finding's box in its crop.
CROP_MARGIN = 16
#: Longest side of a crop; larger boxes are scaled down (and say so).
CROP_SIZE = 1600


def slug(name: str) -> str:
    """A file name for ``name`` that is safe on every file system and in a URL.

    Names that are already safe stay readable; others get a short hash so that
    two names differing only in unsafe characters never share a file.
    """
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in name)
    safe = safe.lstrip(".")[:60] or "_"
    if safe == name:
        return safe
    return f"{safe}-{hashlib.sha1(name.encode('utf-8')).hexdigest()[:8]}"


def display_size(shape: tuple[int, ...], longest: int = DISPLAY_SIZE) -> tuple[int, int]:
    """``(width, height)`` of the display copy of an image of ``shape`` (H, W, ...)."""
    height, width = shape[:2]
    scale = min(1.0, longest / max(height, width))
    return max(1, round(width * scale)), max(1, round(height * scale))


def save_display(image: np.ndarray, path: Path, *, longest: int = DISPLAY_SIZE) -> tuple[int, int]:
    """Write ``image`` (float (H, W, 3) in [0, 1]) as a display JPEG; return its size.

    Downscaling averages pixels (Pillow's reducing Lanczos filter), so noise is
    shown as the eye would see it at that size, not aliased into speckle.
    """
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    picture = Image.fromarray(to_codes(image))
    size = display_size(image.shape, longest)
    if size != picture.size:
        picture = picture.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    picture.save(path, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return picture.size


def save_heat_map(values: np.ndarray, path: Path, *, size: tuple[int, int]) -> None:
    """Colour a map (H, W) in [0, 1], 1 = worst, with *inferno* and write a JPEG of ``size``.

    The colour scale is fixed (0 black, 1 bright yellow), not stretched per image,
    so maps of different denoisers compare by eye.
    """
    from matplotlib import colormaps
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    if values.ndim == 3:
        values = values.mean(axis=2)
    coloured = colormaps["inferno"](np.clip(values, 0.0, 1.0))[..., :3]
    picture = Image.fromarray(to_codes(coloured))
    if picture.size != size:
        picture = picture.resize(size, Image.Resampling.BILINEAR)
    picture.save(path, "JPEG", quality=JPEG_QUALITY)


def crop_box(
    bbox: tuple[int, int, int, int], shape: tuple[int, ...], *, margin: int = CROP_MARGIN
) -> tuple[int, int, int, int]:
    """The box plus ``margin`` pixels each side, clipped to the image: ``(x0, y0, x1, y1)``."""
    height, width = shape[:2]
    x, y, w, h = bbox
    x0, y0 = max(0, x - margin), max(0, y - margin)
    x1, y1 = min(width, x + w + margin), min(height, y + h + margin)
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)


def save_crop(
    image: np.ndarray, box: tuple[int, int, int, int], path: Path, *, longest: int = CROP_SIZE
) -> tuple[int, int, bool]:
    """Write ``image[y0:y1, x0:x1]`` as a lossless PNG; return ``(width, height, scaled)``.

    Crops are evidence, so they are full resolution unless the box is longer than
    ``longest``, in which case it is scaled down and ``scaled`` is ``True``.
    """
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    x0, y0, x1, y1 = box
    picture = Image.fromarray(to_codes(image[y0:y1, x0:x1]))
    scaled = max(picture.size) > longest
    if scaled:
        picture.thumbnail((longest, longest), Image.Resampling.LANCZOS)
    picture.save(path, "PNG", optimize=False, compress_level=6)
    return picture.size[0], picture.size[1], scaled
