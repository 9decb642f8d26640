"""evalkit: score image denoisers against reference pairs, and say what they invented.

The Python API is the product; the ``evalkit`` command is a thin shell over it::

    import evalkit

    result = evalkit.score("reference.png", "candidate.png")
    result.metrics["psnr"]

    table = evalkit.run("datasets/sample/demo.toml", out="reports/demo")

Subpackages, in the order data flows: :mod:`evalkit.io`, :mod:`evalkit.datasets`,
:mod:`evalkit.denoisers`, :mod:`evalkit.metrics`, :mod:`evalkit.scoring`,
:mod:`evalkit.runner`, :mod:`evalkit.report`, :mod:`evalkit.cli`.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("evalkit")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

# Public names and the module that defines each; imported on first use so that
# `import evalkit` stays cheap (no torch, no easyocr).
_LAZY = {
    "load_image": "evalkit.io",
    "save_image": "evalkit.io",
    "Pair": "evalkit.datasets",
    "TextRegion": "evalkit.datasets",
    "load_dataset": "evalkit.datasets",
    "make_denoiser": "evalkit.denoisers",
    "score": "evalkit.scoring",
    "inspect": "evalkit.inspection",
    "ScoreResult": "evalkit.scoring",
    "Finding": "evalkit.findings",
    "run": "evalkit.runner",
    "RunConfig": "evalkit.runner",
    "EvalkitError": "evalkit.errors",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'evalkit' has no attribute {name!r}")


def __dir__():
    return __all__
