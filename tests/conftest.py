"""Shared fixtures: small deterministic images and paths to optional real data."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE_MANIFEST = REPO / "datasets" / "sample" / "manifest.toml"
SHARED_DATA = REPO.parent / "shared" / "data"

# Tests neither read what a user's earlier scoring left in ~/.cache/evalkit nor
# add to it; the tests of evalkit.cache (and runs, which keep their own in the
# results folder) choose a folder themselves.
os.environ["EVALKIT_CACHE"] = "off"


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def smooth_image(rng):
    """A 48x64 RGB float32 image with smooth gradients and an edge, in [0, 1]."""
    y, x = np.mgrid[0:48, 0:64].astype(np.float32)
    image = np.stack([x / 63, y / 47, 0.5 + 0.4 * np.sin(x / 5) * np.cos(y / 7)], axis=-1)
    image[20:30, 10:40] = [0.9, 0.1, 0.2]
    return image.astype(np.float32)


@pytest.fixture
def shared_data():
    """The real photographs beside the project; skips the test when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture
def tiny_dataset(tmp_path, smooth_image, rng):
    """A two-pair dataset of 48x64 PNGs with a TOML manifest; returns the manifest path."""
    from evalkit.io import save_image

    folder = tmp_path / "tiny"
    folder.mkdir()
    save_image(folder / "ref.png", smooth_image)
    for iso, sigma in ((800, 0.03), (3200, 0.08)):
        noisy = np.clip(smooth_image + rng.normal(0, sigma, smooth_image.shape), 0, 1)
        save_image(folder / f"iso{iso}.png", noisy)
    (folder / "manifest.toml").write_text(
        """
[dataset]
name = "tiny"

[[pair]]
id = "a-iso800"
reference = "ref.png"
noisy = "iso800.png"
camera = "test"
iso = 800
  [[pair.text]]
  bbox = [1, 2, 30, 10]
  text = "keyboard"

[[pair]]
id = "a-iso3200"
reference = "ref.png"
noisy = "iso3200.png"
iso = 3200
lens = "50mm"
  [[pair.region]]
  name = "paper"
  kind = "flat"
  bbox = [0, 0, 10, 10]
"""
    )
    return folder / "manifest.toml"
