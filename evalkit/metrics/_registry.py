"""The metric registry: what each full-reference metric is and which way is better."""

from __future__ import annotations

from dataclasses import dataclass

from .._registry import Registry


@dataclass(frozen=True)
class MetricSpec:
    """Registry entry for a full-reference metric.

    Attributes
    ----------
    name : str
        Short key used in configs and result tables (``"psnr"``).
    target : str
        ``"module:function"``; the function is called as
        ``f(reference, candidate, *, data_range=1.0, **options) -> float`` on
        canonical images and raises :class:`evalkit.errors.UnavailableError` when a
        package or weights file is missing.
    higher_is_better : bool
        Direction; required, with no default.
    range : (float, float)
        Lowest and highest possible values (``inf`` where unbounded).
    unit : str
        Unit of the value (``"dB"``, ``""`` for unitless).
    summary : str
        One line for listings and report headers.
    map_target : str or None
        ``"module:function"`` returning the per-pixel form, an ndarray of shape
        (H, W), ``f(reference, candidate, *, data_range=1.0) -> ndarray``.
    masked_target : str or None
        ``"module:function"`` computing the value over the pixels of a boolean
        mask, ``f(reference, candidate, mask, *, data_range=1.0) -> float``. Metrics
        without one are computed on the mask's bounding box.
    optional : bool
        True when the metric needs an extra package or weights file; optional
        metrics are not in the default set and may be unavailable.
    reads_text : bool
        True when the metric reads text with OCR: it says nothing about images
        without text, and :func:`evalkit.score` fills it from its one OCR check.
    """

    name: str
    target: str
    higher_is_better: bool
    range: tuple[float, float]
    unit: str = ""
    summary: str = ""
    map_target: str | None = None
    masked_target: str | None = None
    optional: bool = False
    reads_text: bool = False


METRICS: Registry[MetricSpec] = Registry("metric", "evalkit.metrics")
