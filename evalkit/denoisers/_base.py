"""The denoiser contract, its registry, and construction by name."""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from .._registry import Registry, load_target
from ..errors import ConfigError

if TYPE_CHECKING:
    from ..datasets import Pair


@runtime_checkable
class Denoiser(Protocol):
    """What evalkit calls: a name, its parameters, and ``noisy -> denoised``.

    ``denoise`` receives a float32 (H, W, 3) sRGB image in [0, 1] and returns an
    array of the same shape in [0, 1]. ``pair`` is the pair being scored, for
    adapters that look up precomputed outputs; most denoisers ignore it.
    """

    name: str
    params: Mapping[str, Any]

    def denoise(self, noisy: np.ndarray, *, pair: Pair | None = None) -> np.ndarray: ...


@dataclass(frozen=True)
class FunctionDenoiser:
    """A :class:`Denoiser` made from a plain function ``f(noisy, **params)``."""

    name: str
    function: Callable[..., np.ndarray]
    params: Mapping[str, Any] = field(default_factory=dict)

    def denoise(self, noisy: np.ndarray, *, pair: Pair | None = None) -> np.ndarray:
        return self.function(noisy, **self.params)


@dataclass(frozen=True)
class DenoiserSpec:
    """Registry entry for a denoiser.

    Attributes
    ----------
    name : str
        Registry key used in configs (``"nlm"``).
    target : str
        ``"module:attribute"`` of a factory ``f(**params) -> Denoiser``, imported
        only when the denoiser is built.
    summary : str
        One line for listings.
    slow : bool
        True for denoisers too slow for a default run (BM3D); they are opt-in.
    requires : tuple of str
        Modules the denoiser imports beyond evalkit's own dependencies
        (``("pyoidn",)``); listed as missing until they are importable.
    install : str
        The command that installs them, shown with a missing denoiser.
    """

    name: str
    target: str
    summary: str = ""
    slow: bool = False
    requires: tuple[str, ...] = ()
    install: str = ""

    def missing(self) -> tuple[str, ...]:
        """The modules of :attr:`requires` not importable here (none are imported)."""
        return tuple(module for module in self.requires if importlib.util.find_spec(module) is None)


DENOISERS: Registry[DenoiserSpec] = Registry("denoiser", "evalkit.denoisers")


def make_denoiser(name: str, **params: Any) -> Denoiser:
    """Build the registered denoiser ``name`` with ``params``.

    A spec's target is either a function ``f(noisy, **params) -> ndarray``, wrapped
    in a :class:`FunctionDenoiser`, or a class whose instances are denoisers.

    Parameters
    ----------
    name : str
        Registry key, e.g. ``"nlm"`` or ``"command"``.
    **params
        Keyword arguments of the denoiser function or class.

    Raises
    ------
    ConfigError
        Unknown name (with suggestions) or a parameter the denoiser does not take.
    """
    try:
        spec = DENOISERS.get(name)
    except KeyError as exc:
        raise ConfigError(exc.args[0]) from None
    return build_denoiser(spec, params)


def build_denoiser(spec: DenoiserSpec, params: Mapping[str, Any]) -> Denoiser:
    """Build the denoiser that ``spec`` describes, without a registry lookup.

    Worker processes use this: a spec travels to them whole, so a denoiser
    registered at run time in the parent process still works there.
    """
    name = spec.name
    target = load_target(spec.target)
    signature = inspect.signature(target)
    try:
        if inspect.isclass(target):
            signature.bind(**params)
        else:
            signature.bind(None, **params)
    except TypeError as exc:
        accepted = [p for p in signature.parameters if p != "noisy"]
        raise ConfigError(
            f"denoiser {name!r}: {exc}; it takes: {', '.join(accepted) or 'no parameters'}"
        ) from None
    if inspect.isclass(target):
        return target(**params)
    return FunctionDenoiser(name=name, function=target, params=dict(params))
