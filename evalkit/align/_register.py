"""Geometric registration of the reference to the noisy shot.

Conventions used throughout :mod:`evalkit.align`:

* A transform is a 3x3 matrix ``M`` that maps pixel coordinates of the **noisy**
  shot ``(x, y, 1)`` to coordinates in the **reference**; the aligned reference is
  ``aligned(x, y) = reference(M @ (x, y, 1))``. This is OpenCV's inverse-map
  convention (``cv2.findTransformECC`` returns such a matrix and
  ``cv2.warpAffine(..., flags=WARP_INVERSE_MAP)`` applies it).
* Pixel ``(x, y)`` has its centre at integer coordinates, x to the right, y down.
* A shift ``(dx, dy)`` means an object at ``(x, y)`` in the noisy shot is at
  ``(x + dx, y + dy)`` in the reference.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

# Images whose long side exceeds this are first registered at a reduced scale
# (integer precision at that scale), then refined at full resolution on one tile.
_COARSE_SIDE = 1024
# Side of the full-resolution tile used for the sub-pixel estimate: 1024 px keeps
# the FFTs below 0.2 s while holding plenty of texture on a 20 MP photo.
_FINE_TILE = 1024
# Band-pass (difference of Gaussians, sigmas in px) applied before correlation.
# Measured on the PolyU pairs: whitening ("phase" normalisation) lets the noise
# dominate the high frequencies (0.13 px bias), plain correlation is dominated by
# the lowest ones (up to 0.6 px error); a 1-8 px band gave <= 0.06 px.
_BAND = (1.0, 8.0)
_UPSAMPLE = 100  # sub-pixel precision of the correlation peak: 1/100 px
# Band-passed values below this (in [0, 1] units, a thousandth of a code of 8 bits)
# are float rounding, not structure.
_FEATURELESS = 4e-6

INTERPOLATIONS = {"fourier": 4, "linear": 1, "cubic": 2, "lanczos": 4}
"""Interpolation name -> border margin in px cut on each side after resampling.

``"fourier"`` (translations only) has no kernel reach, but the mirrored frame
border rings a little: 4 px are cut as for Lanczos-4."""
# Mirrored padding around the frame before the Fourier shift, so that its
# periodic extension has no jump at the borders (which would ring inwards).
_FOURIER_PAD = 16


def luma(image: np.ndarray) -> np.ndarray:
    """Rec. 709 luma of an (H, W, 3) image (or the image itself when 2-D), float32."""
    if image.ndim == 2:
        return image.astype(np.float32, copy=False)
    weights = np.asarray([0.2126, 0.7152, 0.0722], np.float32)
    return np.ascontiguousarray(image[..., :3] @ weights, dtype=np.float32)


def bandpass(grey: np.ndarray) -> np.ndarray:
    """Difference of Gaussians with the sigmas of ``_BAND``; removes offset and noise."""
    import cv2

    low, high = _BAND
    return cv2.GaussianBlur(grey, (0, 0), low) - cv2.GaussianBlur(grey, (0, 0), high)


def correlate_shift(noisy_grey: np.ndarray, reference_grey: np.ndarray) -> tuple[float, float]:
    """Sub-pixel shift ``(dx, dy)`` of the reference's content relative to the noisy tile.

    Both tiles have the same shape. Cross-correlation (not phase correlation) of the
    band-passed, Hann-windowed tiles, with the peak located to 1/100 px by
    scikit-image's matrix-multiply DFT upsampling (Guizar-Sicairos et al. 2008).
    """
    import cv2
    from skimage.registration import phase_cross_correlation

    height, width = noisy_grey.shape
    window = cv2.createHanningWindow((width, height), cv2.CV_32F)
    moving, fixed = bandpass(noisy_grey) * window, bandpass(reference_grey) * window
    # A featureless tile (a blank frame, a black sky) has nothing to register: no
    # shift, rather than scikit-image's "could not determine RMS error" warning.
    if min(float(np.abs(moving).max()), float(np.abs(fixed).max())) < _FEATURELESS:
        return 0.0, 0.0
    shift, _, _ = phase_cross_correlation(
        moving, fixed, upsample_factor=_UPSAMPLE, normalization=None
    )
    # scikit-image returns the (row, col) shift that moves the second image onto
    # the first; the content of the reference therefore sits at minus that.
    return -float(shift[1]), -float(shift[0])


def estimate_translation(noisy_grey: np.ndarray, reference_grey: np.ndarray) -> tuple[float, float]:
    """Global shift ``(dx, dy)`` in px between two grey images of the same shape.

    Large images are registered coarsely on a downscaled copy (so shifts up to
    half the frame are found), then refined on the most textured full-resolution
    tile of ``_FINE_TILE`` px.
    """
    import cv2

    height, width = noisy_grey.shape
    factor = max(1, math.ceil(max(height, width) / _COARSE_SIDE))
    if factor == 1:
        return correlate_shift(noisy_grey, reference_grey)
    small = (width // factor, height // factor)
    coarse_noisy = cv2.resize(noisy_grey, small, interpolation=cv2.INTER_AREA)
    coarse_ref = cv2.resize(reference_grey, small, interpolation=cv2.INTER_AREA)
    cdx, cdy = correlate_shift(coarse_noisy, coarse_ref)
    ix, iy = round(cdx * factor), round(cdy * factor)
    tile = min(_FINE_TILE, height - abs(iy), width - abs(ix))
    if tile < 64:
        return float(ix), float(iy)
    x0, y0 = _textured_tile(coarse_ref, factor, tile, ix, iy, width, height)
    fdx, fdy = correlate_shift(
        noisy_grey[y0 : y0 + tile, x0 : x0 + tile],
        reference_grey[y0 + iy : y0 + iy + tile, x0 + ix : x0 + ix + tile],
    )
    return ix + fdx, iy + fdy


def _textured_tile(coarse_ref, factor, tile, ix, iy, width, height) -> tuple[int, int]:
    """Top-left corner (in the noisy frame) of the tile with the most band-pass energy."""
    import cv2

    energy = cv2.blur(bandpass(coarse_ref) ** 2, (3, 3))
    # Candidate corners where both the noisy tile and the shifted reference tile fit.
    xs = np.linspace(max(0, -ix), min(width, width - ix) - tile, 3).astype(int)
    ys = np.linspace(max(0, -iy), min(height, height - iy) - tile, 3).astype(int)
    best, best_energy = (int(xs[1]), int(ys[1])), -1.0
    for y0 in ys:
        for x0 in xs:
            rows = slice((y0 + iy) // factor, (y0 + iy + tile) // factor)
            cols = slice((x0 + ix) // factor, (x0 + ix + tile) // factor)
            value = float(energy[rows, cols].mean())
            if value > best_energy:
                best, best_energy = (int(x0), int(y0)), value
    return best


def estimate_ecc(
    noisy_grey: np.ndarray, reference_grey: np.ndarray, initial: np.ndarray, *, homography: bool
) -> np.ndarray:
    """Refine ``initial`` (3x3) to an affine or projective transform with OpenCV's ECC.

    ECC (Evangelidis & Psarakis 2008, doi:10.1109/TPAMI.2008.113) maximises the
    enhanced correlation coefficient, which ignores gain and offset differences.
    It runs coarse to fine on a pyramid of halvings; the finest level is capped at
    about 4 MP, because ECC's cost grows with the pixel count and the transform's
    precision at that scale is already a fraction of a pixel.

    Raises
    ------
    cv2.error
        When ECC does not converge (the caller turns it into an AlignmentError).
    """
    import cv2

    motion = cv2.MOTION_HOMOGRAPHY if homography else cv2.MOTION_AFFINE
    height, width = noisy_grey.shape
    finest = 1
    while height * width / finest**2 > 4e6:
        finest *= 2
    coarsest = finest
    while max(height, width) / coarsest > 512 and min(height, width) / coarsest > 128:
        coarsest *= 2
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-7)
    matrix = np.asarray(initial, np.float64)
    factor = coarsest
    while factor >= finest:
        size = (round(width / factor), round(height / factor))
        if factor > 1:
            template = cv2.resize(noisy_grey, size, interpolation=cv2.INTER_AREA)
            moving = cv2.resize(reference_grey, size, interpolation=cv2.INTER_AREA)
        else:
            template, moving = noisy_grey, reference_grey
        scale = _scale_matrix(width / size[0], height / size[1])
        level = np.linalg.inv(scale) @ matrix @ scale
        level /= level[2, 2]
        warp = level.astype(np.float32) if homography else level[:2].astype(np.float32)
        _, warp = cv2.findTransformECC(template, moving, warp, motion, criteria, None, 5)
        level = np.vstack([warp, [0, 0, 1]]) if not homography else warp.astype(np.float64)
        matrix = scale @ level.astype(np.float64) @ np.linalg.inv(scale)
        matrix /= matrix[2, 2]
        factor //= 2
    return matrix


def _scale_matrix(fx: float, fy: float) -> np.ndarray:
    # Small-image pixel centre i sits at fx * i + (fx - 1) / 2 in full-size pixels
    # (INTER_AREA averages fx x fy blocks), so scaling is not a pure multiplication.
    return np.array([[fx, 0, (fx - 1) / 2], [0, fy, (fy - 1) / 2], [0, 0, 1]], np.float64)


def valid_box(
    matrix: np.ndarray,
    reference_size: tuple[int, int],
    size: tuple[int, int],
    margin: int | tuple[int, int],
) -> tuple[int, int, int, int]:
    """Largest safe axis-aligned box ``(x, y, w, h)`` of noisy pixels whose reference
    samples (with ``margin`` px for the interpolation kernel, or ``(x, y)`` margins)
    lie inside the reference.

    The reference frame's corners are mapped into the noisy frame by ``inv(matrix)``
    (lines stay lines under a homography); for near-identity transforms the box
    bounded by the innermost corner coordinates is inside that quadrilateral.
    """
    ref_w, ref_h = reference_size
    width, height = size
    mx, my = (margin, margin) if isinstance(margin, int) else margin
    lo_x, lo_y, hi_x, hi_y = mx, my, ref_w - 1 - mx, ref_h - 1 - my
    corners = np.array([[lo_x, lo_y, 1], [hi_x, lo_y, 1], [hi_x, hi_y, 1], [lo_x, hi_y, 1]]).T
    mapped = np.linalg.inv(matrix) @ corners
    xs, ys = mapped[0] / mapped[2], mapped[1] / mapped[2]
    (tlx, trx, brx, blx), (tly, try_, bry, bly) = xs, ys
    eps = 1e-6
    x0 = max(0, math.ceil(max(tlx, blx) - eps))
    y0 = max(0, math.ceil(max(tly, try_) - eps))
    x1 = min(width - 1, math.floor(min(trx, brx) + eps))
    y1 = min(height - 1, math.floor(min(bly, bry) + eps))
    return x0, y0, max(0, x1 - x0 + 1), max(0, y1 - y0 + 1)


def warp_into_box(
    reference: np.ndarray, matrix: np.ndarray, box: tuple[int, int, int, int], interpolation: str
) -> np.ndarray:
    """Resample ``reference`` at ``matrix @ p`` for every noisy pixel ``p`` in ``box``.

    One warp produces the cropped result directly (no full-size intermediate),
    clipped to [0, 1] because cubic and Lanczos kernels overshoot at edges.
    """
    import cv2

    x, y, w, h = box
    local = matrix @ np.array([[1, 0, x], [0, 1, y], [0, 0, 1]], np.float64)
    flags = {
        "linear": cv2.INTER_LINEAR,
        "cubic": cv2.INTER_CUBIC,
        "lanczos": cv2.INTER_LANCZOS4,
    }[interpolation] | cv2.WARP_INVERSE_MAP
    source = np.ascontiguousarray(reference, dtype=np.float32)
    if np.allclose(local[2], [0, 0, 1]):
        out = cv2.warpAffine(source, local[:2], (w, h), flags=flags, borderMode=cv2.BORDER_REFLECT)
    else:
        out = cv2.warpPerspective(source, local, (w, h), flags=flags, borderMode=cv2.BORDER_REFLECT)
    return np.clip(out, 0.0, 1.0, out=out)


def shift_image(
    image: np.ndarray, dx: float, dy: float, *, box: tuple[int, int, int, int] | None = None
) -> np.ndarray:
    """``image`` resampled at ``(x + dx, y + dy)`` by the Fourier shift theorem; float32.

    An all-pass resampling: unlike any finite kernel it keeps every frequency's
    amplitude, so a sub-pixel shift neither blurs fine detail nor averages away
    the reference's own noise (Lanczos-4 at 0.5 px halves the high-pass noise and
    softens edges). Only the fractional part is resampled; the whole-pixel part
    is an offset of the crop. The DFT treats the frame as periodic, so it is first
    mirrored by ``_FOURIER_PAD`` px and the mirrored band faded to the channel's
    mean (a raised-cosine taper): the periodic extension then has no jump to ring
    from. Values within ``ceil(|d|) + 4`` px of the border are mirror images; the
    caller crops them (:func:`valid_box`). Clipped to [0, 1], as the band-limited
    interpolant overshoots at hard edges.

    With ``box`` ``(x, y, w, h)``, only those pixels of the result are returned
    (the same values as cutting them from the whole result, without a second
    full-frame copy).
    """
    from scipy import fft

    height, width = image.shape[:2]
    x, y, w, h = box if box is not None else (0, 0, width, height)
    ix, iy = math.floor(dx), math.floor(dy)
    pad = _FOURIER_PAD + max(abs(ix), abs(iy))
    size = tuple(fft.next_fast_len(n + 2 * pad, real=True) for n in (height, width))
    taper_y, taper_x = (_taper(n, pad) for n in (height, width))
    # Sampling at x + d moves content by -d: a phase ramp, separable in y and x.
    ramp_y = _phase_ramp(fft.fftfreq(size[0]), dy - iy)[:, None]
    ramp_x = _phase_ramp(fft.rfftfreq(size[1]), dx - ix)[None, :]
    # The padded frame, with zeros beyond it up to the FFT size (the mean, once
    # the mean is subtracted); reused for every channel.
    padded = np.zeros(size, np.float32)
    framed = padded[: height + 2 * pad, : width + 2 * pad]
    out = np.empty((h, w, image.shape[2]), np.float32)
    for c in range(image.shape[2]):
        channel = image[..., c]
        mean = np.float32(channel.mean(dtype=np.float64))
        np.subtract(channel, mean, out=framed[pad : pad + height, pad : pad + width])
        _mirror_border(framed, pad)
        # The taper is 1 on the frame itself: only the mirrored bands are weighted.
        for band in (slice(0, pad), slice(pad + height, None)):
            framed[band] *= taper_y[band, None]
        for band in (slice(0, pad), slice(pad + width, None)):
            framed[:, band] *= taper_x[None, band]
        spectrum = fft.rfft2(padded, workers=-1)
        spectrum *= ramp_y
        spectrum *= ramp_x
        shifted = fft.irfft2(spectrum, s=size, workers=-1, overwrite_x=True)
        del spectrum
        rows, cols = pad + iy + y, pad + ix + x
        np.add(shifted[rows : rows + h, cols : cols + w], mean, out=out[..., c])
        del shifted
    return np.clip(out, 0.0, 1.0, out=out)


def _mirror_border(framed: np.ndarray, pad: int) -> None:
    """Fill the ``pad``-px border of ``framed`` with the mirror image of its inside,
    edge pixels repeated (``"dcba|abcd"``, numpy's ``mode="symmetric"``)."""
    inner_h, inner_w = framed.shape[0] - 2 * pad, framed.shape[1] - 2 * pad
    rows = slice(pad, pad + inner_h)
    if pad > min(inner_h, inner_w):  # a shift beyond the frame: reflect more than once
        framed[...] = np.pad(framed[rows, pad : pad + inner_w], pad, mode="symmetric")
        return
    framed[rows, :pad] = framed[rows, 2 * pad - 1 : pad - 1 : -1]
    framed[rows, pad + inner_w :] = framed[rows, pad + inner_w - 1 : inner_w - 1 : -1]
    framed[:pad] = framed[2 * pad - 1 : pad - 1 : -1]
    framed[pad + inner_h :] = framed[pad + inner_h - 1 : inner_h - 1 : -1]


def _phase_ramp(frequencies: np.ndarray, shift: float) -> np.ndarray:
    """``exp(2 pi i f shift)``, complex64: multiplying a spectrum by it samples the
    signal at ``x + shift``. What scipy.ndimage.fourier_shift computes for ``-shift``,
    written out because its general n-D loop takes 8x as long on a 20 MP spectrum."""
    return np.exp(2j * np.pi * shift * frequencies).astype(np.complex64)


def _taper(length: int, pad: int) -> np.ndarray:
    """Weights over ``length + 2 * pad`` samples: 1 on the frame, a raised cosine
    from 1 to 0 across each mirrored band."""
    ramp = 0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, pad + 2)[1:-1])
    return np.concatenate([ramp[::-1], np.ones(length), ramp]).astype(np.float32)


def tile_shifts(
    noisy_grey: np.ndarray, aligned: np.ndarray, *, grid: int = 3
) -> list[tuple[int, int, int, int, float, float]]:
    """Shifts still measured between a registered image and the noisy shot, tile by tile.

    ``aligned`` is grey (H, W) or RGB (H, W, 3); an RGB image's luma is made on
    the tiles alone, not on the frame. Returns one ``(x, y, w, h, dx, dy)`` per
    textured tile of a ``grid`` x ``grid`` layout (tiles of at most 512 px,
    centred in their cells). Tiles without texture in two directions are
    skipped (see :func:`_structure`): their estimate would be noise.
    """
    import cv2

    height, width = noisy_grey.shape
    side = min(512, height // grid, width // grid)
    if side < 32:
        return []
    tiles = []
    for row in range(grid):
        for col in range(grid):
            y0 = int((row + 0.5) * height / grid - side / 2)
            x0 = int((col + 0.5) * width / grid - side / 2)
            grey = luma(aligned[y0 : y0 + side, x0 : x0 + side])
            tiles.append((x0, y0, grey, _structure(grey)))
    weakest = np.array([t[3][0] for t in tiles])
    floor = 0.25 * float(np.median(weakest))
    # A tile must have texture in both directions (no aperture problem: a tile of
    # parallel lines cannot tell a shift along them) and not be much flatter than
    # the typical tile, or its shift is mostly noise.
    textured = [
        (x0, y0, grey)
        for x0, y0, grey, (low, high) in tiles
        if low > floor and low != 0 and low >= 0.1 * high
    ]

    def measure(tile: tuple[int, int, np.ndarray]) -> tuple[int, int, int, int, float, float]:
        x0, y0, grey = tile
        dx, dy = correlate_shift(noisy_grey[y0 : y0 + side, x0 : x0 + side], grey)
        return x0, y0, side, side, dx, dy

    # The tiles are independent and OpenCV, scipy.fft and BLAS release the GIL.
    with ThreadPoolExecutor(max(1, min(len(textured), cv2.getNumThreads()))) as pool:
        return list(pool.map(measure, textured))


def _structure(grey: np.ndarray) -> tuple[float, float]:
    """Eigenvalues ``(smallest, largest)`` of the mean structure tensor of the band-passed tile."""
    import cv2

    band = bandpass(grey)
    gx = cv2.Sobel(band, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(band, cv2.CV_32F, 0, 1, ksize=3)
    tensor = np.array(
        [[np.mean(gx * gx), np.mean(gx * gy)], [np.mean(gx * gy), np.mean(gy * gy)]], np.float64
    )
    low, high = np.linalg.eigvalsh(tensor)
    return float(low), float(high)
