"""Band-pass detectors: invented texture, oversharpening, lost detail, leftover noise.

All four compare per-tile band-pass energies of the luma (see ``_base``):
``fine`` (periods of about 2-6 px) and ``mid`` (about 6-20 px). Tiles where the
reference's band-pass amplitude is below ``flat_std`` are *flat* (blank paper,
sky, walls); the others are *busy*. Invented texture is looked for in flat
tiles, oversharpening in busy ones, so one failure is reported by one detector.
"""

from __future__ import annotations

import numpy as np

from ..findings import Finding, Severity
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
    validate_images,
    visible_severity,
)

_BAND_WORDS = {"fine": "fine-grained", "mid": "coarse, weave-like"}
#: Excess texture up to this multiple of the noisy shot's own (in amplitude) is
#: what the input's noise explains, tile statistics being estimates: the
#: finding then says noise was left in (an identity baseline, a network that
#: does not touch camera noise) rather than that texture was invented.
LEFTOVER_NOISE = 1.25


def _flat_mask(stats_ref, flat_std: float) -> np.ndarray:
    total = stats_ref.energy["fine"] + stats_ref.energy["mid"]
    return total <= flat_std**2


def _at_most(severity: Severity | None, seen: float) -> Severity | None:
    """``severity`` capped by how visible the texture is (``seen``: amplitude / visible).

    Below the visibility floor a texture is at most info; a critical, which fails
    a CI gate, needs it at twice the floor (3 levels), visible at a glance.
    """
    if severity is None:
        return None
    cap = Severity.INFO if seen < 1 else Severity.WARNING if seen < 2 else Severity.CRITICAL
    return min(severity, cap, key=lambda s: Severity(s).rank)


def detect_texture_hallucination(
    reference: np.ndarray,
    candidate: np.ndarray,
    *,
    noisy: np.ndarray | None = None,
    tile: int = 32,
    flat_std: float = 0.01,
    visible: float = 0.006,
    info: float = 1.0,
    warning: float = 1.6,
    critical: float = 3.0,
    max_findings: int = 10,
) -> Detection:
    """Find structure in the candidate where the reference is blank.

    In each flat tile of the reference and each band, the candidate's band-pass
    energy that the reference's band does not explain (the residual of a
    least-squares fit on it, :meth:`Analysis.unexplained`) is compared with the
    same for the noisy shot: its noise, what a denoiser could at most have left
    behind. A denoiser that only removes noise stays below 1; a ratio above 1
    is structure that neither the scene nor the input noise explains:
    invented texture, or noise amplified into a pattern. Whether it is seen is
    a separate test (``visible``): a warning needs the excess above the
    visibility floor, a critical twice that.

    Parameters
    ----------
    reference, candidate : ndarray of shape (H, W, 3)
        float sRGB images in [0, 1], reference first.
    noisy : ndarray of shape (H, W, 3), optional
        The noisy shot the candidate was made from. Without it the allowance is
        ``visible`` alone.
    tile : int, optional
        Tile side in pixels.
    flat_std : float, optional
        A tile is blank when the reference's fine + mid band-pass amplitude
        (RMS, in [0, 1] units) is at most this. 0.01 is 2.5 8-bit levels: above
        the noise of a low-ISO reference, below any visible texture.
    visible : float, optional
        Least excess amplitude (RMS over both bands, in [0, 1] units) of a
        texture that can be a warning or a critical; fainter ones are at most
        info, however they compare with the noise. 0.006 is 1.5 8-bit levels,
        1.7 % luminance contrast on paper at level 200 and 2.6 % on mid-grey: two to
        three times the contrast threshold of a fine texture, so a texture at
        this level is seen at 100 %. Without ``noisy`` it is also the allowance.
    info, warning, critical : float, optional
        Thresholds on the amplitude ratio (excess RMS / allowed noise RMS).
        scikit-image's non-local means stays at or below 1.0 on simulated ISO
        800-12800 shots and the PolyU real pairs; OpenCV's reaches 1.15 on
        PolyU and 1.37 on a simulated ISO 3200 shot with a low ``h``. 1.6
        leaves room for the estimation error of a 32x32 tile; 3.0 is texture
        clearly visible at a glance. Measured on the PolyU real pairs (13 crops,
        12 whole frames): the noisy shot itself 1.0, OpenCV NLM up to 1.44 on
        crops (up to 2.2 on frames, only where the excess is below
        ``visible``); the input's noise amplified 2x on the flattest area
        1.9-2.3.
    max_findings : int, optional
        At most this many regions are reported.

    Returns
    -------
    Detection
        ``score``: the largest tile ratio over flat tiles (0 if none);
        ``map``: the tile ratio (0 outside flat tiles).
    """
    validate_images(reference, candidate, noisy)
    check_positive(tile=tile, flat_std=flat_std, visible=visible)
    an = analysis(reference, candidate, noisy, tile)
    ref, cand = an.stats("reference"), an.stats("candidate")
    flat = _flat_mask(ref, flat_std)

    # Two questions, kept apart: does the input's noise explain the excess (the
    # ratio), and could anyone see it (``visible``)? Folding the second into
    # the first's denominator hid texture that is plain on a clean low-ISO shot,
    # whose own noise is far below the visibility floor.
    # The least allowance keeps the ratio finite where the noisy shot holds almost
    # no noise: a quarter of the floor, 0.4 levels, about 8-bit rounding's own.
    least = (visible / 4) ** 2 if noisy is not None else visible**2
    ratios, excess_total = {}, np.zeros_like(ref.energy["fine"])
    for band in BANDS:
        # What the reference does not explain, not a difference of energies: on
        # a faint gradient the latter's cross term with the scene is as large as
        # the noise, and made OpenCV NLM's output look 3x noisier than its input
        # on whole PolyU frames.
        excess = an.unexplained("candidate", band)
        excess_total += excess
        allowed = an.unexplained("noisy", band) if noisy is not None else np.zeros_like(excess)
        ratios[band] = np.sqrt(safe_ratio(excess, np.maximum(allowed, least)))
    score_map = np.where(flat, np.maximum(ratios["fine"], ratios["mid"]), 0.0)
    worse_band = np.where(ratios["mid"] >= ratios["fine"], "mid", "fine")
    excess_amplitude = np.sqrt(excess_total)

    items = []
    basis = "the noise of the noisy shot" if noisy is not None else "the visibility floor"
    for region in regions(score_map >= info, tile, an.shape):
        value = float(score_map[region.tiles].max())
        seen = float(excess_amplitude[region.tiles].max()) / visible
        severity = visible_severity(
            _at_most(severity_of(value, info, warning, critical), seen), region
        )
        band = worse_band[region.tiles][np.argmax(score_map[region.tiles])]
        amplitude = float(np.sqrt(cand.energy[band][region.tiles].mean()))
        measured = f"band-pass amplitude {amplitude * 255:.1f}/255, {value:.1f}x {basis}"
        if noisy is not None and value <= LEFTOVER_NOISE:
            message = (
                f"the blank area at {fmt_bbox(region.bbox)} keeps {_BAND_WORDS[band]} texture "
                f"not in the reference, about as strong as the noise the noisy shot had there "
                f"({measured}): noise left in rather than texture invented"
            )
        else:
            message = (
                f"the blank area at {fmt_bbox(region.bbox)} gained {_BAND_WORDS[band]} texture "
                f"not in the reference ({measured})"
            )
        items.append(
            (value, Finding("texture_hallucination", severity, value, region.bbox, message))
        )
    return Detection(
        "texture_hallucination",
        float(score_map.max()) if flat.any() else 0.0,
        an.upsample(score_map),
        sort_and_cap(items, max_findings),
        {"flat_fraction": float(flat.mean()), "warning": warning, "critical": critical},
    )


def detect_oversharpening(
    reference: np.ndarray,
    candidate: np.ndarray,
    *,
    noisy: np.ndarray | None = None,
    tile: int = 32,
    flat_std: float = 0.01,
    info: float = 1.2,
    warning: float = 1.5,
    critical: float = 2.0,
    halo_window: int = 5,
    max_findings: int = 10,
) -> Detection:
    """Find busy detail (grilles, foliage, text) with more high-frequency energy than the scene.

    In each busy tile and band, the candidate's band-pass amplitude is divided
    by the larger of the reference's and the noisy shot's: an honest denoiser
    outputs at most what its input had (signal plus noise), and at most what
    the scene had once the noise is gone. A ratio above 1 is sharpening; when
    the candidate also exceeds the noisy shot the input's noise was amplified.

    Parameters
    ----------
    reference, candidate, noisy : ndarray of shape (H, W, 3)
        float sRGB images in [0, 1]; ``noisy`` is optional.
    tile, flat_std : optional
        As for :func:`detect_texture_hallucination`; busy tiles are the others.
    info, warning, critical : float, optional
        Thresholds on the amplitude ratio. 1.5 (50 % more fine contrast than
        both the scene and the input) is sharpening a photographer notices at
        100 %; 2.0 doubles it, the crunchy look of an aggressive "detail
        enhance". Non-local means stays at or below 1.0 (scikit-image) and 1.36
        (OpenCV's colour version with a low ``h``, which turns some chroma noise
        into luma noise) on simulated ISO 800-12800 shots and at most 1.12 on
        the PolyU real pairs.
    halo_window : int, optional
        Side (pixels) of the window whose reference extremes define overshoot
        (halos): candidate values beyond the reference's local max/min.
    max_findings : int, optional
        At most this many regions are reported.

    Returns
    -------
    Detection
        ``score``: the largest tile ratio over busy tiles; ``map``: tile ratios.
    """
    validate_images(reference, candidate, noisy)
    check_positive(tile=tile, flat_std=flat_std, halo_window=halo_window)
    an = analysis(reference, candidate, noisy, tile)
    ref, cand = an.stats("reference"), an.stats("candidate")
    noise = an.stats("noisy") if noisy is not None else None
    busy = ~_flat_mask(ref, flat_std)

    ratios = {}
    for band in BANDS:
        basis = ref.energy[band]
        if noise is not None:
            basis = np.maximum(basis, noise.energy[band])
        # Bands almost empty in the reference (a smooth gradient's fine band)
        # say nothing about sharpening; flat_std / 4 keeps them out.
        ratios[band] = np.sqrt(
            safe_ratio(cand.energy[band], np.maximum(basis, (flat_std / 4) ** 2))
        )
    score_map = np.where(busy, np.maximum(ratios["fine"], ratios["mid"]), 0.0)

    items = []
    for region in regions(score_map >= info, tile, an.shape):
        value = float(score_map[region.tiles].max())
        severity = visible_severity(severity_of(value, info, warning, critical), region)
        halo = _overshoot(an, region.bbox, halo_window)
        amplified = ""
        if noise is not None:
            above_noisy = np.sqrt(
                safe_ratio(cand.energy["fine"][region.tiles], noise.energy["fine"][region.tiles])
            ).max()
            if above_noisy > 1.1:
                amplified = f", and its noise amplified ({above_noisy:.1f}x the noisy shot's)"
        message = (
            f"the detail at {fmt_bbox(region.bbox)} was sharpened: fine contrast "
            f"{value:.1f}x the reference's{amplified}; edges overshoot the reference's "
            f"local extremes by up to {halo * 255:.0f}/255 (halos)"
        )
        items.append((value, Finding("oversharpening", severity, value, region.bbox, message)))
    return Detection(
        "oversharpening",
        float(score_map.max()) if busy.any() else 0.0,
        an.upsample(score_map),
        sort_and_cap(items, max_findings),
        {"busy_fraction": float(busy.mean()), "warning": warning, "critical": critical},
    )


def _overshoot(an, bbox, window: int) -> float:
    """99th percentile of how far the candidate leaves the reference's local range."""
    import cv2

    x, y, w, h = bbox
    ref = an.luma("reference", slice(y, y + h))[:, x : x + w]
    cand = an.luma("candidate", slice(y, y + h))[:, x : x + w]
    kernel = np.ones((window, window), np.uint8)
    above = cand - cv2.dilate(ref, kernel)
    below = cv2.erode(ref, kernel) - cand
    return float(np.percentile(np.maximum(np.maximum(above, below), 0.0), 99))


def detect_detail_loss(
    reference: np.ndarray,
    candidate: np.ndarray,
    *,
    noisy: np.ndarray | None = None,
    tile: int = 32,
    texture_std: float = 0.02,
    info: float = 0.35,
    warning: float = 0.65,
    critical: float = 0.85,
    max_findings: int = 10,
) -> Detection:
    """Find texture of the reference that the candidate flattened (the "plastic sky").

    Per textured tile, the texture retention is the candidate's band-pass
    (fine + mid) projected on the reference's: ``sum(c * r) / sum(r * r)``,
    1 when kept, 0 when gone. Because only the part of the candidate that
    matches the reference counts, leftover noise cannot hide a loss; this is
    the cross-spectral idea of the dead-leaves texture MTF (ISO 19567-2, CPIQ)
    applied to natural regions. With the noisy shot, retention is compared with
    what an ideal (Wiener) denoiser can keep at that tile's signal-to-noise
    ratio ``snr``: ``snr / (1 + snr)`` of the amplitude; texture buried in noise
    is not expected to survive.

    Parameters
    ----------
    reference, candidate, noisy : ndarray of shape (H, W, 3)
        float sRGB images in [0, 1]; ``noisy`` is optional.
    tile : int, optional
        Tile side in pixels.
    texture_std : float, optional
        Only tiles whose reference band-pass amplitude (RMS) is at least this
        count as texture. 0.02 (5 levels of 255) is texture a viewer sees at 100 %.
    info, warning, critical : float, optional
        Thresholds on the loss ``1 - retention / expected`` (0 = kept as well as
        a Wiener filter, 1 = gone). Non-local means (scikit-image and OpenCV) on
        simulated ISO 800-12800 shots and on the PolyU real pairs loses at most
        0.61 in a region (OpenCV's, ISO 12800, cat fur); a Gaussian blur of
        2 px loses about 0.9. 0.65 sits between them.
    max_findings : int, optional
        At most this many regions are reported.

    Returns
    -------
    Detection
        ``score``: the area-weighted mean loss over textured tiles; ``map``:
        the tile loss (0 outside textured tiles).
    """
    validate_images(reference, candidate, noisy)
    check_positive(tile=tile, texture_std=texture_std)
    an = analysis(reference, candidate, noisy, tile)
    ref = an.stats("reference")
    ref_energy = ref.energy["fine"] + ref.energy["mid"]
    textured = ref_energy >= texture_std**2
    kept = sum(an.cross(band) for band in BANDS)
    retention = np.clip(safe_ratio(kept, ref_energy), 0.0, None)
    if noisy is not None:
        # Wiener's amplitude gain snr / (1 + snr), per band, weighted by how much
        # of the reference's texture lies in that band: noise is mostly fine,
        # texture mostly mid, so one ratio for both would expect too much.
        noise = an.stats("noisy")
        reachable = np.zeros_like(ref_energy)
        for band in BANDS:
            signal = ref.energy[band]
            snr = safe_ratio(signal, np.maximum(noise.energy[band] - signal, 0.0))
            reachable += signal * snr / (1.0 + snr)
        expected = safe_ratio(reachable, ref_energy)
    else:
        expected = np.ones_like(retention)
    loss = np.where(textured, 1.0 - np.minimum(1.0, safe_ratio(retention, expected)), 0.0)

    items = []
    for region in regions(loss >= info, tile, an.shape):
        value = float(np.median(loss[region.tiles]))
        severity = visible_severity(severity_of(value, info, warning, critical), region)
        if severity is None:
            continue
        kept = float(np.median(retention[region.tiles]))
        message = (
            f"the texture at {fmt_bbox(region.bbox)} was flattened: {kept:.0%} of the "
            f"reference's fine detail amplitude is left"
        )
        if noisy is not None:
            message += (
                f" where a good denoiser keeps {float(np.median(expected[region.tiles])):.0%}"
            )
        items.append((value, Finding("detail_loss", severity, value, region.bbox, message)))
    return Detection(
        "detail_loss",
        float(loss[textured].mean()) if textured.any() else 0.0,
        an.upsample(loss),
        sort_and_cap(items, max_findings),
        {"textured_fraction": float(textured.mean()), "warning": warning, "critical": critical},
    )


def detect_residual_noise(
    reference: np.ndarray,
    candidate: np.ndarray,
    *,
    noisy: np.ndarray | None = None,
    tile: int = 32,
    flat_std: float = 0.01,
) -> Detection:
    """Measure the noise left in flat areas, compared with the noisy input (always info).

    In flat tiles of the reference, the candidate's band-pass amplitude above
    the reference's is the residual noise; the noisy shot's is the input noise.
    Their ratio (the median over flat tiles) says how strong the denoising was:
    0 = all noise gone, 1 = none removed.

    Parameters
    ----------
    reference, candidate, noisy : ndarray of shape (H, W, 3)
        float sRGB images in [0, 1]; ``noisy`` is optional.
    tile, flat_std : optional
        As for :func:`detect_texture_hallucination`.

    Returns
    -------
    Detection
        ``score``: the residual fraction with ``noisy`` (else the residual RMS in
        [0, 1] units); ``map``: residual RMS per flat tile; one ``info`` finding.
    """
    validate_images(reference, candidate, noisy)
    check_positive(tile=tile, flat_std=flat_std)
    an = analysis(reference, candidate, noisy, tile)
    ref, cand = an.stats("reference"), an.stats("candidate")
    flat = _flat_mask(ref, flat_std)
    ref_energy = ref.energy["fine"] + ref.energy["mid"]
    residual = np.sqrt(np.maximum(cand.energy["fine"] + cand.energy["mid"] - ref_energy, 0.0))
    residual_map = np.where(flat, residual, 0.0)
    if not flat.any():
        return Detection("residual_noise", 0.0, an.upsample(residual_map), (), {})
    left = float(np.median(residual[flat]))
    measures = {"residual_rms": left, "flat_fraction": float(flat.mean())}
    if noisy is not None:
        noise = an.stats("noisy")
        noise_rms = np.sqrt(np.maximum(noise.energy["fine"] + noise.energy["mid"] - ref_energy, 0))
        before = float(np.median(noise_rms[flat]))
        score = left / before if before > 0 else 0.0
        measures["noisy_rms"] = before
        message = (
            f"flat areas keep {score:.0%} of the noisy shot's noise amplitude "
            f"({left * 255:.1f}/255 vs {before * 255:.1f}/255)"
        )
    else:
        score = left
        message = f"flat areas keep noise of {left * 255:.1f}/255 RMS"
    finding = Finding("residual_noise", Severity.INFO, score, None, message)
    return Detection("residual_noise", score, an.upsample(residual_map), (finding,), measures)
