"""Runs decide the alignment per pair as `evalkit score` does, and never reuse an
alignment made under another mode."""

from __future__ import annotations

import numpy as np
import pytest

import evalkit
from evalkit.io import save_image
from evalkit.runner import RunConfig


@pytest.fixture
def shifted_pair(tmp_path, smooth_image, rng):
    """A reference moved by 2 px, saved under PolyU's names and under plain ones."""
    import cv2

    big = cv2.resize(smooth_image, (258, 192), interpolation=cv2.INTER_CUBIC)
    moved = big[:, 2:]  # the scene 2 px to the left of where the noisy shot has it
    noisy = np.clip(big[:, :-2] + rng.normal(0, 0.02, moved.shape), 0, 1)
    folder = tmp_path / "data"
    folder.mkdir()
    for stem, ref, out in (("Canon5D2_bag", "mean", "Real"), ("desk", "ref", "noisy")):
        save_image(folder / f"{stem}_{ref}.png", moved)
        save_image(folder / f"{stem}_{out}.png", noisy)
    manifest = folder / "manifest.toml"
    pairs = (("polyu", "Canon5D2_bag_mean", "Canon5D2_bag_Real"), ("own", "desk_ref", "desk_noisy"))
    manifest.write_text(
        '[dataset]\nname = "t"\n'
        + "".join(
            f'\n[[pair]]\nid = "{i}"\nreference = "{r}.png"\nnoisy = "{n}.png"\n'
            for i, r, n in pairs
        )
    )
    return manifest


def _run(manifest, align):
    config = RunConfig.from_dict(
        {
            "dataset": str(manifest),
            "metrics": ["psnr"],
            "ocr": "none",
            "detectors": [],
            "align": align,
            "denoiser": [{"name": "noisy"}],
        }
    )
    return evalkit.run(config)


def test_a_manifest_of_benchmark_files_keeps_the_benchmarks_convention(shifted_pair):
    alignments = _run(shifted_pair, "auto").alignments
    assert alignments["polyu"]["identity"]
    assert "polyu benchmark pair" in alignments["polyu"]["corrections"][0]["reason"]
    own = alignments["own"]
    assert not own["identity"] and own["corrections"][0]["applied"]
    assert own["shift_px"] == pytest.approx([-2, 0], abs=0.05)


def test_a_second_run_in_the_same_process_aligns_under_its_own_mode(shifted_pair):
    first = _run(shifted_pair, "always").alignments["own"]
    second = _run(shifted_pair, "never").alignments["own"]
    assert first["mode"] == "always" and not first["identity"]
    assert second["mode"] == "never" and second["identity"]
