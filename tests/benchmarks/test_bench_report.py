"""Writing a report: one process vs two drawing the pairs' images.

Decoding outputs and encoding display JPEGs, heat maps and crops is most of a
report's time; ``write_report(jobs=2)`` draws pairs in two processes while the
parent makes the plots. The ratio lands in ``extra_info``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from evalkit.report import write_report
from evalkit.runner import RunConfig, run

SAMPLE_MANIFEST = Path(__file__).resolve().parents[2] / "datasets" / "sample" / "manifest.toml"


@pytest.fixture(scope="module")
def results_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    denoisers = [{"name": name} for name in ("noisy", "gaussian", "wavelet", "bilateral")]
    config = RunConfig.from_dict(
        {"dataset": str(SAMPLE_MANIFEST), "ocr": "none", "denoiser": denoisers}
    )
    run(config, out=out, jobs=2)
    return out


@pytest.mark.slow
def test_bench_report_serial_vs_two_jobs(benchmark, results_folder, tmp_path):
    start = time.perf_counter()
    write_report(results_folder, tmp_path / "serial")
    serial = time.perf_counter() - start
    times: list[float] = []

    def two_jobs():
        start = time.perf_counter()
        index = write_report(results_folder, tmp_path / "jobs2", jobs=2)
        times.append(time.perf_counter() - start)
        return index

    index = benchmark.pedantic(two_jobs, rounds=1, iterations=1)
    benchmark.extra_info.update(serial_s=serial, jobs2_s=times[0], speedup=serial / times[0])
    pages = sorted(path.name for path in (index.parent / "pairs").glob("*.html"))
    assert pages == sorted(path.name for path in (tmp_path / "serial" / "pairs").glob("*.html"))
    assert len(pages) == 6
