"""The report's plots, drawn by matplotlib (Agg, no pyplot state) into SVG files.

Each function takes the run's tidy table (or leaderboard) and a path, writes one
SVG and returns a short caption, or returns ``None`` when the run has nothing to
plot (no timings, a single metric, no ISO values). Text is drawn as paths, so
names from the data can never become markup inside the SVG.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ._leaderboard import Leaderboard

#: Metrics that measure perceived quality, preferred in this order for the
#: perception axis of the perception-distortion plane (Blau & Michaeli 2018);
#: the first other metric is used when none of them was computed.
PERCEPTUAL_METRICS = ("lpips", "dists", "flip", "ssim")
#: Metrics that measure distortion, preferred for the other axis.
DISTORTION_METRICS = ("psnr", "mse", "rmse")

_STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#8a8f98",
    "axes.labelcolor": "#2b2f36",
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.grid": True,
    "grid.color": "#e6e8eb",
    "grid.linewidth": 0.8,
    "xtick.color": "#5b616b",
    "ytick.color": "#5b616b",
    "legend.frameon": False,
    "svg.fonttype": "path",
    "svg.hashsalt": "evalkit",
}
_PALETTE = (
    "#2f6fde",
    "#e0612b",
    "#1f9e77",
    "#c23b8a",
    "#7a5cd6",
    "#b58a00",
    "#2aa6c4",
    "#6b7280",
    "#d1453b",
    "#4c9a2a",
)


def _styled(function):
    """Run a plotting function inside the report's matplotlib style.

    Artists read rcParams when they are created, so the whole function, not only
    the figure's creation, runs in the context (and global rcParams stay as the
    user set them).
    """

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context(_STYLE):
            return function(*args, **kwargs)

    return wrapper


def colours(denoisers: list[str]) -> dict[str, str]:
    """One colour per denoiser, the same in every plot of a report."""
    return {name: _PALETTE[i % len(_PALETTE)] for i, name in enumerate(denoisers)}


@_styled
def quality_vs_speed(board: Leaderboard, path: Path, palette: dict[str, str]) -> str | None:
    """Primary metric (mean, 95 % CI) against seconds per megapixel, with the Pareto front."""
    metric = board.primary
    rows = [
        r
        for r in board.rows
        if metric
        and math.isfinite(r.seconds_per_megapixel)
        and r.seconds_per_megapixel > 0
        and math.isfinite(r.metrics[metric].mean)
    ]
    if not rows:
        return None
    higher = board.directions[metric]
    fig, ax = _figure()
    speed = np.array([r.seconds_per_megapixel for r in rows])
    quality = np.array([r.metrics[metric].mean for r in rows])
    front = _pareto_front(speed, quality, higher_is_better=higher)
    order = front[np.argsort(speed[front])]
    ax.plot(
        speed[order], quality[order], "-", color="#9aa1ab", lw=1.2, zorder=1, label="Pareto front"
    )
    for r, x, y in zip(rows, speed, quality, strict=True):
        s = r.metrics[metric]
        yerr = (
            [[y - s.ci_low], [s.ci_high - y]]
            if math.isfinite(s.ci_low) and math.isfinite(s.ci_high)
            else None
        )
        ax.errorbar(x, y, yerr=yerr, fmt="o", ms=7, color=palette[r.denoiser], capsize=3, zorder=3)
        ax.annotate(
            _short(r.denoiser), (x, y), xytext=(6, 5), textcoords="offset points", fontsize=8.5
        )
    ax.set_xscale("log")
    ax.set_xlabel("seconds per megapixel (log scale)  ← faster")
    ax.set_ylabel(_axis_label(board, metric))
    ax.set_title(f"Quality vs speed: {metric}")
    ax.legend(loc="best", fontsize=8)
    _save(fig, path)
    return (
        f"Mean {metric} with 95 % CI against median denoiser time per megapixel. "
        "The line joins the denoisers no other beats on both quality and speed."
    )


@_styled
def perception_distortion(
    table: pd.DataFrame, board: Leaderboard, path: Path, palette: dict[str, str]
) -> str | None:
    """Each pair x denoiser on a distortion metric (x) against a perceptual one (y)."""
    if len(board.metrics) < 2:
        return None
    distortion = next((m for m in DISTORTION_METRICS if m in board.metrics), board.metrics[0])
    perception = next(
        (m for m in PERCEPTUAL_METRICS if m in board.metrics and m != distortion),
        next(m for m in board.metrics if m != distortion),
    )
    ok = table[(table["status"] == "ok") & table["metric"].isin([distortion, perception])]
    wide = ok.pivot_table(index=["pair", "denoiser"], columns="metric", values="value")
    if distortion not in wide or perception not in wide:
        return None
    wide = wide.dropna()
    if wide.empty:
        return None
    fig, ax = _figure()
    for row in board.rows:
        name = row.denoiser
        points = wide.xs(name, level="denoiser") if name in wide.index.get_level_values(1) else None
        if points is None or points.empty:
            continue
        colour = palette[name]
        ax.scatter(points[distortion], points[perception], s=14, color=colour, alpha=0.35, lw=0)
        ax.scatter(
            points[distortion].mean(),
            points[perception].mean(),
            s=70,
            color=colour,
            edgecolor="white",
            linewidth=1.2,
            zorder=3,
            label=_short(name),
        )
    if not board.directions[distortion]:
        ax.invert_xaxis()
    if not board.directions[perception]:
        ax.invert_yaxis()
    ax.set_xlabel(_axis_label(board, distortion) + "   better →")
    ax.set_ylabel(_axis_label(board, perception) + "   better →")
    ax.set_title(f"Perception-distortion: {perception} vs {distortion}")
    ax.legend(loc="best", fontsize=8, markerscale=0.8)
    _save(fig, path)
    return (
        f"Every pair (small dots) and each denoiser's mean (large dot); up and right is "
        f"better. A denoiser that gains {perception} at the cost of {distortion} moves "
        "up and left: it looks better but departs further from the reference."
    )


@_styled
def quality_vs_iso(
    table: pd.DataFrame, board: Leaderboard, path: Path, palette: dict[str, str]
) -> str | None:
    """Mean of the primary metric per ISO speed, one line per denoiser."""
    metric = board.primary
    if metric is None:
        return None
    ok = table[(table["status"] == "ok") & (table["metric"] == metric)].dropna(
        subset=["iso", "value"]
    )
    if ok.empty or ok["iso"].nunique() < 1:
        return None
    means = ok.groupby(["denoiser", "iso"])["value"].mean()
    fig, ax = _figure()
    for row in board.rows:
        if row.denoiser not in means.index.get_level_values(0):
            continue
        series = means.loc[row.denoiser]
        ax.plot(
            series.index,
            series.to_numpy(),
            "-o",
            ms=5,
            lw=1.6,
            color=palette[row.denoiser],
            label=_short(row.denoiser),
        )
    isos = sorted(ok["iso"].unique())
    if isos[0] > 0:
        ax.set_xscale("log")
        ax.set_xticks(isos, [f"{v:g}" for v in isos])
        ax.minorticks_off()
    ax.set_xlabel("ISO of the noisy shot")
    ax.set_ylabel(_axis_label(board, metric))
    ax.set_title(f"{metric} against ISO")
    ax.legend(loc="best", fontsize=8)
    _save(fig, path)
    return f"Mean {metric} over the pairs at each ISO speed; noise grows to the right."


@_styled
def distribution(
    table: pd.DataFrame, board: Leaderboard, metric: str, path: Path, palette: dict[str, str]
) -> str | None:
    """Box plot with every pair as a dot, one row per denoiser, best at the top."""
    ok = table[(table["status"] == "ok") & (table["metric"] == metric)].dropna(subset=["value"])
    if ok.empty:
        return None
    names = [r.denoiser for r in board.rows if r.denoiser in set(ok["denoiser"])]
    data = [ok[ok["denoiser"] == name]["value"].to_numpy() for name in names]
    height = 1.0 + 0.42 * len(names)
    fig, ax = _figure(height=max(2.2, height))
    positions = np.arange(len(names))[::-1]
    box = ax.boxplot(
        data,
        positions=positions,
        **_horizontal(),
        widths=0.55,
        showfliers=False,
        patch_artist=True,
        medianprops={"color": "#2b2f36", "lw": 1.4},
        whiskerprops={"color": "#8a8f98"},
        capprops={"color": "#8a8f98"},
    )
    rng = np.random.default_rng(0)  # jitter only; fixed so reports are reproducible
    for patch, name, values, y in zip(box["boxes"], names, data, positions, strict=True):
        patch.set_facecolor(palette[name] + "33")
        patch.set_edgecolor(palette[name])
        ax.scatter(
            values,
            y + rng.uniform(-0.14, 0.14, len(values)),
            s=12,
            color=palette[name],
            alpha=0.8,
            lw=0,
            zorder=3,
        )
    ax.set_yticks(positions, [_short(n, 22) for n in names])
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(_axis_label(board, metric))
    ax.set_title(f"Distribution of {metric} over pairs")
    _save(fig, path)
    return f"{metric} on each pair (dots), with median and quartiles; best denoiser at the top."


def _horizontal() -> dict:
    import matplotlib

    # ``orientation`` replaced ``vert`` in Matplotlib 3.10; ``vert`` warns from 3.11.
    major, minor = (int(part) for part in matplotlib.__version__.split(".")[:2])
    return {"orientation": "horizontal"} if (major, minor) >= (3, 10) else {"vert": False}


def _pareto_front(speed: np.ndarray, quality: np.ndarray, *, higher_is_better: bool) -> np.ndarray:
    """Indices of the points no other point beats on both speed (lower) and quality."""
    q = quality if higher_is_better else -quality
    keep = []
    for i in range(len(speed)):
        dominated = np.any((speed <= speed[i]) & (q >= q[i]) & ((speed < speed[i]) | (q > q[i])))
        if not dominated:
            keep.append(i)
    return np.array(keep, dtype=int)


def _figure(width: float = 6.4, height: float = 4.0):
    # Figure without pyplot: no global figure registry, nothing to close, thread-safe.
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def _save(fig, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="svg", metadata={"Date": None})


def _axis_label(board: Leaderboard, metric: str) -> str:
    unit = board.units.get(metric, "")
    arrow = "↑" if board.directions[metric] else "↓"
    return f"{metric}{f' ({unit})' if unit else ''} {arrow}"


def _short(name: str, length: int = 28) -> str:
    return name if len(name) <= length else name[: length - 1] + "…"
