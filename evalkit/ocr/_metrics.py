"""OCR fidelity as full-reference metrics, for the metric registry.

:func:`evalkit.score` runs :func:`check_text` once per candidate and reports
these two numbers from it; the functions here compute the same numbers on
their own (text regions found on the reference), so the registry can list them
with their direction and range like any other metric.
"""

from __future__ import annotations

import numpy as np

from ._check import check_text


def ocr_character_error_rate(
    reference: np.ndarray, candidate: np.ndarray, *, data_range: float = 1.0
) -> float:
    """Mean character error rate of the candidate's text regions, 0 = every letter kept.

    Text lines are found on the reference (EasyOCR's detector) and read in both
    images; each line's reading of the candidate is compared with the
    reference's. NaN when no line could be judged. ``data_range`` must be 1
    (canonical images).
    """
    _check_range(data_range)
    value = check_text(reference, candidate).metrics["ocr_cer"]
    return float("nan") if value is None else float(value)


def count_text_hallucinations(
    reference: np.ndarray, candidate: np.ndarray, *, data_range: float = 1.0
) -> float:
    """Number of text lines the candidate turns confidently into other text."""
    _check_range(data_range)
    return float(check_text(reference, candidate).metrics["text_hallucinations"])


def _check_range(data_range: float) -> None:
    if data_range != 1.0:
        raise ValueError(
            f"OCR reads canonical images in [0, 1]; data_range must be 1, got {data_range}"
        )
