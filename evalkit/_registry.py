"""One registry per kind of plugin (denoisers, metrics, detectors, OCR engines).

A registry maps a short name to a frozen *spec* whose ``target`` is a lazily
imported ``"package.module:attribute"`` string, so listing never imports torch or
easyocr. Built-ins and third-party plugins arrive the same way: a third-party
package declares an entry point in the registry's group whose value is a spec::

    [project.entry-points."evalkit.denoisers"]
    my_denoiser = "my_package.evalkit_plugin:SPEC"

A broken plugin is reported as a warning that names it; listing keeps working.
"""

from __future__ import annotations

import difflib
import importlib
import warnings
from collections.abc import Iterable, Iterator
from importlib.metadata import entry_points
from typing import Any, Generic, Protocol, TypeVar


class Spec(Protocol):
    name: str
    target: str


S = TypeVar("S", bound=Spec)


def load_target(target: str) -> Any:
    """Import ``"package.module:attribute"`` and return the attribute."""
    module_name, _, attribute = target.partition(":")
    obj = importlib.import_module(module_name)
    for part in attribute.split("."):
        obj = getattr(obj, part)
    return obj


class Registry(Generic[S]):
    """Name → spec, with built-ins first and entry-point plugins discovered once.

    Parameters
    ----------
    kind : str
        What is registered, for messages ("denoiser", "metric").
    group : str
        Entry-point group scanned for plugins (``"evalkit.denoisers"``).
    builtins : iterable of spec
        Specs shipped with evalkit.
    """

    def __init__(self, kind: str, group: str, builtins: Iterable[S] = ()):
        self.kind = kind
        self.group = group
        self._specs: dict[str, S] = {}
        self._discovered = False
        for spec in builtins:
            self.register(spec)

    def register(self, spec: S, *, replace: bool = False) -> S:
        """Add ``spec``; a name already taken raises ``ValueError`` unless ``replace``."""
        if spec.name in self._specs and not replace:
            raise ValueError(f"{self.kind} {spec.name!r} is already registered")
        self._specs[spec.name] = spec
        return spec

    def get(self, name: str) -> S:
        """Return the spec called ``name``; ``KeyError`` with suggestions if unknown."""
        self._discover()
        try:
            return self._specs[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._specs, n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            known = ", ".join(sorted(self._specs))
            raise KeyError(f"unknown {self.kind} {name!r}{hint} (known: {known})") from None

    def names(self) -> list[str]:
        """Registered names, sorted."""
        self._discover()
        return sorted(self._specs)

    def __iter__(self) -> Iterator[S]:
        self._discover()
        return iter([self._specs[name] for name in sorted(self._specs)])

    def __contains__(self, name: object) -> bool:
        self._discover()
        return name in self._specs

    def _discover(self) -> None:
        if self._discovered:
            return
        self._discovered = True
        for ep in entry_points(group=self.group):
            try:
                spec = ep.load()
                if spec.name in self._specs:
                    # Installing a plugin never silently replaces a built-in.
                    raise ValueError(f"name {spec.name!r} is already taken")
                self.register(spec)
            except Exception as exc:  # a broken plugin must not break listing
                warnings.warn(
                    f"{self.kind} plugin {ep.name!r} ({ep.value}) could not be loaded: {exc}",
                    RuntimeWarning,
                    stacklevel=3,
                )
