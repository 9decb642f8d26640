"""Detectors that judge an output against its noisy input alone (no reference).

Without a clean reference the only evidence is the noisy shot, and it carries
noise: a detector must not blame the denoiser for structure that is the
noise, nor take noise for scene detail. Both detectors here measure, per tile
and band, the noise the noisy shot carries at that brightness (the lower
envelope of its band energy over tiles of similar brightness, which the
scene's flat areas reach) and split the noisy shot's band energy into signal
and that noise.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..findings import Finding, boxes_overlap
from ._base import (
    BANDS,
    Detection,
    analysis,
    check_positive,
    fmt_bbox,
    regions,
    safe_ratio,
    severity_of,
    sort_and_cap,
    tile_mean,
    validate_images,
    visible_severity,
)

#: Brightness bins in which the noise floor of each band is measured.
_LEVEL_BINS = 12
#: Quantile of a bin's tile energies taken as its noise floor: flat tiles hold
#: only noise, and any scene content adds energy on top of it.
_FLOOR_QUANTILE = 0.1
#: A tile is flat in a band when the noisy shot's energy there is at most this
#: multiple of the noise floor.
_FLAT_EXCESS = 1.5
#: Tiles where more than this fraction of the noisy shot's pixels sit at the top
#: code or at black are not judged: there its noise is cut off (a blown-out wall
#: carries none), so no noise floor says what the scene holds.
_CLIPPED_FRACTION = 0.05
NO_REFERENCE = "judged without a reference, against the noisy shot"
#: The band in which flattened texture is judged without a reference (periods of
#: about 6 to 20 px). Not the fine band (2 to 6 px): that is where the noise
#: lives, where a camera's JPEG has already smoothed it unevenly and where an
#: honest denoiser removes most of what there is, so the noise floor there says
#: little of what a denoiser should keep: counting it, OpenCV NLM (h = 4) seems
#: to lose up to 0.55 of its expected texture on the PolyU crops and 0.74 on the
#: whole frames, and the reference itself (a mean of many shots, a little softer
#: than one) up to 0.63 of the fine band's; in the mid band alone, at most 0.31
#: and 0.38.
TEXTURE_BAND = "mid"


def detect_texture_hallucination_blind(
    noisy: np.ndarray,
    candidate: np.ndarray,
    *,
    tile: int = 32,
    info: float = 1.0,
    warning: float = 2.0,
    critical: float = 5.0,
    max_findings: int = 10,
) -> Detection:
    """Find structure in the output that the noisy shot does not contain.

    Per tile, the part of the output's band-pass signal that the noisy shot's
    own band-pass signal does not explain (the residual of a least-squares fit
    of the one on the other), plus the part that it explains but that is
    stronger than the noisy band itself (the input's noise amplified), is
    compared with the noise energy of the noisy shot at that brightness, in the
    fine (sigma 1 px) and mid (1-3 px) bands. Keeping the input unchanged, or
    smoothing it, leaves nothing; a weave painted onto a blank wall, noise
    re-shaped into a pattern, or noise amplified into a cloth texture does.

    Parameters
    ----------
    noisy, candidate : ndarray of shape (H, W, 3)
        The noisy shot and the denoiser's output, float sRGB in [0, 1].
    tile : int, optional
        Tile side in pixels.
    info, warning, critical : float, optional
        Severity levels of the unexplained energy over the noise energy. At 2 the
        invented structure has twice the noise's energy: plainly visible once the
        noise is gone. The noise floor is measured on the frame itself and is
        low where JPEG smoothed the noise, so honest outputs do not measure 0:
        OpenCV NLM (mild and default) measures at most 1.1 on the PolyU crops
        and 1.6 on the whole PolyU frames, the reference itself at most 0.9;
        the input's own noise amplified 2x on a blank area measures 2.1-4.3,
        3x 5.6-12.
    max_findings : int, optional
        Most findings returned, most severe first.

    Returns
    -------
    Detection
        ``score`` is the largest tile ratio; ``map`` the ratio per pixel.
    """
    validate_images(noisy, candidate, None)
    check_positive(tile=tile, info=info, warning=warning, critical=critical)
    shared = analysis(noisy, candidate, None, tile)
    unexplained = np.zeros_like(shared.stats("reference").energy["fine"])
    noise = np.zeros_like(unexplained)
    flat = np.ones(unexplained.shape, bool)
    for band in BANDS:
        noisy_energy = shared.stats("reference").energy[band]
        candidate_energy = shared.stats("candidate").energy[band]
        cross = shared.cross(band)
        # Energy of the candidate's band minus its projection onto the noisy band,
        explained = safe_ratio(cross * cross, noisy_energy)
        unexplained += np.maximum(candidate_energy - explained, 0.0)
        # and the projection's own excess over the noisy band: the noise itself
        # amplified into a "cloth" texture is a linear function of the input,
        # explained by it, but stronger than anything the input holds.
        unexplained += np.maximum(explained - noisy_energy, 0.0)
        floor = _noise_floor(noisy_energy, shared.stats("reference").mean)
        noise += floor
        # Flat: the noisy shot holds no more than noise in this band. Where the
        # scene has texture, a denoiser's estimate of it is never a linear
        # function of the noisy input, and unexplained energy is expected.
        flat &= noisy_energy <= _FLAT_EXCESS * floor
    ratio = np.where(flat & _unclipped(shared), safe_ratio(unexplained, noise), 0.0)
    return _detection(
        "texture_hallucination",
        ratio,
        shared,
        (info, warning, critical),
        max_findings,
        lambda region, value: (
            f"structure at {fmt_bbox(region.bbox)} that the noisy shot does not contain "
            f"(unexplained band-pass energy {value:.1f}x the noise's); invented texture "
            f"or noise turned into a pattern ({NO_REFERENCE})"
        ),
    )


def detect_oversharpening_blind(
    noisy: np.ndarray,
    candidate: np.ndarray,
    *,
    tile: int = 32,
    info: float = 1.3,
    warning: float = 2.0,
    critical: float = 4.0,
    max_findings: int = 10,
) -> Detection:
    """Find fine detail in the output stronger than the noisy shot's signal supports.

    In busy tiles (where the noisy shot's fine-band energy is at least twice its
    noise floor, so the scene's detail stands out of the noise), the output's
    fine-band energy over the noisy shot's is the sharpening ratio. An honest
    denoise keeps the scene's detail and drops the noise (ratio below 1), the
    unchanged input scores 1, and unsharp masking or a "detail-enhancing"
    network pushes it above: more fine contrast than even the noisy shot had.

    Parameters
    ----------
    noisy, candidate : ndarray of shape (H, W, 3)
        The noisy shot and the denoiser's output, float sRGB in [0, 1].
    tile : int, optional
        Tile side in pixels.
    info, warning, critical : float, optional
        Severity levels of the sharpening ratio (an energy ratio: 2 is 1.4x the
        noisy shot's fine amplitude, noise included).
    max_findings : int, optional
        Most findings returned, most severe first.

    Returns
    -------
    Detection
        ``score`` is the largest tile ratio; ``map`` the ratio per pixel.
    """
    validate_images(noisy, candidate, None)
    check_positive(tile=tile, info=info, warning=warning, critical=critical)
    shared = analysis(noisy, candidate, None, tile)
    noisy_energy = shared.stats("reference").energy["fine"]
    floor = _noise_floor(noisy_energy, shared.stats("reference").mean)
    signal = np.maximum(noisy_energy - floor, 0.0)
    # Against signal plus noise, what the noisy shot itself holds: keeping the
    # input unchanged scores 1, and only busy tiles (the scene's detail stands out
    # of the noise) are judged; flat ones are texture_hallucination's.
    busy = (signal >= floor) & _unclipped(shared)
    ratio = np.where(busy, safe_ratio(shared.stats("candidate").energy["fine"], noisy_energy), 0.0)
    return _detection(
        "oversharpening",
        ratio,
        shared,
        (info, warning, critical),
        max_findings,
        lambda region, value: (
            f"the detail at {fmt_bbox(region.bbox)} was sharpened beyond what the noisy shot "
            f"supports (fine-detail energy {value:.1f}x the scene's estimate) ({NO_REFERENCE})"
        ),
    )


def detect_detail_loss_blind(
    noisy: np.ndarray,
    candidate: np.ndarray,
    *,
    tile: int = 32,
    texture_snr: float = 2.0,
    texture_std: float = 0.02,
    info: float = 0.3,
    warning: float = 0.5,
    critical: float = 0.9,
    flat_levels: tuple[float, float, float] = (0.5, 0.9, 0.95),
    max_findings: int = 10,
) -> Detection:
    """Find texture the noisy shot shows plainly above its noise that the output flattened.

    Per tile, the noisy shot's band energy above its noise floor is the scene's
    texture (signal); where it stands well out of the noise (signal at least
    ``texture_snr`` times the noise energy, and ``texture_std`` in amplitude),
    the output's projection onto the noisy band, over that signal, is the
    texture kept. It is compared with what a Wiener filter keeps at that
    signal-to-noise ratio (``snr / (1 + snr)`` of the amplitude, per band): the
    loss is ``1 - kept / expected``. A denoiser that only removes noise keeps
    such texture, because the noise hardly hides it; a region smoothed flat (a
    blurred fabric, a "plastic" wall) loses it. Texture at or below the noise
    is not judged: without a reference nobody can say whether it was there.

    Two scales are judged, each with its own levels. The mid band
    (:data:`TEXTURE_BAND`, periods of about 6 to 20 px), where an honest denoise
    keeps what stands out of the noise: a texture half lost there is a warning.
    And the fine and mid bands together (2 to 20 px: a grille's bars, a fine
    weave), where the noise lives and an honest denoise loses much of what
    seemed texture: only a texture smoothed flat counts there
    (``flat_levels``). A place both find is reported once, by the mid band.

    Parameters
    ----------
    noisy, candidate : ndarray of shape (H, W, 3)
        The noisy shot and the denoiser's output, float sRGB in [0, 1].
    tile : int, optional
        Tile side in pixels.
    texture_snr : float, optional
        Least signal-to-noise energy ratio of a judged tile. At 2 the texture's
        amplitude is 1.4x the noise's: a Wiener filter keeps 67 % of it, and any
        denoiser that sees it keeps most.
    texture_std : float, optional
        Least signal amplitude (RMS, [0, 1] units) of a judged tile: 0.02, five
        8-bit levels, texture a viewer sees at 100 % (as ``detect_detail_loss``).
    info, warning, critical : float, optional
        Severity levels of a region's median loss in the mid band: a warning is
        half of what a Wiener filter keeps gone, a critical nine tenths. Without a
        reference the noise is known only from the frame's flattest tiles, where a
        camera's JPEG smooths it most, so in textured tiles it is underestimated
        and an honest denoise seems to lose some texture that was noise. Measured
        on PolyU: the reference itself, the noisy shot, OpenCV NLM (h = 4 and
        default) and ``dncnn`` at most 0.31 on the crops and 0.38 on the whole
        frames; the most textured window blurred with sigma = 4 px 0.59-0.85 and
        0.72-0.93.
    flat_levels : (info, warning, critical), optional
        The levels of the fine and mid bands together: a warning when a tenth of
        the texture is left. Honest denoises measure up to 0.55 there on the PolyU
        crops and 0.74 on the whole frames (OpenCV NLM, h = 4; 0.86-0.92 on single
        tiles of a granite floor whose speckle, 2-3 levels in the reference, it
        did smooth away).
    max_findings : int, optional
        Most findings returned, most severe first.

    Returns
    -------
    Detection
        ``score`` is the area-weighted mean loss in the mid band over its judged
        tiles; ``map`` that loss per pixel, or the fine and mid bands' where they
        reach the warning level of ``flat_levels``.
    """
    validate_images(noisy, candidate, None)
    check_positive(tile=tile, texture_snr=texture_snr, texture_std=texture_std)
    shared = analysis(noisy, candidate, None, tile)
    mid = _texture_loss(shared, (TEXTURE_BAND,), texture_snr, texture_std)
    both = _texture_loss(shared, BANDS, texture_snr, texture_std)

    def describe(measured: _TextureLoss, what: str):
        return lambda region, value: (
            f"the {what} at {fmt_bbox(region.bbox)}, plain above the noise in the noisy "
            f"shot, was flattened: {float(np.median(measured.kept[region.tiles])):.0%} of it "
            f"is left where a good denoiser keeps "
            f"{float(np.median(measured.expected[region.tiles])):.0%} ({NO_REFERENCE})"
        )

    items: list[tuple[float, Finding]] = []
    for measured, levels, what in (
        (mid, (info, warning, critical), "texture"),
        (both, flat_levels, "fine texture"),
    ):
        # The median: one region's value stands for most of its tiles, not its worst.
        found = _region_findings(
            "detail_loss", measured.loss, shared, levels, describe(measured, what), reduce=np.median
        )
        items += [
            (value, finding)
            for value, finding in found
            if not any(boxes_overlap(finding.bbox, other.bbox) for _, other in items)
        ]
    heat = np.where(both.loss >= flat_levels[1], np.maximum(both.loss, mid.loss), mid.loss)
    return Detection(
        detector="detail_loss",
        score=float(mid.loss[mid.judged].mean()) if mid.judged.any() else 0.0,
        heat=shared.upsample(heat),
        findings=sort_and_cap(items, max_findings),
        measures={
            "judged_fraction": float(mid.judged.mean()),
            "fine_and_mid_judged_fraction": float(both.judged.mean()),
        },
    )


class _TextureLoss(NamedTuple):
    """Per tile (rows, cols): loss (0 where not judged), texture kept and expected
    (shares of the signal's amplitude), and whether the tile is judged."""

    loss: np.ndarray
    kept: np.ndarray
    expected: np.ndarray
    judged: np.ndarray


def _texture_loss(shared, bands, texture_snr: float, texture_std: float) -> _TextureLoss:
    """The texture the output kept of the noisy shot's signal in ``bands`` together,
    against what a Wiener filter keeps of each band (see detect_detail_loss_blind)."""
    level = shared.stats("reference").mean
    signal = np.zeros_like(level)
    noise = np.zeros_like(level)
    kept = np.zeros_like(level)
    reachable = np.zeros_like(level)
    for band in bands:
        noisy_energy = shared.stats("reference").energy[band]
        floor = _noise_floor(noisy_energy, level)
        band_signal = np.maximum(noisy_energy - floor, 0.0)
        snr = safe_ratio(band_signal, floor)
        signal += band_signal
        noise += floor
        # The output's band projected on the noisy band: what it kept of the
        # scene (leftover noise adds its small share, flattening takes it all).
        kept += shared.cross(band)
        reachable += band_signal * snr / (1.0 + snr)
    judged = (signal >= texture_snr * noise) & (signal >= texture_std**2) & _unclipped(shared)
    retention = np.clip(safe_ratio(kept, signal), 0.0, None)
    expected = safe_ratio(reachable, signal)
    loss = np.where(judged, 1.0 - np.minimum(1.0, safe_ratio(retention, expected)), 0.0)
    return _TextureLoss(loss, retention, expected, judged)


def _unclipped(shared) -> np.ndarray:
    """Per tile, True where the noisy shot's noise is whole (few pixels at a limit)."""
    clipped = shared.brightest("reference", np.greater_equal, 254.5 / 255)
    clipped |= shared.brightest("reference", np.less_equal, 0.5 / 255)
    return tile_mean(clipped, shared.tile) <= _CLIPPED_FRACTION


def _noise_floor(energy: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Per tile, the band's noise energy at the tile's brightness.

    Bins without enough tiles take the floor of the nearest measured bin.
    """
    edges = np.quantile(level, np.linspace(0, 1, _LEVEL_BINS + 1))
    index = np.clip(np.searchsorted(edges, level, side="right") - 1, 0, _LEVEL_BINS - 1)
    floors = np.full(_LEVEL_BINS, np.nan)
    for b in range(_LEVEL_BINS):
        members = energy[index == b]
        if members.size >= 4:
            floors[b] = np.quantile(members, _FLOOR_QUANTILE)
    known = np.flatnonzero(np.isfinite(floors))
    if known.size == 0:
        return np.full_like(energy, float(np.quantile(energy, _FLOOR_QUANTILE)))
    nearest = known[np.abs(np.arange(_LEVEL_BINS)[:, None] - known[None, :]).argmin(axis=1)]
    return floors[nearest][index]


def _detection(name, ratio, shared, levels, max_findings, describe) -> Detection:
    """Findings of regions where ``ratio`` reaches the info level, valued by their
    largest tile; the score is the largest tile ratio."""
    return Detection(
        detector=name,
        score=float(ratio.max()) if ratio.size else 0.0,
        heat=shared.upsample(ratio),
        findings=sort_and_cap(
            _region_findings(name, ratio, shared, levels, describe), max_findings
        ),
        measures={"tiles_flagged": float((ratio >= levels[0]).mean())},
    )


def _region_findings(
    name, ratio, shared, levels, describe, *, reduce=np.max
) -> list[tuple[float, Finding]]:
    """``(value, finding)`` of each region where ``ratio`` reaches the info level
    (``levels`` is info, warning, critical), valued by ``reduce`` over its tiles."""
    items = []
    for region in regions(ratio >= levels[0], shared.tile, shared.shape):
        value = float(reduce(ratio[region.tiles]))
        severity = visible_severity(severity_of(value, *levels), region)
        if severity is not None:
            finding = Finding(name, severity, value, region.bbox, describe(region, value))
            items.append((value, finding))
    return items
