"""Reference pairs, dataset manifests, and the synthetic sample dataset."""

from ._loaders import LAYOUTS, detect_layout, load_dataset_dir
from ._manifest import Dataset, load_dataset
from ._pair import BBox, Pair, Region, TextRegion
from ._sample import make_sample_dataset

__all__ = [
    "LAYOUTS",
    "BBox",
    "Dataset",
    "Pair",
    "Region",
    "TextRegion",
    "detect_layout",
    "load_dataset",
    "load_dataset_dir",
    "make_sample_dataset",
]
