"""Read every text region of a reference and of a candidate, and judge the difference."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..cache import image_digest
from ..datasets import TextRegion
from ..errors import UnavailableError
from ..findings import Finding, Severity
from ..io import to_codes
from ._cache import DETECTIONS, READINGS
from ._compare import (
    character_diff,
    character_error_rate,
    describe_diff,
    normalize_text,
    word_error_rate,
)
from ._engine import BBox, OcrEngine, Reading, get_engine
from ._evidence import GlyphEvidence, glyph_evidence

# Verdicts of a region, as they appear in ``TextCheck.entries[i]["verdict"]``.
KEPT = "kept"
RECOVERED = "recovered"
HALLUCINATED = "hallucinated"
LOST = "lost"
LOST_IN_NOISY = "lost_in_noisy"
AS_NOISY = "as_noisy"
UNCERTAIN = "uncertain"
UNJUDGED = "unjudged"

# Margin around an annotated (tight) box, as a fraction of its height. The
# recogniser is trained on crops with some background around the glyphs; on
# rendered text a quarter of the height gave the highest confidences (0, 0.1,
# 0.25 and 0.4 tried). Boxes from the detector already carry its 10 % margin and
# read best as they are.
ANNOTATION_MARGIN = 0.25
# Annotated boxes at least this tall (pixels) are searched for several lines of
# text with the detector; lower ones are read as one line, which saves a detector
# pass per box (two lines of text in under 56 px are rare on labels and signs).
MULTILINE_MIN_HEIGHT = 56
# Enlargement of the crops read a second time to confirm a suspected change.
CONFIRM_SCALE = 1.5
# The engine that reads a suspected change a second, independent time, when it
# is installed and is not the engine of the check.
SECOND_ENGINE = "tesseract"


@dataclass(frozen=True)
class Evidence:
    """What a suspected change of a line's text rests on, beyond the first readings.

    Attributes
    ----------
    readings : dict
        Re-readings of the line: ``{source: {"reference": str, "candidate": str}}``
        with ``source`` the check's engine at :data:`CONFIRM_SCALE` (e.g.
        ``"easyocr x1.5"``) and, when installed, :data:`SECOND_ENGINE`.
    glyphs : GlyphEvidence
        How much the glyph pixels changed (:func:`~evalkit.ocr.glyph_evidence`).
    """

    readings: dict[str, dict[str, str]]
    glyphs: GlyphEvidence

    def doubt(
        self, accepted: set[str], reference: str | None, candidate: str, *, invented: bool
    ) -> str | None:
        """Why the change is not established, or ``None`` when every test holds.

        ``accepted`` are the readings a faithful output may give, ``reference``
        and ``candidate`` the first readings (all normalised; ``reference`` is
        ``None`` when it is not trusted, and then not asked to read alike twice).
        Invented text (``invented``) must pass the re-readings and the glyph
        test; lost legibility only the glyph test, since an engine may still make
        out a blurred line on an enlarged crop that a reader cannot.
        """
        if not self.glyphs.changed:
            return "the glyph pixels did not change beyond the noise: a reading flip"
        if not invented:
            return None
        folded = {same_text_key(t) for t in accepted}
        for source, pair in self.readings.items():
            ref, out = normalize_text(pair["reference"]), normalize_text(pair["candidate"])
            if source.endswith(f"x{CONFIRM_SCALE}"):
                if reference is not None and same_text_key(ref) != same_text_key(reference):
                    return f"the reference itself reads two ways ({source}: {pair['reference']!r})"
                if same_text_key(out) in folded | {same_text_key(ref)}:
                    return f"the change is not read again ({source})"
            elif ref and out and same_text_key(ref) == same_text_key(out):
                return f"{source} reads reference and output alike"
            elif ref and same_text_key(ref) == same_text_key(candidate):
                return f"{source} reads the reference as the output reads"
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, as kept in a text entry's ``evidence``."""
        return {"readings": self.readings, **self.glyphs.to_dict()}


def same_text_key(text: str) -> str:
    """The key under which two normalised readings count as the same text: case folded.

    A recogniser's upper/lower case is unreliable at the same shape ("AM" read
    "Am", "OF" read "Of"), and a change of case alone is not invented text.
    """
    return text.casefold()


@dataclass(frozen=True)
class OcrThresholds:
    """The knobs of the verdicts, calibrated for EasyOCR's English model.

    Confidences are the engine's own, in [0, 1]; CERs are edit distances per
    character of the expected text. See ``docs/ocr.md`` for how they were chosen.

    Attributes
    ----------
    reference_confidence : float
        Least confidence for a reference reading to be trusted when the true
        string is unknown. A region read below it is not judged (``unjudged``).
    legible_confidence : float
        Below this a reading counts as unreadable.
    hallucination_confidence : float
        Least confidence for a different reading of the output to count as
        invented text rather than a misread of damaged text.
    confidence_drop : float
        An output reading that differs from the reference and has less than this
        fraction of the reference's confidence counts as a loss of legibility.
    legibility_cer : float
        An output reading at least this far (CER) from the expected text counts
        as a loss of legibility unless it is confident enough to be a hallucination.
    hallucination_sharpness : float
        Least ratio of the output's to the reference's mean gradient magnitude in
        the region for a different reading to count as invented text. Invented
        glyphs are crisp; a blur can make the recogniser read other letters with
        some confidence, and that is a loss of legibility.
    """

    reference_confidence: float = 0.5
    legible_confidence: float = 0.3
    hallucination_confidence: float = 0.5
    confidence_drop: float = 0.5
    legibility_cer: float = 0.34
    hallucination_sharpness: float = 0.6


DEFAULT_THRESHOLDS = OcrThresholds()


@dataclass(frozen=True)
class TextCheck:
    """What the OCR check found in one candidate.

    Attributes
    ----------
    entries : list of dict
        One JSON-ready dict per text region, in the order of the regions, with
        the keys ``bbox`` ([x, y, w, h] in reference pixels), ``source``
        (``"annotation"`` or ``"detected"``), ``true_text`` (or ``None``),
        ``reference_text``, ``candidate_text``, ``noisy_text`` (``None`` without a
        noisy shot), ``confidences`` ({"reference", "candidate", "noisy"}),
        ``cer`` and ``wer`` of the candidate and ``noisy_cer`` of the noisy shot
        (against the true string when known, else against the reference reading,
        both normalised; ``None`` when the region is not judged), ``diff`` (the
        character edits from that expected text to the candidate reading, see
        :func:`~evalkit.ocr.character_diff`), ``hallucinated`` (bool) and
        ``verdict``: ``kept``, ``recovered`` (unreadable or misread in the noisy
        shot, right in the output), ``hallucinated``, ``lost`` (legibility lost by
        the denoiser), ``lost_in_noisy`` (already lost in the noisy shot, not
        blamed), ``as_noisy`` (reads differently, but as the noisy shot does),
        ``uncertain`` (a small difference at low confidence) or ``unjudged``
        (the reference itself cannot be read with confidence).
    findings : list of Finding
        ``text_hallucination`` (critical), ``text_legibility_loss`` (warning) and
        ``text_recovered`` (info) findings, each with its region's box; score is
        the region's CER.
    metrics : dict
        ``ocr_cer`` (mean candidate CER over judged regions, ``None`` if none),
        ``text_hallucinations``, ``text_legibility_losses``, ``text_recovered``
        and ``text_regions`` (counts).
    engine : str
        Name of the engine that read the text.
    thresholds : OcrThresholds
        The thresholds the verdicts used.
    """

    entries: list[dict[str, Any]]
    findings: list[Finding]
    metrics: dict[str, float | int | None]
    engine: str
    thresholds: OcrThresholds = field(default=DEFAULT_THRESHOLDS)


def check_text(
    reference: np.ndarray,
    candidate: np.ndarray,
    *,
    noisy: np.ndarray | None = None,
    regions: Sequence[TextRegion] | None = None,
    engine: str | OcrEngine = "easyocr",
    thresholds: OcrThresholds = DEFAULT_THRESHOLDS,
    second_engine: str | OcrEngine | None = SECOND_ENGINE,
) -> TextCheck:
    """Read each text region in the reference, the candidate and the noisy shot, and judge.

    Parameters
    ----------
    reference : ndarray of shape (H, W, 3) or (H, W)
        The reference shot, float in [0, 1] (evalkit's canonical form).
    candidate : ndarray of the same shape
        A denoiser's output.
    noisy : ndarray of the same shape, optional
        The shot the candidate was made from. With it, text the noisy shot had
        already lost is not blamed on the denoiser, and recovered text is credited.
    regions : sequence of TextRegion, optional
        Boxes (x, y, w, h) in reference pixels with, when known, the true string.
        ``None`` finds lines of text on the reference with the engine's detector
        (EasyOCR's when the engine cannot detect); cached by image content.
    engine : str or OcrEngine, optional
        Registry name in :data:`OCR_ENGINES` or an engine instance.
    thresholds : OcrThresholds, optional
        Verdict thresholds.
    second_engine : str or OcrEngine or None, optional
        Engine that reads a suspected change a second time (skipped when it is
        not installed, or is ``engine``); ``None`` re-reads with ``engine`` only.

    Returns
    -------
    TextCheck

    Raises
    ------
    TypeError, ValueError
        Inputs that are not images of one shape, or a box outside the image.
    UnavailableError
        The engine cannot run here (package or weights missing).
    KeyError
        An unknown engine name.

    Notes
    -----
    Each annotated region is cropped with a margin of a quarter of its height
    (detected ones carry the detector's margin) and read as one line; an annotated
    box at least 56 px tall that the detector splits into several lines on the
    reference is read line by line at those same places in every image. Readings
    are cached by the crop's pixels, so across many candidates the reference and
    noisy crops are read once. A candidate reading is expected to equal the true
    string (when known) or the reference reading, after :func:`normalize_text`
    and case folding (:func:`same_text_key`).

    A different reading is a ``hallucinated`` or ``lost`` verdict only with
    :class:`Evidence` (kept in the entry's ``evidence``): the glyph pixels must
    have changed by more than a letter's worth and the noise
    (:func:`~evalkit.ocr.glyph_evidence`); and for invented text, read again on
    a crop enlarged :data:`CONFIRM_SCALE` times the reference must read as
    before and the output still differently, and ``second_engine`` must
    neither read reference and output alike nor read the reference as the
    output reads. Otherwise the line is ``uncertain`` and the entry's
    ``doubt`` says why.
    """
    reference = _as_rgb(reference, "reference")
    candidate = _as_rgb(candidate, "candidate")
    if candidate.shape != reference.shape:
        raise ValueError(
            f"reference and candidate shapes differ: {reference.shape} vs {candidate.shape}"
        )
    if noisy is not None:
        noisy = _as_rgb(noisy, "noisy")
        if noisy.shape != reference.shape:
            raise ValueError(
                f"reference and noisy shapes differ: {reference.shape} vs {noisy.shape}"
            )
    ocr = get_engine(engine)
    # Lines are cut from the float frames and converted crop by crop: a whole
    # 8-bit copy of the reference (60 MB at 20 MP) would be held while they are read.
    if regions is None:
        source = "detected"
        regions = detect_text_regions(reference, engine=ocr)
    else:
        source = "annotation"
        regions = tuple(regions)
        for region in regions:
            _check_box(region.bbox, reference.shape)

    if source == "annotation":
        plans = [_lines_in_box(reference, region.bbox, ocr) for region in regions]
    else:
        plans = [([region.bbox], 0.0) for region in regions]
    images = [image for image in (reference, candidate, noisy) if image is not None]
    ref_readings, cand_readings, *noisy_readings = _read_all(images, plans, ocr)
    noisy_readings = noisy_readings[0] if noisy_readings else [None] * len(plans)

    entries, findings = [], []
    for k, (region, (lines, margin)) in enumerate(zip(regions, plans, strict=True)):
        entry, finding = _judge(
            region,
            source,
            ref_readings[k],
            cand_readings[k],
            noisy_readings[k],
            _sharpness_ratio(reference, candidate, region.bbox),
            thresholds,
            lambda lines=lines, margin=margin, box=region.bbox: Evidence(
                _rereadings(reference, candidate, lines, ocr, second_engine, margin),
                glyph_evidence(reference, candidate, box, noisy=noisy),
            ),
        )
        entries.append(entry)
        if finding is not None:
            findings.append(finding)
    findings.sort(key=lambda f: -Severity(f.severity).rank)
    return TextCheck(
        entries=entries,
        findings=findings,
        metrics=_summary(entries),
        engine=ocr.name,
        thresholds=thresholds,
    )


def detect_text_regions(
    reference: np.ndarray, *, engine: str | OcrEngine = "easyocr"
) -> tuple[TextRegion, ...]:
    """Find lines of text in the reference; cached by image content.

    Parameters
    ----------
    reference : ndarray of shape (H, W, 3)
        Float in [0, 1], or uint8.
    engine : str or OcrEngine, optional
        Engine whose detector is used; EasyOCR's when it has none.

    Returns
    -------
    tuple of TextRegion
        One per line, ``text=None``, sorted top to bottom then left to right.
    """
    ocr = get_engine(engine)
    if not ocr.can_detect:
        ocr = get_engine("easyocr")
    image = reference if reference.dtype == np.uint8 else to_codes(_as_rgb(reference, "reference"))
    key = ("image", ocr.name, image_digest(image))
    boxes = DETECTIONS.get(key)
    if boxes is None:
        boxes = sorted(ocr.detect(image), key=lambda b: (b[1], b[0]))
        DETECTIONS.put(key, boxes)
    return tuple(TextRegion(bbox=box) for box in boxes)


def _lines_in_box(image: np.ndarray, box: BBox, ocr: OcrEngine) -> tuple[list[BBox], float]:
    """The lines of an annotated box and the margin to crop them with.

    The detector's lines when it finds several stacked in the box (they carry the
    detector's own margin), else the box itself, whose annotation is taken as tight.
    """
    if not ocr.can_detect or box[3] < MULTILINE_MIN_HEIGHT:
        return [box], ANNOTATION_MARGIN
    x, y, w, h = _padded(box, image.shape, ANNOTATION_MARGIN)
    crop = image[y : y + h, x : x + w]
    if crop.dtype != np.uint8:
        crop = to_codes(crop)
    key = ("box", ocr.name, image_digest(crop))
    lines = DETECTIONS.get(key)
    if lines is None:
        found = [(bx + x, by + y, bw, bh) for bx, by, bw, bh in ocr.detect(crop)]
        lines = _stacked_lines(found)
        DETECTIONS.put(key, lines or [])
    return (lines, 0.0) if lines else ([box], ANNOTATION_MARGIN)


def _stacked_lines(boxes: list[BBox]) -> list[BBox] | None:
    """Group boxes into rows that do not overlap vertically; None if fewer than two rows."""
    rows: list[list[BBox]] = []
    for box in sorted(boxes, key=lambda b: b[1] + b[3] / 2):
        centre = box[1] + box[3] / 2
        if rows and rows[-1][-1][1] <= centre <= max(b[1] + b[3] for b in rows[-1]):
            rows[-1].append(box)
        else:
            rows.append([box])
    if len(rows) < 2:
        return None
    merged = []
    for row in rows:
        x0 = min(b[0] for b in row)
        y0 = min(b[1] for b in row)
        x1 = max(b[0] + b[2] for b in row)
        y1 = max(b[1] + b[3] for b in row)
        merged.append((x0, y0, x1 - x0, y1 - y0))
    return merged


def _read_all(
    images: Sequence[np.ndarray],
    plans: list[tuple[list[BBox], float]],
    ocr: OcrEngine,
    *,
    scale: float = 1.0,
) -> list[list[Reading]]:
    """For each image, each plan's lines (boxes and margin) read and joined
    (:func:`_joined`); crops enlarged ``scale`` times.

    Every line of every image is read in one call, so that an engine can read
    several side by side (:meth:`OcrEngine.read_many`).
    """
    crops = [
        [_line_crops(image, lines, margin, scale) for lines, margin in plans] for image in images
    ]
    flat = iter(
        _readings([crop for per_image in crops for lines in per_image for crop in lines], ocr)
    )
    return [[_joined([next(flat) for _ in lines]) for lines in per_image] for per_image in crops]


def _joined(readings: list[Reading]) -> Reading:
    """The readings of a region's lines as one: their texts joined by spaces, and
    their confidences averaged weighted by length."""
    if len(readings) == 1:
        return readings[0]
    text = " ".join(r.text for r in readings if r.text)
    # Weighted by length, so a one-letter line does not outvote a sentence.
    weights = np.array([max(len(r.text), 1) for r in readings], dtype=np.float64)
    confidence = float(np.dot(weights, [r.confidence for r in readings]) / weights.sum())
    return Reading(text, confidence)


def _line_crops(
    image: np.ndarray, lines: list[BBox], margin: float, scale: float = 1.0
) -> list[np.ndarray]:
    """Each line box of ``image`` with its margin, as 8-bit codes, enlarged ``scale`` times.

    ``image`` is 8-bit codes, or float in [0, 1] converted to them crop by crop:
    the same codes as the whole frame's, without a full-frame copy (60 MB at 20 MP).
    """
    crops = []
    for box in lines:
        x, y, w, h = _padded(box, image.shape, margin)
        crop = image[y : y + h, x : x + w]
        if crop.dtype != np.uint8:
            crop = to_codes(crop)
        if scale != 1.0:
            import cv2

            crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        crops.append(crop)
    return crops


def _readings(crops: list[np.ndarray], ocr: OcrEngine) -> list[Reading]:
    """Each crop's reading: from the cache (keyed by its pixels), the others read
    together (:meth:`OcrEngine.read_many`), each distinct crop once, and cached."""
    keys = [(ocr.name, image_digest(crop)) for crop in crops]
    readings = {key: READINGS.get(key) for key in dict.fromkeys(keys)}
    unread = {key: crop for key, crop in zip(keys, crops, strict=True) if readings[key] is None}
    for key, reading in zip(unread, ocr.read_many(list(unread.values())), strict=True):
        READINGS.put(key, reading)
        readings[key] = reading
    return [readings[key] for key in keys]


def _rereadings(
    reference: np.ndarray,
    candidate: np.ndarray,
    lines: list[BBox],
    ocr: OcrEngine,
    second: str | OcrEngine | None,
    margin: float,
) -> dict[str, dict[str, str]]:
    """Independent second readings of a line: enlarged, and by the second engine
    (images as :func:`_line_crops` takes them)."""
    sources = {f"{ocr.name} x{CONFIRM_SCALE}": (ocr, CONFIRM_SCALE)}
    if second is not None:
        second = get_engine(second)
        if second.name != ocr.name:
            sources[second.name] = (second, 1.0)
    readings, images = {}, (reference, candidate)
    for source, (engine, scale) in sources.items():
        try:
            (ref,), (cand,) = _read_all(images, [(lines, margin)], engine, scale=scale)
        except UnavailableError:
            continue  # not installed here: one reading fewer, never a failure
        readings[source] = {"reference": ref.text, "candidate": cand.text}
    return readings


def _padded(box: BBox, shape: tuple[int, ...], margin: float) -> BBox:
    x, y, w, h = box
    margin = round(margin * h)
    x0, y0 = max(0, x - margin), max(0, y - margin)
    x1, y1 = min(shape[1], x + w + margin), min(shape[0], y + h + margin)
    return (x0, y0, x1 - x0, y1 - y0)


def _judge(
    region: TextRegion,
    source: str,
    reference: Reading,
    candidate: Reading,
    noisy: Reading | None,
    sharpness: float,
    th: OcrThresholds,
    recheck: Callable[[], Evidence],
) -> tuple[dict[str, Any], Finding | None]:
    true = normalize_text(region.text) if region.text is not None else None
    ref = normalize_text(reference.text)
    out = normalize_text(candidate.text)
    noi = normalize_text(noisy.text) if noisy is not None else None

    def legible(reading: Reading, text: str) -> bool:
        return bool(text) and reading.confidence >= th.legible_confidence

    # What a faithful output may read as: the true string, and the reference
    # reading when it can be trusted (the engine may misread the reference the
    # same way it misreads a faithful output, e.g. "ő" read as "o").
    trusted_reference = legible(reference, ref) and (
        reference.confidence >= th.reference_confidence or ref == true
    )
    accepted = {t for t in (true, ref if trusted_reference else None) if t}
    expected = true if true else ref

    entry: dict[str, Any] = {
        "bbox": list(region.bbox),
        "source": source,
        "true_text": region.text,
        "reference_text": reference.text,
        "candidate_text": candidate.text,
        "noisy_text": noisy.text if noisy is not None else None,
        "confidences": {
            "reference": reference.confidence,
            "candidate": candidate.confidence,
            "noisy": noisy.confidence if noisy is not None else None,
        },
        "sharpness_ratio": sharpness,
        "cer": None,
        "wer": None,
        "noisy_cer": None,
        "diff": [],
        "hallucinated": False,
        "verdict": UNJUDGED,
    }
    if not accepted or (not trusted_reference and out != true):
        # Neither a true string that the output matches nor a reading of the
        # reference to compare with: nothing can be said about this region.
        return entry, None

    cer = character_error_rate(expected, out)
    # Distance to the nearest acceptable reading: "kőłyboard" read as "kotyboard"
    # in both reference and output is no change.
    change = min(character_error_rate(t, out) for t in accepted)
    closest = min(accepted, key=lambda t: character_error_rate(t, out))
    diff = character_diff(closest, out)
    noisy_ok = noi in accepted if noi is not None else None
    entry.update(
        cer=cer,
        wer=word_error_rate(expected, out),
        noisy_cer=character_error_rate(expected, noi) if noi is not None else None,
        diff=diff,
    )
    shown = reference.text if trusted_reference else region.text
    box = tuple(region.bbox)

    folded = {same_text_key(t) for t in accepted}
    if same_text_key(out) in folded:
        if noisy is not None and not (noisy_ok and legible(noisy, noi)):
            entry["verdict"] = RECOVERED
            return entry, Finding(
                "text_recovered",
                Severity.INFO,
                cer,
                box,
                f'text "{shown}" reads correctly in the output but not in the noisy shot '
                f'(reads "{noisy.text}", confidence {noisy.confidence:.2f})',
            )
        entry["verdict"] = KEPT
        return entry, None

    if noi is not None and same_text_key(noi) == same_text_key(out):
        # The noisy shot already reads this way: the denoiser did not invent it.
        entry["verdict"] = AS_NOISY
        return entry, None

    if not any(_has_word_char(e["reference"] + e["output"]) for e in diff):
        # Only punctuation differs (":" read as "."): recognisers are unreliable on
        # dots and dashes even in clean text, so it is no evidence either way.
        entry["verdict"] = UNCERTAIN
        return entry, None
    # Letters only deleted is text lost (a blurred-away letter), not text invented.
    invented = any(e["op"] != "delete" and _has_word_char(e["output"]) for e in diff)
    hallucinated = (
        invented
        and sharpness >= th.hallucination_sharpness
        and legible(candidate, out)
        and candidate.confidence >= th.hallucination_confidence
    )
    lost = not hallucinated and (
        not invented
        or not legible(candidate, out)
        or sharpness < th.hallucination_sharpness
        or candidate.confidence < th.confidence_drop * reference.confidence
        or change >= th.legibility_cer
    )
    if not (hallucinated or lost):
        entry["verdict"] = UNCERTAIN
        return entry, None
    if lost and noisy is not None and not (noisy_ok and legible(noisy, noi)):
        entry["verdict"] = LOST_IN_NOISY
        return entry, None
    # One reading is not evidence: on real photos a one-letter misread of the
    # reference ("Objective" read "Oblective") or a flip of a faithful output
    # makes text look changed. Invented text must be read again, by the engine
    # on an enlarged crop and by a second engine; any change must be in the
    # glyph pixels.
    evidence = recheck()
    entry["evidence"] = evidence.to_dict()
    doubt = evidence.doubt(accepted, ref if trusted_reference else None, out, invented=hallucinated)
    if doubt is not None:
        entry.update(verdict=UNCERTAIN, doubt=doubt)
        return entry, None
    glyphs = evidence.glyphs
    seen = (
        f"glyphs changed by {glyphs.change:.2f} of the stroke contrast, "
        f"threshold {glyphs.threshold:.2f}"
    )
    if hallucinated:
        entry.update(verdict=HALLUCINATED, hallucinated=True)
        return entry, Finding(
            "text_hallucination",
            Severity.CRITICAL,
            change,
            box,
            f'reference reads "{shown}", output reads "{candidate.text}" '
            f"(CER {change:.2f}: {describe_diff(diff)}; {seen})",
        )
    entry["verdict"] = LOST
    return entry, Finding(
        "text_legibility_loss",
        Severity.WARNING,
        change,
        box,
        f'text "{shown}" became unreadable: output reads "{candidate.text}" '
        f"(confidence {reference.confidence:.2f} → {candidate.confidence:.2f}, "
        f"CER {change:.2f}; {seen})",
    )


def _has_word_char(text: str) -> bool:
    return any(unicodedata.category(char)[0] in "LN" for char in text)


def _sharpness_ratio(reference: np.ndarray, candidate: np.ndarray, box: BBox) -> float:
    """Mean gradient magnitude of the candidate over the reference's, in the box (grey)."""
    x, y, w, h = box

    def energy(image: np.ndarray) -> float:
        grey = image[y : y + h, x : x + w].astype(np.float64).mean(axis=-1)
        if min(grey.shape) < 2:
            return 0.0
        gy, gx = np.gradient(grey)
        return float(np.hypot(gx, gy).mean())

    reference_energy = energy(reference)
    return energy(candidate) / reference_energy if reference_energy > 0 else 1.0


def _summary(entries: list[dict[str, Any]]) -> dict[str, float | int | None]:
    judged = [e["cer"] for e in entries if e["cer"] is not None]
    verdicts = [e["verdict"] for e in entries]
    return {
        "ocr_cer": float(np.mean(judged)) if judged else None,
        "text_hallucinations": verdicts.count(HALLUCINATED),
        "text_legibility_losses": verdicts.count(LOST),
        "text_recovered": verdicts.count(RECOVERED),
        "text_regions": len(entries),
    }


def _as_rgb(image: Any, name: str) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(image).__name__}")
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{name} must have shape (H, W, 3) or (H, W), got {image.shape}")
    if not np.issubdtype(image.dtype, np.floating):
        raise TypeError(f"{name} must be a float array in [0, 1], got dtype {image.dtype}")
    return image


def _check_box(box: BBox, shape: tuple[int, ...]) -> None:
    x, y, w, h = box
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > shape[1] or y + h > shape[0]:
        raise ValueError(
            f"text box {tuple(box)} is not inside the {shape[1]}x{shape[0]} image "
            "(boxes are x, y, width, height)"
        )
