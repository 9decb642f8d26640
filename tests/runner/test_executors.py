"""Local worker processes: one pair per worker, help at the end, and stopping cleanly."""

from __future__ import annotations

import os
import time
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
    # The initializer is pickled by name: os.getpgid() without its argument raises
    # in every worker as it starts, as a worker that cannot start would.
    monkeypatch.setattr(_executors, "_single_threaded", os.getpgid)
    config = RunConfig.from_dict(
        {
            "dataset": str(tiny_dataset),
            "ocr": "none",
            "denoiser": [{"name": "noisy"}, {"name": "tv"}],
        }
    )
    result = run(config, jobs=2)
    failures = result.failures
    assert len(failures) == 4
    assert failures["error"].str.startswith("worker pool failed").all()
