"""Where a result came from: versions, configuration, machine and time."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def provenance(config, denoisers: dict[str, tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Describe a run for its report and results folder.

    Parameters
    ----------
    config : RunConfig
        The configuration that was run.
    denoisers : dict
        Label → ``(name, params)`` that each built denoiser reports (see
        :func:`denoiser_entry`).

    Returns
    -------
    dict
        JSON-ready: ``evalkit_version``, ``git_revision`` (of the evalkit source
        tree, or ``None`` outside a checkout), ``created`` (UTC, ISO 8601),
        ``machine`` (host, platform, Python, CPU count), ``config`` (dataset path,
        metrics, whether outputs are kept, config file and its text) and
        ``denoisers`` (label → name, params).
    """
    from .. import __version__

    source = config.source
    return {
        "evalkit_version": __version__,
        "git_revision": _git_revision(Path(__file__).resolve().parent),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "host": platform.node(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        },
        "config": {
            "file": str(source) if source else None,
            "text": source.read_text(encoding="utf-8") if source and source.is_file() else None,
            "dataset": str(config.dataset),
            "dataset_layout": config.dataset_layout,
            "align": config.align,
            "metrics": list(config.metrics),
            "keep_outputs": config.keep_outputs,
        },
        "denoisers": {
            label: {"name": name, "params": params} for label, (name, params) in denoisers.items()
        },
    }


def denoiser_entry(label: str, denoiser) -> tuple[str, dict[str, Any]]:
    """``(name, params)`` of a built denoiser as provenance records them (JSON data)."""
    return getattr(denoiser, "name", label), _jsonable(denoiser.params)


def _git_revision(folder: Path) -> str | None:
    try:
        completed = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return completed.stdout.strip() or None if completed.returncode == 0 else None


def _jsonable(params) -> dict[str, Any]:
    return {
        key: value
        if isinstance(value, str | int | float | bool | list | type(None))
        else str(value)
        for key, value in dict(params).items()
    }
