"""EasyOCR itself, as a user would call it: what evalkit's OCR engine is tested against."""

from __future__ import annotations

import functools
import warnings


@functools.cache
def easyocr_reader():
    """EasyOCR's own ``Reader(["en"])`` on the CPU (torch CRAFT, quantised recogniser),
    with the offline weights evalkit uses."""
    import easyocr
    import easyocr_en_models

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's quantisation deprecations, in easyocr
        return easyocr.Reader(
            ["en"],
            gpu=False,
            model_storage_directory=easyocr_en_models.model_dir(),
            download_enabled=False,
            verbose=False,
        )
