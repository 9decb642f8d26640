"""Before/after mode: judge a denoiser's output when no reference shot exists.

Most people who try a denoiser have two files, the noisy original and the
tool's output. :func:`inspect` answers what can be answered from those alone,
and says so in every finding: the noisy shot is evidence, never a clean
reference. What cannot be judged without a reference (PSNR, SSIM, whether
faint detail was real) is not reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .detectors import (
    Detection,
    collect_findings,
    detect_color_shift,
    detect_highlight_clipping,
    detect_shadow_clipping,
    detect_tone_shift,
)
from .detectors._base import clear_cache, regions
from .detectors._blind import (
    NO_REFERENCE,
    detect_detail_loss_blind,
    detect_oversharpening_blind,
    detect_texture_hallucination_blind,
)
from .findings import Finding, Severity, boxes_overlap
from .io import check_same_size
from .noise import analyze_residual, estimate_noise_profile
from .scoring import ImageLike, ScoreResult, decode_while_loading, display_map

if TYPE_CHECKING:
    from .ocr import OcrEngine

#: Standard deviation, in pixels, of the blur that turns both images into
#: comparable estimates of the scene's tones: it averages away the noise of the
#: noisy shot (and the equal blur of the output keeps the comparison fair).
TONE_BLUR_SIGMA = 2.0
#: Structure correlation of the whole removed part above which removed detail is
#: a warning rather than information: a Gaussian blur of 1.5 px
#: measures 0.45-0.65, honest non-local means 0.03-0.25 on the sample scenes.
DETAIL_WARNING = 0.4

#: Least OCR confidence of the noisy shot's reading of a line for it to stand in
#: for what the line says. The bar of a reference reading (0.5) would do now that
#: a changed reading needs evidence (re-read enlarged and by a second engine, and
#: a change of the glyph pixels beyond the noise, :func:`evalkit.ocr.check_text`);
#: 0.8 keeps a margin for the noise in the shot. At 0.95, lines of real PolyU
#: text read at 0.84-0.86 were unverifiable, and letters redrawn on them went
#: uncaught.
NOISY_READING_CONFIDENCE = 0.8


def inspect(
    noisy: ImageLike,
    candidate: ImageLike,
    *,
    text: bool = True,
    engine: str = "easyocr",
    settings: Mapping[str, Mapping[str, Any]] | None = None,
) -> ScoreResult:
    """Judge a denoiser's output against its noisy input alone.

    Parameters
    ----------
    noisy : ndarray of shape (H, W, 3) or path
        The noisy original (float in [0, 1] if an array).
    candidate : ndarray of shape (H, W, 3) or path
        The denoiser's output.
    text : bool, optional
        Read text found on the noisy shot in both images (OCR).
    engine : str, optional
        OCR engine registry name.
    settings : mapping, optional
        Detector name → thresholds, as for :func:`evalkit.score`.

    Returns
    -------
    ScoreResult
        With the keys of :func:`evalkit.score`: ``metrics`` holds what can be
        measured without a reference (the noisy shot's noise level, the share of
        it removed, and how much image structure went with it); ``findings``
        each say they were judged without a reference; ``text`` has one entry per
        line of text found on the noisy shot; ``alignment`` is ``None``; and
        ``noise`` describes the noisy shot's noise and what was removed.

    Notes
    -----
    - Texture and sharpening: :func:`~evalkit.detectors._blind.detect_texture_hallucination_blind`
      and :func:`~evalkit.detectors._blind.detect_oversharpening_blind`, noise-aware.
    - Tone, colour and clipping: the regular detectors, with the noisy shot
      blurred by :data:`TONE_BLUR_SIGMA` px standing in for the scene's tones
      (the output is blurred the same way for tone and colour).
    - Detail: texture standing out of the noise that the output smoothed flat
      (:func:`~evalkit.detectors._blind.detect_detail_loss_blind`), and edges
      removed with the noise (:func:`evalkit.noise.analyze_residual`), both
      reported as ``detail_loss``.
    - Text: read on the noisy shot; a confident reading that the output turns
      into other text is a ``text_hallucination``; where the noisy shot cannot be
      read, the output's reading is marked unverifiable, never taken as truth.
    """
    from .ocr import get_engine

    ocr = get_engine(engine) if text else None  # an unknown name fails before any work
    decoded = decode_while_loading({"noisy": noisy, "candidate": candidate}, ocr)
    noisy_image, noisy_name = decoded["noisy"]
    candidate_image, candidate_name = decoded["candidate"]
    check_same_size(noisy_image, candidate_image, names=(noisy_name, candidate_name))
    detections = _detections(noisy_image, candidate_image, settings or {})
    profile = estimate_noise_profile(noisy_image)
    residual = analyze_residual(noisy_image, candidate_image, profile=profile)
    findings = collect_findings(detections)
    findings += _detail_removed(residual, noisy_image.shape[:2], findings)

    entries: list[dict[str, Any]] = []
    text_metrics: dict[str, float | None] = {}
    if text:
        entries, text_findings, text_metrics = _check_text_blind(noisy_image, candidate_image, ocr)
        findings += text_findings
    findings = sorted(
        (_without_reference(f) for f in findings), key=lambda f: -Severity(f.severity).rank
    )
    metrics = {
        "noise_sigma": float(np.mean(residual.noise_sigma)),
        "removed_sigma": float(np.mean(residual.removed_sigma)),
        "removed_fraction": residual.removed_fraction,
        "removed_structure": residual.structure_correlation,
        **text_metrics,
    }
    # Painted last: a full-frame plane per map (80 MB each at 20 MP) is not
    # held while the text is read.
    maps = {d.detector: display_map(d.map) for d in detections if d.heat is not None}
    # Both kinds of detail loss, in [0, 1]: texture flattened, edges taken with the noise.
    maps["detail_loss"] = np.maximum(maps["detail_loss"], display_map(residual.detail_map))
    return ScoreResult(
        metrics=metrics,
        findings=findings,
        text=entries,
        alignment=None,
        maps=maps,
        noise={"profile": profile.to_dict(), "removed": residual.to_dict()},
        mode="no reference",
    )


def _detections(
    noisy_image: np.ndarray, candidate_image: np.ndarray, settings: Mapping[str, Any]
) -> list[Detection]:
    """The blind detectors and, on both images blurred by :data:`TONE_BLUR_SIGMA`,
    the tone, colour and clipping ones; the blurred copies are dropped on return."""
    import cv2

    def blurred(image):
        return cv2.GaussianBlur(image, (0, 0), TONE_BLUR_SIGMA)

    noisy_tones, candidate_tones = blurred(noisy_image), blurred(candidate_image)
    detections = [
        detect_texture_hallucination_blind(
            noisy_image, candidate_image, **settings.get("texture_hallucination", {})
        ),
        detect_oversharpening_blind(
            noisy_image, candidate_image, **settings.get("oversharpening", {})
        ),
        detect_detail_loss_blind(noisy_image, candidate_image, **settings.get("detail_loss", {})),
        detect_highlight_clipping(
            noisy_tones, candidate_image, **settings.get("highlight_clipping", {})
        ),
        detect_shadow_clipping(noisy_tones, candidate_image, **settings.get("shadow_clipping", {})),
        detect_tone_shift(noisy_tones, candidate_tones, **settings.get("tone_shift", {})),
        detect_color_shift(noisy_tones, candidate_tones, **settings.get("color_shift", {})),
    ]
    clear_cache()
    return detections


def _detail_removed(residual, shape: tuple[int, int], found: list[Finding]) -> list[Finding]:
    """``detail_loss`` findings where the removed part lines up with image structure.

    A region already in ``found`` as flattened texture (a warning or critical)
    is not reported twice.
    """
    flattened = [
        f.bbox
        for f in found
        if f.detector == "detail_loss" and f.bbox and f.severity != Severity.INFO
    ]
    # Any denoiser takes a little detail with the noise somewhere; a warning needs
    # the removed part as a whole to follow the image, as a blur's does.
    overall = residual.structure_correlation
    severity = Severity.WARNING if overall >= DETAIL_WARNING else Severity.INFO
    # The residual analysis drops the ragged last row and column of tiles; the
    # region grouping counts them, so pad them in as "no detail removed".
    rows, cols = (-(-size // residual.tile) for size in shape)
    pad = ((0, rows - residual.detail_tiles.shape[0]), (0, cols - residual.detail_tiles.shape[1]))
    detail_tiles = np.pad(residual.detail_tiles, pad)
    correlation = np.pad(residual.tile_correlation, pad)
    findings = []
    for region in regions(detail_tiles, residual.tile, shape):
        if region.area_fraction < 0.01 or any(boxes_overlap(region.bbox, b) for b in flattened):
            continue
        rho = float(correlation[region.tiles].mean())
        findings.append(
            Finding(
                "detail_loss",
                severity,
                rho,
                region.bbox,
                f"what was removed at ({', '.join(map(str, region.bbox))}) follows the image's "
                f"edges and texture, not just noise (structure correlation {rho:.2f}): "
                "detail was removed with the noise",
            )
        )
    return sorted(findings, key=lambda f: -f.score)[:5]


def _check_text_blind(noisy: np.ndarray, candidate: np.ndarray, engine: OcrEngine):
    """Text lines found and read on the noisy shot, compared with the output's readings.

    The noisy shot takes the reference's place in :func:`evalkit.ocr.check_text`;
    a line it cannot read with confidence is marked ``unverifiable``: the output's
    reading of it is reported, never judged.
    """
    from .ocr import DEFAULT_THRESHOLDS, check_text

    thresholds = replace(DEFAULT_THRESHOLDS, reference_confidence=NOISY_READING_CONFIDENCE)
    check = check_text(noisy, candidate, engine=engine, thresholds=thresholds)
    entries = [
        {
            **entry,
            "noisy_text": entry.get("reference_text"),
            "verdict": "unverifiable" if entry.get("verdict") == "unjudged" else entry["verdict"],
        }
        for entry in check.entries
    ]
    findings = [
        replace(f, message=f.message.replace("reference reads", "the noisy shot reads"))
        for f in check.findings
    ]
    return entries, findings, dict(check.metrics)


def _without_reference(finding: Finding) -> Finding:
    """Say in the message that the noisy shot, not a reference, was the evidence."""
    if NO_REFERENCE in finding.message:
        return finding
    message = finding.message.replace("the reference", "the noisy shot")
    return replace(finding, message=f"{message} ({NO_REFERENCE})")


__all__ = ["inspect"]
