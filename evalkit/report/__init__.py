"""HTML comparison reports, self-contained and viewable from ``file://``.

:func:`write_report` turns a run (a :class:`~evalkit.runner.RunResult` or the
results folder it wrote) into a report folder: leaderboard, plots, one page per
pair with a before/after viewer, heat maps, findings with full-resolution crops
and OCR diffs, worst cases, an optional comparison with a baseline run, and
``results.json`` and ``summary.md`` for machines and CI.
"""

from ._html import write_report
from ._inspect import write_inspection_report
from ._load import ResultsBundle, ResultsError, load_results
from ._text import character_diff

__all__ = [
    "ResultsBundle",
    "ResultsError",
    "character_diff",
    "load_results",
    "write_inspection_report",
    "write_report",
]
