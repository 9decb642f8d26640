"""Run denoisers over the pairs of a dataset and score every output."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, replace
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import __version__
from .. import _json as strict_json
from ..datasets import REGISTERED_LAYOUTS, benchmark_layout, load_dataset_dir
from ..denoisers import DENOISERS, make_denoiser
from ..detectors import DETECTORS
from ..errors import ConfigError, EvalkitError
from ..io import image_size
from ..metrics import METRICS
from ..ocr import OCR_ENGINES
from ..scoring import alignment_mode
from ._config import RunConfig
from ._executors import run_dask, run_processes, run_serial, start_fork_server
from ._items import WorkItem, digest, file_hash
from ._provenance import denoiser_entry, provenance
from ._store import ResultStore

if TYPE_CHECKING:
    # Imported where tables are built: worker processes import this package to run
    # items and never need pandas, which takes a third of a second to import.
    import pandas as pd

log = logging.getLogger("evalkit.runner")

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
    "reused",
)
FINDING_COLUMNS = ("pair", "denoiser", "detector", "severity", "score", "bbox", "message")
DATABASE = "evalkit.sqlite"

Progress = Callable[[int, int, dict[str, Any]], None]
"""Called after each item as ``progress(done, total, record)``."""


@dataclass(frozen=True)
class RunResult:
    """The results of :func:`run`.

    Attributes
    ----------
    table : DataFrame
        Tidy results, columns :data:`TABLE_COLUMNS`. ``status`` is ``ok``,
        ``failed`` (the denoiser or the pair failed; ``error`` says why; ``value``
        is NaN) or ``unavailable`` (the metric cannot run here; ``error`` says how
        to fix it). ``seconds`` is the wall time of the denoiser call; ``reused``
        says the output came from the cache of an earlier run.
    findings : DataFrame
        One row per finding, columns :data:`FINDING_COLUMNS`.
    text : DataFrame
        One row per text region per pair x denoiser (OCR readings).
    alignments : dict
        Pair id → how its reference was registered and tone-matched to the noisy
        shot (``Alignment.to_dict()``); empty when the run does not align.
    config : RunConfig
        What was run.
    provenance : dict
        Versions, configuration, denoiser parameters, machine and time.
    """

    table: pd.DataFrame
    findings: pd.DataFrame
    text: pd.DataFrame
    alignments: dict
    config: RunConfig
    provenance: dict

    @property
    def failures(self) -> pd.DataFrame:
        """One row per failed pair x denoiser, with the reason."""
        failed = self.table[self.table["status"] == "failed"]
        return failed[["pair", "denoiser", "error"]].drop_duplicates().reset_index(drop=True)

    @property
    def reused(self) -> int:
        """How many pair x denoiser items were taken from an earlier run."""
        return int(self.table.drop_duplicates(["pair", "denoiser"])["reused"].sum())


def run(
    config: RunConfig | str | os.PathLike,
    *,
    out: str | os.PathLike | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
    keep_outputs: bool | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Run every denoiser of ``config`` on every pair and score the outputs.

    Parameters
    ----------
    config : RunConfig or path of a TOML config
    out : path, optional
        Results folder, created if needed. It holds the results database
        (``evalkit.sqlite``, see :class:`ResultStore`), the exports
        ``results.csv``, ``findings.csv``, ``text.json`` and ``run.json``
        (provenance), a log ``run.log``, and, unless the config's
        ``keep_outputs`` is false, every output as a PNG at the bit depth it
        came in (8 bits for 8-bit outputs, else 16) in
        ``outputs/<denoiser>/<pair>.png`` and each per-pixel map of the score
        (values in [0, 1], 1 worst) as an 8-bit PNG in
        ``maps/<denoiser>/<pair>/<map>.png``. Running again into the same folder
        reuses every finished item: denoiser outputs by (denoiser, parameters,
        input hash), metric values by (output hash, reference hash, metric,
        version). A run killed midway loses only the items in flight.
    jobs : int, optional
        Worker processes. 1 runs in this process, unless a denoiser has a
        ``timeout``, which needs a worker to kill.
    scheduler : str, optional
        Address of a dask.distributed scheduler (``tcp://host:8786``) to run the
        items on instead of local processes.
    keep_outputs : bool, optional
        Overrides the config's ``keep_outputs``: whether ``out`` keeps the output
        images and their maps (the scores are kept either way).
    progress : callable, optional
        Called after each item with ``(done, total, record)``.

    Returns
    -------
    RunResult

    Raises
    ------
    ConfigError, ManifestError
        Before any work, for a bad config, an unknown denoiser or metric, or a
        manifest that names missing files. Failures during the run (an unreadable
        image, a denoiser that raises, hangs, or returns garbage) never raise: they
        become ``failed`` rows and the run goes on.
    """
    if not isinstance(config, RunConfig):
        config = RunConfig.from_toml(config)
    if keep_outputs is not None:
        config = replace(config, keep_outputs=keep_outputs)
    if jobs < 1:
        raise ConfigError(f"jobs must be at least 1, got {jobs}")
    local_workers = not scheduler and (jobs > 1 or any(entry.timeout for entry in config.denoisers))
    if local_workers:
        start_fork_server()  # its imports overlap the checks and hashing below
    dataset = load_dataset_dir(config.dataset, layout=config.dataset_layout)
    if config.ocr is not None:
        try:
            OCR_ENGINES.get(config.ocr)
        except KeyError as exc:
            raise ConfigError(f"{config.source or 'config'}: {exc.args[0]}") from None
    checks = (
        (METRICS, config.metrics),
        (DETECTORS, [*(config.detectors or ()), *config.detector_settings]),
        (DENOISERS, [entry.name for entry in config.denoisers]),
    )
    for registry, names in checks:
        for name in names:
            try:
                registry.get(name)
            except KeyError as exc:
                raise ConfigError(f"{config.source or 'config'}: {exc.args[0]}") from None
    out = Path(out) if out is not None else None
    store = ResultStore(out / DATABASE) if out is not None else None
    handler = _log_to(out)
    try:
        meta = provenance(config, _denoiser_entries(config, store))
        run_id = store.start_run(meta["created"], meta) if store else 0
        items = _work_items(dataset, config, out)
        records, todo = _resume(items, store)
        log.info("%d items; %d reused from earlier runs", len(items), len(records))
        if scheduler:
            results = run_dask(todo, scheduler=scheduler)
        elif local_workers:
            results = run_processes(todo, jobs=jobs)
        else:
            results = run_serial(todo)
        # Closed at once on an error here, so that workers stop instead of finishing.
        with closing(results):
            for record in _recorded(records, results, store, run_id, progress, len(items)):
                records[(record["pair"], record["denoiser"])] = record
    finally:
        if store:
            store.close()
        if handler:
            logging.getLogger("evalkit").removeHandler(handler)
            handler.close()
    ordered = [records[(item.pair.id, item.label)] for item in items]
    result = _result(ordered, config, meta)
    if out is not None:
        write_results(result, out)
    return result


def write_results(result: RunResult, out: str | os.PathLike) -> Path:
    """Export the tables and provenance of ``result`` into ``out``; return the folder."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result.table.to_csv(out / "results.csv", index=False)
    result.findings.to_csv(out / "findings.csv", index=False)
    result.text.to_json(out / "text.json", orient="records", indent=1)
    (out / "alignment.json").write_text(strict_json.dumps(result.alignments, indent=1), "utf-8")
    (out / "run.json").write_text(strict_json.dumps(result.provenance, indent=2), "utf-8")
    return out


def _work_items(dataset, config: RunConfig, out: Path | None) -> list[WorkItem]:
    items = []
    for pair in dataset:
        input_hash, reference_hash = _hash_or_empty(pair.noisy), _hash_or_empty(pair.reference)
        megapixels = _megapixels(pair.noisy)
        for entry in config.denoisers:
            items.append(
                WorkItem(
                    pair=pair,
                    label=entry.label,
                    spec=DENOISERS.get(entry.name),
                    params=dict(entry.params),
                    metrics=config.reported_metrics,
                    align=alignment_mode(config.align, _benchmark(pair)),
                    version=__version__,
                    ocr=config.ocr,
                    detectors=config.detectors,
                    detector_settings=config.detector_settings,
                    out=out,
                    keep_output=config.keep_outputs,
                    timeout=entry.timeout,
                    input_hash=input_hash,
                    reference_hash=reference_hash,
                    megapixels=megapixels,
                )
            )
    return items


def _hash_or_empty(path: Path) -> str:
    # An unreadable file is reported by the item that loads it, with the reason.
    try:
        return file_hash(path)
    except OSError:
        return ""


def _megapixels(path: Path) -> float | None:
    try:
        width, height = image_size(path)
    except EvalkitError:
        return None
    return width * height / 1e6


def _resume(
    items: list[WorkItem], store: ResultStore | None
) -> tuple[dict[tuple[str, str], dict], list[WorkItem]]:
    """Split items into records complete in the cache and items still to run.

    An item whose scores are all cached is complete without its output image
    when outputs are not kept; when they are, a missing image is made again.
    """
    done: dict[tuple[str, str], dict] = {}
    todo: list[WorkItem] = []
    rerun_without_image = 0
    for item in items:
        cached = store.cached_output(item.cache_key) if store and item.input_hash else None
        if cached is None:
            todo.append(item)
            continue
        output, output_hash, seconds = cached
        # An empty path: the run that made it did not keep its output.
        kept = bool(output) and (item.out / output).is_file()
        versions = {metric: item.metric_version for metric in item.metrics}
        metrics = store.cached_metrics(output_hash, item.reference_hash, versions)
        analysis_key = item.analysis_key(output_hash)
        analysis = store.cached_analysis(analysis_key)
        complete = len(metrics) == len(item.metrics) and analysis is not None
        if not kept and item.keep_output:  # a kept image that went missing is made again
            todo.append(item)
            continue
        if not complete:
            if kept:
                todo.append(replace(item, cached_output=cached, cached_metrics=metrics))
            else:  # nothing to score the missing metrics on but a new output
                rerun_without_image += 1
                todo.append(item)
            continue
        findings, text, alignment = analysis
        done[(item.pair.id, item.label)] = {
            **item.base_row(),
            "status": "ok",
            "seconds": seconds,
            "reused": True,
            "output": output if kept else None,
            "output_hash": output_hash,
            "analysis_key": analysis_key,
            "metrics": {m: (*metrics[m], item.metric_version) for m in item.metrics},
            "findings": findings,
            "text": text,
            "alignment": alignment,
        }
    if rerun_without_image:
        log.warning(
            "%d items run their denoiser again: their outputs were not kept "
            "(keep_outputs = false) and a metric or analysis they lack needs them",
            rerun_without_image,
        )
    return done, todo


def _recorded(
    reused: dict, results: Iterator[dict], store, run_id: int, progress, total: int
) -> Iterator[dict]:
    """Store each record as it arrives (one transaction each) and report progress."""
    for done, record in enumerate(chain(reused.values(), results), start=1):
        if store:
            store.record_item(run_id, record)
        line = f"{record['pair']} {record['denoiser']}: " + (
            "failed: " + record["error"]
            if record["status"] == "failed"
            else ("reused" if record.get("reused") else f"{record['seconds']:.2f} s")
        )
        (log.warning if record["status"] == "failed" else log.info)(line)
        if progress:
            progress(done, total, record)
        yield record


def _result(records: list[dict], config: RunConfig, meta: dict) -> RunResult:
    import pandas as pd

    rows, findings, texts = [], [], []
    alignments = {}
    for record in records:
        if record.get("alignment") is not None:
            alignments[record["pair"]] = record["alignment"]
        base = {
            "pair": record["pair"],
            "denoiser": record["denoiser"],
            "camera": record.get("camera"),
            "iso": record.get("iso"),
        }
        if record["status"] != "ok":
            rows += [
                {**base, "metric": m, "value": np.nan, "status": "failed", "error": record["error"]}
                for m in config.reported_metrics
            ]
            continue
        for metric, (value, status, error, _) in record["metrics"].items():
            rows.append(
                {
                    **base,
                    "metric": metric,
                    "value": np.nan if value is None else value,
                    "status": status,
                    "error": error,
                    "seconds": record["seconds"],
                    "megapixels": record.get("megapixels"),
                    "output": record["output"],
                    "reused": bool(record.get("reused")),
                }
            )
        findings += [{**base, **finding} for finding in record["findings"]]
        texts += [
            {"pair": record["pair"], "denoiser": record["denoiser"], **t} for t in record["text"]
        ]
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    table["reused"] = table["reused"].eq(True)  # failed items have no value: not reused
    return RunResult(
        table=table,
        findings=pd.DataFrame(findings, columns=list(FINDING_COLUMNS)),
        text=pd.DataFrame(texts),
        alignments=alignments,
        config=config,
        provenance=meta,
    )


def _log_to(out: Path | None) -> logging.Handler | None:
    if out is None:
        return None
    out.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(out / "run.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("evalkit")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return handler


def _benchmark(pair) -> str | None:
    """The registered benchmark a pair comes from: its loader's layout, or, for a
    manifest that lists a benchmark's files, their names (as ``evalkit score`` sees)."""
    layout = pair.metadata.get("dataset_layout")
    if layout in REGISTERED_LAYOUTS:
        return layout
    return benchmark_layout(pair.reference, pair.noisy)


def _denoiser_entries(
    config: RunConfig, store: ResultStore | None
) -> dict[str, tuple[str, dict[str, Any]]]:
    """Label → ``(name, params)`` of each denoiser, for provenance.

    Each is built here, so that a bad parameter fails before any work, unless the
    results folder holds what the same build (denoiser, parameters, version)
    reported: building imports the denoiser's module, torch for ``dncnn``, which
    costs a re-run seconds.
    """
    entries = {}
    for entry in config.denoisers:
        spec = DENOISERS.get(entry.name)
        key = digest(spec.name, spec.target, entry.params, __version__)
        recorded = store.recorded_build(key) if store else None
        if recorded is None:
            try:
                denoiser = make_denoiser(entry.name, **entry.params)
            except EvalkitError as exc:
                where = config.source or "config"
                raise ConfigError(f"{where}: denoiser {entry.label!r}: {exc}") from None
            recorded = denoiser_entry(entry.label, denoiser)
            if store:
                store.record_build(key, *recorded)
        entries[entry.label] = recorded
    return entries
