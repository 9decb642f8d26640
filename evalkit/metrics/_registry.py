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
        ``f(reference, candidate, data_range=1.0) -> float`` on canonical images.
    higher_is_better : bool
        Direction; required, with no default.
    range : (float, float)
        Lowest and highest possible values (``inf`` where unbounded).
    unit : str
        Unit of the value (``"dB"``, ``""`` for unitless).
    summary : str
        One line for listings and report headers.
    """

    name: str
    target: str
    higher_is_better: bool
    range: tuple[float, float]
    unit: str = ""
    summary: str = ""


METRICS: Registry[MetricSpec] = Registry("metric", "evalkit.metrics")
