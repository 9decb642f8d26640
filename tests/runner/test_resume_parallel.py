"""Runs that never lose work: cache and resume, kill -9, worker processes, dask, timeouts."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evalkit.errors import ConfigError
from evalkit.runner import DATABASE, RunConfig, run

# A denoiser that sleeps, then returns its input: slow enough to be killed midway.
COPY = (
    "import shutil, sys, time; "
    "time.sleep(float(sys.argv[3])); shutil.copy(sys.argv[1], sys.argv[2])"
)


def _copy_denoiser(label, seconds=0.0, **extra):
    argv = [sys.executable, "-c", COPY, "{input}", "{output}", str(seconds)]
    return {"name": "command", "label": label, "params": {"argv": argv}, **extra}


def _config(manifest, *denoisers):
    return RunConfig.from_dict(
        {"dataset": str(manifest), "ocr": "none", "denoiser": list(denoisers)}
    )


def _comparable(table):
    return table.drop(columns=["seconds", "reused"]).reset_index(drop=True)


def test_rerun_reuses_every_finished_item_and_gives_the_same_table(tiny_dataset, tmp_path):
    config = _config(tiny_dataset, {"name": "tv"}, {"name": "gaussian"})
    first = run(config, out=tmp_path / "out")
    second = run(config, out=tmp_path / "out")
    assert first.reused == 0 and second.reused == 4
    assert _comparable(first.table).equals(_comparable(second.table))


class _Counted:
    """A denoiser that counts how often it is built (its module's import stands for torch's)."""

    built = 0
    name = "counted"

    def __init__(self, strength=1.0):
        type(self).built += 1
        self.params = {"strength": strength}

    def denoise(self, noisy, *, pair=None):
        return noisy


def test_a_rerun_of_a_finished_run_builds_no_denoiser(tiny_dataset, tmp_path):
    from evalkit.denoisers import DENOISERS, DenoiserSpec

    DENOISERS.register(DenoiserSpec("counted", f"{__name__}:_Counted"), replace=True)
    config = _config(tiny_dataset, {"name": "counted", "params": {"strength": 2.0}})
    first = run(config, out=tmp_path / "out")
    built = _Counted.built
    again = run(config, out=tmp_path / "out")
    assert _Counted.built == built and again.reused == 2
    assert again.provenance["denoisers"] == first.provenance["denoisers"]
    bad = _config(tiny_dataset, {"name": "counted", "params": {"strenght": 2.0}})
    with pytest.raises(ConfigError, match=r"denoiser 'counted'.*strenght"):
        run(bad, out=tmp_path / "out")


def test_changed_parameters_are_not_taken_from_the_cache(tiny_dataset, tmp_path):
    run(_config(tiny_dataset, {"name": "gaussian"}), out=tmp_path / "out")
    changed = _config(tiny_dataset, {"name": "gaussian", "params": {"sigma": 2.0}})
    assert run(changed, out=tmp_path / "out").reused == 0


def test_database_holds_runs_items_and_metric_values(tiny_dataset, tmp_path):
    run(_config(tiny_dataset, {"name": "noisy"}), out=tmp_path / "out")
    with sqlite3.connect(tmp_path / "out" / DATABASE) as db:
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone() == (1,)
        assert db.execute("SELECT COUNT(*) FROM items WHERE status = 'ok'").fetchone() == (2,)
        assert db.execute("SELECT COUNT(*) FROM metric_values").fetchone() == (4,)


@pytest.mark.slow
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_killed_run_resumes_to_exactly_the_uninterrupted_result(tiny_dataset, tmp_path, jobs):
    # Different sleeps make different parameters: identical calls would share one
    # cached output, and a finished item would count for every label.
    denoisers = [_copy_denoiser(f"copy{i}", seconds=0.4 + 0.01 * i) for i in range(4)]
    config_path = tmp_path / "run.toml"
    lines = [f'dataset = "{tiny_dataset}"', 'ocr = "none"']
    for d in denoisers:
        argv = ", ".join(f"'{a}'" for a in d["params"]["argv"])
        lines += [
            "[[denoiser]]",
            'name = "command"',
            f'label = "{d["label"]}"',
            f"params = {{ argv = [{argv}] }}",
        ]
    config_path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "killed"
    evalkit = Path(sys.executable).parent / "evalkit"
    process = subprocess.Popen(
        [str(evalkit), "run", str(config_path), "--out", str(out), "-q", "--jobs", jobs]
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with sqlite3.connect(out / DATABASE) as db:
                if db.execute("SELECT COUNT(*) FROM items").fetchone()[0] >= 3:
                    break
        except sqlite3.OperationalError:  # not created yet
            pass
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()

    resumed = run(RunConfig.from_toml(config_path), out=out)
    uninterrupted = run(RunConfig.from_toml(config_path), out=tmp_path / "clean")
    assert 3 <= resumed.reused < 8
    assert (
        _comparable(resumed.table)
        .drop(columns="output")
        .equals(_comparable(uninterrupted.table).drop(columns="output"))
    )


def test_two_worker_processes_give_the_serial_table(tiny_dataset):
    config = _config(tiny_dataset, {"name": "noisy"}, {"name": "tv"}, {"name": "wavelet"})
    serial = run(config)
    parallel = run(config, jobs=2)
    assert _comparable(serial.table).equals(_comparable(parallel.table))


def test_hanging_denoiser_is_killed_at_its_timeout_and_the_run_finishes(tiny_dataset):
    hanging = _copy_denoiser("hangs", seconds=60, timeout=1)
    start = time.monotonic()
    result = run(_config(tiny_dataset, hanging, {"name": "noisy"}))
    assert time.monotonic() - start < 30
    failures = result.failures
    assert list(failures["denoiser"]) == ["hangs", "hangs"]
    assert failures["error"].str.contains("timed out after 1 s").all()
    assert (result.table[result.table.denoiser == "noisy"]["status"] == "ok").all()


@pytest.mark.slow
def test_dask_local_cluster_gives_the_serial_table(tiny_dataset):
    from distributed import LocalCluster

    config = _config(tiny_dataset, {"name": "noisy"}, {"name": "tv"})
    serial = run(config)
    with LocalCluster(
        n_workers=1, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        distributed = run(config, scheduler=cluster.scheduler_address)
    assert _comparable(serial.table).equals(_comparable(distributed.table))
