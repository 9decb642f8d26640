"""A detector's heat map, kept at the resolution it was measured at.

Detectors measure on 32 px tiles, colour blocks or face boxes; a full-frame
float32 map is 80 MB at 20 MP, nine of them 0.7 GB, and only a report draws
them. A :class:`HeatMap` keeps the cell values and paints the pixel map when
asked for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Rows painted at a time: the fancy-indexing temporary stays a few MB at 20 MP.
_PAINT_ROWS = 512


@dataclass(frozen=True)
class HeatMap:
    """Cell values that expand to a per-pixel map of a frame.

    Attributes
    ----------
    values : ndarray of shape (rows, cols), float32 or bool
        One value per ``cell`` x ``cell`` pixel square, from the top-left
        corner; the last row and column of cells may overhang the frame.
        Pixels that no cell covers are 0.
    cell : int
        Side of a cell, in pixels (1: one value per pixel).
    shape : tuple of int
        ``(height, width)`` of the frame, in pixels.
    boxes : tuple of ((x, y, w, h), value)
        Rectangles (pixels) painted over the cells, in order.
    """

    values: np.ndarray
    cell: int
    shape: tuple[int, int]
    boxes: tuple[tuple[tuple[int, int, int, int], float], ...] = ()

    def __post_init__(self):
        values = np.asarray(self.values)
        if values.ndim != 2:
            raise ValueError(f"values must have shape (rows, cols), got {values.shape}")
        if int(self.cell) < 1:
            raise ValueError(f"cell must be a positive number of pixels, got {self.cell!r}")
        if values.dtype != np.bool_:
            values = values.astype(np.float32, copy=False)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "cell", int(self.cell))
        object.__setattr__(self, "shape", (int(self.shape[0]), int(self.shape[1])))

    @classmethod
    def of_pixels(cls, plane: np.ndarray) -> HeatMap:
        """A map that already has one value per pixel (H, W)."""
        return cls(plane, 1, plane.shape[:2])

    @classmethod
    def blank(cls, shape: tuple[int, int], boxes=()) -> HeatMap:
        """A map of zeros over a frame of ``shape``, with ``boxes`` painted on it."""
        return cls(np.zeros((1, 1), np.float32), max(shape), shape, tuple(boxes))

    def pixels(self) -> np.ndarray:
        """The per-pixel map, float32 of shape :attr:`shape`, painted on each call."""
        height, width = self.shape
        out = np.zeros((height, width), np.float32)
        rows, cols = self.values.shape
        covered_h = min(height, rows * self.cell)
        covered_w = min(width, cols * self.cell)
        col_index = np.arange(covered_w) // self.cell
        for top in range(0, covered_h, _PAINT_ROWS):
            bottom = min(top + _PAINT_ROWS, covered_h)
            row_index = np.arange(top, bottom) // self.cell
            out[top:bottom, :covered_w] = self.values[row_index[:, None], col_index]
        for (x, y, w, h), value in self.boxes:
            out[y : y + h, x : x + w] = value
        return out
