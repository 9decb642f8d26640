"""Diagnose a user's own reference pair before its scores are trusted."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..findings import Finding, Severity
from ._align import Alignment, align_reference, warp_reference
from ._exposure import fit_exposure
from ._register import luma

VERDICTS = ("ok", "warn", "bad")

# Thresholds, each with the reason for its value. Misalignment in px:
_RESIDUAL_WARN = 0.2  # ~0.3 dB of PSNR on sharp 20 MP detail; visible in detectors' maps
_RESIDUAL_BAD = 0.5  # edges disagree by half a pixel: per-pixel metrics are meaningless
_SHIFT_NOTE = 0.25  # smaller shifts are within the estimate's noise on real pairs
_SHIFT_WARN_FRACTION = 0.01  # a shift of 1 % of the diagonal means the tripod moved
# Brightness: gain and offset in [0, 1] units.
_GAIN_WARN = 0.03  # 3 % is about 1/20 stop: more than shutter-speed tolerance
_GAIN_BAD = 0.5  # half or double the light: a different exposure or scene
_OFFSET_WARN = 0.02
_WB_WARN = 0.03  # channel gains that differ by 3 %: white balance was not locked
# Motion: local disagreement of the 2-px-blurred difference, in robust sigmas.
_MOTION_SIGMAS = 6.0
_MOTION_MIN_LEVEL = 0.03  # never flag a difference under 3 % of full scale
_MOTION_WARN = 0.005  # share of the frame: a few small spots are JPEG or noise
_MOTION_BAD = 0.02
# Clipping in the reference: share of pixels with a channel at the end of the range.
_CLIP_WARN = 0.001
_CLIP_BAD = 0.05
# Noise in the reference relative to the noisy shot (ratio of noise sigmas).
# Measured on the synthetic tests: a clean reference reads 0, one half as noisy as
# the noisy shot ~0.4, one as noisy ~0.8. PolyU's 500-shot means read 0-0.7 but
# with sigmas under 2/255 (JPEG residue), hence the floors.
_NOISY_REF_WARN = 0.3
_NOISY_REF_BAD = 0.6
_NOISY_REF_FLOOR = 1.5 / 255  # below 1.5 codes of 8 bits no reference is "noisy"
_NOISY_REF_BAD_FLOOR = 3.0 / 255  # and "bad" needs 3 codes


@dataclass(frozen=True, eq=False)
class PairCheck:
    """What :func:`check_pair` found.

    Attributes
    ----------
    verdict : {"ok", "warn", "bad"}
        ``"bad"`` if any finding is critical, ``"warn"`` if any is a warning,
        else ``"ok"`` (info findings are notes about what evalkit corrects).
    findings : tuple of Finding
        One per observation, most severe first; ``detector`` names the check:
        ``misalignment``, ``brightness``, ``motion``, ``clipping``,
        ``noisy_reference``.
    measurements : dict of str to float
        The numbers behind the verdict (shift, residual, gains, motion share,
        clipped shares, noise sigmas and their ratio).
    alignment : Alignment
        The registration the checks ran on.
    """

    verdict: str
    findings: tuple[Finding, ...]
    measurements: dict[str, Any] = field(default_factory=dict)
    alignment: Alignment | None = None

    def lines(self) -> list[str]:
        """One line per finding (``"warning  motion: ..."``), one per correction that
        scoring would apply or not (``"alignment shift: applied: ..."``), then the verdict."""
        out = [f"{f.severity.value:8} {f.detector}: {f.message}" for f in self.findings]
        corrections = self.alignment.corrections if self.alignment is not None else ()
        out += [f"alignment {c.name}: {c.reason}" for c in corrections]
        return [*out, f"verdict: {self.verdict}"]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``verdict``, ``findings``, ``measurements``, ``alignment``."""
        return {
            "verdict": self.verdict,
            "findings": [f.to_dict() for f in self.findings],
            "measurements": dict(self.measurements),
            "alignment": self.alignment.to_dict() if self.alignment is not None else None,
        }


def check_pair(
    reference: np.ndarray,
    noisy: np.ndarray,
    *,
    method: str = "translation",
    mode: str = "auto",
    convention: str | None = None,
) -> PairCheck:
    """Check a reference/noisy pair for the problems that make its scores wrong.

    Parameters
    ----------
    reference, noisy : ndarray of shape (H, W, 3)
        The pair, float in [0, 1], same size.
    method : {"translation", "affine", "homography"}
        Registration used before the local checks (see :func:`align_reference`).
    mode : {"auto", "always"}
        How the corrections are decided, as :func:`evalkit.score` would decide
        them; the shift and gains found are reported either way, with the
        decision (``measurements["corrections"]``).
    convention : str, optional
        Why scoring leaves this pair unaligned (a registered benchmark's
        convention, see :func:`evalkit.scoring.alignment_mode`): the corrections
        are still measured and the checks run on the registered pair, but each
        is reported as not applied, for this reason.

    Returns
    -------
    PairCheck
        A verdict and one finding per problem:

        * **misalignment**: the shift found (info: corrected or, when the data do
          not support it, left as it is), a shift over 1 % of
          the diagonal (warning: the tripod moved), or misalignment left after
          registration over 0.2 px (warning) or 0.5 px (critical).
        * **brightness**: gain off 1 by more than 3 %, offset over 0.02, or channel
          gains 3 % apart (warning: corrected, but exposure or white balance was not
          locked); gain under 0.5 or over 2 (critical). Only when the tone fit is
          shown to improve the match (:attr:`Correction.supported`): an uncertain
          gain is no evidence of a brightness difference.
        * **motion**: after alignment and tone matching, areas where the 2-px
          blurred difference exceeds 6 robust sigmas (and 0.03): over 0.5 % of the
          frame is a warning, over 2 % critical; the box of the largest area is given.
        * **clipping**: reference pixels with a channel at white (>= 254.5/255)
          over 0.1 % (warning) or 5 % (critical); at black over 5 % (info).
        * **noisy_reference**: the reference's noise sigma (its high-pass variance
          not shared with the noisy shot, see :func:`_noise_sigmas`) over 0.3
          (warning) or 0.6 (critical) of the noisy shot's, when it is at least
          1.5/255 (3/255 for critical).
    """
    if mode not in ("auto", "always"):
        raise ValueError(f"mode must be 'auto' or 'always', got {mode!r}")
    # The decisions scoring makes; the checks below look at the registered pair.
    alignment = align_reference(reference, noisy, mode=mode, method=method)
    record = alignment if convention is None else _declined(alignment, reference, convention)
    warped = _registered(alignment, reference)
    noisy_box = alignment.crop(noisy)
    # A monotone curve absorbs tone-curve differences (picture styles, auto
    # exposure), so that only what moved is left for the motion check.
    toned = fit_exposure(warped, noisy_box, model="curve").apply(warped)
    findings: list[Finding] = []
    measurements: dict[str, Any] = {
        "corrections": {c.name: c.to_dict() for c in record.corrections}
    }
    findings += _check_alignment(record, measurements)
    findings += _check_brightness(record, measurements)
    findings += _check_motion(toned, noisy_box, alignment, measurements)
    del toned
    findings += _check_clipping(reference, measurements)
    findings += _check_reference_noise(alignment, warped, noisy_box, measurements)
    findings.sort(key=lambda f: -Severity(f.severity).rank)
    ranks = [Severity(f.severity).rank for f in findings]
    verdict = VERDICTS[max(ranks, default=0)]
    return PairCheck(
        verdict=verdict, findings=tuple(findings), measurements=measurements, alignment=record
    )


def _finding(detector: str, severity: str, score: float, message: str, bbox=None) -> Finding:
    return Finding(
        detector=detector,
        severity=Severity(severity),
        score=float(score),
        bbox=bbox,
        message=message,
    )


def _check_alignment(alignment: Alignment, m: dict) -> list[Finding]:
    # The shift measured, applied or not: a shift too small to matter is still news.
    geometry = alignment.correction("shift") or alignment.correction("transform")
    estimate = geometry.estimate if geometry is not None else {}
    dx, dy = estimate.get("dx", 0.0), estimate.get("dy", 0.0)
    applied = geometry is not None and geometry.applied
    shift = float(np.hypot(dx, dy))
    width, height = alignment.size
    m.update(shift_x_px=round(dx, 3), shift_y_px=round(dy, 3), residual_px=alignment.residual_px)
    out = []
    if shift > _SHIFT_WARN_FRACTION * np.hypot(width, height):
        out.append(
            _finding(
                "misalignment",
                "warning",
                shift,
                f"the reference is shifted by ({dx:+.1f}, {dy:+.1f}) px, over 1 % of the frame: "
                "the camera moved between the shots; evalkit realigns and crops it",
            )
        )
    elif shift > _SHIFT_NOTE:
        out.append(
            _finding(
                "misalignment",
                "info",
                shift,
                f"the reference is shifted by ({dx:+.2f}, {dy:+.2f}) px; "
                + ("evalkit realigns it" if applied else f"left as it is ({geometry.reason})"),
            )
        )
    residual = alignment.residual_px
    if residual is None:
        out.append(
            _finding(
                "misalignment",
                "warning",
                0.0,
                "no textured area to measure the alignment on: it cannot be verified",
            )
        )
    elif residual > _RESIDUAL_WARN:
        severity = "critical" if residual > _RESIDUAL_BAD else "warning"
        registered = alignment.method != "none"
        after = f"after {alignment.method} registration" if registered else "with no registration"
        out.append(
            _finding(
                "misalignment",
                severity,
                residual,
                f"{residual:.2f} px of misalignment remain {after} "
                f"(up to {alignment.residual_max_px:.2f} px): rotation, lens distortion or a "
                "moved scene; try --method affine or reshoot",
            )
        )
    return out


def _check_brightness(alignment: Alignment, m: dict) -> list[Finding]:
    # The gains fitted, applied or not.
    tone = alignment.correction("exposure")
    gains, offsets = np.array(tone.estimate["gain"]), np.array(tone.estimate["offset"])
    m.update(gain=[round(float(g), 4) for g in gains], offset=[round(float(o), 4) for o in offsets])
    used = tone.estimate["fraction_used"]
    m["exposure_fraction_used"] = round(used, 4)
    mean_gain = float(gains.mean())
    spread = float(gains.max() / max(gains.min(), 1e-6) - 1)
    text = f"gain R/G/B {gains[0]:.3f}/{gains[1]:.3f}/{gains[2]:.3f}, offset {offsets.mean():+.3f}"
    out = []
    if used < 0.5:
        out.append(
            _finding(
                "brightness",
                "warning",
                used,
                f"only {used:.0%} of the pixels could be used for the exposure fit "
                "(the rest is clipped): the match is uncertain",
            )
        )
    # A difference the fit cannot show to improve the match is no difference: a
    # channel spanning a narrow range (white paper) gives an uncertain gain.
    if not tone.supported:
        return out
    corrected = "evalkit matches it" if tone.applied else f"scoring leaves it ({tone.reason})"
    if not 1 - _GAIN_BAD < mean_gain < 1 / (1 - _GAIN_BAD):
        return [
            _finding(
                "brightness",
                "critical",
                mean_gain,
                f"the reference's exposure is far from the noisy shot's ({text}): a different "
                "exposure, lighting or scene; reshoot with locked exposure",
            )
        ]
    if abs(mean_gain - 1) > _GAIN_WARN or abs(float(offsets.mean())) > _OFFSET_WARN:
        brighter = "brighter" if mean_gain * 0.5 + offsets.mean() < 0.5 else "darker"
        out.append(
            _finding(
                "brightness",
                "warning",
                mean_gain,
                f"the reference is {brighter} than the noisy shot ({text}); {corrected}, "
                "but lock exposure when shooting",
            )
        )
    if spread > _WB_WARN:
        out.append(
            _finding(
                "brightness",
                "warning",
                spread,
                f"channel gains differ by {spread:.1%} ({text}): white balance was not locked; "
                + ("evalkit matches each channel" if tone.applied else corrected),
            )
        )
    return out


def _registered(alignment: Alignment, reference: np.ndarray) -> np.ndarray:
    """The reference with the alignment's geometry but not its tone fit, on its box:
    tone-matching a noisy reference would dilute its noise (binning regresses the
    fitted gain), which the noise check measures."""
    if alignment.method == "none":
        return alignment.crop(reference)
    return warp_reference(reference, alignment.matrix, alignment.size, alignment.interpolation)[1]


def _declined(alignment: Alignment, reference: np.ndarray, reason: str) -> Alignment:
    """``alignment`` as scoring uses it under a benchmark's convention: the
    reference as given, every correction measured but not applied, for ``reason``."""
    declined = tuple(
        replace(c, applied=False, reason=f"{reason}; measured: {c.reason.split(': ', 1)[-1]}")
        for c in alignment.corrections
    )
    width, height = alignment.size
    return replace(
        alignment,
        reference=reference,
        box=(0, 0, width, height),
        method="none",
        matrix=np.eye(3),
        exposure=None,
        corrections=declined,
    )


def _check_motion(
    toned: np.ndarray, noisy: np.ndarray, alignment: Alignment, m: dict
) -> list[Finding]:
    import cv2

    difference = luma(toned) - luma(noisy)
    smooth = cv2.GaussianBlur(difference, (0, 0), 2.0)
    sigma = 1.4826 * float(np.median(np.abs(smooth - np.median(smooth))))
    level = max(_MOTION_SIGMAS * sigma, _MOTION_MIN_LEVEL)
    mask = (np.abs(smooth) > level).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    share = float(mask.mean())
    m.update(motion_fraction=round(share, 5), motion_level=round(level, 4))
    if share <= _MOTION_WARN:
        return []
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA])) if count > 1 else None
    bbox = None
    if largest is not None:
        x, y, w, h = (int(v) for v in stats[largest, :4])
        bbox = alignment.uncrop_bbox((x, y, w, h))
    severity = "critical" if share > _MOTION_BAD else "warning"
    where = f" (largest at x={bbox[0]}, y={bbox[1]}, {bbox[2]}x{bbox[3]} px)" if bbox else ""
    return [
        _finding(
            "motion",
            severity,
            share,
            f"{share:.1%} of the frame differs between the shots after alignment{where}: "
            "something moved or the light changed; those areas score the scene change, "
            "not the denoiser",
            bbox,
        )
    ]


def _check_clipping(reference: np.ndarray, m: dict) -> list[Finding]:
    white = float((reference >= 254.5 / 255).any(axis=2).mean())
    black = float((reference <= 0.5 / 255).any(axis=2).mean())
    m.update(reference_clipped_white=round(white, 5), reference_clipped_black=round(black, 5))
    out = []
    if white > _CLIP_WARN:
        severity = "critical" if white > _CLIP_BAD else "warning"
        out.append(
            _finding(
                "clipping",
                severity,
                white,
                f"{white:.1%} of the reference is clipped white: detail there is lost in the "
                "reference itself, so no denoiser can be judged on it; expose the reference "
                "shorter",
            )
        )
    if black > _CLIP_BAD:
        out.append(
            _finding(
                "clipping",
                "info",
                black,
                f"{black:.1%} of the reference is clipped black: shadow scores are unreliable",
            )
        )
    return out


def _check_reference_noise(
    alignment: Alignment, warped: np.ndarray, noisy: np.ndarray, m: dict
) -> list[Finding]:
    # The gain measured between the shots, whether scoring applies it or not.
    gain = float(np.mean(alignment.correction("exposure").estimate["gain"]))
    sigma_ref, sigma_noisy = _noise_sigmas(warped, noisy, gain)
    sigma_ref /= _warp_noise_gain(alignment)
    ratio = sigma_ref / max(sigma_noisy, 1e-6)
    m.update(
        reference_noise_sigma=round(sigma_ref, 5),
        noisy_noise_sigma=round(sigma_noisy, 5),
        noise_ratio=round(ratio, 4),
    )
    if ratio <= _NOISY_REF_WARN or sigma_ref < _NOISY_REF_FLOOR:
        return []
    bad = ratio > _NOISY_REF_BAD and sigma_ref >= _NOISY_REF_BAD_FLOOR
    severity = "critical" if bad else "warning"
    return [
        _finding(
            "noisy_reference",
            severity,
            ratio,
            f"the reference is itself noisy (noise {sigma_ref * 255:.1f}/255, {ratio:.0%} of the "
            "noisy shot's): a good denoiser will score worse than it is; shoot the reference at "
            "base ISO with a longer exposure, or average several",
        )
    ]


def _warp_noise_gain(alignment: Alignment) -> float:
    """How much the sub-pixel warp scaled the reference's high-pass noise (<= 1).

    Interpolating at a fractional position averages neighbouring pixels, which
    averages their noise away too (a 0.4 px shift with Lanczos-4 leaves about half
    of it in the high-pass band; the Fourier shift keeps it all). Measured by
    warping white noise the same way.
    """
    import cv2

    if alignment.method == "none":
        return 1.0
    field = np.random.default_rng(0).normal(0.5, 0.1, (160, 160, 3)).astype(np.float32)
    local = alignment.matrix.copy()
    local[:2, 2] -= np.floor(local[:2, 2])  # only the fractional part matters
    box, warped = warp_reference(field, local, (160, 160), alignment.interpolation)
    x, y = 16 - box[0], 16 - box[1]
    warped = warped[y : y + 128, x : x + 128]

    def band(image):
        grey = luma(image)
        return float(np.std(grey - cv2.GaussianBlur(grey, (0, 0), 2.0)))

    return max(band(warped) / band(field[16:144, 16:144]), 0.1)


def _noise_sigmas(reference: np.ndarray, noisy: np.ndarray, gain: float) -> tuple[float, float]:
    """Noise standard deviations ``(reference, noisy)`` in the noisy shot's units.

    Both registered images hold the same scene detail ``s`` plus their own noise,
    the noisy shot at ``gain`` times the reference's brightness. In the high-pass
    band (luma minus its 2-px Gaussian blur) ``cov(ref, noisy) = gain * var(s)``,
    so ``var(ref) - var(s)`` and ``var(noisy) - gain**2 * var(s)`` are the noise
    variances, whatever the texture. Residual misalignment adds a little to both.
    """
    import cv2

    def high_pass(image):
        grey = luma(image)
        return (grey - cv2.GaussianBlur(grey, (0, 0), 2.0)).astype(np.float64).ravel()

    a, b = high_pass(reference), high_pass(noisy)
    a -= a.mean()
    b -= b.mean()
    gain = max(gain, 1e-3)
    scene = float(np.dot(a, b) / a.size) / gain
    var_ref, var_noisy = float(np.dot(a, a) / a.size), float(np.dot(b, b) / b.size)
    sigma_ref = gain * np.sqrt(max(var_ref - scene, 0.0))
    sigma_noisy = np.sqrt(max(var_noisy - gain**2 * scene, 0.0))
    return float(sigma_ref), float(sigma_noisy)
