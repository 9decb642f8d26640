"""Lines of text found by CRAFT, as EasyOCR's ``Reader.detect`` finds them, without EasyOCR.

``import easyocr`` imports torchvision, and with it ``torch._dynamo``: 1.3-2 s
of one core and 225 MB in every process that finds text, for code that needs
neither. These are EasyOCR's steps with its defaults, on numpy and OpenCV: the
image resized to the canvas and padded to CRAFT's 32 px grid, normalised with
ImageNet's statistics; CRAFT's region and affinity maps (:mod:`evalkit.ocr._craft`);
each connected region of text, grown by a few pixels, boxed by its smallest
rotated rectangle; the boxes grouped into lines. The lines are EasyOCR's (tested
against ``easyocr.Reader.detect`` on rendered text and real photographs), found
faster on a busy frame: a region is boxed inside its own bounds, where EasyOCR
makes a whole-frame mask for each.
"""

from __future__ import annotations

import math

import numpy as np

#: CRAFT's maps, read as EasyOCR reads them: a pixel is text where its region
#: score is at least LOW_TEXT, or a link between letters where its affinity is at
#: least LINK_THRESHOLD; a connected area is a word when its best region score
#: reaches TEXT_THRESHOLD and it has at least MIN_AREA pixels.
TEXT_THRESHOLD = 0.7
LOW_TEXT = 0.4
LINK_THRESHOLD = 0.4
MIN_AREA = 10
#: EasyOCR's grouping of words into lines: a word is upright when both its
#: edges slope under SLOPE; upright words whose centres differ by less than
#: YCENTER of the line's mean height join a line, and within it, words of a height
#: within HEIGHT of the mean and a gap under WIDTH of their height merge; each
#: line grows by MARGIN of its smaller side.
SLOPE = 0.1
YCENTER = 0.5
HEIGHT = 0.5
WIDTH = 0.5
MARGIN = 0.1
#: ImageNet's mean and standard deviation, per RGB channel, in 8-bit codes.
_MEAN = np.array([0.485 * 255.0, 0.456 * 255.0, 0.406 * 255.0], dtype=np.float32)
_STD = np.array([0.229 * 255.0, 0.224 * 255.0, 0.225 * 255.0], dtype=np.float32)

Upright = list  # [x_min, x_max, y_min, y_max]
Slanted = list  # [[x1, y1], [x2, y2], [x3, y3], [x4, y4]]


def find_lines(
    craft, image: np.ndarray, *, canvas_size: int, mag_ratio: float = 1.0, min_size: float = 20
) -> tuple[list[Upright], list[Slanted]]:
    """Lines of text in ``image``, as ``easyocr.Reader.detect`` returns them.

    Parameters
    ----------
    craft : callable
        CRAFT: (1, 3, H, W) float32 normalised input to its (1, H/2, W/2, 2) maps
        (:class:`evalkit.ocr._craft.OnnxCraft`).
    image : ndarray of shape (H, W, 3), dtype uint8
        RGB codes.
    canvas_size : int
        The longest side CRAFT sees, in px: a larger image is reduced to it.
    mag_ratio : float, optional
        How much to enlarge the image first (up to ``canvas_size``).
    min_size : float, optional
        Lines whose longer side is not over this, in px, are left out.

    Returns
    -------
    (upright, slanted)
        Upright lines as ``[x_min, x_max, y_min, y_max]``, slanted ones as their
        four corners (clockwise from the top left), in px of ``image``; upright
        lines from top to bottom.
    """
    canvas, ratio = _canvas(image, canvas_size, mag_ratio)
    maps = craft(np.ascontiguousarray(canvas.transpose(2, 0, 1)[None]))[0]
    boxes = _word_boxes(maps[:, :, 0], maps[:, :, 1])
    if boxes:
        # Back to the image's pixels: CRAFT's maps are at half its input's size.
        boxes = np.array(boxes)
        for box in boxes:
            box *= ((1 / ratio) * 2, (1 / ratio) * 2)
    corners = [np.array(box).astype(np.int32).reshape(-1) for box in boxes]
    upright, slanted = _group(corners)
    if min_size:
        upright = [b for b in upright if max(b[1] - b[0], b[3] - b[2]) > min_size]
        slanted = [b for b in slanted if max(_extent(b, 0), _extent(b, 1)) > min_size]
    return upright, slanted


def _canvas(image: np.ndarray, canvas_size: int, mag_ratio: float) -> tuple[np.ndarray, float]:
    """``image`` resized (bilinear) so that its longer side is at most
    ``canvas_size``, normalised, on a zero canvas whose sides are multiples of 32;
    and the resize ratio."""
    import cv2

    height, width, channels = image.shape
    target = min(mag_ratio * max(height, width), canvas_size)
    ratio = target / max(height, width)
    size_h, size_w = int(height * ratio), int(width * ratio)
    resized = cv2.resize(image, (size_w, size_h), interpolation=cv2.INTER_LINEAR)
    canvas = np.zeros((-(-size_h // 32) * 32, -(-size_w // 32) * 32, channels), np.float32)
    canvas[:size_h, :size_w] = resized
    canvas -= _MEAN
    canvas /= _STD
    return canvas, ratio


def _word_boxes(text: np.ndarray, link: np.ndarray) -> list[np.ndarray]:
    """The rotated box, (4, 2) float32 corners in px of the maps, of each word in
    CRAFT's region (``text``) and affinity (``link``) maps."""
    import cv2

    text = np.ascontiguousarray(text)
    link = np.ascontiguousarray(link)
    height, width = text.shape
    _, text_score = cv2.threshold(text, LOW_TEXT, 1, 0)
    _, link_score = cv2.threshold(link, LINK_THRESHOLD, 1, 0)
    combined = np.clip(text_score + link_score, 0, 1).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(combined, connectivity=4)
    link_only = (link_score == 1) & (text_score == 0)
    boxes = []
    for label in range(1, count):
        area = stats[label, cv2.CC_STAT_AREA]
        if area < MIN_AREA:
            continue
        x, y = stats[label, cv2.CC_STAT_LEFT], stats[label, cv2.CC_STAT_TOP]
        w, h = stats[label, cv2.CC_STAT_WIDTH], stats[label, cv2.CC_STAT_HEIGHT]
        own = labels[y : y + h, x : x + w] == label
        if np.max(text[y : y + h, x : x + w][own]) < TEXT_THRESHOLD:
            continue
        # Grown by a margin that rises with the area's fill of its bounds; the
        # area's own pixels, less links between letters, in a window that holds
        # the growth (EasyOCR computes the same on a mask of the whole map).
        grow = int(math.sqrt(area * min(w, h) / (w * h)) * 2)
        x0, x1 = max(x - grow, 0), min(x + w + grow + 1, width)
        y0, y1 = max(y - grow, 0), min(y + h + grow + 1, height)
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        mask[y - y0 : y - y0 + h, x - x0 : x - x0 + w][own] = 255
        mask[link_only[y0:y1, x0:x1]] = 0
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (1 + grow, 1 + grow))
        mask = cv2.dilate(mask, kernel)
        rows, cols = np.nonzero(mask)
        points = np.stack([cols + x0, rows + y0], axis=1)
        box = cv2.boxPoints(cv2.minAreaRect(points))
        side_a, side_b = np.linalg.norm(box[0] - box[1]), np.linalg.norm(box[1] - box[2])
        if abs(1 - max(side_a, side_b) / (min(side_a, side_b) + 1e-5)) <= 0.1:
            # A square-ish rectangle may lie at 45 degrees: its upright bounds instead.
            left, right = min(points[:, 0]), max(points[:, 0])
            top, bottom = min(points[:, 1]), max(points[:, 1])
            box = np.array([[left, top], [right, top], [right, bottom], [left, bottom]], np.float32)
        # Clockwise from the corner nearest the top left.
        boxes.append(np.roll(box, 4 - box.sum(axis=1).argmin(), 0))
    return boxes


def _group(corners: list[np.ndarray]) -> tuple[list[Upright], list[Slanted]]:
    """Words (eight int32 corner coordinates, clockwise from the top left) grouped
    into upright lines, and slanted words grown by their margin."""
    upright, slanted = [], []
    for c in corners:
        slope_top = (c[3] - c[1]) / np.maximum(10, (c[2] - c[0]))
        slope_bottom = (c[5] - c[7]) / np.maximum(10, (c[4] - c[6]))
        if max(abs(slope_top), abs(slope_bottom)) < SLOPE:
            xs, ys = [c[0], c[2], c[4], c[6]], [c[1], c[3], c[5], c[7]]
            y_min, y_max = min(ys), max(ys)
            upright.append([min(xs), max(xs), y_min, y_max, 0.5 * (y_min + y_max), y_max - y_min])
        else:
            slanted.append(_grown(c))
    upright.sort(key=lambda word: word[4])
    lines: list[list[list]] = []
    heights: list = []
    centres: list = []
    for word in upright:
        if lines and abs(np.mean(centres) - word[4]) < YCENTER * np.mean(heights):
            lines[-1].append(word)
            heights.append(word[5])
            centres.append(word[4])
        else:
            lines.append([word])
            heights, centres = [word[5]], [word[4]]
    merged = []
    for line in lines:
        if len(line) == 1:
            word = line[0]
            margin = int(MARGIN * min(word[1] - word[0], word[5]))
            merged.append([word[0] - margin, word[1] + margin, word[2] - margin, word[3] + margin])
            continue
        for run in _runs(sorted(line, key=lambda word: word[0])):
            x_min = min(run, key=lambda word: word[0])[0]
            x_max = max(run, key=lambda word: word[1])[1]
            y_min = min(run, key=lambda word: word[2])[2]
            y_max = max(run, key=lambda word: word[3])[3]
            margin = int(MARGIN * min(x_max - x_min, y_max - y_min))
            merged.append([x_min - margin, x_max + margin, y_min - margin, y_max + margin])
    return merged, slanted


def _runs(words: list[list]) -> list[list[list]]:
    """Words of one line, left to right, cut where the next word's height or the
    gap before it does not fit the run so far."""
    runs: list[list[list]] = []
    heights: list = []
    right = 0
    for word in words:
        if runs and (
            abs(np.mean(heights) - word[5]) < HEIGHT * np.mean(heights)
            and (word[0] - right) < WIDTH * (word[3] - word[2])
        ):
            runs[-1].append(word)
            heights.append(word[5])
        else:
            runs.append([word])
            heights = [word[5]]
        right = word[1]
    return runs


def _grown(c: np.ndarray) -> Slanted:
    """A slanted word's corners moved out along its edges by its margin."""
    height = np.linalg.norm([c[6] - c[0], c[7] - c[1]])
    width = np.linalg.norm([c[2] - c[0], c[3] - c[1]])
    margin = int(1.44 * MARGIN * min(width, height))
    theta13 = abs(np.arctan((c[1] - c[5]) / np.maximum(10, (c[0] - c[4]))))
    theta24 = abs(np.arctan((c[3] - c[7]) / np.maximum(10, (c[2] - c[6]))))
    return [
        [c[0] - np.cos(theta13) * margin, c[1] - np.sin(theta13) * margin],
        [c[2] + np.cos(theta24) * margin, c[3] - np.sin(theta24) * margin],
        [c[4] + np.cos(theta13) * margin, c[5] + np.sin(theta13) * margin],
        [c[6] - np.cos(theta24) * margin, c[7] + np.sin(theta24) * margin],
    ]


def _extent(corners: Slanted, axis: int) -> float:
    """How far ``corners`` spread along x (``axis`` 0) or y (1)."""
    values = [corner[axis] for corner in corners]
    return max(values) - min(values)
