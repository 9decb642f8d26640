"""The shipped residual CNN: weights, quality on held-out data, tiling, the aggressive variant."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from evalkit.datasets._camera_noise import simulate_shot, srgb_to_linear
from evalkit.denoisers._learned import (
    CHECKSUM_FILE,
    CONFIG_FILE,
    WEIGHTS_DIR,
    denoise_dncnn,
    load_dncnn,
    verify_checksum,
)
from evalkit.errors import DenoiserError

REPO = Path(__file__).resolve().parents[2]
SAMPLE_MANIFEST = REPO / "datasets" / "sample" / "manifest.toml"


def _psnr(a, b):
    return 10 * np.log10(1 / np.mean((a.astype(np.float64) - b) ** 2))


def _scene(height=96, width=128):
    """Linear scene: a flat field, a dark bar pattern and a bright square (not sample content)."""
    srgb = np.full((height, width, 3), 0.6)
    srgb[:, width // 2 :] = [0.35, 0.45, 0.55]
    srgb[10:40, 70:120, :] = np.where((np.arange(50) % 6) < 2, 0.1, 0.8)[None, :, None]
    srgb[50:80, 10:50] = 0.9
    return srgb_to_linear(srgb)


@pytest.fixture(scope="module")
def shots():
    """(noisy ISO 6400, target ISO 100) of the same scene; the seed fixes the noise."""
    rng = np.random.default_rng(7)
    scene = _scene()
    return simulate_shot(scene, iso=6400, rng=rng), simulate_shot(scene, iso=100, rng=rng)


def test_shipped_weights_match_their_checksums():
    for variant in ("standard", "aggressive"):
        verify_checksum(WEIGHTS_DIR / f"dncnn_{variant}.pt", WEIGHTS_DIR / CHECKSUM_FILE)


def test_shipped_weights_are_small():
    total = sum(p.stat().st_size for p in WEIGHTS_DIR.glob("*.pt"))
    assert total < 2 * 2**20


def test_damaged_weights_are_refused(tmp_path):
    shutil.copytree(WEIGHTS_DIR, tmp_path / "w")
    path = tmp_path / "w" / "dncnn_standard.pt"
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DenoiserError, match="does not match its checksum"):
        load_dncnn("standard", weights_dir=tmp_path / "w")


def test_unknown_variant_is_rejected_with_the_choices():
    with pytest.raises(DenoiserError, match=r"unknown variant 'bold'.*standard"):
        denoise_dncnn(np.zeros((8, 8, 3), np.float32), variant="bold")


def test_output_keeps_shape_dtype_and_range_for_odd_sizes(rng):
    noisy = rng.random((37, 53, 3), dtype=np.float32)
    out = denoise_dncnn(noisy, device="cpu")
    assert out.shape == noisy.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_standard_variant_removes_most_of_the_camera_noise(shots):
    noisy, target = shots
    denoised = denoise_dncnn(noisy, device="cpu")
    assert _psnr(denoised, target) > _psnr(noisy, target) + 5


def test_tiled_output_equals_whole_image_inference_away_from_tile_borders(shots):
    noisy = np.tile(shots[0], (3, 3, 1))[:250, :330]  # 250 x 330: several tiles, odd edges
    whole = denoise_dncnn(noisy, tile=None, device="cpu")
    tiled = denoise_dncnn(noisy, tile=128, overlap=64, device="cpu")
    # overlap 64 >= 4 x the 16-px receptive-field radius: exact up to float
    # rounding everywhere, so the claim "away from borders" holds with margin.
    assert np.abs(tiled - whole).max() < 1e-3


def test_tiling_with_too_small_an_overlap_differs_near_tile_borders(shots):
    noisy = np.tile(shots[0], (3, 3, 1))[:250, :330]
    whole = denoise_dncnn(noisy, tile=None, device="cpu")
    tiled = denoise_dncnn(noisy, tile=64, overlap=4, device="cpu")
    assert np.abs(tiled - whole).max() > 1e-3


def test_tile_not_aligned_to_the_unshuffle_grid_is_rejected():
    with pytest.raises(DenoiserError, match="multiples of 2"):
        denoise_dncnn(np.zeros((8, 8, 3), np.float32), tile=129, overlap=64, device="cpu")


def test_aggressive_variant_sharpens_and_leaves_more_texture_than_standard(shots):
    from evalkit.detectors import detect_oversharpening

    noisy, target = shots
    standard = denoise_dncnn(noisy, device="cpu")
    aggressive = denoise_dncnn(noisy, variant="aggressive", device="cpu")
    flat = (slice(50, 90), slice(70, 120))  # the plain blue-grey field

    # Invented texture: the flat field is rougher than the honest output's.
    assert aggressive[flat].std(axis=(0, 1)).mean() > 1.15 * standard[flat].std(axis=(0, 1)).mean()
    # Over-sharpening of the bars: more fine contrast than both the target and
    # the noisy input have (detector ratio, 1.0 = as sharp as the scene). On
    # this small scene the committed weights give 1.00 and 1.24; the desk test
    # below checks the detector's own warning level on a real-size image.
    sharpened = detect_oversharpening(target, aggressive, noisy=noisy).score
    honest = detect_oversharpening(target, standard, noisy=noisy).score
    assert honest < 1.1
    assert sharpened > 1.15
    # Raised contrast: the bright square gets brighter, the dark bars darker.
    bright, bars = (slice(55, 75), slice(15, 45)), (slice(12, 38), slice(70, 120))
    assert aggressive[bright].mean() > standard[bright].mean() + 0.02
    dark = standard[bars].mean(axis=-1) < 0.3
    assert aggressive[bars][dark].mean() < standard[bars][dark].mean() - 0.005


def _sample_pairs():
    if not SAMPLE_MANIFEST.is_file():
        pytest.skip("the sample dataset is not present")
    import tomllib

    from evalkit.io import load_image

    pairs = tomllib.loads(SAMPLE_MANIFEST.read_text())["pair"]
    return {
        p["id"]: (
            load_image(SAMPLE_MANIFEST.parent / p["reference"]),
            load_image(SAMPLE_MANIFEST.parent / p["noisy"]),
        )
        for p in pairs
    }


@pytest.mark.slow
def test_detectors_flag_the_aggressive_variant_but_not_the_standard_one_on_the_desk():
    from evalkit.detectors import run_detectors
    from evalkit.findings import Severity

    reference, noisy = _sample_pairs()["desk-iso800"]
    names = ("oversharpening", "tone_shift")

    def worst(variant):
        out = denoise_dncnn(noisy, variant=variant, device="cpu")
        return {
            d.detector: d.worst for d in run_detectors(reference, out, noisy=noisy, names=names)
        }

    aggressive, standard = worst("aggressive"), worst("standard")
    for name in names:
        assert aggressive[name] is not None and aggressive[name].rank >= Severity.WARNING.rank
        assert standard[name] is None, (name, standard[name])


@pytest.mark.slow
def test_learned_denoiser_beats_every_classic_built_in_on_the_held_out_sample_pairs():
    from evalkit.denoisers import make_denoiser

    loaded = list(_sample_pairs().values())

    def mean_psnr(denoise):
        return np.mean([_psnr(denoise(noisy), reference) for reference, noisy in loaded])

    learned = mean_psnr(lambda image: denoise_dncnn(image, device="cpu"))
    for name in ("nlm", "tv", "wavelet", "opencv_nlm"):
        classic = mean_psnr(make_denoiser(name).denoise)
        assert learned > classic + 0.5, (name, learned, classic)
    recorded = json.loads((WEIGHTS_DIR / CONFIG_FILE).read_text())["sample_psnr_db"]
    assert abs(learned - recorded["standard"]["mean"]) < 0.05


def _training_module():
    spec = importlib.util.spec_from_file_location(
        "train_dncnn", REPO / "training" / "train_dncnn.py"
    )
    module = importlib.util.module_from_spec(spec)
    # dataclasses look the module up by name while the class body runs.
    sys.modules.setdefault("train_dncnn", module)
    spec.loader.exec_module(module)
    return module


def test_training_script_quick_run_writes_loadable_checksummed_weights(tmp_path):
    train = _training_module()
    status = train.main(["--out", str(tmp_path), "--quick", "--manifest", str(tmp_path / "none")])
    assert status == 0
    record = json.loads((tmp_path / CONFIG_FILE).read_text())
    assert record["config"]["steps"] == train.QUICK.steps
    model = load_dncnn("aggressive", weights_dir=tmp_path)  # checks SHA256SUMS too
    assert sum(p.numel() for p in model.parameters()) > 0


def test_training_data_leaves_out_the_sample_content():
    train = _training_module()
    assert set(train.HELD_OUT_PHOTOS).isdisjoint(train.COLOUR_PHOTOS + train.GREY_PHOTOS)
    rng = np.random.default_rng(0)
    strings = [train._random_string(rng) for _ in range(2000)]
    assert not any("keyboard" in s.lower() for s in strings)


@pytest.mark.slow
def test_training_script_is_deterministic(tmp_path):
    train = _training_module()
    for run in ("a", "b"):
        train.main(["--out", str(tmp_path / run), "--quick", "--manifest", str(tmp_path / "none")])
    sums = [(tmp_path / run / CHECKSUM_FILE).read_text() for run in ("a", "b")]
    assert sums[0] == sums[1]
