"""The learned denoiser shipped with evalkit: a compact residual CNN (DnCNN style).

Two variants share one architecture and differ only in their training target:

``standard``
    Trained to map high-ISO shots of evalkit's simulated camera to the ISO 100
    shot of the same scene: an honest denoiser.
``aggressive``
    Fine-tuned from ``standard`` towards a "punchy" target (unsharp-masked, with
    raised contrast and saturation), as consumer AI denoisers are tuned. The
    network learns to sharpen whatever it cannot tell from detail, so it turns
    leftover noise into texture, over-sharpens grilles and pushes near-white
    highlights into clipping: real network behaviour for the detectors to flag.

Weights, their training configuration and SHA-256 checksums live in
``evalkit/denoisers/weights``; ``training/train_dncnn.py`` reproduces them.
This module imports torch, so it is only imported when the denoiser is built.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import DenoiserError

__all__ = [
    "VARIANTS",
    "WEIGHTS_DIR",
    "ResidualDnCNN",
    "denoise_dncnn",
    "denoise_dncnn_aggressive",
    "load_dncnn",
]

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
CONFIG_FILE = "training_config.json"
CHECKSUM_FILE = "SHA256SUMS"
VARIANTS = ("standard", "aggressive")


class ResidualDnCNN(nn.Module):
    """DnCNN-style residual CNN working on a 2x pixel-unshuffled image.

    The image is folded into ``scale**2`` times as many channels at
    ``1/scale`` the resolution (as FFDNet does), ``depth`` 3x3 convolutions with
    ReLU between them predict the noise, and the output is the input minus that
    prediction. Working at half resolution quadruples the receptive field per
    layer, which the spatially correlated noise of a demosaicked camera needs,
    at a quarter of the cost.

    Parameters
    ----------
    features : int
        Channels of the hidden layers.
    depth : int
        Number of convolutions, >= 2.
    scale : int
        Pixel-unshuffle factor; input height and width must be multiples of it.

    Notes
    -----
    Input and output are (N, 3, H, W) float32 sRGB in [0, 1], RGB order. The
    receptive-field radius is ``depth * scale`` pixels (16 for the defaults),
    so tiles must overlap by at least 4 times that for exact blending.
    """

    def __init__(self, *, features: int = 32, depth: int = 8, scale: int = 2):
        super().__init__()
        if depth < 2:
            raise ValueError(f"depth must be >= 2, got {depth}")
        folded = 3 * scale * scale
        layers: list[nn.Module] = [nn.Conv2d(folded, features, 3, padding=1), nn.ReLU()]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(features, features, 3, padding=1), nn.ReLU()]
        layers.append(nn.Conv2d(features, folded, 3, padding=1))
        self.scale = scale
        self.unshuffle = nn.PixelUnshuffle(scale)
        self.body = nn.Sequential(*layers)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.shuffle(self.body(self.unshuffle(x)))


def denoise_dncnn(
    noisy: np.ndarray,
    *,
    variant: str = "standard",
    tile: int | None = 512,
    overlap: int = 64,
    device: str = "auto",
) -> np.ndarray:
    """Denoise with evalkit's shipped residual CNN.

    Parameters
    ----------
    noisy : ndarray of shape (H, W, 3)
        float32 sRGB image in [0, 1].
    variant : {"standard", "aggressive"}
        Which weights: the honest denoiser or the over-enhancing one (module
        docstring).
    tile : int or None, optional
        Tile side in pixels (even); ``None`` runs the whole image at once. Tiling
        bounds memory; the output is the same (see :func:`run_tiled`).
    overlap : int, optional
        Pixels shared by neighbouring tiles; 64 makes tiling exact for this
        network's 16-pixel receptive-field radius.
    device : str, optional
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"`` or a torch device.

    Returns
    -------
    ndarray of shape (H, W, 3), float32
        The denoised image, clipped to [0, 1].

    Raises
    ------
    DenoiserError
        Unknown variant, or weights missing or failing their checksum.

    Examples
    --------
    >>> noisy = np.full((32, 32, 3), 0.5, dtype=np.float32)
    >>> denoise_dncnn(noisy, device="cpu").shape
    (32, 32, 3)
    """
    return _shipped(variant, tile, overlap, device).denoise(noisy)


def denoise_dncnn_aggressive(
    noisy: np.ndarray, *, tile: int | None = 512, overlap: int = 64, device: str = "auto"
) -> np.ndarray:
    """:func:`denoise_dncnn` with ``variant="aggressive"``: sharpens and invents texture."""
    return denoise_dncnn(noisy, variant="aggressive", tile=tile, overlap=overlap, device=device)


def load_dncnn(variant: str = "standard", *, weights_dir: str | Path | None = None):
    """Return the trained :class:`ResidualDnCNN` of ``variant`` in eval mode, on the CPU.

    The weight file's SHA-256 is checked against ``SHA256SUMS`` first and the
    architecture is read from ``training_config.json`` beside it.
    """
    if variant not in VARIANTS:
        raise DenoiserError(f"dncnn: unknown variant {variant!r}; choose from {VARIANTS}")
    folder = Path(weights_dir) if weights_dir is not None else WEIGHTS_DIR
    path = folder / f"dncnn_{variant}.pt"
    config = json.loads((folder / CONFIG_FILE).read_text())
    verify_checksum(path, folder / CHECKSUM_FILE)
    model = ResidualDnCNN(**config["architecture"])
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()


def verify_checksum(path: Path, sums_file: Path) -> None:
    """Raise :class:`DenoiserError` unless ``path``'s SHA-256 matches its line in ``sums_file``."""
    if not path.is_file():
        raise DenoiserError(f"dncnn: weights {path} are missing; reinstall evalkit")
    expected = {}
    for line in sums_file.read_text().splitlines():
        digest, _, name = line.strip().partition("  ")
        expected[name] = digest
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if expected.get(path.name) != actual:
        raise DenoiserError(
            f"dncnn: {path} does not match its checksum in {sums_file}; the file is damaged "
            "or was retrained without updating SHA256SUMS"
        )


@functools.lru_cache(maxsize=8)
def _shipped(variant: str, tile: int | None, overlap: int, device: str):
    from ._torch import TorchModelDenoiser

    return TorchModelDenoiser(
        model=load_dncnn(variant),
        tile=tile,
        overlap=overlap,
        multiple=2,
        device=device,
        name=f"dncnn-{variant}",
    )
