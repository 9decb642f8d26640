"""Align a reference shot to its noisy shot once, for every candidate to be scored."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..errors import AlignmentError
from ._decision import MODES, Correction, decide, weigh
from ._exposure import ExposureFit, fit_exposure
from ._register import (
    INTERPOLATIONS,
    estimate_ecc,
    estimate_translation,
    luma,
    shift_image,
    tile_shifts,
    valid_box,
    warp_into_box,
)

BBox = tuple[int, int, int, int]
METHODS = ("translation", "affine", "homography", "none")
_SNAP_PX = 0.02
# Below this many px on a side there is not enough of the frame to register
# (the correlation window and the 16-px valid box): the geometry is left alone.
_MIN_SIDE = 32


@dataclass(frozen=True, eq=False)
class Alignment:
    """The reference registered and tone-matched to the noisy shot, and how.

    Attributes
    ----------
    reference : ndarray of shape (h, w, 3), float32
        The aligned, exposure-matched reference, already cropped to ``box``;
        compare it with ``alignment.crop(candidate)``.
    box : (x, y, w, h)
        The pixels of the noisy frame where the warped reference is valid; the
        invalid border is cut from every metric.
    size : (W, H)
        Size of the noisy frame.
    method : {"translation", "affine", "homography", "none"}
        The registration applied: ``"none"`` when no geometric correction was
        (asked for, or supported by the data in ``auto`` mode).
    matrix : ndarray of shape (3, 3), float64
        Maps noisy pixel coordinates ``(x, y, 1)`` to reference coordinates
        (OpenCV's inverse-map convention); the identity for ``"none"``.
    interpolation : {"fourier", "linear", "cubic", "lanczos"}
    exposure : ExposureFit or None
        The tone fit applied after warping; ``None`` when none was applied.
    residual_px : float or None
        Root-mean-square of the shifts still measured, after alignment, on a 3x3
        grid of textured tiles (px); ``None`` when fewer than 3 tiles had texture
        in two directions.
    residual_max_px : float or None
        The largest of those shifts (px).
    mode : {"auto", "always", "never"}
        How corrections were decided (see :data:`evalkit.align.MODES`).
    corrections : tuple of Correction
        Every correction considered, applied or not, with its estimate,
        uncertainty and the evidence for it.
    """

    reference: np.ndarray
    box: BBox
    size: tuple[int, int]
    method: str
    matrix: np.ndarray
    interpolation: str
    exposure: ExposureFit | None
    residual_px: float | None
    residual_max_px: float | None
    mode: str = "always"
    corrections: tuple[Correction, ...] = ()

    @property
    def is_identity(self) -> bool:
        """True when the reference is exactly as given: no warp, crop or tone fit."""
        return self.method == "none" and self.exposure is None

    def correction(self, name: str) -> Correction | None:
        """The record of correction ``name`` (``"shift"``, ``"transform"``,
        ``"exposure"``), or ``None`` if it was not considered."""
        return next((c for c in self.corrections if c.name == name), None)

    @property
    def shift(self) -> tuple[float, float]:
        """``(dx, dy)`` in px: where the noisy frame's centre lies in the reference,
        minus the centre itself (the pure translation for ``"translation"``)."""
        return _centre_shift(self.matrix, self.size)

    @property
    def gain(self) -> tuple[float, float, float]:
        """Per-channel gain of the tone fit (1.0 each without one)."""
        return self.exposure.gain if self.exposure is not None else (1.0, 1.0, 1.0)

    @property
    def offset(self) -> tuple[float, float, float]:
        """Per-channel offset of the tone fit, in [0, 1] units (0.0 without one)."""
        return self.exposure.offset if self.exposure is not None else (0.0, 0.0, 0.0)

    def crop(self, image: np.ndarray) -> np.ndarray:
        """Cut ``box`` out of a full-frame image (noisy shot, candidate, mask); a view.

        Raises
        ------
        ValueError
            If the image is not the size of the noisy frame.
        """
        if tuple(image.shape[:2]) != (self.size[1], self.size[0]):
            raise ValueError(
                f"image is {image.shape[1]}x{image.shape[0]}, expected the noisy frame's "
                f"{self.size[0]}x{self.size[1]}"
            )
        x, y, w, h = self.box
        return image[y : y + h, x : x + w]

    def crop_bbox(self, bbox: BBox) -> BBox | None:
        """A box in full-frame pixels, in the cropped frame (clipped; ``None`` if outside)."""
        x, y, w, h = bbox
        bx, by, bw, bh = self.box
        x0, y0 = max(x - bx, 0), max(y - by, 0)
        x1, y1 = min(x + w - bx, bw), min(y + h - by, bh)
        if x1 <= x0 or y1 <= y0:
            return None
        return x0, y0, x1 - x0, y1 - y0

    def uncrop_bbox(self, bbox: BBox) -> BBox:
        """A box in cropped-frame pixels, back in full-frame pixels."""
        return bbox[0] + self.box[0], bbox[1] + self.box[1], bbox[2], bbox[3]

    def to_dict(self) -> dict[str, Any]:
        """The JSON ``alignment`` object.

        Keys: ``method``, ``interpolation``, ``shift_px`` ``[dx, dy]``,
        ``rotation_deg``, ``scale``, ``matrix`` (3x3, noisy -> reference
        coordinates), ``crop`` ``[x, y, w, h]``, ``cropped_border_px``
        (``left, top, right, bottom``), ``size`` ``[W, H]``, ``exposure``
        (:meth:`ExposureFit.to_dict` or ``None``), ``residual_px``,
        ``residual_max_px``, ``mode``, ``identity`` and ``corrections`` (a list
        of :meth:`Correction.to_dict`: each correction considered, ``applied`` or
        not, with its estimate, uncertainty, ``gain_db``, ``p``, ``tiles`` and reason).
        """
        x, y, w, h = self.box
        width, height = self.size
        rotation, scale = _rotation_scale(self.matrix)
        return {
            "method": self.method,
            "interpolation": self.interpolation,
            "shift_px": [round(v, 4) for v in self.shift],
            "rotation_deg": round(rotation, 5),
            "scale": round(scale, 6),
            "matrix": np.round(self.matrix, 8).tolist(),
            "crop": [x, y, w, h],
            "cropped_border_px": {
                "left": x,
                "top": y,
                "right": width - x - w,
                "bottom": height - y - h,
            },
            "size": [width, height],
            "exposure": self.exposure.to_dict() if self.exposure is not None else None,
            "residual_px": _round(self.residual_px),
            "residual_max_px": _round(self.residual_max_px),
            "mode": self.mode,
            "identity": self.is_identity,
            "corrections": [c.to_dict() for c in self.corrections],
        }


def align_reference(
    reference: np.ndarray,
    noisy: np.ndarray,
    *,
    mode: str = "auto",
    method: str = "translation",
    match_exposure: str | None = "linear",
    interpolation: str | None = None,
    reason: str | None = None,
) -> Alignment:
    """Register the reference to the noisy shot and match its exposure, once.

    Parameters
    ----------
    reference : ndarray of shape (H, W, 3)
        Long-exposure reference, float in [0, 1].
    noisy : ndarray of shape (H, W, 3)
        The noisy shot, same size. Every candidate made from it is scored against
        the aligned reference (denoisers do not move pixels).
    mode : {"auto", "always", "never"}
        ``"auto"`` (default): each correction (the registration, then the tone fit)
        is estimated and applied only when the data support it: when it lowers
        the reference's squared difference to the noisy shot on the frame's tiles
        beyond chance (a one-sided signed-rank test at p < 3.2e-5) and by at
        least 0.01 dB (see :mod:`evalkit.align._decision`); frames under 32 px
        are not registered. On a registered, equally exposed pair the
        reference is returned exactly as given. ``"always"``: every estimate is
        applied. ``"never"``: nothing is estimated or applied.
    method : {"translation", "affine", "homography", "none"}
        ``"translation"`` (default): sub-pixel shift by cross-correlation of
        band-passed luma. ``"affine"``/``"homography"``: OpenCV ECC started from
        that shift, for a rotated or tilted tripod. ``"none"``: no warp.
    match_exposure : {"linear", "curve"} or None
        Tone fit of the registered reference to the **noisy** shot (see
        :func:`fit_exposure`); ``None`` leaves values as they are.
    interpolation : {"fourier", "lanczos", "cubic", "linear"}, optional
        Resampling of a sub-pixel warp. Default: ``"fourier"`` for a translation
        (an exact, all-pass shift that keeps the reference's fine detail, see
        :func:`~evalkit.align._register.shift_image`), ``"lanczos"`` (OpenCV's
        Lanczos-4) for ECC warps, which the Fourier shift cannot do. On a
        band-limited scene shifted by 0.3-1.4 px the RMS error against the exact
        shift is 1e-4 (Fourier) and 3.3e-3 (Lanczos).
    reason : str, optional
        With ``mode="never"``: why, for the record (e.g. a benchmark's convention).

    Returns
    -------
    Alignment
        Cropped aligned reference, crop box, transform, tone fit, residual, and
        the record of every correction considered.

    Raises
    ------
    ValueError, TypeError
        Unusable arrays or unknown option names.
    AlignmentError
        ECC did not converge, or the transform leaves no valid pixels.

    Notes
    -----
    Registration and residual use Rec. 709 luma, so a brightness or white-balance
    difference does not disturb them. The registration is judged with the tone
    fit applied to both versions; the tone fit is then fitted and judged on the
    registered (or not) reference, inside the valid box.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> noisy = rng.random((64, 64, 3), dtype=np.float32)
    >>> alignment = align_reference(noisy, noisy)
    >>> alignment.is_identity, alignment.box
    (True, (0, 0, 64, 64))
    """
    _validate(reference, noisy)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if interpolation is None:
        interpolation = "fourier" if method in ("translation", "none") else "lanczos"
    if interpolation not in INTERPOLATIONS:
        raise ValueError(
            f"interpolation must be one of {tuple(INTERPOLATIONS)}, got {interpolation!r}"
        )
    if interpolation == "fourier" and method in ("affine", "homography"):
        raise ValueError(f"interpolation 'fourier' shifts only; use 'lanczos' for {method}")
    if match_exposure not in (None, "linear", "curve"):
        raise ValueError(
            f"match_exposure must be 'linear', 'curve' or None, got {match_exposure!r}"
        )
    height, width = noisy.shape[:2]
    reference = np.asarray(reference, np.float32)
    geometry = "shift" if method in ("translation", "none") else "transform"
    if mode == "never":
        why = reason or "not applied: alignment switched off (align never)"
        names = (geometry, "exposure") if match_exposure else (geometry,)
        return _unaligned(reference, (width, height), interpolation, mode, names, why)

    corrections: list[Correction] = []
    box, matrix, warped, fit = (0, 0, width, height), np.eye(3), reference, None
    if method != "none":
        noisy_grey = luma(noisy)  # also for the residual below
        box, matrix, warped, fit, correction = _register(
            reference,
            noisy,
            noisy_grey,
            method,
            mode,
            interpolation,
            tone=match_exposure is not None,
        )
        corrections.append(correction)

    noisy_box = _in_box(noisy, box)
    exposure = None
    if match_exposure is not None:
        if fit is None or match_exposure != "linear":  # else: fitted on these pixels already
            fit = fit_exposure(warped, noisy_box, model=match_exposure)
        evidence = weigh(noisy_box, warped, warped, after_exposure=fit)
        applied, why = decide(evidence, mode)
        corrections.append(
            Correction(
                "exposure",
                applied,
                {
                    "model": fit.model,
                    "gain": list(fit.gain),
                    "offset": list(fit.offset),
                    "fraction_used": fit.fraction_used,
                },
                {"gain": list(fit.gain_sigma), "offset": list(fit.offset_sigma)},
                gain_db=evidence.gain_db,
                p=evidence.p,
                reason=why,
                tiles=evidence.tiles,
            )
        )
        if applied:
            # A resampled copy is ours to overwrite; the caller's reference (or a
            # whole-pixel cut of it, a view) is not.
            ours = not np.may_share_memory(warped, reference)
            exposure, warped = fit, fit.apply(warped, out=warped if ours else None)

    residual, residual_max = None, None
    if method != "none":
        shifts = tile_shifts(_in_box(noisy_grey, box), warped)
        if len(shifts) >= 3:  # fewer textured tiles cannot tell a residual from noise
            moves = np.array([s[4:6] for s in shifts])
            magnitudes = np.hypot(moves[:, 0], moves[:, 1])
            residual = float(np.sqrt(np.mean(magnitudes**2)))
            residual_max = float(magnitudes.max())
            corrections = [_with_uncertainty(c, moves) for c in corrections]
    geometry_applied = not _is_identity(matrix)
    return Alignment(
        reference=np.ascontiguousarray(warped, dtype=np.float32),
        box=box,
        size=(width, height),
        method=method if geometry_applied else "none",
        matrix=matrix,
        interpolation=interpolation,
        exposure=exposure,
        residual_px=residual,
        residual_max_px=residual_max,
        mode=mode,
        corrections=tuple(corrections),
    )


def _register(
    reference: np.ndarray,
    noisy: np.ndarray,
    noisy_grey: np.ndarray,
    method: str,
    mode: str,
    interpolation: str,
    *,
    tone: bool,
) -> tuple[BBox, np.ndarray, np.ndarray, ExposureFit | None, Correction]:
    """The registration step: ``(box, matrix, registered reference, the linear tone
    fit made on it or None, its record)``; the frame unchanged when not applied.

    With ``tone``, the shift is judged with a tone fit applied to both versions, so
    that a brightness difference does not hide or fake its effect.
    """
    height, width = noisy.shape[:2]
    name = "shift" if method == "translation" else "transform"
    unchanged = ((0, 0, width, height), np.eye(3), reference, None)
    if min(width, height) < _MIN_SIDE:
        why = f"the frame is too small to register ({width}x{height} px, under {_MIN_SIDE})"
        if mode == "always":
            raise AlignmentError(why)
        return (*unchanged, Correction(name, False, reason=f"not applied: {why}"))
    matrix = _estimate(noisy_grey, luma(reference), method)
    record = _estimate_record(matrix, (width, height))
    if _is_identity(matrix):
        return (
            *unchanged,
            Correction(name, False, record, reason="not applied: no movement measured"),
        )
    try:
        box, candidate = warp_reference(reference, matrix, (width, height), interpolation)
    except AlignmentError as exc:
        if mode == "always":
            raise
        # A shift that leaves too little overlap is no correction: keep the frame.
        return (*unchanged, Correction(name, False, record, reason=f"not applied: {exc}"))
    noisy_box, before = _in_box(noisy, box), _in_box(reference, box)
    fit = fit_exposure(candidate, noisy_box) if tone else None
    evidence = weigh(noisy_box, before, candidate, before_exposure=fit, after_exposure=fit)
    applied, why = decide(evidence, mode)
    correction = Correction(
        name,
        applied,
        record,
        gain_db=evidence.gain_db,
        p=evidence.p,
        reason=why,
        tiles=evidence.tiles,
    )
    if not applied:
        return (*unchanged, correction)
    return box, matrix, candidate, fit, correction


def _estimate(noisy_grey: np.ndarray, ref_grey: np.ndarray, method: str) -> np.ndarray:
    """The transform (3x3, noisy -> reference coordinates) that ``method`` measures."""
    import cv2

    matrix = np.eye(3)
    dx, dy = estimate_translation(noisy_grey, ref_grey)
    # Within the estimate's resolution of a whole pixel, the shift is taken as
    # whole: the reference is then cut, not resampled, and nothing is lost.
    matrix[0, 2], matrix[1, 2] = (round(v) if abs(v - round(v)) < _SNAP_PX else v for v in (dx, dy))
    if method in ("affine", "homography"):
        try:
            matrix = estimate_ecc(noisy_grey, ref_grey, matrix, homography=method == "homography")
        except cv2.error as exc:
            reason = str(exc).strip().splitlines()[-1]
            raise AlignmentError(
                f"{method} registration (ECC) did not converge ({reason}); try method='translation'"
            ) from None
    return matrix


def warp_reference(
    reference: np.ndarray, matrix: np.ndarray, size: tuple[int, int], interpolation: str
) -> tuple[BBox, np.ndarray]:
    """``(box, reference resampled at matrix @ p for every noisy pixel p in box)``.

    ``box`` is the valid box (:func:`valid_box`) in a noisy frame of ``size``
    ``(W, H)``; a whole-pixel shift is a cut, not a resampling.
    """
    translation = _is_translation(matrix)
    integral = np.isclose(matrix[:2, 2], np.round(matrix[:2, 2]))
    whole = translation and bool(integral.all())
    reach = INTERPOLATIONS[interpolation]
    # A translation resamples only along the axes it moves by a fraction of a pixel.
    margin = tuple(0 if translation and exact else reach for exact in integral)
    box = valid_box(matrix, size, size, margin)
    if box[2] < 16 or box[3] < 16:
        raise AlignmentError(
            f"the reference overlaps the noisy shot in only {box[2]}x{box[3]} px after "
            f"registration (shift {matrix[0, 2]:.1f}, {matrix[1, 2]:.1f} px): are they the "
            "same scene?"
        )
    x, y, w, h = box
    if whole:
        x0, y0 = x + round(matrix[0, 2]), y + round(matrix[1, 2])
        return box, reference[y0 : y0 + h, x0 : x0 + w]
    if interpolation == "fourier":
        return box, shift_image(reference, matrix[0, 2], matrix[1, 2], box=box)
    return box, warp_into_box(reference, matrix, box, interpolation)


def _unaligned(
    reference: np.ndarray,
    size: tuple[int, int],
    interpolation: str,
    mode: str,
    names: tuple[str, ...],
    reason: str,
) -> Alignment:
    return Alignment(
        reference=reference,
        box=(0, 0, *size),
        size=size,
        method="none",
        matrix=np.eye(3),
        interpolation=interpolation,
        exposure=None,
        residual_px=None,
        residual_max_px=None,
        mode=mode,
        corrections=tuple(Correction(name, False, reason=reason) for name in names),
    )


def _estimate_record(matrix: np.ndarray, size: tuple[int, int]) -> dict[str, Any]:
    dx, dy = _centre_shift(matrix, size)
    record: dict[str, Any] = {"dx": dx, "dy": dy}
    if not _is_translation(matrix):
        rotation, scale = _rotation_scale(matrix)
        record.update(rotation_deg=rotation, scale=scale)
    return record


def _centre_shift(matrix: np.ndarray, size: tuple[int, int]) -> tuple[float, float]:
    """Where the centre of a frame of ``size`` (W, H) lies in the reference, minus
    the centre itself (px)."""
    width, height = size
    cx, cy = (width - 1) / 2, (height - 1) / 2
    mapped = matrix @ np.array([cx, cy, 1.0])
    return float(mapped[0] / mapped[2] - cx), float(mapped[1] / mapped[2] - cy)


def _rotation_scale(matrix: np.ndarray) -> tuple[float, float]:
    """``(rotation in degrees, scale)`` of the linear part of ``matrix``."""
    a, b = matrix[0, 0], matrix[1, 0]
    return math.degrees(math.atan2(b, a)), math.hypot(a, b)


def _with_uncertainty(correction: Correction, moves: np.ndarray) -> Correction:
    """A geometric correction with the standard error of its shift: the spread of
    the shifts measured on the textured tiles after it, over the root of their count."""
    if correction.name not in ("shift", "transform"):
        return correction
    sigma = moves.std(axis=0, ddof=1) / math.sqrt(len(moves))
    return replace(correction, uncertainty={"dx": float(sigma[0]), "dy": float(sigma[1])})


def _is_translation(matrix: np.ndarray) -> bool:
    return bool(np.allclose(matrix[:2, :2], np.eye(2)) and np.allclose(matrix[2], [0, 0, 1]))


def _is_identity(matrix: np.ndarray) -> bool:
    return bool(np.array_equal(matrix, np.eye(3)))


def _in_box(image: np.ndarray, box: BBox) -> np.ndarray:
    x, y, w, h = box
    return image[y : y + h, x : x + w]


def _validate(reference: np.ndarray, noisy: np.ndarray) -> None:
    for name, image in (("reference", reference), ("noisy", noisy)):
        if not isinstance(image, np.ndarray):
            raise TypeError(f"{name} must be a numpy array, got {type(image).__name__}")
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"{name} must have shape (H, W, 3), got {image.shape}")
        if not np.issubdtype(image.dtype, np.floating):
            raise TypeError(f"{name} must be a float array in [0, 1], got dtype {image.dtype}")
    if reference.shape != noisy.shape:
        raise ValueError(f"reference and noisy shapes differ: {reference.shape} vs {noisy.shape}")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
