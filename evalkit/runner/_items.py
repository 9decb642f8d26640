"""One unit of work: one denoiser on one pair, then everything scored on its output.

A :class:`WorkItem` carries all it needs (the pair, the denoiser's spec and
parameters, what the cache already holds), so it can run in this process, in a
worker process, or on a dask worker on another machine, with the same result.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import cache
from ..align import Alignment, align_once
from ..datasets import Pair
from ..denoisers import DenoiserSpec, build_denoiser
from ..errors import DenoiserError, EvalkitError
from ..io import load_image, save_image
from ..scoring import score

#: Longest side, in pixels, of the per-pixel maps kept for reports.
MAP_SIZE = 1600


@dataclass(frozen=True)
class WorkItem:
    """Everything needed to denoise one pair with one denoiser and score it.

    Attributes
    ----------
    pair : Pair
    label : str
        The denoiser's name in results.
    spec : DenoiserSpec
        Travels whole, so workers need no registry.
    params : dict
        The denoiser's parameters.
    metrics : tuple of str
        Metrics to report.
    align : (mode, reason)
        How the reference is aligned to the noisy shot (``mode`` of
        :func:`evalkit.align.align_reference`) and, when a benchmark's convention
        decided it, why.
    version : str
        evalkit version; part of every cache key.
    ocr, detectors, detector_settings
        The OCR engine of the text check, and which artifact detectors run with
        which thresholds (see :func:`evalkit.score`).
    out : Path or None
        Results folder for output images and maps.
    keep_output : bool
        Keep the output image (and its maps, which the report draws only over
        it) in ``out``; scores are computed and kept either way.
    timeout : float or None
        Seconds the denoiser may take (enforced by the executor).
    input_hash, reference_hash : str
        Content hashes of the noisy and reference files.
    megapixels : float or None
        Size of the noisy image, for speed in seconds per megapixel.
    cached_output : (str, str, float) or None
        ``(path relative to out, output hash, seconds)`` of an earlier identical
        denoiser call; the denoiser is then not run again.
    cached_metrics : dict
        Metric → ``(value, status, error)`` already computed on that output.
    """

    pair: Pair
    label: str
    spec: DenoiserSpec
    params: dict[str, Any]
    metrics: tuple[str, ...]
    align: tuple[str, str | None]
    version: str
    ocr: str | None = None
    detectors: tuple[str, ...] | None = None
    detector_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    out: Path | None = None
    keep_output: bool = True
    timeout: float | None = None
    input_hash: str = ""
    reference_hash: str = ""
    megapixels: float | None = None
    cached_output: tuple[str, str, float] | None = None
    cached_metrics: dict[str, tuple] = field(default_factory=dict)

    @property
    def cache_key(self) -> str:
        """Identity of the denoiser call: (denoiser, parameters, input hash, version)."""
        return digest(self.spec.name, self.spec.target, self.params, self.input_hash, self.version)

    @property
    def metric_version(self) -> str:
        """Version under which metric values are cached: evalkit's, and the alignment."""
        return f"{self.version}+align-{self.align[0]}"

    def analysis_key(self, output_hash: str) -> str:
        """Identity of everything scored on one output: images, alignment, version."""
        return digest(
            output_hash,
            self.reference_hash,
            self.input_hash,
            self.align,
            self.ocr,
            self.detectors,
            self.detector_settings,
            self.version,
        )

    def base_row(self) -> dict[str, Any]:
        return {
            "pair": self.pair.id,
            "denoiser": self.label,
            "camera": self.pair.camera,
            "iso": self.pair.iso,
            "megapixels": self.megapixels,
            "input_hash": self.input_hash,
            "reference_hash": self.reference_hash,
            "cache_key": self.cache_key,
        }


def execute_item(item: WorkItem) -> dict[str, Any]:
    """Run one item; return a record for :meth:`ResultStore.record_item`.

    Never raises for a failing image or denoiser: the record then has
    ``status="failed"`` and the reason in ``error``.
    """
    record = item.base_row()
    try:
        reference, noisy = item.pair.load()
        candidate, seconds, reused = _candidate(item, noisy)
        if reused:  # the PNG gives back the exact codes that were hashed
            output, output_hash = item.cached_output[:2]
        else:
            # Hashed in place: tobytes() would copy the codes (120 MB at 20 MP).
            codes = np.ascontiguousarray(candidate).data
            output_hash = hashlib.blake2b(codes, digest_size=16).hexdigest()
            output = _save_output(candidate, item)
        # Scoring the codes that were saved (an 8-bit PNG holds 16-bit codes / 257
        # exactly) makes a resumed run, which reads them back, give exactly the
        # numbers of an uninterrupted one.
        candidate = candidate.astype(np.float32) / np.float32(65535)
        missing = [m for m in item.metrics if m not in item.cached_metrics]
        with _reference_work(item):
            result = score(
                reference,
                candidate,
                noisy=noisy,
                metrics=missing,
                align=item.align[0],
                alignment=_aligned(item, reference, noisy),
                detectors=item.detectors,
                detector_settings=item.detector_settings,
                ocr=item.ocr,
                text_regions=item.pair.text_regions or None,
                maps=output is not None,  # only saved maps are ever drawn
            )
    except Exception as exc:  # one failing denoiser or image never sinks the run
        message = str(exc) if isinstance(exc, EvalkitError) else f"{type(exc).__name__}: {exc}"
        return {**record, "status": "failed", "error": message}
    if output is not None:
        _save_maps(result.maps, item)
    version = item.metric_version
    metrics = {name: (*item.cached_metrics[name], version) for name in item.cached_metrics}
    for name, value in result.metrics.items():
        reason = result.unavailable.get(name)
        metrics[name] = (value, "unavailable" if reason else "ok", reason, version)
    return {
        **record,
        "status": "ok",
        "seconds": seconds,
        "reused": reused,
        "output": output,
        "output_hash": output_hash,
        "analysis_key": item.analysis_key(output_hash),
        "alignment": result.alignment,
        "metrics": {name: metrics[name] for name in item.metrics},
        "findings": [finding.to_dict() for finding in result.findings],
        "text": result.text,
    }


def _reference_work(item: WorkItem):
    """The cache of reference work in the results folder (the user's without one)."""
    return cache.kept_in(item.out) if item.out is not None else contextlib.nullcontext()


# The alignment of the pair this process scored last: the executors hand a worker
# the items of one pair in a row, and aligning a 20 MP reference takes seconds. One
# pair only, so a worker holds one reference, not the dataset.
_ALIGNMENT: dict[tuple[str, str], Alignment] = {}


def _aligned(item: WorkItem, reference: np.ndarray, noisy: np.ndarray) -> Alignment:
    key = (item.reference_hash, item.input_hash, item.align)
    # Read once: on a dask worker another thread may replace the entry meanwhile.
    alignment = _ALIGNMENT.get(key)
    if alignment is None:
        _ALIGNMENT.clear()  # the last pair's reference goes before this one's is made
        mode, reason = item.align
        alignment = align_once(reference, noisy, mode=mode, reason=reason)
        _ALIGNMENT[key] = alignment
    return alignment


def failure_record(item: WorkItem, message: str) -> dict[str, Any]:
    """The record of an item that did not finish (timed out, worker died)."""
    return {**item.base_row(), "status": "failed", "error": message}


def _candidate(item: WorkItem, noisy: np.ndarray) -> tuple[np.ndarray, float, bool]:
    """The output as 16-bit codes, from the cache or from the denoiser."""
    if item.cached_output is not None and item.out is not None:
        path = item.out / item.cached_output[0]
        if path.is_file():
            codes = np.rint(load_image(path) * 65535).astype(np.uint16)
            return codes, item.cached_output[2], True
    denoiser = build_denoiser(item.spec, item.params)
    start = time.perf_counter()
    try:
        output = denoiser.denoise(noisy, pair=item.pair)
    except DenoiserError as exc:  # name the run's label, not only the program it ran
        raise DenoiserError(f"denoiser {item.label!r}: {exc}") from None
    seconds = time.perf_counter() - start
    checked = _checked_output(output, noisy, item.label)
    return np.rint(checked * 65535).astype(np.uint16), seconds, False


def _checked_output(output: object, noisy: np.ndarray, label: str) -> np.ndarray:
    """Refuse what a buggy denoiser may return, with a message naming the defect."""
    if not isinstance(output, np.ndarray):
        raise DenoiserError(f"denoiser {label!r} returned {type(output).__name__}, not an array")
    if output.shape != noisy.shape:
        raise DenoiserError(
            f"denoiser {label!r} returned shape {output.shape}, expected {noisy.shape}"
        )
    if not np.issubdtype(output.dtype, np.floating):
        raise DenoiserError(
            f"denoiser {label!r} returned dtype {output.dtype}, expected float in [0, 1]"
        )
    if not np.isfinite(output).all():
        raise DenoiserError(f"denoiser {label!r} returned NaN or infinite values")
    return np.clip(output, 0.0, 1.0)


def _save_output(codes: np.ndarray, item: WorkItem) -> str | None:
    """Keep the output as a PNG at the bit depth it came in; return its path relative
    to the results folder (``None`` when it is not kept).

    ``codes`` are the 16-bit codes that are scored. Where every one is a multiple
    of 257 (65535 / 255), the output came in as 8-bit codes (an 8-bit file of a
    ``command`` or ``folder`` denoiser, OpenCV's 8-bit NLM, the noisy shot
    itself), and an 8-bit PNG holds exactly the same values at half the size;
    any other output is kept as 16-bit codes.
    """
    if item.out is None or not item.keep_output:
        return None
    relative = Path("outputs") / safe_name(item.label) / f"{safe_name(item.pair.id)}.png"
    path = item.out / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written under a temporary name and renamed, so a killed run never leaves a
    # half-written image that a later run would take for a finished one; the name
    # is the process's own, in case a worker of a killed run is still writing.
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial.png")
    bit_depth = 16 if np.any(codes % 257) else 8
    save_image(partial, codes.astype(np.float32) / np.float32(65535), bit_depth=bit_depth)
    partial.replace(path)
    return relative.as_posix()


def _save_maps(maps: dict[str, np.ndarray], item: WorkItem) -> None:
    """Keep each [0, 1] map as an 8-bit grey PNG no larger than the report shows it."""
    if item.out is None:
        return
    folder = item.out / "maps" / safe_name(item.label) / safe_name(item.pair.id)
    folder.mkdir(parents=True, exist_ok=True)
    for name, values in maps.items():
        save_image(folder / f"{safe_name(name)}.png", _display_size(values))


def _display_size(values: np.ndarray, longest: int = MAP_SIZE) -> np.ndarray:
    import cv2

    height, width = values.shape[:2]
    scale = longest / max(height, width)
    if scale >= 1:
        return values
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # INTER_AREA averages, so a small hot spot stays visible as a dimmer spot.
    return cv2.resize(values.astype(np.float32), size, interpolation=cv2.INTER_AREA)


def safe_name(name: str) -> str:
    """A file name made from a label or id that cannot escape the results folder."""
    return "".join(c if c.isalnum() or c in "-_.+=" else "_" for c in name).lstrip(".") or "_"


def file_hash(path: Path) -> str:
    """Content hash of a file (BLAKE2b, 128 bits), read in 1 MiB blocks."""
    hasher = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            hasher.update(block)
    return hasher.hexdigest()


def digest(*parts: Any) -> str:
    """A cache key: BLAKE2b (128 bits) of ``parts`` as JSON."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
