"""Run comparison: what got better and what got worse between two runs."""

from __future__ import annotations

import math

import pandas as pd

from ._leaderboard import _finite, _higher_is_better, _metric_statistics
from ._load import SEVERITIES, ResultsBundle

#: Pair x denoiser changes listed each way (improvements, regressions).
CHANGES_SHOWN = 8


def compare_runs(new: ResultsBundle, old: ResultsBundle) -> dict:
    """Compare ``new`` against the baseline ``old``, denoiser by denoiser.

    Returns
    -------
    dict
        ``metrics`` (shared by both runs), ``rows`` (one per denoiser in both:
        per metric ``old``, ``new``, ``delta``, ``p_value`` and ``verdict``
        ``better``/``worse``/``same``, and finding counts of each run),
        ``improved`` and ``regressed`` (the largest pair x denoiser changes of the
        first shared metric), ``only_new`` and ``only_old`` denoisers and pairs.

    Notes
    -----
    A change is ``better`` or ``worse`` only when the paired Wilcoxon test over
    the pairs both runs scored says so (p < 0.05); otherwise it is ``same``,
    whatever the sign of the difference of means.
    """
    metrics = [m for m in new.metrics if m in old.metrics]
    denoisers = [d for d in new.denoisers if d in old.denoisers]
    new_ok = new.table[new.table["status"] == "ok"]
    old_ok = old.table[old.table["status"] == "ok"]
    rows = []
    for denoiser in denoisers:
        cells = {}
        for metric in metrics:
            a = _values(new_ok, denoiser, metric)
            b = _values(old_ok, denoiser, metric)
            both = pd.DataFrame({"new": a, "old": b}).dropna()
            higher = _higher_is_better(metric)
            stats = _metric_statistics(both, higher_is_better=higher) if len(both) else {}
            mean_new, mean_old = (float(a.mean()), float(b.mean()))
            delta = mean_new - mean_old
            verdict = "same"
            if stats:
                loser = "old" if stats["new"].rank == 1 else "new"
                significant = not stats[loser].tied and stats[loser].p_value is not None
                if significant and stats["new"].mean != stats["old"].mean:
                    verdict = "better" if loser == "old" else "worse"
            cells[metric] = {
                "new": _finite(mean_new),
                "old": _finite(mean_old),
                "delta": _finite(delta),
                "improved": _finite(delta) is not None and (delta > 0) == higher and delta != 0,
                "n": len(both),
                "p_value": next((s.p_value for s in stats.values() if s.p_value is not None), None),
                "verdict": verdict,
            }
        rows.append(
            {
                "denoiser": denoiser,
                "metrics": cells,
                "findings_new": _counts(new, denoiser),
                "findings_old": _counts(old, denoiser),
            }
        )
    improved, regressed = _pair_changes(new_ok, old_ok, metrics[0] if metrics else None)
    return {
        "new_name": new.name,
        "old_name": old.name,
        "new_provenance": new.provenance,
        "old_provenance": old.provenance,
        "metrics": metrics,
        "directions": {m: _higher_is_better(m) for m in metrics},
        "primary": metrics[0] if metrics else None,
        "rows": rows,
        "improved": improved,
        "regressed": regressed,
        "only_new": [d for d in new.denoisers if d not in old.denoisers],
        "only_old": [d for d in old.denoisers if d not in new.denoisers],
        "pairs_only_new": [p for p in new.pairs if p not in old.pairs],
        "pairs_only_old": [p for p in old.pairs if p not in new.pairs],
    }


def _values(ok: pd.DataFrame, denoiser: str, metric: str) -> pd.Series:
    rows = ok[(ok["denoiser"] == denoiser) & (ok["metric"] == metric)]
    return rows.groupby("pair")["value"].mean()


def _counts(bundle: ResultsBundle, denoiser: str) -> dict[str, int]:
    counts = bundle.findings[bundle.findings["denoiser"] == denoiser]["severity"].value_counts()
    return {s: int(counts.get(s, 0)) for s in SEVERITIES}


def _pair_changes(new_ok: pd.DataFrame, old_ok: pd.DataFrame, metric: str | None):
    if metric is None:
        return [], []
    key = ["pair", "denoiser"]
    a = new_ok[new_ok["metric"] == metric].groupby(key)["value"].mean()
    b = old_ok[old_ok["metric"] == metric].groupby(key)["value"].mean()
    both = pd.DataFrame({"new": a, "old": b}).dropna()
    sign = 1.0 if _higher_is_better(metric) else -1.0
    both["gain"] = sign * (both["new"] - both["old"])
    both = both[both["gain"].abs() > 0].sort_values("gain")
    records = [
        {
            "pair": pair,
            "denoiser": denoiser,
            "old": float(r.old),
            "new": float(r.new),
            "delta": float(r.new - r.old),
        }
        for (pair, denoiser), r in both.iterrows()
        if math.isfinite(r.gain)
    ]
    regressed = [r for r in records if sign * r["delta"] < 0][:CHANGES_SHOWN]
    improved = [r for r in reversed(records) if sign * r["delta"] > 0][:CHANGES_SHOWN]
    return improved, regressed
