"""What a dataset folder holds: pairs found, cameras, ISOs, sizes, and stray files."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..io import image_size
from ._loaders import REGISTERED_LAYOUTS, load_dataset_dir
from ._manifest import Dataset

_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".arw", ".raf", ".dng"}


@dataclass(frozen=True)
class Survey:
    """A dataset as :func:`evalkit.run` would see it.

    Attributes
    ----------
    dataset : Dataset
        The pairs found.
    layout : str
        The layout used (detected or given).
    sizes : dict of str to (int, int)
        Pair id -> ``(width, height)`` of its noisy shot, read from the header.
    unmatched : tuple of Path
        Image files under the folder that belong to no pair (a typo in a name, a
        reference without its noisy shot), relative to the folder.
    """

    dataset: Dataset
    layout: str
    sizes: dict[str, tuple[int, int]]
    unmatched: tuple[Path, ...]

    @property
    def registered(self) -> bool:
        """True for a benchmark published as registered (scored unaligned by default)."""
        return self.layout in REGISTERED_LAYOUTS

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``root``, ``layout``, ``registered``, ``pairs`` (id,
        camera, ISO, exposure, size, files), ``cameras`` and ``isos`` (counts) and
        ``unmatched``."""
        pairs = self.dataset.pairs
        return {
            "root": str(self.dataset.root),
            "layout": self.layout,
            "registered": self.registered,
            "pairs": [
                {
                    "id": p.id,
                    "camera": p.camera,
                    "iso": p.iso,
                    "exposure_s": p.exposure_s,
                    "size": list(self.sizes[p.id]),
                    "reference": str(p.reference),
                    "noisy": str(p.noisy),
                }
                for p in pairs
            ],
            "cameras": dict(Counter(p.camera or "unknown" for p in pairs)),
            "isos": {
                f"{iso:g}" if iso else "unknown": n
                for iso, n in sorted(Counter(p.iso for p in pairs).items(), key=_iso_order)
            },
            "unmatched": [str(path) for path in self.unmatched],
        }

    def lines(self) -> list[str]:
        """A readable summary, one line per pair, then the stray files."""
        pairs = self.dataset.pairs
        convention = " (a registered benchmark: scored unaligned by default)"
        out = [
            f"{self.dataset.root}: {len(pairs)} pairs, layout {self.layout}"
            + (convention if self.registered else "")
        ]
        for p in pairs:
            width, height = self.sizes[p.id]
            iso = f"ISO {p.iso:g}" if p.iso else "ISO ?"
            out.append(f"  {p.id}: {p.camera or '?'}, {iso}, {width}x{height}")
        cameras = Counter(p.camera or "unknown" for p in pairs)
        out.append("cameras: " + ", ".join(f"{c} ({n})" for c, n in sorted(cameras.items())))
        isos = sorted({p.iso for p in pairs if p.iso})
        out.append("ISOs: " + (", ".join(f"{iso:g}" for iso in isos) or "unknown"))
        if self.unmatched:
            out.append(f"{len(self.unmatched)} image files match no pair:")
            out += [f"  {path}" for path in self.unmatched]
        return out


def survey(path: str | os.PathLike, layout: str = "auto") -> Survey:
    """Load a dataset folder (or manifest) and say what it holds.

    Parameters
    ----------
    path : str or path-like
        A dataset folder in a known layout, or a manifest.
    layout : str, optional
        One of :data:`evalkit.datasets.LAYOUTS`; ``"auto"`` detects it.

    Returns
    -------
    Survey

    Raises
    ------
    ManifestError
        No pairs, or no known layout.
    ImageError
        A pair's noisy shot is not a readable image.
    """
    dataset = load_dataset_dir(path, layout=layout)
    used = {Path(p).resolve() for pair in dataset for p in (pair.reference, pair.noisy)}
    root = dataset.root
    unmatched = tuple(
        sorted(
            file.relative_to(root)
            for file in root.rglob("*")
            if file.suffix.lower() in _IMAGE_SUFFIXES and file.resolve() not in used
        )
    )
    return Survey(
        dataset=dataset,
        layout=dataset.info.get("layout", "manifest"),
        sizes={pair.id: image_size(pair.noisy) for pair in dataset},
        unmatched=unmatched,
    )


def _iso_order(item: tuple[float | None, int]) -> tuple[bool, float]:
    iso = item[0]
    return iso is None, iso or 0.0
