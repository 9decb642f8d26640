"""Pixel evidence for a text verdict: did the glyphs themselves change?

An OCR reading can flip when nothing a reader would see has changed: a
sub-pixel shift, a different noise draw, or a letter the recogniser was never
sure of. A text line is called changed only when the candidate's strokes depart
from the reference's by a letter's worth of ink, and by more than the noise of
the shot moves them.

Both measures are taken on the luma of the line at stroke scale (a Gaussian of
:data:`STROKE_SIGMA` of the line height, which keeps strokes and drops
pixel noise), in windows one letter wide (:data:`WINDOW`), so that one
redrawn letter in a long line is not averaged away.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._engine import BBox

#: Gaussian sigma of the stroke-scale smoothing, as a fraction of the line
#: box height. A stroke is about a tenth of the box (cap height ~0.7 of the box,
#: stroke ~0.15 of the cap height); half a stroke keeps its shape.
STROKE_SIGMA = 1 / 16
#: Least change of the glyphs, RMS over a letter-sized window as a fraction of
#: the line's stroke contrast (ink to paper), for pixel evidence. Measured with
#: the windows and smoothing here: on the real PolyU text lines (bulletin, door,
#: book crops) a 0.35 px shift of the reference, the noisy shot, OpenCV NLM mild
#: and default, DnCNN and a 1 px Gaussian blur change a window by at most 0.081
#: (99th percentile 0.078); one character edited in rendered text ("8" as "B",
#: "o" as "a", "ey" as "oly", 5 styles) by 0.096-0.22; a line redrawn with other
#: letters by 0.2-0.5.
GLYPH_CHANGE = 0.09
#: Least change of the glyphs as a multiple of the noise at stroke scale (the
#: robust spread of the noisy shot's own departure there): a denoiser that left
#: the noise in, or removed it, has not moved the glyphs beyond what the noise did.
NOISE_MULTIPLE = 3.0
#: Width of the windows, as a fraction of the line box height: about one letter,
#: so that a one-letter change is not diluted by its unchanged neighbours.
WINDOW = 0.5
#: Contrast below which a line has no strokes to measure (fraction of full range).
MIN_CONTRAST = 0.02


@dataclass(frozen=True)
class GlyphEvidence:
    """How much the glyphs of one text line changed, and against what.

    Attributes
    ----------
    change : float
        Largest RMS, over letter-sized windows of the line, of the candidate's
        stroke-scale luma minus the reference's, as a fraction of the line's
        stroke contrast (0: unchanged; 1: a window's worth of ink swapped).
    noise : float
        Robust standard deviation of the noise at stroke scale around the line,
        in the same units.
    contrast : float
        The line's stroke contrast: 95th minus 5th percentile of the reference's
        stroke-scale luma in the box, in [0, 1] units of the image.
    window : tuple of int
        The window (x, y, w, h, image pixels) where the change is largest.
    """

    change: float
    noise: float
    contrast: float
    window: BBox

    @property
    def threshold(self) -> float:
        """Least ``change`` that counts as evidence: a letter's worth, and beyond the noise."""
        return max(GLYPH_CHANGE, NOISE_MULTIPLE * self.noise)

    @property
    def changed(self) -> bool:
        """True when the glyphs changed by more than :attr:`threshold`."""
        return self.contrast >= MIN_CONTRAST and self.change >= self.threshold

    def to_dict(self) -> dict[str, float | bool | list[int]]:
        """JSON-ready form, as kept in a text entry's ``evidence``."""
        return {
            "glyph_change": round(self.change, 4),
            "noise": round(self.noise, 4),
            "threshold": round(self.threshold, 4),
            "contrast": round(self.contrast, 4),
            "window": list(self.window),
            "changed": self.changed,
        }


def glyph_evidence(
    reference: np.ndarray,
    candidate: np.ndarray,
    box: BBox,
    *,
    noisy: np.ndarray | None = None,
) -> GlyphEvidence:
    """Measure how much the glyphs of the line in ``box`` changed from reference to candidate.

    Parameters
    ----------
    reference, candidate : ndarray of shape (H, W, 3)
        Float images in [0, 1] (in ``inspect`` the noisy shot is the reference).
    box : tuple of int
        The line, (x, y, w, h) in pixels.
    noisy : ndarray of shape (H, W, 3), optional
        The noisy shot: the noise is its departure from the reference. Without
        it, the noise is what the candidate removed from (or left in) the
        reference, measured robustly so that changed glyphs do not count.

    Returns
    -------
    GlyphEvidence
    """
    import cv2

    x, y, w, h = box
    sigma = max(0.8, STROKE_SIGMA * h)
    # The neighbourhood: the box and a line height around it, for the noise,
    # and so that the smoothing sees real pixels at the box's edges.
    pad = h
    y0, y1 = max(0, y - pad), min(reference.shape[0], y + h + pad)
    x0, x1 = max(0, x - pad), min(reference.shape[1], x + w + pad)

    def strokes(image: np.ndarray) -> np.ndarray:
        patch = image[y0:y1, x0:x1].astype(np.float32)
        grey = patch @ np.array([0.2126, 0.7152, 0.0722], np.float32)
        return cv2.GaussianBlur(grey, (0, 0), sigma)

    ref = strokes(reference)
    diff = strokes(candidate) - ref
    other = strokes(noisy) - ref if noisy is not None else diff
    # A brightness or exposure difference is not a glyph change: measure about
    # the neighbourhood's typical difference.
    diff -= np.median(diff)
    inside = (slice(y - y0, y - y0 + h), slice(x - x0, x - x0 + w))
    contrast = float(np.subtract(*np.percentile(ref[inside], [95, 5])))
    scale = max(contrast, MIN_CONTRAST)
    noise = 1.4826 * float(np.median(np.abs(other - np.median(other)))) / scale

    side = max(round(WINDOW * h), 1)
    step = max(side // 2, 1)
    squared = diff[inside] ** 2
    best, window = 0.0, (x, y, min(side, w), h)
    last = max(w - side, 0)
    for left in sorted({*range(0, last + 1, step), last}):
        value = float(np.sqrt(squared[:, left : left + side].mean()))
        if value > best:
            best, window = value, (x + left, y, min(side, w - left), h)
    return GlyphEvidence(best / scale, noise, contrast, window)
