"""Network weights for LPIPS and DISTS: where to find them, checksums, installing.

evalkit never downloads. It looks for each file, by its usual name, in

1. ``$EVALKIT_WEIGHTS_DIR`` (default ``~/.cache/evalkit/weights``), where
   :func:`install_weights` copies files, and
2. torch hub's checkpoint cache (``$TORCH_HOME/hub/checkpoints``, default
   ``~/.cache/torch/hub/checkpoints``), where torchvision and piq put them when
   they download on a connected machine,

and checks its SHA-256. A missing or corrupt file makes the metric unavailable,
with a message naming the file and the ``evalkit weights install`` command.
Files are loaded with ``torch.load(..., weights_only=True)``: tensors only, never
arbitrary pickled code.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import UnavailableError


@dataclass(frozen=True)
class WeightsFile:
    """A weights file evalkit knows.

    Attributes
    ----------
    name : str
        Short key (``"alexnet"``) used by ``evalkit weights install NAME PATH``.
    filename : str
        File name, as torch hub caches it.
    sha256 : str
        Expected SHA-256 in hex, or its leading characters: torchvision publishes
        only the 8-character prefix in the file name, which is what torch hub's own
        ``check_hash`` verifies.
    url : str
        Where to download it on a connected machine.
    used_by : tuple of str
        Metrics that need it.
    """

    name: str
    filename: str
    sha256: str
    url: str
    used_by: tuple[str, ...]


KNOWN_WEIGHTS: dict[str, WeightsFile] = {
    spec.name: spec
    for spec in (
        WeightsFile(
            "alexnet",
            "alexnet-owt-7be5be79.pth",
            "7be5be79",
            "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
            ("lpips_alex",),
        ),
        WeightsFile(
            "vgg16",
            "vgg16-397923af.pth",
            "397923af",
            "https://download.pytorch.org/models/vgg16-397923af.pth",
            ("lpips_vgg", "dists"),
        ),
        WeightsFile(
            "dists",
            "dists_weights.pt",
            # piq publishes no checksum for this file and it could not be fetched
            # here to compute one: it is accepted by name (status says so).
            "",
            "https://github.com/photosynthesis-team/piq/releases/download/v0.4.1/dists_weights.pt",
            ("dists",),
        ),
    )
}


@dataclass(frozen=True)
class WeightsStatus:
    """Whether one weights file is usable here.

    Attributes
    ----------
    spec : WeightsFile
    path : Path or None
        Where the file was found (``None`` if nowhere).
    ok : bool
        Found and its checksum matches.
    reason : str
        ``"ok"``, or what is wrong and the command that fixes it.
    """

    spec: WeightsFile
    path: Path | None
    ok: bool
    reason: str


def weights_dir() -> Path:
    """evalkit's own weights folder: ``$EVALKIT_WEIGHTS_DIR`` or ``~/.cache/evalkit/weights``."""
    configured = os.environ.get("EVALKIT_WEIGHTS_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".cache/evalkit/weights"


def torch_hub_checkpoints_dir() -> Path:
    """torch hub's checkpoint cache, computed as ``torch.hub.get_dir()`` does, without
    importing torch."""
    torch_home = os.environ.get("TORCH_HOME")
    if torch_home:
        return Path(torch_home).expanduser() / "hub" / "checkpoints"
    cache = os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))
    return Path(cache).expanduser() / "torch" / "hub" / "checkpoints"


def search_dirs() -> list[Path]:
    """Folders searched for weights, in order."""
    return [weights_dir(), torch_hub_checkpoints_dir()]


def weights_status(name: str) -> WeightsStatus:
    """Find ``name``'s file and verify it; never raises for a missing file."""
    spec = _spec(name)
    fix = f"evalkit weights install {spec.name} PATH/TO/{spec.filename}  (download: {spec.url})"
    bad: Path | None = None
    for folder in search_dirs():
        path = folder / spec.filename
        if path.is_file():
            if _checksum_ok(path, spec.sha256):
                note = "ok" if spec.sha256 else "ok (no published checksum to verify)"
                return WeightsStatus(spec, path, True, note)
            bad = bad or path
    if bad is not None:
        reason = f"{bad} does not match its SHA-256 {spec.sha256}...; replace it: {fix}"
        return WeightsStatus(spec, bad, False, reason)
    searched = ", ".join(str(folder) for folder in search_dirs())
    return WeightsStatus(
        spec, None, False, f"weights file {spec.filename} not found in {searched}; run: {fix}"
    )


def list_weights() -> list[WeightsStatus]:
    """Status of every known weights file (for ``evalkit weights``)."""
    return [weights_status(name) for name in KNOWN_WEIGHTS]


def find_weights(name: str) -> Path:
    """Path of ``name``'s verified file.

    Raises
    ------
    UnavailableError
        Missing or corrupt, with the file name and the command that fixes it.
    """
    status = weights_status(name)
    if not status.ok:
        raise UnavailableError(f"{', '.join(status.spec.used_by)}: {status.reason}")
    assert status.path is not None  # ok implies a path
    return status.path


def install_weights(name: str, source: str | os.PathLike) -> Path:
    """Verify ``source`` against ``name``'s checksum and copy it into :func:`weights_dir`.

    Parameters
    ----------
    name : str
        A key of :data:`KNOWN_WEIGHTS` (``"alexnet"``, ``"vgg16"``, ``"dists"``).
    source : path
        The downloaded file.

    Returns
    -------
    Path
        Where it was installed.

    Raises
    ------
    KeyError
        Unknown name.
    UnavailableError
        ``source`` is missing or its checksum does not match (nothing is copied).
    """
    spec = _spec(name)
    source = Path(source)
    if not source.is_file():
        raise UnavailableError(f"{source} is not a file")
    if not _checksum_ok(source, spec.sha256):
        raise UnavailableError(
            f"{source} is not {spec.filename}: its SHA-256 {_sha256(source)[:16]}... "
            f"does not start with {spec.sha256}"
        )
    target = weights_dir() / spec.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".partial")
    shutil.copyfile(source, partial)
    partial.replace(target)  # atomic: a crash never leaves a half-copied file in place
    return target


def load_state_dict(path: str | os.PathLike) -> dict:
    """``torch.load(path, map_location="cpu", weights_only=True)``: tensors only."""
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or non-tensor file
        raise UnavailableError(f"{path} is not a loadable weights file: {exc}") from exc


def _spec(name: str) -> WeightsFile:
    try:
        return KNOWN_WEIGHTS[name]
    except KeyError:
        raise KeyError(
            f"unknown weights {name!r} (known: {', '.join(sorted(KNOWN_WEIGHTS))})"
        ) from None


def _checksum_ok(path: Path, expected: str) -> bool:
    return _sha256(path).startswith(expected.lower())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
