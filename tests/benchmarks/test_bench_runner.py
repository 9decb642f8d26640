"""Runner throughput: serial vs two worker processes, and a re-run from the cache.

``make bench`` prints the times; the ratios land in ``extra_info`` (and the
closing notes): on a 2-core machine ``--jobs 2`` should be about twice as fast
as serial, and re-running a finished run, with its report as ``evalkit run``
writes it, should cost under 5 % of the first run. ``load_average`` (1 minute,
before and after) says how much of the machine other work took meanwhile.

A serial run is not one core's worth: OpenCV and torch spread their work over
every core, so the speedup of ``--jobs 2`` is bounded by how much of the second
core a serial run leaves idle. ``extra_info`` records the serial run's CPU use
(``serial_cores``) to read the speedup against. The 20 MP case, where workers'
start-up is amortised as in real use, runs only under ``make bench`` (minutes).
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import numpy as np
import pytest

from evalkit.io import load_image, save_image
from evalkit.report import write_report
from evalkit.runner import RunConfig, run

SAMPLE_MANIFEST = Path(__file__).resolve().parents[2] / "datasets" / "sample" / "manifest.toml"
DENOISERS = [{"name": "nlm"}, {"name": "tv"}, {"name": "wavelet"}, {"name": "bilateral"}]


@pytest.fixture(scope="module")
def config():
    # OCR has its own benchmark; here the runner's own overhead and scaling count.
    document = {"dataset": str(SAMPLE_MANIFEST), "ocr": "none", "denoiser": DENOISERS}
    return RunConfig.from_dict(document)


def _timed(times: list[float], *, report: bool = False, **kwargs):
    """A call of :func:`run` (and, with ``report``, of the report into its folder,
    as ``evalkit run`` does) that appends its wall time to ``times``."""

    def call():
        start = time.perf_counter()
        result = run(**kwargs)
        if report:
            write_report(result, kwargs["out"], jobs=kwargs.get("jobs", 1))
        times.append(time.perf_counter() - start)
        return result

    return call


def _load() -> float:
    return os.getloadavg()[0]


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _serial_vs_two_jobs(benchmark, config, out: Path) -> None:
    serial: list[float] = []
    load = _load()
    cpu = _cpu_seconds()
    expected = _timed(serial, config=config, out=out / "serial")()
    serial_cores = (_cpu_seconds() - cpu) / serial[0]
    jobs2: list[float] = []
    result = benchmark.pedantic(
        _timed(jobs2, config=config, out=out / "jobs2", jobs=2), rounds=1, iterations=1
    )
    benchmark.extra_info.update(
        serial_s=serial[0],
        serial_cores=serial_cores,
        jobs2_s=jobs2[0],
        speedup=serial[0] / jobs2[0],
        load_average=[load, _load()],
    )
    assert result.failures.empty
    columns = ["pair", "denoiser", "metric", "value"]
    assert result.table[columns].equals(expected.table[columns])


@pytest.mark.slow
def test_bench_serial_vs_two_jobs(benchmark, config, tmp_path):
    _serial_vs_two_jobs(benchmark, config, tmp_path)


@pytest.fixture(scope="module")
def config_20mp(tmp_path_factory):
    """Two sample pairs scaled up 8x to 5120 x 3840 (19.7 MP), two fast denoisers."""
    import cv2

    folder = tmp_path_factory.mktemp("pairs_20mp")
    lines = []
    for scene in ("desk", "shop"):
        for role in ("reference", "iso3200"):
            small = load_image(SAMPLE_MANIFEST.parent / scene / f"{role}.png")
            large = cv2.resize(small, None, fx=8, fy=8, interpolation=cv2.INTER_CUBIC)
            save_image(folder / f"{scene}-{role}.png", np.clip(large, 0, 1))
        lines += [
            "[[pair]]",
            f'id = "{scene}"',
            f'reference = "{scene}-reference.png"',
            f'noisy = "{scene}-iso3200.png"',
        ]
    (folder / "manifest.toml").write_text("\n".join(lines) + "\n")
    document = {
        "dataset": str(folder / "manifest.toml"),
        "ocr": "none",
        "denoiser": [{"name": "gaussian"}, {"name": "bilateral"}],
    }
    return RunConfig.from_dict(document)


@pytest.mark.slow
def test_bench_serial_vs_two_jobs_at_20_megapixels(benchmark, config_20mp, tmp_path):
    if benchmark.disabled:
        pytest.skip("minutes of work: measured by `make bench`")
    _serial_vs_two_jobs(benchmark, config_20mp, tmp_path)


@pytest.mark.slow
def test_bench_rerun_of_a_finished_run(benchmark, config, tmp_path):
    load = _load()
    first: list[float] = []
    _timed(first, config=config, out=tmp_path / "out", report=True)()
    again: list[float] = []
    result = benchmark.pedantic(
        _timed(again, config=config, out=tmp_path / "out", report=True), rounds=3, iterations=1
    )
    assert result.reused == len(result.table.drop_duplicates(["pair", "denoiser"]))
    benchmark.extra_info.update(
        first_s=first[0],
        rerun_s=again[0],  # the first re-run: nothing of it was warm but the imports
        fraction=again[0] / first[0],
        load_average=[load, _load()],
    )
