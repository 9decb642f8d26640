"""Decoding a 20 MP PNG into evalkit's float frame: ``evalkit.io.load_image``
(imagecodecs' libpng with zlib-ng) against OpenCV's ``imread`` (which it used
before) and Pillow, each followed by the same conversion to float32 in [0, 1],
in the same run; and two frames decoded side by side, as a score decodes the
reference and the noisy shot. The ratios go to ``extra_info``; no timing is
asserted."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from evalkit.io import load_image

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def noisy_20mp(tmp_path_factory):
    """Two 8-bit 20 MP PNGs (5472 x 3648) of a smooth scene under photon and read
    noise, whose deflate stream is as hard to inflate as a noisy photo's."""
    import cv2

    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp("io_20mp")
    small = rng.random((57, 38, 3), dtype=np.float32)
    scene = cv2.resize(small, (5472, 3648), interpolation=cv2.INTER_CUBIC)
    paths = []
    for k in range(2):
        noisy = scene * 200 + 20 + rng.normal(0, 3 + 2 * k, scene.shape).astype(np.float32)
        path = folder / f"noisy{k}.png"
        cv2.imwrite(str(path), np.clip(noisy, 0, 255).astype(np.uint8))
        paths.append(path)
    return paths


def _opencv(path) -> np.ndarray:
    import cv2

    return _as_float(cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[..., ::-1])


def _pillow(path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return _as_float(np.asarray(im.convert("RGB")))


def _as_float(codes: np.ndarray) -> np.ndarray:
    frame = np.empty(codes.shape, np.float32)
    np.divide(codes, np.float32(255), out=frame)
    return frame


def _best_of(function, *args, rounds: int = 2) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        function(*args)
        best = min(best, time.perf_counter() - start)
    return best


def test_bench_png_decode_of_a_20_megapixel_frame(benchmark, noisy_20mp):
    path = noisy_20mp[0]
    times = []

    def decode():
        start = time.perf_counter()
        frame = load_image(path)
        times.append(time.perf_counter() - start)
        return frame

    frame = benchmark.pedantic(decode, rounds=3, iterations=1)
    np.testing.assert_array_equal(frame, _opencv(path))
    opencv_s, pillow_s = _best_of(_opencv, path), _best_of(_pillow, path)

    def side_by_side(read) -> None:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(read, noisy_20mp))

    evalkit_two_s = _best_of(side_by_side, load_image)
    opencv_two_s = _best_of(side_by_side, _opencv)
    benchmark.extra_info.update(
        megapixels=frame.shape[0] * frame.shape[1] / 1e6,
        file_mb=path.stat().st_size / 1e6,
        evalkit_s=min(times),
        opencv_s=opencv_s,
        pillow_s=pillow_s,
        speedup_over_opencv=opencv_s / min(times),
        speedup_over_pillow=pillow_s / min(times),
        two_side_by_side_evalkit_s=evalkit_two_s,
        two_side_by_side_opencv_s=opencv_two_s,
        two_side_by_side_speedup_over_opencv=opencv_two_s / evalkit_two_s,
    )
