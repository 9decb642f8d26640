"""Reference pairs, dataset manifests, and the synthetic sample dataset."""

from ._loaders import (
    LAYOUTS,
    REGISTERED_LAYOUTS,
    benchmark_layout,
    detect_layout,
    load_dataset_dir,
)
from ._manifest import Dataset, load_dataset
from ._pair import BBox, Pair, Region, TextRegion
from ._sample import make_sample_dataset
from ._survey import Survey, survey

__all__ = [
    "LAYOUTS",
    "REGISTERED_LAYOUTS",
    "BBox",
    "Dataset",
    "Pair",
    "Region",
    "Survey",
    "TextRegion",
    "benchmark_layout",
    "detect_layout",
    "load_dataset",
    "load_dataset_dir",
    "make_sample_dataset",
    "survey",
]
