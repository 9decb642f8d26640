"""Face detector: faces changed far more than the rest of the picture ("funny faces")."""

from __future__ import annotations

import numpy as np

from ..findings import Finding
from ._base import (
    Detection,
    analysis,
    check_positive,
    fmt_bbox,
    severity_of,
    sort_and_cap,
    validate_images,
)
from ._heatmap import HeatMap

# Faces are searched on a copy whose long side is at most this (pixels): the
# Haar cascade is slow on 20 MP, and a face needs only ~24 px to be found.
_SEARCH_SIDE = 1024


def detect_face_alteration(
    reference: np.ndarray,
    candidate: np.ndarray,
    *,
    noisy: np.ndarray | None = None,
    tile: int = 32,
    min_face: int = 24,
    info: float = 1.5,
    warning: float = 3.0,
    critical: float = 6.0,
    max_findings: int = 10,
) -> Detection:
    """Find faces of the reference that the candidate changed far more than the rest.

    Frontal faces are found on the reference with OpenCV's bundled Haar
    cascade (``haarcascade_frontalface_default.xml``). Each face's
    dissimilarity ``1 - SSIM`` (candidate vs reference, luma) is divided by
    that of the whole image plus 0.02, so a face is flagged when it changed
    several times more than the picture around it.

    Parameters
    ----------
    reference, candidate : ndarray of shape (H, W, 3)
        float sRGB images in [0, 1]; ``noisy`` is accepted and not used.
    tile : int, optional
        Shared analysis tile (only for the luma cache).
    min_face : int, optional
        Smallest face side searched for, in pixels of the search copy.
    info, warning, critical : float, optional
        Thresholds on the ratio. An honest denoiser treats faces like any
        other region (ratio about 1-2; smooth skin loses a little more SSIM to
        leftover noise); 3x is a face visibly redrawn.
    max_findings : int, optional
        At most this many faces are reported.

    Raises
    ------
    UnavailableError
        The installed OpenCV has no Haar cascades (OpenCV 5 removed them).

    Returns
    -------
    Detection
        ``score``: the largest face ratio (0 when no face is found); ``map``:
        the face ratio inside each face box, 0 elsewhere.
    """
    import cv2

    from ..metrics import structural_similarity

    validate_images(reference, candidate, noisy)
    check_positive(tile=tile, min_face=min_face)
    an = analysis(reference, candidate, noisy, tile)
    height, width = an.shape
    scale = min(1.0, _SEARCH_SIDE / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    ref = cv2.resize(an.luma("reference"), size, interpolation=cv2.INTER_AREA)
    cand = cv2.resize(an.luma("candidate"), size, interpolation=cv2.INTER_AREA)
    cascade = _cascade()
    faces = cascade.detectMultiScale(
        np.rint(np.clip(ref, 0, 1) * 255).astype(np.uint8),
        scaleFactor=1.1,
        minNeighbors=5,
        minSize=(min_face, min_face),
    )
    if len(faces) == 0:
        return Detection("face_alteration", 0.0, HeatMap.blank(an.shape), (), {"faces": 0})
    overall = 1.0 - structural_similarity(ref, cand)
    items = []
    boxes = []
    best = 0.0
    for fx, fy, fw, fh in faces:
        face = 1.0 - structural_similarity(
            ref[fy : fy + fh, fx : fx + fw], cand[fy : fy + fh, fx : fx + fw]
        )
        ratio = face / (overall + 0.02)
        best = max(best, ratio)
        bbox = (
            int(fx / scale),
            int(fy / scale),
            min(round(fw / scale), width - int(fx / scale)),
            min(round(fh / scale), height - int(fy / scale)),
        )
        boxes.append((bbox, float(ratio)))
        severity = severity_of(ratio, info, warning, critical)
        if severity is None:
            continue
        message = (
            f"the face at {fmt_bbox(bbox)} was changed {ratio:.1f}x more than the rest of "
            f"the picture (1 - SSIM {face:.2f} vs {overall:.2f})"
        )
        items.append((ratio, Finding("face_alteration", severity, ratio, bbox, message)))
    return Detection(
        "face_alteration",
        float(best),
        HeatMap.blank(an.shape, boxes),
        sort_and_cap(items, max_findings),
        {"faces": len(faces), "image_dissimilarity": overall},
    )


def _cascade():
    import cv2

    if not hasattr(cv2, "CascadeClassifier"):
        from ..errors import UnavailableError

        raise UnavailableError(
            f"face_alteration needs OpenCV's Haar cascades, which OpenCV {cv2.__version__} "
            "no longer ships; install them with: pip install 'opencv-python-headless>=4.8,<5'"
        )
    return cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
