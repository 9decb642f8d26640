"""Fixtures for the OCR tests: a clean cache per test and one shared EasyOCR engine."""

from __future__ import annotations

import pytest

from evalkit.ocr import clear_cache


@pytest.fixture
def fresh_ocr_cache():
    """Empty OCR caches with zeroed counters, for tests that count reads.

    Readings are cached process-wide by crop pixels; EasyOCR tests share them on
    purpose (the same reference crops recur), tests that count must start empty.
    """
    clear_cache()
    yield
    clear_cache()


@pytest.fixture(scope="module")
def easyocr_engine():
    """The process-wide EasyOCR engine, loaded once (about 3-15 s on a busy CPU)."""
    pytest.importorskip("easyocr")
    pytest.importorskip("easyocr_en_models")
    from evalkit.ocr import get_engine

    engine = get_engine("easyocr")
    # The weights loaded here, not inside the first timed test.
    engine.load()
    engine.craft()
    return engine


@pytest.fixture(scope="module")
def easyocr_reader():
    """EasyOCR's own reader, which the engine's lines and readings must equal."""
    pytest.importorskip("easyocr")
    pytest.importorskip("easyocr_en_models")
    from ._library import easyocr_reader

    return easyocr_reader()
