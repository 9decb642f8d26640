"""The digest that keys the cache of reference work, on a 20 MP float32 frame:
evalkit's (BLAKE3) against the standard library's BLAKE2b, which it used before,
in the same run. The ratio goes to ``extra_info``; no timing is asserted."""

from __future__ import annotations

import hashlib
import time

import numpy as np

from evalkit.cache import image_digest


def test_bench_image_digest_of_a_20_megapixel_frame(benchmark):
    frame = np.random.default_rng(0).random((3648, 5472, 3), dtype=np.float32)
    start = time.perf_counter()
    hashlib.blake2b(frame.data, digest_size=16).hexdigest()
    blake2b_s = time.perf_counter() - start
    times = []

    def digest():
        start = time.perf_counter()
        image_digest(frame)
        times.append(time.perf_counter() - start)

    benchmark.pedantic(digest, rounds=3, iterations=1)
    benchmark.extra_info.update(
        megabytes=frame.nbytes / 1e6,
        blake3_s=min(times),
        blake2b_s=blake2b_s,
        speedup_over_blake2b=blake2b_s / min(times),
    )
