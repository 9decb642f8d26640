"""Third-party AI denoisers through evalkit against the library calls a user would make.

``oidn`` against ``pyoidn.denoise`` on the same linear-light image, and the
``checkpoint`` adapter (tiled, channels-last) against calling spandrel's model
on the whole image; both on the same crop of the sample, timed in the same test so the
ratio survives a machine loaded by others. Ratios go to ``extra_info``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from evalkit.denoisers import make_denoiser

SAMPLE = Path(__file__).resolve().parents[2] / "datasets" / "sample"
KAIR_DNCNN = SAMPLE / "models" / "kair_dncnn_25.pth"


@pytest.fixture(scope="module")
def crop():
    """256 x 512 pixels of the sample's ISO 12800 desk shot (simulated camera noise)."""
    from evalkit.io import load_image

    return np.ascontiguousarray(load_image(SAMPLE / "desk" / "iso12800.png")[:256, :512])


def _best_of(function, rounds):
    """(fastest of ``rounds`` calls in seconds, the last call's result)."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def _race(benchmark, crop, ours, library, *, rounds, library_name):
    """Time ``ours`` (benchmarked) and ``library`` on ``crop`` in one run; record
    seconds per megapixel and their ratio; return both outputs."""
    library_s, expected = _best_of(library, rounds)
    ours_s, output = benchmark.pedantic(_best_of, args=(ours, rounds), rounds=1)
    megapixels = crop.shape[0] * crop.shape[1] / 1e6
    benchmark.extra_info.update(
        {
            "s_per_mp": ours_s / megapixels,
            f"{library_name}_s_per_mp": library_s / megapixels,
            f"ours_over_{library_name}": ours_s / library_s,
        }
    )
    return output, expected


@pytest.mark.benchmark(group="ai-denoisers")
def test_bench_oidn_against_pyoidn(benchmark, crop):
    pyoidn = pytest.importorskip("pyoidn")
    from evalkit.colour import linear_to_srgb, srgb_to_linear

    denoiser = make_denoiser("oidn")
    denoiser.denoise(crop[:64, :64])  # the device and its networks loaded before timing

    def library():
        return linear_to_srgb(np.clip(pyoidn.denoise(srgb_to_linear(crop)), 0, 1))

    ours, expected = _race(
        benchmark, crop, lambda: denoiser.denoise(crop), library, rounds=3, library_name="pyoidn"
    )
    np.testing.assert_allclose(ours, expected, atol=1e-6)


@pytest.mark.benchmark(group="ai-denoisers")
def test_bench_checkpoint_against_spandrel_on_the_whole_image(benchmark, crop):
    torch = pytest.importorskip("torch")
    spandrel = pytest.importorskip("spandrel")
    denoiser = make_denoiser("checkpoint", path=str(KAIR_DNCNN), device="cpu")
    model = spandrel.ModelLoader("cpu").load_from_file(KAIR_DNCNN).model.eval()
    planes = torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1)[:, None]))

    def library():
        with torch.inference_mode():
            return model(planes)[:, 0].numpy().transpose(1, 2, 0)

    ours, expected = _race(
        benchmark, crop, lambda: denoiser.denoise(crop), library, rounds=1, library_name="spandrel"
    )
    np.testing.assert_allclose(ours, np.clip(expected, 0, 1), atol=1e-4)
