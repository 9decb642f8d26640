"""Statistics across a dataset: confidence intervals and paired comparisons."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MeanCI:
    """A mean with its bootstrap confidence interval.

    Attributes
    ----------
    mean : float
    low, high : float
        Percentile-bootstrap interval bounds.
    n : int
        Number of values (pairs).
    confidence : float
        0.95 for a 95 % interval.
    """

    mean: float
    low: float
    high: float
    n: int
    confidence: float


@dataclass(frozen=True)
class PairedComparison:
    """Whether denoiser A differs from B over the same pairs.

    Attributes
    ----------
    mean_difference : float
        Mean of ``a - b`` (in the metric's unit).
    median_difference : float
    statistic : float
        Wilcoxon signed-rank statistic (scipy's).
    p_value : float
        Two-sided p-value; ``nan`` when all differences are zero or n < 2.
    n : int
        Number of pairs.
    a_better : int
        Pairs where A is better, given the metric's direction.
    b_better : int
        Pairs where B is better.
    """

    mean_difference: float
    median_difference: float
    statistic: float
    p_value: float
    n: int
    a_better: int
    b_better: int


def bootstrap_mean_ci(
    values, *, confidence: float = 0.95, resamples: int = 10_000, seed: int = 0
) -> MeanCI:
    """Mean of ``values`` with a percentile-bootstrap confidence interval.

    Parameters
    ----------
    values : sequence of float
        One value per pair (non-finite values such as PSNR's ``inf`` are refused).
    confidence : float, optional
        Coverage of the interval.
    resamples : int, optional
        Bootstrap resamples.
    seed : int, optional
        Seed of the resampling, so reports are reproducible.

    Returns
    -------
    MeanCI
        For a single value the interval is that value.

    Notes
    -----
    :func:`scipy.stats.bootstrap` with ``method="percentile"`` (BCa is unstable
    for the handful of pairs a dataset often has).
    """
    from scipy.stats import bootstrap

    data = np.asarray(values, dtype=np.float64)
    if data.ndim != 1 or data.size == 0:
        raise ValueError(f"values must be a non-empty 1-D sequence, got shape {data.shape}")
    if not np.all(np.isfinite(data)):
        raise ValueError("values contain inf or nan; drop or cap them first")
    mean = float(data.mean())
    if data.size == 1 or np.all(data == data[0]):
        return MeanCI(mean, mean, mean, int(data.size), confidence)
    result = bootstrap(
        (data,),
        np.mean,
        confidence_level=confidence,
        n_resamples=resamples,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    interval = result.confidence_interval
    return MeanCI(mean, float(interval.low), float(interval.high), int(data.size), confidence)


def compare_paired(a, b, *, higher_is_better: bool) -> PairedComparison:
    """Paired comparison of two denoisers' values on the same pairs (same order).

    Parameters
    ----------
    a, b : sequence of float
        Values of one metric for denoisers A and B, pair by pair.
    higher_is_better : bool
        The metric's direction (from its registry entry).

    Returns
    -------
    PairedComparison
        With the two-sided Wilcoxon signed-rank test (:func:`scipy.stats.wilcoxon`,
        zero differences dropped, exact distribution for small n as scipy chooses).
    """
    from scipy.stats import wilcoxon

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"a and b must be 1-D of the same length, got {a.shape} and {b.shape}")
    diff = a - b
    if not np.all(np.isfinite(diff)):
        raise ValueError("values contain inf or nan; drop or cap them first")
    sign = 1 if higher_is_better else -1
    statistic = p_value = float("nan")
    if np.count_nonzero(diff) >= 2:
        test = wilcoxon(a, b, zero_method="wilcox", alternative="two-sided")
        statistic, p_value = float(test.statistic), float(test.pvalue)
    return PairedComparison(
        mean_difference=float(diff.mean()),
        median_difference=float(np.median(diff)),
        statistic=statistic,
        p_value=p_value,
        n=int(diff.size),
        a_better=int(np.sum(sign * diff > 0)),
        b_better=int(np.sum(sign * diff < 0)),
    )
