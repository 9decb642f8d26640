"""Helpers for the metric tests: varied image pairs (8- and 16-bit codes, grey, odd
sizes) and importing reference implementations whose package ``__init__`` fails.

BasicSR's and pyiqa's package ``__init__`` import their whole training stacks
(and, here, fail on a missing ``requests`` or a removed torchvision module); their
metric modules themselves only need numpy, cv2 and torch.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import types
from pathlib import Path

import numpy as np
import pytest


def _make_pair(shape, *, seed=0, noise=0.05, dtype=np.float32, data_range=1.0):
    """A smooth-plus-detail reference and a noisy candidate, in ``dtype`` codes."""
    import cv2

    rng = np.random.default_rng(seed)
    height, width = shape[:2]
    channels = shape[2] if len(shape) == 3 else 1
    coarse = rng.random((max(2, height // 8), max(2, width // 8), channels), dtype=np.float32)
    reference = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    reference = reference.reshape(height, width, channels)
    reference = np.clip(reference + rng.normal(0, 0.02, reference.shape), 0, 1)
    candidate = np.clip(reference + rng.normal(0, noise, reference.shape), 0, 1)
    if len(shape) == 2:
        reference, candidate = reference[..., 0], candidate[..., 0]
    if np.issubdtype(dtype, np.integer):
        return (
            np.round(reference * data_range).astype(dtype),
            np.round(candidate * data_range).astype(dtype),
        )
    return reference.astype(dtype), candidate.astype(dtype)


@pytest.fixture
def pair():
    return _make_pair((96, 128, 3))


def _import_skipping_package_init(module: str, packages: list[str]):
    """Import ``module`` with each of ``packages`` registered as a bare namespace."""
    top = module.split(".")[0]
    # PathFinder ignores sys.modules, where an earlier call left bare namespaces.
    spec = importlib.machinery.PathFinder.find_spec(top)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"{top} is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    for name in packages:
        if name not in sys.modules or not hasattr(sys.modules[name], "__file__"):
            package = types.ModuleType(name)
            package.__path__ = [str(root.joinpath(*name.split(".")[1:]))]
            sys.modules[name] = package
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        pytest.skip(f"{module} cannot be imported here: {exc}")


@pytest.fixture(name="make_pair")
def make_pair_fixture():
    return _make_pair


@pytest.fixture(name="import_skipping_package_init")
def import_skipping_package_init_fixture():
    return _import_skipping_package_init
