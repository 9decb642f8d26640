"""Machine- and CI-readable summaries of a run: ``results.json`` and ``summary.md``."""

from __future__ import annotations

import math
from typing import Any

from ._leaderboard import ALPHA, Leaderboard, _finite
from ._load import ResultsBundle

#: Critical findings listed by name in ``summary.md``.
SUMMARY_FINDINGS = 5


def results_json(bundle: ResultsBundle, board: Leaderboard, comparison: dict | None) -> dict:
    """JSON-ready summary: provenance, leaderboard, findings and failures.

    Keys: ``provenance``, ``metrics`` (name → ``higher_is_better``, ``unit``),
    ``primary_metric``, ``pairs``, ``leaderboard`` (rows best first),
    ``findings`` (every finding), ``failures``, and ``comparison`` when the
    report compares two runs. Non-finite numbers are ``null``.
    """
    findings = [
        {
            "pair": f.pair,
            "denoiser": f.denoiser,
            "detector": f.detector,
            "severity": f.severity,
            "score": _finite(f.score) if isinstance(f.score, float | int) else None,
            "bbox": list(f.bbox) if f.bbox is not None else None,
            "message": f.message,
        }
        for f in bundle.findings.itertuples(index=False)
    ]
    failed = bundle.table[bundle.table["status"] == "failed"].drop_duplicates(["pair", "denoiser"])
    return _jsonable(
        {
            "provenance": bundle.provenance,
            "metrics": {
                m: {"higher_is_better": board.directions[m], "unit": board.units[m]}
                for m in board.metrics
            },
            "primary_metric": board.primary,
            "pairs": bundle.pairs,
            "leaderboard": board.to_records(),
            "findings": findings,
            "failures": [
                {"pair": r.pair, "denoiser": r.denoiser, "error": str(r.error)}
                for r in failed.itertuples()
            ],
            "comparison": _comparison_json(comparison) if comparison else None,
        }
    )


def summary_markdown(bundle: ResultsBundle, board: Leaderboard, comparison: dict | None) -> str:
    """A short Markdown summary for a CI job page (e.g. ``$GITHUB_STEP_SUMMARY``).

    Names from the data are escaped for Markdown and HTML, so a denoiser called
    ``<img src=x>`` or ``a|b`` shows as text and keeps the table intact.
    """
    manifest = bundle.dataset
    lines = [
        f"### evalkit: {_md(manifest.parent.name if manifest else bundle.name)}",
        "",
        f"{len(bundle.pairs)} pairs x {len(bundle.denoisers)} denoisers"
        + (f"; ranked by **{_md(board.primary)}**" if board.primary else ""),
        "",
    ]
    header = ["#", "denoiser"]
    header += [f"{_md(m)} {'↑' if board.directions[m] else '↓'}" for m in board.metrics]
    header += ["s/MP", "critical"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in board.rows:
        cells = [str(row.rank), _md(row.denoiser)]
        for metric in board.metrics:
            s = row.metrics[metric]
            if not math.isfinite(s.mean):
                cells.append("—")
                continue
            half = (s.ci_high - s.ci_low) / 2 if math.isfinite(s.ci_low) else None
            text = f"{s.mean:.4g}" + (f" ± {half:.2g}" if half is not None else "")
            if s.rank == 1:
                text = f"**{text}**"
            elif s.tied:
                text += " ≈"
            cells.append(text)
        spm = row.seconds_per_megapixel
        cells.append(f"{spm:.3g}" if math.isfinite(spm) else "—")
        cells.append(str(row.findings["critical"]))
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Mean ± half the 95 % CI; **bold** best, ≈ not significantly different from the best "
        f"(paired Wilcoxon, p ≥ {ALPHA}).",
    ]
    critical = bundle.findings[bundle.findings["severity"] == "critical"]
    if len(critical):
        lines += ["", f"**{len(critical)} critical finding(s)**:"]
        for f in critical.head(SUMMARY_FINDINGS).itertuples(index=False):
            lines.append(
                f"- {_md(f.pair)} · {_md(f.denoiser)} · {_md(f.detector)}: {_md(f.message)}"
            )
        if len(critical) > SUMMARY_FINDINGS:
            lines.append(f"- … and {len(critical) - SUMMARY_FINDINGS} more (see the report)")
    failed = bundle.table[bundle.table["status"] == "failed"].drop_duplicates(["pair", "denoiser"])
    if len(failed):
        lines += ["", f"**{len(failed)} failed item(s)**:"]
        for r in failed.head(SUMMARY_FINDINGS).itertuples():
            lines.append(f"- {_md(r.pair)} · {_md(r.denoiser)}: {_md(str(r.error))}")
    if comparison:
        better = [
            f"{_md(r['denoiser'])} {_md(m)}"
            for r in comparison["rows"]
            for m, c in r["metrics"].items()
            if c["verdict"] == "better"
        ]
        worse = [
            f"{_md(r['denoiser'])} {_md(m)}"
            for r in comparison["rows"]
            for m, c in r["metrics"].items()
            if c["verdict"] == "worse"
        ]
        lines += [
            "",
            f"Compared with {_md(comparison['old_name'])}: "
            f"better: {', '.join(better) or 'none'}; worse: {', '.join(worse) or 'none'}.",
        ]
    return "\n".join(lines) + "\n"


def _comparison_json(comparison: dict) -> dict:
    return {
        key: comparison[key]
        for key in (
            "old_name",
            "new_name",
            "metrics",
            "rows",
            "improved",
            "regressed",
            "only_new",
            "only_old",
            "pairs_only_new",
            "pairs_only_old",
        )
    }


def _md(text: Any) -> str:
    """Escape for a Markdown table cell that GitHub may render as HTML."""
    text = " ".join(str(text).split())
    for char in "\\`*_[]#":
        text = text.replace(char, "\\" + char)
    # Entities last: their own "#" must not be escaped.
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "&#124;")):
        text = text.replace(char, entity)
    return text


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return _jsonable(value.item())
    return value
