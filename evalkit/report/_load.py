"""Read a run's results, from memory or from a results folder, into one bundle."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import EvalkitError

SEVERITIES = ("critical", "warning", "info")
"""Severities, most severe first (the order findings are listed in)."""


class ResultsError(EvalkitError):
    """A results folder is missing or lacks the files a report needs."""


@dataclass(frozen=True)
class ResultsBundle:
    """Everything a report shows about one run.

    Attributes
    ----------
    table : DataFrame
        Tidy metric rows (``evalkit.runner.TABLE_COLUMNS``).
    findings : DataFrame
        One row per finding; ``bbox`` is a tuple ``(x, y, w, h)`` in reference
        pixels or ``None`` for a whole-image finding.
    text : list of dict
        OCR entries, one per text region per pair x denoiser; missing values are
        ``None``. Keys beyond the known ones are kept as they are.
    provenance : dict
        The run's ``run.json``.
    folder : Path or None
        Where ``outputs/`` and ``maps/`` are, when they were written.
    name : str
        A short name for the run in comparisons (the folder name).
    alignments : dict of str to dict
        Pair id -> how its reference was aligned (``alignment.json``: the JSON
        ``alignment`` object, with every correction applied or not).
    """

    table: pd.DataFrame
    findings: pd.DataFrame
    text: list[dict[str, Any]]
    provenance: dict[str, Any]
    folder: Path | None = None
    name: str = "run"
    metrics: tuple[str, ...] = field(default=())
    alignments: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def denoisers(self) -> list[str]:
        """Denoiser labels in the order the run had them."""
        order = list(self.provenance.get("denoisers", {}))
        seen = list(dict.fromkeys(self.table["denoiser"].astype(str)))
        return [d for d in order if d in seen] + [d for d in seen if d not in order]

    @property
    def pairs(self) -> list[str]:
        """Pair ids in the order the run had them."""
        return list(dict.fromkeys(self.table["pair"].astype(str)))

    @property
    def dataset(self) -> Path | None:
        """The manifest the run used, from its provenance."""
        path = (self.provenance.get("config") or {}).get("dataset")
        return Path(path) if path else None

    def for_pair(self, pair: str) -> ResultsBundle:
        """The same run cut down to one pair's rows, findings and text."""
        return replace(
            self,
            table=self.table[self.table["pair"].astype(str) == pair],
            findings=self.findings[self.findings["pair"].astype(str) == pair],
            text=[entry for entry in self.text if str(entry.get("pair")) == pair],
            alignments={k: v for k, v in self.alignments.items() if k == pair},
        )

    def output_path(self, pair: str, denoiser: str) -> Path | None:
        """The 16-bit output image of ``denoiser`` on ``pair``, if it was kept."""
        relative = self._output(pair, denoiser)
        if relative is None or self.folder is None:
            return None
        path = self.folder / relative
        return path if path.is_file() else None

    def map_paths(self, pair: str, denoiser: str) -> dict[str, Path]:
        """Per-pixel maps (name → 8-bit PNG, 1 = worst) of ``denoiser`` on ``pair``.

        The runner keeps them in ``maps/<denoiser>/<pair>/`` under the same file
        names as ``outputs/<denoiser>/<pair>.png``, so the output's path names
        the folder (and the report never re-derives the runner's file naming).
        """
        relative = self._output(pair, denoiser)
        if relative is None or self.folder is None:
            return {}
        parts = Path(relative).parts
        if len(parts) < 3:
            return {}
        folder = self.folder / "maps" / parts[-2] / Path(parts[-1]).stem
        if not folder.is_dir():
            return {}
        return {path.stem: path for path in sorted(folder.glob("*.png"))}

    def _output(self, pair: str, denoiser: str) -> str | None:
        return self._outputs.get((pair, denoiser))

    @cached_property
    def _outputs(self) -> dict[tuple[str, str], str]:
        # Looked up per pair x denoiser by every drawing: one pass over the rows.
        found: dict[tuple[str, str], str] = {}
        rows = zip(self.table["pair"], self.table["denoiser"], self.table["output"], strict=True)
        for pair, denoiser, value in rows:
            if isinstance(value, str) and value:
                found.setdefault((pair, denoiser), value)
        return found


def load_results(results: Any, *, folder: str | os.PathLike | None = None) -> ResultsBundle:
    """Read results into a :class:`ResultsBundle`.

    Parameters
    ----------
    results : RunResult, ResultsBundle or path
        What :func:`evalkit.runner.run` returned, or a results folder it wrote
        (``results.csv``, ``findings.csv``, ``text.json``, ``run.json``).
    folder : path, optional
        For a ``RunResult``: the folder the run wrote its ``outputs/`` and
        ``maps/`` into (usually the report's own folder).

    Raises
    ------
    ResultsError
        The folder does not exist or has no ``results.csv``.
    """
    if isinstance(results, ResultsBundle):
        return results
    if isinstance(results, str | os.PathLike):
        return _load_folder(Path(results))
    # A RunResult (duck-typed so the report does not need the runner's class).
    provenance = dict(getattr(results, "provenance", None) or {})
    config = getattr(results, "config", None)
    if config is not None and "config" not in provenance:
        provenance["config"] = {
            "dataset": str(config.dataset),
            "metrics": list(config.metrics),
        }
    text = results.text.to_dict("records") if len(results.text) else []
    folder = Path(folder) if folder is not None else None
    return ResultsBundle(
        table=_clean_table(results.table),
        findings=_clean_findings(results.findings),
        text=[_clean_record(entry) for entry in text],
        provenance=provenance,
        folder=folder,
        name=folder.name if folder is not None else "run",
        metrics=_metric_order(results.table, provenance),
        alignments=dict(getattr(results, "alignments", None) or {}),
    )


def _load_folder(folder: Path) -> ResultsBundle:
    if not folder.is_dir():
        raise ResultsError(f"{folder}: no such results folder")
    table_path = folder / "results.csv"
    if not table_path.is_file():
        raise ResultsError(f"{folder}: not a results folder (no results.csv)")
    try:
        table = pd.read_csv(table_path, dtype={"pair": str, "denoiser": str, "output": str})
    except (ValueError, pd.errors.ParserError) as exc:
        raise ResultsError(f"{table_path}: unreadable ({exc})") from None
    missing = {"pair", "denoiser", "metric", "value", "status"} - set(table.columns)
    if missing:
        raise ResultsError(f"{table_path}: missing columns {sorted(missing)}")
    findings_path = folder / "findings.csv"
    findings = (
        pd.read_csv(findings_path, dtype={"pair": str, "denoiser": str, "bbox": str})
        if findings_path.is_file()
        else pd.DataFrame()
    )
    loaded = _read_json(folder / "text.json", [])
    text = [_clean_record(entry) for entry in loaded if isinstance(entry, dict)]
    provenance = _read_json(folder / "run.json", {})
    alignments = _read_json(folder / "alignment.json", {})
    return ResultsBundle(
        table=_clean_table(table),
        findings=_clean_findings(findings),
        text=text,
        provenance=provenance,
        folder=folder,
        name=folder.resolve().name,
        metrics=_metric_order(table, provenance),
        alignments=alignments if isinstance(alignments, dict) else {},
    )


def _read_json(path: Path, default: Any) -> Any:
    """A side file's JSON, ``default`` when the file is absent or empty."""
    if not path.is_file():
        return default
    try:
        return json.loads(path.read_text(encoding="utf-8") or "null") or default
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path}: not valid JSON ({exc})") from None


def _clean_table(table: pd.DataFrame) -> pd.DataFrame:
    table = table.copy()
    for column in ("pair", "denoiser", "metric", "status"):
        table[column] = table[column].astype(str)
    for column in ("value", "seconds", "megapixels", "iso"):
        if column not in table:
            table[column] = math.nan
        table[column] = pd.to_numeric(table[column], errors="coerce")
    for column in ("error", "camera", "output"):
        if column not in table:
            table[column] = None
    return table


def _clean_findings(findings: pd.DataFrame) -> pd.DataFrame:
    columns = ["pair", "denoiser", "detector", "severity", "score", "bbox", "message"]
    if findings.empty:
        return pd.DataFrame(columns=columns)
    findings = findings.copy()
    for column in columns:
        if column not in findings:
            findings[column] = None
    for column in ("pair", "denoiser", "detector", "severity"):
        findings[column] = findings[column].astype(str)
    findings["message"] = findings["message"].fillna("").astype(str)
    findings["score"] = pd.to_numeric(findings["score"], errors="coerce")
    findings["bbox"] = [_parse_bbox(value) for value in findings["bbox"]]
    return findings[columns].reset_index(drop=True)


def _parse_bbox(value: Any) -> tuple[int, int, int, int] | None:
    """``"[x, y, w, h]"`` (CSV), a list (in memory) or empty → a tuple or ``None``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return None
    try:
        x, y, w, h = (int(v) for v in value)
    except (TypeError, ValueError):
        return None
    return (x, y, w, h) if w > 0 and h > 0 else None


def _clean_record(entry: dict[str, Any]) -> dict[str, Any]:
    return {str(key): _none_if_nan(value) for key, value in entry.items()}


def _none_if_nan(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _metric_order(table: pd.DataFrame, provenance: dict[str, Any]) -> tuple[str, ...]:
    configured = list((provenance.get("config") or {}).get("metrics") or [])
    present = list(dict.fromkeys(table["metric"].astype(str))) if len(table) else []
    return tuple(
        [m for m in configured if m in present] + [m for m in present if m not in configured]
    )
