"""Run denoisers over the pairs of a dataset and score every output."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..datasets import Pair, load_dataset
from ..denoisers import make_denoiser
from ..errors import ConfigError, DenoiserError, EvalkitError
from ..io import save_image
from ..metrics import METRICS
from ..scoring import score
from ._config import RunConfig
from ._provenance import provenance

#: Columns of :attr:`RunResult.table`, one row per pair x denoiser x metric.
TABLE_COLUMNS = (
    "pair",
    "denoiser",
    "metric",
    "value",
    "status",
    "error",
    "camera",
    "iso",
    "seconds",
    "megapixels",
    "output",
)
#: Longest side, in pixels, of the per-pixel maps kept for reports.
MAP_SIZE = 1600
FINDING_COLUMNS = ("pair", "denoiser", "detector", "severity", "score", "bbox", "message")


@dataclass(frozen=True)
class RunResult:
    """The results of :func:`run`.

    Attributes
    ----------
    table : DataFrame
        Tidy results, columns :data:`TABLE_COLUMNS`. ``status`` is ``ok``,
        ``failed`` (the denoiser or the pair failed; ``error`` says why; ``value``
        is NaN) or ``unavailable`` (the metric cannot run here; ``error`` says how
        to fix it). ``seconds`` is the wall time of the denoiser call.
    findings : DataFrame
        One row per finding, columns :data:`FINDING_COLUMNS`.
    text : DataFrame
        One row per text region per pair x denoiser (OCR readings).
    config : RunConfig
        What was run.
    provenance : dict
        Versions, configuration, denoiser parameters, machine and time.
    """

    table: pd.DataFrame
    findings: pd.DataFrame
    text: pd.DataFrame
    config: RunConfig
    provenance: dict

    @property
    def failures(self) -> pd.DataFrame:
        """One row per failed pair x denoiser, with the reason."""
        failed = self.table[self.table["status"] == "failed"]
        return failed[["pair", "denoiser", "error"]].drop_duplicates().reset_index(drop=True)


def run(
    config: RunConfig | str | os.PathLike,
    *,
    out: str | os.PathLike | None = None,
    progress: Callable[[str], None] | None = None,
) -> RunResult:
    """Run every denoiser of ``config`` on every pair and score the outputs.

    Parameters
    ----------
    config : RunConfig or path of a TOML config
    out : path, optional
        Results folder, created if needed: ``results.csv``, ``findings.csv``,
        ``text.json``, ``run.json`` (provenance) and every output image as a
        16-bit PNG in ``outputs/<denoiser>/<pair>.png``, and each per-pixel map
        of the score (values in [0, 1], 1 worst) as an 8-bit PNG no longer than
        :data:`MAP_SIZE` in ``maps/<denoiser>/<pair>/<map>.png``.
    progress : callable, optional
        Called with one line per finished item ("desk-iso800 nlm 0.41 s").

    Returns
    -------
    RunResult

    Raises
    ------
    ConfigError, ManifestError
        Before any work, for a bad config, an unknown denoiser or metric, or a
        manifest that names missing files. Failures during the run (an unreadable
        image, a denoiser that raises, times out or returns garbage) never raise:
        they become ``failed`` rows and the run goes on.
    """
    if not isinstance(config, RunConfig):
        config = RunConfig.from_toml(config)
    dataset = load_dataset(config.dataset)
    for name in config.metrics:
        try:
            METRICS.get(name)
        except KeyError as exc:
            raise ConfigError(f"{config.source or 'config'}: {exc.args[0]}") from None
    denoisers = [
        (entry.label, make_denoiser(entry.name, **entry.params)) for entry in config.denoisers
    ]
    out = Path(out) if out is not None else None

    rows: list[dict] = []
    findings: list[dict] = []
    texts: list[dict] = []
    for pair in dataset:
        try:
            reference, noisy = pair.load()
        except EvalkitError as exc:
            for label, _ in denoisers:
                rows += _failed_rows(pair, label, config.metrics, str(exc))
            _report(progress, f"{pair.id}: {exc}")
            continue
        megapixels = noisy.shape[0] * noisy.shape[1] / 1e6
        for label, denoiser in denoisers:
            base = {"pair": pair.id, "denoiser": label, "camera": pair.camera, "iso": pair.iso}
            try:
                start = time.perf_counter()
                candidate = _checked_output(denoiser.denoise(noisy, pair=pair), noisy, label)
                seconds = time.perf_counter() - start
                result = score(reference, candidate, noisy=noisy, metrics=config.metrics)
                output = _save_output(candidate, out, label, pair.id)
                _save_maps(result.maps, out, label, pair.id)
            except Exception as exc:  # one failing denoiser never sinks the run
                message = (
                    str(exc) if isinstance(exc, EvalkitError) else f"{type(exc).__name__}: {exc}"
                )
                rows += _failed_rows(pair, label, config.metrics, message)
                _report(progress, f"{pair.id} {label}: failed: {message}")
                continue
            for metric, value in result.metrics.items():
                reason = result.unavailable.get(metric)
                rows.append(
                    {
                        **base,
                        "metric": metric,
                        "value": np.nan if value is None else value,
                        "status": "unavailable" if reason else "ok",
                        "error": reason,
                        "seconds": seconds,
                        "megapixels": megapixels,
                        "output": output,
                    }
                )
            for finding in result.findings:
                findings.append({"pair": pair.id, "denoiser": label, **finding.to_dict()})
            for entry in result.text:
                texts.append({"pair": pair.id, "denoiser": label, **entry})
            _report(progress, f"{pair.id} {label}: {seconds:.2f} s")

    result = RunResult(
        table=pd.DataFrame(rows, columns=list(TABLE_COLUMNS)),
        findings=pd.DataFrame(findings, columns=list(FINDING_COLUMNS)),
        text=pd.DataFrame(texts),
        config=config,
        provenance=provenance(config, denoisers),
    )
    if out is not None:
        write_results(result, out)
    return result


def write_results(result: RunResult, out: str | os.PathLike) -> Path:
    """Write the tables and provenance of ``result`` into ``out``; return the folder."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result.table.to_csv(out / "results.csv", index=False)
    result.findings.to_csv(out / "findings.csv", index=False)
    result.text.to_json(out / "text.json", orient="records", indent=1)
    (out / "run.json").write_text(json.dumps(result.provenance, indent=2), encoding="utf-8")
    return out


def _save_output(candidate: np.ndarray, out: Path | None, label: str, pair_id: str) -> str | None:
    """Keep the output image, 16-bit so nothing is lost; return its path relative to ``out``."""
    if out is None:
        return None
    relative = Path("outputs") / _safe_name(label) / f"{_safe_name(pair_id)}.png"
    (out / relative).parent.mkdir(parents=True, exist_ok=True)
    save_image(out / relative, candidate, bit_depth=16)
    return relative.as_posix()


def _save_maps(maps: dict[str, np.ndarray], out: Path | None, label: str, pair_id: str) -> None:
    """Keep each [0, 1] map as an 8-bit grey PNG no larger than the report shows it."""
    if out is None:
        return
    folder = out / "maps" / _safe_name(label) / _safe_name(pair_id)
    folder.mkdir(parents=True, exist_ok=True)
    for name, values in maps.items():
        save_image(folder / f"{_safe_name(name)}.png", _display_size(values))


def _display_size(values: np.ndarray, longest: int = MAP_SIZE) -> np.ndarray:
    import cv2

    height, width = values.shape[:2]
    scale = longest / max(height, width)
    if scale >= 1:
        return values
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # INTER_AREA averages, so a small hot spot stays visible as a dimmer spot.
    return cv2.resize(values.astype(np.float32), size, interpolation=cv2.INTER_AREA)


def _safe_name(name: str) -> str:
    # Labels and ids come from users; keep them from escaping the results folder.
    return "".join(c if c.isalnum() or c in "-_.+=" else "_" for c in name).lstrip(".") or "_"


def _checked_output(output: object, noisy: np.ndarray, label: str) -> np.ndarray:
    """Refuse what a buggy denoiser may return, with a message naming the defect."""
    if not isinstance(output, np.ndarray):
        raise DenoiserError(f"denoiser {label!r} returned {type(output).__name__}, not an array")
    if output.shape != noisy.shape:
        raise DenoiserError(
            f"denoiser {label!r} returned shape {output.shape}, expected {noisy.shape}"
        )
    if not np.issubdtype(output.dtype, np.floating):
        raise DenoiserError(
            f"denoiser {label!r} returned dtype {output.dtype}, expected float in [0, 1]"
        )
    if not np.isfinite(output).all():
        raise DenoiserError(f"denoiser {label!r} returned NaN or infinite values")
    return np.clip(output, 0.0, 1.0).astype(np.float32, copy=False)


def _failed_rows(pair: Pair, label: str, metrics, message: str) -> list[dict]:
    return [
        {
            "pair": pair.id,
            "denoiser": label,
            "metric": metric,
            "value": np.nan,
            "status": "failed",
            "error": message,
            "camera": pair.camera,
            "iso": pair.iso,
        }
        for metric in metrics
    ]


def _report(progress: Callable[[str], None] | None, line: str) -> None:
    if progress is not None:
        progress(line)
