"""Run a PyTorch model as a denoiser: TorchScript files or a state_dict plus its architecture."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._registry import load_target
from ..errors import DenoiserError
from ._tiling import TiledModel

__all__ = ["TorchModelDenoiser", "forward_torch", "resolve_torch_device"]


@dataclass(frozen=True)
class TorchModelDenoiser(TiledModel):
    """A PyTorch image-to-image model, run tile by tile.

    Parameters
    ----------
    path : str or Path, optional
        Model file. Without ``architecture`` it must be TorchScript
        (``torch.jit.save``) and is read with ``torch.jit.load``. With
        ``architecture`` it is a ``state_dict`` (or a dict holding one under
        ``"state_dict"``), read with ``torch.load(weights_only=True)``, so no code
        in the file runs.
    model : torch.nn.Module, optional
        An already built model instead of ``path`` (for use from Python).
    architecture : str, optional
        ``"package.module:attr"`` of the model class or factory, called with
        ``architecture_params`` before the state_dict is loaded into it.
    architecture_params : mapping, optional
        Keyword arguments of ``architecture``.
    input_range, output_range : {1.0, 255.0}, optional
        Value of white in the model's input and output (output defaults to input).
    colour_order : {"rgb", "bgr"}, optional
        Channel order of the model's input and output.
    tile : int or None, optional
        Tile side in pixels; ``None`` runs whole images. Tiles bound memory.
    overlap : int, optional
        Pixels shared by neighbouring tiles; exact blending needs at least 4
        times the model's receptive-field radius (see
        :func:`~evalkit.denoisers._tiling.run_tiled`).
    multiple : int, optional
        The model needs height and width divisible by this (a U-Net with three
        downsamplings needs 8); tiles are padded by mirroring and aligned to it.
    device : str, optional
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``.
    name : str, optional
        Name in results.

    Notes
    -----
    The model receives (1, 3, H, W) float32 tensors and must return the same
    shape. Outputs are clipped to [0, 1] after blending.
    """

    path: str | Path | None = None
    model: Any = field(default=None, repr=False, compare=False)
    architecture: str | None = None
    architecture_params: Mapping[str, Any] = field(default_factory=dict)
    input_range: float = 1.0
    output_range: float | None = None
    colour_order: str = "rgb"
    tile: int | None = 512
    overlap: int = 32
    multiple: int = 1
    device: str = "auto"
    name: str = "torch_model"
    params: Mapping[str, Any] = field(init=False)

    def __post_init__(self):
        output_range = self._check_options()
        device = resolve_torch_device(self.device)
        if (self.path is None) == (self.model is None):
            raise DenoiserError(f"{self.name}: give exactly one of path and model")
        model = self.model if self.model is not None else self._load(device)
        object.__setattr__(self, "model", model.to(device).eval())
        object.__setattr__(self, "device", str(device))
        object.__setattr__(
            self,
            "params",
            {
                "path": None if self.path is None else str(self.path),
                "architecture": self.architecture,
                "architecture_params": dict(self.architecture_params),
                "input_range": self.input_range,
                "output_range": output_range,
                "colour_order": self.colour_order,
                "tile": self.tile,
                "overlap": self.overlap,
                "multiple": self.multiple,
                "device": self.device,
            },
        )

    def _forward(self, array: np.ndarray) -> np.ndarray:
        return forward_torch(self.model, array, self.device)

    def _load(self, device):
        import torch

        path = Path(self.path)
        if not path.is_file():
            raise DenoiserError(f"{self.name}: model file {path} does not exist")
        if self.architecture is None:
            try:
                return torch.jit.load(str(path), map_location=device)
            except RuntimeError as exc:
                raise DenoiserError(
                    f"{self.name}: {path} is not a TorchScript file ({str(exc).splitlines()[0]}); "
                    "for a state_dict, also give architecture='package.module:Class'"
                ) from None
        try:
            factory = load_target(self.architecture)
        except (ImportError, AttributeError, ValueError) as exc:
            raise DenoiserError(
                f"{self.name}: cannot import architecture {self.architecture!r}: {exc}"
            ) from None
        model = factory(**self.architecture_params)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises several types for foreign files
            raise DenoiserError(f"{self.name}: cannot read state_dict {path}: {exc}") from None
        if isinstance(state, Mapping) and "state_dict" in state:
            state = state["state_dict"]
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            raise DenoiserError(
                f"{self.name}: {path} does not fit {self.architecture}: {str(exc).splitlines()[0]}"
            ) from None
        return model


def forward_torch(model, array: np.ndarray, device) -> np.ndarray:
    """One inference pass of ``model`` on a float32 (N, C, H, W) array, back as float32.

    A model that returns something other than a tensor gets it back unchanged,
    for :class:`~evalkit.denoisers._tiling.TiledModel` to refuse with its type.
    """
    import torch

    with torch.inference_mode():
        output = model(torch.from_numpy(array).to(device))
    if not isinstance(output, torch.Tensor):
        return output
    return output.float().cpu().numpy()


def resolve_torch_device(device: str):
    """``"auto"`` -> CUDA when available, else CPU; other strings as torch devices."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise DenoiserError(f"unknown torch device {device!r}: {exc}") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise DenoiserError(f"device {device!r} requested but CUDA is not available here")
    return resolved
