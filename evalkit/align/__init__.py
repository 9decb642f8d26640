"""Registration and tone matching of a real reference shot to its noisy shot.

A real reference is a second exposure: never pixel-identical to the noisy shot
in position or brightness. :func:`align_reference` warps it onto the noisy shot
once and fits its tones to it, each correction only where the data show it
(:class:`Correction` records the evidence); :func:`align_once` decides that once
per pair, for every process (:mod:`evalkit.cache`); :func:`check_pair` says
whether a pair can be trusted at all.
"""

from ._align import Alignment, AlignmentError, align_reference
from ._check import PairCheck, check_pair
from ._decision import MODES, Correction
from ._exposure import ExposureFit, fit_exposure
from ._recall import align_once

__all__ = [
    "MODES",
    "Alignment",
    "AlignmentError",
    "Correction",
    "ExposureFit",
    "PairCheck",
    "align_once",
    "align_reference",
    "check_pair",
    "fit_exposure",
]
