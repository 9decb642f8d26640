"""An alignment worked out once per pair, recalled from the cache of reference work.

Estimating the registration and the tone fit of a 20 MP pair takes seconds;
applying them, a fraction of that. :func:`align_once` keeps the decision (the
transform, the tone fit, the record of every correction) in
:mod:`evalkit.cache` under the hash of the pair's pixels, and a later process
scoring another candidate of the pair re-applies it to the same pixels: the
same aligned reference, bit for bit, without estimating anything.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .. import cache
from .._json import finite
from ._align import Alignment, align_reference, warp_reference
from ._decision import Correction
from ._exposure import ExposureFit


def align_once(
    reference: np.ndarray, noisy: np.ndarray, *, mode: str = "auto", reason: str | None = None
) -> Alignment:
    """:func:`align_reference` with its default method and tone model, decided once
    per pair and recalled from the cache of reference work afterwards.

    Parameters and result as :func:`align_reference`'s (``mode``, ``reason``).
    """
    key = "|".join((cache.image_digest(reference), cache.image_digest(noisy), mode, reason or ""))
    stored = cache.get("alignment", key)
    if stored is not None:
        return _reapplied(np.asarray(reference, np.float32), stored)
    alignment = align_reference(reference, noisy, mode=mode, reason=reason)
    cache.put("alignment", key, _decision(alignment))
    return alignment


def _decision(alignment: Alignment) -> dict[str, Any]:
    """Everything in ``alignment`` but the aligned pixels, JSON-ready and exact
    (floats as Python writes them back; arrays as lists)."""
    fields = {f.name: getattr(alignment, f.name) for f in dataclasses.fields(Alignment)}
    del fields["reference"]
    fields["matrix"] = alignment.matrix.tolist()
    exposure = alignment.exposure
    fields["exposure"] = None if exposure is None else finite(dataclasses.asdict(exposure))
    fields["corrections"] = [finite(dataclasses.asdict(c)) for c in alignment.corrections]
    return finite(fields)


def _reapplied(reference: np.ndarray, stored: dict[str, Any]) -> Alignment:
    """The alignment ``stored`` describes, applied to ``reference`` as
    :func:`align_reference` applied it."""
    matrix = np.array(stored["matrix"], np.float64)
    size = tuple(stored["size"])
    exposure = _exposure(stored["exposure"])
    warped = reference
    if stored["method"] != "none":
        _, warped = warp_reference(reference, matrix, size, stored["interpolation"])
    if exposure is not None:
        warped = exposure.apply(warped)
    return Alignment(
        reference=np.ascontiguousarray(warped, dtype=np.float32),
        box=tuple(stored["box"]),
        size=size,
        method=stored["method"],
        matrix=matrix,
        interpolation=stored["interpolation"],
        exposure=exposure,
        residual_px=stored["residual_px"],
        residual_max_px=stored["residual_max_px"],
        mode=stored["mode"],
        corrections=tuple(Correction(**c) for c in stored["corrections"]),
    )


def _exposure(stored: dict[str, Any] | None) -> ExposureFit | None:
    # The linear model only (align_once's): its curves are None.
    if stored is None:
        return None
    return ExposureFit(**{k: tuple(v) if isinstance(v, list) else v for k, v in stored.items()})
