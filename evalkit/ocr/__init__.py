"""OCR fidelity: does the text in a denoiser's output still say what the reference says?

:func:`check_text` reads every text region of the reference, the candidate and
(optionally) the noisy shot with one OCR engine and returns per-region readings,
error rates, character diffs and findings (``text_hallucination``,
``text_legibility_loss``, ``text_recovered``).

Engines live in :data:`OCR_ENGINES`: ``easyocr`` (default, English, offline
weights), ``tesseract`` (optional; reads Hungarian and Polish letters such as
"ő", "ł") and ``null`` (reads nothing; for tests). A third-party package adds one
through the ``evalkit.ocr_engines`` entry-point group, whose value is an
:class:`OcrEngineSpec`. Nothing heavy is imported until an engine reads.
"""

from ..cache import image_digest
from ._cache import CacheInfo, cache_info, clear_cache
from ._check import (
    DEFAULT_THRESHOLDS,
    Evidence,
    OcrThresholds,
    TextCheck,
    check_text,
    detect_text_regions,
    same_text_key,
)
from ._compare import (
    character_diff,
    character_error_rate,
    normalize_text,
    word_error_rate,
)
from ._engine import OCR_ENGINES, NullEngine, OcrEngine, OcrEngineSpec, Reading, get_engine
from ._evidence import GlyphEvidence, glyph_evidence

for _spec in (
    OcrEngineSpec(
        "easyocr",
        "evalkit.ocr._easyocr:EasyOcrEngine",
        languages=("en",),
        summary="EasyOCR CRAFT detector + English CRNN, CPU, offline weights",
    ),
    OcrEngineSpec(
        "tesseract",
        "evalkit.ocr._tesseract:TesseractEngine",
        languages=("en", "hu", "pl"),
        summary="Tesseract 5 via pytesseract, eng+hun+pol (optional; recognition only)",
    ),
    OcrEngineSpec("null", "evalkit.ocr._engine:NullEngine", summary="reads nothing (tests)"),
):
    OCR_ENGINES.register(_spec)

__all__ = [
    "DEFAULT_THRESHOLDS",
    "OCR_ENGINES",
    "CacheInfo",
    "Evidence",
    "GlyphEvidence",
    "NullEngine",
    "OcrEngine",
    "OcrEngineSpec",
    "OcrThresholds",
    "Reading",
    "TextCheck",
    "cache_info",
    "character_diff",
    "character_error_rate",
    "check_text",
    "clear_cache",
    "detect_text_regions",
    "get_engine",
    "glyph_evidence",
    "image_digest",
    "normalize_text",
    "same_text_key",
    "word_error_rate",
]
