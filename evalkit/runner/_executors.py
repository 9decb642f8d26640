"""Where work items run: here, in local worker processes, or on a dask cluster.

Every executor yields one record per item, in completion order, and turns a
timeout or a dead worker into a failure record instead of an exception.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, wait
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from ._items import WorkItem, execute_item, failure_record


def run_serial(items: Sequence[WorkItem]) -> Iterator[dict[str, Any]]:
    """Run items one after another in this process (no timeouts)."""
    for item in items:
        yield execute_item(item)


def run_processes(items: Sequence[WorkItem], *, jobs: int) -> Iterator[dict[str, Any]]:
    """Run items in ``jobs`` worker processes, each holding one pair at a time.

    A denoiser past its item's ``timeout`` has its worker killed (pebble restarts
    it), and a worker that dies (segfault, out of memory) fails only its item.
    Workers start from a fresh interpreter (``forkserver``), so threads of the
    parent (OpenMP, torch) cannot deadlock them, and each uses one thread, so
    ``jobs`` processes share the cores instead of oversubscribing them.
    """
    from pebble import ProcessExpired, ProcessPool

    context = multiprocessing.get_context("forkserver")
    with ProcessPool(max_workers=jobs, initializer=_single_threaded, context=context) as pool:
        pending = {
            pool.schedule(execute_item, args=(item,), timeout=item.timeout): item for item in items
        }
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                item = pending.pop(future)
                try:
                    yield future.result()
                except FutureTimeout:
                    yield failure_record(
                        item, f"denoiser {item.label!r} timed out after {item.timeout:g} s"
                    )
                except ProcessExpired as exc:
                    yield failure_record(item, f"worker process died ({exc})")
                except Exception as exc:  # a broken pool fails its items, never the run
                    yield failure_record(item, f"worker pool failed: {type(exc).__name__}: {exc}")


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


def _single_threaded() -> None:
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = "1"
    import cv2

    cv2.setNumThreads(1)
