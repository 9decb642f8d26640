"""Reference pairs: a long-exposure low-ISO reference and a high-ISO noisy shot."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..io import check_image, check_same_size, is_raw, load_image, load_raw

BBox = tuple[int, int, int, int]
"""A box as ``(x, y, width, height)`` in pixels, origin at the top-left corner."""


@dataclass(frozen=True)
class TextRegion:
    """A box that holds text, with the true string when it is known.

    Attributes
    ----------
    bbox : (x, y, w, h)
        Pixel box in the reference's upright orientation.
    text : str or None
        What is printed there; ``None`` when unknown (found by OCR).
    """

    bbox: BBox
    text: str | None = None


@dataclass(frozen=True)
class Region:
    """A named area of the scene, e.g. ``kind="flat"`` for blank paper.

    ``kind`` is free text; the sample dataset uses ``flat``, ``periodic``,
    ``texture``, ``highlight``, ``shadow``, ``colour`` and ``text``.
    """

    name: str
    bbox: BBox
    kind: str = ""


@dataclass(frozen=True)
class Pair:
    """One scene shot twice: the reference and the noisy image to be denoised.

    Attributes
    ----------
    id : str
        Unique name within its dataset; results and outputs are keyed by it.
    reference : Path
        Long-exposure, low-ISO shot: the best available estimate of the scene.
    noisy : Path
        High-ISO shot that denoisers receive.
    camera, iso, exposure_s : optional
        Metadata of the noisy shot (ISO speed, exposure time in seconds).
    reference_iso, reference_exposure_s : optional
        The same for the reference shot.
    text_regions : tuple of TextRegion
        Where text is, and what it says when known.
    regions : tuple of Region
        Named areas (flat paper, grille, foliage...) for region-wise scores.
    masks : dict of str to Path
        Named mask images (non-zero = inside).
    metadata : dict
        Anything else the manifest says about the pair.
    """

    id: str
    reference: Path
    noisy: Path
    camera: str | None = None
    iso: float | None = None
    exposure_s: float | None = None
    reference_iso: float | None = None
    reference_exposure_s: float | None = None
    text_regions: tuple[TextRegion, ...] = ()
    regions: tuple[Region, ...] = ()
    masks: dict[str, Path] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        """Read ``(reference, noisy)`` as float32 (H, W, 3) arrays in [0, 1].

        A RAW noisy shot is brightened by ``metadata["exposure_ratio"]`` when the
        manifest or loader gives one (SID's convention: reference exposure time
        over noisy exposure time), in linear light, as it is developed.

        Raises
        ------
        ImageError
            If a file is missing or unreadable, smaller than 32 px on a side
            (:func:`evalkit.io.check_image`), or the two sizes differ.
        """
        reference = check_image(load_image(self.reference), str(self.reference))
        ratio = float(self.metadata.get("exposure_ratio", 1.0))
        if is_raw(self.noisy) and ratio != 1.0:
            noisy = load_raw(self.noisy, exposure_gain=ratio)
        else:
            noisy = load_image(self.noisy)
        check_image(noisy, str(self.noisy))
        check_same_size(reference, noisy, names=(str(self.reference), str(self.noisy)))
        return reference, noisy

    def load_mask(self, name: str) -> np.ndarray:
        """Read mask ``name`` as a boolean (H, W) array."""
        return load_image(self.masks[name])[..., 0] > 0.5
