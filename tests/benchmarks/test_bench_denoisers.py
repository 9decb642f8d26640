"""Seconds per megapixel of every built-in denoiser, and bounded memory through tiling.

``make bench`` times each built-in on the same 384 x 256 simulated shot and puts
``s_per_mp`` in ``extra_info`` (the report's speed column). The learned
denoiser is also timed against OpenCV's non-local means in the same test, so
the ratio survives a machine loaded by others. The 20-megapixel memory check
runs in a subprocess and reads its peak resident set size.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from evalkit.denoisers import make_denoiser

HEIGHT, WIDTH = 256, 384
MEGAPIXELS = HEIGHT * WIDTH / 1e6
BUILT_INS = [
    "gaussian",
    "bilateral",
    "nlm",
    "tv",
    "wavelet",
    "opencv_nlm",
    "dncnn",
    "dncnn_aggressive",
]
# Functions rather than registry names for the learned ones, so this file does
# not depend on them being registered yet; the registry path is the same call.
LEARNED = {
    "dncnn": "evalkit.denoisers._learned:denoise_dncnn",
    "dncnn_aggressive": "evalkit.denoisers._learned:denoise_dncnn_aggressive",
}


@pytest.fixture(scope="module")
def shot():
    """A fixed ISO 3200 shot of a scene with flat areas, edges and fine stripes."""
    from evalkit.datasets._camera_noise import simulate_shot

    y, x = np.mgrid[0:HEIGHT, 0:WIDTH] / 64.0
    scene = np.stack([0.2 + 0.1 * x / 6, 0.3 + 0.2 * np.sin(x * 9) ** 2, 0.25 + 0.1 * y], -1)
    scene[60:140, 40:200] = 0.7
    return simulate_shot(scene, iso=3200, rng=np.random.default_rng(0))


def _denoiser(name):
    if name in LEARNED:
        from evalkit._registry import load_target

        function = load_target(LEARNED[name])
        return lambda image: function(image, device="cpu")
    denoiser = make_denoiser(name)
    return denoiser.denoise


@pytest.mark.parametrize("name", BUILT_INS)
def test_bench_seconds_per_megapixel(benchmark, shot, name):
    denoise = _denoiser(name)
    denoise(shot[:64, :64])  # warm-up: imports, weight loading, OpenMP pools
    output = benchmark.pedantic(denoise, args=(shot,), rounds=3, iterations=1)
    assert output.shape == shot.shape
    if benchmark.stats is not None:  # None when benchmarking is disabled
        benchmark.extra_info["s_per_mp"] = benchmark.stats.stats.min / MEGAPIXELS


def test_bench_dncnn_against_opencv_nlm_in_the_same_run(benchmark, shot):
    dncnn, opencv_nlm = _denoiser("dncnn"), _denoiser("opencv_nlm")
    dncnn(shot[:64, :64])

    def best_of_3(function):
        times = []
        for _ in range(3):
            start = time.perf_counter()
            function(shot)
            times.append(time.perf_counter() - start)
        return min(times)

    reference = best_of_3(opencv_nlm)
    learned = benchmark.pedantic(best_of_3, args=(dncnn,), rounds=1, iterations=1)
    benchmark.extra_info.update(
        dncnn_s_per_mp=learned / MEGAPIXELS,
        opencv_nlm_s_per_mp=reference / MEGAPIXELS,
        dncnn_over_opencv_nlm=learned / reference,
    )
    # A DnCNN is several times the work of OpenCV's NLM per pixel; 50x would
    # mean something (threads, tiling, a debug build) has gone badly wrong.
    assert learned / reference < 50


# Peaks from /proc (VmHWM): Linux keeps ru_maxrss across exec, so a child of a
# large pytest process would report the parent's peak and no growth.
MEMORY_SCRIPT = textwrap.dedent(
    """
    import json, re, sys, time
    from pathlib import Path
    import numpy as np
    import torch
    torch.set_num_threads(2)
    from evalkit.denoisers._learned import denoise_dncnn
    height, width = int(sys.argv[1]), int(sys.argv[2])
    image = np.random.default_rng(0).random((height, width, 3), dtype=np.float32)
    denoise_dncnn(image[:64, :64], device="cpu")
    def high_water_kib():
        status = Path("/proc/self/status").read_text()
        return int(re.search(r"VmHWM:\\s+(\\d+)", status).group(1))
    before = high_water_kib()
    start = time.perf_counter()
    out = denoise_dncnn(image, tile=512, device="cpu")
    seconds = time.perf_counter() - start
    peak = high_water_kib()
    print(json.dumps({"before_kib": before, "peak_kib": peak, "seconds": seconds,
                      "shape": list(out.shape)}))
    """
)


@pytest.mark.slow
def test_bench_20_megapixel_image_stays_in_bounded_memory_through_tiling(benchmark):
    height, width = 3648, 5472  # 19.96 MP, a 20 MP camera's frame
    result = benchmark.pedantic(
        lambda: subprocess.run(
            [sys.executable, "-c", MEMORY_SCRIPT, str(height), str(width)],
            capture_output=True,
            text=True,
            check=True,
            timeout=1800,
        ),
        rounds=1,
        iterations=1,
    )
    record = json.loads(result.stdout.strip().splitlines()[-1])
    image_mib = height * width * 3 * 4 / 2**20  # one float32 copy: 228 MiB
    peak_mib = record["peak_kib"] / 1024
    growth_mib = (record["peak_kib"] - record["before_kib"]) / 1024
    benchmark.extra_info.update(
        peak_rss_mib=peak_mib,
        growth_mib=growth_mib,
        seconds=record["seconds"],
        s_per_mp=record["seconds"] / (height * width / 1e6),
    )
    assert record["shape"] == [height, width, 3]
    # Whole-image inference would hold 32 feature maps of 10 MP (1.3 GB) per
    # layer, twice; tiled, the growth is the output, one blended tile copy and a
    # few tile-sized buffers on top of the input already held.
    assert growth_mib < 2 * image_mib + 300, record
