"""Runner throughput: serial vs two worker processes, and a re-run from the cache.

``make bench`` prints the times; the ratios land in ``extra_info`` (and the
closing notes): on a 2-core machine ``--jobs 2`` should be about twice as fast
as serial, and re-running a finished run should cost under 5 % of the first run.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from evalkit.runner import RunConfig, run

SAMPLE_MANIFEST = Path(__file__).resolve().parents[2] / "datasets" / "sample" / "manifest.toml"
DENOISERS = [{"name": "nlm"}, {"name": "tv"}, {"name": "wavelet"}, {"name": "bilateral"}]


@pytest.fixture(scope="module")
def config():
    # OCR has its own benchmark; here the runner's own overhead and scaling count.
    document = {"dataset": str(SAMPLE_MANIFEST), "ocr": "none", "denoiser": DENOISERS}
    return RunConfig.from_dict(document)


def _timed(times: list[float], **kwargs):
    def call():
        start = time.perf_counter()
        result = run(**kwargs)
        times.append(time.perf_counter() - start)
        return result

    return call


@pytest.mark.slow
def test_bench_serial_vs_two_jobs(benchmark, config, tmp_path):
    serial: list[float] = []
    _timed(serial, config=config, out=tmp_path / "serial")()
    jobs2: list[float] = []
    result = benchmark.pedantic(
        _timed(jobs2, config=config, out=tmp_path / "jobs2", jobs=2), rounds=1, iterations=1
    )
    benchmark.extra_info.update(serial_s=serial[0], jobs2_s=jobs2[0], speedup=serial[0] / jobs2[0])
    assert result.failures.empty


@pytest.mark.slow
def test_bench_rerun_of_a_finished_run(benchmark, config, tmp_path):
    first: list[float] = []
    _timed(first, config=config, out=tmp_path / "out")()
    again: list[float] = []
    result = benchmark.pedantic(
        _timed(again, config=config, out=tmp_path / "out"), rounds=3, iterations=1
    )
    assert result.reused == len(result.table.drop_duplicates(["pair", "denoiser"]))
    fraction = min(again) / first[0]
    benchmark.extra_info.update(first_s=first[0], rerun_s=min(again), fraction=fraction)
