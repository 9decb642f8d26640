"""piq's offline full-reference metrics (no weights needed): FSIM, VIF, GMSD,
HaarPSI, MDSI, VSI.

Each runs piq's function on the whole image in float32 torch tensors, candidate
as piq's ``x`` and reference as its ``y``; the values are piq's own (tested to
be identical), and piq's conventions apply (for example FSIM, HaarPSI and MDSI
downsample large images internally, as their papers do).
"""

from __future__ import annotations

import numpy as np

from ..errors import UnavailableError
from ._validate import as_rgb_float32, validate_pair


def _piq_call(function_name: str, reference, candidate, data_range: float, **options) -> float:
    validate_pair(reference, candidate, data_range)
    try:
        import piq
        import torch
    except ImportError as exc:
        raise UnavailableError(f"{function_name} needs piq: pip install 'piq>=0.8'") from exc
    tensors = []
    for image in (candidate, reference):
        rgb = np.clip(as_rgb_float32(image, data_range), 0, 1)
        tensors.append(torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None])
    with torch.inference_mode():
        value = getattr(piq, function_name)(*tensors, data_range=1.0, **options)
    return float(value.item())


def fsim(reference: np.ndarray, candidate: np.ndarray, *, data_range: float = 1.0) -> float:
    """FSIMc (feature similarity with chroma) in [0, 1], higher is better (piq.fsim)."""
    return _piq_call("fsim", reference, candidate, data_range, chromatic=True)


def vif(reference: np.ndarray, candidate: np.ndarray, *, data_range: float = 1.0) -> float:
    """Pixel-domain VIF (piq.vif_p), 1 for identical images; above 1 when the candidate
    has more contrast than the reference. Higher is better."""
    return _piq_call("vif_p", reference, candidate, data_range)


def gmsd(reference: np.ndarray, candidate: np.ndarray, *, data_range: float = 1.0) -> float:
    """Gradient magnitude similarity deviation (piq.gmsd), 0 for identical images,
    lower is better."""
    return _piq_call("gmsd", reference, candidate, data_range)


def haarpsi(reference: np.ndarray, candidate: np.ndarray, *, data_range: float = 1.0) -> float:
    """Haar wavelet-based perceptual similarity (piq.haarpsi) in [0, 1], higher is better."""
    return _piq_call("haarpsi", reference, candidate, data_range)


def mdsi(reference: np.ndarray, candidate: np.ndarray, *, data_range: float = 1.0) -> float:
    """Mean deviation similarity index (piq.mdsi), 0 for identical images, lower is better."""
    return _piq_call("mdsi", reference, candidate, data_range)


def vsi(reference: np.ndarray, candidate: np.ndarray, *, data_range: float = 1.0) -> float:
    """Visual saliency-induced index (piq.vsi) in [0, 1], higher is better."""
    return _piq_call("vsi", reference, candidate, data_range)
