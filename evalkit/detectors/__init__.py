"""Artifact detectors: what a denoiser got wrong, where, and how badly.

Each detector is a plain function ``detect_<name>(reference, candidate, *,
noisy=None, <thresholds>) -> Detection`` on float32 (H, W, 3) sRGB images in
[0, 1]. Its findings carry a bounding box ``(x, y, w, h)`` in pixels and a
severity whose thresholds are documented in the function and in
``docs/detectors.md``. :func:`run_detectors` runs several on one pair and
shares the band-pass analysis between them.

Built-in names: ``texture_hallucination``, ``oversharpening``, ``detail_loss``,
``highlight_clipping``, ``shadow_clipping``, ``tone_shift``, ``color_shift``,
``residual_noise`` (always info), ``face_alteration``. A third-party package
adds its own through the ``evalkit.detectors`` entry-point group, whose value
is a :class:`DetectorSpec`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._registry import Registry, load_target
from ..errors import UnavailableError
from ..findings import Finding, Severity
from ._base import Detection, DetectorSpec, clear_cache, validate_images
from ._color import detect_color_shift
from ._face import detect_face_alteration
from ._heatmap import HeatMap
from ._texture import (
    detect_detail_loss,
    detect_oversharpening,
    detect_residual_noise,
    detect_texture_hallucination,
)
from ._tone import detect_highlight_clipping, detect_shadow_clipping, detect_tone_shift

_BUILTINS = (
    ("texture_hallucination", "_texture", "structure invented where the reference is blank"),
    ("oversharpening", "_texture", "busy detail sharpened beyond the scene, noise amplified"),
    ("detail_loss", "_texture", "texture of the reference flattened"),
    ("highlight_clipping", "_tone", "areas newly blown out to white"),
    ("shadow_clipping", "_tone", "shadows newly crushed to black"),
    ("tone_shift", "_tone", "contrast, brightness and tone-curve changes, global and local"),
    ("color_shift", "_color", "hue and saturation moved (CIEDE2000 at equal lightness)"),
    ("residual_noise", "_texture", "noise left in flat areas vs the noisy input (info)"),
    ("face_alteration", "_face", "faces changed far more than the rest of the picture"),
)

DETECTORS: Registry[DetectorSpec] = Registry(
    "detector",
    "evalkit.detectors",
    [
        DetectorSpec(name, f"evalkit.detectors.{module}:detect_{name}", summary)
        for name, module, summary in _BUILTINS
    ],
)

#: Detectors :func:`run_detectors` runs when ``names`` is not given. Installing
#: a plugin never changes it.
DEFAULT_DETECTORS: tuple[str, ...] = tuple(name for name, _, _ in _BUILTINS)


def run_detectors(
    reference: np.ndarray,
    candidate: np.ndarray,
    *,
    noisy: np.ndarray | None = None,
    names: Sequence[str] | None = None,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Detection]:
    """Run several detectors on one pair.

    Parameters
    ----------
    reference, candidate : ndarray of shape (H, W, 3)
        float sRGB images in [0, 1], reference first.
    noisy : ndarray of shape (H, W, 3), optional
        The noisy shot the candidate was made from; several detectors use it to
        tell leftover noise from invented structure.
    names : sequence of str, optional
        Registry names to run, in this order; default :data:`DEFAULT_DETECTORS`.
    settings : mapping, optional
        Detector name → keyword arguments for it, e.g.
        ``{"oversharpening": {"warning": 1.5}}``.

    Returns
    -------
    list of Detection
        One per name, in order. A detector that cannot run here (missing
        package) gives a Detection whose ``unavailable`` says why.

    Raises
    ------
    KeyError
        An unknown detector name (with suggestions).
    TypeError, ValueError
        Unusable images, or settings for a detector not in ``names``.

    Examples
    --------
    >>> import numpy as np
    >>> reference = np.full((64, 64, 3), 0.5, np.float32)
    >>> candidate = np.clip((reference - 0.5) * 1.3 + 0.55, 0, 1)
    >>> (tone,) = run_detectors(reference, candidate, names=["tone_shift"])
    >>> tone.findings[0].severity.value, tone.findings[0].message
    ('warning', 'overall mean brightness changed by +0.29 stops')
    """
    validate_images(reference, candidate, noisy)
    names = DEFAULT_DETECTORS if names is None else tuple(names)
    specs = [DETECTORS.get(name) for name in names]  # unknown names fail before any work
    settings = dict(settings or {})
    unknown = sorted(set(settings) - set(names))
    if unknown:
        raise ValueError(f"settings given for detectors that are not run: {', '.join(unknown)}")
    detections = []
    try:
        for spec in specs:
            try:
                detection = load_target(spec.target)(
                    reference, candidate, noisy=noisy, **settings.get(spec.name, {})
                )
            except UnavailableError as exc:
                # One detector missing a dependency must not cost the others.
                detection = Detection(spec.name, float("nan"), None, unavailable=str(exc))
            detections.append(detection)
    finally:
        # The shared band images are large; a runner scoring many pairs should
        # not carry the last pair's while it loads the next.
        clear_cache()
    return detections


def collect_findings(detections: Sequence[Detection]) -> list[Finding]:
    """All findings of ``detections``, most severe first (stable within a severity)."""
    findings = [finding for detection in detections for finding in detection.findings]
    return sorted(findings, key=lambda f: -Severity(f.severity).rank)


__all__ = [
    "DEFAULT_DETECTORS",
    "DETECTORS",
    "Detection",
    "DetectorSpec",
    "HeatMap",
    "collect_findings",
    "detect_color_shift",
    "detect_detail_loss",
    "detect_face_alteration",
    "detect_highlight_clipping",
    "detect_oversharpening",
    "detect_residual_noise",
    "detect_shadow_clipping",
    "detect_texture_hallucination",
    "detect_tone_shift",
    "run_detectors",
]
