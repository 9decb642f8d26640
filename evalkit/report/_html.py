"""Render a run's results as a self-contained HTML report."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from .. import __version__
from ..metrics import METRICS


def write_report(result, out: str | os.PathLike) -> Path:
    """Write ``index.html`` for a :class:`~evalkit.runner.RunResult` into ``out``.

    Every string from the data (pair ids, denoiser labels, error messages) is
    HTML-escaped by Jinja2's autoescape.

    Returns
    -------
    Path
        The written ``index.html``.
    """
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("evalkit.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    html = env.get_template("index.html.j2").render(
        leaderboard=leaderboard(result.table),
        failures=result.failures.to_dict("records"),
        findings=result.findings.to_dict("records"),
        config=result.config,
        version=__version__,
        created=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    )
    path = out / "index.html"
    path.write_text(html, encoding="utf-8")
    return path


def leaderboard(table: pd.DataFrame) -> dict:
    """Mean of each metric per denoiser, best first by the first metric.

    Returns a dict with ``metrics`` (list of ``(name, higher_is_better)``) and
    ``rows`` (list of dicts: ``denoiser``, ``values`` by metric, ``seconds_per_mp``).
    """
    ok = table[table["status"] == "ok"]
    metrics = list(dict.fromkeys(table["metric"]))
    means = ok.pivot_table(index="denoiser", columns="metric", values="value", aggfunc="mean")
    speed = ok.drop_duplicates(["pair", "denoiser"]).assign(
        spm=lambda d: d["seconds"] / d["megapixels"]
    )
    speed = speed.groupby("denoiser")["spm"].mean()
    if metrics and metrics[0] in means:
        spec = METRICS.get(metrics[0])
        means = means.sort_values(metrics[0], ascending=not spec.higher_is_better)
    rows = [
        {
            "denoiser": denoiser,
            "values": {m: means.loc[denoiser].get(m) for m in metrics},
            "seconds_per_mp": speed.get(denoiser),
        }
        for denoiser in means.index
    ]
    return {
        "metrics": [(m, METRICS.get(m).higher_is_better) for m in metrics],
        "rows": rows,
    }
