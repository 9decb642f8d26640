"""Score one candidate image against its reference: metrics, findings, text, alignment."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ._registry import load_target
from .datasets import TextRegion, benchmark_layout
from .detectors import DEFAULT_DETECTORS, collect_findings, run_detectors
from .errors import UnavailableError
from .findings import Finding, Severity
from .io import check_file, check_image, check_same_size, import_decoders, load_image
from .metrics import METRICS, structural_similarity_map

if TYPE_CHECKING:
    from .align import Alignment
    from .ocr import OcrEngine

DEFAULT_METRICS = ("psnr", "ssim")
#: Metrics the OCR check fills in, whenever it runs.
TEXT_METRICS = ("ocr_cer", "text_hallucinations")

ImageLike = np.ndarray | str | os.PathLike


@dataclass(frozen=True)
class ScoreResult:
    """Everything evalkit says about one candidate.

    Attributes
    ----------
    metrics : dict of str to float or None
        Metric name → value; ``None`` when the metric could not run here.
    unavailable : dict of str to str
        Metric name → the reason it has no value, and how to fix that.
    findings : list of Finding
        Detector and OCR findings, most severe first.
    text : list of dict
        One entry per text region (reference and candidate readings, CER...).
    alignment : dict or None
        How the reference was registered to the noisy shot, when it was.
    maps : dict of str to ndarray
        Per-pixel maps for reports, each float32 (H, W) with values in [0, 1]
        where 1 is the worst: ``abs_diff`` (mean absolute RGB difference),
        ``ssim`` (1 - the SSIM map) and one per detector (its tile scores, divided
        by their maximum when that exceeds 1). Not part of ``to_dict``.
    noise : dict or None
        Without a reference (:func:`evalkit.inspect`): the noisy shot's noise
        profile and what the denoiser removed.
    mode : str
        ``"reference"`` (scored against a reference) or ``"no reference"``.
    """

    metrics: dict[str, float | None]
    unavailable: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    text: list[dict[str, Any]] = field(default_factory=list)
    alignment: dict[str, Any] | None = None
    maps: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    noise: dict[str, Any] | None = None
    mode: str = "reference"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form with the keys ``mode``, ``metrics``, ``unavailable``,
        ``findings``, ``text``, ``alignment`` (and ``noise`` without a reference);
        non-finite numbers become ``None``, with the reason in ``unavailable``
        (an infinite PSNR: the images are identical)."""
        extra = {} if self.noise is None else {"noise": self.noise}
        unavailable = dict(self.unavailable)
        for name, value in self.metrics.items():
            if value is not None and not np.isfinite(value) and name not in unavailable:
                unavailable[name] = _non_finite_reason(value)
        return {
            "mode": self.mode,
            "metrics": {name: _json_number(value) for name, value in self.metrics.items()},
            "unavailable": unavailable,
            "findings": [finding.to_dict() for finding in self.findings],
            "text": list(self.text),
            "alignment": self.alignment,
            **extra,
        }


def score(
    reference: ImageLike,
    candidate: ImageLike,
    *,
    noisy: ImageLike | None = None,
    metrics: Sequence[str] = DEFAULT_METRICS,
    align: str | bool = "auto",
    alignment: Alignment | None = None,
    detectors: Sequence[str] | None = None,
    detector_settings: Mapping[str, Mapping[str, Any]] | None = None,
    ocr: str | None = "easyocr",
    text_regions: Sequence[TextRegion] | None = None,
    maps: bool = True,
) -> ScoreResult:
    """Score ``candidate`` against ``reference``.

    Parameters
    ----------
    reference : ndarray of shape (H, W, 3) or path
        The long-exposure reference shot (float32 in [0, 1] if an array).
    candidate : ndarray of shape (H, W, 3) or path
        A denoiser's output.
    noisy : ndarray or path, optional
        The noisy shot the candidate was made from; detectors use it to tell what
        the denoiser did from what the scene had.
    metrics : sequence of str, optional
        Registry names of the metrics to compute.
    align : {"auto", "always", "never"}, optional
        With ``noisy`` given, how the reference is registered to the noisy shot
        and its exposure matched to it (:func:`evalkit.align.align_reference`,
        decided once per pair: :func:`evalkit.align.align_once`) before scoring
        inside the valid box. Denoisers do not move pixels, so
        what holds for the noisy shot holds for every candidate made from it.
        ``"auto"`` (default) applies each correction only when the data show it;
        and a pair named as in a benchmark published registered (PolyU, Nam,
        SIDD, RENOIR: :func:`evalkit.datasets.benchmark_layout`) is scored
        unaligned, as in the literature, so that its numbers match the published
        ones (``"always"`` corrects it anyway). ``True`` and ``False`` mean
        ``"auto"`` and ``"never"``.
    alignment : Alignment, optional
        An alignment already computed for this pair (the runner aligns once per
        pair); used instead of aligning again.
    detectors : sequence of str, optional
        Artifact detectors to run (:data:`evalkit.detectors.DEFAULT_DETECTORS`
        when ``None``; an empty sequence runs none).
    detector_settings : mapping, optional
        Detector name → keyword arguments (thresholds), e.g.
        ``{"oversharpening": {"warning": 1.3}}``.
    ocr : str or None, optional
        OCR engine for the text check (:func:`evalkit.ocr.check_text`), which adds
        the metrics ``ocr_cer`` and ``text_hallucinations``, the ``text`` entries
        and ``text_*`` findings; ``None`` skips it.
    text_regions : sequence of TextRegion, optional
        Where the text is (reference pixels), with the true strings when known;
        ``None`` finds text lines on the reference.
    maps : bool, optional
        Whether to fill :attr:`ScoreResult.maps` (full-frame float32 planes, one
        per map, about 5 s and 80 MB each at 20 MP); only a report draws them.

    Returns
    -------
    ScoreResult
        Boxes and maps are in the candidate's full-frame pixel coordinates; maps
        are zero outside the aligned box.

    Raises
    ------
    ImageError
        A file is missing or unreadable, or the sizes differ.
    KeyError
        An unknown metric or OCR engine name (with suggestions), before any work.

    Notes
    -----
    Without ``text_regions``, the reference's text lines are found before the
    candidate is decoded and the OCR recogniser loaded, so that the detector's
    peak of memory holds neither.
    """
    # Unknown names fail here, before any work.
    text_metrics = [name for name in metrics if METRICS.get(name).reads_text]
    engine = None if ocr is None else _ocr_engine(ocr)
    if not isinstance(candidate, np.ndarray):
        check_file(candidate)
    decoded = decode_while_loading({"reference": reference, "noisy": noisy}, None)
    # Popped: once aligned, the reference as decoded is not held to the end.
    reference_image, reference_name = decoded.pop("reference")
    noisy_image = None
    if noisy is not None:
        noisy_image, noisy_name = decoded.pop("noisy")
        check_same_size(reference_image, noisy_image, names=(reference_name, noisy_name))
        if alignment is None:
            from .align import align_once

            mode, reason = alignment_mode(align, benchmark_of(reference, noisy))
            alignment = align_once(reference_image, noisy_image, mode=mode, reason=reason)
    full_size = reference_image.shape[:2]
    if alignment is not None:
        # Only the aligned reference is used from here: the decoded one, a
        # separate 240 MB at 20 MP where a warp or an exposure match made a copy,
        # is not held through text detection.
        reference_image = alignment.reference
    if engine is not None and text_regions is None:
        # Finding the text lines is one of the score's highs of memory (PP-OCR's
        # and CRAFT's activations, in ONNX Runtime); done before the recogniser
        # loads (torch, 0.7 GB) and the candidate is decoded (240 MB at 20 MP), it
        # holds neither. The check reads the lines back.
        _find_text(reference_image, engine)
    # The recogniser loads while the candidate decodes.
    decoded = decode_while_loading({"candidate": candidate}, engine)
    candidate_image, candidate_name = decoded.pop("candidate")
    check_same_size(full_size, candidate_image, names=(reference_name, candidate_name))
    if alignment is not None:
        candidate_image = alignment.crop(candidate_image)
        noisy_image = alignment.crop(noisy_image) if noisy_image is not None else None
    values, unavailable = compute_metrics(
        reference_image, candidate_image, [m for m in metrics if m not in text_metrics]
    )
    planes = {}
    if maps:
        planes["abs_diff"] = np.abs(reference_image - candidate_image).mean(axis=2)
        planes["ssim"] = 1.0 - structural_similarity_map(reference_image, candidate_image)
    detections = run_detectors(
        reference_image,
        candidate_image,
        noisy=noisy_image,
        names=DEFAULT_DETECTORS if detectors is None else detectors,
        settings=detector_settings,
    )
    findings = collect_findings(detections)
    if maps:
        planes.update({d.detector: d.map for d in detections if d.map is not None})
    unavailable.update({d.detector: d.unavailable for d in detections if d.unavailable})
    text: list[dict[str, Any]] = []
    if engine is not None:
        regions = text_regions
        if alignment is not None and regions is not None:
            regions = _cropped_regions(regions, alignment)
        text, text_findings = _check_text(
            reference_image, candidate_image, noisy_image, regions, engine, values, unavailable
        )
        findings = sorted(findings + text_findings, key=lambda f: -Severity(f.severity).rank)
    if alignment is not None:
        findings = [_uncrop_finding(finding, alignment) for finding in findings]
        text = [{**entry, "bbox": list(alignment.uncrop_bbox(entry["bbox"]))} for entry in text]
        planes = {name: _uncrop(plane, alignment.box, full_size) for name, plane in planes.items()}
    return ScoreResult(
        metrics=values,
        unavailable=unavailable,
        findings=findings,
        text=text,
        maps={name: display_map(plane) for name, plane in planes.items()},
        alignment=alignment.to_dict() if alignment is not None else None,
    )


def alignment_mode(align: str | bool, benchmark: str | None) -> tuple[str, str | None]:
    """``(mode, reason)`` for :func:`evalkit.align.align_reference`: ``align`` itself,
    except that ``"auto"`` keeps a registered benchmark's convention (no alignment).

    Raises
    ------
    ValueError
        ``align`` is not one of :data:`evalkit.align.MODES` or a bool.
    """
    from .align import MODES

    if isinstance(align, bool):
        align = "auto" if align else "never"
    if align not in MODES:
        raise ValueError(f"align must be one of {MODES}, got {align!r}")
    if align == "auto" and benchmark is not None:
        return "never", (
            f"not applied: a {benchmark} benchmark pair, published as registered and scored "
            "unaligned in the literature; --align always corrects it"
        )
    return align, None


def benchmark_of(reference: ImageLike, noisy: ImageLike) -> str | None:
    """The registered benchmark whose naming a reference and noisy file follow."""
    if isinstance(reference, np.ndarray) or isinstance(noisy, np.ndarray):
        return None
    return benchmark_layout(reference, noisy)


def _ocr_engine(ocr: str) -> OcrEngine:
    """The OCR engine named ``ocr``; an unknown name fails here, before any work."""
    from .ocr import get_engine

    return get_engine(ocr)


def _find_text(reference: np.ndarray, engine: OcrEngine) -> None:
    """Find the reference's text lines into the OCR cache, for the check to read
    back; an engine that cannot run here is reported by the check."""
    from .ocr import detect_text_regions

    with contextlib.suppress(UnavailableError):
        detect_text_regions(reference, engine=engine)


def _check_text(reference, candidate, noisy, regions, engine, values, unavailable):
    """Run the OCR check once, fill its metrics into ``values``; return entries, findings."""
    from .ocr import check_text

    try:
        check = check_text(reference, candidate, noisy=noisy, regions=regions, engine=engine)
    except UnavailableError as exc:
        for name in TEXT_METRICS:
            values[name] = None
            unavailable[name] = str(exc)
        return [], []
    values["ocr_cer"] = check.metrics["ocr_cer"]
    values["text_hallucinations"] = float(check.metrics["text_hallucinations"])
    return list(check.entries), list(check.findings)


def _cropped_regions(regions: Sequence[TextRegion], alignment: Alignment) -> list[TextRegion]:
    """Text boxes moved into the aligned crop; boxes outside it are dropped."""
    moved = []
    for region in regions:
        box = alignment.crop_bbox(region.bbox)
        if box is not None:
            moved.append(replace(region, bbox=box))
    return moved


def compute_metrics(
    reference: np.ndarray, candidate: np.ndarray, names: Sequence[str]
) -> tuple[dict[str, float | None], dict[str, str]]:
    """Compute registered metrics on canonical images (data range 1).

    Returns ``(values, unavailable)``: a metric that cannot run here (missing
    weights or package) gets the value ``None`` and its reason in ``unavailable``.
    """
    specs = [METRICS.get(name) for name in names]  # unknown names fail before any work
    values: dict[str, float | None] = {}
    unavailable: dict[str, str] = {}
    for spec in specs:
        try:
            values[spec.name] = float(
                load_target(spec.target)(reference, candidate, data_range=1.0)
            )
        except UnavailableError as exc:
            values[spec.name] = None
            unavailable[spec.name] = str(exc)
    return values, unavailable


def _uncrop_finding(finding: Finding, alignment: Alignment) -> Finding:
    if finding.bbox is None:
        return finding
    return replace(finding, bbox=alignment.uncrop_bbox(finding.bbox))


def display_map(plane: np.ndarray) -> np.ndarray:
    """Scale a non-negative "badness" map to [0, 1] for display (1 = its largest value)."""
    plane = np.nan_to_num(np.maximum(plane, 0.0).astype(np.float32, copy=False))
    peak = float(plane.max())
    return plane / peak if peak > 1.0 else plane


def _uncrop(
    values: np.ndarray, box: tuple[int, int, int, int], size: tuple[int, int]
) -> np.ndarray:
    x, y, w, h = box
    full = np.zeros(size, np.float32)
    full[y : y + h, x : x + w] = values
    return full


def as_image(image: ImageLike, role: str) -> tuple[np.ndarray, str]:
    """``(array, name for messages)`` of an array or an image file (read by evalkit.io),
    validated (:func:`evalkit.io.check_image`: float (H, W, 3), at least 32 px a
    side, finite)."""
    if isinstance(image, np.ndarray):
        return check_image(image, role), role
    return check_image(load_image(image), str(image)), str(image)


def decode_while_loading(
    images: Mapping[str, ImageLike | None], engine: OcrEngine | None
) -> dict[str, tuple[np.ndarray, str]]:
    """:func:`as_image` of each role's image (``None`` is skipped): the files
    decoded side by side, and while ``engine`` (if any) loads its model.

    Decoding a 20 MP PNG (1-1.3 s) and loading the OCR recogniser (importing torch
    and building the network, about 2 s) each keep one core busy: each file is
    decoded in a helper thread of its own while this one loads. The helpers only
    decode, with every module they need imported first
    (:func:`evalkit.io.import_decoders`), and nothing else runs until the load is
    over: two threads importing into one package tree can hand each other half-made
    modules, and scipy's array-API checks fail on a half-imported torch. An engine
    that cannot load here is left to the text check to report.

    Raises
    ------
    ImageError
        As :func:`as_image`; a missing file before anything is decoded or loaded.
    """
    images = {role: image for role, image in images.items() if image is not None}
    files = [image for image in images.values() if not isinstance(image, np.ndarray)]
    if not files:
        return {role: as_image(image, role) for role, image in images.items()}
    for path in files:
        check_file(path)
    import_decoders()
    with ThreadPoolExecutor(
        max_workers=len(images), thread_name_prefix="evalkit-decode"
    ) as helpers:
        decoding = {role: helpers.submit(as_image, image, role) for role, image in images.items()}
        if engine is not None:
            with contextlib.suppress(UnavailableError):
                engine.load()
        return {role: future.result() for role, future in decoding.items()}


def _non_finite_reason(value: float) -> str:
    if np.isnan(value):
        return "not a number (the metric is undefined for these images)"
    sign = "+" if value > 0 else "-"
    return f"{sign}infinite: the images do not differ, there is no error to measure"


def _json_number(value: float | None) -> float | None:
    return value if value is not None and np.isfinite(value) else None
