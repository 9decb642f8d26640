"""One-page report of a before/after inspection (no reference shot).

Layout of the folder::

    index.html                 banner, viewer, findings, text, noise, metrics
    result.json                the result's ``to_dict()``
    assets/report.css, report.js
    images/noisy.jpg, output.jpg, map-<name>.jpg   display copies (<= 1600 px)
    crops/<n>.noisy.png, <n>.output.png            full-resolution finding crops

The page reuses the run report's stylesheet, script and viewer markup, so it
looks and behaves like a pair page; what differs is what it may claim, which
its banner says first. Every string from the data is escaped by autoescape.
"""

from __future__ import annotations

import math
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from .. import _json as strict_json
from ._html import _box_style, _copy_assets, _crops, _environment, _url
from ._images import save_display, save_heat_map, slug
from ._load import SEVERITIES
from ._text import text_rows

#: Verdicts of a text entry that the noisy shot cannot confirm or refute:
#: ``unverifiable`` from the no-reference check, and ``unjudged`` (the noisy
#: shot, standing in for the reference, could not be read with confidence).
UNVERIFIABLE = ("unverifiable", "unjudged")

#: What each metric of :func:`evalkit.inspect` measures, for the metrics table.
METRIC_NOTES = {
    "noise_sigma": "noise standard deviation of the noisy shot (mean of R, G, B), 0-1 scale",
    "removed_sigma": "standard deviation of what was removed, on the flattest blocks, 0-1 scale",
    "removed_fraction": "removed variance / noise variance on the flattest blocks (≈ 1: the noise)",
    "removed_structure": "correlation of what was removed with image detail (≈ 0: noise only)",
    "ocr_cer": "mean character error rate of the output's readings against the noisy shot's",
    "text_hallucinations": "text regions whose reading the output changed into other text",
    "text_legibility_losses": "text regions the output made unreadable",
    "text_recovered": "text regions readable in the output but not in the noisy shot",
    "text_regions": "text regions found on the noisy shot",
}

# Display bands of the removed fraction; they only choose the sentence shown.
_PARTIAL, _EXCESS = 0.8, 1.25

ImageLike = np.ndarray | str | os.PathLike


def write_inspection_report(
    result, noisy: ImageLike, candidate: ImageLike, out: str | os.PathLike
) -> Path:
    """Write a self-contained HTML page of a no-reference inspection into ``out``.

    Parameters
    ----------
    result : ScoreResult
        What :func:`evalkit.inspect` returned for ``noisy`` and ``candidate``
        (``mode == "no reference"``).
    noisy : ndarray of shape (H, W, 3) or path
        The noisy original, float in [0, 1] if an array.
    candidate : ndarray of shape (H, W, 3) or path
        The denoiser's output, same size.
    out : path
        Report folder, created if needed; the page opens from ``file://`` with
        no network and no server.

    Returns
    -------
    Path
        The written ``index.html``.

    Raises
    ------
    ValueError
        ``result`` was scored against a reference (use
        :func:`evalkit.report.write_report` for runs).
    ImageError
        The two images differ in size, or a path cannot be read.

    Notes
    -----
    Display images and heat maps are JPEGs no longer than 1600 px; crops of
    finding boxes are full-resolution PNGs of both images. Heat maps use a fixed
    *inferno* scale, 0 black to 1 (worst) yellow.
    """
    from ..io import check_same_size, load_image

    if getattr(result, "mode", None) != "no reference":
        raise ValueError(
            f"expected the result of evalkit.inspect (mode 'no reference'), "
            f"got mode {getattr(result, 'mode', None)!r}; use write_report for scored runs"
        )
    noisy = noisy if isinstance(noisy, np.ndarray) else load_image(noisy)
    candidate = candidate if isinstance(candidate, np.ndarray) else load_image(candidate)
    check_same_size(noisy, candidate, names=("noisy", "output"))

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _copy_assets(out)
    full = (noisy.shape[1], noisy.shape[0])
    size = save_display(noisy, out / "images" / "noisy.jpg")
    save_display(candidate, out / "images" / "output.jpg")
    maps = []
    for name, values in result.maps.items():
        target = Path("images") / f"map-{slug(name)}.jpg"
        save_heat_map(np.asarray(values, np.float32), out / target, size=size)
        maps.append({"name": name, "src": _url(target)})
    # Both layers carry the maps, so a map shows over whichever image is on the right.
    layers = [
        {"label": "noisy shot", "kind": "noisy", "src": "images/noisy.jpg", "maps": maps},
        {"label": "output", "kind": "output", "src": "images/output.jpg", "maps": maps},
    ]

    findings = [
        _finding_entry(finding, number, noisy, candidate, out, full)
        for number, finding in enumerate(result.findings)
    ]
    findings.sort(
        key=lambda f: (
            SEVERITIES.index(f["severity"]) if f["severity"] in SEVERITIES else 9,
            -(f["score"] if f["score"] is not None else -math.inf),
        )
    )
    rows = text_rows(list(result.text))
    for row in rows:
        row["unverifiable"] = row["verdict"] in UNVERIFIABLE

    page = (
        _environment()
        .get_template("inspect.html.j2")
        .render(
            root="",
            title="evalkit inspection: output judged without a reference",
            version=_version(),
            created=datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z").strip(),
            severities=SEVERITIES,
            viewer={
                "width": size[0],
                "height": size[1],
                "full_width": full[0],
                "full_height": full[1],
                "layers": layers,
                "maps": [m["name"] for m in maps],
            },
            findings=findings,
            counts={s: sum(f["severity"] == s for f in findings) for s in SEVERITIES},
            text=rows,
            noise=_noise_section(result.noise),
            metrics=[
                {"name": name, "value": value, "note": METRIC_NOTES.get(name, "")}
                for name, value in result.metrics.items()
            ],
            unavailable=dict(result.unavailable),
        )
    )
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    (out / "result.json").write_text(
        strict_json.dumps(result.to_dict(), indent=1, ensure_ascii=False, default=str),
        encoding="utf-8",
    )
    return index


def _finding_entry(finding, number: int, noisy, candidate, out: Path, full) -> dict[str, Any]:
    """A finding as the page shows it, with full-resolution crops of its box."""
    bbox = tuple(int(v) for v in finding.bbox) if finding.bbox is not None else None
    sources = [("noisy", noisy), ("output", candidate)]
    crops = _crops(bbox, sources, out, Path("crops") / str(number))
    score = finding.score
    return {
        "anchor": f"f-{number}",
        # The viewer shows boxes over the layer whose "denoiser" matches.
        "denoiser": "output",
        "detector": finding.detector,
        "severity": str(getattr(finding.severity, "value", finding.severity)),
        "score": float(score) if score is not None and math.isfinite(score) else None,
        "bbox": list(bbox) if bbox is not None else None,
        "box_style": _box_style(bbox, full),
        "message": finding.message,
        "crops": crops,
    }


def _noise_section(noise: dict | None) -> dict[str, Any] | None:
    """Per-channel noise level of the noisy shot and the removed-part analysis."""
    if not noise:
        return None
    profile = noise.get("profile") or {}
    removed = noise.get("removed") or {}
    channels = []
    own = removed.get("noise_sigma")
    taken = removed.get("removed_sigma")
    for i, name in enumerate("rgb"):
        measured = [v for v in (profile.get("sigma") or {}).get(name, []) if v is not None]
        sigma = own[i] if own else (float(np.median(measured)) if measured else None)
        channels.append(
            {
                "name": "RGB"[i],
                "sigma": sigma,
                "levels": len(measured),
                "removed": taken[i] if taken else None,
            }
        )
    fraction = removed.get("removed_fraction")
    if fraction is None:
        fraction_reading = None
    elif fraction < _PARTIAL:
        fraction_reading = "below 1: part of the noise was left in"
    elif fraction <= _EXCESS:
        fraction_reading = "about 1: about as much as the noise was removed"
    else:
        fraction_reading = "above 1: more than the noise was removed (detail or tone went too)"
    return {
        "channels": channels,
        "removed_fraction": fraction,
        "fraction_reading": fraction_reading,
        "structure_correlation": removed.get("structure_correlation"),
        "looks_like_noise": removed.get("looks_like_noise"),
    }


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("evalkit")
    except PackageNotFoundError:
        return "?"
