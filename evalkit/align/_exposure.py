"""Exposure and tone matching of the reference to the noisy shot."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

# Values this close to 0 or 1 (in [0, 1] units) count as clipped: 2 codes of 8 bits.
_CLIP_MARGIN = 2.0 / 255.0
# A bin whose noisy pixels are clipped more often than this is left out of the fit.
# Each bin is summarised by the mean of its noisy values, which is unbiased for any
# zero-mean noise but biased by censoring: with 1 % of a bin clipped the bias is
# under 0.004 noise sigmas (the Gaussian tail beyond 2.3 sigma averages 0.37 sigma
# past it), far below a code of 8 bits even at ISO 12800.
_MAX_CLIPPED = 0.01
_BINS = 64
# Blur (px) of the reference values that pixels are binned by. Binning on the
# reference's own pixel values selects on what the shots do not share pixel by
# pixel (its noise, sub-pixel misregistration, demosaicing, JPEG): the bins' means
# then regress to the mean (errors in variables) and the gain is diluted wherever
# a channel spans a narrow range. On a matched PolyU text crop (bulletin_5, blue)
# a 1-px blur gave a gain of 0.84 +- 0.08; 2 px, whose centre weight is a quarter
# as large, 0.89 +- 0.05. The curve keeps 1 px: a wider key mixes more values in
# a bin, and the mean of a bent curve is not the curve at the mean (Jensen).
_SMOOTH_SIGMA = {"linear": 2.0, "curve": 1.0}
_MAX_SAMPLES = 1_000_000  # pixels per channel used for the fit (a regular subsample)

# Rows per strip of the linear tone map: 64 rows of a 5472 px RGB frame are 4 MB.
_APPLY_ROWS = 64

MODELS = ("linear", "curve")
_ONE_SIGMA = 0.6827  # confidence of a +-1 sigma interval


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
    gain_sigma, offset_sigma : tuple of 3 floats
        One-sigma uncertainty of each channel's gain and offset (half the 68 %
        confidence interval of the Theil-Sen slope; the standard error of the
        median intercept), in the same units.
    """

    model: str
    gain: tuple[float, float, float]
    offset: tuple[float, float, float]
    curve_x: tuple[np.ndarray, ...] | None = None
    curve_y: tuple[np.ndarray, ...] | None = None
    fraction_used: float = 1.0
    gain_sigma: tuple[float, float, float] = (0.0, 0.0, 0.0)
    offset_sigma: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def apply(self, reference: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
        """Map a reference (H, W, 3) in [0, 1] onto the noisy shot's tones; float32,
        clipped to [0, 1] as the camera clips the noisy shot.

        ``out`` (float32, the reference's shape, possibly the reference itself)
        receives the result instead of a new array.
        """
        if out is None:
            out = np.empty(reference.shape, np.float32)
        if self.model == "linear" or self.curve_x is None:
            # Interleaved channels (3x faster than channel views), in strips of rows
            # whose three passes run in the cache rather than over the whole frame.
            gain, offset = np.float32(self.gain), np.float32(self.offset)
            for top in range(0, reference.shape[0], _APPLY_ROWS):
                part = out[top : top + _APPLY_ROWS]
                np.multiply(reference[top : top + _APPLY_ROWS], gain, out=part, dtype=np.float32)
                part += offset
                np.clip(part, 0.0, 1.0, out=part)
            return out
        for c in range(3):
            out[..., c] = self.apply_channel(reference[..., c], c)
        return out

    def apply_channel(self, channel: np.ndarray, c: int) -> np.ndarray:
        """:meth:`apply` for one (H, W) channel ``c`` (0, 1, 2 for R, G, B)."""
        if self.model == "curve" and self.curve_x is not None and len(self.curve_x[c]) >= 2:
            out = _apply_curve(channel, self.curve_x[c], self.curve_y[c], self.gain[c])
        else:
            out = channel * np.float32(self.gain[c]) + np.float32(self.offset[c])
        return np.clip(out, 0.0, 1.0, out=out)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``model``, ``gain``, ``offset``, ``gain_sigma``,
        ``offset_sigma``, ``fraction_used`` and, for the curve, ``curve`` as
        ``{"x": [[...] x3], "y": [[...] x3]}``."""
        data: dict[str, Any] = {
            "model": self.model,
            "gain": [round(g, 6) for g in self.gain],
            "offset": [round(o, 6) for o in self.offset],
            "gain_sigma": [round(g, 6) for g in self.gain_sigma],
            "offset_sigma": [round(o, 6) for o in self.offset_sigma],
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
    value blurred by a 2-px Gaussian (1 px for the curve; see ``_SMOOTH_SIGMA``);
    above 1 MP, one pixel per block of k x k px (k = ceil(sqrt(MP))) is used,
    binned by its block's mean. Each bin gives the mean reference and the mean
    noisy value, which averages the noise away without bias; the same statistic
    on both sides puts every bin of identical images on the identity line, so
    their fit is exactly gain 1, offset 0. Pixels where the reference is within
    2/255 of 0 or 1 are dropped, and so are whole bins where more than 1 % of the
    noisy values are within 2/255 of 0 or 1, where censoring would bias their
    mean: the noisy
    shot's clipped shadows and highlights are left out, not modelled (DND fits a
    Tobit model for the same censoring; Plötz & Roth 2017,
    doi:10.1109/CVPR.2017.294). The line through the bin means is the Theil-Sen
    estimator (:func:`scipy.stats.theilslopes`), so bins spoiled by scene motion
    do not pull it. The curve is :func:`scipy.optimize.isotonic_regression` of the
    bin means weighted by count. With fewer than 3 usable bins the fit is the
    identity (gain 1, offset 0) and ``fraction_used`` is 0.
    """
    from scipy.stats import theilslopes

    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    if reference.shape != noisy.shape or reference.ndim != 3 or reference.shape[2] != 3:
        raise ValueError(
            f"reference and noisy must both have shape (H, W, 3), got {reference.shape} "
            f"and {noisy.shape}"
        )
    height, width = reference.shape[:2]
    step = max(1, math.ceil(math.sqrt(height * width / _MAX_SAMPLES)))
    rows, cols = height // step, width // step
    # One sample per step x step block, at its centre, where the block mean is centred.
    centre = (slice(step // 2, rows * step, step), slice(step // 2, cols * step, step))
    ref_s, noisy_s = reference[centre], noisy[centre]
    keys = _smooth(reference[: rows * step, : cols * step], step, _SMOOTH_SIGMA[model])
    gains, offsets, xs, ys, used, gain_sigmas, offset_sigmas = [], [], [], [], [], [], []
    for c in range(3):
        x = ref_s[..., c].ravel().astype(np.float64)
        y = noisy_s[..., c].ravel().astype(np.float64)
        key = keys[..., c].ravel()
        keep = (x > _CLIP_MARGIN) & (x < 1 - _CLIP_MARGIN)
        bin_x, bin_y, counts, n_used = _binned_means(x[keep], y[keep], key[keep])
        used.append(n_used / max(1, ref_s.shape[0] * ref_s.shape[1]))
        if len(bin_x) < 3:
            gains.append(1.0)
            offsets.append(0.0)
            gain_sigmas.append(0.0)
            offset_sigmas.append(0.0)
            xs.append(np.empty(0))
            ys.append(np.empty(0))
            used[-1] = 0.0
            continue
        slope, intercept, low, high = theilslopes(bin_y, bin_x, alpha=_ONE_SIGMA)
        gains.append(float(slope))
        offsets.append(float(intercept))
        gain_sigmas.append(float(high - low) / 2)
        # Standard error of the median of the bins' intercepts (1.2533 = sqrt(pi / 2)).
        residual = bin_y - slope * bin_x
        offset_sigmas.append(float(1.2533 * residual.std() / np.sqrt(residual.size)))
        xs.append(bin_x)
        ys.append(_monotone(bin_y, counts) if model == "curve" else bin_y)
    return ExposureFit(
        model=model,
        gain=tuple(gains),
        offset=tuple(offsets),
        curve_x=tuple(xs) if model == "curve" else None,
        curve_y=tuple(ys) if model == "curve" else None,
        fraction_used=float(np.mean(used)),
        gain_sigma=tuple(gain_sigmas),
        offset_sigma=tuple(offset_sigmas),
    )


def _monotone(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    # Imported here: scipy.optimize takes a quarter of a second, and only the curve needs it.
    from scipy.optimize import isotonic_regression

    return isotonic_regression(values, weights=weights, increasing=True).x


def _smooth(image: np.ndarray, step: int, sigma: float) -> np.ndarray:
    """The binning key, float32: a Gaussian blur of ``sigma`` px or, above 1 MP
    (``step`` > 1), the mean of each ``step`` x ``step`` block (smoothing as
    strong, and far cheaper at 20 MP). ``image`` is a whole number of blocks."""
    import cv2

    # OpenCV reads a crop of a float32 frame in place: no copy of a 20 MP frame.
    source = np.asarray(image, np.float32)
    if step == 1:
        return cv2.GaussianBlur(source, (0, 0), sigma)
    size = (image.shape[1] // step, image.shape[0] // step)
    return cv2.resize(source, size, interpolation=cv2.INTER_AREA)


def _binned_means(x: np.ndarray, y: np.ndarray, key: np.ndarray):
    """Equal-count bins of ``key``: means of ``x`` and ``y`` per bin, and counts.

    Bins with fewer than 10 pixels, or with more than :data:`_MAX_CLIPPED` of their
    noisy values ``y`` clipped, are dropped.
    """
    if x.size < _BINS * 10:
        return np.empty(0), np.empty(0), np.empty(0), 0
    edges = np.unique(np.quantile(key, np.linspace(0, 1, _BINS + 1)))
    if len(edges) < 3:  # a (nearly) constant channel has no tones to fit
        return np.empty(0), np.empty(0), np.empty(0), 0
    index = np.clip(np.searchsorted(edges, key, side="right") - 1, 0, len(edges) - 2)
    clipped = (y <= _CLIP_MARGIN) | (y >= 1 - _CLIP_MARGIN)
    bins = len(edges) - 1
    counts = np.bincount(index, minlength=bins).astype(np.float64)
    sum_x = np.bincount(index, weights=x, minlength=bins)
    sum_y = np.bincount(index, weights=y, minlength=bins)
    n_clipped = np.bincount(index, weights=clipped, minlength=bins)
    keep = (counts >= 10) & (n_clipped <= _MAX_CLIPPED * np.maximum(counts, 1))
    counts = counts[keep]
    return sum_x[keep] / counts, sum_y[keep] / counts, counts, int(counts.sum())


def _apply_curve(channel: np.ndarray, knots_x, knots_y, gain: float) -> np.ndarray:
    out = np.interp(channel, knots_x, knots_y).astype(np.float32)
    below, above = channel < knots_x[0], channel > knots_x[-1]
    out[below] = knots_y[0] + gain * (channel[below] - knots_x[0])
    out[above] = knots_y[-1] + gain * (channel[above] - knots_x[-1])
    return out
