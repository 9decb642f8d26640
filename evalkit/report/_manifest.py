"""What a report folder's drawings were made from, so writing it again redraws only what changed.

Drawing is most of a report's cost (decoding outputs, encoding display JPEGs, heat
maps and crops, matplotlib plots, the leaderboard's bootstrap), and a re-run of a
finished run hands the report the same results. The folder keeps
``report-manifest.json``: per drawing (a pair's images, a plot, the leaderboard),
a key that digests everything it was drawn from, the files it wrote and the data
it handed to the pages. A drawing whose key, files and data are all still there is
taken as it is; any other is drawn again. HTML pages are always rendered (that is
cheap) and written only when their text changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

#: The manifest's file name inside a report folder.
MANIFEST = "report-manifest.json"
#: Changes when the manifest's layout does; an older manifest is then ignored.
_FORMAT = 1


class ReportManifest:
    """The drawings of one report folder, read at the start and saved at the end.

    Parameters
    ----------
    folder : path
        The report folder. A missing or unreadable manifest counts as empty, so
        everything is drawn.
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self._entries: dict[str, dict[str, Any]] = {}
        try:
            document = json.loads((self.folder / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if isinstance(document, dict) and document.get("format") == _FORMAT:
            self._entries = dict(document.get("entries") or {})

    def get(self, name: str, key: str) -> dict[str, Any] | None:
        """The entry ``{"value": ...}`` of drawing ``name`` if drawn from ``key``
        and every file it wrote is still there; else ``None``."""
        entry = self._entries.get(name)
        if not isinstance(entry, dict) or entry.get("key") != key:
            return None
        if not all((self.folder / path).is_file() for path in entry.get("files", ())):
            return None
        return entry

    def put(self, name: str, key: str, value: Any, files: list[str]) -> Any:
        """Record that drawing ``name`` was made from ``key``, wrote ``files``
        (relative to the folder) and gave ``value``; return ``value`` as the
        manifest gives it back (JSON data: tuples become lists), so that pages
        render the same from a new drawing as from a recorded one."""
        value = json.loads(json.dumps(value, default=_plain))
        self._entries[name] = {"key": key, "files": files, "value": value}
        return value

    def save(self) -> None:
        """Write the manifest (under a temporary name first, so a killed report
        never leaves a half-written one)."""
        text = json.dumps({"format": _FORMAT, "entries": self._entries}, default=_plain)
        partial = self.folder / f".{MANIFEST}.{os.getpid()}.partial"
        partial.write_text(text, encoding="utf-8")
        partial.replace(self.folder / MANIFEST)


def inputs_key(*parts: Any) -> str:
    """A digest of ``parts`` (JSON data, DataFrames, file stamps) and of the drawing
    code itself, so an edited or upgraded evalkit draws again."""
    text = json.dumps([_code_stamp(), *map(_canonical, parts)], sort_keys=True, default=_plain)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def file_stamp(path: str | os.PathLike | None) -> list | None:
    """``[path, size, mtime in ns]`` of a file read by a drawing, ``None`` if absent.

    A file rewritten in place (a denoiser run again, a dataset replaced) gets a
    new modification time, so its drawings are made again.
    """
    if path is None:
        return None
    try:
        status = os.stat(path)
    except OSError:
        return None
    return [str(path), status.st_size, status.st_mtime_ns]


def write_if_changed(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` unless the file already holds exactly it."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except (OSError, UnicodeDecodeError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _canonical(part: Any) -> Any:
    if isinstance(part, pd.DataFrame):
        return part.to_csv(index=False)
    return part


@cache
def _code_stamp() -> list:
    from .. import __version__

    package = Path(__file__).resolve().parent
    files = sorted([*package.glob("*.py"), *(package / "templates").iterdir()])
    return [__version__, *(file_stamp(path) for path in files)]


def _plain(value: Any) -> Any:
    """JSON for what the standard encoder refuses: numpy scalars, paths, tuples in sets."""
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)
