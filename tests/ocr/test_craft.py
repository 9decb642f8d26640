"""Where CRAFT's ONNX export is kept: made once, read back, never half-written.

That it is EasyOCR's own network, finding the same lines, is tested with the
EasyOCR engine in test_easyocr_rendered.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evalkit.ocr import _craft

MD5 = "2f8227d2def4037cdb3b34389dcf9ec1"


@pytest.fixture
def exports(monkeypatch):
    """Stands in for torch's exporter (seconds, and torch): records each export."""
    made = []

    def export(checkpoint: Path) -> bytes:
        made.append(checkpoint)
        return b"exported network"

    monkeypatch.setattr(_craft, "export_craft", export)
    return made


def test_the_export_is_kept_in_the_weights_folder_and_read_back(tmp_path, monkeypatch, exports):
    monkeypatch.setenv("EVALKIT_WEIGHTS_DIR", str(tmp_path / "weights"))
    first = _craft.exported_craft(Path("craft_mlt_25k.pth"), MD5)
    assert first == tmp_path / "weights" / f"easyocr-craft-{MD5}-opset{_craft.OPSET}.onnx"
    assert first.read_bytes() == b"exported network"
    assert _craft.exported_craft(Path("craft_mlt_25k.pth"), MD5) == first
    assert len(exports) == 1
    assert [p.name for p in first.parent.iterdir()] == [first.name]


def test_another_checkpoint_is_exported_again(tmp_path, monkeypatch, exports):
    monkeypatch.setenv("EVALKIT_WEIGHTS_DIR", str(tmp_path))
    first = _craft.exported_craft(Path("a.pth"), MD5)
    other = _craft.exported_craft(Path("b.pth"), "0" * 32)
    assert first != other
    assert exports == [Path("a.pth"), Path("b.pth")]


def test_a_folder_that_cannot_be_written_serves_the_export_from_memory(
    tmp_path, monkeypatch, exports
):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("EVALKIT_WEIGHTS_DIR", str(blocked))
    assert _craft.exported_craft(Path("craft_mlt_25k.pth"), MD5) == b"exported network"
    assert list(tmp_path.iterdir()) == [blocked]


def test_a_kept_export_is_used_without_reading_the_checkpoint(tmp_path, monkeypatch, exports):
    monkeypatch.setenv("EVALKIT_WEIGHTS_DIR", str(tmp_path))
    kept = tmp_path / _craft.export_name(_craft.CHECKPOINT_MD5)
    kept.write_bytes(b"exported before")
    assert _craft.craft_model(tmp_path / "no-weights-here") == kept
    assert exports == []


def test_a_checkpoint_that_is_missing_or_not_easyocrs_is_refused(tmp_path, monkeypatch, exports):
    from evalkit.errors import UnavailableError

    monkeypatch.setenv("EVALKIT_WEIGHTS_DIR", str(tmp_path / "weights"))
    with pytest.raises(UnavailableError, match="CRAFT weights are not installed"):
        _craft.craft_model(tmp_path)
    (tmp_path / _craft.CHECKPOINT).write_bytes(b"some other network")
    with pytest.raises(UnavailableError, match="MD5 differs"):
        _craft.craft_model(tmp_path)
    assert exports == []
