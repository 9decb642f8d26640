"""Noise without a reference: how much there is, and what a denoiser took away."""

from ._profile import NoiseProfile, estimate_noise_profile
from ._residual import ResidualAnalysis, analyze_residual

__all__ = ["NoiseProfile", "ResidualAnalysis", "analyze_residual", "estimate_noise_profile"]
