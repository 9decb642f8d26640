"""An alignment decided once per pair and recalled in a later process: the same
aligned reference bit for bit, the same record, nothing estimated again."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import shift as subpixel_shift

from evalkit import cache
from evalkit.align import _recall, align_once, align_reference


@pytest.fixture
def folder(tmp_path):
    cache.use_cache(tmp_path)
    yield tmp_path
    cache.use_cache(None)


@pytest.fixture
def shifted_pair():
    """A textured scene, the noisy shot moved 0.4 px and 6 % darker, with noise."""
    rng = np.random.default_rng(5)
    from scipy.ndimage import gaussian_filter

    scene = gaussian_filter(rng.random((192, 256, 3)), (2, 2, 0)).astype(np.float32)
    scene = (scene - scene.min()) / (scene.max() - scene.min())
    moved = subpixel_shift(scene, (0.4, -0.3, 0), order=3, mode="reflect")
    noisy = np.clip(0.94 * moved + rng.normal(0, 0.01, scene.shape), 0, 1).astype(np.float32)
    return scene, noisy


def test_a_recalled_alignment_is_the_decided_one(folder, shifted_pair, monkeypatch):
    reference, noisy = shifted_pair
    decided = align_once(reference, noisy, mode="always")
    assert decided.method == "translation" and decided.exposure is not None

    def estimate(*args, **kwargs):
        raise AssertionError("estimated again")

    monkeypatch.setattr(_recall, "align_reference", estimate)
    recalled = align_once(reference, noisy, mode="always")
    assert np.array_equal(recalled.reference, decided.reference)
    assert recalled.to_dict() == decided.to_dict()
    assert recalled.box == decided.box
    assert recalled.gain == decided.gain


@pytest.mark.parametrize("mode", ["auto", "never"])
def test_an_unaligned_pair_is_recalled_unaligned(folder, shifted_pair, mode):
    reference, _ = shifted_pair
    first = align_once(reference, reference, mode=mode)
    again = align_once(reference, reference, mode=mode)
    assert again.is_identity and first.is_identity
    assert again.to_dict() == first.to_dict()
    assert np.array_equal(again.reference, reference)


def test_without_a_cache_it_is_align_reference(shifted_pair):
    reference, noisy = shifted_pair
    once = align_once(reference, noisy, mode="always")
    direct = align_reference(reference, noisy, mode="always")
    assert once.to_dict() == direct.to_dict()
    assert np.array_equal(once.reference, direct.reference)
