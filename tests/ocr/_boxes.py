"""Comparing sets of text-line boxes ``(x, y, w, h)``, for the detection tests."""

from __future__ import annotations

import numpy as np


def share_covered(box, boxes) -> float:
    """Share of ``box``'s pixels inside any of ``boxes``, in [0, 1]: a line found
    again when split in two or outlined a little differently still counts."""
    x, y, w, h = box
    mask = np.zeros((h, w), bool)
    for bx, by, bw, bh in boxes:
        x0, y0 = max(bx - x, 0), max(by - y, 0)
        x1, y1 = min(bx + bw - x, w), min(by + bh - y, h)
        if x1 > x0 and y1 > y0:
            mask[y0:y1, x0:x1] = True
    return float(mask.mean())
