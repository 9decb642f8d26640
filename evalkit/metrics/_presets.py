"""Named conventions ("presets") that reproduce the numbers of other tools and papers.

The convention table, with what each preset imitates and how it is tested, is in
docs/metrics.md. A preset decides, per metric, the colour channel(s) measured,
the border cropped, the float precision, whether values are rounded to 8-bit
codes first, and metric options (MATLAB's SSIM downsampling).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

# Luma weights (R, G, B) and offset, for images scaled to [0, 1].
_COLOURS: dict[str, tuple[tuple[float, float, float], float]] = {
    # ITU-R BT.601 "studio swing" Y' in [16, 235]/255, as MATLAB's rgb2ycbcr and
    # BasicSR's bgr2ycbcr(y_only=True).
    "y_bt601_limited": ((65.481 / 255, 128.553 / 255, 24.966 / 255), 16 / 255),
    # Y of YIQ (NTSC), full range: what pyiqa's to_y_channel uses by default.
    "y_yiq": ((0.299, 0.587, 0.114), 0.0),
    # MATLAB's rgb2gray (the inverse of its NTSC conversion, to 15 digits).
    "gray_matlab": ((0.298936021293775, 0.587043074451121, 0.114020904255103), 0.0),
}
COLOURS = ("rgb", *_COLOURS)
"""Valid values of :attr:`Convention.colour`."""


@dataclass(frozen=True)
class Convention:
    """How one metric is computed under a preset.

    Attributes
    ----------
    colour : str
        ``"rgb"`` (all channels), ``"y_bt601_limited"``, ``"y_yiq"`` or
        ``"gray_matlab"`` (one luma channel; grey inputs are used as they are).
    crop_border : int
        Pixels removed from every side before measuring.
    float64 : bool
        Convert to float64 (else the input dtype is kept; evalkit's is float32).
    quantize : bool
        Round to 8-bit codes (``round(v * 255) / 255``) after the colour conversion.
    options : mapping
        Keyword options passed to the metric function (``{"downsample": True}``).
    """

    colour: str = "rgb"
    crop_border: int = 0
    float64: bool = False
    quantize: bool = False
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self):
        if self.colour not in COLOURS:
            raise ValueError(f"colour must be one of {COLOURS}, got {self.colour!r}")
        if self.crop_border < 0:
            raise ValueError(f"crop_border must be >= 0, got {self.crop_border}")

    def describe(self) -> dict[str, Any]:
        """JSON-ready record of the convention, stored with every result."""
        return {
            "colour": self.colour,
            "crop_border": self.crop_border,
            "float64": self.float64,
            "quantize": self.quantize,
            **{f"option.{k}": v for k, v in self.options.items()},
        }

    def apply(
        self, reference: np.ndarray, candidate: np.ndarray, data_range: float
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """Return ``(reference, candidate, data_range)`` transformed by this convention.

        Colour conversion and quantisation first rescale to [0, 1] (``data_range``
        becomes 1.0); the crop is applied last.
        """
        images = [reference, candidate]
        if self.colour != "rgb" or self.quantize:
            images = [np.asarray(image, np.float64) / data_range for image in images]
            data_range = 1.0
            if self.colour != "rgb" and images[0].ndim == 3 and images[0].shape[2] == 3:
                weights, offset = _COLOURS[self.colour]
                images = [image @ np.asarray(weights) + offset for image in images]
            if self.quantize:
                images = [np.round(image * 255) / 255 for image in images]
        if self.float64:
            images = [np.asarray(image, np.float64) for image in images]
        if self.crop_border:
            b = self.crop_border
            if min(images[0].shape[:2]) <= 2 * b:
                raise ValueError(f"crop_border {b} leaves nothing of {images[0].shape[:2]}")
            images = [image[b:-b, b:-b] for image in images]
        return images[0], images[1], data_range


@dataclass(frozen=True)
class Preset:
    """A named set of conventions.

    Attributes
    ----------
    name : str
    imitates : str
        The tool or code whose numbers it reproduces, and how that is tested.
    default : Convention
        For metrics not listed in ``per_metric``.
    per_metric : mapping of str to Convention
        Metric name → its convention under this preset.
    """

    name: str
    imitates: str
    default: Convention = Convention()
    per_metric: Mapping[str, Convention] = field(default_factory=lambda: MappingProxyType({}))

    def convention(self, metric: str, *, crop_border: int | None = None) -> Convention:
        """The convention for ``metric``; ``crop_border`` overrides the preset's."""
        convention = self.per_metric.get(metric, self.default)
        if crop_border is not None:
            from dataclasses import replace

            convention = replace(convention, crop_border=crop_border)
        return convention


def _frozen(mapping):
    return MappingProxyType(dict(mapping))


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            "default",
            "scikit-image (PSNR, SSIM with gaussian_weights=True, sigma=1.5, "
            "use_sample_covariance=False) and piq (downsample=False): RGB, no crop, float",
        ),
        Preset(
            "basicsr",
            "BasicSR calculate_psnr / calculate_ssim with test_y_channel=True "
            "(Y of BT.601 limited-range YCbCr, float64); crop_border is a parameter "
            "(BasicSR configs use the SR scale, e.g. 4; 0 here unless given)",
            default=Convention(colour="y_bt601_limited", float64=True),
        ),
        Preset(
            "matlab",
            "Wang's reference ssim.m (2004): grey via MATLAB rgb2gray, automatic "
            "downsampling by max(1, round(min(H, W) / 256)) with an averaging filter, "
            "float64; PSNR on the same grey image",
            default=Convention(colour="gray_matlab", float64=True),
            per_metric=_frozen(
                {
                    "ssim": Convention(
                        colour="gray_matlab", float64=True, options=_frozen({"downsample": True})
                    )
                }
            ),
        ),
        Preset(
            "pyiqa",
            "pyiqa 0.1.x default configs: 'psnr' on RGB floats; 'ssim' on the Y of YIQ "
            "rounded to 8-bit codes, float64, contrast-structure clamped at 0 "
            "(pyiqa's 'ssim' is not BT.601 YCbCr despite its docstrings)",
            per_metric=_frozen(
                {
                    "ssim": Convention(
                        colour="y_yiq",
                        float64=True,
                        quantize=True,
                        options=_frozen({"nonnegative_cs": True}),
                    ),
                }
            ),
        ),
    )
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``; ``KeyError`` listing the known ones otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown preset {name!r} (known: {', '.join(PRESETS)})") from None
