"""Run a published restoration checkpoint as a denoiser, its architecture found by spandrel.

A user brings the network they trained or downloaded as a file of weights alone
(KAIR's ``dncnn_25.pth``, a NAFNet or Restormer release, a SCUNet
``.safetensors``). spandrel (MIT) recognises the architecture from the names and
shapes of the weights and builds the PyTorch module; evalkit reads the file,
runs the module tile by tile and records what spandrel recognised.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DenoiserError
from ._tiling import TiledModel
from ._torch import forward_torch, resolve_torch_device

__all__ = ["CheckpointDenoiser", "load_checkpoint"]

PICKLE_SUFFIXES = (".pth", ".pt", ".ckpt", ".bin")
SAFETENSORS_SUFFIX = ".safetensors"


@dataclass(frozen=True)
class CheckpointDenoiser(TiledModel):
    """A restoration network from a checkpoint file, run tile by tile.

    Parameters
    ----------
    path : str or Path
        ``.pth``, ``.pt``, ``.ckpt`` or ``.bin`` (read with
        ``torch.load(weights_only=True)``, so no code in the file runs) or
        ``.safetensors``. The weights may sit under a key such as
        ``"state_dict"``, ``"params_ema"`` or ``"model"``, as training
        frameworks save them.
    tile : int or None, optional
        Tile side in pixels; ``None`` runs whole images at once (memory grows
        with the image). Rounded down to the network's size multiple (and
        ``overlap`` up to it).
    overlap : int, optional
        Pixels shared by neighbouring tiles. Blending is exact for a network
        whose receptive-field radius is at most ``overlap // 4`` (17 px for
        DnCNN-17, so 68, hence the default); for U-Nets and transformers whose field spans the
        tile it is a close approximation, as in every tiled inference.
    device : str, optional
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``.
    name : str, optional
        Name in results.

    Attributes
    ----------
    architecture : str
        The architecture spandrel recognised (``"DnCNN"``, ``"NAFNet"``).
    params : mapping
        Path, SHA-256 of the file, architecture, spandrel's tags (width and
        depth such as ``"64nc"``, ``"17nb"``), channels and tiling, as results
        and provenance record them.

    Notes
    -----
    A greyscale network (one channel in and out, like KAIR's DnCNN) is applied
    to R, G and B separately: the usual way to run a grey denoiser on colour,
    which leaves the chroma noise to each channel's own pass rather than
    mixing it into luma. A network that takes a noise level as well (DRUNet)
    gets the one spandrel gives it (15/255 for DRUNet). Only networks that keep the size
    (scale 1) with one or three channels are denoisers here; a super-resolution
    or inpainting checkpoint is refused with what spandrel says it is.
    """

    path: str | Path
    tile: int | None = 512
    overlap: int = 72
    device: str = "auto"
    name: str = "checkpoint"
    architecture: str = field(init=False)
    params: Mapping[str, Any] = field(init=False)
    # TiledModel's conversion options: spandrel's modules take RGB in [0, 1].
    input_range: float = field(default=1.0, init=False)
    output_range: float | None = field(default=1.0, init=False)
    colour_order: str = field(default="rgb", init=False)
    multiple: int = field(default=1, init=False)

    def __post_init__(self):
        import torch

        descriptor, digest = load_checkpoint(self.path, name=self.name)
        device = resolve_torch_device(self.device)
        # A U-Net that halves its input k times needs sides in multiples of 2**k:
        # tiles and their overlap are rounded to the network's own multiple.
        multiple = int(descriptor.size_requirements.multiple_of)
        if self.tile is not None:
            object.__setattr__(self, "tile", max(multiple, self.tile // multiple * multiple))
        object.__setattr__(self, "overlap", -(-self.overlap // multiple) * multiple)
        object.__setattr__(self, "multiple", multiple)
        self._check_options()
        # channels-last runs these convolutions 1.45x faster on the CPU (measured
        # on DnCNN-17); the values agree with the default layout to float rounding.
        descriptor.model.to(device).eval().to(memory_format=torch.channels_last)
        object.__setattr__(self, "_descriptor", descriptor)
        object.__setattr__(self, "_grey", descriptor.input_channels == 1)
        object.__setattr__(self, "device", str(device))
        object.__setattr__(self, "architecture", descriptor.architecture.name)
        object.__setattr__(
            self,
            "params",
            {
                "path": str(self.path),
                "sha256": digest,
                "architecture": descriptor.architecture.name,
                "tags": list(descriptor.tags),
                "channels": descriptor.input_channels,
                "tile": self.tile,
                "overlap": self.overlap,
                "multiple": multiple,
                "device": self.device,
            },
        )

    def _forward(self, array: np.ndarray) -> np.ndarray:
        # Through spandrel's descriptor, not the bare module: some architectures
        # add inputs of their own (DRUNet a noise-level plane) and take one image
        # per call, so a grey network's three planes go one at a time.
        if not self._grey:
            return forward_torch(self._descriptor, array, self.device)
        planes = [forward_torch(self._descriptor, array[:, [c]], self.device) for c in range(3)]
        return np.concatenate(planes, axis=1)


def load_checkpoint(path: str | Path, *, name: str = "checkpoint"):
    """Read a checkpoint and let spandrel build its network; return it with the file's SHA-256.

    Parameters
    ----------
    path : str or Path
        The checkpoint (see :class:`CheckpointDenoiser` for formats).
    name : str, optional
        Denoiser name, for messages.

    Returns
    -------
    (spandrel.ImageModelDescriptor, str)
        The network on the CPU in eval mode, and the hex SHA-256 of the file.

    Raises
    ------
    DenoiserError
        Missing, unreadable or unrecognised file, or a network that is not a
        same-size 1- or 3-channel image restorer. One line that names the file.
    """
    import spandrel

    path = Path(path)
    if not path.is_file():
        raise DenoiserError(f"{name}: checkpoint {path} does not exist")
    data = path.read_bytes()  # read once: for the weights and for the digest
    state = _read_weights(data, path, name)
    try:
        descriptor = spandrel.ModelLoader("cpu").load_from_state_dict(
            spandrel.canonicalize_state_dict(state)
        )
    except spandrel.UnsupportedModelError:
        raise DenoiserError(
            f"{name}: spandrel does not recognise the network in {path} (it knows "
            f"{len(spandrel.MAIN_REGISTRY)} architectures, such as DnCNN, FFDNet, DRUNet, "
            "SCUNet, NAFNet, Restormer and SwinIR); for another, use the torch_model "
            "adapter with its architecture"
        ) from None
    except Exception as exc:  # an architecture's loader choking on odd shapes
        raise DenoiserError(
            f"{name}: cannot build the network in {path}: {_first_line(exc)}"
        ) from None
    _check_is_denoiser(descriptor, path, name)
    return descriptor, hashlib.sha256(data).hexdigest()


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _read_weights(data: bytes, path: Path, name: str) -> Mapping[str, Any]:
    """The weights in ``data``, the bytes of ``path`` (whose suffix says the format)."""
    suffix = path.suffix.lower()
    try:
        if suffix == SAFETENSORS_SUFFIX:
            from safetensors.torch import load

            state = load(data)
        elif suffix in PICKLE_SUFFIXES:
            import torch

            state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        else:
            known = ", ".join((*PICKLE_SUFFIXES, SAFETENSORS_SUFFIX))
            raise DenoiserError(
                f"{name}: {path} has the suffix {path.suffix or '(none)'!r}; a checkpoint is "
                f"one of {known}"
            )
    except DenoiserError:
        raise
    except Exception as exc:  # torch and safetensors raise many types for foreign bytes
        raise DenoiserError(
            f"{name}: {path} is not a readable checkpoint (damaged, or not weights): "
            f"{_first_line(exc)}"
        ) from None
    if not isinstance(state, Mapping):
        raise DenoiserError(f"{name}: {path} holds a {type(state).__name__}, not a dict of weights")
    return state


def _check_is_denoiser(descriptor, path: Path, name: str) -> None:
    import spandrel

    what = f"{descriptor.architecture.name} ({descriptor.purpose})"
    if not isinstance(descriptor, spandrel.ImageModelDescriptor):
        raise DenoiserError(f"{name}: {path} is {what}, which needs a mask, not a denoiser")
    if descriptor.scale != 1:
        raise DenoiserError(
            f"{name}: {path} is {what} at scale {descriptor.scale}; a denoiser keeps the size"
        )
    if (descriptor.input_channels, descriptor.output_channels) not in ((1, 1), (3, 3)):
        raise DenoiserError(
            f"{name}: {path} is {what} with {descriptor.input_channels} input and "
            f"{descriptor.output_channels} output channels; evalkit runs 1- or 3-channel "
            "networks"
        )
