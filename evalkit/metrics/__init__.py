"""Full-reference image quality metrics, as plain functions and in a registry.

Functions take ``(reference, candidate)`` arrays, reference first, with keyword-only
options after them, and return a float.
"""

from ._psnr import peak_signal_noise_ratio, psnr
from ._registry import METRICS, MetricSpec
from ._ssim import ssim, structural_similarity

METRICS.register(
    MetricSpec(
        "psnr",
        "evalkit.metrics._psnr:peak_signal_noise_ratio",
        higher_is_better=True,
        range=(0.0, float("inf")),
        unit="dB",
        summary="peak signal-to-noise ratio, RGB, data range 1",
    )
)
METRICS.register(
    MetricSpec(
        "ssim",
        "evalkit.metrics._ssim:structural_similarity",
        higher_is_better=True,
        range=(-1.0, 1.0),
        summary="structural similarity, Gaussian window sigma 1.5, mean over RGB",
    )
)

__all__ = [
    "METRICS",
    "MetricSpec",
    "peak_signal_noise_ratio",
    "psnr",
    "ssim",
    "structural_similarity",
]
