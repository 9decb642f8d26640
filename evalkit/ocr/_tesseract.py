"""An optional second engine: Tesseract 5 through pytesseract.

Unlike EasyOCR's English model, Tesseract with the Hungarian and Polish data reads
"kőłyboard" as written, so the message quotes the glyphs the denoiser invented.
It needs the ``tesseract`` program and its language data (Debian:
``apt-get install tesseract-ocr tesseract-ocr-hun tesseract-ocr-pol``) and
``pip install pytesseract``. It recognises only; text regions come from the
annotations or from another engine's detector.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .._threads import thread_budget
from ..errors import UnavailableError
from ._engine import OcrEngine, Reading

# Tesseract is tuned for text about 20-40 px high; smaller crops are enlarged.
_MIN_HEIGHT_PX = 48


class TesseractEngine(OcrEngine):
    """Tesseract in single-line mode (``--psm 7``) with English, Hungarian and Polish.

    Parameters
    ----------
    languages : str, optional
        Tesseract ``-l`` argument; every listed language must be installed.
    """

    name = "tesseract"

    def __init__(self, languages: str = "eng+hun+pol"):
        self.languages = languages
        self._checked = False

    def read_many(self, crops: Sequence[np.ndarray]) -> list[Reading]:
        """Each crop's reading, by as many ``tesseract`` processes at once as this
        process may keep cores busy (:func:`evalkit._threads.thread_budget`): each
        reading is a process of its own (about 0.3 s, most of it loading the
        language data), so two side by side take little more than one."""
        readers = min(thread_budget(), len(crops))
        if readers < 2:
            return [self.read(crop) for crop in crops]
        self._pytesseract()  # imported and checked once, before the threads start
        with ThreadPoolExecutor(readers, thread_name_prefix="evalkit-tesseract") as pool:
            return list(pool.map(self.read, crops))

    def read(self, crop: np.ndarray) -> Reading:
        pytesseract = self._pytesseract()
        from PIL import Image

        image = Image.fromarray(np.ascontiguousarray(crop)).convert("L")
        if image.height < _MIN_HEIGHT_PX:
            scale = _MIN_HEIGHT_PX / image.height
            image = image.resize(
                (max(1, round(image.width * scale)), _MIN_HEIGHT_PX), Image.Resampling.BICUBIC
            )
        data = pytesseract.image_to_data(
            image,
            lang=self.languages,
            config="--psm 7",
            output_type=pytesseract.Output.DICT,
        )
        words, confidences = [], []
        for word, confidence in zip(data["text"], data["conf"], strict=True):
            # conf is -1 for layout rows (block, line) that carry no word.
            if word.strip() and float(confidence) >= 0:
                words.append(word.strip())
                confidences.append(float(confidence) / 100.0)
        if not words:
            return Reading("", 0.0)
        return Reading(" ".join(words), float(np.mean(confidences)))

    def _pytesseract(self):
        try:
            import pytesseract
        except ImportError:
            raise UnavailableError(
                "the tesseract engine needs pytesseract: pip install pytesseract"
            ) from None
        if not self._checked:
            try:
                installed = set(pytesseract.get_languages(config=""))
            except (pytesseract.TesseractNotFoundError, OSError):
                raise UnavailableError(
                    "the tesseract engine needs the tesseract program: "
                    "apt-get install tesseract-ocr tesseract-ocr-hun tesseract-ocr-pol"
                ) from None
            missing = [lang for lang in self.languages.split("+") if lang not in installed]
            if missing:
                raise UnavailableError(
                    f"tesseract language data missing: {', '.join(missing)} "
                    f"(apt-get install {' '.join('tesseract-ocr-' + m for m in missing)})"
                )
            self._checked = True
        return pytesseract
