"""LPIPS (the ``lpips`` package) and DISTS (piq), with weights from local files only."""

from __future__ import annotations

import os
import threading
import warnings
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import UnavailableError
from ._validate import as_rgb_float32, validate_pair
from ._weights import find_weights, load_state_dict

_BACKBONES = {"alex": "alexnet", "vgg": "vgg16"}
_HUB_LOCK = threading.Lock()


def lpips_distance(
    reference: np.ndarray,
    candidate: np.ndarray,
    *,
    data_range: float = 1.0,
    net: str = "alex",
    weights_path: str | os.PathLike | None = None,
) -> float:
    """LPIPS v0.1 distance of Zhang et al. (2018); 0 = identical, lower is better.

    Parameters
    ----------
    reference, candidate : ndarray of shape (H, W, 3) or (H, W)
        sRGB images in the same units (grey is repeated to RGB), at least 16x16.
    data_range : float, optional
        Value of white in those units.
    net : {"alex", "vgg"}
        Backbone; the linear calibration layers shipped inside the ``lpips``
        package are used for both.
    weights_path : path, optional
        The ImageNet backbone weights (torchvision's ``alexnet-owt-7be5be79.pth`` or
        ``vgg16-397923af.pth``, or any file with the same ``features.*`` tensors).
        Default: found and checksum-verified by :func:`evalkit.metrics.find_weights`;
        an explicit path is the caller's choice and is not checksummed.

    Returns
    -------
    float
        The distance, typically in [0, 1].

    Raises
    ------
    UnavailableError
        The ``lpips`` package or the backbone weights file is missing; the message
        names the file and the ``evalkit weights install`` command.

    Notes
    -----
    Images are mapped to [-1, 1] as LPIPS expects; spatial average of the five
    layer distances (``lpips.LPIPS(net=net, version="0.1")``). The whole image goes
    through the network at once: about 0.3 GB per megapixel with AlexNet.

    References
    ----------
    .. [1] R. Zhang, P. Isola, A. A. Efros, E. Shechtman, O. Wang, "The unreasonable
       effectiveness of deep features as a perceptual metric", CVPR 2018.
       :DOI:`10.1109/CVPR.2018.00068`
    """
    validate_pair(reference, candidate, data_range)
    if net not in _BACKBONES:
        raise ValueError(f"net must be one of {sorted(_BACKBONES)}, got {net!r}")
    path = Path(weights_path) if weights_path is not None else find_weights(_BACKBONES[net])
    model = _lpips_model(net, str(path), path.stat().st_mtime_ns)
    import torch

    with torch.inference_mode():
        # LPIPS expects [-1, 1].
        value = model(
            _to_tensor(reference, data_range) * 2 - 1, _to_tensor(candidate, data_range) * 2 - 1
        )
    return float(value.item())


def lpips_alex(reference: np.ndarray, candidate: np.ndarray, *, data_range: float = 1.0) -> float:
    """LPIPS with the AlexNet backbone; see :func:`lpips_distance`."""
    return lpips_distance(reference, candidate, data_range=data_range, net="alex")


def lpips_vgg(reference: np.ndarray, candidate: np.ndarray, *, data_range: float = 1.0) -> float:
    """LPIPS with the VGG-16 backbone; see :func:`lpips_distance`."""
    return lpips_distance(reference, candidate, data_range=data_range, net="vgg")


def dists(reference: np.ndarray, candidate: np.ndarray, *, data_range: float = 1.0) -> float:
    """DISTS of Ding et al. (2020) through :class:`piq.DISTS`; 0 = identical, lower is better.

    Needs the ``vgg16`` and ``dists`` weights files (see ``evalkit weights``); piq
    resizes images larger than 256 pixels on the short side to 256, as the paper does.

    Raises
    ------
    UnavailableError
        A weights file is missing, with the command that fixes it.

    References
    ----------
    .. [1] K. Ding, K. Ma, S. Wang, E. P. Simoncelli, "Image quality assessment:
       unifying structure and texture similarity", IEEE TPAMI 2020.
       :DOI:`10.1109/TPAMI.2020.3045810`
    """
    validate_pair(reference, candidate, data_range)
    files = {"vgg16-397923af.pth": find_weights("vgg16"), "dists_weights.pt": find_weights("dists")}
    model = _dists_model(tuple(sorted((name, str(path)) for name, path in files.items())))
    import torch

    with torch.inference_mode():
        value = model(_to_tensor(candidate, data_range), _to_tensor(reference, data_range))
    return float(value.item())


@lru_cache(maxsize=2)
def _lpips_model(net: str, path: str, _mtime: int):
    try:
        import lpips
    except ImportError as exc:
        raise UnavailableError("LPIPS needs the lpips package: pip install 'lpips>=0.1.4'") from exc
    # pnet_rand: build the backbone without torchvision's download, then load the
    # verified file; pretrained=False: load the calibration layers ourselves, safely.
    with warnings.catch_warnings():  # torchvision's "pretrained is deprecated", inside lpips
        warnings.simplefilter("ignore", UserWarning)
        model = lpips.LPIPS(net=net, version="0.1", pretrained=False, pnet_rand=True, verbose=False)
    backbone = load_state_dict(path)
    features = {k[len("features.") :]: v for k, v in backbone.items() if k.startswith("features.")}
    targets = model.net.state_dict()
    # lpips splits torchvision's ``features`` into slices whose children keep their
    # original index: "features.3.weight" lives at "sliceN.3.weight".
    mapped = {}
    for key in targets:
        index_and_param = key.split(".", 1)[1]
        if index_and_param not in features:
            raise UnavailableError(f"{path} lacks backbone tensor features.{index_and_param}")
        mapped[key] = features[index_and_param]
    try:
        model.net.load_state_dict(mapped, strict=True)
    except RuntimeError as exc:  # wrong shapes: not this backbone's file
        raise UnavailableError(f"{path} does not fit the {net} backbone: {exc}") from exc
    lin_path = Path(lpips.__file__).parent / "weights" / "v0.1" / f"{net}.pth"
    model.load_state_dict(load_state_dict(lin_path), strict=False)
    return model.eval()


@lru_cache(maxsize=1)
def _dists_model(files: tuple[tuple[str, str], ...]):
    import piq

    with _offline_hub(dict(files)):
        return piq.DISTS(reduction="none").eval()


@contextmanager
def _offline_hub(files: dict[str, str]):
    """Serve torch hub downloads from verified local files while building a model.

    piq and torchvision fetch weights through ``load_state_dict_from_url`` inside
    their constructors; this answers those calls from ``files`` (file name → path)
    with ``weights_only=True`` and refuses anything else, so nothing is downloaded.
    """
    import torch.hub
    import torchvision.models._api as tv_api

    def load(url, *args, **kwargs):
        name = url.rsplit("/", 1)[-1]
        if name not in files:
            raise UnavailableError(f"weights {name} are not installed (evalkit weights)")
        return load_state_dict(files[name])

    with _HUB_LOCK:
        saved = torch.hub.load_state_dict_from_url, tv_api.load_state_dict_from_url
        torch.hub.load_state_dict_from_url = tv_api.load_state_dict_from_url = load
        try:
            yield
        finally:
            torch.hub.load_state_dict_from_url, tv_api.load_state_dict_from_url = saved


def _to_tensor(image: np.ndarray, data_range: float):
    import torch

    rgb = np.clip(as_rgb_float32(image, data_range), 0, 1)
    if min(rgb.shape[:2]) < 16:
        raise ValueError(f"deep metrics need at least 16x16 pixels, got {rgb.shape[:2]}")
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None]
