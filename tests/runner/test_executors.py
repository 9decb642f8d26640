"""Local worker processes: one pair per worker, help at the end, and stopping cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from evalkit.denoisers import DENOISERS, DenoiserSpec
from evalkit.runner import RunConfig, _executors, run
from evalkit.runner._executors import PairQueue


def _items(pairs: dict[str, int]) -> list[SimpleNamespace]:
    # PairQueue reads only item.pair.id; the rest of a WorkItem does not matter here.
    return [
        SimpleNamespace(pair=SimpleNamespace(id=pair), label=f"d{n}")
        for pair, count in pairs.items()
        for n in range(count)
    ]


def _name(item) -> str:
    return f"{item.pair.id}/{item.label}"


def test_each_worker_keeps_to_its_pair_until_it_is_done():
    queue = PairQueue(_items({"a": 3, "b": 3}))
    assert [_name(queue.take(w)) for w in (0, 1, 0, 1, 0, 1)] == [
        "a/d0", "b/d0", "a/d1", "b/d1", "a/d2", "b/d2",
    ]  # fmt: skip
    assert queue.take(0) is None and queue.take(1) is None


def test_a_free_worker_starts_a_new_pair_before_helping_with_a_started_one():
    queue = PairQueue(_items({"a": 4, "b": 1, "c": 2}))
    assert _name(queue.take(0)) == "a/d0"
    assert _name(queue.take(1)) == "b/d0"
    assert _name(queue.take(1)) == "c/d0"


def test_a_worker_out_of_pairs_takes_from_the_end_of_the_longest_one():
    queue = PairQueue(_items({"a": 5, "b": 1}))
    assert _name(queue.take(0)) == "a/d0"
    assert _name(queue.take(1)) == "b/d0"
    assert _name(queue.take(1)) == "a/d4"  # the owner goes on with a/d1 undisturbed
    assert _name(queue.take(0)) == "a/d1"
    assert _name(queue.take(1)) == "a/d3"  # the helper now stays on "a" too


def test_every_item_is_handed_out_exactly_once():
    items = _items({"a": 7, "b": 2, "c": 5, "d": 1})
    queue = PairQueue(items)
    handed = []
    worker = 0
    while (item := queue.take(worker)) is not None:
        handed.append(item)
        worker = (worker + 1) % 3
    assert sorted(map(_name, handed)) == sorted(map(_name, items))


def test_an_empty_queue_hands_out_nothing():
    assert PairQueue([]).take(0) is None


def _config(manifest, *names):
    denoisers = [{"name": name} for name in names]
    return RunConfig.from_dict({"dataset": str(manifest), "ocr": "none", "denoiser": denoisers})


class _Sleepy:
    name = "sleepy"

    def __init__(self):
        self.params = {}

    def denoise(self, noisy, *, pair=None):
        time.sleep(60)
        return noisy


def test_an_error_in_the_caller_stops_the_workers_at_once(tiny_dataset):
    DENOISERS.register(DenoiserSpec("sleepy", f"{__name__}:_Sleepy"), replace=True)
    config = RunConfig.from_dict(
        {
            "dataset": str(tiny_dataset),
            "ocr": "none",
            "denoiser": [{"name": "noisy"}, {"name": "sleepy"}],
        }
    )

    def progress(done, total, record):
        raise KeyboardInterrupt  # as Ctrl-C while the sleepy items run

    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run(config, jobs=2, progress=progress)
    assert time.monotonic() - start < 30  # not the 60 s of the items in flight


def test_a_broken_worker_pool_fails_its_items_and_the_run_finishes(tiny_dataset, monkeypatch):
    # The initializer is pickled by name: str.upper, given the run's pid, raises
    # in every worker as it starts, as a worker that cannot start would.
    monkeypatch.setattr(_executors, "_start_worker", str.upper)
    config = _config(tiny_dataset, "noisy", "tv")
    result = run(config, jobs=2)
    failures = result.failures
    assert len(failures) == 4
    assert failures["error"].str.startswith("worker pool failed").all()


# Writes its pid, then hangs: a stuck external program.
HANG = "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(60)"


def _hanging_command(pid_file: Path, **extra) -> dict:
    argv = [sys.executable, "-c", HANG, str(pid_file), "{input}", "{output}"]
    return {"name": "command", "label": "hangs", "params": {"argv": argv}, **extra}


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        stat = Path(f"/proc/{pid}/stat")
        if stat.is_file() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return True  # dead, waiting for init to reap it
        time.sleep(0.1)
    return False


def _pid(pid_file: Path, within: float = 60) -> int:
    deadline = time.monotonic() + within
    while not (pid_file.is_file() and pid_file.read_text()):
        assert time.monotonic() < deadline, "the command never started"
        time.sleep(0.05)
    return int(pid_file.read_text())


def test_a_command_past_its_timeout_is_killed_with_its_worker(tiny_dataset, tmp_path):
    pid_file = tmp_path / "pid"
    denoiser = _hanging_command(pid_file, timeout=2)
    config = RunConfig.from_dict(
        {"dataset": str(tiny_dataset), "ocr": "none", "denoiser": [denoiser]}
    )
    result = run(config)
    assert result.failures["error"].str.contains("timed out after 2 s").all()
    assert _gone(_pid(pid_file), within=5)


@pytest.mark.slow
def test_workers_of_a_killed_run_stop_with_their_commands(tiny_dataset, tmp_path):
    pid_file = tmp_path / "pid"
    config = tmp_path / "run.toml"
    # JSON strings are TOML basic strings.
    argv = ", ".join(json.dumps(a) for a in _hanging_command(pid_file)["params"]["argv"])
    config.write_text(
        f'dataset = "{tiny_dataset}"\nocr = "none"\n'
        f'[[denoiser]]\nname = "command"\nparams = {{ argv = [{argv}] }}\n'
    )
    evalkit = Path(sys.executable).parent / "evalkit"
    process = subprocess.Popen(
        [str(evalkit), "run", str(config), "--out", str(tmp_path / "out"), "-q", "-j", "2"]
    )
    pid = _pid(pid_file)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert _gone(pid, within=10)  # not the 60 s the command would sleep
