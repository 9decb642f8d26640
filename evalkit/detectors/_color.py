"""Colour detector: where hue and saturation moved (CIEDE2000 at equal lightness)."""

from __future__ import annotations

import numpy as np

from ..findings import Finding
from ._base import (
    Detection,
    analysis,
    check_positive,
    fmt_bbox,
    regions,
    severity_of,
    sort_and_cap,
    tile_mean,
    validate_images,
)
from ._heatmap import HeatMap


def detect_color_shift(
    reference: np.ndarray,
    candidate: np.ndarray,
    *,
    noisy: np.ndarray | None = None,
    tile: int = 32,
    block: int | None = None,
    info: float = 2.5,
    warning: float = 5.0,
    critical: float = 10.0,
    max_findings: int = 10,
) -> Detection:
    """Find regions whose colour (hue, saturation) moved, by CIEDE2000.

    Each tile's mean colour is converted to CIELAB (D65) and the candidate's
    lightness is replaced by the reference's before ΔE2000 is taken: lightness
    changes are :func:`~evalkit.detectors.detect_tone_shift`'s, so one failure
    is reported once. Mean colours, not means of per-pixel ΔE, are compared,
    so leftover chroma noise does not count as a shift. With the noisy shot,
    a tile counts the smaller of its move away from the reference and away
    from the noisy input (clipped shadow noise already shifts the input's mean
    colour; that is not the denoiser's doing). Tiles with newly clipped pixels
    are left to the clipping detectors. Tiles from ``info`` up form regions.

    Parameters
    ----------
    reference, candidate : ndarray of shape (H, W, 3)
        float sRGB images in [0, 1].
    noisy : ndarray of shape (H, W, 3), optional
        The noisy shot: a shift it already had is not counted (see above).
    tile : int, optional
        Tile side in pixels (a multiple of ``block`` works best).
    block : int, optional
        Averaging block in pixels for the heat map; by default 4, or more on
        large images so that the map is measured on about 0.3 MP.
    info, warning, critical : float, optional
        Thresholds on a region's mean ΔE2000 (chroma and hue only). 2.5 is
        about twice the just-noticeable difference for side-by-side patches;
        5 is a colour cast anyone sees; 10 is a different colour.
    max_findings : int, optional
        At most this many regions are reported.

    Returns
    -------
    Detection
        ``score``: the mean tile ΔE2000; ``map``: ΔE2000 of ``block``-pixel
        means, repeated to pixels. ``measures`` has the tile ``mean`` and ``p95``.
    """
    import cv2
    from skimage.color import deltaE_ciede2000, rgb2lab

    validate_images(reference, candidate, noisy)
    if block is None:
        block = max(4, round(np.sqrt(reference.shape[0] * reference.shape[1] / 300_000)))
    check_positive(tile=tile, block=block)
    an = analysis(reference, candidate, noisy, tile)
    height, width = an.shape

    # Tile decisions use ΔE2000 between tile-mean colours: noise averages out
    # of a mean colour, whereas a mean of per-pixel ΔE grows with the noise.
    means = {role: _lab(an.image(role), tile) for role in ("reference", "candidate")}
    tile_delta = _delta_at_equal_lightness(means["reference"], means["candidate"])
    if noisy is not None:
        # A shift the noisy input already had (clipped shadow noise biases the
        # mean colour) is not the denoiser's: count the smaller of the moves
        # away from the reference and away from the input.
        input_means = _lab(an.noisy, tile)
        tile_delta = np.minimum(
            tile_delta, _delta_at_equal_lightness(input_means, means["candidate"])
        )
    tile_delta = np.where(an.newly_clipped() < 0.05, tile_delta, 0.0)
    items = []
    for region in regions(tile_delta >= info, tile, (height, width)):
        value = float(tile_delta[region.tiles].mean())
        severity = severity_of(value, info, warning, critical)
        if severity is None:
            continue
        hue, saturation = _hue_and_saturation(
            means["reference"][region.tiles], means["candidate"][region.tiles]
        )
        where = "across most of the image at" if region.area_fraction > 0.5 else "at"
        if saturation is None:  # a neutral area: hue and saturation ratio mean nothing
            detail = "a neutral area took on a colour cast"
        else:
            detail = f"hue turned {hue:+.0f}°, saturation x{saturation:.2f}"
        message = (
            f"colours {where} {fmt_bbox(region.bbox)} moved by ΔE2000 {value:.1f} on average "
            f"({detail})"
        )
        items.append((value, Finding("color_shift", severity, value, region.bbox, message)))

    # The heat map shows finer detail: ΔE2000 of block x block means.
    small = (max(1, width // block), max(1, height // block))
    lab_ref = rgb2lab(np.clip(cv2.resize(an.reference, small, interpolation=cv2.INTER_AREA), 0, 1))
    lab_cand = rgb2lab(np.clip(cv2.resize(an.candidate, small, interpolation=cv2.INTER_AREA), 0, 1))
    lab_cand[..., 0] = lab_ref[..., 0]
    delta = deltaE_ciede2000(lab_ref, lab_cand)
    return Detection(
        "color_shift",
        float(tile_delta.mean()),
        HeatMap(delta, block, (height, width)),
        sort_and_cap(items, max_findings),
        {
            "mean": float(tile_delta.mean()),
            "p95": float(np.percentile(tile_delta, 95)),
            "warning": warning,
            "critical": critical,
        },
    )


def _lab(image: np.ndarray, tile: int) -> np.ndarray:
    from skimage.color import rgb2lab

    return rgb2lab(np.clip(tile_mean(image, tile), 0.0, 1.0))


def _delta_at_equal_lightness(lab_ref: np.ndarray, lab_cand: np.ndarray) -> np.ndarray:
    """ΔE2000 after giving the candidate the reference's lightness (chroma and hue only)."""
    from skimage.color import deltaE_ciede2000

    lab_cand = lab_cand.copy()
    lab_cand[..., 0] = lab_ref[..., 0]
    return deltaE_ciede2000(lab_ref, lab_cand)


def _hue_and_saturation(lab_ref: np.ndarray, lab_cand: np.ndarray) -> tuple[float, float | None]:
    """Chroma-weighted mean hue rotation (degrees) and chroma ratio of (N, 3) Lab colours."""
    ab_ref = lab_ref[:, 1] + 1j * lab_ref[:, 2]
    ab_cand = lab_cand[:, 1] + 1j * lab_cand[:, 2]
    # Summing a_c * conj(a_r) weights each colour's rotation by its chroma, so
    # near-grey tiles, whose hue is undefined, count for little.
    hue = float(np.degrees(np.angle(np.sum(ab_cand * np.conj(ab_ref)))))
    chroma = float(np.abs(ab_ref).mean())
    if chroma < 5.0:  # CIELAB chroma below 5 is near-grey
        return hue, None
    return hue, float(np.abs(ab_cand).mean() / chroma)
