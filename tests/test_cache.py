"""The on-disk cache of reference work: shared across processes, keyed by version,
never in the way (an unusable folder warns once and costs only time)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import evalkit
from evalkit import cache
from evalkit.ocr import OcrEngine, Reading, clear_cache, detect_text_regions


@pytest.fixture
def folder(tmp_path):
    cache.use_cache(tmp_path / "cache")
    clear_cache()
    yield tmp_path / "cache"
    cache.use_cache(None)
    clear_cache()


def test_a_value_put_by_another_process_is_read_back(folder):
    code = (
        "from evalkit import cache; "
        f"cache.use_cache({str(folder)!r}); cache.put('lines', 'abc', [[1, 2, 3, 4]])"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert cache.get("lines", "abc") == [[1, 2, 3, 4]]
    assert cache.get("lines", "other") is None
    assert (folder / cache.FILE_NAME).is_file()


def test_another_evalkit_version_does_not_read_what_this_one_wrote(folder, monkeypatch):
    cache.put("lines", "abc", [1])
    monkeypatch.setattr(evalkit, "__version__", "99.0")
    assert cache.get("lines", "abc") is None


def test_an_unusable_folder_warns_once_and_scores_on(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    cache.use_cache(blocked)
    try:
        with pytest.warns(UserWarning, match="not usable"):
            assert cache.get("lines", "abc") is None
        cache.put("lines", "abc", [1])  # no second warning, no error
        assert cache.get("lines", "abc") is None
    finally:
        cache.use_cache(None)


def test_off_keeps_nothing(monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, "off")
    assert cache.default_folder() is None
    monkeypatch.setenv(cache.CACHE_ENV, "/some/where")
    assert str(cache.default_folder()) == "/some/where"


def test_kept_in_returns_to_the_cache_in_use_before(folder, tmp_path):
    with cache.kept_in(tmp_path / "run"):
        cache.put("lines", "run-only", [1])
        assert cache.cache_folder() == tmp_path / "run"
    assert cache.cache_folder() == folder
    assert cache.get("lines", "run-only") is None


class CountingEngine(OcrEngine):
    name = "counting"
    can_detect = True

    def __init__(self):
        self.detections = 0

    def read(self, crop):
        return Reading("", 0.0)

    def detect(self, image):
        self.detections += 1
        return [(4, 4, 20, 8)]


def test_lines_found_on_a_reference_are_found_once_for_every_later_process(folder):
    reference = np.random.default_rng(0).random((40, 60, 3), dtype=np.float32)
    engine = CountingEngine()
    first = detect_text_regions(reference, engine=engine)
    clear_cache()  # a new process: nothing in memory, the file on disk
    again = detect_text_regions(reference, engine=engine)
    assert engine.detections == 1
    assert again == first
    cache.use_cache(None)
    clear_cache()
    detect_text_regions(reference, engine=engine)
    assert engine.detections == 2


def test_image_digest_tells_pixels_shape_and_dtype_apart():
    from blake3 import blake3

    image = np.random.default_rng(0).random((48, 64, 3), dtype=np.float32)
    digest = cache.image_digest(image)
    # BLAKE3 of the shape and dtype, then the bytes, as the docstring says.
    expected = blake3(b"(48, 64, 3)<f4" + image.tobytes()).hexdigest(length=16)
    assert digest == expected and len(digest) == 32
    changed = image.copy()
    changed[10, 20, 1] += 1e-6
    assert cache.image_digest(changed) != digest
    assert cache.image_digest(image.reshape(64, 48, 3)) != digest
    assert cache.image_digest(image.astype(np.float64)) != digest
    # A strided view is keyed by its pixels, as its contiguous copy is.
    view = image[::2, ::2]
    assert cache.image_digest(view) == cache.image_digest(np.ascontiguousarray(view))
