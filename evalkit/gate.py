"""Quality gates: fail a CI job when a denoiser got worse than its baseline run.

Use it from a shell (``evalkit gate RESULTS --baseline RESULTS --max-drop psnr=0.1``)
or from a test suite::

    from evalkit.gate import assert_no_regression

    def test_denoiser_quality():
        result = evalkit.run("bench.toml", out=tmp_path)
        assert_no_regression(result, "tests/baseline", max_drop={"psnr": 0.1})
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import ConfigError
from .findings import Severity
from .metrics import METRICS
from .runner import FINDING_COLUMNS

__all__ = ["GateResult", "assert_no_regression", "compare_runs"]


@dataclass(frozen=True)
class GateResult:
    """The verdict of :func:`compare_runs`.

    Attributes
    ----------
    regressions : list of str
        One sentence per regression; empty when the gate passes.
    comparison : DataFrame
        Per denoiser and metric: ``baseline`` and ``current`` means over the pairs
        both runs scored, ``drop`` (positive = worse, whatever the metric's
        direction), ``allowed`` (the threshold, NaN when ungated) and ``regressed``.
    """

    regressions: list[str]
    comparison: pd.DataFrame

    @property
    def passed(self) -> bool:
        return not self.regressions

    def markdown(self) -> str:
        """A short summary for a CI job's summary page."""
        verdict = "passed" if self.passed else f"failed ({len(self.regressions)} regressions)"
        lines = [f"## evalkit quality gate: {verdict}", ""]
        lines += [f"- {line}" for line in self.regressions]
        if self.regressions:
            lines.append("")
        lines += [
            "| denoiser | metric | baseline | current | drop | allowed |",
            "|---|---|---|---|---|---|",
        ]
        for row in self.comparison.itertuples():
            allowed = "" if pd.isna(row.allowed) else f"{row.allowed:g}"
            mark = " ❌" if row.regressed else ""
            lines.append(
                f"| {row.denoiser} | {row.metric} | {row.baseline:.4f} | {row.current:.4f} "
                f"| {row.drop:+.4f}{mark} | {allowed} |"
            )
        return "\n".join(lines) + "\n"


def compare_runs(
    results,
    baseline,
    *,
    max_drop: Mapping[str, float] | None = None,
    no_new: str | None = "critical",
) -> GateResult:
    """Compare a run with a baseline run of the same denoisers and pairs.

    Parameters
    ----------
    results, baseline : RunResult or path of a results folder
        The run under test and the accepted one.
    max_drop : mapping of str to float, optional
        Metric → largest allowed worsening of its mean, in the metric's units
        (``{"psnr": 0.1}``: at most 0.1 dB less). Worsening is measured in the
        metric's own direction. Metrics not named are reported but not gated.
    no_new : {"critical", "warning", "info"} or None, optional
        Fail when a denoiser has more findings of this severity or worse than in
        the baseline. ``None`` switches the check off.

    Returns
    -------
    GateResult

    Notes
    -----
    Means are taken over the pairs that both runs scored successfully, so a pair
    added to the dataset does not move the comparison. A denoiser missing from
    the run, or an item that failed now but not in the baseline, is a regression.
    """
    max_drop = dict(max_drop or {})
    current_table, current_findings = _tables(results)
    base_table, base_findings = _tables(baseline)
    _check_metric_names(max_drop, {*current_table["metric"], *base_table["metric"]})
    regressions: list[str] = []

    ok_now = current_table[current_table["status"] == "ok"]
    ok_before = base_table[base_table["status"] == "ok"]
    merged = ok_before.merge(ok_now, on=["pair", "denoiser", "metric"], suffixes=("_b", "_c"))
    rows = []
    for (denoiser, metric), group in merged.groupby(["denoiser", "metric"], sort=True):
        higher = METRICS.get(metric).higher_is_better if metric in METRICS else True
        before, now = group["value_b"].mean(), group["value_c"].mean()
        drop = (before - now) if higher else (now - before)
        allowed = max_drop.get(metric, float("nan"))
        regressed = bool(metric in max_drop and drop > allowed)
        if regressed:
            regressions.append(
                f"{denoiser}: {metric} worsened by {drop:.4g} (from {before:.4g} to {now:.4g}; "
                f"allowed {allowed:g})"
            )
        rows.append((denoiser, metric, before, now, drop, allowed, regressed))
    for metric in sorted(set(max_drop) - set(merged["metric"])):
        regressions.append(f"{metric}: no values to compare in both runs")

    for denoiser in sorted(set(base_table["denoiser"]) - set(current_table["denoiser"])):
        regressions.append(f"{denoiser}: missing from the run")
    failed_now = _failed_items(current_table) - _failed_items(base_table)
    regressions += [f"{d}: failed on {p} (not in the baseline)" for p, d in sorted(failed_now)]

    if no_new is not None:
        regressions += _new_findings(current_findings, base_findings, Severity(no_new))
    comparison = pd.DataFrame(
        rows, columns=["denoiser", "metric", "baseline", "current", "drop", "allowed", "regressed"]
    )
    return GateResult(regressions=regressions, comparison=comparison)


def assert_no_regression(
    results,
    baseline,
    *,
    max_drop: Mapping[str, float] | None = None,
    no_new: str | None = "critical",
) -> GateResult:
    """:func:`compare_runs`, raising ``AssertionError`` with the summary on regression."""
    verdict = compare_runs(results, baseline, max_drop=max_drop, no_new=no_new)
    if not verdict.passed:
        raise AssertionError(verdict.markdown())
    return verdict


def _check_metric_names(max_drop: Mapping[str, float], in_runs: set[str]) -> None:
    """A metric that neither run computed is a typo or a config mistake, not a
    regression: refuse it as a usage error (exit 2), with suggestions; and refuse an
    allowance that is not a finite number."""
    import difflib
    import math

    computed = sorted(str(name) for name in in_runs)
    for name, allowed in max_drop.items():
        if not math.isfinite(allowed):
            raise ConfigError(f"--max-drop {name}={allowed}: the allowance must be a number")
        if name in in_runs:
            continue
        lowered = {m.lower(): m for m in computed}
        close = [lowered[m] for m in difflib.get_close_matches(name.lower(), list(lowered), n=3)]
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        what = "is not computed in these runs" if name in METRICS else "is no metric"
        raise ConfigError(
            f"--max-drop {name}: {what} (computed: {', '.join(computed) or 'none'}){hint}"
        )


def _tables(results) -> tuple[pd.DataFrame, pd.DataFrame]:
    if hasattr(results, "table"):
        return results.table, results.findings
    # The report's reader: it refuses a missing, empty or foreign results.csv.
    from .report import load_results

    bundle = load_results(Path(os.fspath(results)))
    findings = bundle.findings if len(bundle.findings) else pd.DataFrame(columns=FINDING_COLUMNS)
    return bundle.table, findings


def _failed_items(table: pd.DataFrame) -> set[tuple[str, str]]:
    failed = table[table["status"] == "failed"]
    return set(zip(failed["pair"], failed["denoiser"], strict=True))


def _new_findings(current: pd.DataFrame, baseline: pd.DataFrame, level: Severity) -> list[str]:
    serious_levels = [s.value for s in Severity if s.rank >= level.rank]

    def counts(findings: pd.DataFrame) -> pd.Series:
        serious = findings[findings["severity"].isin(serious_levels)]
        return serious.groupby("denoiser").size()

    now, before = counts(current), counts(baseline)
    return [
        f"{denoiser}: {count} {level.value}-or-worse findings, {int(before.get(denoiser, 0))} "
        "in the baseline"
        for denoiser, count in now.items()
        if count > before.get(denoiser, 0)
    ]
