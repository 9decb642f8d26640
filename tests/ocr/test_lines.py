"""evalkit's steps after CRAFT (evalkit.ocr._lines) against EasyOCR's own, on maps
and word boxes made to reach every branch: words too small or too faint, links
between letters, a square word at 45 degrees, upright words on one line and
apart, slanted words. Whole images are compared in test_easyocr_rendered.py."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.ocr import _lines

pytest.importorskip("easyocr")


def _maps() -> tuple[np.ndarray, np.ndarray]:
    """CRAFT-like region and affinity maps, float32, of 120 x 200 px."""
    text = np.zeros((120, 200), np.float32)
    link = np.zeros_like(text)
    # Two letters joined by a link: one word.
    text[10:22, 10:20] = 0.9
    text[10:22, 26:36] = 0.8
    link[14:18, 20:26] = 0.6
    # A link that runs past the letter it leaves: not part of the word's box.
    text[40:52, 10:20] = 0.9
    link[44:48, 20:60] = 0.7
    # A square at 45 degrees: its upright bounds, not a tilted box.
    rows, cols = np.mgrid[:120, :200]
    text[np.abs(rows - 80) + np.abs(cols - 40) <= 12] = 0.95
    # Too small (under 10 px), and too faint (its best score under 0.7).
    text[100:103, 100:103] = 0.9
    text[60:75, 120:160] = 0.5
    # A word with a graded score, where thresholds cut inside it.
    text[20:40, 100:180] = np.linspace(0.3, 0.95, 80, dtype=np.float32)
    return text, link


def test_words_are_boxed_as_easyocr_boxes_them():
    from easyocr.craft_utils import getDetBoxes_core

    text, link = _maps()
    ours = _lines._word_boxes(text, link)
    theirs, _, _ = getDetBoxes_core(
        text.copy(), link.copy(), _lines.TEXT_THRESHOLD, _lines.LINK_THRESHOLD, _lines.LOW_TEXT
    )
    assert len(ours) == len(theirs) == 4
    for box, expected in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(box, expected)
    # The square at 45 degrees is boxed upright: two x and two y values.
    square = next(box for box in ours if box[:, 1].min() > 60)
    assert len(set(square[:, 0])) == 2 and len(set(square[:, 1])) == 2


def test_words_are_grouped_into_lines_as_easyocr_groups_them():
    from easyocr.utils import group_text_box

    def word(x0, y0, x1, y1, lift=0):
        # Corners clockwise from the top left; ``lift`` raises the right side.
        return np.array([x0, y0, x1, y0 - lift, x1, y1 - lift, x0, y1], np.int32)

    corners = [
        word(10, 10, 60, 30),
        word(66, 11, 120, 31),  # same line, a small gap: merged
        word(300, 10, 350, 30),  # same line, far: a line of its own
        word(351, 17, 380, 23),  # touching it, but a third as high: apart
        word(10, 50, 40, 90),  # taller, below: another line
        word(45, 52, 80, 70),  # beside it but half its height: apart
        word(10, 200, 110, 230, lift=30),  # slanted
        word(200, 200, 230, 215, lift=8),  # slanted, small
    ]
    ours = _lines._group(corners)
    theirs = group_text_box(
        corners,
        _lines.SLOPE,
        _lines.YCENTER,
        _lines.HEIGHT,
        _lines.WIDTH,
        _lines.MARGIN,
        True,
    )
    assert ours == (theirs[0], theirs[1])
    assert len(ours[0]) == 5 and len(ours[1]) == 2
