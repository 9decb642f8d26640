"""Loaders for the folder layouts of public real-noise datasets.

Each returns a :class:`Dataset` of :class:`Pair` with camera, ISO and exposure
time from the file or folder names (or EXIF where names do not say), so results
can be plotted against ISO. Paths are absolute; nothing is read but names and
EXIF headers.

============  ==========================================================
layout        what the loader expects under ``root`` (searched recursively)
============  ==========================================================
``polyu``     ``Camera_Aperture_Shutter_ISO_Scene_Index_real.JPG`` next to
              ``..._mean.JPG`` (Xu et al. 2018, arXiv:1804.02603; the
              dataset's ``CroppedImages``). Aperture ``4-5`` means f/4.5;
              shutter ``160`` means 1/160 s. The mean of many shots is the
              reference: same ISO and exposure. The whole frames
              (``OriginalImages``) are named ``Camera_Scene_Real.JPG`` /
              ``Camera_Scene_mean.JPG``; their ISO and exposure come from EXIF.
``sidd``      folders ``<instance>_<scene>_<phone>_<ISO>_<shutter>_<temp>_<L|N|H>``
              (the instance number is optional) holding ``*_GT_SRGB_<k>.PNG``
              and ``*_NOISY_SRGB_<k>.PNG`` (Abdelhamed et al. 2018); shutter
              ``00060`` means 1/60 s. One pair per ``<k>``.
``renoir``    ``<Camera>_Aligned/Batch_<n>/`` folders holding ``*Reference.bmp``,
              ``*full.bmp`` (a second reference, kept in metadata) and one or
              more ``*Noisy.bmp`` (Anaya & Barbu 2018, doi:10.1016/j.jvcir.2018.01.012).
              One pair per noisy image.
``nam``       Nam et al. 2016 ("CC"): ``<camera>_iso<ISO>_<index>_real.png``
              and ``..._mean.png``, in one folder or in ``real/`` and ``mean/``.
``sid``       SID (Chen et al. 2018): ``Sony/short/<scene>_<shot>_<t>s.ARW`` and
              ``Sony/long/<scene>_00_<t>s.ARW`` (``.RAF`` for Fuji); one pair per
              short exposure, ``metadata["exposure_ratio"]`` = long / short time.
``manifest``  a ``manifest.toml`` or ``manifest.csv`` (see :func:`load_dataset`).
============  ==========================================================
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from pathlib import Path

from ..errors import ManifestError
from ._manifest import Dataset, load_dataset
from ._pair import Pair

LAYOUTS = ("auto", "manifest", "polyu", "sidd", "renoir", "nam", "sid")
REGISTERED_LAYOUTS = ("polyu", "sidd", "renoir", "nam")
"""Benchmarks published as registered, equally exposed pairs and scored unaligned in
the literature: evalkit's ``auto`` alignment keeps that convention for them."""

_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}
_POLYU = re.compile(
    r"^(?P<camera>[A-Za-z0-9]+)_(?P<aperture>\d+(?:-\d+)?)_(?P<shutter>\d+)_(?P<iso>\d+)_"
    r"(?P<scene>[A-Za-z0-9]+)_(?P<index>\d+)_(?P<role>real|mean)$",
    re.IGNORECASE,
)
# The whole frames' names are generic (``Camera_Scene_Real``): only the dataset's five
# cameras count, so that a user's own ``desk_photo_mean.tif`` is not taken for PolyU.
_POLYU_FULL = re.compile(
    r"^(?P<camera>Canon5D2|Canon80D|Canon600D|Nikon800|SonyA7II)_(?P<scene>[A-Za-z0-9]+)_"
    r"(?P<role>real|mean)$",
    re.IGNORECASE,
)
_NAM = re.compile(
    r"^(?P<camera>[A-Za-z0-9]+)_iso(?P<iso>\d+)_(?P<index>\d+)_(?P<role>real|mean)$", re.IGNORECASE
)
_SIDD_FOLDER = re.compile(
    r"^(?:(?P<instance>\d{4})_)?(?P<scene>\d{3})_(?P<phone>[A-Z0-9]{2})_(?P<iso>\d{5})_"
    r"(?P<shutter>\d{5})_(?P<temp>\d{4})_(?P<brightness>[LNH])$"
)
_SIDD_FILE = re.compile(r"(?P<kind>GT|NOISY)_SRGB_(?P<k>\d+)$", re.IGNORECASE)
_SIDD_PHONES = {
    "GP": "Google Pixel",
    "IP": "iPhone 7",
    "S6": "Samsung Galaxy S6 Edge",
    "N6": "Motorola Nexus 6",
    "G4": "LG G4",
}
_SID = re.compile(r"^(?P<scene>\d{5})_(?P<shot>\d{2})_(?P<seconds>\d+(?:\.\d+)?)s$")
_RENOIR_BATCH = re.compile(r"^batch_?(?P<n>\d+)$", re.IGNORECASE)


def load_dataset_dir(path: str | os.PathLike, layout: str = "auto") -> Dataset:
    """Load a folder of reference pairs laid out like a public dataset.

    Parameters
    ----------
    path : str or path-like
        The dataset's root folder (or a manifest file).
    layout : {"auto", "manifest", "polyu", "sidd", "renoir", "nam", "sid"}
        ``"auto"`` picks, in this order: a manifest in the folder, SIDD folder
        names, RENOIR batch folders, SID ``short``/``long`` folders, PolyU names,
        Nam names.

    Returns
    -------
    Dataset
        Pairs sorted by id; ``info["layout"]`` records the layout used.

    Raises
    ------
    ManifestError
        The folder does not exist, matches no layout, or holds no pairs.
    """
    root = Path(path)
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if root.is_file() or layout == "manifest":
        return load_dataset(root)
    if not root.is_dir():
        raise ManifestError(f"{root}: no such manifest or dataset folder")
    if layout == "auto":
        layout = detect_layout(root)
    if layout == "manifest":
        toml = root / "manifest.toml"
        return load_dataset(toml if toml.is_file() else root / "manifest.csv")
    loader = {
        "polyu": load_polyu,
        "sidd": load_sidd,
        "renoir": load_renoir,
        "nam": load_nam,
        "sid": load_sid,
    }[layout]
    return loader(root)


def detect_layout(root: str | os.PathLike) -> str:
    """The layout name :func:`load_dataset_dir` would use for ``root``.

    Raises
    ------
    ManifestError
        Nothing under ``root`` looks like a known layout.
    """
    root = Path(root)
    if (root / "manifest.toml").is_file() or _is_evalkit_csv(root / "manifest.csv"):
        return "manifest"
    folders = [p for p in root.rglob("*") if p.is_dir()]
    if any(_SIDD_FOLDER.match(p.name) for p in [root, *folders]):
        return "sidd"
    if any(_RENOIR_BATCH.match(p.name) and any(p.glob("*Noisy.*")) for p in folders):
        return "renoir"
    if any(p.name.lower() == "short" and (p.parent / "long").is_dir() for p in folders):
        return "sid"
    stems = [p.stem for p in _images(root)]
    if any(_POLYU.match(s) for s in stems):
        return "polyu"
    if any(_NAM.match(s) for s in stems):
        return "nam"
    if any(_POLYU_FULL.match(s) for s in stems):
        return "polyu"
    raise ManifestError(
        f"{root}: no manifest and no known dataset layout (polyu, sidd, renoir, nam, sid); "
        "pass layout= or write a manifest.toml"
    )


def load_polyu(root: str | os.PathLike) -> Dataset:
    """PolyU real-world noisy images: ``*_real`` / ``*_mean`` pairs, crops and whole
    frames (see module docs)."""
    root = Path(root)
    pairs = _mean_pairs(root, _POLYU, "polyu", _polyu_crop_settings)
    pairs += _mean_pairs(root, _POLYU_FULL, "polyu", _exif_settings)
    return _dataset(root, "polyu", pairs)


def load_nam(root: str | os.PathLike) -> Dataset:
    """Nam et al.'s cross-channel dataset: ``<camera>_iso<ISO>_<i>_real`` / ``_mean``."""
    root = Path(root)
    return _dataset(root, "nam", _mean_pairs(root, _NAM, "nam", _nam_settings))


def _mean_pairs(root: Path, pattern: re.Pattern, layout: str, settings) -> list[Pair]:
    """Pairs whose reference is the mean of shots at the noisy shot's settings;
    ``settings(match, real)`` gives ``(iso, exposure_s, metadata)``."""
    pairs = []
    for stem, (real, mean, match) in sorted(_real_mean(root, pattern).items()):
        iso, exposure, metadata = settings(match, real)
        pairs.append(
            Pair(
                id=stem,
                reference=mean,
                noisy=real,
                camera=match["camera"],
                iso=iso,
                exposure_s=exposure,
                reference_iso=iso,
                reference_exposure_s=exposure,
                metadata={**metadata, "dataset_layout": layout},
            )
        )
    return pairs


def _polyu_crop_settings(match: re.Match, real: Path) -> tuple[float, float, dict]:
    # Crops carry their settings in the name.
    aperture = float(match["aperture"].replace("-", "."))
    metadata = {"aperture": aperture, "scene": match["scene"]}
    return float(match["iso"]), 1.0 / float(match["shutter"]), metadata


def _exif_settings(match: re.Match, real: Path) -> tuple[float | None, float | None, dict]:
    # Whole frames' names give no ISO or exposure: EXIF does.
    exif = _exif_metadata(real)
    return exif.get("iso"), exif.get("exposure_s"), {"scene": match["scene"]}


def _nam_settings(match: re.Match, real: Path) -> tuple[float, None, dict]:
    return float(match["iso"]), None, _exif_metadata(real)


def load_sidd(root: str | os.PathLike) -> Dataset:
    """SIDD sRGB folders ``[<instance>_]<scene>_<phone>_<ISO>_<shutter>_<temp>_<L|N|H>``."""
    root = Path(root)
    pairs = []
    for folder in sorted(p for p in [root, *root.rglob("*")] if p.is_dir()):
        match = _SIDD_FOLDER.match(folder.name)
        if not match:
            continue
        files: dict[str, dict[str, Path]] = defaultdict(dict)
        for file in folder.iterdir():
            found = _SIDD_FILE.search(file.stem)
            if found and file.suffix.lower() in _IMAGE_SUFFIXES:
                files[found["k"]][found["kind"].upper()] = file.resolve()
        shutter = float(match["shutter"])
        for k, both in sorted(files.items()):
            if set(both) != {"GT", "NOISY"}:
                continue
            pairs.append(
                Pair(
                    id=f"{folder.name}_{k}",
                    reference=both["GT"],
                    noisy=both["NOISY"],
                    camera=_SIDD_PHONES.get(match["phone"], match["phone"]),
                    iso=float(match["iso"]),
                    exposure_s=1.0 / shutter if shutter else None,
                    metadata={
                        "scene": match["scene"],
                        "instance": match["instance"],
                        "illuminant_k": int(match["temp"]),
                        "brightness": {"L": "low", "N": "normal", "H": "high"}[match["brightness"]],
                        "dataset_layout": "sidd",
                    },
                )
            )
    return _dataset(root, "sidd", pairs)


def load_renoir(root: str | os.PathLike) -> Dataset:
    """RENOIR ``<Camera>_Aligned/Batch_<n>/`` folders; one pair per ``*Noisy`` image.

    The camera is the folder name above the batch without ``_Aligned``; ISO and
    exposure come from EXIF when the files carry it (RENOIR's BMPs do not).
    """
    root = Path(root)
    pairs = []
    for batch in sorted(p for p in [root, *root.rglob("*")] if p.is_dir()):
        match = _RENOIR_BATCH.match(batch.name)
        if not match:
            continue
        references = sorted(p for p in batch.glob("*Reference.*") if _is_image(p))
        noisy_files = sorted(p for p in batch.glob("*Noisy.*") if _is_image(p))
        if not references or not noisy_files:
            continue
        second = sorted(p for p in batch.glob("*full.*") if _is_image(p))
        camera = re.sub(r"_aligned$", "", batch.parent.name, flags=re.IGNORECASE) or None
        for index, noisy in enumerate(noisy_files, start=1):
            exif = _exif_metadata(noisy)
            pairs.append(
                Pair(
                    id=f"{camera}_batch{int(match['n']):03d}_{index}",
                    reference=references[0].resolve(),
                    noisy=noisy.resolve(),
                    camera=camera,
                    iso=exif.pop("iso", None),
                    exposure_s=exif.pop("exposure_s", None),
                    metadata={
                        "second_reference": str(second[0].resolve()) if second else None,
                        "dataset_layout": "renoir",
                        **exif,
                    },
                )
            )
    return _dataset(root, "renoir", pairs)


def load_sid(root: str | os.PathLike) -> Dataset:
    """SID ``short/`` and ``long/`` RAW exposures; one pair per short exposure.

    The reference is the long exposure of the same scene id; the exposure ratio
    (long / short seconds, which SID's code caps at 300) goes to
    ``metadata["exposure_ratio"]``, which :meth:`Pair.load` applies.
    """
    root = Path(root)
    pairs = []
    for short_dir in sorted(p for p in [root, *root.rglob("*")] if p.name.lower() == "short"):
        long_dir = short_dir.parent / "long"
        if not long_dir.is_dir():
            continue
        longs = {}
        for file in long_dir.iterdir():
            parsed = parse_sid_name(file.name)
            if parsed:
                longs[parsed["scene"]] = (file.resolve(), parsed["seconds"])
        camera = short_dir.parent.name
        for file in sorted(short_dir.iterdir()):
            parsed = parse_sid_name(file.name)
            if not parsed or parsed["scene"] not in longs:
                continue
            reference, long_s = longs[parsed["scene"]]
            pairs.append(
                Pair(
                    id=f"{camera}_{file.stem}",
                    reference=reference,
                    noisy=file.resolve(),
                    camera=camera,
                    exposure_s=parsed["seconds"],
                    reference_exposure_s=long_s,
                    metadata={
                        "scene": parsed["scene"],
                        "exposure_ratio": min(long_s / parsed["seconds"], 300.0),
                        "dataset_layout": "sid",
                    },
                )
            )
    return _dataset(root, "sid", pairs)


def parse_sid_name(name: str) -> dict | None:
    """``"00001_00_0.04s.ARW"`` -> ``{"scene": "00001", "shot": 0, "seconds": 0.04}``;
    ``None`` for other names."""
    path = Path(name)
    if path.suffix.lower() not in (".arw", ".raf", ".dng"):
        return None
    match = _SID.match(path.stem)
    if not match:
        return None
    return {"scene": match["scene"], "shot": int(match["shot"]), "seconds": float(match["seconds"])}


def parse_polyu_name(name: str) -> dict | None:
    """Camera, aperture (f-number), exposure (s), ISO, scene, index and role of a
    PolyU file name such as ``Canon5D2_5_160_3200_chair_11_real.JPG``."""
    match = _POLYU.match(Path(name).stem)
    if not match:
        return None
    return {
        "camera": match["camera"],
        "aperture": float(match["aperture"].replace("-", ".")),
        "exposure_s": 1.0 / float(match["shutter"]),
        "iso": float(match["iso"]),
        "scene": match["scene"],
        "index": int(match["index"]),
        "role": match["role"].lower(),
    }


def benchmark_layout(reference: str | os.PathLike, noisy: str | os.PathLike) -> str | None:
    """The registered benchmark (:data:`REGISTERED_LAYOUTS`) whose naming the two
    files follow as one pair, or ``None``.

    ``X_mean.JPG`` with ``X_real.JPG`` (PolyU, crops or whole frames; Nam),
    ``..._GT_SRGB_k`` with ``..._NOISY_SRGB_k`` in a SIDD scene folder, or RENOIR's
    ``*Reference.bmp`` with a ``*Noisy.bmp`` of its batch.
    """
    reference, noisy = Path(reference), Path(noisy)
    for layout, pattern in (("polyu", _POLYU), ("nam", _NAM), ("polyu", _POLYU_FULL)):
        ref, noi = pattern.match(reference.stem), pattern.match(noisy.stem)
        if (
            ref
            and noi
            and (ref["role"].lower(), noi["role"].lower()) == ("mean", "real")
            and reference.stem[: -len("mean")].lower() == noisy.stem[: -len("real")].lower()
        ):
            return layout
    if reference.parent == noisy.parent:
        if _SIDD_FOLDER.match(reference.parent.name):
            ref, noi = _SIDD_FILE.search(reference.stem), _SIDD_FILE.search(noisy.stem)
            if ref and noi and ref["kind"].upper() == "GT" and noi["kind"].upper() == "NOISY":
                return "sidd" if ref["k"] == noi["k"] else None
        if (
            _RENOIR_BATCH.match(reference.parent.name)
            and reference.stem.endswith("Reference")
            and noisy.stem.endswith("Noisy")
        ):
            return "renoir"
    return None


def _is_evalkit_csv(path: Path) -> bool:
    # Datasets ship their own manifest.csv files (PolyU's has "pair_id"): only one
    # with evalkit's columns counts as a manifest.
    if not path.is_file():
        return False
    with open(path, encoding="utf-8", errors="replace") as fh:
        header = [c.strip() for c in fh.readline().split(",")]
    return {"id", "reference", "noisy"} <= set(header)


def _images(root: Path):
    return (p for p in root.rglob("*") if _is_image(p))


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in _IMAGE_SUFFIXES


def _real_mean(root: Path, pattern: re.Pattern) -> dict:
    found: dict[str, dict] = defaultdict(dict)
    for file in _images(root):
        match = pattern.match(file.stem)
        if match:
            stem = file.stem[: -len(match["role"]) - 1]
            found[stem][match["role"].lower()] = (file.resolve(), match)
    return {
        stem: (roles["real"][0], roles["mean"][0], roles["real"][1])
        for stem, roles in found.items()
        if "real" in roles and "mean" in roles
    }


def _exif_metadata(path: Path) -> dict:
    """ISO and exposure time from EXIF, when the file has them (header only)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            exif = im.getexif().get_ifd(0x8769)
    except Exception:  # unreadable headers just mean no metadata
        return {}
    out = {}
    iso = exif.get(0x8827)  # ISOSpeedRatings
    if isinstance(iso, tuple | list):
        iso = iso[0] if iso else None
    if iso:
        out["iso"] = float(iso)
    exposure = exif.get(0x829A)  # ExposureTime
    if exposure:
        out["exposure_s"] = float(exposure)
    return out


def _dataset(root: Path, layout: str, pairs: list[Pair]) -> Dataset:
    if not pairs:
        raise ManifestError(f"{root}: no {layout} pairs found")
    return Dataset(
        name=root.resolve().name,
        root=root.resolve(),
        pairs=tuple(sorted(pairs, key=lambda p: p.id)),
        info={"name": root.resolve().name, "layout": layout},
    )
