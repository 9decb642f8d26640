"""Where work items run: here, in local worker processes, or on a dask cluster.

Every executor yields one record per item, in completion order, and turns a
timeout or a dead worker into a failure record instead of an exception.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import ExitStack
from typing import Any

from .._threads import use_one_thread
from ..denoisers import kill_running_commands
from ._items import WorkItem, execute_item, failure_record

# Imported once by the fork server, so that forking a worker (and restarting one
# after a timeout) does not import scipy, OpenCV and scikit-image again.
# "__main__" is multiprocessing's own default: the parent's script, imported once.
_PRELOAD = [
    "__main__",
    "evalkit.runner._items",
    "cv2",
    "pywt",
    "scipy.optimize",
    "scipy.stats",
    "skimage.restoration",
]


def run_serial(items: Sequence[WorkItem]) -> Iterator[dict[str, Any]]:
    """Run items one after another in this process (no timeouts)."""
    for item in items:
        yield execute_item(item)


def run_processes(items: Sequence[WorkItem], *, jobs: int) -> Iterator[dict[str, Any]]:
    """Run items in ``jobs`` worker processes, each holding one pair at a time.

    Each worker takes a whole pair's items, one item at a time, so the pair is
    aligned once in that worker (aligning a 20 MP pair takes seconds) and only
    that pair is in its memory; a worker that runs out of pairs helps with the
    pair that has most items left. A denoiser past its item's ``timeout`` has
    its worker killed (and restarted), a worker that dies (segfault, out of
    memory) fails only its item, and a worker whose pool breaks fails the item
    it was given and takes no more. Closing the iterator early (an error in the
    caller, Ctrl-C) stops the workers at once; their items in flight are lost.

    A worker ended at a timeout kills the external commands it runs, and a
    worker whose run was killed (``kill -9``) stops within a second instead of
    finishing an item nobody will record.

    Workers are forked from a fork server, a separate process that has imported
    only evalkit's libraries and never runs an item, not from this process, whose
    threads (torch, OpenMP) could hold a lock at the fork. Each worker uses one
    thread, so ``jobs`` processes share the cores instead of oversubscribing them.
    """
    from pebble import ProcessPool

    start_fork_server()
    context = multiprocessing.get_context("forkserver")
    queue = PairQueue(items)
    with ExitStack() as stack:
        # One single-worker pool per worker: pebble cannot pick the worker of a
        # task, and the pair's affinity to a worker is the point.
        workers = [
            stack.enter_context(
                ProcessPool(
                    max_workers=1,
                    initializer=_start_worker,
                    initargs=(os.getpid(),),
                    context=context,
                )
            )
            for _ in range(min(jobs, len(items)))
        ]
        running: dict[Future, tuple[int, WorkItem]] = {}
        failed: list[dict[str, Any]] = []

        def feed(worker: int) -> None:
            item = queue.take(worker)
            if item is None:
                return
            try:
                future = workers[worker].schedule(execute_item, args=(item,), timeout=item.timeout)
            except Exception as exc:  # a broken pool fails its items, never the run
                failed.append(_pool_failure(item, exc))
            else:
                running[future] = (worker, item)

        try:
            for worker in range(len(workers)):
                feed(worker)
            while running or failed:
                yield from failed
                failed.clear()
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    worker, item = running.pop(future)
                    feed(worker)  # before yielding, so the worker does not wait for the database
                    yield _outcome(future, item)
            # Left when every worker's pool broke.
            while (item := queue.take(0)) is not None:
                yield failure_record(item, "worker pool failed: no worker left to run it")
        except BaseException:  # GeneratorExit, KeyboardInterrupt, an error in the caller
            for pool in workers:
                pool.stop()  # else leaving the pools waits for the items in flight
            raise


def start_fork_server() -> None:
    """Start the fork server that :func:`run_processes` forks its workers from.

    It returns at once: the server imports what items need (about 2 s) in the
    background, so calling this before reading and hashing a dataset hides that
    time. Calling it again does nothing while the server is alive.
    """
    from multiprocessing import forkserver

    forkserver.set_forkserver_preload(_PRELOAD)
    forkserver.ensure_running()


class PairQueue:
    """Items waiting to run, handed out so that each worker keeps to one pair.

    :meth:`take` gives a worker the next item of the pair it is on; when that
    pair is done, the first pair no worker has started; when none is left, an
    item of the pair with most items left (from its end, away from its owner).
    """

    def __init__(self, items: Sequence[WorkItem]):
        self._pairs: dict[str, deque[WorkItem]] = {}
        for item in items:
            self._pairs.setdefault(item.pair.id, deque()).append(item)
        self._unstarted = deque(self._pairs)
        # worker -> (pair id, whether it helps there, taking items from the end)
        self._current: dict[int, tuple[str, bool]] = {}

    def take(self, worker: int) -> WorkItem | None:
        """The next item for ``worker``, or ``None`` when every item is handed out."""
        pair, helping = self._current.get(worker, (None, False))
        if pair is None or not self._pairs[pair]:
            if self._unstarted:
                pair, helping = self._unstarted.popleft(), False
            else:
                longest = max(self._pairs, key=lambda p: len(self._pairs[p]), default="")
                pair, helping = longest, True
                if not self._pairs.get(pair):
                    return None
            self._current[worker] = (pair, helping)
        return self._pairs[pair].pop() if helping else self._pairs[pair].popleft()


def _outcome(future: Future, item: WorkItem) -> dict[str, Any]:
    from pebble import ProcessExpired

    try:
        return future.result()
    except FutureTimeout:
        return failure_record(item, f"denoiser {item.label!r} timed out after {item.timeout:g} s")
    except ProcessExpired as exc:
        return failure_record(item, f"worker process died ({exc})")
    except Exception as exc:  # a broken pool fails its items, never the run
        return _pool_failure(item, exc)


def _pool_failure(item: WorkItem, exc: Exception) -> dict[str, Any]:
    return failure_record(item, f"worker pool failed: {type(exc).__name__}: {exc}")


def run_dask(items: Sequence[WorkItem], *, scheduler: str) -> Iterator[dict[str, Any]]:
    """Run items on an existing dask.distributed cluster at ``scheduler``.

    Items must be able to read the dataset's and results folder's paths on the
    workers (a shared file system). Per-item timeouts are not enforced here.
    """
    from distributed import Client, as_completed

    with Client(scheduler) as client:
        futures = client.map(execute_item, list(items), pure=False)
        by_key = {future.key: item for future, item in zip(futures, items, strict=True)}
        for future in as_completed(futures):
            try:
                yield future.result()
            except Exception as exc:  # a lost worker fails its item, not the run
                yield failure_record(by_key[future.key], f"dask worker failed: {exc}")


def _start_worker(run_pid: int) -> None:
    """Set a worker up: one thread, and nothing left running when it or its run ends."""
    use_one_thread()
    previous = signal.getsignal(signal.SIGTERM)

    def terminated(signum, frame):
        # pebble ends a worker past its item's timeout with SIGTERM; a command in
        # a session of its own would go on running without this.
        kill_running_commands()
        if callable(previous):
            previous(signum, frame)
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, terminated)
    threading.Thread(target=_exit_with_run, args=(run_pid,), daemon=True).start()


def _exit_with_run(run_pid: int) -> None:
    # A run killed with kill -9 cannot stop its workers, so each watches it.
    while True:
        time.sleep(1.0)
        try:
            os.kill(run_pid, 0)
        except ProcessLookupError:
            kill_running_commands()
            os._exit(1)
