"""EasyOCR's recogniser refuses weights that are not EasyOCR's; that it reads as
EasyOCR reads is tested with the engine in test_easyocr_rendered.py."""

from __future__ import annotations

import pytest

from evalkit.errors import UnavailableError

_crnn = pytest.importorskip("evalkit.ocr._crnn")


def test_missing_or_foreign_recogniser_weights_are_refused(tmp_path):
    with pytest.raises(UnavailableError, match="recogniser weights are not installed"):
        _crnn.Recogniser(tmp_path)
    (tmp_path / _crnn.CHECKPOINT).write_bytes(b"some other network")
    with pytest.raises(UnavailableError, match="MD5 differs"):
        _crnn.Recogniser(tmp_path)
