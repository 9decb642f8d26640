"""Runs: denoisers x pairs → tidy result tables."""

from ._config import DenoiserEntry, RunConfig
from ._run import FINDING_COLUMNS, TABLE_COLUMNS, RunResult, run, write_results

__all__ = [
    "FINDING_COLUMNS",
    "TABLE_COLUMNS",
    "DenoiserEntry",
    "RunConfig",
    "RunResult",
    "run",
    "write_results",
]
