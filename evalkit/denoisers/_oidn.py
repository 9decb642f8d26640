"""Intel Open Image Denoise (OIDN) as a denoiser, through the ``pyoidn`` package.

OIDN is a production AI denoiser (Blender, Cycles, V-Ray): U-Nets trained on
path-traced renders, compiled into the ``pyoidn`` wheel (Apache-2.0), so nothing
is downloaded. Trained on rendering noise, it is a *foreign* network for camera
noise: strong on white Gaussian noise, nearly the identity on real high-ISO
shots, which is what evalkit's residual-noise measure is there to say.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..colour import linear_to_srgb, srgb_to_linear
from ..errors import DenoiserError

__all__ = ["QUALITIES", "OidnDenoiser"]

QUALITIES = ("fast", "balanced", "high")
STRIP_ROWS = 256  # rows converted to and from linear light at a time

# One OIDN device per thread count and one filter per setting, per process:
# creating them costs more than denoising a small image, and a filter is not
# reentrant, so calls from threads take turns.
_DEVICES: dict[int | None, Any] = {}
_FILTERS: dict[tuple, tuple[Any, Any]] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class OidnDenoiser:
    """OIDN's ``RT`` filter on the colour image alone (no albedo or normals).

    Parameters
    ----------
    quality : {"fast", "balanced", "high"}, optional
        OIDN's quality setting: ``"high"`` runs its largest U-Net, ``"fast"``
        a smaller one about 1.6x quicker.
    max_memory_mb : int, optional
        Scratch memory OIDN may use, in MiB. Above it OIDN cuts the image into
        overlapping tiles itself. At 20 MP, 512 peaks at 0.74 GiB above the
        image and takes 69 s here; OIDN's own default (unbounded) 2.4 GiB and 45 s.
    threads : int or None, optional
        Worker threads of OIDN's CPU device. ``None`` follows ``OMP_NUM_THREADS``
        when it is set (as in ``evalkit run --jobs N`` workers, one thread each;
        OIDN's own thread pool would not read it), else every core.
    name : str, optional
        Name in results.

    Notes
    -----
    evalkit's float32 sRGB values are decoded to linear light with the sRGB
    curve before OIDN (it is trained on linear radiance, ``hdr=False`` means
    values in [0, 1]) and encoded again after, in strips of ``STRIP_ROWS``
    rows so that no full-frame float64 temporaries exist. Output is clipped to
    [0, 1] before encoding.
    """

    quality: str = "high"
    max_memory_mb: int = 1024
    threads: int | None = None
    name: str = "oidn"
    params: Mapping[str, Any] = field(init=False)

    def __post_init__(self):
        if self.quality not in QUALITIES:
            raise DenoiserError(
                f"{self.name}: quality must be one of {', '.join(QUALITIES)}, got {self.quality!r}"
            )
        _check_integer(self.name, "max_memory_mb", self.max_memory_mb, 64)
        if self.threads is not None:
            _check_integer(self.name, "threads", self.threads, 1)
        _pyoidn(self.name)  # a missing package is a configuration error, said at once
        object.__setattr__(
            self,
            "params",
            {"quality": self.quality, "max_memory_mb": self.max_memory_mb, "threads": self.threads},
        )

    def denoise(self, noisy: np.ndarray, *, pair=None) -> np.ndarray:
        """Denoise a float32 (H, W, 3) sRGB image in [0, 1]; same shape, float32, in [0, 1]."""
        pyoidn = _pyoidn(self.name)
        linear = np.empty(noisy.shape, np.float32)
        for start in range(0, noisy.shape[0], STRIP_ROWS):
            rows = slice(start, start + STRIP_ROWS)
            linear[rows] = srgb_to_linear(np.asarray(noisy[rows], np.float32))
        output = np.empty_like(linear)
        with _LOCK:
            threads = self.threads if self.threads is not None else _omp_threads()
            device, flt = _filter(pyoidn, threads, self.quality, self.max_memory_mb)
            flt.set_image(pyoidn.OIDN_IMAGE_COLOR, linear, pyoidn.OIDN_FORMAT_FLOAT3)
            flt.set_image(pyoidn.OIDN_IMAGE_OUTPUT, output, pyoidn.OIDN_FORMAT_FLOAT3)
            flt.commit()
            flt.execute()
            error = device.get_error()
            # The filter must not keep pointers to arrays that are about to go.
            flt.unset_image(pyoidn.OIDN_IMAGE_COLOR)
            flt.unset_image(pyoidn.OIDN_IMAGE_OUTPUT)
        if error is not None:
            raise DenoiserError(f"{self.name}: Open Image Denoise failed: {error}")
        del linear
        for start in range(0, output.shape[0], STRIP_ROWS):
            rows = slice(start, start + STRIP_ROWS)
            np.clip(output[rows], 0.0, 1.0, out=output[rows])
            output[rows] = linear_to_srgb(output[rows])
        return output


def _check_integer(name: str, label: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise DenoiserError(f"{name}: {label} must be an integer >= {low}, got {value!r}")


def _pyoidn(name: str):
    try:
        import pyoidn
    except ImportError:
        raise DenoiserError(
            f"{name}: Intel Open Image Denoise needs the pyoidn package; run: "
            "pip install 'evalkit[oidn]'"
        ) from None
    return pyoidn


def _omp_threads() -> int | None:
    value = os.environ.get("OMP_NUM_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else None


def _filter(pyoidn, threads: int | None, quality: str, max_memory_mb: int):
    """The process's OIDN device for ``threads`` and its RT filter for these settings.

    Kept between calls: a filter that is committed again for an image of the
    same size keeps its compiled network and scratch memory (creating them each
    call cost 1.4x the denoising of a 0.13 MP image).
    """
    key = (threads, quality, max_memory_mb)
    if key not in _FILTERS:
        if threads not in _DEVICES:
            device = pyoidn.Device()
            if threads is not None:
                device.set_int("numThreads", threads)
            device.commit()
            error = device.get_error()
            if error is not None:
                raise DenoiserError(f"oidn: cannot start Open Image Denoise's CPU device: {error}")
            _DEVICES[threads] = device
        device = _DEVICES[threads]
        flt = pyoidn.Filter(device, pyoidn.OIDN_FILTER_TYPE_RT)
        flt.set_bool("hdr", False)
        flt.set_quality(getattr(pyoidn, f"OIDN_QUALITY_{quality.upper()}"))
        flt.set_int("maxMemoryMB", max_memory_mb)
        _FILTERS[key] = (device, flt)
    return _FILTERS[key]
