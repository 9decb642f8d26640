"""Full-reference image quality metrics, as plain functions and in a registry.

Functions take ``(reference, candidate)`` arrays, reference first, with keyword-only
options after them, and return a float (maps: an (H, W) float32 array).
:func:`evaluate` runs any registered metric under a convention preset, inside a
mask or a box, with its map. Conventions, tolerances and benchmarks:
docs/metrics.md.
"""

from ._deltae import delta_e2000_map, delta_e2000_mean, delta_e2000_p95
from ._evaluate import MetricResult, evaluate, metric_map
from ._flip import flip, flip_error_map
from ._lpips import dists, lpips_distance
from ._msssim import ms_ssim, multiscale_structural_similarity
from ._piq_metrics import fsim, gmsd, haarpsi, mdsi, vif, vsi
from ._presets import PRESETS, Convention, Preset, get_preset
from ._psnr import absolute_difference_map, peak_signal_noise_ratio, psnr
from ._registry import METRICS, MetricSpec
from ._ssim import ssim, structural_similarity, structural_similarity_map
from ._ssimulacra2 import ssimulacra2
from ._stats import MeanCI, PairedComparison, bootstrap_mean_ci, compare_paired
from ._weights import (
    KNOWN_WEIGHTS,
    WeightsFile,
    WeightsStatus,
    find_weights,
    install_weights,
    list_weights,
    weights_dir,
)

_M = "evalkit.metrics."
INF = float("inf")

for _spec in (
    MetricSpec(
        "psnr",
        _M + "_psnr:peak_signal_noise_ratio",
        higher_is_better=True,
        range=(0.0, INF),
        unit="dB",
        summary="peak signal-to-noise ratio, RGB, data range 1",
        map_target=_M + "_psnr:absolute_difference_map",
        masked_target=_M + "_psnr:peak_signal_noise_ratio_masked",
    ),
    MetricSpec(
        "ssim",
        _M + "_ssim:structural_similarity",
        higher_is_better=True,
        range=(-1.0, 1.0),
        summary="structural similarity, Gaussian window sigma 1.5, mean over RGB",
        map_target=_M + "_ssim:structural_similarity_map",
        masked_target=_M + "_ssim:structural_similarity_masked",
    ),
    MetricSpec(
        "ms_ssim",
        _M + "_msssim:multiscale_structural_similarity",
        higher_is_better=True,
        range=(0.0, 1.0),
        summary="multi-scale SSIM, 5 scales, piq's convention, mean over RGB",
    ),
    MetricSpec(
        "deltae2000",
        _M + "_deltae:delta_e2000_mean",
        higher_is_better=False,
        range=(0.0, INF),
        unit="ΔE00",
        summary="mean CIEDE2000 colour difference (sRGB, D65)",
        map_target=_M + "_deltae:delta_e2000_map",
        masked_target=_M + "_deltae:delta_e2000_mean_masked",
    ),
    MetricSpec(
        "deltae2000_p95",
        _M + "_deltae:delta_e2000_p95",
        higher_is_better=False,
        range=(0.0, INF),
        unit="ΔE00",
        summary="95th percentile of CIEDE2000 colour difference (sRGB, D65)",
        map_target=_M + "_deltae:delta_e2000_map",
        masked_target=_M + "_deltae:delta_e2000_p95_masked",
    ),
    MetricSpec(
        "flip",
        _M + "_flip:flip",
        higher_is_better=False,
        range=(0.0, 1.0),
        summary="NVIDIA LDR-FLIP mean error, 67 pixels per degree (flip-evaluator)",
        map_target=_M + "_flip:flip_error_map",
        masked_target=_M + "_flip:flip_masked",
        optional=True,
    ),
    MetricSpec(
        "ssimulacra2",
        _M + "_ssimulacra2:ssimulacra2",
        higher_is_better=True,
        range=(-INF, 100.0),
        summary="SSIMULACRA 2 (100 identical, 90 visually lossless, 50 medium)",
        optional=True,
    ),
    MetricSpec(
        "lpips_alex",
        _M + "_lpips:lpips_alex",
        higher_is_better=False,
        range=(0.0, INF),
        summary="LPIPS v0.1, AlexNet (needs ImageNet weights: evalkit weights)",
        optional=True,
    ),
    MetricSpec(
        "lpips_vgg",
        _M + "_lpips:lpips_vgg",
        higher_is_better=False,
        range=(0.0, INF),
        summary="LPIPS v0.1, VGG-16 (needs ImageNet weights: evalkit weights)",
        optional=True,
    ),
    MetricSpec(
        "dists",
        _M + "_lpips:dists",
        higher_is_better=False,
        range=(0.0, 1.0),
        summary="DISTS via piq (needs VGG-16 and DISTS weights: evalkit weights)",
        optional=True,
    ),
    MetricSpec(
        "fsim",
        _M + "_piq_metrics:fsim",
        higher_is_better=True,
        range=(0.0, 1.0),
        summary="FSIMc feature similarity (piq)",
        optional=True,
    ),
    MetricSpec(
        "vif",
        _M + "_piq_metrics:vif",
        higher_is_better=True,
        range=(0.0, INF),
        summary="pixel-domain visual information fidelity (piq.vif_p; >1 means added contrast)",
        optional=True,
    ),
    MetricSpec(
        "gmsd",
        _M + "_piq_metrics:gmsd",
        higher_is_better=False,
        range=(0.0, INF),
        summary="gradient magnitude similarity deviation (piq)",
        optional=True,
    ),
    MetricSpec(
        "haarpsi",
        _M + "_piq_metrics:haarpsi",
        higher_is_better=True,
        range=(0.0, 1.0),
        summary="Haar wavelet perceptual similarity (piq)",
        optional=True,
    ),
    MetricSpec(
        "mdsi",
        _M + "_piq_metrics:mdsi",
        higher_is_better=False,
        range=(0.0, INF),
        summary="mean deviation similarity index (piq)",
        optional=True,
    ),
    MetricSpec(
        "vsi",
        _M + "_piq_metrics:vsi",
        higher_is_better=True,
        range=(0.0, 1.0),
        summary="visual saliency-induced index (piq)",
        optional=True,
    ),
    MetricSpec(
        "ocr_cer",
        "evalkit.ocr._metrics:ocr_character_error_rate",
        higher_is_better=False,
        range=(0.0, INF),
        summary="mean character error rate of the text regions' readings (OCR)",
        reads_text=True,
    ),
    MetricSpec(
        "text_hallucinations",
        "evalkit.ocr._metrics:count_text_hallucinations",
        higher_is_better=False,
        range=(0.0, INF),
        summary="text regions the output turns confidently into other text (OCR)",
        reads_text=True,
    ),
):
    METRICS.register(_spec)
del _spec

__all__ = [
    "KNOWN_WEIGHTS",
    "METRICS",
    "PRESETS",
    "Convention",
    "MeanCI",
    "MetricResult",
    "MetricSpec",
    "PairedComparison",
    "Preset",
    "WeightsFile",
    "WeightsStatus",
    "absolute_difference_map",
    "bootstrap_mean_ci",
    "compare_paired",
    "delta_e2000_map",
    "delta_e2000_mean",
    "delta_e2000_p95",
    "dists",
    "evaluate",
    "find_weights",
    "flip",
    "flip_error_map",
    "fsim",
    "get_preset",
    "gmsd",
    "haarpsi",
    "install_weights",
    "list_weights",
    "lpips_distance",
    "mdsi",
    "metric_map",
    "ms_ssim",
    "multiscale_structural_similarity",
    "peak_signal_noise_ratio",
    "psnr",
    "ssim",
    "ssimulacra2",
    "structural_similarity",
    "structural_similarity_map",
    "vif",
    "vsi",
    "weights_dir",
]
