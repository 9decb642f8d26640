"""One call for any registered metric: preset, region (mask or box) and map."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from .._registry import load_target
from ._presets import get_preset
from ._registry import METRICS
from ._validate import validate_pair

BBox = tuple[int, int, int, int]
"""``(x, y, width, height)`` in pixels, as in :class:`evalkit.findings.Finding`."""


@dataclass(frozen=True)
class MetricResult:
    """A metric's value with the convention it was computed under.

    Attributes
    ----------
    name : str
        Registry name.
    value : float
        The value, in the metric's unit (``inf`` for PSNR of identical images).
    map : ndarray of shape (H, W) or None
        Per-pixel form over the measured area, when asked for and the metric has one.
    convention : mapping
        Preset name, colour channel, crop, precision, options, and the region
        (``"image"``, ``"bbox"``, ``"mask"`` or ``"bbox of mask"``).
    """

    name: str
    value: float
    map: np.ndarray | None = None
    convention: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


def evaluate(
    name: str,
    reference: np.ndarray,
    candidate: np.ndarray,
    *,
    data_range: float = 1.0,
    preset: str = "default",
    crop_border: int | None = None,
    mask: np.ndarray | None = None,
    bbox: BBox | None = None,
    with_map: bool = False,
) -> MetricResult:
    """Compute the registered metric ``name`` under a preset, optionally in a region.

    Parameters
    ----------
    name : str
        Registry name (``"ssim"``, ``"lpips_alex"``...).
    reference, candidate : ndarray of shape (H, W) or (H, W, C)
        Images in the same units.
    data_range : float, optional
        Black-to-white distance in those units.
    preset : str, optional
        Convention preset (``"default"``, ``"basicsr"``, ``"matlab"``, ``"pyiqa"``);
        see docs/metrics.md.
    crop_border : int, optional
        Overrides the preset's border crop (BasicSR uses the SR scale).
    mask : ndarray of bool, shape (H, W), optional
        Measure only these pixels. Metrics with a masked form (PSNR, SSIM, ΔE, FLIP)
        use exactly these pixels; the others are computed on the mask's bounding
        box, which the result's ``convention["region"]`` records.
    bbox : (x, y, width, height), optional
        Measure only this box (intersected with the image). With ``mask``, the mask
        is restricted to the box.
    with_map : bool, optional
        Also return the per-pixel map of the measured area (metrics with a map).

    Returns
    -------
    MetricResult

    Raises
    ------
    KeyError
        Unknown metric or preset, with suggestions.
    ValueError
        Bad images, an empty region, or a region smaller than the metric's window.
    evalkit.errors.UnavailableError
        The metric cannot run here (missing package or weights), with the fix.
    """
    spec = METRICS.get(name)
    convention = get_preset(preset).convention(name, crop_border=crop_border)
    validate_pair(reference, candidate, data_range)
    region = "image"
    if mask is not None and (mask.dtype != bool or mask.shape != reference.shape[:2]):
        raise ValueError(
            f"mask must be bool of shape {reference.shape[:2]}, got {mask.dtype} {mask.shape}"
        )
    border = convention.crop_border
    if bbox is not None or mask is not None:
        # Regions are in the caller's image coordinates: crop the border first by
        # intersecting, then measure the region without cropping again.
        height, width = reference.shape[:2]
        x0, y0, x1, y1 = border, border, width - border, height - border
        if bbox is not None:
            bx, by, bw, bh = (int(v) for v in bbox)
            x0, y0, x1, y1 = max(x0, bx), max(y0, by), min(x1, bx + bw), min(y1, by + bh)
            region = "bbox"
        if mask is not None:
            rows, cols = np.nonzero(mask[y0:y1, x0:x1]) if x1 > x0 and y1 > y0 else ((), ())
            if len(rows) == 0:
                raise ValueError("the mask selects no pixels inside the measured area")
            y0, y1 = y0 + int(rows.min()), y0 + int(rows.max()) + 1
            x0, x1 = x0 + int(cols.min()), x0 + int(cols.max()) + 1
        if x1 <= x0 or y1 <= y0:
            raise ValueError(f"bbox {bbox} lies outside the measured area")
        reference, candidate = reference[y0:y1, x0:x1], candidate[y0:y1, x0:x1]
        mask = None if mask is None else mask[y0:y1, x0:x1]
        from dataclasses import replace

        convention = replace(convention, crop_border=0)
    ref, cand, range_ = convention.apply(reference, candidate, data_range)
    options = dict(convention.options)
    # Masked forms take no options (MATLAB downsampling has no per-pixel meaning).
    if mask is not None and not mask.all() and spec.masked_target and not options:
        value = load_target(spec.masked_target)(ref, cand, mask, data_range=range_, **options)
        region = "mask" if region == "image" else "mask in bbox"
    else:
        value = load_target(spec.target)(ref, cand, data_range=range_, **options)
        if mask is not None:
            region = "mask" if mask.all() else "bbox of mask"
    error_map = None
    if with_map and spec.map_target:
        error_map = load_target(spec.map_target)(ref, cand, data_range=range_)
    record = {"preset": preset, **convention.describe(), "region": region}
    if border and region != "image":
        record["crop_border"] = border
    return MetricResult(name, float(value), error_map, MappingProxyType(record))


def metric_map(
    name: str, reference: np.ndarray, candidate: np.ndarray, *, data_range: float = 1.0
) -> np.ndarray:
    """The per-pixel form of metric ``name`` (SSIM map, FLIP error, ΔE00, ...).

    Returns
    -------
    ndarray of shape (H, W), float32

    Raises
    ------
    ValueError
        The metric has no per-pixel form.
    """
    spec = METRICS.get(name)
    if spec.map_target is None:
        with_maps = ", ".join(s.name for s in METRICS if s.map_target)
        raise ValueError(f"metric {name!r} has no per-pixel map (those with one: {with_maps})")
    return load_target(spec.map_target)(reference, candidate, data_range=data_range)
