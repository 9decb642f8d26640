"""The OCR engine contract, its registry, and one shared instance per engine.

An engine turns a crop holding one line of text into a :class:`Reading`. Finding
where text is (:meth:`OcrEngine.detect`) is a capability that defaults to off, as
in OCRmyPDF's ``OcrEngine``: a recogniser-only engine is still usable wherever the
text boxes are known.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._registry import Registry, load_target

BBox = tuple[int, int, int, int]


@dataclass(frozen=True)
class Reading:
    """What an engine read in one crop.

    Attributes
    ----------
    text : str
        The recognised string, as the engine returned it ("" when it read nothing).
    confidence : float
        The engine's own confidence in [0, 1]; 0 when it read nothing. Engines
        calibrate differently, so thresholds belong to one engine.
    """

    text: str
    confidence: float


class OcrEngine:
    """Base class for OCR engines; subclasses override :meth:`read`.

    Attributes
    ----------
    name : str
        Registry name; part of every cache key, so two engines never share readings.
    can_detect : bool
        Whether :meth:`detect` finds text lines. Off by default.
    """

    name: str = "engine"
    can_detect: bool = False

    def read(self, crop: np.ndarray) -> Reading:
        """Read one line of text filling ``crop``.

        Parameters
        ----------
        crop : ndarray of shape (h, w, 3), dtype uint8
            sRGB pixels, text roughly horizontal, a small margin around it.

        Returns
        -------
        Reading
        """
        raise NotImplementedError

    def read_many(self, crops: Sequence[np.ndarray]) -> list[Reading]:
        """:meth:`read` of each crop, in order; the default reads one after another.

        An engine that can read several lines at once faster than in turn
        overrides it; the readings must be the ones :meth:`read` gives.
        """
        return [self.read(crop) for crop in crops]

    def load(self) -> None:
        """Load the model now rather than on the first read; the default does nothing.

        Reading works without it: a caller with other work to do meanwhile (decoding
        the frames) calls it to overlap the two.

        Raises
        ------
        UnavailableError
            The engine cannot run here (package or weights missing).
        """

    def detect(self, image: np.ndarray) -> list[BBox]:
        """Find lines of text in ``image`` (uint8 (H, W, 3)); boxes as (x, y, w, h).

        Only engines with ``can_detect = True`` implement it.
        """
        raise NotImplementedError(f"OCR engine {self.name!r} cannot detect text regions")


class NullEngine(OcrEngine):
    """An engine that reads nothing and finds nothing; for tests and for turning OCR off."""

    name = "null"
    can_detect = True

    def read(self, crop: np.ndarray) -> Reading:
        return Reading("", 0.0)

    def detect(self, image: np.ndarray) -> list[BBox]:
        return []


@dataclass(frozen=True)
class OcrEngineSpec:
    """Registry entry for an OCR engine.

    Attributes
    ----------
    name : str
        Registry key (``"easyocr"``).
    target : str
        ``"module:attribute"`` of a zero-argument factory returning an
        :class:`OcrEngine`; imported only when the engine is first used.
    languages : tuple of str
        What it reads, as ISO 639-1 codes (``("en",)``).
    summary : str
        One line for listings.
    """

    name: str
    target: str
    languages: tuple[str, ...] = ()
    summary: str = ""


OCR_ENGINES: Registry[OcrEngineSpec] = Registry("OCR engine", "evalkit.ocr_engines")

_INSTANCES: dict[str, OcrEngine] = {}
_LOCK = threading.Lock()


def get_engine(engine: str | OcrEngine) -> OcrEngine:
    """Return the process-wide instance of the registered engine ``engine``.

    The first call builds it (the engine itself loads its weights lazily, on the
    first read); later calls return the same object, so a model is loaded once
    per process however many images are checked. An :class:`OcrEngine` instance
    is returned as is.

    Raises
    ------
    KeyError
        An unknown engine name, with suggestions.
    """
    if isinstance(engine, OcrEngine):
        return engine
    spec = OCR_ENGINES.get(engine)
    with _LOCK:
        if spec.name not in _INSTANCES:
            _INSTANCES[spec.name] = load_target(spec.target)()
        return _INSTANCES[spec.name]


def union_box(boxes: Sequence[BBox]) -> BBox:
    """The smallest box holding all ``boxes``."""
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    return (x0, y0, x1 - x0, y1 - y0)
