"""Tone detectors: newly clipped highlights and shadows, and tone-curve changes."""

from __future__ import annotations

import numpy as np

from ..colour import srgb_to_linear
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


def detect_highlight_clipping(
    reference: np.ndarray,
    candidate: np.ndarray,
    *,
    noisy: np.ndarray | None = None,
    tile: int = 32,
    clip_level: float = 254.5 / 255,
    reference_below: float = 251.0 / 255,
    min_tile_fraction: float = 0.05,
    min_pixels: int = 64,
    min_visible: float = 6.0 / 255,
    info: float = 0.0001,
    warning: float = 0.0005,
    critical: float = 0.02,
    max_findings: int = 10,
) -> Detection:
    """Find areas blown out to the top code value in the candidate but not in the reference.

    A pixel is newly clipped when the candidate's largest channel is at least
    ``clip_level`` (the top 8-bit code) and the reference's is below
    ``reference_below``, so highlights the reference already had at the top
    are not blamed on the denoiser. Tiles with at least ``min_tile_fraction``
    newly clipped pixels are grouped into regions.

    Parameters
    ----------
    reference, candidate : ndarray of shape (H, W, 3)
        float sRGB images in [0, 1].
    noisy : ndarray of shape (H, W, 3), optional
        The noisy shot. Where it is itself at the top code over most of a 5x5
        neighbourhood (its local median is clipped), the input had already lost
        that highlight: keeping it clipped is not the denoiser's doing, and the
        unchanged input (the ``noisy`` baseline) is never blamed for it.
    tile : int, optional
        Tile side in pixels.
    clip_level : float, optional
        Candidate value counted as clipped (254.5/255: the top 8-bit code).
    reference_below : float, optional
        The reference must be below this (251/255) for a pixel to count: a
        reference at 252-254 is as good as clipped already.
    min_tile_fraction : float, optional
        Fraction of a tile's pixels that must be newly clipped for it to join a
        region (0.05 ignores isolated specks).
    min_pixels : int, optional
        Regions with fewer newly clipped pixels are at most ``info``.
    min_visible : float, optional
        Least change a region's clip must make to count ([0, 1] units: 6 codes,
        2.4 %, an honest denoise's drift of about 1 % plus a 1 % gain). The
        change is the larger of the detail taken (95th minus 5th percentile of
        the reference's brightest channel over the newly clipped pixels) and the
        tone step to the limit (their median distance from it). Below it the
        region is at most ``info``: on a whole PolyU frame, a flat near-white
        wall at 249-251 that an honest NLM put at 252 and a 1 % gain took to
        255. The sample's blown-out metal, paper and signs spread 9-41 codes.
    info, warning, critical : float, optional
        Thresholds on a region's newly clipped pixels as a fraction of the
        image. 0.05 % is a 100x100 patch of a 20 MP photo, a blown area a viewer
        notices; 2 % is a large part of the subject.
    max_findings : int, optional
        At most this many regions are reported.

    Returns
    -------
    Detection
        ``score``: the newly clipped fraction of the image; ``map``: 1 where a
        pixel is newly clipped, else 0.
    """
    validate_images(reference, candidate, noisy)
    check_positive(tile=tile, clip_level=clip_level, reference_below=reference_below)
    an = analysis(reference, candidate, noisy, tile)
    newly = _solid(an.brightest("candidate", np.greater_equal, clip_level))
    newly &= an.brightest("reference", np.less, reference_below)
    if noisy is not None:
        newly &= ~_mostly(an.brightest("noisy", np.greater_equal, clip_level))
    return _clipping_detection(
        "highlight_clipping", "blown out to white", newly, an, min_tile_fraction, min_pixels,
        (1.0, min_visible), (info, warning, critical), max_findings,
    )  # fmt: skip


def detect_shadow_clipping(
    reference: np.ndarray,
    candidate: np.ndarray,
    *,
    noisy: np.ndarray | None = None,
    tile: int = 32,
    clip_level: float = 0.5 / 255,
    reference_above: float = 4.0 / 255,
    min_tile_fraction: float = 0.05,
    min_pixels: int = 64,
    min_visible: float = 4.0 / 255,
    info: float = 0.0001,
    warning: float = 0.0005,
    critical: float = 0.02,
    max_findings: int = 10,
) -> Detection:
    """Find shadows crushed to black in the candidate but not in the reference.

    A pixel is newly crushed when all the candidate's channels are at most
    ``clip_level`` (code 0) and the reference's largest channel is above
    ``reference_above`` (4/255: shadow detail a screen still shows), and the
    noisy shot, when given, is not itself black over most of the pixel's 5x5
    neighbourhood. Tiles, regions, severities and ``min_visible`` work as in
    :func:`detect_highlight_clipping`; ``min_visible`` is 4 codes here, the
    shadow detail a screen still shows, since a gain moves shadows by a fraction
    of a code (a PolyU chair crop's shadows at 4-8 codes, crushed, change by 5.5).

    Returns
    -------
    Detection
        ``score``: the newly crushed fraction of the image; ``map``: 1 where a
        pixel is newly crushed, else 0.
    """
    validate_images(reference, candidate, noisy)
    check_positive(tile=tile, clip_level=clip_level, reference_above=reference_above)
    an = analysis(reference, candidate, noisy, tile)
    newly = _solid(an.brightest("candidate", np.less_equal, clip_level))
    newly &= an.brightest("reference", np.greater, reference_above)
    if noisy is not None:
        newly &= ~_mostly(an.brightest("noisy", np.less_equal, clip_level))
    return _clipping_detection(
        "shadow_clipping", "crushed to black", newly, an, min_tile_fraction, min_pixels,
        (0.0, min_visible), (info, warning, critical), max_findings,
    )  # fmt: skip


def _solid(clipped: np.ndarray) -> np.ndarray:
    """Keep clipped pixels whose 5x5 neighbourhood is at least 80 % clipped.

    Leftover noise on a near-white (or near-black) surface clips scattered
    single pixels; a blown-out area is clipped throughout. Only the latter
    loses detail, so only it counts.
    """
    return clipped & _neighbours_at_least(clipped, 20)


def _mostly(clipped: np.ndarray) -> np.ndarray:
    """Pixels whose 5x5 neighbourhood is more than half clipped: the local median is."""
    return _neighbours_at_least(clipped, 13)


def _neighbours_at_least(flags: np.ndarray, count: int) -> np.ndarray:
    """True where at least ``count`` of the 25 pixels of the 5x5 neighbourhood are set."""
    import cv2

    if not flags.any():
        return flags
    total = cv2.boxFilter(
        flags.view(np.uint8), cv2.CV_16U, (5, 5), normalize=False, borderType=cv2.BORDER_REFLECT
    )
    return total >= count


def _clipping_detection(
    name, words, newly, an, min_tile_fraction, min_pixels, visible, levels, cap
):
    fraction = tile_mean(newly, an.tile)
    total = newly.size
    items = []
    for region in regions(fraction >= min_tile_fraction, an.tile, an.shape):
        x, y, w, h = region.bbox
        inside = newly[y : y + h, x : x + w]
        count = int(inside.sum())
        share = count / total
        severity = severity_of(share, *levels)
        if severity is None:
            continue
        limit, least = visible
        if count < min_pixels or _change(an, region.bbox, inside, limit) < least:
            severity = severity_of(0.0, 0.0, 1.0, 1.0)  # info: too small or too flat to see
        message = (
            f"{share:.1%} of the image ({count} pixels) is newly {words} in the "
            f"{w}x{h} region at {fmt_bbox(region.bbox)}, where the reference keeps detail"
        )
        items.append((share, Finding(name, severity, share, region.bbox, message)))
    score = float(newly.mean())
    return Detection(
        name,
        score,
        HeatMap.of_pixels(newly) if score > 0 else HeatMap.blank(an.shape),
        sort_and_cap(items, cap),
        {"newly_clipped_fraction": score, "warning": levels[1], "critical": levels[2]},
    )


def _change(an, bbox, newly: np.ndarray, limit: float) -> float:
    """What the clip changed over the pixels ``newly`` marks in ``bbox``: the larger
    of the detail it took (95th minus 5th percentile of the reference's brightest
    channel) and the tone step to ``limit`` (their median distance from it)."""
    x, y, w, h = bbox
    part = an.image("reference")[y : y + h, x : x + w]
    peak = np.maximum(np.maximum(part[..., 0], part[..., 1]), part[..., 2])[newly]
    low, middle, high = np.percentile(peak, [5, 50, 95])
    return float(max(high - low, abs(limit - middle)))


def detect_tone_shift(
    reference: np.ndarray,
    candidate: np.ndarray,
    *,
    noisy: np.ndarray | None = None,
    tile: int = 32,
    slope_warning: float = 0.12,
    stops_warning: float = 0.25,
    curvature_warning: float = 0.04,
    local_warning: float = 0.06,
    info_fraction: float = 0.4,
    critical_factor: float = 3.0,
    max_findings: int = 10,
) -> Detection:
    """Measure how the tone curve changed: contrast, brightness, curvature, and where locally.

    The candidate's luma is plotted against the reference's (16x16 block
    means, so noise, sharpening and invented texture average out; blocks with
    newly clipped pixels left out) and the median in each of 32 bins gives
    the tone curve. A line fitted over the mid-tones (reference luma 0.1-0.9, where the
    clipping detectors are silent) gives the contrast slope; its largest
    distance from the curve is the curvature (a gamma-like bend); the ratio
    of mean linear light gives the brightness change in stops. Tiles whose mean
    luma departs from the curve are local shifts (dodging, burning, a halo of
    brightness around a subject); tiles with clipping are left to the clipping
    detectors.

    Parameters
    ----------
    reference, candidate : ndarray of shape (H, W, 3)
        float sRGB images in [0, 1].
    noisy : ndarray of shape (H, W, 3), optional
        The noisy shot. Each global change, and each tile's local departure,
        then counts only as far as the candidate departs from the noisy input
        too: the input's own offsets (clipped shadow noise lifts the mean; a
        real pair may differ slightly in exposure) are not the denoiser's.
    tile : int, optional
        Tile side in pixels for local shifts.
    slope_warning : float, optional
        ``|slope - 1|`` at which the contrast change is a warning (0.12: a 12 %
        contrast change is visible side by side; denoisers do not change contrast).
    stops_warning : float, optional
        ``|brightness change|`` in stops for a warning (0.25 stop: a quarter of
        an exposure stop, visible side by side). Stops are measured on mean
        linear light plus 0.01 (sRGB 0.1), so a dark image's deep shadows do
        not turn a few levels into a large change.
    curvature_warning : float, optional
        Largest distance of the tone curve from its fitted line (sRGB units) for
        a warning (0.04: 10 levels of 255).
    local_warning : float, optional
        Departure of a tile's mean luma from the curve (sRGB units) for a local
        warning (0.06, about a third of a stop in the mid-tones).
    info_fraction, critical_factor : float, optional
        Info is reported from ``info_fraction`` x the warning thresholds,
        critical from ``critical_factor`` x them.
    max_findings : int, optional
        At most this many findings (the global one plus local regions).

    Returns
    -------
    Detection
        ``score``: the global change as a multiple of the warning thresholds
        (the largest of the three ratios; >= 1 is a warning); ``map``: the local
        departure per tile, in sRGB units.
    """

    validate_images(reference, candidate, noisy)
    check_positive(
        tile=tile,
        slope_warning=slope_warning,
        stops_warning=stops_warning,
        curvature_warning=curvature_warning,
        local_warning=local_warning,
    )
    an = analysis(reference, candidate, noisy, tile)
    # The curve is fitted to means of 16x16 blocks: sharpening, blurring and
    # invented texture leave them alone (they are zero-mean changes), so a
    # local failure reported elsewhere does not bend the global curve. Blocks
    # with newly clipped pixels are the clipping detectors' and are left out.
    block = 4 if min(an.shape) < 256 else 8 if min(an.shape) < 512 else 16
    unclipped = np.repeat(
        np.repeat(an.newly_clipped() < 0.05, max(1, tile // block), 0), max(1, tile // block), 1
    )

    def shrink(role):
        means = an.luma_mean(role, block)
        keep = unclipped[: means.shape[0], : means.shape[1]]
        # A tile that is not a multiple of the block, or an image clipped almost
        # everywhere: fit to all blocks rather than to a handful.
        if keep.shape != means.shape or keep.mean() < 0.1:
            keep = np.ones(means.shape, bool)
        return means[keep]

    ref = shrink("reference")
    centers, curve, counts = _tone_curve(ref, shrink("candidate"))
    slope, curvature, stops = _curve_measures(ref, centers, curve, counts)
    changes = np.array([abs(slope - 1), abs(stops), curvature])
    if noisy is not None:
        # What the noisy input already did (clipped noise lifts the shadows'
        # mean, a real pair may differ in exposure) is not the denoiser's: each
        # change counts only as far as the candidate also departs from the input.
        _, noisy_curve, _ = _tone_curve(ref, shrink("noisy"))
        n_slope, _, n_stops = _curve_measures(ref, centers, noisy_curve, counts)
        relative = curve - noisy_curve + centers
        _, r_curvature, _ = _curve_measures(ref, centers, relative, counts)
        from_input = np.array(
            [abs(slope / max(n_slope, 1e-6) - 1), abs(stops - n_stops), r_curvature]
        )
        changes = np.minimum(changes, from_input)

    ratios = tuple(changes / np.array([slope_warning, stops_warning, curvature_warning]))
    score = float(max(ratios))
    items = []
    severity = severity_of(score, info_fraction, 1.0, critical_factor)
    if severity is not None:
        parts = []
        if ratios[0] >= info_fraction:
            word = "rose" if slope > 1 else "fell"
            parts.append(f"contrast {word} by {abs(slope - 1):.0%} (slope {slope:.2f})")
        if ratios[1] >= info_fraction:
            parts.append(f"mean brightness changed by {stops:+.2f} stops")
        if ratios[2] >= info_fraction:
            parts.append(f"the tone curve bends by up to {curvature * 255:.0f}/255 (gamma-like)")
        items.append(
            (score, Finding("tone_shift", severity, score, None, "overall " + " and ".join(parts)))
        )

    # Local departures from the global curve, where no clipping explains them.
    departure = _local_departure(an, an.luma_mean("candidate", tile), centers, curve)
    clipped = an.newly_clipped()
    if noisy is not None:
        departure = _local_departure(
            an, an.luma_mean("noisy", tile), centers, noisy_curve, departure
        )
    departure = np.where(clipped < 0.05, departure, 0.0)
    magnitude = np.abs(departure)
    for region in regions(magnitude >= info_fraction * local_warning, tile, an.shape):
        value = float(np.median(departure[region.tiles]))
        level = severity_of(abs(value) / local_warning, info_fraction, 1.0, critical_factor)
        if level is None:
            continue
        word = "brighter" if value > 0 else "darker"
        message = (
            f"the area at {fmt_bbox(region.bbox)} became {abs(value) * 255:.0f}/255 {word} "
            f"than the overall tone curve predicts (a local tone change)"
        )
        items.append(
            (abs(value) / local_warning, Finding("tone_shift", level, value, region.bbox, message))
        )
    return Detection(
        "tone_shift",
        score,
        an.upsample(departure),
        sort_and_cap(items, max_findings),
        {"slope": float(slope), "stops": float(stops), "curvature": float(curvature)},
    )


def _tone_curve(ref: np.ndarray, other: np.ndarray):
    """Median of ``other`` in up to 32 bins of ``ref``: (x = bin medians of ref, curve, counts)."""
    bins = int(np.clip(ref.size // 16, 8, 32))  # about 16 blocks per bin or more
    edges = np.linspace(0.0, 1.0, bins + 1)
    centers = 0.5 * (edges[:-1] + edges[1:])
    index = np.clip(np.digitize(ref, edges) - 1, 0, bins - 1)
    counts = np.bincount(index, minlength=bins)
    curve = np.full(bins, np.nan)
    order = np.argsort(index, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)])
    for b in np.flatnonzero(counts >= 3):
        members = order[starts[b] : starts[b + 1]]
        # x is the bin's own median reference value, not the bin centre, so
        # identical images give exactly the identity.
        centers[b] = np.median(ref[members])
        curve[b] = np.median(other[members])
    return centers, curve, counts


def _curve_measures(ref, centers, curve, counts):
    """(contrast slope, curvature in sRGB units, brightness change in stops)."""
    valid = np.isfinite(curve)
    fit_bins = valid & (centers > 0.1) & (centers < 0.9) & (counts >= 0.002 * ref.size)
    if fit_bins.sum() >= 3:
        weights = np.sqrt(counts[fit_bins])
        slope, intercept = np.polyfit(centers[fit_bins], curve[fit_bins], 1, w=weights)
        curvature = float(np.abs(curve[fit_bins] - (slope * centers[fit_bins] + intercept)).max())
    else:  # too narrow a tonal range to fit a line
        slope, curvature = 1.0, 0.0
    # Mean linear light from the curve, weighted by the bins' pixel counts.
    lin_ref = float((srgb_to_linear(np.clip(centers[valid], 0, 1)) * counts[valid]).sum())
    lin_other = float((srgb_to_linear(np.clip(curve[valid], 0, 1)) * counts[valid]).sum())
    # The floor (linear 0.01 per block, sRGB 0.1) keeps a few levels in a dark
    # image's shadows from reading as a large change in stops; crushed shadows
    # are shadow_clipping's.
    floor = 0.01 * max(counts[valid].sum(), 1)
    stops = float(np.log2((lin_other + floor) / (lin_ref + floor)))
    return float(slope), curvature, stops


def _local_departure(an, tiles, centers, curve, against=None):
    """Tile mean luma minus what ``curve`` predicts from the reference's tile mean.

    With ``against`` (the candidate's departure), returns the part of it that
    the input's own departure (this call's) does not explain: the smaller in
    magnitude of ``against`` and ``against - own``.
    """
    valid = np.isfinite(curve)
    # Interpolate the curve's offset from the identity, not the curve itself:
    # beyond the last filled bin the offset stays constant, instead of the
    # prediction flattening into a false local departure.
    offset = curve - centers
    fill = np.interp(centers, centers[valid], offset[valid]) if valid.any() else 0 * centers
    order = np.argsort(centers)
    x = an.luma_mean("reference", an.tile)
    own = tiles - x - np.interp(x, centers[order], fill[order])
    if against is None:
        return own
    return np.where(np.abs(against - own) < np.abs(against), against - own, against)
