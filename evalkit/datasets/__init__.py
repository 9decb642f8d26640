"""Reference pairs, dataset manifests, and the synthetic sample dataset."""

from ._manifest import Dataset, load_dataset
from ._pair import BBox, Pair, Region, TextRegion

__all__ = ["BBox", "Dataset", "Pair", "Region", "TextRegion", "load_dataset"]
