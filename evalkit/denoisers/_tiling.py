"""Run an image-to-image model over overlapping tiles and blend the results.

A convolutional network's output at a pixel depends only on the pixels within
its receptive field. Cutting the image into tiles that overlap by more than
twice that radius, and blending with weights that are zero near each tile's
cut edges, gives the same output as one pass over the whole image while the
activations held at once stay the size of one tile.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import DenoiserError

__all__ = [
    "check_model_io",
    "check_tiling",
    "from_model_output",
    "run_tiled",
    "tile_spans",
    "to_model_input",
]


def check_tiling(*, tile: int | None, overlap: int, multiple: int = 1) -> None:
    """Raise ``ValueError`` unless ``tile``, ``overlap`` and ``multiple`` fit together.

    Parameters
    ----------
    tile : int or None
        Tile side in pixels; ``None`` means one pass over the whole image.
    overlap : int
        Pixels shared by neighbouring tiles, >= 0 and at most half the tile.
    multiple : int, optional
        Tile starts (and so ``tile - overlap``) must be multiples of this, for
        models that work on a coarser grid (a pixel-unshuffle by 2 needs 2).
    """
    if not isinstance(multiple, int) or multiple < 1:
        raise ValueError(f"multiple must be a positive integer, got {multiple!r}")
    if tile is None:
        return
    if not isinstance(tile, int) or tile < 2 * max(overlap, 1):
        raise ValueError(
            f"tile must be an integer >= 2 * overlap (and >= 2), got tile={tile!r}, "
            f"overlap={overlap}"
        )
    if not isinstance(overlap, int) or overlap < 0:
        raise ValueError(f"overlap must be a non-negative integer, got {overlap!r}")
    if (tile - overlap) % multiple or tile % multiple:
        raise ValueError(
            f"tile ({tile}) and tile - overlap ({tile - overlap}) must be multiples of "
            f"{multiple} for this model"
        )


def tile_spans(length: int, *, tile: int, overlap: int) -> list[tuple[int, int]]:
    """Half-open ``(start, stop)`` spans covering ``range(length)``.

    Neighbouring spans share exactly ``overlap`` pixels; every span is ``tile``
    long except the last, which stops at ``length`` and is shorter (but longer
    than ``overlap``). Starts are multiples of ``tile - overlap``.
    """
    if length <= tile:
        return [(0, length)]
    step = tile - overlap
    spans = []
    start = 0
    while start + tile < length:
        spans.append((start, start + tile))
        start += step
    spans.append((start, length))
    return spans


def run_tiled(
    image: np.ndarray,
    model: Callable[[np.ndarray], np.ndarray],
    *,
    tile: int | None,
    overlap: int,
    multiple: int = 1,
) -> np.ndarray:
    """Apply ``model`` to ``image`` tile by tile and blend the tiles.

    Parameters
    ----------
    image : ndarray of shape (H, W, C), float32
        Input of the model.
    model : callable
        ``model(tile) -> ndarray`` of the same shape as its (h, w, C) input.
    tile : int or None
        Tile side in pixels. ``None``, or an image no larger than one tile, runs
        the model once on the whole image.
    overlap : int
        Pixels shared by neighbouring tiles. The outer quarter of the overlap on
        each side gets weight 0 and the middle half a linear ramp, so the output
        equals a whole-image pass wherever the model's receptive-field radius is
        at most ``overlap // 4``.
    multiple : int, optional
        Alignment of tile starts, see :func:`check_tiling`.

    Returns
    -------
    ndarray of shape (H, W, C), float32
        The blended output.

    Notes
    -----
    The weights of each tile are a product of 1-D ramps that sum to exactly 1
    over every pixel (a partition of unity), so no weight image is kept: peak
    memory is the input, the output and one tile's worth of model activations.
    """
    check_tiling(tile=tile, overlap=overlap, multiple=multiple)
    height, width = image.shape[:2]
    if tile is None or (height <= tile and width <= tile):
        return np.asarray(model(image), dtype=np.float32)
    rows = tile_spans(height, tile=tile, overlap=overlap)
    cols = tile_spans(width, tile=tile, overlap=overlap)
    out = np.zeros(image.shape, dtype=np.float32)
    for y0, y1 in rows:
        wy = _ramp(y1 - y0, first=y0 == 0, last=y1 == height, overlap=overlap)
        for x0, x1 in cols:
            wx = _ramp(x1 - x0, first=x0 == 0, last=x1 == width, overlap=overlap)
            result = np.asarray(model(image[y0:y1, x0:x1]), dtype=np.float32)
            if result.shape != (y1 - y0, x1 - x0, *image.shape[2:]):
                raise ValueError(
                    f"model returned shape {result.shape} for a tile of shape "
                    f"{(y1 - y0, x1 - x0, *image.shape[2:])}"
                )
            out[y0:y1, x0:x1] += result * (wy[:, None, None] * wx[None, :, None])
    return out


def _ramp(size: int, *, first: bool, last: bool, overlap: int) -> np.ndarray:
    """Blend weights along one axis of a tile: 1 inside, ramps on the cut edges."""
    weight = np.ones(size, dtype=np.float32)
    if overlap == 0:
        return weight
    margin = overlap // 4
    width = overlap - 2 * margin
    # The +0.5 centres the ramp on pixel centres, so a ramp and its mirror image
    # in the neighbouring tile sum to exactly 1.
    up = np.clip((np.arange(size) - margin + 0.5) / width, 0.0, 1.0).astype(np.float32)
    if not first:
        weight *= up
    if not last:
        weight *= up[::-1]
    return weight


def check_model_io(*, input_range: float, output_range: float | None, colour_order: str) -> float:
    """Validate a model's declared value range and colour order; return the output range.

    Parameters
    ----------
    input_range : {1.0, 255.0}
        Value of white in the model's input ([0, 1] or [0, 255]).
    output_range : {1.0, 255.0} or None
        Value of white in its output; ``None`` means the same as the input.
    colour_order : {"rgb", "bgr"}
        Channel order the model expects and returns (OpenCV-trained models use BGR).
    """
    output_range = input_range if output_range is None else output_range
    for label, value in (("input_range", input_range), ("output_range", output_range)):
        if value not in (1, 255):
            raise ValueError(f"{label} must be 1.0 or 255.0, got {value!r}")
    if colour_order not in ("rgb", "bgr"):
        raise ValueError(f"colour_order must be 'rgb' or 'bgr', got {colour_order!r}")
    return float(output_range)


def to_model_input(
    tile: np.ndarray, *, input_range: float, colour_order: str, multiple: int
) -> np.ndarray:
    """(h, w, 3) [0, 1] RGB -> (1, 3, h', w') float32 in the model's range and order.

    ``h'`` and ``w'`` are ``h`` and ``w`` rounded up to ``multiple`` by mirroring
    the last rows and columns (as the whole image would be at its edge).
    """
    if colour_order == "bgr":
        tile = tile[..., ::-1]
    height, width = tile.shape[:2]
    pad_y, pad_x = -height % multiple, -width % multiple
    if pad_y or pad_x:
        tile = np.pad(tile, ((0, pad_y), (0, pad_x), (0, 0)), mode="symmetric")
    array = np.ascontiguousarray(tile.transpose(2, 0, 1)[None], dtype=np.float32)
    if input_range != 1:
        array *= np.float32(input_range)
    return array


def from_model_output(
    array: np.ndarray, *, size: tuple[int, int], output_range: float, colour_order: str
) -> np.ndarray:
    """(1, 3, h', w') model output -> (h, w, 3) float32 RGB in [0, 1] units (unclipped)."""
    if array.ndim != 4 or array.shape[:2] != (1, 3):
        raise ValueError(f"model output must have shape (1, 3, H, W), got {array.shape}")
    height, width = size
    image = array[0, :, :height, :width].transpose(1, 2, 0)
    if colour_order == "bgr":
        image = image[..., ::-1]
    image = image.astype(np.float32)
    if output_range != 1:
        image = image / np.float32(output_range)
    return image


class TiledModel:
    """What the model adapters share: checked options, tiling and value conversion.

    A subclass (a frozen dataclass with the fields ``name``, ``input_range``,
    ``output_range``, ``colour_order``, ``tile``, ``overlap`` and ``multiple``)
    implements :meth:`_forward`, one pass of its backend on a (1, 3, H, W)
    float32 array, and calls :meth:`_check_options` from ``__post_init__``.
    """

    def denoise(self, noisy: np.ndarray, *, pair=None) -> np.ndarray:
        out = run_tiled(
            noisy, self._run, tile=self.tile, overlap=self.overlap, multiple=self.multiple
        )
        return np.clip(out, 0.0, 1.0, out=out)

    def _check_options(self) -> float:
        """Validate range, colour order and tiling; set and return the output range."""
        try:
            output_range = check_model_io(
                input_range=self.input_range,
                output_range=self.output_range,
                colour_order=self.colour_order,
            )
            check_tiling(tile=self.tile, overlap=self.overlap, multiple=self.multiple)
        except ValueError as exc:
            raise DenoiserError(f"{self.name}: {exc}") from None
        object.__setattr__(self, "output_range", output_range)
        return output_range

    def _run(self, tile: np.ndarray) -> np.ndarray:
        array = to_model_input(
            tile,
            input_range=self.input_range,
            colour_order=self.colour_order,
            multiple=self.multiple,
        )
        output = self._forward(array)
        if getattr(output, "shape", None) != array.shape:
            shape = getattr(output, "shape", type(output).__name__)
            raise DenoiserError(
                f"{self.name}: model returned {shape} for an input of shape {array.shape}"
            )
        return from_model_output(
            output,
            size=tile.shape[:2],
            output_range=self.output_range,
            colour_order=self.colour_order,
        )

    def _forward(self, array: np.ndarray) -> np.ndarray:
        raise NotImplementedError
