"""Exposure and tone matching of the reference to the noisy shot."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

# Values this close to 0 or 1 (in [0, 1] units) count as clipped: 2 codes of 8 bits.
_CLIP_MARGIN = 2.0 / 255.0
# A bin whose noisy pixels are clipped more often than this is left out of the fit.
# Bins are summarised by the median of the noisy values, which clipping leaves in
# place while fewer than half are clipped (DND fits a Tobit model for the same
# censoring); 25 % keeps a wide margin, so heavy noise near black or white still
# leaves most of the tonal range to fit.
_MAX_CLIPPED = 0.25
_BINS = 64
_MAX_SAMPLES = 1_000_000  # pixels per channel used for the fit (a regular subsample)

MODELS = ("linear", "curve")


@dataclass(frozen=True, eq=False)
class ExposureFit:
    """How the reference's values map to the noisy shot's, per channel.

    Attributes
    ----------
    model : {"linear", "curve"}
        ``"linear"``: ``gain * reference + offset``. ``"curve"``: a monotone
        non-decreasing curve through the binned means (isotonic regression),
        continued beyond its ends with the linear gain.
    gain, offset : tuple of 3 floats
        The robust linear fit per channel (R, G, B), in [0, 1] units; reported for
        both models.
    curve_x, curve_y : tuple of 3 arrays, or None
        The curve's knots per channel (reference value -> noisy value), for ``"curve"``.
    fraction_used : float
        Share of the compared pixels that entered the fit (the rest were clipped in
        either image), in [0, 1].
    """

    model: str
    gain: tuple[float, float, float]
    offset: tuple[float, float, float]
    curve_x: tuple[np.ndarray, ...] | None = None
    curve_y: tuple[np.ndarray, ...] | None = None
    fraction_used: float = 1.0

    def apply(self, reference: np.ndarray) -> np.ndarray:
        """Map a reference (H, W, 3) in [0, 1] onto the noisy shot's tones; float32,
        clipped to [0, 1] as the camera clips the noisy shot."""
        out = np.empty(reference.shape, np.float32)
        for c in range(3):
            channel = reference[..., c]
            if self.model == "curve" and self.curve_x is not None and len(self.curve_x[c]) >= 2:
                out[..., c] = _apply_curve(channel, self.curve_x[c], self.curve_y[c], self.gain[c])
            else:
                out[..., c] = channel * np.float32(self.gain[c]) + np.float32(self.offset[c])
        return np.clip(out, 0.0, 1.0, out=out)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``model``, ``gain``, ``offset``, ``fraction_used`` and, for
        the curve, ``curve`` as ``{"x": [[...] x3], "y": [[...] x3]}``."""
        data: dict[str, Any] = {
            "model": self.model,
            "gain": [round(g, 6) for g in self.gain],
            "offset": [round(o, 6) for o in self.offset],
            "fraction_used": round(self.fraction_used, 4),
        }
        if self.curve_x is not None:
            data["curve"] = {
                "x": [np.round(x, 5).tolist() for x in self.curve_x],
                "y": [np.round(y, 5).tolist() for y in self.curve_y],
            }
        return data


def fit_exposure(reference: np.ndarray, noisy: np.ndarray, *, model: str = "linear") -> ExposureFit:
    """Fit the reference's tones to the noisy shot's, ignoring clipped pixels.

    Parameters
    ----------
    reference : ndarray of shape (H, W, 3)
        The (already registered) reference, float in [0, 1].
    noisy : ndarray of shape (H, W, 3)
        The noisy shot, same shape. Fit against this, never against a denoiser's
        output: a denoiser that changes contrast must still be caught.
    model : {"linear", "curve"}
        Per-channel gain and offset, or a monotone curve (see :class:`ExposureFit`).

    Returns
    -------
    ExposureFit

    Notes
    -----
    Per channel, pixels are sorted into 64 equal-count bins of the reference's
    value blurred by a 1-px Gaussian (so that the reference's own noise does not
    dilute the gain); each bin gives the mean reference and the median noisy value, which
    averages the noise away. Pixels where the reference is within 2/255 of 0 or
    1 are dropped, and so are whole bins where more than 25 % of the noisy values
    are within 2/255 of 0 or 1. The median is unbiased by clipping until half the
    values are clipped, where a mean is biased at once (at ISO 12800 nearly every
    bin has some clipped noise): a censoring-aware fit in the spirit of the Tobit
    regression DND uses
    (Plötz & Roth 2017, doi:10.1109/CVPR.2017.294). The line through the bin means
    is the Theil-Sen estimator (:func:`scipy.stats.theilslopes`), so bins spoiled
    by scene motion do not pull it. The curve is
    :func:`scipy.optimize.isotonic_regression` of the bin means weighted by count.
    With fewer than 3 usable bins the fit is the identity (gain 1, offset 0) and
    ``fraction_used`` is 0.
    """
    from scipy.stats import theilslopes

    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    if reference.shape != noisy.shape or reference.ndim != 3 or reference.shape[2] != 3:
        raise ValueError(
            f"reference and noisy must both have shape (H, W, 3), got {reference.shape} "
            f"and {noisy.shape}"
        )
    import cv2

    step = max(1, int(np.sqrt(reference.shape[0] * reference.shape[1] / _MAX_SAMPLES)))
    ref_s, noisy_s = reference[::step, ::step], noisy[::step, ::step]
    # Pixels are binned on a slightly blurred reference: binning on the reference's
    # own noise would make the bin means regress to the mean and dilute the gain
    # (errors in variables); the bins' means still come from the unblurred values.
    source = np.ascontiguousarray(reference, np.float32)
    if step == 1:
        keys = cv2.GaussianBlur(source, (0, 0), 1.0)
    else:  # the mean of each step x step block: as denoising, and far cheaper on 20 MP
        keys = cv2.resize(source, (ref_s.shape[1], ref_s.shape[0]), interpolation=cv2.INTER_AREA)
    gains, offsets, xs, ys, used = [], [], [], [], []
    for c in range(3):
        x = ref_s[..., c].ravel().astype(np.float64)
        y = noisy_s[..., c].ravel().astype(np.float64)
        key = keys[..., c].ravel().astype(np.float64)
        keep = (x > _CLIP_MARGIN) & (x < 1 - _CLIP_MARGIN)
        x, y, key = x[keep], y[keep], key[keep]
        bin_x, bin_y, counts, n_used = _binned_means(x, y, key)
        used.append(n_used / max(1, ref_s.shape[0] * ref_s.shape[1]))
        if len(bin_x) < 3:
            gains.append(1.0)
            offsets.append(0.0)
            xs.append(np.empty(0))
            ys.append(np.empty(0))
            used[-1] = 0.0
            continue
        slope, intercept, _, _ = theilslopes(bin_y, bin_x)
        gains.append(float(slope))
        offsets.append(float(intercept))
        xs.append(bin_x)
        ys.append(_monotone(bin_y, counts) if model == "curve" else bin_y)
    return ExposureFit(
        model=model,
        gain=tuple(gains),
        offset=tuple(offsets),
        curve_x=tuple(xs) if model == "curve" else None,
        curve_y=tuple(ys) if model == "curve" else None,
        fraction_used=float(np.mean(used)),
    )


def _monotone(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    # Imported here: scipy.optimize takes a quarter of a second, and only the curve needs it.
    from scipy.optimize import isotonic_regression

    return isotonic_regression(values, weights=weights, increasing=True).x


def _binned_means(x: np.ndarray, y: np.ndarray, key: np.ndarray):
    """Equal-count bins of ``key``: mean of ``x`` and median of ``y`` per bin.

    The median of the noisy values is unmoved by clipping as long as fewer than
    half of them are clipped (censored), where the mean is biased as soon as any
    are: at ISO 12800 most bins have a few noise samples clipped at 0 or 1.
    Bins with more than :data:`_MAX_CLIPPED` of their noisy values clipped are
    dropped.
    """
    if x.size < _BINS * 10:
        return np.empty(0), np.empty(0), np.empty(0), 0
    edges = np.unique(np.quantile(key, np.linspace(0, 1, _BINS + 1)))
    index = np.clip(np.searchsorted(edges, key, side="right") - 1, 0, len(edges) - 2)
    order = np.argsort(index, kind="stable")
    starts = np.searchsorted(index[order], np.arange(len(edges)))
    clipped = (y <= _CLIP_MARGIN) | (y >= 1 - _CLIP_MARGIN)
    bin_x, bin_y, counts = [], [], []
    for start, stop in itertools.pairwise(starts):
        members = order[start:stop]
        if members.size >= 10 and clipped[members].mean() <= _MAX_CLIPPED:
            bin_x.append(x[members].mean())
            bin_y.append(np.median(y[members]))
            counts.append(members.size)
    counts = np.asarray(counts, np.float64)
    return np.asarray(bin_x), np.asarray(bin_y), counts, int(counts.sum())


def _apply_curve(channel: np.ndarray, knots_x, knots_y, gain: float) -> np.ndarray:
    out = np.interp(channel, knots_x, knots_y).astype(np.float32)
    below, above = channel < knots_x[0], channel > knots_x[-1]
    out[below] = knots_y[0] + gain * (channel[below] - knots_x[0])
    out[above] = knots_y[-1] + gain * (channel[above] - knots_x[-1])
    return out
