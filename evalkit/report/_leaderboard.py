"""The leaderboard: denoisers x metrics with confidence intervals, ranks and ties."""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from ..metrics import METRICS
from ._load import SEVERITIES, ResultsBundle

#: Significance level for "not significantly different from the best".
ALPHA = 0.05


@dataclass(frozen=True)
class MetricSummary:
    """One denoiser's score on one metric across the dataset.

    Attributes
    ----------
    mean : float
        Mean over the pairs that scored ``ok``; NaN if none.
    ci_low, ci_high : float
        95 % bootstrap confidence interval of the mean; NaN with fewer than 2 pairs.
    n : int
        Pairs that scored ``ok``.
    rank : int or None
        1 = best on this metric.
    p_value : float or None
        Paired Wilcoxon signed-rank test against the best denoiser over the pairs
        both scored; ``None`` for the best itself or when it cannot be computed.
    tied : bool
        Not significantly different from the best (``p_value >= ALPHA``, or too
        few pairs to tell); ``False`` for the best itself.
    """

    mean: float
    ci_low: float
    ci_high: float
    n: int
    rank: int | None = None
    p_value: float | None = None
    tied: bool = False


@dataclass(frozen=True)
class LeaderboardRow:
    denoiser: str
    rank: int
    metrics: dict[str, MetricSummary]
    seconds_per_megapixel: float
    findings: dict[str, int]
    failed: int
    unavailable: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Leaderboard:
    """Rows best first by ``primary``; ``metrics`` in the run's order.

    ``directions`` maps a metric to ``True`` where higher is better.
    """

    rows: list[LeaderboardRow]
    metrics: list[str]
    primary: str | None
    directions: dict[str, bool]
    units: dict[str, str]
    pairs: int

    def to_dict(self) -> dict:
        """Everything, as JSON data (NaN kept as NaN): :meth:`from_dict` reads it back."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Leaderboard:
        """The leaderboard that :meth:`to_dict` gave ``data`` of."""
        rows = [
            LeaderboardRow(
                **{
                    **row,
                    "metrics": {name: MetricSummary(**s) for name, s in row["metrics"].items()},
                }
            )
            for row in data["rows"]
        ]
        return cls(**{**data, "rows": rows})

    def to_records(self) -> list[dict]:
        """JSON-ready rows (NaN → ``None``)."""
        return [
            {
                "denoiser": row.denoiser,
                "rank": row.rank,
                "metrics": {
                    name: {
                        "mean": _finite(s.mean),
                        "ci95": [_finite(s.ci_low), _finite(s.ci_high)],
                        "n": s.n,
                        "rank": s.rank,
                        "p_value_vs_best": _finite(s.p_value),
                        "tied_with_best": s.tied,
                    }
                    for name, s in row.metrics.items()
                },
                "seconds_per_megapixel": _finite(row.seconds_per_megapixel),
                "findings": row.findings,
                "failed_pairs": row.failed,
                "unavailable": row.unavailable,
            }
            for row in self.rows
        ]


def leaderboard(bundle: ResultsBundle) -> Leaderboard:
    """Summarise a run: per denoiser and metric, mean with CI, rank and tie with the best.

    The overall rank orders denoisers by the first metric of the run's config
    (the *primary* metric), best first; denoisers without a value come last.
    Speed is the median over pairs of denoiser wall time per megapixel, so a
    first-call warm-up does not dominate it.
    """
    table = bundle.table
    denoisers = bundle.denoisers
    metrics = list(bundle.metrics)
    directions = {m: _higher_is_better(m) for m in metrics}
    units = {m: _unit(m) for m in metrics}
    ok = table[table["status"] == "ok"]

    per_metric: dict[str, dict[str, MetricSummary]] = {}
    for metric in metrics:
        values = ok[ok["metric"] == metric].pivot_table(
            index="pair", columns="denoiser", values="value", aggfunc="mean"
        )
        per_metric[metric] = _metric_statistics(
            values.reindex(columns=[d for d in denoisers if d in values.columns]),
            higher_is_better=directions[metric],
        )

    speed = (
        table.dropna(subset=["seconds", "megapixels"])
        .drop_duplicates(["pair", "denoiser"])
        .assign(spm=lambda d: d["seconds"] / d["megapixels"].where(d["megapixels"] > 0))
        .groupby("denoiser")["spm"]
        .median()
    )
    findings = bundle.findings
    failed = table[table["status"] == "failed"].drop_duplicates(["pair", "denoiser"])
    unavailable = table[table["status"] == "unavailable"].drop_duplicates(["denoiser", "metric"])

    primary = metrics[0] if metrics else None
    rows = []
    for denoiser in denoisers:
        summaries = {
            m: per_metric[m].get(denoiser, MetricSummary(math.nan, math.nan, math.nan, 0))
            for m in metrics
        }
        counts = findings[findings["denoiser"] == denoiser]["severity"].value_counts()
        rows.append(
            LeaderboardRow(
                denoiser=denoiser,
                rank=0,
                metrics=summaries,
                seconds_per_megapixel=float(speed.get(denoiser, math.nan)),
                findings={s: int(counts.get(s, 0)) for s in SEVERITIES},
                failed=int((failed["denoiser"] == denoiser).sum()),
                unavailable={
                    str(r.metric): str(r.error)
                    for r in unavailable[unavailable["denoiser"] == denoiser].itertuples()
                },
            )
        )
    if primary is not None:
        rows.sort(key=lambda r: r.metrics[primary].rank or len(rows) + 1)
    rows = [LeaderboardRow(**{**row.__dict__, "rank": index}) for index, row in enumerate(rows, 1)]
    return Leaderboard(
        rows=rows,
        metrics=metrics,
        primary=primary,
        directions=directions,
        units=units,
        pairs=len(bundle.pairs),
    )


def _metric_statistics(values: pd.DataFrame, *, higher_is_better: bool) -> dict[str, MetricSummary]:
    """Mean, 95 % CI, rank and paired test against the best, per denoiser.

    The statistics themselves are :func:`evalkit.metrics.bootstrap_mean_ci` and
    :func:`evalkit.metrics.compare_paired`; this arranges them for the table.

    Parameters
    ----------
    values : DataFrame
        One row per pair, one column per denoiser, NaN where a pair has no value.
    higher_is_better : bool
        Direction of the metric.

    Returns
    -------
    dict of str to MetricSummary

    Notes
    -----
    The interval is a percentile bootstrap of the mean (2000 resamples, fixed
    seed so reports are reproducible). The test is the
    two-sided Wilcoxon signed-rank test on the pairs both denoisers scored
    (``scipy.stats.wilcoxon``), which needs no normality; with fewer than six
    pairs it can never reach p < 0.05, so small runs show every denoiser as
    tied with the best, which is the honest answer.
    """
    from ..metrics import bootstrap_mean_ci, compare_paired

    finite = values.where(np.isfinite(values))  # PSNR is inf for identical images
    means = finite.mean(axis=0, skipna=True)
    sign = 1.0 if higher_is_better else -1.0
    order = (sign * means).dropna().sort_values(ascending=False)
    best = order.index[0] if len(order) else None
    ranks = {denoiser: index for index, denoiser in enumerate(order.index, 1)}

    out = {}
    for denoiser in values.columns:
        column = finite[denoiser].dropna().to_numpy(dtype=float)
        low = high = math.nan
        if len(column) >= 2:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # small-sample warnings; the CI says it
                ci = bootstrap_mean_ci(column, resamples=2000)
            low, high = ci.low, ci.high
        p_value = None
        tied = False
        if best is not None and denoiser != best and denoiser in ranks:
            both = finite[[best, denoiser]].dropna()
            if len(both):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    comparison = compare_paired(
                        both[best], both[denoiser], higher_is_better=higher_is_better
                    )
                # No p-value means every pair (but at most one) scored the same.
                p_value = 1.0 if math.isnan(comparison.p_value) else comparison.p_value
            tied = p_value is None or not p_value < ALPHA
        out[str(denoiser)] = MetricSummary(
            mean=float(means.get(denoiser, math.nan)),
            ci_low=low,
            ci_high=high,
            n=len(column),
            rank=ranks.get(denoiser),
            p_value=p_value,
            tied=tied,
        )
    return out


def _higher_is_better(metric: str) -> bool:
    try:
        return METRICS.get(metric).higher_is_better
    except KeyError:  # a metric registered by a plugin that is not installed here
        return True


def _unit(metric: str) -> str:
    try:
        return METRICS.get(metric).unit
    except KeyError:
        return ""


def _finite(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)
