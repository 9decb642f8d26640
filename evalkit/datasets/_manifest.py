"""Dataset manifests: a TOML (or CSV) file that lists reference pairs.

A manifest names files relative to its own folder, so a dataset folder can be
moved or zipped whole. The TOML form carries everything a :class:`Pair` can
hold::

    [dataset]
    name = "sample"

    [[pair]]
    id = "desk-iso3200"
    reference = "desk/reference.png"   # long exposure, low ISO
    noisy = "desk/iso3200.png"         # high ISO, what denoisers get
    camera = "evalkit-sim"
    iso = 3200
    exposure_s = 0.004
    reference_iso = 100
    reference_exposure_s = 0.128

      [[pair.text]]                      # optional, repeated
      bbox = [40, 30, 160, 32]           # x, y, width, height in pixels
      text = "keyboard"                  # optional true string

      [[pair.region]]                    # optional, repeated
      name = "grille"
      kind = "periodic"
      bbox = [300, 40, 120, 90]

      [pair.masks]                       # optional
      flat = "desk/mask_flat.png"

Any other key of a pair is kept in ``Pair.metadata``. The CSV form has one row per
pair with the columns ``id, reference, noisy`` and optionally ``camera, iso,
exposure_s, reference_iso, reference_exposure_s``; other columns go to metadata.
"""

from __future__ import annotations

import csv
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ManifestError
from ._pair import Pair, Region, TextRegion

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_NUMBER_KEYS = ("iso", "exposure_s", "reference_iso", "reference_exposure_s")
_KNOWN_KEYS = {"id", "reference", "noisy", "camera", "text", "region", "masks", *_NUMBER_KEYS}


@dataclass(frozen=True)
class Dataset:
    """The pairs of one manifest, with the manifest's ``[dataset]`` table."""

    name: str
    root: Path
    pairs: tuple[Pair, ...]
    info: dict[str, Any]

    def __len__(self) -> int:
        return len(self.pairs)

    def __iter__(self):
        return iter(self.pairs)

    def __getitem__(self, pair_id: str) -> Pair:
        for pair in self.pairs:
            if pair.id == pair_id:
                return pair
        raise KeyError(f"no pair {pair_id!r} in dataset {self.name!r}")


def load_dataset(path: str | os.PathLike) -> Dataset:
    """Read a manifest (``.toml`` or ``.csv``) and check that its files exist.

    Parameters
    ----------
    path : str or path-like
        The manifest file, or a folder holding ``manifest.toml``.

    Returns
    -------
    Dataset
        Pairs in manifest order, with absolute paths.

    Raises
    ------
    ManifestError
        One line naming the manifest and the pair at fault: bad syntax, a missing
        key, a duplicate id, a file that does not exist, a malformed box.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "manifest.toml"
    if not path.is_file():
        raise ManifestError(f"{path}: no such manifest")
    root = path.parent.resolve()
    if path.suffix.lower() == ".csv":
        info, entries = {}, _read_csv(path)
    else:
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ManifestError(f"{path}: not valid TOML ({exc})") from None
        info = document.get("dataset", {})
        entries = document.get("pair", [])
        if not isinstance(entries, list):
            raise ManifestError(f"{path}: 'pair' must be an array of tables ([[pair]])")
    if not entries:
        raise ManifestError(f"{path}: lists no pairs")
    pairs, seen = [], set()
    for index, entry in enumerate(entries, start=1):
        pair = _parse_pair(entry, root, f"{path}: pair {index}")
        if pair.id in seen:
            raise ManifestError(f"{path}: pair {index}: duplicate id {pair.id!r}")
        seen.add(pair.id)
        pairs.append(pair)
    return Dataset(name=str(info.get("name", root.name)), root=root, pairs=tuple(pairs), info=info)


def _read_csv(path: Path) -> list[dict[str, Any]]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [{key: value for key, value in row.items() if value not in ("", None)} for row in rows]


def _parse_pair(entry: dict[str, Any], root: Path, where: str) -> Pair:
    for key in ("id", "reference", "noisy"):
        if key not in entry:
            raise ManifestError(f"{where}: missing key {key!r}")
    where = f"{where} ({entry['id']!r})"
    numbers = {}
    for key in _NUMBER_KEYS:
        if key in entry:
            try:
                numbers[key] = float(entry[key])
            except (TypeError, ValueError):
                raise ManifestError(
                    f"{where}: {key} must be a number, got {entry[key]!r}"
                ) from None
    return Pair(
        id=str(entry["id"]),
        reference=_existing(root, entry["reference"], where, "reference"),
        noisy=_existing(root, entry["noisy"], where, "noisy"),
        camera=entry.get("camera"),
        text_regions=tuple(
            TextRegion(bbox=_bbox(t.get("bbox"), where), text=t.get("text"))
            for t in entry.get("text", [])
        ),
        regions=tuple(
            Region(
                name=str(r.get("name", f"region{i}")),
                bbox=_bbox(r.get("bbox"), where),
                kind=str(r.get("kind", "")),
            )
            for i, r in enumerate(entry.get("region", []), start=1)
        ),
        masks={
            name: _existing(root, rel, where, f"mask {name!r}")
            for name, rel in entry.get("masks", {}).items()
        },
        metadata={key: value for key, value in entry.items() if key not in _KNOWN_KEYS},
        **numbers,
    )


def _existing(root: Path, relative: Any, where: str, what: str) -> Path:
    path = (root / str(relative)).resolve()
    if not path.is_file():
        raise ManifestError(f"{where}: {what} file {relative} does not exist (looked in {root})")
    return path


def _bbox(value: Any, where: str) -> tuple[int, int, int, int]:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 4
        or not all(isinstance(v, int) and v >= 0 for v in value)
        or value[2] == 0
        or value[3] == 0
    ):
        raise ManifestError(
            f"{where}: bbox must be [x, y, width, height] of non-negative integers, got {value!r}"
        )
    return tuple(value)
