"""The generic registry: lookup, suggestions, duplicates and entry-point plugins."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import EntryPoint

import pytest

from evalkit import _registry
from evalkit._registry import Registry, load_target


@dataclass(frozen=True)
class _Spec:
    name: str
    target: str


def test_duplicate_name_is_refused():
    registry = Registry("thing", "evalkit.tests", [_Spec("a", "x:y")])
    with pytest.raises(ValueError, match="already registered"):
        registry.register(_Spec("a", "x:z"))


def test_load_target_imports_lazily():
    assert load_target("os.path:join") is __import__("os").path.join


PLUGIN = _Spec("from_plugin", "os.path:join")


def _fake_entry_points(monkeypatch, *values):
    eps = [EntryPoint(name=f"p{i}", value=v, group="evalkit.tests") for i, v in enumerate(values)]
    monkeypatch.setattr(_registry, "entry_points", lambda group: eps)


def test_entry_point_plugin_is_discovered(monkeypatch):
    _fake_entry_points(monkeypatch, f"{__name__}:PLUGIN")
    registry = Registry("thing", "evalkit.tests", [_Spec("a", "x:y")])
    assert registry.names() == ["a", "from_plugin"]


def test_broken_plugin_warns_and_listing_keeps_working(monkeypatch):
    _fake_entry_points(monkeypatch, "no_such_module_xyz:SPEC", f"{__name__}:PLUGIN")
    registry = Registry("thing", "evalkit.tests", [_Spec("a", "x:y")])
    with pytest.warns(RuntimeWarning, match="plugin 'p0'.*could not be loaded"):
        assert registry.names() == ["a", "from_plugin"]


def test_plugin_never_replaces_a_builtin(monkeypatch):
    _fake_entry_points(monkeypatch, f"{__name__}:PLUGIN")
    registry = Registry("thing", "evalkit.tests", [_Spec("from_plugin", "x:y")])
    with pytest.warns(RuntimeWarning, match="already taken"):
        assert registry.get("from_plugin").target == "x:y"
