"""Signal-dependent noise level of a single image, without a clean reference."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Standard deviation, in pixels, of the Gaussian whose output is taken as the
#: local signal; the rest is the high-pass part where noise is measured. Two
#: pixels keep the high-pass band wide enough to hold most of the power of
#: demosaiced camera noise, which is correlated over about a pixel.
SIGNAL_SIGMA = 2.0
#: Side, in pixels, of the blocks whose statistics are pooled.
BLOCK = 8
#: Intensity bins over [0, 1] in which the noise level is measured.
BINS = 16
#: Fraction of the blocks of a bin, the least structured, that measure its noise:
#: the rest may hold texture or edges, which would read as noise.
FLAT_FRACTION = 0.25
#: Fewest flat blocks that make a bin's estimate trustworthy.
MIN_BLOCKS = 8


@dataclass(frozen=True)
class NoiseProfile:
    """Noise standard deviation as a function of signal level, per channel.

    Attributes
    ----------
    levels : ndarray of shape (BINS,)
        Centres of the intensity bins, in [0, 1] (same units as the image).
    sigma : ndarray of shape (BINS, 3)
        Noise standard deviation per bin and channel, in the image's units; NaN
        where the image had too few flat pixels of that level to measure.
    poisson_gaussian : ndarray of shape (3, 2)
        Per channel ``(a, b)`` of the fit ``sigma**2 = a * level + b``, the
        Poisson-Gaussian model of raw sensor noise. After a tone curve (sRGB
        gamma) noise is no longer exactly of this form; the fit summarises, the
        bins are what :meth:`sigma_at` uses.
    """

    levels: np.ndarray
    sigma: np.ndarray
    poisson_gaussian: np.ndarray

    def sigma_at(self, signal: np.ndarray) -> np.ndarray:
        """Expected noise standard deviation for each pixel of a (H, W, 3) signal.

        Bins without a measurement are bridged by linear interpolation and held
        constant beyond the first and last measured bins.
        """
        out = np.empty(signal.shape, np.float32)
        for channel in range(3):
            known = np.isfinite(self.sigma[:, channel])
            if not known.any():
                out[..., channel] = np.nan
                continue
            out[..., channel] = np.interp(
                signal[..., channel], self.levels[known], self.sigma[known, channel]
            )
        return out

    @property
    def overall(self) -> np.ndarray:
        """One noise standard deviation per channel: the median over measured bins."""
        return np.nanmedian(self.sigma, axis=0)

    def to_dict(self) -> dict:
        """JSON-ready form: levels, sigma per channel (``None`` where unmeasured), fit."""
        return {
            "levels": [round(float(v), 4) for v in self.levels],
            "sigma": {
                name: [None if not np.isfinite(v) else round(float(v), 5) for v in self.sigma[:, i]]
                for i, name in enumerate("rgb")
            },
            "poisson_gaussian": {
                name: {
                    "a": float(self.poisson_gaussian[i, 0]),
                    "b": float(self.poisson_gaussian[i, 1]),
                }
                for i, name in enumerate("rgb")
            },
        }


def estimate_noise_profile(image: np.ndarray) -> NoiseProfile:
    """Estimate how noise depends on signal level in one image, per channel.

    Parameters
    ----------
    image : ndarray of shape (H, W, 3)
        Float image in [0, 1] (any tone curve: sRGB, linear).

    Returns
    -------
    NoiseProfile

    Notes
    -----
    Each channel is split into a local signal (Gaussian of ``SIGNAL_SIGMA`` px)
    and a high-pass remainder. Blocks of ``BLOCK`` x ``BLOCK`` pixels are binned by
    signal level; in each bin the ``FLAT_FRACTION`` of blocks with the least
    signal gradient are taken as flat, and the median of their high-pass
    variances, corrected for the share of white noise the Gaussian removes,
    estimates the noise variance at that level. This is the block-based approach
    of Liu et al. and Foi et al.: texture inflates the estimate only where an
    intensity level has no flat area at all.

    References
    ----------
    .. [1] A. Foi, M. Trimeche, V. Katkovnik, K. Egiazarian, "Practical
       Poissonian-Gaussian noise modeling and fitting for single-image raw-data",
       IEEE TIP 17(10), 2008. :DOI:`10.1109/TIP.2008.2001399`
    """
    import cv2
    from scipy.optimize import nnls

    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must have shape (H, W, 3), got {image.shape}")
    if min(image.shape[:2]) < 4 * BLOCK:
        raise ValueError(
            f"image of {image.shape[1]}x{image.shape[0]} is too small to estimate noise"
        )
    radius = int(4 * SIGNAL_SIGMA + 0.5)
    kernel = cv2.getGaussianKernel(2 * radius + 1, SIGNAL_SIGMA, cv2.CV_64F)
    kernel_2d = kernel @ kernel.T
    # Variance of (identity - Gaussian) applied to unit white noise.
    delta = np.zeros_like(kernel_2d)
    delta[radius, radius] = 1.0
    white_gain = float(((delta - kernel_2d) ** 2).sum())

    edges = np.linspace(0.0, 1.0, BINS + 1)
    levels = (edges[:-1] + edges[1:]) / 2
    sigma = np.full((BINS, 3), np.nan)
    fits = np.zeros((3, 2))
    height, width = (s // BLOCK * BLOCK for s in image.shape[:2])
    for channel in range(3):
        plane = np.ascontiguousarray(image[:height, :width, channel], np.float32)
        signal = cv2.sepFilter2D(plane, cv2.CV_32F, kernel, kernel, borderType=cv2.BORDER_REFLECT)
        highpass = plane - signal
        # Structure is judged on a smoother signal than noise is measured against:
        # a block whose noise happens to be low must not look flatter for it.
        smooth = cv2.GaussianBlur(plane, (0, 0), 2 * SIGNAL_SIGMA)
        gy, gx = np.gradient(smooth)
        mean = _blocks(signal).mean(axis=(1, 3))
        power = _blocks(highpass * highpass).mean(axis=(1, 3))
        gradient = _blocks(gx * gx + gy * gy).mean(axis=(1, 3))
        which = np.clip(np.digitize(mean, edges) - 1, 0, BINS - 1)
        counts = np.zeros(BINS)
        for index in range(BINS):
            in_bin = which == index
            if in_bin.sum() < MIN_BLOCKS / FLAT_FRACTION:
                continue
            flat = gradient[in_bin] <= np.quantile(gradient[in_bin], FLAT_FRACTION)
            sigma[index, channel] = np.sqrt(np.median(power[in_bin][flat]) / white_gain)
            counts[index] = flat.sum()
        fits[channel] = _fit_rejecting_texture(levels, sigma[:, channel], counts, nnls)
    return NoiseProfile(levels=levels, sigma=sigma, poisson_gaussian=fits)


def _fit_rejecting_texture(levels, sigma, counts, nnls, *, ratio=1.5, rounds=3):
    """Fit ``sigma**2 = a * level + b``; bins far above the fit are dropped (set NaN).

    Texture can only add to the high-pass power, so a bin whose flattest blocks
    still measure ``ratio`` times the fitted noise had no flat area: its value is
    structure, not noise, and is removed in place.
    """
    fit = np.zeros(2)
    for _ in range(rounds):
        known = np.isfinite(sigma)
        if known.sum() < 2:
            return fit
        weights = np.sqrt(counts[known])
        design = np.column_stack([levels[known], np.ones(known.sum())]) * weights[:, None]
        fit, _ = nnls(design, sigma[known] ** 2 * weights)
        predicted = np.sqrt(np.maximum(fit[0] * levels + fit[1], 1e-12))
        outliers = known & (sigma > ratio * predicted)
        if not outliers.any():
            return fit
        sigma[outliers] = np.nan
    return fit


def _blocks(plane: np.ndarray) -> np.ndarray:
    rows, cols = plane.shape[0] // BLOCK, plane.shape[1] // BLOCK
    return plane.reshape(rows, BLOCK, cols, BLOCK)
