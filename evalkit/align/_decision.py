"""Whether a correction of the reference is supported by the data: the evidence for it.

A correction (a shift, a warp, a tone fit) is estimated from the noisy shot, so
it always fits that shot a little better, if only by fitting its noise. It is
applied in ``auto`` mode only when it lowers the reference's mean squared
difference to the noisy shot consistently across the frame, tile by tile, and by
enough to show in a score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._exposure import ExposureFit

MODES = ("auto", "always", "never")
"""``auto``: apply a correction only when the data show it; ``always``: apply every
estimate; ``never``: leave the reference as it is."""

# The per-tile improvements must be positive beyond chance. A correction fitted to
# noise alone improves about half the tiles and worsens the others, symmetrically;
# a real one improves nearly all, by amounts as uneven as the scene (a shift
# matters at edges, hardly on a gradient). The one-sided Wilcoxon signed-rank test
# uses only the signs and ranks, so a real shift on a frame of few edges passes
# where a t-test does not (a 2 px shift of a smooth frame: 3.3 dB gained, t = 2.6).
# Its p-value must be under this, the chance of 4 sigma of a normal: one false
# correction in 30 000 pairs.
FALSE_RATE = 3.17e-5
# ... and improve the noisy shot's PSNR against the reference by at least this
# (dB): the last digit evalkit reports and benchmarks quote.
MIN_GAIN_DB = 0.01
_MAX_GRID = 8  # tiles per side
_MIN_TILE = 8  # px
# All of 15 tiles improving has a chance of 2**-15 = 3.1e-5: fewer can never pass.
MIN_TILES = 15
_MAX_PIXELS = 4_000_000  # compared per decision; see weigh


@dataclass(frozen=True)
class Correction:
    """One correction considered for the reference, and the evidence for it.

    Attributes
    ----------
    name : {"shift", "transform", "exposure"}
    applied : bool
    estimate : dict
        What was estimated: ``{"dx": px, "dy": px}``; for a transform also
        ``rotation_deg`` and ``scale``; for exposure ``model``, ``gain`` and
        ``offset`` per channel ([0, 1] units) and ``fraction_used``.
    uncertainty : dict
        One-sigma uncertainty of each estimate, same keys (``None`` where it could
        not be measured).
    gain_db : float or None
        How much the correction raises the noisy shot's PSNR against the
        reference (dB): the fit it buys.
    p : float or None
        Significance of that gain: the one-sided Wilcoxon signed-rank p-value of
        the per-tile MSE reductions (the chance that noise alone improves the
        tiles this consistently).
    reason : str
        Why it was or was not applied, in words.
    tiles : int
        How many tiles the evidence was measured on (0 when none was).
    reason : str
        Why it was or was not applied, in words.
    """

    name: str
    applied: bool
    estimate: dict[str, Any] = field(default_factory=dict)
    uncertainty: dict[str, Any] = field(default_factory=dict)
    gain_db: float | None = None
    p: float | None = None
    reason: str = ""
    tiles: int = 0

    @property
    def supported(self) -> bool:
        """True when the evidence passes ``auto``'s test (applied or not)."""
        return self.p is not None and _passes(self.gain_db or 0.0, self.p, self.tiles)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (non-finite numbers as ``None``)."""
        return {
            "name": self.name,
            "applied": self.applied,
            "estimate": _rounded(self.estimate),
            "uncertainty": _rounded(self.uncertainty),
            "gain_db": _finite(self.gain_db, 4),
            "p": None if self.p is None else float(f"{self.p:.3g}"),
            "tiles": self.tiles,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Evidence:
    """The tile-by-tile comparison behind a decision (see :func:`weigh`)."""

    gain_db: float
    p: float
    tiles: int = _MAX_GRID**2
    improved: int = 0


def weigh(
    noisy: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
    *,
    before_exposure: ExposureFit | None = None,
    after_exposure: ExposureFit | None = None,
) -> Evidence:
    """Compare two versions of the reference against the noisy shot, tile by tile.

    Parameters
    ----------
    noisy, before, after : ndarray of shape (H, W, 3)
        The noisy shot and the reference without and with the correction, on the
        same pixels, float in [0, 1].
    before_exposure, after_exposure : ExposureFit, optional
        Tone fits applied to ``before`` and ``after`` first, a channel at a time
        (so that no tone-matched copy of a 20 MP frame is made to be judged).

    Returns
    -------
    Evidence
        ``gain_db``: ``10 log10(MSE(before) / MSE(after))`` over the whole area
        (0 when both are 0); ``p``: the one-sided Wilcoxon signed-rank p-value of
        the per-tile MSE reductions, on a grid of up to 8 x 8 tiles of at least
        8 px (1 with fewer than 15 tiles, or none changed); ``tiles``: how many;
        ``improved``: on how many the correction lowered it.

    Notes
    -----
    Above 4 MP only every k-th row is compared (k = pixels // 4 MP): 4 million
    pixels measure a mean squared difference to 0.1 % of itself, and the
    decision then costs the same on any frame.
    """
    from scipy.stats import wilcoxon

    step = max(1, noisy.shape[0] * noisy.shape[1] // _MAX_PIXELS)
    noisy, before, after = noisy[::step], before[::step], after[::step]
    d_before = _tile_mse(noisy, before, before_exposure)
    d_after = _tile_mse(noisy, after, after_exposure)
    total_before, total_after = float(d_before.mean()), float(d_after.mean())
    if total_before <= 0.0:
        return Evidence(gain_db=0.0, p=1.0, tiles=d_before.size)
    gain_db = 10 * math.log10(total_before / max(total_after, 1e-20))
    reduction = d_before - d_after
    improved = int((reduction > 0).sum())
    if reduction.size < MIN_TILES or not reduction.any():
        return Evidence(gain_db=gain_db, p=1.0, tiles=reduction.size, improved=improved)
    p = float(wilcoxon(reduction, alternative="greater").pvalue)
    return Evidence(gain_db=gain_db, p=p, tiles=reduction.size, improved=improved)


def decide(evidence: Evidence, mode: str) -> tuple[bool, str]:
    """``(applied, reason)`` for a correction with this evidence, in ``mode``."""
    if mode == "always":
        return True, "applied: --align always"
    if evidence.tiles < MIN_TILES:
        return False, (
            f"not applied: the frame is too small to test it ({evidence.tiles} tiles of "
            f"{_MIN_TILE} px, needs {MIN_TILES})"
        )
    gained = (
        f"improves the fit to the noisy shot by {evidence.gain_db:.3f} dB, better on "
        f"{evidence.improved} of {evidence.tiles} tiles (p = {evidence.p:.2g})"
    )
    if _passes(evidence.gain_db, evidence.p, evidence.tiles):
        return True, f"applied: {gained}"
    return False, f"not applied: {gained}; needs {MIN_GAIN_DB} dB at p < {FALSE_RATE:.2g}"


def _passes(gain_db: float, p: float, tiles: int) -> bool:
    return tiles >= MIN_TILES and gain_db >= MIN_GAIN_DB and p < FALSE_RATE


def _tile_mse(noisy: np.ndarray, image: np.ndarray, exposure: ExposureFit | None) -> np.ndarray:
    """Mean squared difference per tile (all channels), float64, one channel at a time."""
    height, width = noisy.shape[:2]
    rows = max(1, min(_MAX_GRID, height // _MIN_TILE))
    cols = max(1, min(_MAX_GRID, width // _MIN_TILE))
    th, tw = height // rows, width // cols
    total = np.zeros((rows, cols), np.float64)
    for c in range(3):
        channel = image[: rows * th, : cols * tw, c]
        if exposure is not None:
            channel = exposure.apply_channel(channel, c)
        diff = noisy[: rows * th, : cols * tw, c] - channel
        np.square(diff, out=diff)
        total += diff.reshape(rows, th, cols, tw).sum(axis=(1, 3), dtype=np.float64)
    return total.ravel() / (3 * th * tw)


def _finite(value: float | None, digits: int) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, digits)


def _rounded(values: dict[str, Any]) -> dict[str, Any]:
    def one(v):
        if isinstance(v, (list, tuple)):
            return [one(x) for x in v]
        if isinstance(v, float):
            return _finite(v, 6)
        return v

    return {key: one(value) for key, value in values.items()}
