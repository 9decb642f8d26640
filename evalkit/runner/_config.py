"""Run configurations: which denoisers, on which dataset, scored by which metrics."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..align import MODES
from ..datasets import LAYOUTS
from ..errors import ConfigError
from ..scoring import DEFAULT_METRICS, TEXT_METRICS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class DenoiserEntry:
    """One denoiser of a run.

    Attributes
    ----------
    name : str
        Registry name.
    label : str
        Name in results; unique within a run.
    params : dict
        Keyword arguments of the denoiser.
    timeout : float or None
        Seconds one call may take before it is killed and recorded as failed.
    """

    name: str
    label: str
    params: dict[str, Any] = field(default_factory=dict)
    timeout: float | None = None


@dataclass(frozen=True)
class RunConfig:
    """What :func:`evalkit.run` does.

    The TOML form, with paths relative to the config file::

        dataset = "manifest.toml"   # or a folder: "PolyU", { layout = "sidd", path = "SIDD" }
        metrics = ["psnr", "ssim"]
        align = "auto"          # "always" | "never": registration and tone match
        ocr = "easyocr"         # text check engine, or "none"
        detectors = ["tone_shift", "highlight_clipping"]   # optional; default: all built-ins
        keep_outputs = true     # false: keep scores, findings and readings, not the images

        [detector_settings.oversharpening]                 # optional thresholds
        warning = 1.3

        [[denoiser]]
        name = "nlm"            # registry name
        label = "nlm-strong"    # optional; defaults to name; unique per run
        params = { h = 1.2 }    # optional; parameters named *path are relative paths
        timeout = 600           # optional: seconds per image before it is killed

        [[denoiser]]
        name = "command"
        params = { argv = ["my-denoiser", "{input}", "{output}"], timeout = 120 }

    Attributes
    ----------
    dataset : Path
        Manifest of the pairs, or a folder in a known layout (see
        :func:`evalkit.datasets.load_dataset_dir`).
    dataset_layout : str
        The folder's layout (``"auto"``: detected); TOML ``dataset = { layout =
        "polyu", path = "..." }``.
    denoisers : tuple of DenoiserEntry
        In the order they appear in results.
    metrics : tuple of str
        Metric registry names.
    align : {"auto", "always", "never"}
        How each reference is registered to its noisy shot and its exposure
        matched before scoring (:func:`evalkit.align.align_reference`), once per
        pair; ``"auto"`` keeps a registered benchmark's convention (no
        alignment, see :func:`evalkit.scoring.alignment_mode`). TOML ``true`` and
        ``false`` mean ``"auto"`` and ``"never"``.
    ocr : str or None
        OCR engine of the text check (``None``: no text check). Pairs with text
        regions in the manifest are read there, with their true strings; the
        others have their text lines found on the reference.
    detectors : tuple of str or None
        Artifact detectors to run; ``None`` runs the built-in defaults.
    detector_settings : dict
        Detector name → keyword arguments (thresholds).
    keep_outputs : bool
        Keep each denoiser output in the results folder (``outputs/``, as a PNG at
        the bit depth it came in, and its per-pixel maps in ``maps/``), for the
        report's viewer and crops. ``False`` keeps everything else; a re-run then
        reuses every finished item without its image, and runs a denoiser again
        only where a metric or an analysis it lacks needs the output.
    source : Path or None
        The config file, recorded for provenance.
    """

    dataset: Path
    denoisers: tuple[DenoiserEntry, ...]
    metrics: tuple[str, ...] = DEFAULT_METRICS
    dataset_layout: str = "auto"
    align: str = "auto"
    ocr: str | None = "easyocr"
    detectors: tuple[str, ...] | None = None
    detector_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    keep_outputs: bool = True
    source: Path | None = None

    @property
    def reported_metrics(self) -> tuple[str, ...]:
        """The configured metrics, and the text check's when OCR runs."""
        extra = [m for m in TEXT_METRICS if m not in self.metrics] if self.ocr else []
        return (*self.metrics, *extra)

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> RunConfig:
        """Read a run configuration file; :class:`ConfigError` names what is wrong."""
        path = Path(path)
        if path.is_dir():
            raise ConfigError(f"{path}: a folder, not a run config (a .toml file)")
        if not path.is_file():
            raise ConfigError(f"{path}: no such config file")
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
        return cls.from_dict(document, base=path.parent, source=path)

    @classmethod
    def from_dict(
        cls, document: dict[str, Any], *, base: Path = Path("."), source: Path | None = None
    ) -> RunConfig:
        """Build a config from the TOML structure; relative paths are taken from ``base``."""
        where = source or "config"
        known = {
            "dataset",
            "metrics",
            "denoiser",
            "align",
            "ocr",
            "detectors",
            "detector_settings",
            "keep_outputs",
        }
        unknown = set(document) - known
        if unknown:
            raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
        if "dataset" not in document:
            raise ConfigError(f"{where}: missing 'dataset' (a manifest or a dataset folder)")
        dataset, layout = _dataset_source(document["dataset"], where)
        entries = document.get("denoiser", [])
        if not isinstance(entries, list) or not entries:
            raise ConfigError(f"{where}: needs at least one [[denoiser]] table")
        denoisers = []
        for index, entry in enumerate(entries, start=1):
            if not isinstance(entry, dict) or "name" not in entry:
                raise ConfigError(f"{where}: denoiser {index} has no 'name'")
            extra = set(entry) - {"name", "label", "params", "timeout"}
            if extra:
                raise ConfigError(f"{where}: denoiser {index}: unknown keys {sorted(extra)}")
            # Parameters named *path are files or folders, relative to the config.
            params = {
                key: str((base / value).resolve()) if key.endswith("path") else value
                for key, value in dict(entry.get("params", {})).items()
            }
            timeout = entry.get("timeout")
            if timeout is not None and not (isinstance(timeout, int | float) and timeout > 0):
                raise ConfigError(f"{where}: denoiser {index}: timeout must be a positive number")
            label = str(entry.get("label", entry["name"]))
            denoisers.append(DenoiserEntry(entry["name"], label, params, timeout))
        labels = [d.label for d in denoisers]
        duplicates = sorted({label for label in labels if labels.count(label) > 1})
        if duplicates:
            raise ConfigError(
                f"{where}: denoiser labels must be unique; repeated: {duplicates} (add label = ...)"
            )
        metrics = document.get("metrics", list(DEFAULT_METRICS))
        if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
            raise ConfigError(f"{where}: 'metrics' must be a list of names")
        align = document.get("align", "auto")
        if isinstance(align, bool):
            align = "auto" if align else "never"
        if align not in MODES:
            raise ConfigError(f"{where}: 'align' must be one of {list(MODES)} (or true/false)")
        detectors = document.get("detectors")
        if detectors is not None and not (
            isinstance(detectors, list) and all(isinstance(d, str) for d in detectors)
        ):
            raise ConfigError(f"{where}: 'detectors' must be a list of names")
        settings = document.get("detector_settings", {})
        if not isinstance(settings, dict) or not all(
            isinstance(v, dict) for v in settings.values()
        ):
            raise ConfigError(f"{where}: [detector_settings.NAME] tables hold keyword arguments")
        ocr = document.get("ocr", "easyocr")
        if not isinstance(ocr, str):
            raise ConfigError(f"{where}: 'ocr' must be an engine name or \"none\"")
        keep_outputs = document.get("keep_outputs", True)
        if not isinstance(keep_outputs, bool):
            raise ConfigError(f"{where}: 'keep_outputs' must be true or false")
        return cls(
            dataset=(base / dataset).resolve(),
            dataset_layout=layout,
            denoisers=tuple(denoisers),
            metrics=tuple(metrics),
            align=align,
            ocr=None if ocr == "none" else ocr,
            detectors=tuple(detectors) if detectors is not None else None,
            detector_settings=settings,
            keep_outputs=keep_outputs,
            source=source,
        )


def _dataset_source(value: Any, where: Any) -> tuple[str, str]:
    """``(path, layout)`` of the config's ``dataset``: a path, or ``{layout, path}``."""
    if isinstance(value, str):
        return value, "auto"
    if isinstance(value, dict) and isinstance(value.get("path"), str):
        extra = set(value) - {"path", "layout"}
        layout = value.get("layout", "auto")
        if extra or layout not in LAYOUTS:
            raise ConfigError(
                f"{where}: 'dataset' table takes path and layout (one of {list(LAYOUTS)}); "
                f"got {value}"
            )
        return value["path"], layout
    raise ConfigError(
        f'{where}: \'dataset\' must be a path or {{ layout = "polyu", path = "..." }}'
    )
