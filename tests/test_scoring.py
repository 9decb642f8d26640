"""evalkit.score's own switches (the metrics and detectors have their own tests)."""

from __future__ import annotations

import numpy as np
import pytest

import evalkit


def test_maps_are_made_only_when_asked_for_and_change_nothing_else():
    rng = np.random.default_rng(3)
    reference = rng.uniform(0.2, 0.8, (96, 128, 3)).astype(np.float32)
    noisy = np.clip(reference + rng.normal(0, 0.05, reference.shape), 0, 1).astype(np.float32)
    candidate = (0.5 * (reference + noisy)).astype(np.float32)
    with_maps = evalkit.score(reference, candidate, noisy=noisy, ocr=None)
    without = evalkit.score(reference, candidate, noisy=noisy, ocr=None, maps=False)
    assert without.maps == {}
    assert {"abs_diff", "ssim"} <= set(with_maps.maps)
    assert without.to_dict() == with_maps.to_dict()


def test_a_missing_candidate_or_unknown_engine_fails_before_any_work(tmp_path, monkeypatch):
    # The candidate is decoded after the reference's text is found (a 20 MP
    # score's peak of memory must not hold it), so its file is checked first.
    from evalkit.errors import ImageError
    from evalkit.io import save_image

    reference = save_image(tmp_path / "reference.png", np.full((64, 64, 3), 0.5, np.float32))
    decoded = []
    monkeypatch.setattr("evalkit.scoring.load_image", lambda path: decoded.append(path))
    with pytest.raises(ImageError, match=r"gone\.png: no such file"):
        evalkit.score(reference, tmp_path / "gone.png", ocr="null")
    with pytest.raises(KeyError, match="nope"):
        evalkit.score(reference, reference, ocr="nope")
    assert decoded == []


def test_text_lines_are_found_before_the_candidate_is_decoded(tmp_path, monkeypatch):
    # CRAFT's peak of memory must not also hold the candidate (240 MB at 20 MP).
    from evalkit.io import save_image
    from evalkit.ocr import NullEngine, clear_cache

    order = []

    class Spy(NullEngine):
        def detect(self, image):
            order.append("detect")
            return []

    rng = np.random.default_rng(4)
    reference = rng.uniform(0.2, 0.8, (64, 96, 3)).astype(np.float32)
    paths = {name: save_image(tmp_path / f"{name}.png", reference) for name in ("ref", "out")}
    load = evalkit.scoring.load_image
    monkeypatch.setattr(
        "evalkit.scoring.load_image", lambda path: order.append(path.name) or load(path)
    )
    clear_cache()
    evalkit.score(paths["ref"], paths["out"], ocr=Spy(), maps=False)
    # Once: the check reads the lines back from the cache.
    assert order == ["ref.png", "detect", "out.png"]
