"""The optional Tesseract engine reads the invented glyphs themselves ("ő", "ł")."""

from __future__ import annotations

import pytest

from evalkit.datasets import TextRegion
from evalkit.errors import UnavailableError
from evalkit.ocr import check_text, get_engine

from ._render import DEJAVU, Style, render


@pytest.fixture(scope="module")
def tesseract():
    engine = get_engine("tesseract")
    try:
        engine._pytesseract()
    except UnavailableError as exc:
        pytest.skip(str(exc))
    return engine


@pytest.mark.skipif(not DEJAVU.is_file(), reason="DejaVu fonts not installed")
def test_tesseract_quotes_the_invented_diacritics(tesseract):
    style = Style(size=30)
    reference, boxes = render(["keyboard"], style)
    changed, _ = render(["kőłyboard"], style, layout=["keyboard"])
    result = check_text(
        reference, changed, regions=[TextRegion(boxes[0], "keyboard")], engine=tesseract
    )
    (finding,) = result.findings
    assert finding.detector == "text_hallucination"
    # Tesseract 5.3 reads the "ő" as "ő" or "ó" depending on size; the "ł" is exact.
    assert 'łyboard"' in finding.message
    assert result.entries[0]["candidate_text"] in {"kőłyboard", "kółyboard"}
    assert result.entries[0]["reference_text"] == "keyboard"


def test_tesseract_engine_is_registered_without_importing_pytesseract():
    import subprocess
    import sys

    code = (
        "import sys; from evalkit.ocr import OCR_ENGINES; "
        "print('tesseract' in OCR_ENGINES, 'pytesseract' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]


@pytest.mark.skipif(not DEJAVU.is_file(), reason="DejaVu fonts not installed")
def test_lines_are_read_by_tesseracts_side_by_side_within_the_thread_budget(tesseract, monkeypatch):
    import threading

    from evalkit import _threads
    from evalkit.io import to_codes
    from evalkit.ocr import _tesseract

    words = ["keyboard", "kőłyboard", "Label 8"]
    image, boxes = render(words, Style(size=30))
    crops = [to_codes(image[y : y + h, x : x + w]) for x, y, w, h in boxes]
    one_by_one = [tesseract.read(crop) for crop in crops]
    threads = []
    read = type(tesseract).read

    def spy(self, crop):
        threads.append(threading.current_thread().name)
        return read(self, crop)

    monkeypatch.setattr(type(tesseract), "read", spy)
    monkeypatch.setattr(_tesseract, "thread_budget", lambda: 2)  # two cores, or more
    assert tesseract.read_many(crops) == one_by_one
    assert {name.split("_")[0] for name in threads} == {"evalkit-tesseract"}
    # A worker kept to one thread (evalkit._threads.use_one_thread) reads in turn.
    threads.clear()
    monkeypatch.setattr(_tesseract, "thread_budget", _threads.thread_budget)
    monkeypatch.setattr(_threads, "_ONE_THREAD", [True])
    assert tesseract.read_many(crops) == one_by_one
    assert threads == [threading.current_thread().name] * len(crops)
