"""How the ``evalkit`` command's processes take memory from the kernel: numpy's
transparent-huge-page hint, off where the kernel would stall to honour it.

numpy marks every array of 4 MB or more ``MADV_HUGEPAGE``. Under the kernel's
THP ``defrag`` policies ``madvise``, ``defer+madvise`` and ``always`` (``madvise``
is the kernel's default and Debian's and Ubuntu's), a page fault in such memory that
finds no free 2 MB page compacts memory on the spot instead of taking 4 kB pages
(numpy issue 31590), and in a virtual machine that reports free memory to its
host the host must back each 2 MB page again. A 20 MP score touches about 2 GB of
fresh arrays: on this project's 2-core VM the first 1.9 GB of a process took
4.8 s with the hint and 0.7 s without, and a whole score ran 0.9-1.6 s faster
without it, while with huge pages at hand the hint saves 0.3 s per 2 GB and the
compute measured the same either way (``--ocr none`` 6.7-7.3 s both ways).
"""

from __future__ import annotations

import os
from pathlib import Path

#: numpy's own switch, read when numpy is imported (worker processes inherit it).
NUMPY_HUGEPAGE_ENV = "NUMPY_MADVISE_HUGEPAGE"
DEFRAG_POLICY = Path("/sys/kernel/mm/transparent_hugepage/defrag")
#: Policies under which a fault in ``MADV_HUGEPAGE`` memory compacts synchronously.
STALLING_POLICIES = ("always", "madvise", "defer+madvise")


def avoid_hugepage_stalls(policy_file: Path = DEFRAG_POLICY) -> bool:
    """Turn numpy's huge-page hint off for this process and the processes it
    starts when the kernel's THP defrag policy would stall a fault to honour it.

    A ``NUMPY_MADVISE_HUGEPAGE`` the user set is left as it is; off Linux, or
    with no policy file, nothing changes.

    Returns
    -------
    bool
        Whether the hint was turned off.
    """
    if NUMPY_HUGEPAGE_ENV in os.environ:
        return False
    try:
        text = policy_file.read_text()
    except OSError:
        return False
    chosen = text[text.find("[") + 1 : text.find("]")] if "[" in text else ""
    if chosen not in STALLING_POLICIES:
        return False
    os.environ[NUMPY_HUGEPAGE_ENV] = "0"
    import numpy as np

    # numpy reads the variable once, at import; this process imported it already.
    core = getattr(np, "_core", None) or getattr(np, "core", None)
    switch = getattr(getattr(core, "multiarray", None), "_set_madvise_hugepage", None)
    if switch is not None:
        switch(False)
    return True
