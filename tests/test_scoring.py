"""evalkit.score's own switches (the metrics and detectors have their own tests)."""

from __future__ import annotations

import numpy as np

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
