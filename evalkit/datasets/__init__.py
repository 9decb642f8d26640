"""Reference pairs, dataset manifests, and the synthetic sample dataset."""

from ._manifest import Dataset, load_dataset
from ._pair import BBox, Pair, Region, TextRegion
from ._sample import make_sample_dataset

__all__ = ["BBox", "Dataset", "Pair", "Region", "TextRegion", "load_dataset", "make_sample_dataset"]
