"""Count evalkit's findings on real photographs: false alarms and caught failures.

Runs over the real pairs in ``../shared/data/real-pairs/`` (PolyU crops and whole
frames) when present. For each pair it scores honest candidates (the reference
itself, the noisy shot itself, OpenCV non-local means mild and strong, evalkit's
``dncnn``, a Gaussian blur) in both modes, ``score`` against the reference and
``inspect`` with the noisy shot alone, and counts findings per detector and
severity. The table it prints is the one in the README.

Then (``--injections``, the default) it puts known failures at known places on
the honest mild-NLM output of each pair (:data:`INJECTIONS`: letters of a real
text line redrawn as other letters, the line smeared into curves, amplified
noise painted on a blank wall, a busy texture sharpened, contrast raised with
highlights clipped, a texture flattened, shadows crushed), each found from the
image content, and counts how many an expected detector catches at that place
(recall with localisation), in both modes. That second table goes with the
first; with ``--out``, its rows go to ``<out>_injected.csv``.

Usage::

    python scripts/evaluate_real_photos.py [--data DIR] [--frames] [--no-ocr]
        [--only NAME ...] [--candidates NAME ...] [--no-injections]
        [--kinds KIND ...] [--out results.csv]

``make evaluate`` runs it over the crops and the whole frames.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import evalkit
import evalkit.ocr
from evalkit.datasets import load_dataset_dir
from evalkit.denoisers import make_denoiser
from evalkit.findings import boxes_overlap

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-pairs"

#: Honest candidates: name → function of (reference, noisy) giving the output.
#: The reference itself and the noisy shot itself must never draw a warning
#: about what the scene or the input already had; mild NLM is an honest denoiser.
HONEST: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "reference": lambda reference, noisy: reference,
    "noisy": lambda reference, noisy: noisy,
    "nlm_mild": lambda reference, noisy: make_denoiser("opencv_nlm", h=4.0).denoise(noisy),
    "nlm_strong": lambda reference, noisy: make_denoiser("opencv_nlm").denoise(noisy),
    "dncnn": lambda reference, noisy: make_denoiser("dncnn").denoise(noisy),
    "gaussian": lambda reference, noisy: make_denoiser("gaussian", sigma=1.0).denoise(noisy),
}


@dataclass(frozen=True)
class Row:
    """One finding (or, with ``detector=""``, a candidate with none) of one run."""

    pair: str
    candidate: str
    mode: str
    detector: str
    severity: str
    bbox: str
    message: str
    seconds: float


# ---------------------------------------------------------------------------
# Injected failures: a known defect put at a known place on an honest output.
# ---------------------------------------------------------------------------

#: (x, y, w, h) in pixels.
BBox = tuple[int, int, int, int]

#: An injection: (reference, noisy, base) → (candidate, bbox, expected detectors),
#: or None when the scene has no suitable place (no text line, say).
Injection = Callable[
    [np.ndarray, np.ndarray, np.ndarray], "tuple[np.ndarray, BBox, frozenset[str]] | None"
]

#: Rec. 709 luma weights.
LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)

#: A line to redraw needs this many letters, this height (px) and this reading
#: confidence: text the engine cannot read on the reference is not judged
#: (``unjudged``), so changing it tests nothing.
MIN_LETTERS = 4
MIN_LINE_HEIGHT = 12
MIN_CONFIDENCE = 0.5

#: A finding catches an injection when the boxes share this share of the smaller one.
MIN_OVERLAP = 0.25

#: Text lines found in a reference: digest → (box, text, confidence) per line.
_LINES: dict[str, list[tuple[BBox, str, float]]] = {}


def honest_base(reference: np.ndarray, noisy: np.ndarray) -> np.ndarray:
    """The honest output injections go on: OpenCV NLM mild (h=4) of the noisy shot."""
    return HONEST["nlm_mild"](reference, noisy)


def luma(image: np.ndarray) -> np.ndarray:
    """Rec. 709 luma of an (H, W, 3) float image in [0, 1], float32 (H, W)."""
    return np.asarray(image, dtype=np.float32) @ LUMA


def text_lines(reference: np.ndarray) -> list[tuple[BBox, str, float]]:
    """Every text line EasyOCR finds in the reference, read: (box px, text, confidence).

    Cached by image content, as :func:`evalkit.ocr.detect_text_regions` is.
    """
    from evalkit.io import to_codes

    codes = to_codes(reference)
    key = evalkit.ocr.image_digest(codes)
    if key not in _LINES:
        engine = evalkit.ocr.get_engine("easyocr")
        lines = []
        for region in evalkit.ocr.detect_text_regions(reference):
            x, y, w, h = region.bbox
            reading = engine.read(np.ascontiguousarray(codes[y : y + h, x : x + w]))
            lines.append((region.bbox, reading.text, reading.confidence))
        _LINES[key] = lines
    return _LINES[key]


def best_text_line(reference: np.ndarray) -> tuple[BBox, str] | None:
    """The most confident readable line with ≥ MIN_LETTERS letters, ≥ MIN_LINE_HEIGHT px tall."""
    fit = [
        (confidence, box, text)
        for box, text, confidence in text_lines(reference)
        if sum(c.isalpha() for c in text) >= MIN_LETTERS
        and box[3] >= MIN_LINE_HEIGHT
        and confidence >= MIN_CONFIDENCE
    ]
    if not fit:
        return None
    _, box, text = max(fit)
    return box, text


def altered_text(text: str) -> str:
    """The text with letters changed as a hallucinating denoiser would.

    The first "e" becomes "o", the first "a" becomes "e", the first digit goes up
    by one (9 → 0); when none of those is there, the first letter is swapped.
    """
    chars = list(text)
    changed = False
    for old, new in (("e", "o"), ("a", "e"), ("E", "O"), ("A", "E")):
        if old in chars:
            chars[chars.index(old)] = new
            changed = True
    digits = [i for i, c in enumerate(chars) if c.isdigit()]
    if digits:
        chars[digits[0]] = str((int(chars[digits[0]]) + 1) % 10)
        changed = True
    if not changed:
        first = next(i for i, c in enumerate(chars) if c.isalpha())
        swap = "m" if chars[first].lower() != "m" else "w"
        chars[first] = swap.upper() if chars[first].isupper() else swap
    return "".join(chars)


def ink_and_paper(base: np.ndarray, box: BBox) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ink colour, paper colour (RGB in [0, 1]) and the line's soft ink mask (h, w) of a box.

    Ink is the box's 5th percentile of luma, paper its 95th; the mask is how far
    each pixel lies from paper towards ink (0..1), kept only on the strokes of
    the line itself (:func:`line_strokes`), not on bits of the lines above and
    below that the box also holds. Light letters on a dark ground swap the two.
    """
    x, y, w, h = box
    patch = base[y : y + h, x : x + w]
    lum = luma(patch)
    dark, light = np.percentile(lum, [5, 95])
    ink = patch[lum <= dark].mean(axis=0)
    paper = patch[lum >= light].mean(axis=0)
    mask = np.clip((light - lum) / max(light - dark, 1e-3), 0.0, 1.0)
    if (mask > 0.5).mean() > 0.5:  # light letters on a dark ground
        ink, paper, mask = paper, ink, 1.0 - mask
    return ink, paper, mask * line_strokes(mask)


def line_strokes(mask: np.ndarray) -> np.ndarray:
    """0/1 float (h, w): the strokes (mask > 0.5, grown 2 px) that cross the box's middle.

    A component counts when it reaches into the middle fifth of the box height,
    which the letters of the line do and stray ascenders or descenders of the
    neighbouring lines do not.
    """
    import cv2

    h = mask.shape[0]
    _, labels, stats, _ = cv2.connectedComponentsWithStats((mask > 0.5).astype(np.uint8))
    top, bottom = (
        stats[:, cv2.CC_STAT_TOP],
        stats[:, cv2.CC_STAT_TOP] + stats[:, cv2.CC_STAT_HEIGHT],
    )
    keep = (top <= 0.6 * h) & (bottom >= 0.4 * h)
    keep[0] = False  # the background
    strokes = keep[labels].astype(np.uint8)
    return cv2.dilate(strokes, np.ones((5, 5), np.uint8)).astype(np.float32)


def ink_extent(mask: np.ndarray) -> BBox:
    """Tight (x, y, w, h) in px of the pixels of ``mask`` above 0.5 (the whole mask if none)."""
    ys, xs = np.nonzero(mask > 0.5)
    if not len(xs):
        return 0, 0, mask.shape[1], mask.shape[0]
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def ink_slope(mask: np.ndarray) -> float:
    """Slant of a line of ink, dy/dx in -0.3..0.3: the shear that makes it thinnest.

    The one of 61 slopes for which y - slope x of the ink pixels spans the
    fewest rows (2nd to 98th percentile), as a projection-profile deskew does.
    """
    ys, xs = np.nonzero(mask > 0.5)
    if len(xs) < 2:
        return 0.0
    slopes = np.linspace(-0.3, 0.3, 61)
    spans = [np.subtract(*np.percentile(ys - s * xs, [98, 2])) for s in slopes]
    return float(slopes[int(np.argmin(spans))])


def erase_ink(base: np.ndarray, box: BBox, mask: np.ndarray) -> np.ndarray:
    """The box of ``base`` with the masked ink inpainted away (OpenCV Telea), float32 [0, 1]."""
    import cv2

    x, y, w, h = box
    patch = (np.clip(base[y : y + h, x : x + w], 0, 1) * 255).astype(np.uint8)
    hole = cv2.dilate((mask > 0.1).astype(np.uint8), np.ones((5, 5), np.uint8))
    radius = max(3, h // 6)
    return cv2.inpaint(patch, hole, radius, cv2.INPAINT_TELEA).astype(np.float32) / 255.0


def paint(
    canvas: np.ndarray, coverage: np.ndarray, colour: np.ndarray, at: tuple[int, int]
) -> None:
    """Blend ``colour`` into ``canvas`` (in place) with alpha ``coverage`` at (x, y) px."""
    x, y = at
    h, w = coverage.shape
    region = canvas[y : y + h, x : x + w]
    region[:] = region * (1.0 - coverage[..., None]) + colour * coverage[..., None]


def rendered_text(text: str, size: tuple[int, int], slope: float = 0.0, *, bold: bool = False):
    """Coverage (h, w) in [0, 1] of ``text`` in DejaVu Sans filling (w, h) px.

    The text is drawn large, cropped to its ink, stretched to w by h - |slope| w
    px and sheared by ``slope`` (dy/dx) so that its slant spans the full h.
    """
    import cv2
    from matplotlib import font_manager
    from PIL import Image, ImageDraw, ImageFont

    w, h = size
    path = font_manager.findfont(
        font_manager.FontProperties(family="DejaVu Sans", weight="bold" if bold else "normal")
    )
    font = ImageFont.truetype(path, size=max(8 * h, 32))
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("L", (right - left + 4, bottom - top + 4), 0)
    ImageDraw.Draw(image).text((2 - left, 2 - top), text, fill=255, font=font)
    big = np.asarray(image, dtype=np.float32) / 255.0
    bx, by, bw, bh = ink_extent(big)
    upright_h = max(4, round(h - abs(slope) * w))
    upright = cv2.resize(
        big[by : by + bh, bx : bx + bw], (w, upright_h), interpolation=cv2.INTER_AREA
    )
    shift = 0.0 if slope >= 0 else -slope * w
    shear = np.float32([[1, 0, 0], [slope, 1, shift]])
    return np.clip(cv2.warpAffine(upright, shear, (w, h), flags=cv2.INTER_LINEAR), 0.0, 1.0)


def matching_text(text: str, mask: np.ndarray) -> tuple[np.ndarray, BBox]:
    """``text`` rendered over the ink extent of ``mask``: (coverage, extent px).

    Regular or bold, whichever covers a share of the extent closer to the
    original ink's, so the new letters are about as heavy as the old.
    """
    ix, iy, iw, ih = extent = ink_extent(mask)
    share = float(mask[iy : iy + ih, ix : ix + iw].mean())
    slope = ink_slope(mask)
    options = [rendered_text(text, (iw, ih), slope, bold=bold) for bold in (False, True)]
    return min(options, key=lambda c: abs(float(c.mean()) - share)), extent


def repainted_line(reference, base, strokes_of):
    """The best text line with its ink inpainted away and ``strokes_of`` drawn instead.

    ``strokes_of(text, mask)`` gives ``(coverage, (x, y))``: what to paint, in
    [0, 1], and where inside the line's box (px). Returns ``(image, box)`` or
    ``None`` when the reference has no readable line.
    """
    found = best_text_line(reference)
    if found is None:
        return None
    box, text = found
    ink, _, mask = ink_and_paper(base, box)
    patch = erase_ink(base, box, mask)
    coverage, offset = strokes_of(text, mask)
    paint(patch, coverage, ink, offset)
    out = base.copy()
    out[box[1] : box[1] + box[3], box[0] : box[0] + box[2]] = patch
    return np.clip(out, 0, 1), box


def inject_text_redrawn(reference, noisy, base):
    """Redraw the best text line with changed letters (e -> o, a -> e, digit + 1).

    The old strokes are inpainted away and the new text is drawn over their
    extent (same place, height, width and slant), in the base's ink colour;
    bbox is the line's box in px.
    """

    def redrawn(text, mask):
        coverage, (ix, iy, _, _) = matching_text(altered_text(text), mask)
        return coverage, (ix, iy)

    made = repainted_line(reference, base, redrawn)
    return None if made is None else (*made, frozenset({"text_hallucination"}))


def smeared_strokes(mask: np.ndarray) -> np.ndarray:
    """Coverage (h, w) in [0, 1] of meaningless curves made from a line's ink mask.

    The ink is blurred mostly along x (Gaussian sigma 0.15 x the ink height in
    x, 0.05 x in y, px), so neighbouring letters run together into blobs, and the
    iso-lines at 35 % and 65 % of the peak are drawn as crisp strokes as thick as
    the letters' own (twice the 90th percentile of the distance to paper, px).
    """
    import cv2

    _, _, _, ih = ink_extent(mask)
    inside = cv2.distanceTransform((mask > 0.5).astype(np.uint8), cv2.DIST_L2, 3)
    half_width = float(np.percentile(inside[inside > 0], 90)) if (inside > 0).any() else 1.5
    smear = cv2.GaussianBlur(mask, (0, 0), sigmaX=0.15 * ih, sigmaY=max(0.05 * ih, 1.0))
    smear /= max(float(smear.max()), 1e-6)
    gy, gx = np.gradient(smear)
    steepness = np.maximum(np.hypot(gx, gy), 1e-6)
    strokes = np.zeros_like(mask)
    for level in (0.35, 0.65):
        distance = np.abs(smear - level) / steepness  # px to the iso-line
        strokes = np.maximum(strokes, np.clip(half_width + 0.5 - distance, 0.0, 1.0))
    return strokes


def inject_text_smeared(reference, noisy, base):
    """Turn the best text line into meaningless curves (:func:`smeared_strokes`).

    The old strokes are inpainted away and the curves drawn in the ink colour;
    bbox is the line's box in px.
    """
    made = repainted_line(reference, base, lambda text, mask: (smeared_strokes(mask), (0, 0)))
    expected = frozenset({"text_hallucination", "text_legibility_loss"})
    return None if made is None else (*made, expected)


def window_size(image: np.ndarray) -> int:
    """Side (px) of the square windows injections use: 1/6 of the smaller side, 64..256."""
    return int(np.clip(min(image.shape[:2]) // 6, 64, 256))


def text_keepout(reference: np.ndarray, margin: int) -> np.ndarray:
    """Bool (H, W): pixels within ``margin`` px of a text line (EasyOCR's detector, cached)."""
    mask = np.zeros(reference.shape[:2], dtype=bool)
    for region in evalkit.ocr.detect_text_regions(reference):
        x, y, w, h = region.bbox
        mask[max(0, y - margin) : y + h + margin, max(0, x - margin) : x + w + margin] = True
    return mask


def pick_window(score: np.ndarray, size: int, keepouts: list[np.ndarray], *, lowest: bool) -> BBox:
    """The ``size`` px square window whose centre has the lowest/highest ``score``.

    ``score`` is a per-pixel map of a window statistic centred there. Centres
    within size/2 of the border are skipped, and so are those in the first of
    ``keepouts`` that leaves any centre (so a frame full of text still gets one).
    """
    half = size // 2
    inside = np.zeros(score.shape, dtype=bool)
    inside[half : score.shape[0] - half, half : score.shape[1] - half] = True
    allowed = inside
    for keepout in keepouts:
        if (inside & ~keepout).any():
            allowed = inside & ~keepout
            break
    values = np.where(allowed, score, np.inf if lowest else -np.inf)
    cy, cx = np.unravel_index(np.argmin(values) if lowest else np.argmax(values), values.shape)
    return int(cx - half), int(cy - half), size, size


def window_keepouts(reference: np.ndarray, size: int) -> list[np.ndarray]:
    """Window centres to avoid, most to least careful: near text, on text, none."""
    return [
        text_keepout(reference, size // 2 + 1),
        text_keepout(reference, 0),
        np.zeros(reference.shape[:2], dtype=bool),
    ]


def local_mean_std(plane: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of ``plane`` over a ``size`` px box at each pixel."""
    import cv2

    mean = cv2.boxFilter(plane, cv2.CV_32F, (size, size), borderType=cv2.BORDER_REFLECT)
    square = cv2.boxFilter(plane * plane, cv2.CV_32F, (size, size), borderType=cv2.BORDER_REFLECT)
    return mean, np.sqrt(np.maximum(square - mean * mean, 0.0))


def flattest_window(reference: np.ndarray) -> BBox:
    """The window of lowest luma std whose mean is mid-grey (0.2..0.9): a blank wall."""
    size = window_size(reference)
    mean, std = local_mean_std(luma(reference), size)
    grey = (mean >= 0.2) & (mean <= 0.9)
    keepouts = [keepout | ~grey for keepout in window_keepouts(reference, size)]
    return pick_window(std, size, keepouts, lowest=True)


def busiest_window(reference: np.ndarray) -> BBox:
    """The window of highest fine-detail energy (luma minus its 1.5 px blur), not text."""
    import cv2

    size = window_size(reference)
    lum = luma(reference)
    fine = lum - cv2.GaussianBlur(lum, (0, 0), 1.5)
    energy = cv2.boxFilter(fine * fine, cv2.CV_32F, (size, size), borderType=cv2.BORDER_REFLECT)
    return pick_window(energy, size, window_keepouts(reference, size), lowest=False)


def feather(size: tuple[int, int], width: int) -> np.ndarray:
    """Weight (h, w) rising from 0 at the border to 1 ``width`` px in, float32."""
    h, w = size
    ramp_y = np.clip(np.minimum(np.arange(h), np.arange(h)[::-1]) / max(width, 1), 0, 1)
    ramp_x = np.clip(np.minimum(np.arange(w), np.arange(w)[::-1]) / max(width, 1), 0, 1)
    return np.outer(ramp_y, ramp_x).astype(np.float32)


#: Least RMS (in [0, 1] units) of the texture painted on a blank area: 3 8-bit
#: levels, twice the threshold of visibility on a flat mid-grey. On a clean,
#: low-ISO shot the input's noise amplified 2x can stay below it, and an
#: invisible texture is no failure to catch.
VISIBLE_TEXTURE = 3 / 255


def inject_texture_on_blank(reference, noisy, base):
    """Paint amplified noise as texture on the flattest mid-grey window (a blank wall).

    The texture is what the denoiser removed there (noisy - base, all
    channels) added back twice over, or more where that stays below
    :data:`VISIBLE_TEXTURE`, feathered over 4 px at the window's edge: the
    input's own noise amplified, the "cloth" an AI denoiser makes of blank paper.
    """
    box = flattest_window(reference)
    x, y, w, h = box
    removed = (noisy - base)[y : y + h, x : x + w]
    gain = max(2.0, VISIBLE_TEXTURE / max(float(removed.std()), 1e-6))
    out = base.copy()
    out[y : y + h, x : x + w] += gain * removed * feather((h, w), 4)[..., None]
    return np.clip(out, 0, 1), box, frozenset({"texture_hallucination"})


def inject_busy_sharpened(reference, noisy, base):
    """Unsharp-mask the busiest textured window strongly (amount 2.5, radius 1.2 px)."""
    import cv2

    box = busiest_window(reference)
    x, y, w, h = box
    sharp = base + 2.5 * (base - cv2.GaussianBlur(base, (0, 0), 1.2))
    out = base.copy()
    weight = feather((h, w), 4)[..., None]
    out[y : y + h, x : x + w] = (
        base[y : y + h, x : x + w] * (1 - weight) + sharp[y : y + h, x : x + w] * weight
    )
    return np.clip(out, 0, 1), box, frozenset({"oversharpening"})


def inject_contrast_clipped(reference, noisy, base):
    """Whole frame: contrast x 1.3 about 0.5 plus a lift so the brightest 2 % clip to 1."""
    stretched = (base - 0.5) * 1.3 + 0.5
    lift = 1.0 - float(np.percentile(stretched.max(axis=2), 98))
    box = (0, 0, base.shape[1], base.shape[0])
    return np.clip(stretched + lift, 0, 1), box, frozenset({"tone_shift", "highlight_clipping"})


def inject_texture_flattened(reference, noisy, base):
    """Replace the busiest textured window by a Gaussian blur (sigma 4 px) of itself."""
    import cv2

    box = busiest_window(reference)
    x, y, w, h = box
    blurred = cv2.GaussianBlur(base, (0, 0), 4.0)
    out = base.copy()
    out[y : y + h, x : x + w] = blurred[y : y + h, x : x + w]
    return out, box, frozenset({"detail_loss"})


def inject_shadows_crushed(reference, noisy, base):
    """Crush the shadows: luma below the base's 15th percentile goes to 0.

    A continuous tone curve (0 below the threshold t, a ramp from 0 to 2t between
    t and 2t, unchanged above) applied as a gain on RGB; bbox is the bounding box
    of the crushed pixels, px.
    """
    lum = luma(base)
    t = float(np.percentile(lum, 15))
    curve = np.where(lum < t, 0.0, np.where(lum < 2 * t, 2 * (lum - t), lum))
    gain = curve / np.maximum(lum, 1e-6)
    out = np.clip(base * gain[..., None], 0, 1).astype(np.float32)
    ys, xs = np.nonzero(lum < t)
    box = (int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))
    return out, box, frozenset({"shadow_clipping", "tone_shift"})


#: Injected failures by kind, applied on :func:`honest_base`.
INJECTIONS: dict[str, Injection] = {
    "text_redrawn": inject_text_redrawn,
    "text_smeared": inject_text_smeared,
    "texture_on_blank": inject_texture_on_blank,
    "busy_sharpened": inject_busy_sharpened,
    "contrast_clipped": inject_contrast_clipped,
    "texture_flattened": inject_texture_flattened,
    "shadows_crushed": inject_shadows_crushed,
}

#: Kinds that need OCR to find their place.
TEXT_KINDS = {"text_redrawn", "text_smeared"}


def pairs(data: Path, frames: bool, only: set[str]) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(name, reference, noisy) of every real pair found, crops first."""
    folders = [data / "polyu"] + ([data / "polyu-full"] if frames else [])
    for folder in folders:
        if not folder.is_dir():
            continue
        for pair in load_dataset_dir(folder):
            if only and not any(name in pair.id for name in only):
                continue
            # Arrays, not paths: a user's own photos carry no benchmark name, so
            # the alignment decides for itself, as it would for them.
            yield f"{folder.name}/{pair.id}", *pair.load()


def judged(mode: str, reference, noisy, candidate, *, ocr: bool):
    """``(result, seconds)`` of ``evalkit.score`` (mode "score") or ``evalkit.inspect``."""
    start = time.perf_counter()
    if mode == "score":
        result = evalkit.score(reference, candidate, noisy=noisy, ocr="easyocr" if ocr else None)
    else:
        result = evalkit.inspect(noisy, candidate, text=ocr)
    return result, time.perf_counter() - start


def evaluate(
    name: str, reference: np.ndarray, noisy: np.ndarray, *, ocr: bool, candidates: list[str]
) -> list[Row]:
    """Score and inspect each honest candidate of one pair; one row per finding."""
    rows = []
    for candidate_name in candidates:
        candidate = HONEST[candidate_name](reference, noisy)
        for mode in ("score", "inspect"):
            result, seconds = judged(mode, reference, noisy, candidate, ocr=ocr)
            found = [f for f in result.findings if f.severity.value != "info"]
            for finding in found:
                rows.append(
                    Row(
                        name,
                        candidate_name,
                        mode,
                        finding.detector,
                        finding.severity.value,
                        ",".join(map(str, finding.bbox)) if finding.bbox else "",
                        finding.message,
                        seconds,
                    )
                )
            if not found:
                rows.append(Row(name, candidate_name, mode, "", "", "", "", seconds))
    return rows


def table(rows: list[Row], candidates: list[str]) -> str:
    """Markdown table: warnings/criticals per honest candidate, mode and detector."""
    runs = Counter(
        (r.candidate, r.mode) for r in {(r.pair, r.candidate, r.mode): r for r in rows}.values()
    )
    counts = Counter((r.candidate, r.mode, r.detector, r.severity) for r in rows if r.detector)
    detectors = sorted({r.detector for r in rows if r.detector})
    lines = ["| candidate | mode | runs | " + " | ".join(detectors) + " |"]
    lines.append("|---" * (3 + len(detectors)) + "|")
    for candidate in candidates:
        for mode in ("score", "inspect"):
            cells = []
            for detector in detectors:
                w = counts[(candidate, mode, detector, "warning")]
                c = counts[(candidate, mode, detector, "critical")]
                cells.append(f"{w}w {c}c" if w or c else "·")
            lines.append(
                f"| {candidate} | {mode} | {runs[(candidate, mode)]} | " + " | ".join(cells) + " |"
            )
    return "\n".join(lines)


@dataclass(frozen=True)
class InjectedRow:
    """Whether one injected failure was caught in one mode, and by what.

    ``bbox`` is where it was put and ``finding_bbox`` where the best catching
    finding points, both ``x,y,w,h`` in px; ``elsewhere`` counts warnings and
    criticals of the expected detectors that point somewhere else.
    """

    pair: str
    kind: str
    mode: str
    bbox: str
    expected: str
    caught: bool
    severity: str
    detector: str
    finding_bbox: str
    elsewhere: int
    seconds: float


def overlaps(a: BBox, b: BBox) -> bool:
    """Whether boxes (x, y, w, h) share ≥ MIN_OVERLAP of the smaller one's area."""
    return boxes_overlap(a, b, MIN_OVERLAP)


def judge(findings, bbox: BBox, expected: frozenset[str], shape: tuple[int, ...]):
    """(caught, best catching finding or None, how many expected findings were elsewhere).

    A warning or critical of an expected detector catches the injection when its
    box overlaps ``bbox`` (:func:`overlaps`); a finding without a box covers the
    whole frame, and for a whole-frame injection any box does.
    """
    frame = (0, 0, shape[1], shape[0])
    whole = tuple(bbox) == frame
    hits, elsewhere = [], 0
    for finding in findings:
        if finding.detector not in expected or finding.severity.value == "info":
            continue
        if whole or overlaps(finding.bbox or frame, bbox):
            hits.append(finding)
        else:
            elsewhere += 1
    best = max(hits, key=lambda f: f.severity.rank, default=None)
    return best is not None, best, elsewhere


def evaluate_injections(
    name: str, reference: np.ndarray, noisy: np.ndarray, *, ocr: bool, kinds: list[str]
) -> list[InjectedRow]:
    """Inject each kind of failure on the honest base of one pair; judge both modes."""
    rows = []
    base = honest_base(reference, noisy)
    for kind in kinds:
        if kind in TEXT_KINDS and not ocr:
            continue
        made = INJECTIONS[kind](reference, noisy, base)
        if made is None:
            print(f"{name} {kind}: no suitable place", flush=True)
            continue
        candidate, bbox, expected = made
        candidate = np.ascontiguousarray(candidate, dtype=np.float32)
        for mode in ("score", "inspect"):
            result, seconds = judged(mode, reference, noisy, candidate, ocr=ocr)
            caught, best, elsewhere = judge(result.findings, bbox, expected, reference.shape)
            rows.append(
                InjectedRow(
                    name,
                    kind,
                    mode,
                    ",".join(map(str, bbox)),
                    " ".join(sorted(expected)),
                    caught,
                    best.severity.value if best else "",
                    best.detector if best else "",
                    ",".join(map(str, best.bbox)) if best and best.bbox else "",
                    elsewhere,
                    seconds,
                )
            )
    return rows


def recall_table(rows: list[InjectedRow], kinds: list[str]) -> str:
    """Markdown table: per injected kind and mode, caught/total and recall %."""
    lines = ["| injected | mode | caught/total | recall | critical |", "|---|---|---|---|---|"]
    for kind in kinds:
        for mode in ("score", "inspect"):
            runs = [r for r in rows if r.kind == kind and r.mode == mode]
            if not runs:
                continue
            caught = sum(r.caught for r in runs)
            critical = sum(r.severity == "critical" for r in runs)
            lines.append(
                f"| {kind} | {mode} | {caught}/{len(runs)} | {100 * caught / len(runs):.0f} % "
                f"| {critical} |"
            )
    return "\n".join(lines)


def write_csv(path: Path, rows: list) -> None:
    """Write dataclass rows to ``path``, one header line of their field names."""
    if not rows:
        return
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(type(rows[0]).__dataclass_fields__)
        writer.writerows([list(vars(r).values()) for r in rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--frames", action="store_true", help="also the whole 5-9 MP frames")
    parser.add_argument("--no-ocr", action="store_true", help="skip the text check (fast)")
    parser.add_argument("--only", nargs="*", default=[], help="pairs whose name contains one")
    parser.add_argument("--candidates", nargs="*", default=list(HONEST), choices=list(HONEST))
    parser.add_argument(
        "--injections",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also inject known failures on the mild-NLM output and measure recall",
    )
    parser.add_argument("--kinds", nargs="*", default=list(INJECTIONS), choices=list(INJECTIONS))
    parser.add_argument("--out", type=Path, help="CSV of every finding (+ <out>_injected.csv)")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"no real pairs at {args.data}: nothing to evaluate", file=sys.stderr)
        return 0
    kinds = args.kinds if args.injections else []
    rows: list[Row] = []
    injected: list[InjectedRow] = []
    for name, reference, noisy in pairs(args.data, args.frames, set(args.only)):
        found = evaluate(name, reference, noisy, ocr=not args.no_ocr, candidates=args.candidates)
        for row in found:
            if row.detector:
                print(
                    f"{row.pair} {row.candidate} {row.mode}: {row.severity} {row.detector} "
                    f"[{row.bbox}] {row.message}",
                    flush=True,
                )
        if args.candidates:
            print(
                f"{name}: {sum(1 for r in found if r.detector)} warnings/criticals "
                f"({sum({(r.candidate, r.mode): r.seconds for r in found}.values()):.0f} s)",
                flush=True,
            )
        rows += found
        caught = evaluate_injections(name, reference, noisy, ocr=not args.no_ocr, kinds=kinds)
        for row in caught:
            print(
                f"{row.pair} {row.kind} {row.mode} [{row.bbox}]: "
                + (
                    f"caught, {row.severity} {row.detector} [{row.finding_bbox}]"
                    if row.caught
                    else f"missed ({row.elsewhere} elsewhere)"
                )
                + f" ({row.seconds:.0f} s)",
                flush=True,
            )
        injected += caught
        if args.out:
            write_csv(args.out, rows)
            write_csv(args.out.with_name(f"{args.out.stem}_injected.csv"), injected)
    if args.candidates:
        print(table(rows, args.candidates))
    if injected:
        print()
        print(recall_table(injected, kinds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
