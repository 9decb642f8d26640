"""Run an ONNX model as a denoiser with ONNX Runtime, tile by tile."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DenoiserError
from ._tiling import TiledModel

__all__ = ["OnnxModelDenoiser"]


@dataclass(frozen=True)
class OnnxModelDenoiser(TiledModel):
    """An ONNX image-to-image model run by ONNX Runtime.

    Parameters
    ----------
    path : str or Path
        The ``.onnx`` file. Its first input takes (N, 3, H, W) float32 and its
        first output returns the same shape. Height and width should be dynamic
        axes; a model exported with a fixed size needs ``tile`` equal to it and
        images at least that large.
    input_range, output_range : {1.0, 255.0}, optional
        Value of white in the model's input and output (output defaults to input).
    colour_order : {"rgb", "bgr"}, optional
        Channel order of the model's input and output.
    tile : int or None, optional
        Tile side in pixels; ``None`` runs whole images.
    overlap : int, optional
        Pixels shared by neighbouring tiles (at least 4 times the model's
        receptive-field radius for exact blending).
    multiple : int, optional
        The model needs height and width divisible by this; tiles are padded by
        mirroring and aligned to it.
    device : {"auto", "cpu", "cuda"}, optional
        ``"auto"`` uses ONNX Runtime's CUDA provider when installed and working,
        else the CPU one.
    threads : int or None, optional
        Intra-op threads of the CPU provider; ``None`` lets ONNX Runtime choose.
    name : str, optional
        Name in results.
    """

    path: str | Path
    input_range: float = 1.0
    output_range: float | None = None
    colour_order: str = "rgb"
    tile: int | None = 512
    overlap: int = 32
    multiple: int = 1
    device: str = "auto"
    threads: int | None = None
    name: str = "onnx_model"
    params: Mapping[str, Any] = field(init=False)
    _session: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        output_range = self._check_options()
        object.__setattr__(self, "_session", self._open())
        object.__setattr__(
            self,
            "params",
            {
                "path": str(self.path),
                "input_range": self.input_range,
                "output_range": output_range,
                "colour_order": self.colour_order,
                "tile": self.tile,
                "overlap": self.overlap,
                "multiple": self.multiple,
                "device": self.device,
                "providers": list(self._session.get_providers()),
            },
        )

    def _forward(self, array: np.ndarray) -> np.ndarray:
        session = self._session
        (output,) = session.run(
            [session.get_outputs()[0].name], {session.get_inputs()[0].name: array}
        )
        return output

    def _open(self):
        try:
            import onnxruntime as ort
        except ImportError:
            raise DenoiserError(
                "onnxruntime is not installed; install it with: pip install 'evalkit[onnx]'"
            ) from None
        path = Path(self.path)
        if not path.is_file():
            raise DenoiserError(f"{self.name}: model file {path} does not exist")
        available = ort.get_available_providers()
        if self.device == "cpu":
            providers = ["CPUExecutionProvider"]
        elif self.device in ("auto", "cuda"):
            if "CUDAExecutionProvider" in available:
                providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
            elif self.device == "cuda":
                raise DenoiserError(
                    f"{self.name}: device 'cuda' requested but ONNX Runtime here has only "
                    f"{available}; install onnxruntime-gpu"
                )
            else:
                providers = ["CPUExecutionProvider"]
        else:
            raise DenoiserError(f"{self.name}: device must be 'auto', 'cpu' or 'cuda'")
        options = ort.SessionOptions()
        if self.threads is not None:
            options.intra_op_num_threads = self.threads
        try:
            session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
        except Exception as exc:  # ONNX Runtime raises its own, unexported exception types
            raise DenoiserError(f"{self.name}: cannot load {path}: {exc}") from None
        shape = session.get_inputs()[0].shape
        fixed = [d for d in shape[2:] if isinstance(d, int)]
        if fixed and (self.tile is None or any(d != self.tile for d in fixed)):
            raise DenoiserError(
                f"{self.name}: {path} has a fixed input size {shape}; export it with dynamic "
                f"height and width, or set tile to that size"
            )
        return session
