"""One thread per worker process, for every library that would start a pool of its own."""

from __future__ import annotations

import os

_ONE_THREAD = [False]


def thread_budget() -> int:
    """How many threads this process may keep busy: 1 after :func:`use_one_thread`
    (a worker among others), else the cores it may run on."""
    if _ONE_THREAD[0]:
        return 1
    if hasattr(os, "sched_getaffinity"):  # Linux: the cores this process may use
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def use_one_thread() -> None:
    """Limit this process to one thread in OpenCV, BLAS and OpenMP (torch).

    For worker processes: ``N`` of them then share ``N`` cores instead of each
    starting a thread per core. Call it first thing in the worker.
    """
    # For libraries the process has yet to load (torch reads these at import) ...
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = "1"
    import cv2
    from threadpoolctl import threadpool_limits

    # ... and for those already loaded, e.g. by a fork server: numpy's OpenBLAS
    # starts one thread per core at import, whatever the variables say later.
    threadpool_limits(1)
    cv2.setNumThreads(1)
    _ONE_THREAD[0] = True
