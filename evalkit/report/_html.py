"""Write a run's report folder: HTML pages, images, plots, results.json and summary.md.

Layout of the folder::

    index.html              leaderboard, plots, worst cases, pairs, provenance
    compare.html            with ``compare=``: this run against a baseline run
    pairs/<pair>.html       viewer, heat maps, findings with crops, text panel
    assets/report.css, report.js
    plots/*.svg
    images/<pair>/*.jpg     display copies (<= 1600 px, JPEG)
    crops/<pair>/*.png      full-resolution crops of finding boxes
    results.csv, findings.csv, text.json, run.json, results.json, summary.md

Every string from the data is escaped by Jinja2's autoescape; the JavaScript
writes data into the page only through ``textContent`` and attributes.
"""

from __future__ import annotations

import json
import logging
import math
import multiprocessing
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .._threads import use_one_thread
from ._compare import compare_runs
from ._images import (
    crop_box,
    save_crop,
    save_display,
    save_heat_map,
    slug,
)
from ._leaderboard import Leaderboard, leaderboard
from ._load import SEVERITIES, ResultsBundle, load_results
from ._manifest import ReportManifest, file_stamp, inputs_key, write_if_changed
from ._plots import colours, distribution, perception_distortion, quality_vs_iso, quality_vs_speed
from ._summary import results_json, summary_markdown
from ._text import text_rows

log = logging.getLogger(__name__)

#: Findings shown per detector in the index's "worst cases".
WORST_SHOWN = 3
_THUMB_SIZE = 320


def write_report(results, out: str | os.PathLike, *, compare=None, jobs: int = 1) -> Path:
    """Write a self-contained HTML report of a run into the folder ``out``.

    Parameters
    ----------
    results : RunResult or path
        What :func:`evalkit.runner.run` returned (its ``outputs/`` and ``maps/``
        are looked for in ``out``, where ``evalkit run`` writes them), or a
        results folder written by a run.
    out : path
        Report folder, created if needed. It opens from ``file://`` with no
        network and no server.
    compare : RunResult or path, optional
        A baseline run; adds ``compare.html`` with what got better and worse.
    jobs : int, optional
        Processes that draw the pairs' images and crops (one pair each at a time).

    Returns
    -------
    Path
        The written ``index.html``.

    Raises
    ------
    ResultsError
        A results folder is missing or has no ``results.csv``.

    Notes
    -----
    Display images are JPEGs no longer than 1600 px; only crops of finding
    boxes are full-resolution PNGs, so the folder stays a small fraction of the
    dataset's size. Statistics: mean with a 95 % bootstrap interval, and a paired
    Wilcoxon test against the best denoiser per metric.
    """
    out = Path(out)
    is_folder = isinstance(results, str | os.PathLike)
    bundle = load_results(results, folder=None if is_folder else out)
    baseline = load_results(compare) if compare is not None else None
    out.mkdir(parents=True, exist_ok=True)
    _copy_tables(results, bundle, out)
    _copy_assets(out)

    manifest = ReportManifest(out)
    board_key = inputs_key(
        _drawn_table(bundle.table), bundle.findings, list(bundle.metrics), bundle.denoisers
    )
    board = _leaderboard(bundle, manifest, board_key)
    palette = colours(bundle.denoisers)
    dataset_pairs, dataset_note = _dataset_pairs(bundle)
    ranked = [row.denoiser for row in board.rows]
    drawings = _pair_drawings(bundle, dataset_pairs, out, ranked)
    recorded = {name: manifest.get(name, key) for name, key, _ in drawings}
    todo = [arguments for name, _, arguments in drawings if recorded[name] is None]
    with ExitStack() as stack:
        pool = None
        if jobs > 1 and len(todo) > 1:
            context = multiprocessing.get_context("forkserver")
            pool = stack.enter_context(
                ProcessPoolExecutor(
                    min(jobs, len(todo)), mp_context=context, initializer=use_one_thread
                )
            )
        # With a pool the pairs are drawn while this process makes the plots.
        draw = pool.map if pool is not None else map
        drawn = draw(_pair_page, *zip(*todo, strict=True)) if todo else iter(())
        try:
            plots = _plots(bundle, board, out, palette, manifest, board_key)
            pairs = []
            for name, key, _ in drawings:
                entry = recorded[name]
                if entry is None:
                    page = next(drawn)
                    pairs.append(manifest.put(name, key, page, _written(page)))
                else:
                    pairs.append(entry["value"])
        except BaseException:
            if pool is not None:  # else leaving the pool draws every pair first
                pool.shutdown(wait=False, cancel_futures=True)
            raise
    manifest.save()
    worst = _worst_cases(bundle, pairs)
    comparison = compare_runs(bundle, baseline) if baseline is not None else None

    env = _environment()
    common = {
        "title": _title(bundle),
        "provenance": bundle.provenance,
        "created": _created(bundle.provenance),
        "has_compare": comparison is not None,
        "palette": palette,
        "severities": SEVERITIES,
    }
    for index, pair in enumerate(pairs):
        page = env.get_template("pair.html.j2").render(
            **common,
            root="../",
            pair=pair,
            previous=pairs[index - 1] if index > 0 else None,
            next=pairs[index + 1] if index + 1 < len(pairs) else None,
            board=board,
        )
        write_if_changed(out / pair["page"], page)
    if comparison is not None:
        page = env.get_template("compare.html.j2").render(
            **common, root="", comparison=comparison, pages={p["id"]: p["page"] for p in pairs}
        )
        write_if_changed(out / "compare.html", page)
    html = env.get_template("index.html.j2").render(
        **common,
        root="",
        board=board,
        plots=plots,
        pairs=pairs,
        worst=worst,
        worst_metrics=_worst_metrics(bundle, board, pairs),
        failures=_failures(bundle),
        dataset_note=dataset_note,
        comparison=comparison,
        config_text=(bundle.provenance.get("config") or {}).get("text"),
    )
    index = out / "index.html"
    write_if_changed(index, html)
    write_if_changed(
        out / "results.json",
        json.dumps(results_json(bundle, board, comparison), indent=1, allow_nan=False),
    )
    write_if_changed(out / "summary.md", summary_markdown(bundle, board, comparison))
    return index


# --------------------------------------------------------------------------- pages


def _environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("evalkit.report", "templates"),
        # Every template escapes, whatever its file name: data never becomes markup.
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _format_number
    env.filters["signed"] = _format_signed
    # A plain string (escaped by autoescape), unlike Jinja's tojson, which is markup.
    env.filters["json"] = lambda value: json.dumps(value, ensure_ascii=False, default=str)
    return env


def _copy_assets(out: Path) -> None:
    assets = out / "assets"
    assets.mkdir(exist_ok=True)
    templates = resources.files("evalkit.report") / "templates"
    for name in ("report.css", "report.js"):
        write_if_changed(assets / name, (templates / name).read_text(encoding="utf-8"))


def _copy_tables(results, bundle: ResultsBundle, out: Path) -> None:
    """Put results.csv, findings.csv, text.json and run.json next to the HTML."""
    if bundle.folder is not None and bundle.folder.resolve() != out.resolve():
        for name in ("results.csv", "findings.csv", "text.json", "run.json"):
            if (bundle.folder / name).is_file():
                shutil.copyfile(bundle.folder / name, out / name)
    elif not (out / "results.csv").is_file() and hasattr(results, "config"):
        from ..runner import write_results

        write_results(results, out)


def _leaderboard(bundle: ResultsBundle, manifest: ReportManifest, key: str) -> Leaderboard:
    """The run's leaderboard, from the manifest when the run's rows are unchanged
    (its bootstrap intervals take seconds)."""
    entry = manifest.get("leaderboard", key)
    if entry is None:
        entry = {"value": manifest.put("leaderboard", key, leaderboard(bundle).to_dict(), [])}
    return Leaderboard.from_dict(entry["value"])


def _drawn_table(table):
    """The rows that drawings show: all but ``reused``, which is what changes from
    a run to its re-run and which no page shows."""
    return table.drop(columns=["reused"], errors="ignore")


def _plots(
    bundle: ResultsBundle,
    board: Leaderboard,
    out: Path,
    palette,
    manifest: ReportManifest,
    board_key: str,
) -> list[dict]:
    """Draw each plot whose rows changed (all of them depend on the leaderboard's
    rows and the denoisers' colours, which ``board_key`` digests)."""
    folder = out / "plots"
    made = []
    jobs = [
        ("quality_speed.svg", lambda p: quality_vs_speed(board, p, palette)),
        (
            "perception_distortion.svg",
            lambda p: perception_distortion(bundle.table, board, p, palette),
        ),
        ("quality_iso.svg", lambda p: quality_vs_iso(bundle.table, board, p, palette)),
    ]
    for metric in board.metrics:
        jobs.append(
            (
                f"distribution_{slug(metric)}.svg",
                lambda p, m=metric: distribution(bundle.table, board, m, p, palette),
            )
        )
    for name, job in jobs:
        key, path = inputs_key(name, board_key), f"plots/{name}"
        entry = manifest.get(path, key)
        if entry is not None:
            caption = entry["value"]
        else:
            caption = job(folder / name)
            manifest.put(path, key, caption, [path] if caption is not None else [])
        if caption is not None:
            made.append({"src": f"plots/{name}", "caption": caption, "name": name})
    return made


def _dataset_pairs(bundle: ResultsBundle) -> tuple[dict[str, Any], str | None]:
    """Pair id → Pair of the run's dataset, for reference and noisy images."""
    from ..datasets import load_dataset
    from ..errors import EvalkitError

    manifest = bundle.dataset
    if manifest is None:
        return {}, "The run does not name its dataset; reference and noisy images are not shown."
    try:
        dataset = load_dataset(manifest)
    except (EvalkitError, OSError) as exc:
        return (
            {},
            f"The dataset could not be read ({exc}); reference and noisy images are not shown.",
        )
    return {pair.id: pair for pair in dataset}, None


def _pair_drawings(
    bundle: ResultsBundle, dataset_pairs: dict, out: Path, ranked: list[str]
) -> list[tuple[str, str, tuple]]:
    """Per pair, in run order: its drawing's manifest name, the key of what it is
    drawn from, and the arguments of :func:`_pair_page`.

    Drawing (decoding, resizing and encoding images) is most of a report's time,
    so a pair is drawn again only when its rows, the images it reads (by size
    and modification time) or the ranking changed.
    """
    drawings = []
    keys: set[str] = set()
    for pair_id in bundle.pairs:
        key = slug(pair_id)
        while key in keys:  # a slug is unique per name, but be safe with truncation
            key += "_"
        keys.add(key)
        part, pair = bundle.for_pair(pair_id), dataset_pairs.get(pair_id)
        files = [pair.reference, pair.noisy] if pair is not None else []
        for denoiser in ranked:
            files += [
                part.output_path(pair_id, denoiser),
                *part.map_paths(pair_id, denoiser).values(),
            ]
        inputs = inputs_key(
            key,
            ranked,
            part.denoisers,
            _drawn_table(part.table),
            part.findings,
            part.text,
            part.alignments,
            [file_stamp(path) for path in files],
        )
        drawings.append((f"pairs/{key}", inputs, (part, pair_id, key, pair, out, ranked)))
    return drawings


def _written(page: dict) -> list[str]:
    """The files a pair's drawing wrote, relative to the report folder."""
    files = [layer["src"] for layer in page["layers"]]
    files += [image["src"] for layer in page["layers"] for image in layer["maps"]]
    files += [crop["src"] for finding in page["findings"] for crop in finding["crops"]]
    return files + ([page["thumb"]] if page["thumb"] else [])


def _pair_page(
    bundle: ResultsBundle, pair_id: str, key: str, pair, out: Path, ranked: list[str]
) -> dict:
    """Write one pair's images and crops; return what its page shows.

    ``bundle`` holds this pair's rows only; ``pair`` is the dataset's pair (its
    reference and noisy images), ``None`` when the dataset could not be read.
    Outputs are listed best first (``ranked``), so the viewer opens on the
    noisy shot against the best denoiser.
    """
    from ..errors import EvalkitError
    from ..io import load_image

    table = bundle.table
    ok = table[table["status"] == "ok"]
    findings = bundle.findings
    texts = bundle.text
    image_dir = Path("images") / key
    crop_dir = Path("crops") / key
    rows = table[table["pair"] == pair_id]
    first = rows.iloc[0]
    layers: list[dict] = []
    size = None  # (width, height) of the display copies
    full = None  # (width, height) of the originals
    originals: dict[str, np.ndarray] = {}
    notes: list[str] = []
    if pair is not None:
        try:
            reference, noisy = pair.load()
        except EvalkitError as exc:
            notes.append(str(exc))
        else:
            full = (reference.shape[1], reference.shape[0])
            originals = {"reference": reference, "noisy": noisy}
            size = save_display(reference, out / image_dir / "reference.jpg")
            save_display(noisy, out / image_dir / "noisy.jpg")
            _thumbnail(reference, out / image_dir / "thumb.jpg")
            layers.append(
                _layer("reference", "reference shot", "reference", image_dir / "reference.jpg")
            )
            layers.append(_layer("noisy", "noisy shot", "noisy", image_dir / "noisy.jpg"))

    pair_findings = findings[findings["pair"] == pair_id]
    finding_rows: list[dict] = []
    for denoiser in ranked:
        output = bundle.output_path(pair_id, denoiser)
        candidate = None
        dslug = slug(denoiser)
        if output is not None:
            try:
                candidate = load_image(output)
            except EvalkitError as exc:
                notes.append(str(exc))
        if candidate is not None:
            if full is None:
                full = (candidate.shape[1], candidate.shape[0])
            shown = save_display(candidate, out / image_dir / f"out-{dslug}.jpg")
            size = size or shown
            if not (out / image_dir / "thumb.jpg").exists():
                _thumbnail(candidate, out / image_dir / "thumb.jpg")
            maps = []
            for name, path in bundle.map_paths(pair_id, denoiser).items():
                target = image_dir / f"out-{dslug}.map-{slug(name)}.jpg"
                try:
                    values = load_image(path)[..., 0]
                except EvalkitError as exc:
                    notes.append(str(exc))
                    continue
                save_heat_map(values, out / target, size=size)
                maps.append({"name": name, "src": _url(target)})
            layer = _layer(f"out:{denoiser}", denoiser, "output", image_dir / f"out-{dslug}.jpg")
            layer["denoiser"] = denoiser
            layer["maps"] = maps
            layers.append(layer)
        # Findings of this denoiser, with crops of their boxes.
        for number, finding in enumerate(
            pair_findings[pair_findings["denoiser"] == denoiser].itertuples(index=False)
        ):
            finding_rows.append(
                _finding_entry(
                    finding,
                    anchor=f"f-{dslug}-{number}",
                    candidate=candidate,
                    originals=originals,
                    out=out,
                    crop_dir=crop_dir,
                    name=f"{dslug}-{number}",
                    full=full,
                )
            )
        del candidate
    finding_rows.sort(
        key=lambda f: (
            SEVERITIES.index(f["severity"]) if f["severity"] in SEVERITIES else 9,
            -(f["score"] or 0),
        )
    )

    metric_rows = []
    for denoiser in bundle.denoisers:
        values = ok[(ok["pair"] == pair_id) & (ok["denoiser"] == denoiser)]
        metric_rows.append(
            {
                "denoiser": denoiser,
                "values": dict(zip(values["metric"], values["value"], strict=True)),
                "status": _status(rows[rows["denoiser"] == denoiser]),
            }
        )
    text_by_denoiser = []
    for denoiser in bundle.denoisers:
        entries = [
            t for t in texts if str(t.get("pair")) == pair_id and str(t.get("denoiser")) == denoiser
        ]
        if entries:
            text_by_denoiser.append({"denoiser": denoiser, "rows": text_rows(entries)})
    counts = {s: int((pair_findings["severity"] == s).sum()) for s in SEVERITIES}
    return {
        "id": pair_id,
        "slug": key,
        "page": f"pairs/{key}.html",
        "iso": _maybe_number(first.get("iso")),
        "camera": first.get("camera") if isinstance(first.get("camera"), str) else None,
        "layers": layers,
        "width": size[0] if size else None,
        "height": size[1] if size else None,
        "full_width": full[0] if full else None,
        "full_height": full[1] if full else None,
        "thumb": _url(image_dir / "thumb.jpg")
        if (out / image_dir / "thumb.jpg").exists()
        else None,
        "findings": finding_rows,
        "finding_counts": counts,
        "metrics": metric_rows,
        "text": text_by_denoiser,
        "alignment": bundle.alignments.get(pair_id),
        "notes": notes,
    }


def _finding_entry(finding, *, anchor, candidate, originals, out, crop_dir, name, full) -> dict:
    bbox = finding.bbox
    sources = [
        ("candidate", candidate),
        ("reference", originals.get("reference")),
        ("noisy", originals.get("noisy")),
    ]
    crops = _crops(bbox, sources, out, crop_dir / name)
    severity = str(finding.severity)
    score = finding.score
    return {
        "anchor": anchor,
        "denoiser": finding.denoiser,
        "detector": finding.detector,
        "severity": severity,
        "score": float(score) if score is not None and math.isfinite(score) else None,
        "bbox": list(bbox) if bbox is not None else None,
        "box_style": _box_style(bbox, full),
        "message": finding.message,
        "crops": crops,
    }


def _crops(bbox, sources, out: Path, stem: Path) -> list[dict]:
    """Full-resolution crops of ``bbox`` (plus a margin) from each ``(role, image)``
    of ``sources`` (``None`` images are skipped), as ``<stem>.<role>.png``."""
    if bbox is None:
        return []
    crops = []
    for role, image in sources:
        if image is None:
            continue
        target = stem.with_name(f"{stem.name}.{role}.png")
        width, height, scaled = save_crop(image, crop_box(bbox, image.shape), out / target)
        crops.append(
            {"role": role, "src": _url(target), "width": width, "height": height, "scaled": scaled}
        )
    return crops


def _box_style(bbox, full) -> str | None:
    """CSS placing ``bbox`` over the image, in percent so it follows any zoom."""
    if bbox is None or full is None:
        return None
    x, y, w, h = bbox
    width, height = full
    return (
        f"left:{100 * x / width:.4f}%;top:{100 * y / height:.4f}%;"
        f"width:{100 * w / width:.4f}%;height:{100 * h / height:.4f}%"
    )


def _worst_cases(bundle: ResultsBundle, pairs: list[dict]) -> list[dict]:
    """Per detector, its most severe findings across the dataset (severity, then score)."""
    by_detector: dict[str, list[dict]] = {}
    for pair in pairs:
        for finding in pair["findings"]:
            by_detector.setdefault(finding["detector"], []).append({**finding, "pair": pair})
    out = []
    for detector in sorted(by_detector):
        entries = sorted(
            by_detector[detector],
            key=lambda f: (
                SEVERITIES.index(f["severity"]) if f["severity"] in SEVERITIES else 9,
                -(f["score"] if f["score"] is not None else -math.inf),
            ),
        )
        counts = {s: sum(1 for f in entries if f["severity"] == s) for s in SEVERITIES}
        out.append(
            {
                "detector": detector,
                "entries": entries[:WORST_SHOWN],
                "total": len(entries),
                "counts": counts,
            }
        )
    return out


def _worst_metrics(bundle: ResultsBundle, board: Leaderboard, pairs: list[dict]) -> list[dict]:
    """Per metric, the pair x denoiser results furthest on the bad side."""
    pages = {p["id"]: p for p in pairs}
    ok = bundle.table[(bundle.table["status"] == "ok")].dropna(subset=["value"])
    out = []
    for metric in board.metrics:
        rows = ok[ok["metric"] == metric].sort_values("value", ascending=board.directions[metric])
        entries = [
            {
                "pair": pages.get(r.pair),
                "pair_id": r.pair,
                "denoiser": r.denoiser,
                "value": float(r.value),
            }
            for r in rows.head(WORST_SHOWN).itertuples()
        ]
        if entries:
            out.append({"metric": metric, "entries": entries})
    return out


def _failures(bundle: ResultsBundle) -> list[dict]:
    table = bundle.table
    failed = table[table["status"] == "failed"].drop_duplicates(["pair", "denoiser"])
    unavailable = table[table["status"] == "unavailable"].drop_duplicates(["metric", "error"])
    return [
        {"kind": "failed", "what": f"{r.pair} · {r.denoiser}", "error": _text(r.error)}
        for r in failed.itertuples()
    ] + [
        {"kind": "unavailable", "what": f"metric {r.metric}", "error": _text(r.error)}
        for r in unavailable.itertuples()
    ]


# --------------------------------------------------------------------------- helpers


def _layer(key: str, label: str, kind: str, path: Path) -> dict:
    return {
        "key": key,
        "label": label,
        "kind": kind,
        "src": _url(path),
        "maps": [],
        "denoiser": None,
    }


def _thumbnail(image: np.ndarray, path: Path) -> None:
    save_display(image, path, longest=_THUMB_SIZE)


def _url(path: Path) -> str:
    # Slugs hold only URL-safe characters, so a POSIX path is already a valid URL.
    return Path(path).as_posix()


def _status(rows) -> str:
    statuses = set(rows["status"])
    return "failed" if "failed" in statuses else "ok"


def _title(bundle: ResultsBundle) -> str:
    manifest = bundle.dataset
    return f"evalkit report: {manifest.parent.name if manifest else bundle.name}"


def _created(provenance: dict) -> str:
    created = provenance.get("created")
    if not created:
        return ""
    try:
        return datetime.fromisoformat(created).strftime("%Y-%m-%d %H:%M %Z").strip()
    except (TypeError, ValueError):
        return str(created)


def _maybe_number(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _format_number(value, digits: int | None = None) -> str:
    """Four significant digits for metrics (``31.42``, ``0.9412``); ``—`` for missing."""
    if value is None:
        return "—"
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(value):
        return "∞" if value == math.inf else "—"
    if digits is not None:
        return f"{value:.{digits}f}"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.1f}"
    if magnitude >= 10:
        return f"{value:.2f}"
    if magnitude >= 0.01 or magnitude == 0:
        return f"{value:.4f}" if magnitude < 1 else f"{value:.3f}"
    return f"{value:.2e}"


def _format_signed(value) -> str:
    text = _format_number(value)
    return text if text.startswith(("-", "—")) else f"+{text}"
