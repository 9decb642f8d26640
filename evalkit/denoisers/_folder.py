"""Score outputs made elsewhere (a closed tool such as Topaz Denoise AI)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DenoiserError
from ..io import check_same_size, load_image

if TYPE_CHECKING:
    from ..datasets import Pair

_IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg")


@dataclass(frozen=True)
class FolderDenoiser:
    """A folder of precomputed outputs, matched to pairs by file name.

    Parameters
    ----------
    path : str or Path
        Folder holding one output per pair.
    pattern : str, optional
        File name of a pair's output, with ``{id}`` (the pair id) and ``{stem}``
        (the noisy file's name without suffix) substituted. The default,
        ``"{stem}.*"``, matches the noisy file's name with any image suffix,
        which is what batch tools write (``iso3200.png`` → ``iso3200.tif``). Names
        are tried as given, then with the ``{id}``, so ``desk-iso3200.png`` also
        matches.
    name : str, optional
        Name in results.

    Notes
    -----
    The noisy image passed to :meth:`denoise` is only used to check the size of
    the output: the work was done by the tool that wrote the folder.
    """

    path: str | Path
    pattern: str = "{stem}.*"
    name: str = "folder"
    params: Mapping[str, Any] = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path))
        if not self.path.is_dir():
            raise DenoiserError(f"folder denoiser: {self.path} is not a folder")
        object.__setattr__(self, "params", {"path": str(self.path), "pattern": self.pattern})

    def find(self, pair: Pair) -> Path:
        """Return the output file for ``pair``; :class:`DenoiserError` if none or several."""
        patterns = [self.pattern.format(id=pair.id, stem=Path(pair.noisy).stem)]
        if self.pattern == "{stem}.*":
            patterns.append(f"{pair.id}.*")
        for glob in patterns:
            matches = sorted(
                p
                for p in self.path.glob(glob)
                if p.suffix.lower() in _IMAGE_SUFFIXES or "*" not in glob
            )
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                names = ", ".join(p.name for p in matches)
                raise DenoiserError(f"{self.path}: several outputs match pair {pair.id!r}: {names}")
        raise DenoiserError(
            f"{self.path}: no output for pair {pair.id!r} (looked for {' or '.join(patterns)})"
        )

    def denoise(self, noisy: np.ndarray, *, pair: Pair | None = None) -> np.ndarray:
        if pair is None:
            raise DenoiserError("folder denoiser: needs the pair to find its output file")
        path = self.find(pair)
        output = load_image(path)
        check_same_size(noisy, output, names=(str(pair.noisy), str(path)))
        return output
